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
check(all(frames(r)[0] == ("worker", "threads.c", line) for r in mine) and mine,
      "leak records from worker at threads.c:%d" % line)
kinds = sorted((r["kind"], r["bytes"], r["blocks"]) for r in mine)
check(kinds == [("definitely_lost", 19 * 4000, 19), ("still_reachable", 4000, 1)],
      "20 blocks of 4000 bytes: the one in `sink` still reachable, 19 definitely lost: %s" % kinds)
