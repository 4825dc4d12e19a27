"""Identity against equality (CONCEPTS.md, idea 1): `b = a` names one list
twice (`a is b`); `c` is a second list with equal items (`a == c`, not
`a is c`). Prints what Python says, as JSON, after a snapshot "names".
heapscope's `aliases` sees the same in the native heap: a's list object has
two referrers (two entries of the module's globals), and a and c are equal
lists, not one."""
import json
import sys

import heapscope

a = [1, 2, 3]
b = a
c = [1, 2, 3]
heapscope.snapshot("names")
print(json.dumps({"a_is_b": a is b, "a_eq_c": a == c, "a_is_c": a is c, "a": id(a), "c": id(c),
                  "refcount_a": sys.getrefcount(a) - 1, "refcount_c": sys.getrefcount(c) - 1}))
