"""The heap graph: referrers and chains from a named global, exact diffs
between labelled snapshots, aliases and duplicates, hs_ignore, a thread alive
at exit as a root, unreadable memory, cycles of the leak shapes, C++ classes
named by their vtables, a text chain's offset in its global,
HEAPSCOPE_SCAN=0, and snapshots by signal and interval."""
import os
import re
import signal
import subprocess
import time
from hs import *

def demo(mode):
    t = Traced([program("graph_demo"), mode])
    check(t.proc.returncode == 0, "graph_demo %s exits 0" % mode)
    return t.only_trace()

# referrers: a global holds the target through a chain of 3 blocks
tr = demo("chain")
r = analyze("referrers", tr, "--type", "Target")
check(r["matched"] == 1, "one Target block")
t0 = r["targets"][0]
check(t0["target"]["size"] == 40 and t0["kind"] == "still_reachable", "Target: 40 bytes, still reachable")
check([(x["block"]["type"], x["offset"]) for x in t0["referrers"]] == [("Link", 8)],
      "its one direct referrer is the Link block, at offset 8")
ch = t0["chains"][0]
check(ch["root"]["kind"] == "global" and ch["root"]["symbol"] == "g_head" and
      ch["root"]["module"].endswith("graph_demo"), "the chain starts at global g_head in graph_demo")
check([(p["type"], p["size"]) for p in ch["path"]] == [("Holder", 32), ("Link", 24), ("Target", 40)],
      "path: Holder (32) -> Link (24) -> Target (40)")
check([p["offset"] for p in ch["path"]][1:] == [16, 8], "pointers at Holder+16 and Link+8")
a = analyze("referrers", tr, "--addr", t0["target"]["address"])
check(a["targets"][0]["target"]["address"] == t0["target"]["address"], "--addr finds the same block")
s = analyze("referrers", tr, "--site", "z")
check(s["matched"] == 3, "--site z: the 3 blocks allocated in z()")

# diff between two labelled snapshots: exact per-type deltas
tr = demo("diff")
d = analyze("diff", tr, "one", "two")
rows = {x["key"]: (x["count_before"], x["count_after"], x["count_delta"], x["bytes_delta"]) for x in d["rows"]}
check(d["from"] == "one" and d["to"] == "two" and d["by"] == "type", "diff one -> two by type")
check(rows.get("Apple") == (0, 5, 5, 160), "Apple +5, +160 bytes: %s" % (rows.get("Apple"),))
check(rows.get("Pear") == (0, 3, 3, 192), "Pear +3, +192 bytes")
check(rows.get("Plum") == (4, 2, -2, -96), "Plum 4 -> 2, -96 bytes")
check(rows.get("z()") == (0, 1, 1, 64), "the untagged array, keyed by its allocating function z(): +1, +64")
check([x["key"] for x in d["rows"]][:3] == ["Pear", "Apple", "Plum"], "biggest change first")
ds = analyze("diff", tr, "--by", "site", "one", "two")
check(sum(x["bytes_delta"] for x in ds["rows"]) == 160 + 192 - 96 + 64, "by site: the same total change")

# aliases: one block, three referrers; three equal blocks
tr = demo("alias")
al = analyze("aliases", tr, "--type", "Shared")
check(len(al["shared"]) == 1, "one Shared block with several referrers")
refs = al["shared"][0]["referrers"]
check(sorted((x["root"]["symbol"] if x["root"] else "block+%d" % x["offset"]) for x in refs) ==
      ["block+8", "g_a", "g_b"], "its referrers: g_a, g_b and offset 8 of a block")
al = analyze("aliases", tr, "--type", "Text")
check([(x["size"], x["count"]) for x in al["duplicates"]] == [(40, 3)],
      "duplicates: the 3 equal 40-byte blocks, not the different one")

# hs_ignore: the holder is never reported; what it holds is reachable
tr = demo("ignore")
lk = analyze("leaks", tr)
types = {(x["type"], x["kind"]) for x in lk["records"]}
check(("Child", "still_reachable") in types, "the ignored holder's child is still reachable")
check(not any(x["type"] == "IgnoredHolder" for x in lk["records"]), "the ignored holder is not reported")

# a thread alive at exit is a root
tr = demo("thread")
r = analyze("referrers", tr, "--type", "ThreadHeld")["targets"][0]
check(r["kind"] == "still_reachable", "a block held only by a running thread is still reachable at exit")
roots = [x["root"] for x in r["referrers"] if x["root"]]
check(roots and roots[0]["kind"] in ("stack", "register") and roots[0]["tid"] != analyze("summary", tr)["pid"],
      "held from another thread's stack or registers: %s" % roots)

# unreadable memory is skipped, not faulted on
tr = demo("guard")
lk = analyze("leaks", tr)
check(any(x["type"] == "Guarded" and x["bytes"] == 65536 for x in lk["records"]), "a PROT_NONE block is reported, scan survived")

# cycles of the leak shapes: exactly the rings and the self-pointers
t = Traced([program("leak_shapes"), "rings"])
cy = analyze("cycles", t.only_trace())["cycles"]
mine = [c for c in cy if all(m["stack"] and any(f["file"] and f["file"].endswith("leak_shapes.c") for f in m["stack"]) for m in c["members"])]
check(sorted((c["blocks"], c["reachable"]) for c in mine) ==
      [(2, False), (2, True), (3, False), (3, True), (7, False), (7, True)],
      "rings: cycles of 2, 3 and 7 blocks, one lost and one kept of each")
t = Traced([program("leak_shapes"), "self"])
cy = [c for c in analyze("cycles", t.only_trace())["cycles"] if c["bytes"] == 48]
check(sorted((c["blocks"], c["reachable"]) for c in cy) == [(1, False), (1, False), (1, True)],
      "self: three blocks pointing at themselves, two lost, one kept")
tx = subprocess.run([HEAPSCOPE, "cycles", "--lost", t.only_trace()], capture_output=True, text=True).stdout
check(tx.count("unreachable (leaked)") >= 2 and "reachable from a root" not in tx, "--lost shows only leaked cycles")

# C++ without the API: classes named by their vtables
t = Traced([program("cpp_types"), "3"])
check(t.proc.returncode == 0, "cpp_types runs")
tr = t.only_trace()
d = analyze("diff", tr, "signal-0", "exit")
rows = {x["key"]: x["count_delta"] for x in d["rows"]}
check(rows.get("Circle") == 3 and rows.get("geo::flat::Square") == 2 and rows.get("Node") == 2,
      "diff by type names C++ classes: Circle +3, geo::flat::Square +2, Node +2: %s" % rows)
cy = [c for c in analyze("cycles", tr)["cycles"] if c["types"] == ["Node"]]
check(len(cy) == 1 and cy[0]["blocks"] == 2 and not cy[0]["reachable"], "one lost cycle of two Node objects")
# a chain from a global, in text: the pointer's offset within the global
# (g_kept[10] and g_kept[11]: +80 and +88), as JSON's symbol_offset says
sq = analyze("referrers", tr, "--type", "geo::flat::Square")["targets"]
check(sorted(t["chains"][0]["root"]["symbol_offset"] for t in sq) == [80, 88], "JSON: Squares at g_kept+80 and +88")
tx = subprocess.run([HEAPSCOPE, "referrers", "--type", "geo::flat::Square", tr], capture_output=True, text=True).stdout
hops = re.findall(r"\n    global g_kept\+(\d+) in \S+\n      -> \[\+(\d+)\] 0x[0-9a-f]+ \(16 bytes, geo::flat::Square\)", tx)
check(sorted(hops) == [("80", "80"), ("88", "88")], "text chains: global g_kept+80 -> [+80], g_kept+88 -> [+88]: %s" % hops)
lk = analyze("leaks", tr)
nodes = [x for x in lk["records"] if x["type"] == "Node"]
check(sorted(x["kind"] for x in nodes) == ["definitely_lost", "indirectly_lost"], "the Node cycle: one definite, one indirect")

# HEAPSCOPE_SCAN=0: blocks only
t = Traced([program("leak_known")], env={"HEAPSCOPE_SCAN": "0"})
lk = analyze("leaks", t.only_trace())
check(lk["scanned"] is False and list(lk["summary"]) == ["not_freed"], "HEAPSCOPE_SCAN=0: not_freed only")

# snapshots by signal and by interval
d = workdir("hs-sig-")
out = os.path.join(d, "sig.hst")
# an idle program with one thread (and no thread of ours): the signal's
# snapshot is taken in its handler; killed later, its trace still reads
p = subprocess.Popen([program("sleeper")], env=dict(os.environ, LD_PRELOAD=LIB, HEAPSCOPE_OUTPUT=out),
                     stdout=subprocess.PIPE, text=True)
p.stdout.readline()
check(len(os.listdir("/proc/%d/task" % p.pid)) == 1, "the traced sleeper has one thread, its own")
time.sleep(0.35)
p.send_signal(signal.SIGUSR2)
time.sleep(0.3)
p.send_signal(signal.SIGTERM)
p.wait()
names = [x["name"] for x in analyze("summary", out)["snapshots"]]
check(any(n.startswith("signal-") for n in names), "SIGUSR2 took a snapshot: %s" % names)
# interval snapshots come on the program's own allocations (no timer, no thread)
out2 = os.path.join(d, "tick.hst")
q = subprocess.Popen([program("sleeper"), "tick"], env=dict(os.environ, LD_PRELOAD=LIB, HEAPSCOPE_OUTPUT=out2,
                     HEAPSCOPE_SNAPSHOT_INTERVAL_MS="100"), stdout=subprocess.PIPE, text=True)
q.stdout.readline()
time.sleep(1)
q.send_signal(signal.SIGTERM)
q.wait()
check(sum(x["name"].startswith("interval-") for x in analyze("summary", out2)["snapshots"]) >= 3,
      "the 100 ms interval took snapshots")
sig = [n for n in names if n.startswith("signal-")][0]
lk = analyze("leaks", out, "--snapshot", sig)
check(sum(x["blocks"] for x in own(lk["records"], "sleeper.c")) == 1000, "the signal snapshot holds the 1000 blocks")
