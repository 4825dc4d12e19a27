"""Sample 01_identity (docs/CONCEPTS.md, idea 1: identity vs equality): the
program's own facts, and `aliases` showing the one block behind a and b as
shared by exactly those two globals, and the four equal Points as one group
of duplicates (equal, not identical)."""
from hs import *

prog = sample("01_identity")
expected = """a is b (same address): yes
a equals b (same contents): yes
a is c: no
a equals c: yes
c is d: no, d is e: no
a, c, d, e all equal: yes
after b->x = 10: a->x = 10, c->x = 1
after b->x = 1: a equals c again: yes
"""

n = native([prog])
check(n.returncode == 0 and n.stdout == expected, "native run prints the program's facts")
t = Traced([prog])
check(t.proc.returncode == 0 and t.proc.stdout == n.stdout, "traced run prints the same")
tr = t.only_trace()

# Which block each global points at, from the heap graph.
r = analyze("referrers", tr, "--type", "Point")
check(r["matched"] == 4, "four Point blocks at exit (a and b share one): %d" % r["matched"])
by_global = {}
for tg in r["targets"]:
    check(tg["target"]["size"] == 32 and tg["kind"] == "still_reachable",
          "Point %s: 32 bytes, still reachable" % tg["target"]["address"])
    for x in tg["referrers"]:
        check(x["root"] is not None and x["root"]["kind"] == "global" and x["root"]["module"].endswith("01_identity"),
              "Point %s is referred to by a global of the sample: %s" % (tg["target"]["address"], x["root"]))
        by_global[x["root"]["symbol"]] = tg["target"]["address"]
check(sorted(by_global) == ["a", "b", "c", "d", "e"], "the referrers are exactly the globals a..e: %s" % sorted(by_global))
each = sorted(sorted(x["root"]["symbol"] for x in tg["referrers"]) for tg in r["targets"])
check(each == [["a", "b"], ["c"], ["d"], ["e"]], "one Point has the referrers a and b, the others one each: %s" % each)
check(by_global["a"] == by_global["b"], "a and b point at one block (identical)")
check(len({by_global[g] for g in "acde"}) == 4, "a, c, d and e point at four different blocks")

# aliases: the shared block is a's, with two referrers, the globals a and b.
al = analyze("aliases", tr, "--type", "Point")
check(len(al["shared"]) == 1, "one shared Point: %d" % len(al["shared"]))
sh = al["shared"][0]
check(sh["target"]["address"] == by_global["a"] and sh["target"]["type"] == "Point",
      "the shared block is the one a points at")
check(len(sh["referrers"]) == 2, "it has exactly two referrers: %d" % len(sh["referrers"]))
check(sorted((x["root"]["kind"], x["root"]["symbol"], x["root"]["symbol_offset"], x["block"], x["target_offset"])
             for x in sh["referrers"] if x["root"]) ==
      [("global", "a", 0, None, 0), ("global", "b", 0, None, 0)],
      "the referrers are the globals a and b themselves, pointing at the block's start")

# aliases: the equal Points are one group of duplicates: 4 blocks of 32 bytes,
# exactly the blocks of a, c, d and e.
check([(x["size"], x["count"]) for x in al["duplicates"]] == [(32, 4)],
      "one duplicates group of 4 blocks of 32 bytes: %s" % [(x["size"], x["count"]) for x in al["duplicates"]])
check(sorted(al["duplicates"][0]["blocks"]) == sorted(by_global[g] for g in "acde"),
      "the duplicates are the blocks of a, c, d and e (equal, not identical)")
