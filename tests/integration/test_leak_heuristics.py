"""valgrind's leak-check heuristics and glibc's DTV rule, by name: on
cpp_heuristics (whose comment says what each block is), the blocks held
only through an interior pointer that a heuristic explains are still
reachable and name it, in valgrind's counts ("of which reachable via
heuristic": memcheck 3.19 prints these same four lines for this program);
--heuristics none makes them possibly lost, a list keeps only those named;
every command that classifies takes the option. The DTVs of live threads
(pointed at 16 bytes in from their thread control block) are still
reachable through `dtv`; with none, possibly lost, as memcheck says."""
from hs import *

VIA = {"stdstring": (485, 5), "length64": (64, 1), "newarray": (88, 1), "multipleinheritance": (40, 1)}
ALL = (sum(b for b, _ in VIA.values()), sum(n for _, n in VIA.values()))

t = Traced([program("cpp_heuristics")])
check(t.proc.returncode == 0, "cpp_heuristics exits 0")
tr = t.only_trace()


def pair(d):
    return (d["bytes"], d["blocks"])


lk = analyze("leaks", tr)
via = {k: pair(v) for k, v in lk["reachable_via_heuristic"].items()}
check(via == VIA, "reachable via each heuristic, as memcheck counts them: %s" % via)
named = {}
for r in lk["records"]:
    if r["heuristic"]:
        check(r["kind"] == "still_reachable", "a record reached by %s is still reachable" % r["heuristic"])
        named[r["heuristic"]] = tuple(map(sum, zip(named.get(r["heuristic"], (0, 0)), (r["bytes"], r["blocks"]))))
check(named == VIA, "the records name their heuristic: %s" % named)
check(pair(lk["summary"]["possibly_lost"]) == (0, 0), "nothing possibly lost with the default heuristics")
text = run([HEAPSCOPE, "leaks", tr]).stdout
check("of which reachable via heuristic:" in text and "via heuristic newarray" in text,
      "the text says which heuristic, as valgrind's summary does")

none = analyze("leaks", tr, "--heuristics", "none")
check(pair(none["summary"]["possibly_lost"]) == ALL and none["reachable_via_heuristic"] == {},
      "--heuristics none: the same blocks are possibly lost: %s" % (pair(none["summary"]["possibly_lost"]),))
check(pair(none["summary"]["still_reachable"])[0] == pair(lk["summary"]["still_reachable"])[0] - ALL[0],
      "--heuristics none: still reachable shrinks by as much")
one = analyze("leaks", tr, "--heuristics", "newarray,length64")
check({k: pair(v) for k, v in one["reachable_via_heuristic"].items()} ==
      {"newarray": VIA["newarray"], "length64": VIA["length64"]} and
      pair(one["summary"]["possibly_lost"]) == (ALL[0] - 88 - 64, ALL[1] - 2),
      "--heuristics newarray,length64: only those two apply")
for cmd in ("summary", "cycles", "aliases"):
    p = run([HEAPSCOPE, cmd, "--heuristics", "none", tr])
    check(p.returncode == 0, "%s takes --heuristics" % cmd)
s = analyze("summary", tr, "--heuristics", "none")["leaks"]
check(pair(s["possibly_lost"]) == ALL, "summary --heuristics none: %s possibly lost" % (pair(s["possibly_lost"]),))
p = run([HEAPSCOPE, "leaks", "--heuristics", "stdstrin", tr])
check(p.returncode == 2 and "--heuristics" in p.stderr and p.stderr.count("\n") == 1,
      "an unknown heuristic is one clear line, status 2: " + p.stderr.strip())
p = run([HEAPSCOPE, "gate", "--kinds", "possibly_lost", "--heuristics", "none", tr])
check(p.returncode == 1, "gate --heuristics none --kinds possibly_lost fails on them")
p = run([HEAPSCOPE, "gate", "--kinds", "possibly_lost", tr])
check(p.returncode == 0, "gate --kinds possibly_lost passes with the default heuristics")

# glibc's DTVs: 4 live threads at exit
t = Traced([program("live_threads")])
tr = t.only_trace()
lk = analyze("leaks", tr)
dtv = [r for r in lk["records"] if any(f["function"] == "allocate_dtv" for f in r["stack"])]
n = sum(r["blocks"] for r in dtv)
check(n == 7 and all(r["kind"] == "still_reachable" for r in dtv),
      "the 7 DTVs (4 live threads, 3 cached stacks) are still reachable: %s" % [(r["kind"], r["blocks"]) for r in dtv])
check(lk["reachable_via_heuristic"].get("dtv", {}).get("blocks") == 7, "all 7 through the dtv rule")
none = analyze("leaks", tr, "--heuristics", "none")
dtv = [r for r in none["records"] if any(f["function"] == "allocate_dtv" for f in r["stack"])]
check({r["kind"] for r in dtv} == {"possibly_lost"} and sum(r["blocks"] for r in dtv) == 7,
      "--heuristics none: the DTVs are possibly lost (pointed at 16 bytes in)")
