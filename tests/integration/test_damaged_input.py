"""Damaged input to the analyzer: truncated, bit-flipped and foreign files
never crash or hang any command; each run ends with status 0 (what could be
read, with one warning line) or 2 (one error line)."""
import os
import random
from hs import *

rng = random.Random(7)
d = workdir("hs-damaged-")
good = Traced([program("graph_demo"), "chain"]).only_trace()
data = open(good, "rb").read()
cases = []
for i in range(40):
    cut = rng.randrange(1, len(data))
    cases.append(("cut-%d" % cut, data[:cut]))
for i in range(40):
    b = bytearray(data)
    for _ in range(rng.randrange(1, 4)):
        pos = rng.randrange(16, len(b))
        b[pos] ^= 1 << rng.randrange(8)
    cases.append(("flip-%d" % i, bytes(b)))
cases.append(("empty", b""))
cases.append(("random", bytes(rng.randrange(256) for _ in range(5000))))
cases.append(("header-only", data[:16]))
cases.append(("elf", open("/bin/true", "rb").read()))
cases.append(("text", b"HEAPSCP1 but not really a trace\n" * 10))

commands = [["summary"], ["leaks"], ["cycles"], ["referrers", "--type", "Target"], ["aliases"], ["refs"],
            ["diff"], ["gate"], ["export", "--to", "json"]]
failures = 0
for name, blob in cases:
    path = os.path.join(d, name + ".hst")
    with open(path, "wb") as f:
        f.write(blob)
    for cmd in commands:
        p = run([HEAPSCOPE] + cmd[:1] + ([path] if cmd[0] in ("diff", "gate") else []) + cmd[1:] +
                ([] if cmd[0] in ("diff", "gate") else [path]), timeout=60)
        lines = [l for l in p.stderr.splitlines() if l.startswith("heapscope")]
        ok = p.returncode in (0, 1, 2) and (p.returncode != 2 or len(lines) >= 1)
        if p.returncode == 2 and cmd[0] not in ("gate",):
            ok = ok and p.stderr.count("\n") == 1
        if not ok:
            failures += 1
            print("FAIL %s %s: status %d stderr %r" % (name, cmd, p.returncode, p.stderr[:300]))
check(failures == 0, "%d damaged or foreign files x %d commands: never a crash or hang, one clear line on error"
      % (len(cases), len(commands)))
