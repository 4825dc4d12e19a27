"""The gate on real programs: python3 (with its own allocator and with
malloc, threads joined), sqlite3, git, node and a program that creates and
joins threads leak nothing at exit (no suppressions needed); perl frees nothing at exit by design, so it fails
unless suppressed (docs/suppressions/perl.supp), and heapscope's lost bytes
for perl are exactly valgrind memcheck's."""
import os
import re
from hs import *

d = workdir("hs-gate-real-")
root = os.path.dirname(os.environ["SAMPLE_SOURCES"])

def gate(argv, *opts, env=None, cwd=None):
    return run([HEAPSCOPE, "run", "--gate"] + list(opts) + ["-o", os.path.join(d, "%e.%p.hst"), "--"] + argv,
               env=env, cwd=cwd)

p = gate(["/usr/bin/python3", "-c", "import json, re; print(len(json.dumps({str(i): [i] for i in range(5000)})))"],
         env={"PYTHONMALLOC": "malloc"})
check(p.returncode == 0, "python3 passes the gate: " + p.stderr.strip().splitlines()[0])
# pymalloc's arenas are the interpreter's own mappings: roots, as in valgrind
script = ("import threading\n"
          "d = {('k%d' % i): ('v%d' % i) * 3 for i in range(20000)}\n"
          "l = [bytearray(100 + i) for i in range(2000)]\n"
          "ts = [threading.Thread(target=sum, args=(range(1000),)) for _ in range(2)]\n"
          "[t.start() for t in ts]; [t.join() for t in ts]\n"
          "print(len(d), len(l))\n")
for env in ({}, {"PYTHONMALLOC": "malloc"}):
    p = gate(["/usr/bin/python3", "-c", script], env=env)
    check(p.returncode == 0 and p.stdout == "20000 2000\n",
          "python3 %s with two threads passes the gate: %s" % (env or "(pymalloc)", p.stderr.strip().splitlines()[0]))
# ... and at a snapshot taken mid-run, with everything still held
# (the snapshot is taken by the tracer shortly after the signal: wait for it)
t = Traced(["/usr/bin/python3", "-c", script.replace("print(", "import os, signal, time; os.kill(os.getpid(), "
                                                      "signal.SIGUSR2); time.sleep(0.5); print(")])
sig = [x["name"] for x in analyze("summary", t.only_trace())["snapshots"] if x["name"].startswith("signal")]
mid = analyze("leaks", t.only_trace(), "--snapshot", sig[0])["summary"] if sig else None
check(mid and mid["definitely_lost"]["bytes"] == mid["indirectly_lost"]["bytes"] == 0
      and mid["still_reachable"]["bytes"] > 3000000,
      "python3 (pymalloc) at a SIGUSR2 snapshot: nothing lost, its 3 MB still reachable: %s" % mid)
# joined threads leave their DTV in glibc's stack cache: not a leak
p = gate([program("joiner")])
check(p.returncode == 0, "three threads created and joined pass the gate: " + p.stderr.strip().splitlines()[0])
p = gate(["node", "-e", "console.log([1, 2, 3].map(x => x * 2).join(','))"])
check(p.returncode == 0 and p.stdout == "2,4,6\n", "node passes the gate: " + p.stderr.strip().splitlines()[0])
p = gate(["sqlite3", ":memory:", "create table t(a); insert into t values (1), (2); select sum(a) from t;"])
check(p.returncode == 0 and p.stdout == "3\n", "sqlite3 passes the gate")
p = gate(["git", "log", "--oneline", "-3"], cwd=root)
check(p.returncode == 0, "git log passes the gate")

script = ["perl", "-e", 'my %h = map { $_ => [$_] } 1..1000; print scalar(keys %h), "\\n"']
p = gate(script)
check(p.returncode == 1, "perl fails the gate without a suppression (it frees nothing at exit)")
p = gate(script, "--suppressions", os.path.join(root, "docs", "suppressions", "perl.supp"))
check(p.returncode == 0, "perl passes with docs/suppressions/perl.supp")

# the oracle: perl's lost bytes, heapscope against valgrind
t = Traced(["perl", "-e", 'print "x\\n"'])
s = analyze("leaks", t.only_trace())["summary"]
v = run(["valgrind", "--leak-check=full", "--show-leak-kinds=all", "--leak-check-heuristics=none",
         "perl", "-e", 'print "x\\n"'], timeout=300).stderr
def vg(kind):
    m = re.search(kind + r": ([\d,]+) bytes in ([\d,]+) blocks", v)
    return (int(m.group(1).replace(",", "")), int(m.group(2).replace(",", "")))
for kind, key in (("definitely lost", "definitely_lost"), ("indirectly lost", "indirectly_lost")):
    check((s[key]["bytes"], s[key]["blocks"]) == vg(kind),
          "perl %s: heapscope %s = valgrind %s" % (kind, (s[key]["bytes"], s[key]["blocks"]), vg(kind)))
