"""Sample 04_aliased_rows (docs/CONCEPTS.md, idea 4: the aliased-rows matrix
bug): the program prints both matrices after writing [0][0]; `aliases`
shows the buggy matrix's one row block with three referrers, at offsets 0,
8 and 16 of the BuggyMatrix block, and the fixed matrix's three rows with
one referrer each, its own slot."""
from hs import *

prog = sample("04_aliased_rows")
expected = """buggy:
  row 0: 5 0 0
  row 1: 5 0 0
  row 2: 5 0 0
fixed:
  row 0: 5 0 0
  row 1: 0 0 0
  row 2: 0 0 0
buggy rows 0 and 1 are the same row: yes
buggy rows 1 and 2 are the same row: yes
fixed rows 0 and 1 are the same row: no
fixed rows 1 and 2 are the same row: no
a row pointer takes 8 bytes, so the slots are at offsets 0, 8, 16
"""

n = native([prog])
check(n.returncode == 0 and n.stdout == expected, "native run prints both matrices: the buggy one has 5 in every row")
t = Traced([prog])
check(t.proc.returncode == 0 and t.proc.stdout == n.stdout, "traced run prints the same")
tr = t.only_trace()

def outer(type_, symbol):
    """The address of a matrix's outer block, held by the global SYMBOL."""
    r = analyze("referrers", tr, "--type", type_)
    check(r["matched"] == 1, "one %s block" % type_)
    tg = r["targets"][0]
    refs = [(x["root"]["kind"], x["root"]["symbol"]) for x in tg["referrers"] if x["root"]]
    check(tg["target"]["size"] == 24 and refs == [("global", symbol)] and len(tg["referrers"]) == 1,
          "%s: 24 bytes (3 row pointers), held by the global %s alone: %s" % (type_, symbol, refs))
    return tg["target"]["address"]

buggy = outer("BuggyMatrix", "buggy")
fixed = outer("FixedMatrix", "fixed")

# The bug: one BuggyRow block, shared from the three slots of the buggy matrix.
al = analyze("aliases", tr, "--type", "BuggyRow")
check(len(al["shared"]) == 1, "one shared BuggyRow block: %d" % len(al["shared"]))
sh = al["shared"][0]
check(sh["target"]["type"] == "BuggyRow" and sh["target"]["size"] == 12, "the row: 12 bytes (3 ints)")
got = sorted((x["block"], x["offset"], x["target_offset"]) for x in sh["referrers"])
check(got == [(buggy, 0, 0), (buggy, 8, 0), (buggy, 16, 0)] and all(x["root"] is None for x in sh["referrers"]),
      "it has 3 referrers: offsets 0, 8 and 16 of the BuggyMatrix block: %s" % got)
r = analyze("referrers", tr, "--type", "BuggyRow")
check(r["matched"] == 1, "there is only one BuggyRow block: the three rows are one")

# The fix: three FixedRow blocks, none shared, each held by its own slot.
al = analyze("aliases", tr, "--type", "FixedRow")
check(al["shared"] == [], "no FixedRow block has two referrers")
r = analyze("referrers", tr, "--type", "FixedRow")
check(r["matched"] == 3, "three FixedRow blocks: %d" % r["matched"])
slots = {}
for tg in r["targets"]:
    refs = [(x["block"]["address"] if x["block"] else None, x["offset"]) for x in tg["referrers"]]
    check(len(refs) == 1 and refs[0][0] == fixed,
          "FixedRow %s has exactly one referrer, a slot of the FixedMatrix block: %s" % (tg["target"]["address"], refs))
    slots[refs[0][1]] = tg["target"]["address"]
check(sorted(slots) == [0, 8, 16], "the three rows sit in the slots at offsets 0, 8 and 16")

# Equal, not identical: the buggy row and fixed row 0 both hold 5 0 0; fixed
# rows 1 and 2 both hold 0 0 0.
al = analyze("aliases", tr)
groups = sorted(sorted(x["blocks"]) for x in al["duplicates"] if x["size"] == 12)
check(groups == sorted([sorted([sh["target"]["address"], slots[0]]), sorted([slots[8], slots[16]])]),
      "duplicates of 12 bytes: {buggy row, fixed row 0} and {fixed row 1, fixed row 2}: %s" % groups)
