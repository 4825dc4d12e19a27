"""The leak hunt, in Python: a class whose instances pile up in a global
list. Under `heapscope run`, snapshots before and after; `heapscope diff
--by type` says Gizmo grew by exactly N, and `heapscope referrers --type
Gizmo` shows the chain that holds them: the global list, its items, the
Gizmo. Prints N and whether it was traced."""
import sys

import heapscope


class Gizmo:
    def __init__(self, n):
        self.n = n


registry = []
N = int(sys.argv[1]) if len(sys.argv) > 1 else 700

heapscope.snapshot("before")
for i in range(N):
    registry.append(Gizmo(i))
heapscope.snapshot("after")
print(N, heapscope.traced())
