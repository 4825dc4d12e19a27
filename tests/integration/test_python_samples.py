"""samples/python/: one Python program per idea of CONCEPTS.md, run under
unmodified /usr/bin/python3 with `heapscope run`; each prints what Python
says (ids, `is`, sys.getrefcount(x) - 1, what a weak reference returns) and
the analyzer, reading only the native heap, must say the same. Then the
hsleak C extension (tests/programs/hsleak.c), which leaks references as a
missing Py_DECREF does.

Referrers are compared by who holds them: the module's globals (a dict's
keys block) or a list's items. The scan is conservative: a word the
interpreter left behind (in a live frame, in memory it reuses without
clearing) may still hold an object's address, as a root or in a block of
another kind. Refcounts are read from each object's header at the
snapshot: exact."""
import json
import os
from hs import *

SAMPLES = os.path.join(os.environ["SAMPLE_SOURCES"], "python")
env = dict(os.environ)
env.pop("PYTHONMALLOC", None)


def traced(script, *args, extra_env=None):
    e = dict(env, **(extra_env or {}))
    t = Traced(["/usr/bin/python3"] + [script] + list(args), base_env=e)
    check(t.proc.returncode == 0, "%s runs traced: %s" % (os.path.basename(script), t.proc.stderr[-400:]))
    return t.only_trace(), json.loads(t.proc.stdout.splitlines()[-1])


def target(aliases, obj):
    got = [t for t in aliases["shared"] if t["target"].get("object") == hex(obj)]
    return got[0] if got else None


def holders(trace, snap, obj, kind):
    """(block address, offset) of each referrer of object obj that is a
    block of type kind ("dict keys": the module's globals; "list items")."""
    r = analyze("referrers", trace, "--snapshot", snap, "--addr", hex(obj))
    if not r["targets"]:
        return None
    return sorted((x["block"]["address"], x["offset"]) for x in r["targets"][0]["referrers"]
                  if x["block"] and x["block"]["type"] == kind)


def block_referrers(t):
    """(block address, offset) of each referrer that is a block (referrers
    gives the block whole, aliases its address)."""
    return sorted((r["block"]["address"] if isinstance(r["block"], dict) else r["block"], r["offset"])
                  for r in t["referrers"] if r["block"])


# 1: identity against equality
trace, py = traced(os.path.join(SAMPLES, "identity.py"))
check(py["a_is_b"] and py["a_eq_c"] and not py["a_is_c"], "identity.py: a is b, a == c, not a is c: %s" % py)
al = analyze("aliases", trace, "--snapshot", "names", "--type", "list", "--limit", "100000")
ta = target(al, py["a"])
refs_a = holders(trace, "names", py["a"], "dict keys")
check(ta and ta["target"]["type"] == "list" and len(refs_a) == 2 and refs_a[0][0] == refs_a[1][0],
      "aliases: a's list (id %#x) is shared; two referrers are entries of one block (the globals): %s"
      % (py["a"], refs_a))
refs_c = holders(trace, "names", py["c"], "dict keys")
check(refs_c and len(refs_c) == 1 and refs_c[0][0] == refs_a[0][0],
      "c's list has one referrer in the globals: %s" % refs_c)
groups = [set(g["blocks"]) for g in al["duplicates"]]
pair = {hex(py["a"] - 16), hex(py["c"] - 16)}
check(any(pair <= g for g in groups), "a and c are listed as duplicates (equal, not identical): %s" % pair)
for name in ("a", "c"):
    r = analyze("refs", trace, "--snapshot", "names", "--addr", hex(py[name]))["python"]["objects"]
    check(len(r) == 1 and r[0]["refcount"] == py["refcount_" + name],
          "refs: %s's refcount is %d, as sys.getrefcount says: %s" % (name, py["refcount_" + name], r))

# 2, 6: where refcounts come from
trace, py = traced(os.path.join(SAMPLES, "refcounts.py"))
check(py["counts"] == [1, 2, 3, 4, 3, 2, 1], "refcounts.py: Python says 1 2 3 4 3 2 1: %s" % py["counts"])
seen = []
for step in ("named", "in_list", "in_dict", "aliased", "unaliased", "dict_cleared", "list_cleared"):
    objs = analyze("refs", trace, "--snapshot", step, "--type", "Tracked")["python"]["objects"]
    seen.append(objs[0]["refcount"] if len(objs) == 1 and objs[0]["object"] == hex(py["id"]) else None)
check(seen == py["counts"], "refs at each step's snapshot: the Tracked object's refcount %s = Python's %s"
      % (seen, py["counts"]))

# 3: dropping a name
trace, py = traced(os.path.join(SAMPLES, "drop_name.py"))
check((py["before"], py["after"], py["b"]) == (2, 1, [1, 2, 3]), "drop_name.py: 2, then 1; b works: %s" % py)
counts = []
for snap in ("two_names", "one_name"):
    g = holders(trace, snap, py["id"], "dict keys")
    rc = analyze("refs", trace, "--snapshot", snap, "--addr", hex(py["id"]))["python"]["objects"]
    counts.append((len(g) if g is not None else None, rc[0]["refcount"] if rc else None,
                   rc[0]["type"] if rc else None))
check(counts == [(2, 2, "list"), (1, 1, "list")],
      "the list stays live: 2 referrers and refcount 2, then 1 and 1 after `del a`: %s" % counts)

# 4, 7: aliased rows
trace, py = traced(os.path.join(SAMPLES, "aliased_rows.py"))
check(py["bad_rows_one"] and py["bad"] == [[1, 0, 0]] * 3 and py["good"] == [[1, 0, 0], [0, 0, 0], [0, 0, 0]],
      "aliased_rows.py: one write shows in every bad row, in one good row: %s" % py)
al = analyze("aliases", trace, "--snapshot", "rows", "--type", "list", "--limit", "100000")
rb = holders(trace, "rows", py["bad_row"], "list items")
check(target(al, py["bad_row"]) and [o for _, o in rb] == [0, 8, 16] and len({b for b, _ in rb}) == 1,
      "aliases: the bad row is shared: offsets 0, 8, 16 of one list's items (the outer list's): %s" % rb)
good = [holders(trace, "rows", g, "list items") for g in py["good_rows"]]
check([[o for _, o in g] for g in good] == [[0], [8], [16]] and len({g[0][0] for g in good}) == 1,
      "each good row is held once, at 0, 8 and 16 of the good outer list's items: %s" % good)

# 8: cycles
trace, py = traced(os.path.join(SAMPLES, "cycles.py"))
check(py["collected"] == 2, "cycles.py: gc.collect() finds the 2 lists: %s" % py)
objs = {hex(i) for i in py["ids"]}


def list_cycle(snap):
    cy = analyze("cycles", trace, "--snapshot", snap)["cycles"]
    return [c for c in cy if objs & {m.get("object") for m in c["members"]}]


linked, dropped, collected = list_cycle("linked"), list_cycle("dropped"), list_cycle("collected")
check(len(linked) == 1 and linked[0]["kept_alive_by_cycle_only"] is False,
      "while named, the two lists' cycle is not what keeps them (each count 2, 1 from the cycle): %s"
      % [(c["blocks"], c["kept_alive_by_cycle_only"]) for c in linked])
d = dropped[0] if len(dropped) == 1 else {}
lists = [m for m in d.get("members", []) if m["type"] == "list"]
check(d.get("blocks") == 4 and sorted(d.get("types", [])) == ["list", "list items"] and d["refcounted"]
      and d["kept_alive_by_cycle_only"] is True and d["refcount_exceeds_references"] == 0 and
      [(m["count"], m["references_from_cycle"]) for m in lists] == [(1, 1), (1, 1)],
      "after del: a cycle of the 2 lists and their 2 item arrays, each count 1 explained by the cycle: %s"
      % [(c["blocks"], c["types"], c["kept_alive_by_cycle_only"]) for c in dropped])
check(collected == [], "after gc.collect() the cycle is gone")

# 9, 10: weak references
trace, py = traced(os.path.join(SAMPLES, "weak.py"))
check(py["alive"] and py["after_del"] and py["refcount"] == 1, "weak.py: the weak reference returns the node, "
      "then None: %s" % py)
r = analyze("referrers", trace, "--snapshot", "alive", "--addr", hex(py["node"]))
t = r["targets"][0]
weak_block = hex(py["ref"] - 16)
g = holders(trace, "alive", py["node"], "dict keys")
check(len(g) == 1 and weak_block not in [b for b, _ in block_referrers(t)],
      "the node's referrer is the globals; the weak reference (%s) is none: %s" % (weak_block, block_referrers(t)))
rc = analyze("refs", trace, "--snapshot", "alive", "--addr", hex(py["node"]))["python"]["objects"]
check(rc and rc[0]["refcount"] == 1 and rc[0]["type"] == "Node", "refs: the node's refcount is 1: %s" % rc)
r = analyze("refs", trace, "--snapshot", "dropped", "--type", "Node")["python"]
check(r["matched"] == 0, "after del the node is freed (no Node object): %d" % r["matched"])
d = analyze("diff", trace, "dropped", "trees", "--by", "type")
rows = {x["key"]: x["count_delta"] for x in d["rows"]}
check(rows.get("StrongNode") == 4 and "WeakNode" not in rows,
      "with strong parents the 4 nodes stay; with weak ones none: %s" % {k: rows.get(k) for k in ("StrongNode", "WeakNode")})
# Each node points at its class, which the interpreter's own big cycle
# holds: one stale word there pointing at a node (1 run in 12) merges the
# tree into that cycle. Each node's count is then still explained by the
# cycle; only the whole cycle's verdict is the tree's alone.
cy = [c for c in analyze("cycles", trace, "--snapshot", "trees", "--members", "1000000")["cycles"]
      if any(m["type"] == "StrongNode" for m in c["members"])]
nodes = [m for c in cy for m in c["members"] if m["type"] == "StrongNode"]
check(len(cy) == 1 and len(nodes) == 4 and sorted(m["count"] for m in nodes) == [1, 1, 1, 3] and
      all(m["count"] == m["references_from_cycle"] for m in nodes) and
      not any(m["type"] == "WeakNode" for m in cy[0]["members"]),
      "the strong tree's 4 nodes are in one cycle, each count (3 for the root) from the cycle: %s"
      % [(m["count"], m["references_from_cycle"]) for m in nodes])
check(cy and (cy[0]["blocks"] > 10 or cy[0]["kept_alive_by_cycle_only"] is True),
      "the tree alone (%s blocks) is kept alive by the cycle alone" % (cy and cy[0]["blocks"]))

# the hsleak extension: a missing Py_DECREF
N = 10
trace, py = traced(os.path.join(os.environ["TEST_SOURCES"], "hsleak_main.py"), str(N),
                   extra_env={"PYTHONPATH": os.environ["TEST_PROGRAMS"]})
w = analyze("refs", trace, "--snapshot", "leaked", "--type", "hsleak.Widget")["python"]
# (lost: definitely, or possibly when a stray word points into one, as
# valgrind would say; never reachable. hsleak_main.py drops N one-item lists
# first: dead on the list free list, each still points at its freed item
# array, which malloc gives to a Widget. valgrind calls those Widgets
# reachable; CPython does not count a dead object's words, nor does heapscope)
LOST = ("definitely_lost", "possibly_lost")
check(w["matched"] == N and w["exceeding"] == N and
      all((o["refcount"], o["references_found"], o["exceeds_by"]) == (1, 0, 1) and o["kind"] in LOST
          for o in w["objects"]),
      "refs: the %d leaked Widgets, each refcount 1 with no reference found, lost: %s"
      % (N, [(o["refcount"], o["references_found"], o["kind"]) for o in w["objects"]]))
fns = [f["function"] for f in w["objects"][0]["stack"]] if w["objects"] else []
mods = [f["module"] or "" for f in w["objects"][0]["stack"]] if w["objects"] else []
check(fns[:2] == ["_PyObject_New", "leak"] and "hsleak" in os.path.basename(mods[1]),
      "the allocating stack names leak() in the extension: %s" % list(zip(fns, mods))[:3])
k = analyze("refs", trace, "--snapshot", "leaked", "--type", "Kept")["python"]["objects"]
# (hold() was called in a frame popped since: its data stack above the top
# is no root, so the word that passed the object is not counted)
check(len(k) == 1 and k[0]["refcount"] == py["refcount"] == 2 and k[0]["kind"] == "still_reachable" and
      (k[0]["references_found"], k[0]["from_roots"], k[0]["exceeds_by"]) == (1, 0, 1),
      "the held Kept object: refcount 2 (as Python says), one reference found (the globals), 1 more than "
      "found: %s" % k)
lk = analyze("leaks", trace, "--snapshot", "leaked")
wl = [x for x in lk["records"] if x.get("type") == "hsleak.Widget"]
check(sum(x["blocks"] for x in wl) == N and all(x["kind"] in LOST for x in wl) and
      all(x["refcount_exceeds_references"] == x["blocks"] for x in wl),
      "leaks: the %d Widgets lost, each said to have a refcount above every reference found: %s" % (N, [(x["kind"], x["blocks"], x.get("refcount_exceeds_references")) for x in wl]))
