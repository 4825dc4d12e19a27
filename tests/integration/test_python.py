"""Unmodified CPython (/usr/bin/python3) seen as Python objects: under
`heapscope run` it runs with PYTHONMALLOC=malloc (said in one line), the
heapscope module takes snapshots from Python, each object block has its
Python type's name (the program's own classes too) and the blocks objects
own theirs ("list items", "dict values"), `diff --by type` counts classes,
`referrers --type` shows the chain from the list that holds them, and the
pygc rule (a pointer past PyGC_Head) keeps live objects from being
"possibly lost". samples/python/leak_hunt.py: N Gizmo in a global list."""
import os
from hs import *

N = 700
script = os.path.join(os.environ["SAMPLE_SOURCES"], "python", "leak_hunt.py")
env = dict(os.environ)
env.pop("PYTHONMALLOC", None)
t = Traced(["/usr/bin/python3", script, str(N)], base_env=env)
check(t.proc.returncode == 0 and t.proc.stdout == "%d True\n" % N,
      "leak_hunt.py runs, traced, and its heapscope module is found: %r %s" % (t.proc.stdout, t.proc.stderr[-300:]))
notes = [l for l in t.proc.stderr.splitlines() if "PYTHONMALLOC=malloc" in l]
check(len(notes) == 1, "one line says CPython runs with PYTHONMALLOC=malloc: %s" % notes)
trace = t.only_trace()

d = analyze("diff", trace, "before", "after", "--by", "type")
rows = {r["key"]: r for r in d["rows"]}
check("Gizmo" in rows and rows["Gizmo"]["count_delta"] == N and rows["Gizmo"]["count_before"] == 0,
      "diff --by type: Gizmo grew by exactly %d, from 0: %s" % (N, rows.get("Gizmo")))
check("dict values" in rows and rows["dict values"]["count_delta"] >= N,
      "each Gizmo's attribute values are a block named 'dict values' (+%s)"
      % rows.get("dict values", {}).get("count_delta"))
check(not any(k.startswith("PyType_GenericAlloc") for k in rows if rows[k]["count_delta"] >= N),
      "no anonymous PyType_GenericAlloc() row grew by %d: the objects are typed" % N)

r = analyze("referrers", trace, "--type", "Gizmo", "--snapshot", "after")
check(r["matched"] == N, "referrers --type Gizmo finds the %d Gizmo (%d)" % (N, r["matched"]))
WANT = ["dict", "dict keys", "list", "list items", "Gizmo"]
via_list = [tg for tg in r["targets"]
            if any([step.get("type") for step in c["path"]][-5:] == WANT for c in tg["chains"])]
others = [[[step.get("type") for step in c["path"]] for c in tg["chains"]] for tg in r["targets"]
          if tg not in via_list]
check(r["targets"] and len(via_list) == len(r["targets"]),
      "each Gizmo listed (%d) has a chain dict -> dict keys -> list -> list items -> Gizmo (the module's "
      "globals, the registry list, its items); the others: %s" % (len(r["targets"]), others))

leaks = analyze("leaks", trace, "--snapshot", "after")
giz = [x for x in leaks["records"] if x.get("type") == "Gizmo"]
check(sum(x["blocks"] for x in giz) == N and all(x["kind"] == "still_reachable" for x in giz),
      "the %d live Gizmo are still reachable, none possibly lost: %s"
      % (N, [(x["kind"], x["blocks"]) for x in giz]))
check(all(x.get("via") in (None, "pygc") for x in giz),
      "reached through the pygc rule where through an interior pointer: %s" % [x.get("via") for x in giz])
typed_lost = [(x["type"], x["kind"], x["blocks"]) for x in leaks["records"]
              if x.get("type") and x["kind"] != "still_reachable"]
check(typed_lost == [], "no Python object nor storage one owns is possibly lost (an instance's values are reached "
      "past their prefix, dead objects on free lists past their PyGC_Head): %s" % typed_lost[:10])
without = analyze("leaks", trace, "--snapshot", "after", "--heuristics", "none")
giz_none = sum(x["blocks"] for x in without["records"] if x.get("type") == "Gizmo" and x["kind"] == "possibly_lost")
# (a stray word in a root may hold a Gizmo's block start: the conservative
# scan reaches that one without the rule, as valgrind would)
check(giz_none >= N - 5, "without the rule the Gizmo are possibly lost (%d of %d): the rule is what reaches them"
      % (giz_none, N))

# A CPython of a version whose layout heapscope does not know (a program that
# exports PyType_Type and Py_Version 3.15): one line says so, and the C view
# is whole (its 100 leaked bytes definitely lost).
t = Traced([program("fake_python")])
lines = [l for l in t.proc.stderr.splitlines() if "CPython" in l]
check(t.proc.returncode == 0 and lines == ["heapscope: CPython 3.15: its layout is not one heapscope knows; its "
                                           "objects are not typed (the C view is whole)"],
      "an unknown CPython version: one line: %s" % lines)
s, _ = leak_summary(t.only_trace())
check(s.get("definitely_lost") == (100, 1), "its C view is whole: 100 bytes in 1 block definitely lost: %s" % s)

# A snapshot not scanned (the peak's) types the objects but has no OBJECTS
# records (refcounts, the hashes of lists' and tuples' items): what reads them
# (refs, aliases) reads the heap graph too. 300,000 distinct tuples held at
# the peak made a trace of 4.5 MB with those hashes, 320 kB with the
# refcounts alone, 256 kB without either.
env["PYTHONMALLOC"] = "malloc"
t = Traced(["/usr/bin/python3", "-c", "x = [(i, i + 1) for i in range(300000)]"], base_env=env)
trace = t.only_trace()
size = os.path.getsize(trace)
d = analyze("diff", trace, "peak", "exit", "--by", "type")
tuples = {r["key"]: r for r in d["rows"]}.get("tuple", {}).get("count_before", 0)
check(t.proc.returncode == 0 and tuples >= 150000 and size < 300000,
      "the peak snapshot's %d tuples (of 300,000: it holds at least half) are typed, and the trace "
      "is under 300 kB (%d bytes)" % (tuples, size))
