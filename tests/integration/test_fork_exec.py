"""fork: the child writes its own trace; exec: the new image gets its own
trace, the old one ends with an exec snapshot. HEAPSCOPE_FOLLOW=0 traces only
the first process. A pattern without %p: the first process takes it as it
is, later ones add .PID."""
import os
import re
import subprocess
from hs import *

def leak_lines(trace, source):
    return sorted((r["stack"][0]["line"], r["bytes"]) for r in own(analyze("leaks", trace)["records"], source))

# fork
t = Traced([program("forker")])
check(t.proc.returncode == 0, "forker exits 0")
check(len(t.traces) == 2, "two traces for fork: %s" % t.traces)
sums = [analyze("summary", tr) for tr in t.traces]
parent = [x for x in zip(t.traces, sums) if x[1]["ppid"] != sums[0]["pid"] and x[1]["ppid"] != sums[1]["pid"]]
child = [x for x in zip(t.traces, sums) if x not in parent]
check(len(parent) == 1 and len(child) == 1, "one parent trace, one child trace")
check(child[0][1]["ppid"] == parent[0][1]["pid"], "the child's trace names the parent as its parent")
L = lambda m: marker_line("forker.c", m)
check(leak_lines(parent[0][0], "forker.c") == sorted([(L("LEAK-PARENT-BEFORE"), 111), (L("LEAK-PARENT-AFTER"), 333)]),
      "parent leaks 111 and 333 bytes, not the child's")
check(leak_lines(child[0][0], "forker.c") == sorted([(L("LEAK-PARENT-BEFORE"), 111), (L("LEAK-CHILD"), 222)]),
      "child leaks its 222 bytes and the 111 it inherited")
check(child[0][1]["allocations"] >= 1 and consistent(parent[0][1]), "parent trace consistent")
# each leak is judged once, where it was made: the child shows the 111 bytes
# it inherited, marked, apart from its own kinds
ck = analyze("leaks", child[0][0])
# (in the child `sink` holds its 222 bytes; the 111 are lost in both)
inh = [(r["stack"][0]["line"], r["bytes"], r["kind"]) for r in own(ck["records"], "forker.c") if r["inherited"]]
check(inh == [(L("LEAK-PARENT-BEFORE"), 111, "definitely_lost")],
      "the child marks the parent's 111 bytes inherited: %s" % inh)
check(ck["inherited"]["bytes"] >= 111 and ck["summary"]["definitely_lost"]["bytes"] == 0,
      "none of the child's own bytes is lost: %s, inherited %s" % (ck["summary"], ck["inherited"]))


def gate_verdict(traces):
    p = run([HEAPSCOPE, "gate"] + traces)
    m = re.search(r"(FAIL|pass): ([\d,]+) bytes in ([\d,]+) blocks", p.stderr)
    if not m:
        fail("no gate verdict: %s" % p.stderr)
    return int(m.group(2).replace(",", "")), int(m.group(3).replace(",", ""))


check(gate_verdict(t.traces) == (111, 1), "the gate counts the inherited leak once: %s" % (gate_verdict(t.traces),))

# exec
t = Traced([program("execer"), program("leak_known")])
check(t.proc.returncode == 0, "execer -> leak_known exits 0")
check(len(t.traces) == 2, "two traces for exec: %s" % t.traces)
names = {analyze("summary", tr)["program"]: tr for tr in t.traces}
check(set(names) == {"execer", "leak_known"}, "one trace per image: %s" % sorted(names))
pre = analyze("summary", names["execer"])
check(pre["end"] == "exec" and [x["name"] for x in pre["snapshots"]] == ["exec"],
      "the pre-exec trace ends with an exec snapshot")
check(leak_lines(names["execer"], "execer.c") == [(marker_line("execer.c", "LEAK-BEFORE-EXEC"), 1234)],
      "pre-exec image: 1234 bytes live at exec")
post = analyze("summary", names["leak_known"])
check(post["pid"] == pre["pid"] and post["end"] == "exit", "exec'd image: same pid, ends at exit")
check(pre["leaks"]["exec"] is True and post["leaks"]["exec"] is False, "summary says which snapshot is an exec")
check(gate_verdict(t.traces) == gate_verdict([names["leak_known"]]),
      "the gate judges nothing at an exec snapshot: %s" % (gate_verdict(t.traces),))

# a failed exec goes on in the same trace
t = Traced([program("execer"), "/nonexistent/program"])
check(t.proc.returncode == 3, "failed exec: the program's own status 3")
tr = t.only_trace()
s = analyze("summary", tr)
check([x["name"] for x in s["snapshots"]] == ["exec", "exit"], "failed exec: exec then exit snapshots")
check(leak_lines(tr, "execer.c") == sorted([(marker_line("execer.c", "LEAK-BEFORE-EXEC"), 1234),
                                            (marker_line("execer.c", "LEAK-AFTER-FAILED-EXEC"), 4321)]),
      "failed exec: both leaks in one trace")

# HEAPSCOPE_FOLLOW=0
t = Traced([program("forker")], env={"HEAPSCOPE_FOLLOW": "0"})
check(len(t.traces) == 1 and analyze("summary", t.traces[0])["program"] == "forker", "FOLLOW=0: fork child not traced")
t = Traced(["/bin/sh", "-c", program("leak_known") + "; " + program("leak_known")], env={"HEAPSCOPE_FOLLOW": "0"})
check(len(t.traces) == 1, "FOLLOW=0: exec'd children not traced (%d traces)" % len(t.traces))
check(t.proc.stdout.count("leaked") == 2, "FOLLOW=0: the children still ran")

# a pattern without %p
t = Traced([program("execer"), program("leak_known")], output="trace.hst")
base = sorted(os.path.basename(x) for x in t.traces)
check(len(base) == 2 and base[0] == "trace.hst" and base[1].startswith("trace.hst."),
      "pattern without %%p: trace.hst and trace.hst.PID (%s)" % base)
check(analyze("summary", os.path.join(t.dir, "trace.hst"))["program"] == "execer",
      "the first process has the plain name")

# fork while a snapshot is being taken: a snapshot holds its lock while it
# takes the output's, so a fork must take them in that order too (the other
# order hung every run of this, a thread forking while the writer thread took
# an interval snapshot).
FORK_DURING_SNAPSHOTS = r"""
import os, threading
def forker():
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            os._exit(7 if len([dict(a=i) for i in range(500)]) == 500 else 1)
        os.waitpid(pid, 0)
def worker():
    for i in range(200):
        d = {j: [j] * (j % 5) for j in range(50)}
for rnd in range(10):
    ts = [threading.Thread(target=(forker, worker)[n % 2]) for n in range(8)]
    for t in ts: t.start()
    for t in ts: t.join()
print("done")
"""
for attempt in range(3):
    try:
        t = Traced(["/usr/bin/python3", "-c", FORK_DURING_SNAPSHOTS], timeout=90,
                   env={"PYTHONMALLOC": "malloc", "HEAPSCOPE_SNAPSHOT_INTERVAL_MS": "2"})
    except subprocess.TimeoutExpired:
        fail("forks during interval snapshots: run %d hung" % attempt)
    check(t.proc.returncode == 0 and t.proc.stdout == "done\n",
          "forks during interval snapshots: run %d exits 0: %s" % (attempt, t.proc.stderr[-1000:]))
    # A child's clock starts at the fork: the parent's due interval made
    # every child snapshot its inherited heap at its first allocation, and
    # under load the snapshots ran back to back.
    if attempt == 0:
        pids = sorted(int(x.rsplit(".", 2)[-2]) for x in t.traces if x.endswith(".hst"))
        children = [analyze("summary", x) for x in t.traces if x.endswith(".hst")
                    and int(x.rsplit(".", 2)[-2]) in pids[1:13]]
        children = [c for c in children if c["ppid"] == pids[0]]
        interval = [c["pid"] for c in children if any(s["name"].startswith("interval") for s in c["snapshots"])]
        check(children and not interval, "forks during interval snapshots: no child (of %d) snapshots at its "
              "first allocation (did: %s)" % (len(children), interval))
