"""The recorded stack of an allocation equals libunwind's unw_backtrace at
the same call, in a program and a shared library built without frame
pointers."""
from hs import *

argv = [program("stackcheck")]
t = Traced(argv)
check(t.proc.returncode == 0, "stackcheck exits 0")
seen = [int(x, 16) for x in t.proc.stdout.split()]
check(len(seen) >= 12, "libunwind saw %d frames" % len(seen))
leaks = analyze("leaks", t.only_trace())
recs = [r for r in leaks["records"] if r["bytes"] == 777]
check(len(recs) == 1, "the 777-byte block is reported")
stack = recs[0]["stack"]
recorded = [int(f["address"], 16) for f in stack if not f["inlined"]]
check(recorded[1:] == seen[1:],
      "frames past the first are identical (%d frames)" % (len(recorded) - 1))
check(stack[0]["function"] == "lib_alloc" and recorded[0] != seen[0],
      "first frame: lib_alloc, at the malloc call rather than the unw_backtrace call")
names = [f["function"] for f in stack]
check(names.count("lib_middle") == 4 and names.count("exe_level") == 5 and "main" in names,
      "through 4 lib_middle and 5 exe_level frames to main")
check(any(f["module"] and f["module"].endswith("libstackcheck.so") for f in stack),
      "frames in the shared library name it as module")
