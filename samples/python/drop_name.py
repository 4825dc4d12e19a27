"""Dropping a name does not destroy the object (CONCEPTS.md, idea 3): two
names for one list; `del a` drops one, and `b` still works (even grows the
list). heapscope sees the list live in both snapshots, with one referrer
and one count fewer after the `del`."""
import json
import sys

import heapscope

a = [1, 2]
b = a
before = sys.getrefcount(b) - 1
heapscope.snapshot("two_names")
del a
b.append(3)
after = sys.getrefcount(b) - 1
heapscope.snapshot("one_name")
print(json.dumps({"id": id(b), "before": before, "after": after, "b": b}))
