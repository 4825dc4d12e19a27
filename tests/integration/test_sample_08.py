"""Concept 8, cycles need a cycle collector (samples/08_cycles.c): two
refcounted CycleNode objects retain each other and the program drops its own
references; a PairNode pair without a cycle is dropped too. At exit `cycles`
must show exactly one unreachable cycle of the 2 CycleNode objects, each with
count 1 that comes from the cycle (kept alive by the cycle alone); `refs`
must show both PairNode objects freed; `leaks` must show the cycle lost as
one definitely and one indirectly lost block."""
from hs import *

prog = sample("08_cycles")
nat = native([prog])
check(nat.returncode == 0, "08_cycles runs natively")
t = Traced([prog])
check(t.proc.returncode == 0, "08_cycles runs under heapscope")
check(t.proc.stdout == nat.stdout, "stdout is the same traced and native")
out = nat.stdout
check("cycle built: A count 2, B count 2\n" in out, "the program: A and B at count 2 in the cycle")
check("dropped A and B: counts now 1 and 1 (the cycle holds them), 0 freed\n" in out,
      "the program: dropping A and B leaves counts 1 and 1, nothing freed")
check("  finalizer: C is freed\n  finalizer: D is freed\ndropped C: count now 0, 2 freed in all\n" in out,
      "the program: dropping C frees C and then D")
tr = t.only_trace()

# refs: which objects died, which did not.
refs = analyze("refs", tr)
objs = refs["objects"]
by_type = {}
for o in objs:
    by_type.setdefault(o["type"], []).append(o)
check(sorted(by_type) == ["CycleNode", "PairNode"] and len(objs) == 4, "refs: 2 CycleNode and 2 PairNode objects")
for o in by_type["PairNode"]:
    ops = [(e["op"], e["count"]) for e in o["events"]]
    check(not o["alive"] and ops[-2:] == [("release", 0), ("free", 0)],
          "PairNode %s: released to 0 and freed: %s" % (o["address"], ops))
c_ops = sorted([(e["op"], e["count"]) for e in o["events"]] for o in by_type["PairNode"])
check(c_ops == [[("new", 1), ("release", 0), ("free", 0)],
                [("new", 1), ("retain", 2), ("release", 1), ("release", 0), ("free", 0)]],
      "C: new 1, release 0, free; D: new 1, retain 2 (by C), release 1, release 0 (by C's finalizer), free")
d = [o for o in by_type["PairNode"] if len(o["events"]) == 5][0]
check(d["events"][3]["stack"][0]["function"] == "node_finalizer", "D's last release is in C's finalizer")
for o in by_type["CycleNode"]:
    ops = [(e["op"], e["count"]) for e in o["events"]]
    check(o["alive"] and o["count"] == 1 and ops == [("new", 1), ("retain", 2), ("release", 1)],
          "CycleNode %s: new 1, retain 2, release 1, alive at count 1" % o["address"])
cycle_addrs = sorted(o["address"] for o in by_type["CycleNode"])

# cycles: exactly one, the two CycleNode objects, unreachable, kept alive by itself.
cy = analyze("cycles", tr)["cycles"]
check(len(cy) == 1, "exactly one cycle in the heap at exit: %d" % len(cy))
c = cy[0]
check(c["blocks"] == 2 and c["reachable"] is False, "a cycle of 2 blocks, unreachable from any root")
check(c["types"] == ["CycleNode"] and sorted(m["address"] for m in c["members"]) == cycle_addrs,
      "its members are the two CycleNode objects")
check(c["refcounted"] is True and c["kept_alive_by_cycle_only"] is True,
      "refcounted, and kept alive by the cycle alone")
check(all(m["count"] == 1 and m["references_from_cycle"] == 1 for m in c["members"]),
      "each member: count 1, and 1 reference from the other member")
check(c["bytes"] == sum(m["size"] for m in c["members"]), "the cycle's bytes are its members' sizes")
lost = analyze("cycles", tr, "--lost")["cycles"]
check(len(lost) == 1 and sorted(m["address"] for m in lost[0]["members"]) == cycle_addrs,
      "--lost: the same one cycle")

# leaks: the cycle is lost, one definite (the head) and one indirect.
lk = analyze("leaks", tr)
size = c["members"][0]["size"]
check(lk["summary"]["definitely_lost"] == {"bytes": size, "blocks": 1} and
      lk["summary"]["indirectly_lost"] == {"bytes": size, "blocks": 1} and
      lk["summary"]["possibly_lost"]["blocks"] == 0,
      "leaks: exactly 1 block definitely lost and 1 indirectly lost, %d bytes each" % size)
recs = sorted((r["kind"], r["type"], r["blocks"], r["indirect_bytes"]) for r in lk["records"] if r["type"])
check(recs == [("definitely_lost", "CycleNode", 1, size), ("indirectly_lost", "CycleNode", 1, 0)],
      "the lost blocks are the CycleNodes; the definite one carries the other as indirect: %s" % recs)
check(not any(r["type"] == "PairNode" for r in lk["records"]), "no PairNode is left at exit")
