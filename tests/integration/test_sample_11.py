"""Concept 11, hunting a leak (samples/11_leak_hunt.c): a baseline snapshot,
500 LeakyItem objects appended to a global array and forgotten, a second
snapshot, then the array cleared and a third snapshot. `diff` by type of the
first two must put LeakyItem +500 first; `referrers --type LeakyItem` must
give, for each item, the chain global g_pending -> the array -> the item;
`diff` of the last two must show LeakyItem -500."""
from hs import *

prog = sample("11_leak_hunt")
nat = native([prog])
check(nat.returncode == 0, "11_leak_hunt runs natively")
t = Traced([prog])
check(t.proc.returncode == 0, "11_leak_hunt runs under heapscope")
check(t.proc.stdout == nat.stdout, "stdout is the same traced and native")
check(nat.stdout.splitlines() == [
    "baseline: 0 pending items",
    "after 500 requests: 500 pending items, 32000 bytes of items, array of 512 slots",
    "cleared: 0 pending items"], "the program: 500 items (64 bytes each) pending, then none")
tr = t.only_trace()

names = [s["name"] for s in analyze("summary", tr)["snapshots"]]
check(names[:3] == ["baseline", "leaked", "cleared"], "snapshots baseline, leaked, cleared: %s" % names)

def rows(d):
    return [(x["key"], x["count_before"], x["count_after"], x["count_delta"], x["bytes_delta"]) for x in d["rows"]]

# 1. What grew between the first two snapshots? LeakyItem, first.
d = analyze("diff", tr, "baseline", "leaked")
check(d["by"] == "type" and d["from"] == "baseline" and d["to"] == "leaked", "diff baseline -> leaked, by type")
check(rows(d)[0] == ("LeakyItem", 0, 500, 500, 500 * 64),
      "first row: LeakyItem 0 -> 500, +500, +32000 bytes: %s" % (rows(d)[:1],))
check(rows(d) == [("LeakyItem", 0, 500, 500, 32000), ("remember()", 0, 1, 1, 512 * 8)],
      "and nothing else grew but the untagged array, keyed by its allocating function remember(): %s" % rows(d))
check(rows(analyze("diff", tr, "0", "1")) == rows(d), "the same diff by snapshot index 0 -> 1")

# 2. Who holds them? The chain from the global array.
line = marker_line("11_leak_hunt.c", "item = calloc(1, sizeof *item)")
r = analyze("referrers", tr, "--snapshot", "leaked", "--type", "LeakyItem", "--limit", "500")
check(r["matched"] == 500 and len(r["targets"]) == 500, "500 LeakyItem blocks match, all listed")
array = None
offsets = set()
for tg in r["targets"]:
    if tg["kind"] != "still_reachable" or tg["target"]["size"] != 64:
        fail("a LeakyItem that is not a 64-byte still reachable block: %s" % tg["target"]["address"])
    if len(tg["referrers"]) != 1 or tg["referrers"][0]["root"] is not None:
        fail("a LeakyItem with other referrers than the array: %s" % tg["referrers"])
    ch = tg["chains"][0]
    if ch["root"]["kind"] != "global" or ch["root"]["symbol"] != "g_pending" or len(ch["path"]) != 2:
        fail("a LeakyItem whose shortest chain is not g_pending -> array -> item: %s" % ch)
    arr, item = ch["path"]
    array = array or arr["address"]
    if arr["address"] != array or arr["size"] != 4096 or item["address"] != tg["target"]["address"]:
        fail("a chain through another block: %s" % ch)
    if tg["referrers"][0]["block"]["address"] != array or tg["referrers"][0]["offset"] != item["offset"]:
        fail("the direct referrer is not the array slot of the chain: %s" % tg["referrers"])
    offsets.add(item["offset"])
check(True, "every LeakyItem: held only by the 4096-byte array, chain global g_pending -> array -> item")
check(offsets == set(range(0, 500 * 8, 8)), "the items sit in the array's first 500 slots (offsets 0..3992)")
top = r["targets"][0]["target"]["stack"][0]
check((top["function"], top["line"]) == ("handle_request", line),
      "the items were allocated in handle_request, line %d" % line)
fn = [f["function"] for f in r["targets"][0]["referrers"][0]["block"]["stack"]]
check(fn[:2] == ["remember", "handle_request"], "the array was allocated in remember(), called by handle_request()")

# 3. The fix: the last two snapshots, LeakyItem -500.
d = analyze("diff", tr, "leaked", "cleared")
check(rows(d)[0] == ("LeakyItem", 500, 0, -500, -32000),
      "diff leaked -> cleared: first row LeakyItem 500 -> 0, -500, -32000 bytes: %s" % (rows(d)[:1],))
check(rows(d) == [("LeakyItem", 500, 0, -500, -32000), ("remember()", 1, 0, -1, -4096)],
      "and the array is gone too: %s" % rows(d))
