"""Nothing recorded is lost when a process is killed outright: a program
that allocates without end and reports its count through a pipe, killed
with SIGKILL at 50 random moments (in its first 0.6 s, when most of what it
recorded is still in its buffers). Every trace reads (the trace's chunks,
then its journal's regions), and holds at least as many allocations as the
program had reported. The traced process is as threaded as the program: one
thread. On a loaded machine a kill within a few milliseconds can come while
the tracer is still starting: before it has made its file (seen at 21 ms in
the third of three test runs in a row), or between making it and writing
the process record (an empty file, or a header and an empty journal: seen
at 16 ms with ctest -j3). Such a trace, which the analyzer rejects in one
line, is right only if the program had reported nothing (it reports after
its first 100 allocations), and at most 10 of the 50 runs may end so."""
import os
import random
import signal
import subprocess
import time
from hs import *

d = workdir("hs-kill-")
rng = random.Random(12)
short = []
unstarted = []  # killed while the tracer was starting
STARTING = (": not a heapscope trace (empty file)", ": trace holds no process record")
threads = set()
for i in range(50):
    out = os.path.join(d, "k%d.hst" % i)
    p = subprocess.Popen([program("counter")], stdout=subprocess.PIPE,
                         env=dict(os.environ, LD_PRELOAD=LIB, HEAPSCOPE_OUTPUT=out))
    fd = p.stdout.fileno()
    os.set_blocking(fd, False)
    deadline = time.time() + rng.uniform(0.01, 0.6)
    buf = b""
    while time.time() < deadline:
        try:
            buf += os.read(fd, 65536) or b""
        except BlockingIOError:
            time.sleep(0.001)
    if i % 10 == 0:
        threads.add(len(os.listdir("/proc/%d/task" % p.pid)))
    p.send_signal(signal.SIGKILL)
    p.wait()
    try:  # what it wrote before it died
        buf += os.read(fd, 1 << 20)
    except BlockingIOError:
        pass
    p.stdout.close()
    lines = [x for x in buf.decode().split("\n") if x]
    reported = int(lines[-1]) if lines else 0
    r = run([HEAPSCOPE, "summary", "--format", "json", out]) if os.path.exists(out) else None
    if not reported and (r is None or r.returncode != 0 and r.stderr.strip().endswith(STARTING)):
        unstarted.append(i)
        continue
    if r is None or r.returncode != 0:
        fail("run %d: the trace does not read: %s" % (i, r.stderr if r else "no file"))
    got = json.loads(r.stdout)["allocations"]
    if got < reported:
        short.append((i, reported, got))
check(len(unstarted) <= 10, "%d of 50 kills came while the tracer was starting, before the program had "
      "reported anything (runs %s)" % (len(unstarted), unstarted))
check(not short, "50 kills: every trace holds all the allocations reported (short: %s)" % short)
check(threads == {1}, "the traced program has one thread, its own: %s" % threads)

# Damage in a killed process's journal is said to be there: the reader said
# "at byte N" with N the end of the trace file, another file. Every region's
# first record (its chunk's number) is made an unknown record type, in the
# journals of the runs that were killed with a region not yet in the trace.
JOURNAL_HEADER, REGION_HEADER = 4096, 64  # FMT_JOURNAL_HEADER_SIZE, FMT_REGION_HEADER_SIZE
said = []
for name in sorted(os.listdir(d)):
    path = os.path.join(d, name)
    if not name.endswith(".hst.journal") or os.path.getsize(path) <= JOURNAL_HEADER + REGION_HEADER:
        continue
    with open(path, "r+b") as f:
        region = int.from_bytes(f.read(16)[12:16], "little")
        for off in range(JOURNAL_HEADER, os.path.getsize(path), region):
            f.seek(off + REGION_HEADER)
            f.write(b"\xfe")
    said.append(run([HEAPSCOPE, "summary", path[:-len(".journal")]]).stderr.strip())
damaged = [x for x in said if "damage" in x or "unknown" in x or "bad" in x]
check(damaged and all("in the journal's region at byte " in x for x in damaged),
      "damage in a journal is said to be in the journal's region (%d of %d journals read so): %r"
      % (len(damaged), len(said), damaged[:2]))
