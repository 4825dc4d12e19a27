"""Faults of the tracer's own making never reach the program: a program that
closes all its descriptors, a full disk, a file size limit, a trace file
deleted while written, a writer slower than the program, hundreds of forked
children, signal handlers that allocate, a coroutine on a small stack, files
of its own on descriptors 3 and 4, daemon(), exit from a thread; and 8
threads under load with a snapshot signal every 100 ms lose no event."""
import json
import os
import signal
import subprocess
import threading
import time
from hs import *

faults = program("faults")
d = workdir("hs-rel-")

def preload_run(argv, out, timeout=120, env_extra=None, **kw):
    return subprocess.run(argv, env=dict(os.environ, LD_PRELOAD=LIB, HEAPSCOPE_OUTPUT=out, **(env_extra or {})),
                          capture_output=True, text=True, timeout=timeout, **kw)

# closes every descriptor, then opens a file of its own and puts it where the
# tracer's descriptors were: the tracer must not write into it, and opens its
# trace and journal again by their paths (it is the same file: dev and inode)
mine = os.path.join(d, "mine.txt")
p = preload_run([faults, "closefds", mine], os.path.join(d, "cf.hst"))
content = open(mine).read()
check(p.returncode == 0 and p.stdout == "wrote %s\n" % mine, "closefds: stdout and status unchanged")
check(content == "".join("line %d\n" % i for i in range(20000)), "closefds: the program's own file is exactly its own")
check(p.stderr == "", "closefds: the tracer says nothing: %r" % p.stderr.strip())
r = run([HEAPSCOPE, "summary", "--format", "json", os.path.join(d, "cf.hst")])
cf = json.loads(r.stdout) if r.returncode == 0 else {}
check(r.returncode == 0 and cf["allocations"] >= 200000 + 20000 + 300000 and consistent(cf),
      "closefds: every allocation, before and after the closing, is in the trace: %s" % cf.get("allocations"))
check(not os.path.exists(os.path.join(d, "cf.hst" + ".journal")), "closefds: the journal is removed at exit")

# a full disk
mnt = os.path.join(d, "small")
os.makedirs(mnt)
if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt], capture_output=True).returncode == 0:
    try:
        argv = [program("big_heap"), "200000"]
        p = preload_run(argv, os.path.join(mnt, "full.hst"))
        check(p.returncode == 0 and p.stdout == "", "disk full: the program runs on, status 0")
        check(p.stderr.count("\n") == 1 and "No space left" in p.stderr, "disk full: one warning: " + p.stderr.strip())
        r = run([HEAPSCOPE, "summary", "--format", "json", os.path.join(mnt, "full.hst")])
        check(r.returncode in (0, 2) and r.stderr.count("\n") == 1, "disk full: the partial trace reads with one line: " + r.stderr.strip())
    finally:
        subprocess.run(["umount", mnt])
else:
    print("note: cannot mount a tmpfs here; the disk-full case was not run")

# a file size limit the program set (RLIMIT_FSIZE): a write past it raises
# SIGXFSZ, which killed the program (status 153, the trace empty); the
# tracer's write must fail instead, and say so once
p = preload_run([faults, "fsize", "256"], os.path.join(d, "fsize.hst"))
check(p.returncode == 0 and p.stdout == "fsize: 300000 allocations\n",
      "RLIMIT_FSIZE: the program runs on, status 0 (%d, %r)" % (p.returncode, p.stdout))
check(p.stderr.count("\n") == 1 and "File too large" in p.stderr, "RLIMIT_FSIZE: one warning: " + p.stderr.strip())

# the trace deleted while it is written
out = os.path.join(d, "del.hst")
proc = subprocess.Popen([faults, "load", "2", "2"], env=dict(os.environ, LD_PRELOAD=LIB, HEAPSCOPE_OUTPUT=out),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(1.3)
if os.path.exists(out):
    os.unlink(out)
o, e = proc.communicate(timeout=120)
check(proc.returncode == 0 and o.startswith("load: 2 threads made"), "trace deleted while written: the program is unaffected")

# a writer slower than the program: the trace goes to a pipe read slowly
fifo = os.path.join(d, "slow.fifo")
os.mkfifo(fifo)
got = []
def slow_reader():
    with open(fifo, "rb") as f:
        while True:
            b = f.read(65536)
            if not b:
                break
            got.append(len(b))
            time.sleep(0.002)
t = threading.Thread(target=slow_reader)
t.start()
p = preload_run([faults, "load", "2", "1"], fifo)
t.join(timeout=120)
check(p.returncode == 0 and p.stdout.startswith("load: 2 threads made") and p.stderr == "",
      "slow writer: the program waits for the tracer, nothing on stderr")
check(sum(got) > 100000, "slow writer: the whole trace came through the pipe (%d bytes)" % sum(got))

# hundreds of children
t = Traced([faults, "forks", "300"], timeout=300)
check(t.proc.returncode == 0 and t.proc.stdout == "300 children exited 0\n", "300 forked children all exit 0")
check(len(t.traces) == 301, "301 traces (the parent and every child): %d" % len(t.traces))
bad = [x for x in t.traces if run([HEAPSCOPE, "summary", x]).returncode != 0]
check(not bad, "every trace is readable")

# signal handlers that allocate, interrupting allocations
t = Traced([faults, "signals"], timeout=120)
check(t.proc.returncode == 0 and "many" in t.proc.stdout, "signals: no deadlock, the handler allocated many times (%d, %r, %r)" % (t.proc.returncode, t.proc.stdout, t.proc.stderr[-300:]))
s = analyze("summary", t.only_trace())
check(consistent(s), "signals: allocations - frees == live at exit")

# a coroutine on a small stack (coroutine libraries give 8-64 KiB): the
# tracer's own frames must fit beside the program's. They took 17 KiB (stack
# arrays for the most frames a trace allows, not the frames kept; module
# records made on the stack; the journal's path) and, for makecontext's
# coroutines, libunwind's walk. The sanitizer build's frames are larger.
kib = 16 if "sanitize" in os.environ.get("BUILD_DIR", "") else 8
t = Traced([faults, "smallstack", str(kib)], timeout=120)
check(t.proc.returncode == 0 and t.proc.stdout == "a coroutine on %d KiB allocated 1000 times\n" % kib,
      "a coroutine on a %d KiB stack: exits 0, stdout unchanged (%d, %r)" % (kib, t.proc.returncode, t.proc.stdout))
s = analyze("summary", t.only_trace()) if t.proc.returncode == 0 else {}
check(s.get("allocations", 0) >= 1000 and consistent(s), "a coroutine on a %d KiB stack: its 1000 allocations are traced" % kib)

# descriptors 3 and 4 the program's own: libunwind (walking a signal
# handler's stacks) checked addresses through a pipe it had opened there,
# reading a byte out of the program's file on 3 and writing bytes into its
# file on 4 ('9abcd' read, 9 bytes before 'mine')
t = Traced([faults, "lowfds", d], timeout=120)
with open(os.path.join(d, "out.txt"), "rb") as f:
    out = f.read()
check(t.proc.returncode == 0 and t.proc.stdout == "read(3) 5 01234, write(4) 5\n" and out == b"mine\n",
      "files of the program's own on descriptors 3 and 4: untouched (%r, %r)" % (t.proc.stdout, out))
s = analyze("summary", t.only_trace())
check(s["allocations"] >= 2200 and consistent(s), "descriptors 3 and 4: every allocation traced (%d)" % s["allocations"])

# daemon(): glibc's parent leaves by an _exit of glibc's own, which no hook
# sees: its trace had no end, its journal stayed, and `run` said it died
dd = workdir("hs-daemon-")
t = Traced([faults, "daemon", dd], timeout=120)
check(t.proc.returncode == 0 and t.proc.stdout == "parent goes\n" and "died" not in t.proc.stderr,
      "daemon(): the parent exits 0, nothing said of its trace but the usual line (%r)" % t.proc.stderr)
with open(os.path.join(dd, "daemon.txt")) as f:
    child = int(f.read().split()[1])
ends = {int(x.rsplit(".", 2)[-2]): analyze("summary", x) for x in t.traces if x.endswith(".hst")}
check(len(t.traces) == 2 and child in ends and len(ends) == 2,
      "daemon(): two traces, the parent's and the daemon's, no journal left (%s)" % t.traces)
parent = [p for p in ends if p != child]
check(parent and ends[parent[0]]["end"] == "exit" and ends[parent[0]]["allocations"] >= 1000
      and ends[child]["end"] == "exit" and ends[child]["allocations"] >= 500,
      "daemon(): both traces complete: the parent's 1000 allocations and the daemon's 500, each ending at exit")
# not following children: the daemon is not traced (it was: the parent's
# way back from a failed fork was taken in the child too)
dd = workdir("hs-daemon-nofollow-")
p = preload_run([faults, "daemon", dd], os.path.join(dd, "t.%p.hst"), env_extra={"HEAPSCOPE_FOLLOW": "0"})
for _ in range(50):
    if os.path.exists(os.path.join(dd, "daemon.txt")):
        break
    time.sleep(0.1)
time.sleep(0.3)
traces = [f for f in os.listdir(dd) if ".hst" in f]
check(p.returncode == 0 and len(traces) == 1, "daemon() with HEAPSCOPE_FOLLOW=0: the parent's trace only (%s)" % traces)

# exit from a thread
t = Traced([faults, "threadexit"], timeout=120)
check(t.proc.returncode == 7 and t.proc.stdout == "thread calls exit\n", "exit from a thread: status 7, stdout unchanged")
s = analyze("summary", t.only_trace())
check(s["end"] == "exit" and [x["name"] for x in s["snapshots"]][-1] == "exit", "exit from a thread: the trace is complete")

# load: 8 threads, 10 seconds, a snapshot signal every 100 ms
out = os.path.join(d, "load.hst")
proc = subprocess.Popen([faults, "load", "8", "10"], env=dict(os.environ, LD_PRELOAD=LIB, HEAPSCOPE_OUTPUT=out),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
sent = 0
while proc.poll() is None and sent < 95:
    time.sleep(0.1)
    try:
        proc.send_signal(signal.SIGUSR2)
        sent += 1
    except ProcessLookupError:
        break
o, e = proc.communicate(timeout=120)
check(proc.returncode == 0 and o.startswith("load: 8 threads made"),
      "load: no deadlock, the program finished (status %s; stderr %r)" % (proc.returncode, e[-500:]))
made = int(o.split("made ")[1].split()[0])
s = analyze("summary", out)
names = [x["name"] for x in s["snapshots"]]
sig = [x for x in s["snapshots"] if x["name"].startswith("signal-")]
# Requests coalesce, and each snapshot pauses 8 busy threads on this 2-core
# machine: how many fit in 10 s depends on the machine's load (10 in 5 s
# alone, 2 with two heavy tests beside it). What must hold: they happen,
# during the load, and cost no event.
check(len(sig) >= 1 and sig[0]["time_ns"] < s["duration_ns"] - 1e9,
      "load: %d signal snapshots taken while the threads ran" % len(sig))
check(s["allocations"] >= made and consistent(s), "load: no lost event (%d recorded, program made %d; frees match)" % (s["allocations"], made))
check(s["threads"] >= 8, "load: events from all 8 threads")
