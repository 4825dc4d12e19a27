"""Sample 05_mutation_args (docs/CONCEPTS.md, idea 5: mutation through a
function argument): the program's own facts (the caller sees the append,
not the rebinding; the copy is equal but not the same block); inside rebind
the function's new block is held by its own stack slot only; at exit
`referrers` gives the caller's buffer exactly one referrer, the global buf,
and the copy is a distinct block, held by the global copy, listed with the
buffer as duplicates."""
from hs import *

prog = sample("05_mutation_args")
expected = """after append: buf reads "hello, world" (12 chars)
inside rebind: b reads "something else"
after rebind: buf reads "hello, world"; buf still points at the same block: yes
copy is buf: no; copy equals buf: yes
after changing the copy: buf reads "hello, world", copy reads "Jello, world"
"""

n = native([prog])
check(n.returncode == 0 and n.stdout == expected, "native run prints the program's facts")
t = Traced([prog])
check(t.proc.returncode == 0 and t.proc.stdout == n.stdout, "traced run prints the same")
tr = t.only_trace()
pid = analyze("summary", tr)["pid"]

def roots(tg):
    return [(x["root"]["kind"], x["root"]["symbol"]) if x["root"] else ("block", x["block"]["address"])
            for x in tg["referrers"]]

# Inside rebind: two Buffers. The caller's, held by the global buf (and by
# main's local `before`, on the stack); the function's new one, held only by
# rebind's local b, on the stack, deeper than main's frame.
r = analyze("referrers", tr, "--snapshot", "in_rebind", "--type", "Buffer")
check(r["matched"] == 2, "inside rebind there are two Buffer blocks: %d" % r["matched"])
callers = [tg for tg in r["targets"] if ("global", "buf") in roots(tg)]
check(len(callers) == 1, "one of them is held by the global buf")
caller = callers[0]
local = [tg for tg in r["targets"] if tg is not caller][0]
check(sorted(roots(caller)) == [("global", "buf"), ("stack", None)],
      "the caller's buffer: the global buf and main's local `before`: %s" % roots(caller))
check(roots(local) == [("stack", None)] and local["referrers"][0]["root"]["tid"] == pid,
      "the new block: held only from the main thread's stack (rebind's local b): %s" % roots(local))
main_slot = [x["root"]["address"] for x in caller["referrers"] if x["root"]["kind"] == "stack"][0]
check(int(local["referrers"][0]["root"]["address"], 16) < int(main_slot, 16),
      "rebind's slot is below main's (a deeper frame)")
check(local["target"]["address"] != caller["target"]["address"], "the two are different blocks")
buf_addr = caller["target"]["address"]

# At exit: the caller's buffer has one referrer, the global buf; the copy is
# another block, held by the global copy. rebind's block was freed.
r = analyze("referrers", tr, "--type", "Buffer")
check(r["matched"] == 2, "at exit there are two Buffer blocks (buf and its copy): %d" % r["matched"])
by_root = {tuple(roots(tg)): tg["target"]["address"] for tg in r["targets"]}
check(sorted(by_root) == [(("global", "buf"),), (("global", "copy"),)],
      "each has exactly one referrer: the global buf, the global copy: %s" % sorted(by_root))
check(by_root[(("global", "buf"),)] == buf_addr, "buf still points at the block it had before the calls")
copy_addr = by_root[(("global", "copy"),)]
check(copy_addr != buf_addr, "the copy is a distinct block")

al = analyze("aliases", tr, "--type", "Buffer")
check(al["shared"] == [], "no Buffer is shared")
check([(x["size"], x["count"], sorted(x["blocks"])) for x in al["duplicates"]] == [(64, 2, sorted([buf_addr, copy_addr]))],
      "duplicates: buf's block and the copy, 64 bytes each, equal contents")
