"""Concept 7, finding aliased slots (samples/07_aliased_slots.c): slots 0, 2,
4 of a 5-slot array share one Row block and slots 1, 3 another; `aliases`
must list exactly those two blocks with referrers at offsets 0, 16, 32 and
8, 24 of the array block at the snapshot "aliased", and no shared Row at the
snapshot "fixed", where each slot has its own copy."""
from hs import *

prog = sample("07_aliased_slots")
nat = native([prog])
check(nat.returncode == 0, "07_aliased_slots runs natively")
t = Traced([prog])
check(t.proc.returncode == 0, "07_aliased_slots runs under heapscope")
check(t.proc.stdout == nat.stdout, "stdout is the same traced and native")
out = nat.stdout.splitlines()
check(out[0] == "shared pairs: (0,2) (0,4) (1,3) (2,4)", "the program finds the pairs (0,2) (0,4) (1,3) (2,4)")
check(out[2] == "after writing through slot 0, the slots that read CHANGED: 0 2 4",
      "the bug: a write through slot 0 is seen through slots 2 and 4")
check(out[3] == "shared pairs: none" and out[4].endswith("CHANGED: 0"),
      "after the fix no slots are shared and a write changes only its own slot")
tr = t.only_trace()

# The array block itself, found by its tag.
arr = analyze("referrers", tr, "--snapshot", "aliased", "--type", "SlotArray")
check(arr["matched"] == 1 and arr["targets"][0]["target"]["size"] == 40, "one 40-byte SlotArray (5 slots)")
arr_addr = arr["targets"][0]["target"]["address"]
root = arr["targets"][0]["chains"][0]["root"]
check(root["kind"] == "global" and root["symbol"] == "g_slots", "the array is held by the global g_slots")

def shared_rows(snapshot):
    """{frozenset of (referrer block, offset)} of each Row block with two or more referrers."""
    al = analyze("aliases", tr, "--snapshot", snapshot, "--type", "Row")
    return al, [sorted((x["block"], x["offset"]) for x in s["referrers"]) for s in al["shared"]]

# Before the fix: exactly the two shared rows, referred to from the array slots.
al, groups = shared_rows("aliased")
check(sorted(groups) == sorted([[(arr_addr, 0), (arr_addr, 16), (arr_addr, 32)],
                                [(arr_addr, 8), (arr_addr, 24)]]),
      "aliased: one Row shared by offsets 0, 16, 32 and one by 8, 24 of the array: %s" % groups)
check(all(s["target"]["size"] == 32 and s["target"]["type"] == "Row" for s in al["shared"]),
      "both shared targets are 32-byte Row blocks")
check(len({s["target"]["address"] for s in al["shared"]}) == 2, "two distinct row blocks")
# Nothing else in the program's own blocks is shared (the untagged view agrees).
allal = analyze("aliases", tr, "--snapshot", "aliased")
mine = [s for s in allal["shared"] if any(x["block"] == arr_addr for x in s["referrers"])]
check(len(mine) == 2, "without --type too: exactly two blocks shared through the array")

# After the fix: no Row block has two referrers; the copies are equal, not identical.
al, groups = shared_rows("fixed")
check(groups == [], "fixed: no shared Row block: %s" % groups)
check(sorted(d["count"] for d in al["duplicates"] if d["size"] == 32) == [2, 2],
      "fixed: the copies are duplicates (equal contents, different blocks): 2 'even row', 2 'odd row'")
allal = analyze("aliases", tr, "--snapshot", "fixed")
check(not any(s["target"]["type"] == "Row" for s in allal["shared"]), "without --type too: no shared Row")
