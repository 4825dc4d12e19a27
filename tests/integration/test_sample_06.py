"""Sample 06_refcount_sources (docs/CONCEPTS.md, idea 6: where reference
counts come from): the program prints the counts 1, 2, 3, 4, 3, 2, 1;
`refs --type Thing` gives the seven events with those counts, each with the
stack naming the function that made it at its line; at the snapshot "held"
(count 4) the heap graph shows the four places that hold it."""
import os
from hs import *

SRC = "06_refcount_sources.c"
prog = sample("06_refcount_sources")
expected = """created: count 1
stored in a variable: count 2
stored in an array slot: count 3
stored as a hash map value: count 4
the variable, the slot and the map value are the object: yes
removed from the hash map: count 3
removed from the array: count 2
the variable let go: count 1
"""

n = native([prog])
check(n.returncode == 0 and n.stdout == expected, "native run prints the counts 1, 2, 3, 4, 3, 2, 1")
t = Traced([prog])
check(t.proc.returncode == 0 and t.proc.stdout == n.stdout, "traced run prints the same")
tr = t.only_trace()

r = analyze("refs", tr, "--type", "Thing")
check(len(r["objects"]) == 1, "one Thing object: %d" % len(r["objects"]))
th = r["objects"][0]
check(th["alive"] is True and th["count"] == 1, "alive at the end with count 1 (the global thing)")
ev = [(e["op"], e["count"]) for e in th["events"]]
check(ev == [("new", 1), ("retain", 2), ("retain", 3), ("retain", 4), ("release", 3), ("release", 2), ("release", 1)],
      "the seven events in order: new 1, retain 2, 3, 4, release 3, 2, 1: %s" % ev)
seqs = [e["seq"] for e in th["events"]]
check(seqs == sorted(seqs) and len(set(seqs)) == 7, "listed in the order they happened")
want = [("make_thing", "SRC_NEW"), ("store_in_variable", "SRC_VARIABLE"), ("array_append", "SRC_ARRAY"),
        ("map_put", "SRC_MAP"), ("map_remove", "SRC_UNMAP"), ("array_pop", "SRC_UNARRAY"),
        ("forget_variable", "SRC_FORGET")]
for e, (fn, marker) in zip(th["events"], want):
    got = top(e["stack"])
    check(got == (fn, SRC, marker_line(SRC, marker)),
          "%s %d made by %s() at line %d: %s" % (e["op"], e["count"], fn, marker_line(SRC, marker), got))
    check(len(e["stack"]) > 1 and e["stack"][1]["function"] == "main", "... called from main")

# At "held" (count 4) the four references are four places in the heap graph.
def bucket_of(key):
    h = 5381
    for ch in key.encode():
        h = (h * 33 + ch) & 0xFFFFFFFF
    return h % 8

rf = analyze("referrers", tr, "--snapshot", "held", "--addr", th["address"])
tg = rf["targets"][0]
places = sorted((x["root"]["kind"], x["root"]["symbol"], x["root"]["symbol_offset"]) if x["root"]
                else ("block", x["block"]["type"], x["offset"]) for x in tg["referrers"])
check(places == [("block", "Array", 8), ("block", "MapEntry", 8), ("global", "held", 0), ("global", "thing", 0)],
      "at 'held', four referrers: the globals thing and held, Array slot 0 (offset 8), MapEntry.value (offset 8): %s" % places)
# Each chain: the root's symbol, then (type, offset in the previous block) of
# each block after the first, which the root points at directly.
chains = sorted((c["root"]["symbol"], c["path"][0]["type"]) + tuple((p["type"], p["offset"]) for p in c["path"][1:])
                for c in tg["chains"])
slot = 8 * bucket_of("answer")
check(chains == [("array", "Array", ("Thing", 8)), ("held", "Thing"),
                 ("map", "Map", ("MapEntry", slot), ("Thing", 8)), ("thing", "Thing")],
      "chains: thing -> Thing; held -> Thing; array -> Array +8 -> Thing; map -> Map +%d -> MapEntry +8 -> Thing: %s"
      % (slot, chains))

# At exit only the global thing is left.
rf = analyze("referrers", tr, "--addr", th["address"])
refs = [(x["root"]["kind"], x["root"]["symbol"]) if x["root"] else ("block", x["block"]["type"])
        for x in rf["targets"][0]["referrers"]]
check(refs == [("global", "thing")], "at exit its only referrer is the global thing: %s" % refs)
