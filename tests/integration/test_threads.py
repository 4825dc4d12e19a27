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

# More threads than CPUs fill their buffers faster than the writer empties
# them. What waits in the queue is bounded (16 regions of 1 MiB); past that
# a thread compresses and writes the oldest itself. With 64 regions queued,
# 8 threads of this storm held 80 MiB against 1.7 natively. The bound here:
# the queue, a buffer per thread, a few more being written, and the
# tracer's tables.
def peak_rss_kib(env):
    p = run([program("maxrss"), program("storm"), "8", "1500000"], env=env)
    code, rss = (int(x) for x in p.stdout.split())
    check(code == 0, "storm exits 0 (%s)" % env)
    return rss

storm_dir = workdir("hs-storm-")
native_rss = peak_rss_kib({})
traced_rss = peak_rss_kib({"LD_PRELOAD": LIB, "HEAPSCOPE_OUTPUT": os.path.join(storm_dir, "%e.%p.hst")})
storm_trace = [f for f in os.listdir(storm_dir) if f.startswith("storm.")]
check(len(storm_trace) == 1, "one trace of storm: %s" % os.listdir(storm_dir))
s = analyze("summary", os.path.join(storm_dir, storm_trace[0]))
check(s["allocations"] >= 8 * 1500000 and consistent(s), "storm: every event recorded (%d allocations)" % s["allocations"])
check(traced_rss - native_rss < 48 * 1024,
      "8 threads on %d CPUs: peak RSS %d KiB traced against %d natively" % (os.cpu_count(), traced_rss, native_rss))
