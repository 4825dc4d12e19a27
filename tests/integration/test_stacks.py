"""The recorded stack of an allocation equals libunwind's full unw_backtrace
at the same call, in a program and a shared library built without frame
pointers and with them: speed must not come from shorter or wrong stacks."""
from hs import *

SITES = ((777, "main thread"), (778, "second thread"), (779, "signal handler"))

for variant in ("nofp", "fp"):
    argv = [program("stackcheck_" + variant)]
    t = Traced(argv)
    check(t.proc.returncode == 0, "%s: stackcheck exits 0" % variant)
    seen_all = [[int(x, 16) for x in part.split()] for part in t.proc.stdout.split("--")[:3]]
    leaks = analyze("leaks", t.only_trace())
    for (size, where), seen in zip(SITES, seen_all):
        what = "%s, %s" % (variant, where)
        check(len(seen) >= 12, "%s: libunwind saw %d frames" % (what, len(seen)))
        recs = [r for r in leaks["records"] if r["bytes"] == size]
        check(len(recs) == 1, "%s: the %d-byte block is reported" % (what, size))
        stack = recs[0]["stack"]
        recorded = [int(f["address"], 16) for f in stack if not f["inlined"]]
        check(recorded[1:] == seen[1:], "%s: frames past the first are identical (%d frames)" % (what, len(recorded) - 1))
        check(stack[0]["function"] == "lib_alloc" and recorded[0] != seen[0],
              "%s: first frame: lib_alloc, at the malloc call rather than the unw_backtrace call" % what)
        names = [f["function"] for f in stack]
        check(names.count("lib_middle") == 4 and names.count("exe_level") == 5,
              "%s: through 4 lib_middle and 5 exe_level frames" % what)
        check(("main" in names) == (size != 778) and ("on_signal" in names) == (size == 779),
              "%s: the outer frames are the thread's own" % what)
    check(any(f["module"] and f["module"].endswith("libstackcheck_%s.so" % variant) for f in stack),
          "%s: frames in the shared library name it as module" % variant)

# Unwind rules are cached per code address, and dlclose empties the cache:
# stacks through a library loaded where an unloaded one was must still be
# right. The second library usually lands where the first was (the program
# warms the tracer's tables first); a few tries make that all but certain.
# This pair's return addresses do not coincide, so a stale rule would not be
# hit here even without the emptying: this checks the reload, not the cache.
for attempt in range(8):
    t = Traced([program("stackcheck_reload"), os.environ["TEST_PROGRAMS"]])
    check(t.proc.returncode == 0, "stackcheck_reload exits 0: %s" % t.proc.stderr)
    parts = [p.split() for p in t.proc.stdout.split("--")[:2]]
    bases = [int(p[1], 16) for p in parts]
    if bases[0] == bases[1]:
        break
print("library bases: %x, %x (%s, try %d)" % (bases[0], bases[1],
      "the same place" if bases[0] == bases[1] else "different places", attempt + 1))
leaks = analyze("leaks", t.only_trace())
for (size, variant), part in zip(((777, "fp"), (778, "nofp")), parts):
    seen = [int(x, 16) for x in part[2:]]
    recs = [r for r in leaks["records"] if r["bytes"] == size]
    check(len(recs) == 1, "reload, %s: the %d-byte block is reported" % (variant, size))
    recorded = [int(f["address"], 16) for f in recs[0]["stack"] if not f["inlined"]]
    check(len(seen) >= 8 and recorded[1:] == seen[1:],
          "reload, %s: frames past the first are identical (%d frames)" % (variant, len(recorded) - 1))
