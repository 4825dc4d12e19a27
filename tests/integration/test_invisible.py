"""The traced process is as threaded as the program: heapscope starts no
thread of its own while the program has one, so programs that must be
single-threaded run as they do natively. unshare of a user namespace
(refused to a multi-threaded process) and headless Chromium (whose zygote
checks it is single-threaded before it forks) print what they print
natively, with the same status; a single-threaded python3 sees one entry in
/proc/self/task, and a program that starts threads gets the writer thread
only then."""
import os
import shutil
import tempfile
from hs import *

d = workdir("hs-invisible-")


def both(argv, timeout=120):
    native = run(argv, timeout=timeout)
    out = tempfile.mkdtemp(dir=d)
    traced = run([HEAPSCOPE, "run", "-o", os.path.join(out, "%e.%p.hst"), "--"] + argv, timeout=timeout)
    return native, traced, [f for f in os.listdir(out) if f.endswith(".hst") or ".hst." in f]


n, t, traces = both(["unshare", "-U", "-r", "id"])
check(n.returncode == 0 and t.returncode == n.returncode and t.stdout == n.stdout and traces,
      "unshare -U -r id: the same output and status traced (%d %r) as native (%d %r)"
      % (t.returncode, t.stdout, n.returncode, n.stdout))

code = "import os; print(len(os.listdir('/proc/self/task')))"
n, t, traces = both(["/usr/bin/python3", "-c", code])
check(n.stdout == "1\n" and t.stdout == "1\n", "python3 sees one thread, traced as natively: %r" % t.stdout)
code = ("import os, threading; e = threading.Event(); th = threading.Thread(target=e.wait); th.start(); "
        "x = [bytearray(64) for _ in range(1000)]; print(len(os.listdir('/proc/self/task'))); e.set(); th.join()")
n, t, traces = both(["/usr/bin/python3", "-c", code])
check(n.stdout == "2\n" and t.stdout == "3\n",
      "with a thread of its own, the program gets the writer thread: %r natively, %r traced" % (n.stdout, t.stdout))

chromium = shutil.which("chromium")
if not chromium:
    fail("chromium is needed for this test (scripts/test installs it)")
page = os.path.join(d, "page.html")
with open(page, "w") as f:
    f.write('<html><body><p id="x">hello</p><script>document.getElementById("x").textContent = "hi " + '
            '(2 + 3)</script></body></html>')
flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
n = run([chromium] + flags + ["--user-data-dir=" + tempfile.mkdtemp(dir=d), "--dump-dom", "file://" + page],
        timeout=120)
out = tempfile.mkdtemp(dir=d)
t = run([HEAPSCOPE, "run", "-o", os.path.join(out, "%e.%p.hst"), "--", chromium] + flags +
        ["--user-data-dir=" + tempfile.mkdtemp(dir=d), "--dump-dom", "file://" + page], timeout=180)
check(n.returncode == 0 and '<p id="x">hi 5</p>' in n.stdout, "chromium --dump-dom natively: %d" % n.returncode)
check(t.returncode == n.returncode and t.stdout == n.stdout,
      "chromium --dump-dom traced: the same DOM and status (%d, %r)" % (t.returncode, t.stdout[:200]))
check(len([f for f in os.listdir(out) if not f.endswith(".journal")]) >= 3,
      "a trace for each of chromium's processes (%d files)" % len(os.listdir(out)))
