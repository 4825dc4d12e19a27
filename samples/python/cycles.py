"""Cycles need a cycle collector (CONCEPTS.md, idea 8): two lists that hold
each other. After `del`, their refcounts do not fall to 0: each list is held
by the other. heapscope's `cycles` finds the two lists (and their item
arrays) as a cycle whose refcounts the cycle alone explains: garbage for the
cyclic collector; after `gc.collect()` it is gone. The collector is off
until then, so that it runs when the program says."""
import gc
import json

import heapscope

gc.disable()
a = []
b = [a]
a.append(b)
ids = [id(a), id(b)]
heapscope.snapshot("linked")
del a, b
heapscope.snapshot("dropped")
collected = gc.collect()
heapscope.snapshot("collected")
print(json.dumps({"ids": ids, "collected": collected}))
