"""Symbolization scales with the program: on node (a 99 MB binary of 180,000
symbols, every frame named from its symbol table) report, export --to pprof
and leaks each take under 5 seconds of CPU and of wall time. libdw reads
every symbol per address looked up; that took 15 s for report and 16 s for
pprof. CPU time is what fails the old code on any machine; the wall-clock
bound has ten times the headroom, for a loaded machine. Whether the names
are libdw's own is test_symbols' (unit_symbols)."""
import os
import resource
import subprocess
import time

from hs import *

LIMIT = 5.0

t = Traced(["node", "-e", "const a=[]; for (let i=0;i<200000;i++) a.push({i, s:'x'+i}); console.log(a.length)"])
check(t.proc.returncode == 0 and t.proc.stdout == "200000\n", "node runs under heapscope")
tr = t.only_trace()


def timed(args):
    """Runs heapscope ARGS; returns (CPU seconds, wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    p = subprocess.run([HEAPSCOPE] + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        fail("heapscope %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr))
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, wall


for args in (["report", "-o", os.path.join(t.dir, "r.html"), tr],
             ["export", "--to", "pprof", "-o", os.path.join(t.dir, "p.pb.gz"), tr],
             ["leaks", tr]):
    cpu, wall = timed(args)
    check(cpu < LIMIT and wall < LIMIT,
          "%s on node's trace: %.2f s CPU, %.2f s wall (under %g s)" % (args[0], cpu, wall, LIMIT))

# Its frames are named: the time is not saved by giving up on names.
stacks = analyze("export", tr, "--to", "json")["stacks"]
frames = [f for s in stacks for f in s["stack"] if f["module"] == "/usr/bin/node" or
          (f["module"] or "").endswith("/node")]
unnamed = [f for f in frames if not f["function"]]
check(len(frames) > 10000 and not unnamed,
      "every one of node's %d frames is named (%d are not)" % (len(frames), len(unnamed)))
