"""Recording from the first allocation, before the tracer's own constructor
has run: a shared library's constructor (linked in, so the loader may run it
before libheapscope's) leaks 999 bytes, reported definitely lost with the
constructor's stack, as valgrind reports it; and a C++ program's totals
include what libstdc++ allocates in its own static initializer (its
emergency pool), so they equal valgrind's `total heap usage` exactly."""
import os
import re
import shutil
from hs import *

VALGRIND = shutil.which("valgrind")
if not VALGRIND:
    fail("valgrind is needed for this test (the reference for the totals); install it")
VG_TOTAL = re.compile(r"total heap usage: ([\d,]+) allocs, [\d,]+ frees, ([\d,]+) bytes allocated")
VG_LOST = re.compile(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks")


def num(s):
    return int(s.replace(",", ""))


def memcheck(argv):
    """valgrind's ((allocs, bytes allocated), (bytes, blocks) definitely lost)"""
    p = run([VALGRIND, "--leak-check=full", "--leak-check-heuristics=none"] + argv)
    total, lost = VG_TOTAL.search(p.stderr), VG_LOST.search(p.stderr)
    if p.returncode != 0 or not total:
        fail("valgrind %s exited %d: %s" % (" ".join(argv), p.returncode, p.stderr[-2000:]))
    return ((num(total.group(1)), num(total.group(2))),
            (num(lost.group(1)), num(lost.group(2))) if lost else (0, 0))


# A library constructor's leak.
argv = [program("ctor_leak")]
t = Traced(argv, timeout=20)
check(t.proc.returncode == 0 and t.proc.stdout == "ready 1, started yes\n",
      "ctor_leak runs (its constructor's first allocation, inside setenv, started the tracer), stdout untouched")
leaks = analyze("leaks", t.only_trace())
lost = leaks["summary"]["definitely_lost"]
vg_total, vg_lost = memcheck(argv)
check(vg_lost == (999, 1), "valgrind: 999 bytes in 1 block definitely lost")
check((lost["bytes"], lost["blocks"]) == vg_lost,
      "heapscope: the constructor's 999 bytes in 1 block definitely lost, as valgrind (got %s)" % lost)
rec = [r for r in leaks["records"] if r["kind"] == "definitely_lost"]
got = frames(rec[0])[:2] if rec else None
want = [("ctor_leak_start_up", "ctor_leak_lib.c", marker_line("ctor_leak_lib.c", "CTOR-LEAK")),
        ("ctor_leak_init", "ctor_leak_lib.c", marker_line("ctor_leak_lib.c", "CTOR-CALL"))]
check(got == want, "its stack is the constructor's: %s" % got)
check("_dl_init" in [f["function"] for f in rec[0]["stack"]], "called by the loader's _dl_init")
summary = analyze("summary", t.only_trace())
check((summary["allocations"], summary["bytes_allocated"]) == vg_total,
      "ctor_leak totals equal valgrind's: %d allocations, %d bytes" % vg_total)
# Preloaded by hand, nothing has set HEAPSCOPE_ROOT_PID: the tracer sets it
# for the children (setenv), which it must not do from inside the
# constructor's setenv.
trace = os.path.join(workdir("hs-test-"), "plain.hst")
env = {"LD_PRELOAD": LIB, "HEAPSCOPE_OUTPUT": trace}
p = run(argv, env=env, timeout=20)
check(p.returncode == 0 and p.stdout == "ready 1, started yes\n", "the same preloaded by hand")
lost = analyze("leaks", trace)["summary"]["definitely_lost"]
check((lost["bytes"], lost["blocks"]) == vg_lost, "and the same 999 bytes in 1 block definitely lost")

# libstdc++'s startup allocations.
argv = [program("cpp_startup")]
t = Traced(argv, timeout=20)
check(t.proc.returncode == 0 and t.proc.stdout == "5 words\n", "cpp_startup runs, stdout untouched")
summary = analyze("summary", t.only_trace())
vg_total, _ = memcheck(argv)
got = (summary["allocations"], summary["bytes_allocated"])
check(got == vg_total, "cpp_startup totals %s equal valgrind's total heap usage %s" % (got, vg_total))
stacks = analyze("export", t.only_trace(), "--to", "json")["stacks"]
pool = [s for s in stacks if s["stack"] and s["stack"][0]["module"].split("/")[-1].startswith("libstdc++")
        and "_dl_init" in [f["function"] for f in s["stack"]]]
check(len(pool) == 1 and pool[0]["allocations"] == 1,
      "one allocation by libstdc++'s static initializer, under the loader's _dl_init")
