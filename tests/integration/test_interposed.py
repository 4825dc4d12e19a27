"""Every interposed function is seen, with its own name, size and line;
allocation failure passes through unchanged."""
from hs import *

argv = [program("interposed")]
t = Traced(argv)
n = native(argv)
check(t.proc.stdout == n.stdout, "stdout identical to native:\n" + n.stdout)
check(t.proc.returncode == n.returncode == 0, "exit status 0 both ways")
trace = t.only_trace()
s = analyze("summary", trace)
by_fn = s["allocations_by_function"]
for fn in ["realloc", "reallocarray", "posix_memalign", "aligned_alloc", "memalign", "valloc", "pvalloc"]:
    check(by_fn[fn] >= 1, "%s recorded (%d)" % (fn, by_fn[fn]))
check(consistent(s), "allocations - frees == live blocks at exit")

leaks = analyze("leaks", trace)
expected = {"malloc": 11, "calloc": 21, "realloc": 33, "reallocarray": 40, "posix_memalign": 100,
            "aligned_alloc": 256, "memalign": 77, "valloc": 99, "pvalloc": 123}
for fn, size in expected.items():
    line = marker_line("interposed.c", "SITE-%s " % fn)
    hits = [r for r in leaks["records"] if r["stack"] and r["stack"][0]["line"] == line
            and r["stack"][0]["function"] == "main"]
    check(len(hits) == 1 and hits[0]["bytes"] == size and hits[0]["blocks"] == 1,
          "%s: one %d-byte block at interposed.c:%d" % (fn, size, line))
mine = own(leaks["records"], "interposed.c")
check(sum(r["blocks"] for r in mine) == 9, "exactly the 9 kept blocks leak from the program")
