"""Four threads retaining and releasing shared objects and weak references
for a second: every count balanced, no object alive, and the trace's
histories add up to the program's own counts."""
import re
from hs import *

argv = [program("rc_stress")]
n = native(argv)
check(n.returncode == 0, "natively, every object is freed: " + n.stdout.strip())
t = Traced(argv, timeout=300)
check(t.proc.returncode == 0, "under heapscope, every object is freed: " + t.proc.stdout.strip())
c = dict((k, int(v)) for k, v in re.findall(r"(\w+) (\d+)", t.proc.stdout))
check(c["new"] == c["free"] and c["new"] > 64, "the program made and freed %d objects" % c["new"])
r = analyze("refs", t.only_trace(), "--limit", "0")["totals"]
check(r["objects"] == c["new"], "refs: %d objects, as many as the program made" % r["objects"])
check(r["alive"] == 0 and r["unbalanced"] == 0 and r["inconsistent"] == 0,
      "refs: none alive, none unbalanced, every history adds up")
ops = r["by_op"]
check((ops["new"], ops["retain"], ops["release"], ops["free"], ops["weak_new"]) ==
      (c["new"], c["retain"], c["release"], c["free"], c["weak_new"]),
      "refs: events by op equal the program's counts: %s" % ops)
check(ops["weak_clear"] == c["free"], "a weak_clear for every freed object (each had a weak reference)")
check(sum(v for k, v in ops.items() if k.startswith("misuse")) == 0, "no misuse")
