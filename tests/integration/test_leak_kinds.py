"""Leak kinds against valgrind memcheck: for each classic shape built by
leak_shapes (a tree with cut subtrees, lost and kept rings, self-pointing
blocks, blocks held by interior pointers, lost and kept holders of start and
interior pointers, a 100,000-node lost list beside a kept one, a pool the
program took from the break itself (sbrk) holding blocks, a refcounted
random graph whose roots are all released), the `leaks` summary at exit has
exactly memcheck's bytes and blocks for each of the four kinds, and both have
what the program was designed to leave (written in leak_shapes.c).

memcheck runs with --leak-check-heuristics=none, so a pointer into the middle
of a block only ever makes it possibly lost."""
from hs import *

RC_OBJECT_BYTES = 64   # sizeof(struct obj) in leak_shapes.c
RC_SURVIVORS = 143     # what the fixed seed leaves alive (the program prints it)


# What each shape leaves at exit, by design (see the comments in leak_shapes.c).
# rcgraph is checked separately: how memcheck splits a lost graph into
# definitely and indirectly lost depends on the order of the blocks' addresses.
EXPECTED = {
    "tree": kinds(dl=(72, 3), il=(192, 8), sr=(480, 20)),
    "rings": kinds(dl=(96, 3), il=(288, 9), sr=(384, 12)),
    "self": kinds(dl=(96, 2), il=(48, 1), sr=(48, 1)),
    "interior": kinds(dl=(64, 1), pl=(192, 3), sr=(64, 1)),
    "holders": kinds(dl=(32, 1), il=(96, 2), pl=(48, 1), sr=(80, 2)),
    "lists": kinds(dl=(16, 1), il=(99999 * 16, 99999), sr=(100000 * 16, 100000)),
    "brk": kinds(dl=(16, 1), sr=(104, 3)),
}
SHAPES = list(EXPECTED) + ["rcgraph"]

def heapscope(argv):
    """Runs argv under heapscope: ({kind: (bytes, blocks)}, stdout)."""
    t = Traced(argv)
    if t.proc.returncode != 0:
        fail("%s exited %d under heapscope: %s" % (" ".join(argv), t.proc.returncode, t.proc.stderr))
    return leak_summary(t.only_trace())[0], t.proc.stdout


def lost(got):
    """(bytes, blocks) definitely or indirectly lost"""
    return tuple(got["definitely_lost"][i] + got["indirectly_lost"][i] for i in (0, 1))


for shape in SHAPES:
    argv = [program("leak_shapes"), shape]
    m = memcheck(argv, ["--leak-check-heuristics=none"])
    vg, vg_in_use, vg_out = m.totals, m.in_use, m.stdout
    hs, hs_out = heapscope(argv)
    print("%s\n  %s\n  %s" % (shape, table("memcheck ", vg), table("heapscope", hs)))
    check(hs_out == vg_out, "%s: the program prints the same under both tools (%r)" % (shape, hs_out))
    check(tuple(map(sum, zip(*vg.values()))) == vg_in_use,
          "%s: memcheck's four kinds add up to its in-use-at-exit %s" % (shape, vg_in_use))

    if shape == "rcgraph":
        count = int(vg_out.strip())
        check(count == RC_SURVIVORS, "rcgraph: %d objects outlive the release of every root" % count)
        check(lost(vg) == (count * RC_OBJECT_BYTES, count) and vg["possibly_lost"] == (0, 0)
              and vg["still_reachable"] == (0, 0),
              "rcgraph: memcheck finds all %d survivors lost: %s" % (count, table("memcheck", vg)))
        check(lost(hs) == (count * RC_OBJECT_BYTES, count),
              "rcgraph: heapscope finds all %d survivors lost (definitely + indirectly: %d bytes "
              "in %d blocks)" % ((count,) + lost(hs)))
        check(hs["possibly_lost"] == (0, 0) and hs["still_reachable"] == (0, 0),
              "rcgraph: nothing possibly lost or still reachable under heapscope")
        # Which lost block heads a group is memcheck's choice: it takes
        # unreached blocks in address order, each gathering what it reaches
        # that is not yet gathered. Here that names 13 heads where 11 groups
        # have no lost block pointing in from outside.
        if lost(hs) == lost(vg) and hs != vg:
            fail("rcgraph: the lost total matches but the split does not: heapscope %s, memcheck %s "
                 "(memcheck picks heads in address order; blocks are allocated in index order)"
                 % (hs["definitely_lost"], vg["definitely_lost"]))
    else:
        check(vg == EXPECTED[shape], "%s: memcheck has the designed leaks%s" % (
              shape, "" if vg == EXPECTED[shape] else
              " (it has not: a pointer left behind?): %s; %s"
              % (table("memcheck", vg), table("designed", EXPECTED[shape]))))
    for k in KINDS:
        check(hs[k] == vg[k], "%s: %s %d bytes in %d blocks, as memcheck%s"
              % (shape, k, hs[k][0], hs[k][1],
                 "" if hs[k] == vg[k] else " has %d bytes in %d blocks" % vg[k]))
