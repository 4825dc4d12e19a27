"""heapscope report: one self-contained HTML file that headless Chromium
opens without a JavaScript error, every section drawn; a screenshot is kept
(build/report-screenshot.png). And progress shows on a terminal."""
import json
import os
import re
import shutil
import subprocess
import tempfile
from hs import *

chromium = shutil.which("chromium") or shutil.which("chromium-browser")
check(chromium is not None, "Debian's chromium is installed (scripts/test installs it)")
d = tempfile.mkdtemp(prefix="hs-report-")

def report(argv, name, *opts):
    t = Traced(argv)
    out = os.path.join(d, name + ".html")
    p = run([HEAPSCOPE, "report", "-o", out] + list(opts) + [t.only_trace()])
    check(p.returncode == 0 and os.path.getsize(out) > 5000, "%s: report written (%d bytes)" % (name, os.path.getsize(out)))
    html = open(out).read()
    check(not re.search(r'<(script|link|img|iframe)[^>]+(src|href)=', html) and "http://" not in html.replace(
        "http://www.w3.org/2000/svg", "") and "https://" not in html, "%s: self-contained (no external resource)" % name)
    return out

def chrome(args, out_html, timeout=120):
    prof = tempfile.mkdtemp(prefix="hs-chrome-")
    return run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + prof, "--virtual-time-budget=5000"] + args + ["file://" + out_html],
               timeout=timeout)

def dom(out_html):
    p = chrome(["--dump-dom"], out_html)
    check(p.returncode == 0, "chromium loaded the report")
    return p.stdout

# a refcounted tree with cycles, chains and histories
strong = report([sample("10_weak_parents"), "strong"], "weak_parents")
page = dom(strong)
check('data-ready="1"' in page and 'id="js-error"' not in page, "no JavaScript error; the script ran to the end")
check(page.count('class="card') >= 6, "summary cards drawn")
check('class="heap-line"' in page and 'class="peak-mark"' in page and 'class="snapshot-mark"' in page,
      "live-heap chart with snapshots and the peak marked")
check(page.count('class="fr') >= 5, "flame graph drawn (%d frames)" % page.count('class="fr'))
check(page.count('class="leak-row"') >= 2 and "definitely lost" in page, "leak table by kind with stacks")
check('class="graph cycle"' in page and "unreachable (leaked)" in page, "a leaked cycle drawn as a graph")
check(page.count('class="ref-row"') == 7, "refcount histories of the 7 tree nodes")

# a leak hunt with labelled snapshots: the diff and the referrer chains
hunt = report([sample("11_leak_hunt")], "leak_hunt", "--snapshot", "leaked")
page = dom(hunt)
check('data-ready="1"' in page and 'id="js-error"' not in page, "leak hunt report: no JavaScript error")
check('class="diff-row"' in page and "LeakyItem" in page and "+500" in page,
      "snapshot diff by type, baseline -> leaked: LeakyItem +500")

# a C program with still-reachable blocks: referrer chains
chains = report([program("graph_demo"), "chain"], "chain")
page = dom(chains)
check('class="graph chain"' in page and "g_head" in page, "referrer chain from global g_head drawn")

# the screenshot
shot = os.path.join(os.environ["BUILD_DIR"], "report-screenshot.png")
if os.path.exists(shot):
    os.unlink(shot)
p = chrome(["--screenshot=" + shot, "--window-size=1280,2600", "--hide-scrollbars"], strong)
check(os.path.exists(shot) and os.path.getsize(shot) > 20000, "screenshot taken: %s" % shot)

# progress on a terminal for a big trace (script gives the analyzer a tty)
t = Traced([program("big_heap"), "2000000"])
p = subprocess.run(["script", "-qec", "%s summary %s >/dev/null" % (HEAPSCOPE, t.only_trace()), "/dev/null"],
                   capture_output=True, text=True, timeout=300)
check("reading" in p.stdout and "%" in p.stdout, "progress shown on a terminal while a big trace is read")
p = run([HEAPSCOPE, "summary", t.only_trace()])
check("reading" not in p.stderr, "no progress when stderr is not a terminal")
