"""The tracer's own troubles never reach the program: an unwritable output
directory costs one line on stderr and nothing else; a killed program's trace
is readable up to what was written; success is silent under LD_PRELOAD."""
import os
import signal
import subprocess
import time
from hs import *

argv = [program("leak_known")]
n = native(argv)

# silent on success
d = workdir("hs-quiet-")
p = run(argv, env={"LD_PRELOAD": LIB}, cwd=d)
check(p.stdout == n.stdout and p.returncode == 0 and p.stderr == "", "LD_PRELOAD: same stdout, nothing on stderr")
check(len([f for f in os.listdir(d) if f.endswith(".hst")]) == 1, "LD_PRELOAD: one trace in the working directory")

# missing directory
p = run(argv, env={"LD_PRELOAD": LIB, "HEAPSCOPE_OUTPUT": "/nonexistent/dir/x.hst"})
check(p.stdout == n.stdout and p.returncode == 0, "missing output directory: stdout and status unchanged")
check(p.stderr.count("\n") == 1 and p.stderr.startswith("heapscope: ") and "/nonexistent/dir/x.hst" in p.stderr,
      "missing output directory: one warning line naming the path: " + p.stderr.strip())

# unwritable directory (as root, use a read-only bind is not possible: use a file as the directory)
d = workdir("hs-ro-")
blocker = os.path.join(d, "file")
open(blocker, "w").close()
p = run(argv, env={"LD_PRELOAD": LIB, "HEAPSCOPE_OUTPUT": blocker + "/x.hst"})
check(p.stdout == n.stdout and p.returncode == 0 and p.stderr.count("\n") == 1,
      "output path under a file: program unchanged, one warning line")

# the same through heapscope run: the program's status is kept
p = run([HEAPSCOPE, "run", "-o", "/nonexistent/dir/x.hst", "--", "/bin/sh", "-c", "echo out; exit 9"])
check(p.stdout == "out\n" and p.returncode == 9, "heapscope run keeps stdout and status 9 despite the tracer's failure")

# killed with SIGKILL: readable up to the last write (writes at least every second)
d = workdir("hs-kill-")
out = os.path.join(d, "k.hst")
proc = subprocess.Popen([program("sleeper")], env=dict(os.environ, LD_PRELOAD=LIB, HEAPSCOPE_OUTPUT=out),
                        stdout=subprocess.PIPE, text=True)
check(proc.stdout.readline() == "ready\n", "sleeper ready")
time.sleep(1.6)
proc.send_signal(signal.SIGKILL)
proc.wait()
s = analyze("summary", out)
check(s["allocations"] >= 1000, "killed: the 1000 allocations before the last flush are there (%d)" % s["allocations"])
check(s["end"] is None and s["complete"] is False, "killed: the trace says it was cut short")

# signal death through heapscope run: same signal
p = run([HEAPSCOPE, "run", "-o", os.path.join(d, "t.hst"), "--", "/bin/sh", "-c", "kill -TERM $$"])
check(p.returncode == -signal.SIGTERM, "heapscope run dies of the program's signal (%d)" % p.returncode)

# bad input to the analyzer: one line, exit 2
bad = os.path.join(d, "bad.hst")
with open(bad, "wb") as f:
    f.write(b"not a trace at all")
for args in (["summary", bad], ["leaks", bad], ["summary", "/nonexistent.hst"], ["nosuchcommand"]):
    p = run([HEAPSCOPE] + args)
    check(p.returncode == 2 and p.stderr.count("\n") == 1 and p.stdout == "",
          "heapscope %s: exit 2, one line: %s" % (" ".join(args), p.stderr.strip()))
# a trace cut in half: read up to the cut, with a warning
good = Traced(argv).only_trace()
data = open(good, "rb").read()
cut = os.path.join(d, "cut.hst")
with open(cut, "wb") as f:
    f.write(data[:len(data) // 2])
p = run([HEAPSCOPE, "summary", "--format", "json", cut])
check(p.returncode in (0, 2) and p.stderr.count("\n") == 1, "half a trace: one line on stderr, no crash")
