"""Drives the hsleak extension: a Kept object held by a global and, once
more, by hold() (nowhere); then leak(N) Widgets. A snapshot "leaked"; prints
what Python says of the Kept object, as JSON."""
import json
import sys

import heapscope
import hsleak


class Kept:
    pass


def main(n):
    hsleak.hold(kept)
    hsleak.leak(n)


kept = Kept()
main(int(sys.argv[1]))
heapscope.snapshot("leaked")
print(json.dumps({"kept": id(kept), "refcount": sys.getrefcount(kept) - 1}))
