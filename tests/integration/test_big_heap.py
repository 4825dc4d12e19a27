"""A heap of 1,000,000 blocks (256 MiB) is snapshotted, scanned and analyzed
in seconds, with exact leak kinds: a list of 1M nodes cut in half."""
import time
from hs import *

argv = [program("big_heap")]
t0 = time.time()
t = Traced(argv)
traced = time.time() - t0
check(t.proc.returncode == 0, "big_heap exits 0 (traced in %.2f s)" % traced)
tr = t.only_trace()
t0 = time.time()
lk = analyze("leaks", tr)
analysis = time.time() - t0
s = lk["summary"]
check((s["definitely_lost"]["blocks"], s["definitely_lost"]["bytes"]) == (1, 256), "the head of the cut half: 1 block definitely lost")
check((s["indirectly_lost"]["blocks"], s["indirectly_lost"]["bytes"]) == (499999, 499999 * 256), "499,999 blocks indirectly lost")
check((s["still_reachable"]["blocks"], s["still_reachable"]["bytes"]) == (500000, 500000 * 256), "500,000 blocks still reachable")
check(lk["records"][0]["indirect_bytes"] == 499999 * 256, "the definite record carries the indirect bytes")
check(traced < 60, "1M-block run with its exit scan in %.2f s (limit 60)" % traced)
check(analysis < 20, "leak analysis of 1M blocks in %.2f s (limit 20)" % analysis)
