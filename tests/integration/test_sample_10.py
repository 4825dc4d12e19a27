"""Concept 10, weak parent pointers break the cycle (samples/10_weak_parents.c):
a 7-node tree whose children point at their parent. With strong parent
pointers, dropping the root leaks the whole tree: `cycles` must show one
unreachable cycle of the 7 TreeNode objects kept alive by the cycle alone,
and `leaks` 1 block definitely and 6 indirectly lost. With weak parent
pointers dropping the root frees everything: no cycle and no lost block."""
from hs import *

prog = sample("10_weak_parents")

def traced(mode):
    nat = native([prog, mode])
    check(nat.returncode == 0, "10_weak_parents %s runs natively" % mode)
    t = Traced([prog, mode])
    check(t.proc.returncode == 0, "10_weak_parents %s runs under heapscope" % mode)
    check(t.proc.stdout == nat.stdout, "%s: stdout is the same traced and native" % mode)
    return nat.stdout.splitlines(), t.only_trace()

# The strong version: the tree leaks as one big cycle.
out, tr = traced("strong")
check(out[1] == "built 7 nodes: root count 3, child0 count 3, leaf00 count 1",
      "strong, the program: each parent's count includes its children's parent pointers")
check(out[2] == "from leaf11 up: leaf11 child1 root", "strong: the parent pointers lead from a leaf to the root")
check(out[3] == "dropped the root: its count is now 2; 0 of 7 nodes freed",
      "strong, the program: dropping the root frees nothing")
objs = analyze("refs", tr, "--type", "TreeNode")["objects"]
check(len(objs) == 7 and all(o["alive"] for o in objs), "refs: 7 TreeNode objects, all alive at exit")
addrs = sorted(o["address"] for o in objs)
cy = analyze("cycles", tr)["cycles"]
check(len(cy) == 1, "strong, exit: exactly one cycle: %d" % len(cy))
c = cy[0]
check(c["blocks"] == 7 and c["types"] == ["TreeNode"] and sorted(m["address"] for m in c["members"]) == addrs,
      "the cycle holds exactly the 7 TreeNode objects")
check(c["reachable"] is False and c["refcounted"] is True and c["kept_alive_by_cycle_only"] is True,
      "unreachable, refcounted, kept alive by the cycle alone")
check(sorted(m["count"] for m in c["members"]) == [1, 1, 1, 1, 2, 3, 3] and
      all(m["count"] == m["references_from_cycle"] for m in c["members"]),
      "counts root 2, children 3, leaves 1, each fully explained by pointers inside the cycle")
node = c["members"][0]["size"]
lk = analyze("leaks", tr)
check(lk["summary"]["definitely_lost"] == {"bytes": node, "blocks": 1} and
      lk["summary"]["indirectly_lost"] == {"bytes": 6 * node, "blocks": 6} and
      lk["summary"]["possibly_lost"]["blocks"] == 0,
      "strong, leaks: 1 TreeNode definitely lost and 6 indirectly lost (%d bytes each)" % node)
lost = [(r["kind"], r["type"]) for r in lk["records"] for _ in range(r["blocks"]) if r["kind"].endswith("_lost")]
check(sorted(lost) == [("definitely_lost", "TreeNode")] + [("indirectly_lost", "TreeNode")] * 6,
      "the lost blocks are the TreeNodes: %s" % lost)
# While the tree was alive (snapshot "built") the cycle was reachable, and the
# root's count had one reference from outside the cycle (g_root).
cb = analyze("cycles", tr, "--snapshot", "built")["cycles"]
check(len(cb) == 1 and cb[0]["blocks"] == 7 and cb[0]["reachable"] is True and
      cb[0]["kept_alive_by_cycle_only"] is False,
      "strong, built: the same 7-node cycle, reachable, not kept alive by itself alone")

# The weak version: dropping the root frees all.
out, tr = traced("weak")
check(out[1] == "built 7 nodes: root count 1, child0 count 1, leaf00 count 1",
      "weak, the program: weak parent pointers add nothing to the counts")
check(out[2] == "from leaf11 up: leaf11 child1 root", "weak: the parent pointers still lead to the root")
check(out[3] == "dropped the root: its count is now 0; 7 of 7 nodes freed",
      "weak, the program: dropping the root frees all 7 nodes")
objs = analyze("refs", tr, "--type", "TreeNode")["objects"]
check(len(objs) == 7 and not any(o["alive"] for o in objs) and
      all([e["op"] for e in o["events"]][-1] == "free" for o in objs), "refs: 7 TreeNode objects, all freed")
check(sum(e["op"] == "weak_clear" for o in objs for e in o["events"]) == 3,
      "the 3 parents' weak references were cleared when they died")
cy = analyze("cycles", tr)["cycles"]
check(cy == [], "weak, exit: no cycle at all: %s" % [(x["blocks"], x["types"]) for x in cy])
lk = analyze("leaks", tr)
check(lk["summary"]["definitely_lost"]["blocks"] == 0 and lk["summary"]["indirectly_lost"]["blocks"] == 0 and
      lk["summary"]["possibly_lost"]["blocks"] == 0, "weak, leaks: nothing lost")
check(not any(r["type"] == "TreeNode" for r in lk["records"]), "weak: no TreeNode alive at exit")
