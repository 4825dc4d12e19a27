"""Sample 03_drop_name (docs/CONCEPTS.md, idea 3: dropping a name does not
destroy the object): the program's own facts (b still reads the data after
a is dropped, clearing through c is seen through b, rebinding c leaves b
alone); the heap graph keeps the list live with b as its only referrer, both
right after the drop (snapshot "dropped") and at exit; `refs` shows each
drop as a release to count 1, never a free."""
import os
from hs import *

SRC = "03_drop_name.c"
prog = sample("03_drop_name")
expected = """a is b: yes, count 2
after dropping a: count 1
b reads [1, 2, 3]
c is b: yes, count 2
after clearing through c, b reads []
c reads []
after rebinding c: c is b: no
b reads []
c reads [4, 5]
counts: b's list 1, c's list 1
"""

n = native([prog])
check(n.returncode == 0 and n.stdout == expected, "native run prints the program's facts")
t = Traced([prog])
check(t.proc.returncode == 0 and t.proc.stdout == n.stdout, "traced run prints the same")
tr = t.only_trace()

# refs: two List objects, the first one [1, 2, 3] (b's), the second [4, 5] (c's)
r = analyze("refs", tr, "--type", "List")
objs = sorted(r["objects"], key=lambda o: o["events"][0]["seq"])
check(len(objs) == 2, "two List objects: %d" % len(objs))
first, second = objs
ev = [(e["op"], e["count"]) for e in first["events"]]
check(ev == [("new", 1), ("retain", 2), ("release", 1), ("retain", 2), ("release", 1)],
      "the first list: new 1, retain 2 (b = a), release 1 (del a), retain 2 (c = b), release 1 (c rebound): %s" % ev)
check(not any(e["op"] == "free" for e in first["events"]), "no free event: dropping a name did not destroy it")
check(first["alive"] is True and first["count"] == 1, "it is alive at the end, count 1")
lines = [top(e["stack"]) for e in first["events"]]
want = [("make_list", SRC, marker_line(SRC, "NEW_LIST")), ("main", SRC, marker_line(SRC, "RETAIN_B")),
        ("main", SRC, marker_line(SRC, "RELEASE_A")), ("main", SRC, marker_line(SRC, "RETAIN_C")),
        ("main", SRC, marker_line(SRC, "RELEASE_C"))]
check(lines == want, "each event at its line: %s" % lines)
ev2 = [(e["op"], e["count"]) for e in second["events"]]
check(ev2 == [("new", 1)] and second["alive"] is True and second["count"] == 1,
      "the second list (c's after rebinding): new 1, alive with count 1: %s" % ev2)

def referrers(addr, snapshot):
    x = analyze("referrers", tr, "--snapshot", snapshot, "--addr", addr)
    check(x["matched"] == 1, "--addr %s finds one block at %s" % (addr, snapshot))
    tg = x["targets"][0]
    return tg, [(y["root"]["kind"], y["root"]["symbol"]) if y["root"] else ("block", y["block"])
                for y in tg["referrers"]]

# Right after `del a`: the list is still live, held by b alone.
tg, refs = referrers(first["address"], "dropped")
check(tg["kind"] == "still_reachable" and tg["target"]["type"] == "List",
      "at snapshot 'dropped' the first list is live and still reachable")
check(refs == [("global", "b")], "its only referrer after the drop is the global b: %s" % refs)
check([(c["root"]["symbol"], len(c["path"])) for c in tg["chains"]] == [("b", 1)],
      "one chain: from b straight to the list")

# At exit: still b's alone (c was rebound to the second list).
tg, refs = referrers(first["address"], "exit")
check(tg["kind"] == "still_reachable" and refs == [("global", "b")],
      "at exit the first list is still live, its only referrer the global b: %s" % refs)
tg, refs = referrers(second["address"], "exit")
check(refs == [("global", "c")], "the second list's only referrer is the global c: %s" % refs)
