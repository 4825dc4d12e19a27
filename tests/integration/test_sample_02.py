"""Sample 02_refcount_trace (docs/CONCEPTS.md, idea 2: tracing a reference
count): the program prints the counts 1, 3, 2, 1; `refs --type Widget` gives
the five events new 1, retain 2, retain 3, release 2, release 1 in order,
each with the stack of the function that made it, at its line."""
import os
from hs import *

SRC = "02_refcount_trace.c"
prog = sample("02_refcount_trace")
expected = """after creating the widget: count 1
after storing it in a second variable and in a box: count 3
the three references are one object: yes
after dropping the second variable: count 2
after clearing the box: count 1
still alive, id 7
"""

n = native([prog])
check(n.returncode == 0 and n.stdout == expected, "native run prints the counts 1, 3, 2, 1")
t = Traced([prog])
check(t.proc.returncode == 0 and t.proc.stdout == n.stdout, "traced run prints the same")
tr = t.only_trace()

r = analyze("refs", tr, "--type", "Widget")
check(len(r["objects"]) == 1, "one Widget object: %d" % len(r["objects"]))
w = r["objects"][0]
check(w["type"] == "Widget" and w["alive"] is True and w["count"] == 1,
      "the Widget is alive at the end with count 1 (the global `widget` holds it)")

events = [(e["op"], e["count"]) for e in w["events"]]
check(events == [("new", 1), ("retain", 2), ("retain", 3), ("release", 2), ("release", 1)],
      "events in order: new 1, retain 2, retain 3, release 2, release 1: %s" % events)
seqs = [e["seq"] for e in w["events"]]
check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "the events are listed in the order they happened")

want = [("make_widget", "EVENT_NEW"), ("keep_in_variable", "EVENT_RETAIN_VARIABLE"),
        ("put_in_box", "EVENT_RETAIN_BOX"), ("drop_variable", "EVENT_RELEASE_VARIABLE"),
        ("clear_box", "EVENT_RELEASE_BOX")]
for e, (fn, marker) in zip(w["events"], want):
    got = top(e["stack"])
    check(got == (fn, SRC, marker_line(SRC, marker)),
          "%s %d was made by %s() at %s:%d: %s" % (e["op"], e["count"], fn, SRC, marker_line(SRC, marker), got))
    check(len(e["stack"]) > 1 and e["stack"][1]["function"] == "main", "... called from main")

# The one reference still open is the one make_widget created (held by the
# global `widget`).
un = [u for u in r["unreleased"] if u["type"] == "Widget"]
check(len(un) == 1 and un[0]["references"] == 1 and top(un[0]["stack"]) == ("make_widget", SRC, marker_line(SRC, "EVENT_NEW")),
      "one Widget reference left unreleased, the one from make_widget: %s" % [(u["references"], top(u["stack"])) for u in un])

# And the heap graph agrees: at exit only the global `widget` points at it
# (other and box->item were cleared).
rf = analyze("referrers", tr, "--addr", w["address"])
refs = rf["targets"][0]["referrers"]
check([(x["root"]["kind"], x["root"]["symbol"]) for x in refs if x["root"]] == [("global", "widget")] and len(refs) == 1,
      "its only referrer at exit is the global widget: %s" % [(x["root"], x["block"]) for x in refs])
