"""The analyzer streams: reading a trace ten times larger must not take ten
times the memory. A 10-million-event trace (alloc_micro, 5M malloc/free
pairs, about 29 MB) and one of a tenth of it are summarized; the larger
one's peak RSS must stay within 8 MiB of the smaller one's (the trace is
mapped, and a reader that kept every page it had read would hold it all)."""
from hs import *

micro = os.path.join(os.environ["BUILD_DIR"], "bench", "alloc_micro")


def summarize_rss(pairs):
    t = Traced([micro, "1", str(pairs)])
    check(t.proc.returncode == 0, "alloc_micro %d exits 0" % pairs)
    trace = t.only_trace()
    size = os.path.getsize(trace)
    p = run([program("maxrss"), HEAPSCOPE, "summary", trace])
    code, rss = (int(x) for x in p.stdout.split())
    check(code == 0, "summary of %d pairs exits 0" % pairs)
    return size, rss


small_size, small_rss = summarize_rss(500000)
big_size, big_rss = summarize_rss(5000000)
print("trace %.1f MB: summary peak RSS %d KiB; trace %.1f MB: %d KiB" % (
    small_size / 1e6, small_rss, big_size / 1e6, big_rss))
check(big_size > 8 * small_size, "the larger trace is about ten times the smaller (%d, %d bytes)" % (big_size, small_size))
check(big_rss - small_rss < 8 * 1024,
      "summary memory does not follow the trace's size: %d KiB against %d KiB" % (big_rss, small_rss))
