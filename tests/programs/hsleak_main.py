"""Drives the hsleak extension: a Kept object held by a global and, once
more, by hold() (nowhere); then leak(N) Widgets. A snapshot "leaked"; prints
what Python says of the Kept object, as JSON.

Before the leak, N one-item lists are made and dropped: each goes to
CPython's list free list, dead, still pointing at its item array, which
malloc gives next to a Widget (the same size). Those stale words are no
references: the Widgets stay lost."""
import json
import sys

import heapscope
import hsleak


class Kept:
    pass


def main(n):
    hsleak.hold(kept)
    rows = [[i] for i in range(n)]
    del rows
    hsleak.leak(n)


kept = Kept()
main(int(sys.argv[1]))
heapscope.snapshot("leaked")
print(json.dumps({"kept": id(kept), "refcount": sys.getrefcount(kept) - 1}))
