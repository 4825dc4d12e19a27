"""The recorded stack of an allocation equals libunwind's full unw_backtrace
at the same call, in a program and a shared library built without frame
pointers and with them: speed must not come from shorter or wrong stacks."""
from hs import *

for variant in ("nofp", "fp"):
    argv = [program("stackcheck_" + variant)]
    t = Traced(argv)
    check(t.proc.returncode == 0, "%s: stackcheck exits 0" % variant)
    seen = [int(x, 16) for x in t.proc.stdout.split()]
    check(len(seen) >= 12, "%s: libunwind saw %d frames" % (variant, len(seen)))
    leaks = analyze("leaks", t.only_trace())
    recs = [r for r in leaks["records"] if r["bytes"] == 777]
    check(len(recs) == 1, "%s: the 777-byte block is reported" % variant)
    stack = recs[0]["stack"]
    recorded = [int(f["address"], 16) for f in stack if not f["inlined"]]
    check(recorded[1:] == seen[1:], "%s: frames past the first are identical (%d frames)" % (variant, len(recorded) - 1))
    check(stack[0]["function"] == "lib_alloc" and recorded[0] != seen[0],
          "%s: first frame: lib_alloc, at the malloc call rather than the unw_backtrace call" % variant)
    names = [f["function"] for f in stack]
    check(names.count("lib_middle") == 4 and names.count("exe_level") == 5 and "main" in names,
          "%s: through 4 lib_middle and 5 exe_level frames to main" % variant)
    check(any(f["module"] and f["module"].endswith("libstackcheck_%s.so" % variant) for f in stack),
          "%s: frames in the shared library name it as module" % variant)
