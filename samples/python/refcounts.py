"""Where a refcount comes from (CONCEPTS.md, ideas 2 and 6): one object is
stored in a name, a list slot, a dict value and a second name, then removed
from each; after each step the program prints `sys.getrefcount(x) - 1` (the
count without getrefcount's own argument) and takes a snapshot named for
the step. heapscope's `refs --snapshot STEP` reads the same count from the
object's header in the native heap: 1 2 3 4 3 2 1."""
import json
import sys

import heapscope


class Tracked:
    pass


x = Tracked()
in_list, in_dict = [], {}
counts = []


def step(name):
    counts.append(sys.getrefcount(x) - 1)
    heapscope.snapshot(name)


step("named")
in_list.append(x)
step("in_list")
in_dict["k"] = x
step("in_dict")
alias = x
step("aliased")
del alias
step("unaliased")
in_dict.clear()
step("dict_cleared")
in_list.clear()
step("list_cleared")
print(json.dumps({"id": id(x), "counts": counts}))
