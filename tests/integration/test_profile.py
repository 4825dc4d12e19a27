"""heaptrack's views from heapscope's trace, exact: summary's peak
consumers, temporary allocations, calls by stack, the sizes histogram,
lifetimes and peak RSS, on tests/programs/profile_known.c, whose numbers are
known (its header says them); then heaptrack_print on the same program as an
oracle for calls, temporary allocations and the peak.

Where heaptrack_print must differ, the difference is computed and checked:
- heaptrack's preload loads libstdc++, whose emergency exception pool is
  one allocation of 72,704 bytes (this C program has no libstdc++ of its
  own): one call more, and that many bytes more at the peak; heaptrack_print
  lists it among its allocations, and the test finds it there.
- heaptrack_print calls a free temporary when it follows an allocation of
  the same size from the same stack, whichever block it frees (it keeps no
  addresses); heapscope, only when it frees that very block. The program's
  `twin` frees the first of two such blocks right after making the second:
  heaptrack_print counts one temporary allocation more, there."""
import re
import shutil
from hs import *

argv = [program("profile_known")]
t = Traced(argv)
check(t.proc.returncode == 0 and t.proc.stdout == "done\n", "profile_known runs: %s" % t.proc.stderr)
s = analyze("summary", t.only_trace(), "--top", "20")


def fn_of(entry):
    return entry["stack"][0]["function"] if entry["stack"] else None


def by_fn(entries, count_key):
    out = {}
    for e in entries:
        f = fn_of(e)
        if f in ("keep", "temp", "burst", "pair", "twin", "life"):
            c, b = out.get(f, (0, 0))
            out[f] = (c + e[count_key], b + e["bytes"])
    return out


peak = by_fn(s["peak_consumers"], "blocks")
check(peak == {"keep": (100, 100000), "burst": (10, 50000)},
      "peak consumers: keep 100 blocks of 100,000 bytes, burst 10 of 50,000, nothing else of the program's: %s" % peak)
check(s["peak_live_bytes"] == 150000 and s["peak_live_blocks"] == 110,
      "the peak is exact: 150,000 bytes in 110 blocks (%d in %d); the peak snapshot holds %s"
      % (s["peak_live_bytes"], s["peak_live_blocks"],
         [x["live_bytes"] for x in s["snapshots"] if x["name"] == "peak"]))
temp = by_fn(s["temporary_sites"], "count")
check(temp == {"temp": (40, 2560), "burst": (1, 5000), "pair": (1, 20), "life": (2, 300)},
      "temporary: temp 40 (2,560 bytes), burst 1 (its last block, freed first), pair 1 (20 bytes), life 2 "
      "(however long they lived, nothing came between), twin none: %s" % temp)
check(s["temporary_allocations"] == 44, "44 temporary allocations in all (%d)" % s["temporary_allocations"])
calls = by_fn(s["most_calls"], "calls")
check(calls == {"keep": (100, 100000), "temp": (40, 2560), "burst": (10, 50000), "pair": (2, 30),
                "twin": (2, 64), "life": (2, 300)},
      "calls by stack: keep 100, temp 40, burst 10, pair 2, twin 2, life 2: %s" % calls)
mine = {64: 40, 1024: 100, 8192: 10}  # buckets up to: 1000 in [512, 1023], 5000 in [4096, 8191]
sizes = {x["max"]: x["count"] for x in s["sizes"]}
check(sizes.get(1023, 0) >= 100 and sizes.get(8191, 0) >= 10 and sizes.get(127, 0) >= 40,
      "sizes: 1,000 bytes counted in [512, 1023], 5,000 in [4096, 8191], 64 in [64, 127]: %s" % s["sizes"])
life = s["lifetimes"]
check(life["longer"]["bytes"] >= 200 and life["under_1s"]["bytes"] >= 100 and life["under_1ms"]["blocks"] >= 53,
      "lifetimes: the 200-byte block lived over 1 s, the 100-byte one under, the 53 temporary and burst blocks "
      "under 1 ms: %s" % life)
check(life["longer"] == {"bytes": 200, "blocks": 1},
      "only the 200-byte block lived over a second: %s" % life["longer"])
check(s["peak_rss_bytes"] > 0, "the peak RSS is sampled (%d bytes)" % s["peak_rss_bytes"])

# text: the sections heaptrack_print has, ranked
text = run([HEAPSCOPE, "summary", "--top", "2", t.only_trace()]).stdout
for title in ("most calls", "peak consumers", "most temporary"):
    check("\n" + title in text, "summary text has a section %r" % title)
section = text.split("\npeak consumers")[1].split("\n\n")[0]
heads = re.findall(r"^\S.* in [\d,]+ blocks?$", section, re.M)
check(heads == ["97.7 KiB in 100 blocks", "48.8 KiB in 10 blocks"],
      "--top 2 lists the 2 biggest peak consumers, biggest first:\n%s" % section)

# heaptrack_print on the same program
if not shutil.which("heaptrack"):
    fail("heaptrack is needed for this test (scripts/test installs it)")
d = workdir("hs-profile-")
p = run(["heaptrack", "-o", os.path.join(d, "ht"), program("profile_known")], cwd=d, timeout=120)
ht_file = [f for f in os.listdir(d) if f.startswith("ht")]
check(p.returncode == 0 and len(ht_file) == 1, "heaptrack runs the program: %s" % p.stderr[-300:])
out = run(["heaptrack_print", "-f", os.path.join(d, ht_file[0])]).stdout


def ht_total(label):
    m = re.search(r"^%s: (\S+)" % label, out, re.M)
    if not m:
        fail("heaptrack_print says no %r:\n%s" % (label, out[-2000:]))
    return m.group(1)


def ht_bytes(text):
    m = re.match(r"([\d.]+)([KMG]?)B?$", text)
    return float(m.group(1)) * {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]


# heaptrack's own: the emergency pool of the libstdc++ its preload loads
pool = re.search(r"^1 calls to allocation functions with 72\.70K peak consumption from\n(.*\n){0,8}?.*libstdc\+\+",
                 out, re.M)
check(pool is not None, "heaptrack_print lists libstdc++'s 72,704-byte emergency pool among the allocations")
own = 1 if pool else 0
ours = s["allocations"]
check(int(ht_total("calls to allocation functions")) == ours + own,
      "calls: heaptrack_print %s = heapscope's %d + its own libstdc++ pool" % (ht_total("calls to allocation functions"), ours))
check(int(ht_total("temporary memory allocations")) == s["temporary_allocations"] + 1,
      "temporary: heaptrack_print %s = heapscope's %d + 1 (twin: a free matched by size and stack)"
      % (ht_total("temporary memory allocations"), s["temporary_allocations"]))
want = s["peak_live_bytes"] + 72704
check(abs(ht_bytes(ht_total("peak heap memory consumption")) - want) < 10,
      "peak: heaptrack_print %s = heapscope's %d + the pool's 72,704 bytes (to its rounding)"
      % (ht_total("peak heap memory consumption"), s["peak_live_bytes"]))

# massif's format, read by ms_print: the peak snapshot holds each stack's
# bytes at the exact peak
if not shutil.which("ms_print"):
    fail("ms_print (valgrind) is needed for this test (scripts/test installs it)")
mf = os.path.join(d, "massif.out")
p = run([HEAPSCOPE, "export", "--to", "massif", "-o", mf, t.only_trace()])
check(p.returncode == 0, "export --to massif: %s" % p.stderr)
ms = run(["ms_print", mf])
check(ms.returncode == 0, "ms_print reads it: %s" % ms.stderr[-300:])
peak_snap = re.search(r"Detailed snapshots: \[.*?(\d+) \(peak\)", ms.stdout)
check(peak_snap is not None, "ms_print finds the peak snapshot")
tree = ms.stdout.split("100.00% (150,000B) (heap allocation functions)")
check(len(tree) == 2, "the peak snapshot's tree totals 150,000 bytes")
top = re.findall(r"^->(\S+) \(([\d,]+)B\) 0x[0-9a-f]+: (\w+) \(profile_known\.c:\d+\)$", tree[1].split("\n-----")[0], re.M)
check(top == [("66.67%", "100,000", "keep"), ("33.33%", "50,000", "burst")],
      "ms_print shows keep's 100,000 bytes and burst's 50,000 under it, biggest first: %s" % top)
