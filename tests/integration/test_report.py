"""heapscope report: one self-contained HTML file that headless Chromium
opens without a JavaScript error, every section drawn; a screenshot is kept
(build/report-screenshot.png). The memory chart (live heap and RSS) and the
heaptrack views (peak consumers, most calls, most temporary, most leaked,
sizes, lifetimes) hold the exact numbers of programs whose numbers are known
(tests/programs/profile_known.c, leak_known.c). And progress shows on a
terminal."""
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from hs import *

chromium = shutil.which("chromium") or shutil.which("chromium-browser")
check(chromium is not None, "Debian's chromium is installed (scripts/test installs it)")
d = workdir("hs-report-")

def report(argv, name, *opts):
    return report_of(Traced(argv).only_trace(), name, *opts)

def report_of(trace, name, *opts):
    out = os.path.join(d, name + ".html")
    p = run([HEAPSCOPE, "report", "-o", out] + list(opts) + [trace])
    check(p.returncode == 0 and os.path.getsize(out) > 5000, "%s: report written (%d bytes)" % (name, os.path.getsize(out)))
    html = open(out).read()
    check(not re.search(r'<(script|link|img|iframe)[^>]+(src|href)=', html) and "http://" not in html.replace(
        "http://www.w3.org/2000/svg", "") and "https://" not in html, "%s: self-contained (no external resource)" % name)
    return out

def chrome(args, out_html, timeout=120):
    prof = workdir("hs-chrome-")
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

class Tables(HTMLParser):
    """The tables of a dumped page that have an id: their rows (header rows
    left out) as lists of cell texts; a stack's cell reads as its first frame
    (the details' summary)."""

    def __init__(self, page):
        super().__init__()
        self.tables, self.rows, self.row, self.cell, self.frame = {}, None, None, None, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "id" in a:
            self.rows = self.tables.setdefault(a["id"], [])
        elif tag == "tr" and self.rows is not None:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.cell, self.frame = "", None
        elif tag == "summary" and self.cell is not None:
            self.frame = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self.rows = None
        elif tag == "tr" and self.row is not None:
            if self.row:
                self.rows.append(self.row)
            self.row = None
        elif tag == "td" and self.cell is not None:
            self.row.append((self.frame if self.frame is not None else self.cell).strip())
            self.cell = None
        elif tag == "pre" and self.frame is not None:
            self.cell = ""  # the full stack: not part of the cell's text

    def handle_data(self, data):
        if self.cell is None:
            return
        if self.frame is not None and self.cell == "":
            self.frame += data
        else:
            self.cell += data


def by_function(rows, mine):
    """Rows with their stack cell cut to its function; functions not in mine
    (libc's) read "(libc)"."""
    out = []
    for r in rows:
        f = r[-1].split(" (")[0]
        out.append(tuple(r[:-1]) + (f if f in mine else "(libc)",))
    return out


def svg_tags(page, tag, cls):
    """The attributes of each TAG of class CLS in the page."""
    return [dict(re.findall(r'([\w-]+)="([^"]*)"', m)) for m in re.findall(r"<%s ([^>]*)>" % tag, page)
            if re.search(r'class="%s"' % cls, m)]


def para(page, pid):
    m = re.search(r'<p id="%s"[^>]*>([^<]*)</p>' % pid, page)
    return m.group(1) if m else None


def c(n):
    return "{:,}".format(n)


def drawn(page):
    """The page without its scripts: what was drawn, not the code or data that drew it."""
    return re.sub(r"<script\b.*?</script>", "", page, flags=re.S)


# heaptrack's views on a program whose numbers are known (its header and
# test_profile say them)
known_trace = Traced([program("profile_known")]).only_trace()
known = report_of(known_trace, "profile_known")
s = analyze("summary", known_trace)
page = dom(known)
check('data-ready="1"' in page and 'id="js-error"' not in page, "profile_known report: no JavaScript error")
page = drawn(page)
tables = Tables(page).tables
fns = {"keep", "temp", "burst", "pair", "twin", "life"}
# stdout is a pipe: its stdio buffer, allocated by printf at the end, is as big as the pipe's st_blksize
r, w = os.pipe()
stdio_buf = os.fstat(w).st_blksize
os.close(r)
os.close(w)

charts = re.findall(r'<svg [^>]*class="chart"', page)
heap_line, rss_line = svg_tags(page, "path", "heap-line"), svg_tags(page, "path", "rss-line")
check(len(charts) == 1 and len(heap_line) == 1 and len(rss_line) == 1,
      "memory over time is one chart of two series, the live heap and the RSS (%d charts)" % len(charts))
check(int(rss_line[0]["data-points"]) >= 2 and len(re.findall(r"[ML]", rss_line[0]["d"])) >= 2,
      "the RSS series is drawn: %s points, from the tick's samples" % rss_line[0]["data-points"])
check(len(svg_tags(page, "rect", "legend")) == 2, "the chart's legend names both series")
check(len(svg_tags(page, "circle", "peak-mark")) == 1 and len(svg_tags(page, "circle", "rss-peak-mark")) == 1,
      "the heap's peak and the peak RSS are marked on the chart")
heap_peak = para(page, "heap-peak")
check(heap_peak is not None and "(150,000 bytes) in 110 blocks" in heap_peak,
      "the exact heap peak is stated: 150,000 bytes in 110 blocks: %r" % heap_peak)
rss_peak = para(page, "rss-peak")
check(s["peak_rss_bytes"] > 0 and rss_peak is not None and "(%s bytes)" % c(s["peak_rss_bytes"]) in rss_peak,
      "the peak RSS is stated as summary has it (%s bytes): %r" % (c(s["peak_rss_bytes"]), rss_peak))
check(para(page, "rss-gap") is not None and "outside malloc" in para(page, "rss-gap"),
      "one line says what the gap between RSS and the heap is")

peak = by_function(tables.get("table-peak", []), fns)
check(peak == [("100,000", "100", "keep"), ("50,000", "10", "burst")],
      "peak consumers: keep 100,000 bytes in 100 blocks, burst 50,000 in 10, nothing else: %s" % peak)
calls = by_function(tables.get("table-calls", []), fns)
want = [("100", "100,000", "keep"), ("40", "2,560", "temp"), ("10", "50,000", "burst"), ("2", "64", "twin"),
        ("1", c(stdio_buf), "(libc)"), ("1", "200", "life"), ("1", "100", "life"), ("1", "20", "pair"),
        ("1", "10", "pair")]
check(calls == want, "most calls: keep 100, temp 40, burst 10, twin 2, stdout's buffer, life and pair one a "
      "stack, ranked by calls then bytes: %s" % calls)
temporary = by_function(tables.get("table-temporary", []), fns)
check(temporary == [("40", "2,560", "temp"), ("1", "5,000", "burst"), ("1", "200", "life"), ("1", "100", "life"),
                    ("1", "20", "pair")],
      "most temporary: temp 40, burst 1 (its last block), life 1 and 1, pair 1, twin none: %s" % temporary)
check("44 temporary allocations in all (28.0% of calls)" in page, "44 temporary allocations of 157 stated")
check("table-leaked" not in tables and '<p class="muted">nothing leaked</p>' in page,
      "most leaked: nothing (what profile_known keeps, a global holds)")

sizes = {}
for size, times in ((10, 1), (20, 1), (32, 2), (64, 40), (100, 1), (200, 1), (1000, 100), (5000, 10),
                    (stdio_buf, 1)):
    k = size.bit_length()
    n, b = sizes.get(k, (0, 0))
    sizes[k] = (n + times, b + size * times)
want = [("%s \u2013 %s" % (c(1 << (k - 1)), c((1 << k) - 1)), c(n), c(b)) for k, (n, b) in sorted(sizes.items())]
got = [tuple(r[:3]) for r in tables.get("table-sizes", [])]
check(got == want, "sizes histogram: every allocation in its power-of-two bucket, counts and bytes: %s" % got)

life = tables.get("table-lifetimes", [])
check(life[2:] == [["longer", "1", "200"]], "lifetimes: only the 200-byte block lived over a second: %s" % life)
short = [tuple(int(x.replace(",", "")) for x in r[1:]) for r in life[:2]]
check([r[0] for r in life[:2]] == ["under 1 ms", "under 1 s"] and
      (short[0][0] + short[1][0], short[0][1] + short[1][1]) == (55, 52754),
      "lifetimes: the other 55 freed blocks (52,754 bytes) lived under a second: %s" % life)
# which of them lived under 1 ms is the clock's (the 53 temporary and burst
# blocks, and twin's, unless the process was descheduled): the page says what summary says
want = [[x, c(s["lifetimes"][k]["blocks"]), c(s["lifetimes"][k]["bytes"])]
        for x, k in (("under 1 ms", "under_1ms"), ("under 1 s", "under_1s"))]
check(life[:2] == want and short[1][1] >= 100, "lifetimes under 1 ms and under 1 s as summary has them: %s" % want)

# most leaked, on a program that leaks known blocks
leaky = report([program("leak_known")], "leak_known")
page = dom(leaky)
leaked = by_function(Tables(page).tables.get("table-leaked", []), {"main", "make_node"})
check(leaked == [("4,096", "1", "definitely lost", "main"), ("144", "3", "definitely lost", "make_node")],
      "most leaked: main's 4,096 bytes, make_node's 3 blocks of 48; calloc's 63 bytes are reachable: %s" % leaked)

# a trace before version 4 has no RSS and no lifetimes: its data, as the
# generator writes it for one, drawn by the page
old = os.path.join(d, "old.html")
html = open(known).read()
html = html.replace('"has_rss":true', '"has_rss":false')
html = re.sub(r'"lifetimes":\{("\w+":\{[^}]*\},?)*\}', '"lifetimes":null', html)
check('"has_rss":false' in html and '"lifetimes":null' in html, "a page of a trace without RSS and lifetimes made")
open(old, "w").write(html)
page = dom(old)
check('data-ready="1"' in page and 'id="js-error"' not in page, "the page without RSS: no JavaScript error")
page = drawn(page)
check('class="heap-line"' in page and 'class="rss-line"' not in page and "not recorded" in para(page, "rss-peak") and
      'id="table-lifetimes"' not in page and "Lifetimes" not in page,
      "without RSS: the heap alone is drawn, the RSS said to be absent, lifetimes left out")

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
