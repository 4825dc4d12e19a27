"""The traced program cannot tell, from what the allocator tells it, that it
is traced: tests/programs/transparent.c prints the distance between
consecutive blocks, the heap bytes its blocks cost, malloc_usable_size of
blocks from every allocation function (0..600 bytes, around the 128 KiB mmap
threshold, a few MiB), whether realloc moves a block, alignment, contents
kept across realloc, calloc's zeroes and whether a block filled to its usable
size leaves its neighbour alone, and prints the same bytes natively, under
`heapscope run` and under plain LD_PRELOAD. The leak report then lists the
blocks it keeps with exactly the sizes it asked for. (test_invisible checks
the other way a program could tell: its threads.)

The tracer allocates from glibc's heap before main (dlsym's error strings
while it looks for other allocators, some freed again; under plain
LD_PRELOAD, a copy of the environment when it sets HEAPSCOPE_ROOT_PID; their
sizes follow the tracer's path and the environment), so the program's heap
starts further in and glibc's per-size cache may hold blocks it never freed.
The program measures so that neither counts (see its header), except on its
lines starting "layout": the usable size of a heap block aligned past 16
bytes, which depends on where the block sits. Those are compared between
native runs only; how many differ traced is printed as a note."""
import difflib
import os
import tempfile
from hs import *

argv = [program("transparent")]
FUNCTIONS = ("malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc", "memalign",
             "valloc", "pvalloc")
KEPT = [1, 13, 4097, 200000]  # keep_from_* in transparent.c


def compared(text):
    return [line for line in text.splitlines(True) if not line.startswith("layout")]


def differences(expected, got, limit=30):
    d = list(difflib.unified_diff(expected, got, "native", "traced", n=0))
    return "".join(d[:limit]) + ("... (%d more diff lines)\n" % (len(d) - limit) if len(d) > limit else "")


n = native(argv)
again = native(argv)
check(n.returncode == 0 and again.returncode == 0, "transparent exits 0 natively")
lines = n.stdout.splitlines()
check(n.stdout == again.stdout,
      "natively, two runs print the same %d lines (%d of them layout)"
      % (len(lines), sum(line.startswith("layout") for line in lines)))
bad = [line for line in lines if any(w in line for w in ("MISALIGNED", "NOT ", ": NO", "CHANGED"))]
check(not bad, "natively every block is aligned, kept its contents, was zeroed and could be filled: %s" % bad[:5])
check(lines[-1] == "kept 36 blocks", "it keeps 4 blocks from each of the 9 functions: %r" % lines[-1])

t = Traced(argv)
check(t.proc.returncode == 0, "transparent exits 0 under heapscope run: %s" % t.proc.stderr[-500:])
check(compared(t.proc.stdout) == compared(n.stdout),
      "under heapscope run, the same %d compared lines, byte for byte\n%s"
      % (len(compared(n.stdout)), differences(compared(n.stdout), compared(t.proc.stdout))))

# plain LD_PRELOAD: here the preload sets HEAPSCOPE_ROOT_PID itself, so the
# program's heap starts further in than under heapscope run
out = tempfile.mkdtemp(prefix="hs-transparent-")
p = run(argv, env={"LD_PRELOAD": LIB, "HEAPSCOPE_OUTPUT": os.path.join(out, "%e.%p.hst")})
check(p.returncode == 0 and len(os.listdir(out)) == 1,
      "transparent exits 0 under LD_PRELOAD, one trace: %s" % os.listdir(out))
check(compared(p.stdout) == compared(n.stdout),
      "under LD_PRELOAD, the same compared lines, byte for byte\n%s"
      % differences(compared(n.stdout), compared(p.stdout)))

moved = sum(a != b for a, b in zip(n.stdout.splitlines(), t.proc.stdout.splitlines()))
print("note: %d layout lines differ under heapscope run (not compared: the tracer's allocations before main "
      "move the heap's start)" % moved)

trace = t.only_trace()
leaks = analyze("leaks", trace)
for fn in FUNCTIONS:
    mine = [r for r in leaks["records"] if r["stack"] and r["stack"][0]["function"] == "keep_from_" + fn]
    got = sorted((r["bytes"], r["blocks"], r["kind"]) for r in mine)
    check(got == [(size, 1, "still_reachable") for size in KEPT],
          "%s: the leak report lists blocks of exactly %s bytes, one each, still reachable: %s" % (fn, KEPT, got))
mine = own(leaks["records"], "transparent.c")
check(sum(r["blocks"] for r in mine) == 36 and sum(r["bytes"] for r in mine) == 9 * sum(KEPT),
      "nothing else of the program's is live at exit: %d blocks, %d bytes"
      % (sum(r["blocks"] for r in mine), sum(r["bytes"] for r in mine)))

s = analyze("summary", trace)
check(consistent(s), "allocations - frees == live blocks and bytes at exit")
for fn in FUNCTIONS:
    check(s["allocations_by_function"].get(fn, 0) >= len(KEPT),
          "%s recorded (%d calls)" % (fn, s["allocations_by_function"].get(fn, 0)))
