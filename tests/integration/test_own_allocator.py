"""Programs with an allocator of their own are said, not passed silently.

A program that defines malloc itself (a bump allocator here; rustc's
jemalloc; Chromium's PartitionAlloc) binds every malloc call in the process
to its own, before any preloaded library: heapscope sees none. Its trace
says so (an ALLOCATOR record), `heapscope run`, `summary` and the gate say
it in one line per process, and the gate fails it: it cannot judge what it
cannot see. Such a process gets no writer thread either (nothing reaches
us), so Chromium, whose zygote must be single-threaded, runs as natively.
A known allocator's API beside our malloc (mimalloc's mi_malloc here) is
said too; what goes through malloc is still judged, so the gate passes it
with a note."""
import glob
import os
import re
import shutil
import subprocess
import tempfile
from hs import *

d = workdir("hs-own-allocator-")


def hs_run(argv, *opts, timeout=300):
    out = tempfile.mkdtemp(dir=d)
    p = run([HEAPSCOPE, "run"] + list(opts) + ["-o", os.path.join(out, "%e.%p.hst"), "--"] + argv, timeout=timeout)
    return p, sorted(glob.glob(os.path.join(out, "*.hst*")))


def foreign(exe, name="an allocator of its own"):
    return "malloc is %s, in %s, not heapscope's: its allocations cannot be traced" % (name, exe)


# The bump allocator: in its trace, in run's line, in summary, in the gate.
bump = program("bump_alloc")
native = run([bump])
p, traces = hs_run([bump])
why = foreign(bump)
check(p.returncode == 0 and p.stdout == native.stdout == "bump 1\n", "bump_alloc: stdout and status untouched")
check(len(traces) == 1 and re.fullmatch(r"heapscope: bump_alloc \(pid \d+\): %s; trace %s\n"
                                        % (re.escape(why), re.escape(traces[0])), p.stderr),
      "run says its malloc is its own, in one line: %r" % p.stderr)
s = analyze("summary", traces[0])
check(s["allocators"] == [{"name": None, "module": bump, "is_malloc": True}] and s["allocations"] == 0,
      "summary JSON: the allocator, its module, and that it is malloc")
check("allocator    %s\n" % why in run([HEAPSCOPE, "summary", traces[0]]).stdout, "summary text says it")
p, _ = hs_run([bump], "--gate")
check(p.returncode == 1 and re.fullmatch(r"heapscope gate: FAIL: 0 bytes in 0 blocks leaked, in 0 of 0 traced "
                                         r"processes \(1 ran\); bump_alloc \(pid \d+\): %s\n" % re.escape(why),
                                         p.stderr), "run --gate fails it, saying why: %r" % p.stderr)
p = run([HEAPSCOPE, "gate", traces[0]])
check(p.returncode == 1 and re.fullmatch(r"heapscope gate: FAIL: 0 bytes in 0 blocks leaked, in 0 of 0 traced "
                                         r"processes; bump_alloc \(pid \d+\): %s\n" % re.escape(why), p.stderr),
      "heapscope gate on its trace fails it too: %r" % p.stderr)

# Another allocator's API beside our malloc: said, and the gate notes it.
mi_user = program("mi_user")
lib = program("libmi_stub.so")
beside = "mimalloc's own API (in %s) is not traced" % lib
p, traces = hs_run([mi_user])
check(p.returncode == 0 and p.stdout == "mi malloc\n" and len(traces) == 1 and re.fullmatch(
    r"heapscope: mi_user \(pid \d+\): 2 allocations, [^;]+; lost 0 bytes in 0 blocks \(0 possibly\); %s; trace %s\n"
    % (re.escape(beside), re.escape(traces[0])), p.stderr), "mi_user: malloc traced, mi_malloc said: %r" % p.stderr)
check(analyze("summary", traces[0])["allocators"] == [{"name": "mimalloc", "module": lib, "is_malloc": False}],
      "summary JSON: mimalloc beside malloc")
p, _ = hs_run([mi_user], "--gate")
check(p.returncode == 0 and re.fullmatch(r"heapscope gate: pass: 0 bytes in 0 blocks leaked, in 0 of 1 traced "
                                         r"processes \(1 ran\)\n  mi_user \(pid \d+\): %s\n" % re.escape(beside),
                                         p.stderr), "the gate passes what malloc saw, with a note: %r" % p.stderr)

# rustc --version: rustup's rustc (a proxy, traced) execs the toolchain's,
# whose malloc is jemalloc; Debian's rustc uses the C library's malloc: traced.
rustc = shutil.which("rustc") or next((r for r in (os.path.expanduser("~/.cargo/bin/rustc"), "/usr/bin/rustc")
                                       if os.path.exists(r)), None)
check(rustc is not None, "rustc is installed (scripts/test installs Debian's when there is none)")
sysroot = run([rustc, "--print", "sysroot"]).stdout.strip()
real = os.path.realpath(os.path.join(sysroot, "bin", "rustc"))
own_malloc = " T malloc\n" in run(["nm", "-D", "--defined-only", real]).stdout
native = run([rustc, "--version"])
p, traces = hs_run([rustc, "--version"])
lines = p.stderr.splitlines()
check(p.returncode == 0 and p.stdout == native.stdout, "rustc --version: stdout and status untouched")
if own_malloc:
    check(re.fullmatch(r"heapscope: rustc \(pid \d+\): %s; trace \S+" % re.escape(foreign(real, "jemalloc")),
                       lines[-1]), "%s: its malloc is jemalloc, said: %r" % (real, lines))
    check(all(not l.startswith("heapscope: rustc") or "replaced by exec" in l for l in lines[:-1]),
          "before it, only rustup's proxy (traced, replaced by exec): %r" % lines)
else:
    check(len(lines) == 1 and re.fullmatch(r"heapscope: rustc \(pid \d+\): [1-9][\d,]* allocations, .*", lines[0]),
          "%s uses the C library's malloc: traced: %r" % (real, lines))

# Headless Chromium: every process has its own malloc (PartitionAlloc), each
# is said, and the page is dumped as natively.
chromium = shutil.which("chromium")
check(chromium is not None, "Debian's chromium is installed (scripts/test installs it)")
page = os.path.join(d, "page.html")
with open(page, "w") as f:
    f.write('<html><body><p id="x">static</p><script>document.getElementById("x").textContent = '
            '"from script"</script></body></html>\n')


def chromium_argv():
    profile = tempfile.mkdtemp(dir=d)
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + profile, "--dump-dom", "file://" + page]


native = run(chromium_argv(), timeout=120)
check(native.returncode == 0 and "from script" in native.stdout, "chromium dumps the page natively")
p, traces = hs_run(chromium_argv())
check(p.returncode == 0 and p.stdout == native.stdout, "under heapscope run: the same page, the same status")
ours = [l for l in p.stderr.splitlines() if l.startswith("heapscope: ")]
chrome = [l for l in ours if re.match(r"heapscope: (chromium|chrome_crashpad_handler) \(pid \d+\): (?!left no trace)", l)]
exes = set()
for l in chrome:
    m = re.fullmatch(r"heapscope: (\S+) \(pid \d+\): malloc is an allocator of its own, in (/usr/lib/chromium/\1), "
                     r"not heapscope's: its allocations cannot be traced"
                     r"(?:; died before its trace was complete \((?:killed by SIG\w+|exited with status \d+)\))?"
                     r"; trace \S+", l)
    check(m is not None, "a Chromium process, said: %s" % l)
    exes.add(m.group(2))
check(len(chrome) >= 3 and exes == {"/usr/lib/chromium/chromium", "/usr/lib/chromium/chrome_crashpad_handler"},
      "%d Chromium processes (browser, zygotes, crashpad...), each says its malloc is its own" % len(chrome))
