"""Concept 9, a cache of weak references (samples/09_weak_cache.c): a cache
holds weak references to two Picture objects; dropping the last strong
reference to one frees it and the cache no longer finds it; then the other.
`refs` must show, for each Picture, new (1), weak_new, release to 0, then
weak_clear and free, in that order, and no retain at all: the weak
references never changed a count and were cleared when the object died."""
from hs import *

prog = sample("09_weak_cache")
nat = native([prog])
check(nat.returncode == 0, "09_weak_cache runs natively")
t = Traced([prog])
check(t.proc.returncode == 0, "09_weak_cache runs under heapscope")
check(t.proc.stdout == nat.stdout, "stdout is the same traced and native")
out = nat.stdout.splitlines()
check(out[0] == "cached 2 pictures; sunset count 1 before caching, 1 after",
      "the program: caching does not change the count")
check(out[3:6] == ["dropped sunset: count 0", "  cache: sunset not found (freed)", "  cache: harbour found, count 1"],
      "the program: after dropping sunset the cache misses it and still finds harbour")
check(out[6:9] == ["dropped harbour: count 0", "  cache: sunset not found (freed)", "  cache: harbour not found (freed)"],
      "the program: after dropping harbour the cache finds neither")
tr = t.only_trace()

refs = analyze("refs", tr, "--type", "Picture")
objs = refs["objects"]
check(len(objs) == 2, "two Picture objects")
check(refs["totals"]["by_op"]["retain"] == 0, "no retain event at all: the cache never took a strong reference")
drop_lines = [marker_line("09_weak_cache.c", "hs_rc_release(g_owner[%d])" % i) for i in (0, 1)]
put_line = marker_line("09_weak_cache.c", "g_cache[slot].ref = hs_weak_new(p)")
# the objects in the order they were made (by the seq of their first event)
objs.sort(key=lambda o: o["events"][0]["seq"])
for o, name, drop in zip(objs, ("sunset", "harbour"), drop_lines):
    ev = o["events"]
    ops = [e["op"] for e in ev]
    check(ops == ["new", "weak_new", "release", "weak_clear", "free"],
          "%s: new, weak_new, release, weak_clear, free: %s" % (name, ops))
    check(ev[0]["count"] == 1 and ev[2]["count"] == 0 and ev[4]["count"] == 0,
          "%s: count 1 at new, 0 at its one release (the weak reference added nothing)" % name)
    check(ev[1]["stack"][0]["function"] == "cache_put" and ev[1]["stack"][0]["line"] == put_line,
          "%s: the weak reference was made in cache_put (line %d)" % (name, put_line))
    check(all(e["stack"][0]["function"] == "main" and e["stack"][0]["line"] == drop for e in ev[2:]),
          "%s: release, weak_clear and free all happen at the drop in main (line %d)" % (name, drop))
    check(not o["alive"] and o["count"] == 0 and o["balanced"], "%s: freed, balanced" % name)
# sunset died, and its weak reference was cleared, before anything happened to harbour
check(objs[0]["events"][4]["seq"] < objs[1]["events"][2]["seq"],
      "sunset was freed (and its weak reference cleared) before harbour was dropped")

lk = analyze("leaks", tr)
check(lk["summary"]["definitely_lost"]["blocks"] == 0 and lk["summary"]["indirectly_lost"]["blocks"] == 0,
      "nothing lost at exit: the pictures, the weak handles and their control blocks are all freed")
check(not any(r["type"] == "Picture" for r in lk["records"]), "no Picture alive at exit")
