"""Four threads allocate and free across threads: no event is lost, every
cross-thread free is matched, the deliberate leaks are exact."""
from hs import *

argv = [program("threads")]
t = Traced(argv)
check(t.proc.returncode == 0, "threads exits 0")
check(t.proc.stdout == native(argv).stdout, "stdout identical to native")
trace = t.only_trace()
s = analyze("summary", trace)
check(s["threads"] >= 4, "events from at least 4 threads (%d)" % s["threads"])
check(s["allocations"] >= 4 * 20000 + 20, "all 80020 program allocations recorded (%d)" % s["allocations"])
check(consistent(s), "allocations - frees == live blocks at exit (no lost or unmatched event)")
leaks = analyze("leaks", trace)
line = marker_line("threads.c", "LEAK-THREAD")
mine = own(leaks["records"], "threads.c")
check(len(mine) == 1 and frames(mine[0])[0] == ("worker", "threads.c", line),
      "one leak record, from worker at threads.c:%d" % line)
check((mine[0]["bytes"], mine[0]["blocks"]) == (20 * 4000, 20), "20 blocks of 4000 bytes leaked")
