#!/usr/bin/env python3
"""heapscope's benchmark: native against heapscope, heaptrack, LeakSanitizer
(as a preload) and valgrind memcheck, in one run, on an allocation
microbenchmark (1 and 2 threads), Python and sqlite3. Per workload and tool:
the median wall time over RUNS runs as a ratio to the native median, the
median peak RSS, the trace size, and the time to summarize the trace
(heapscope summary, heaptrack_print). Writes bench/RESULTS.md.

Usage: bench/run.py BUILD_DIR [--runs N] [--valgrind-runs N] [--only NAME,...] [--tools TOOL,...]
"""
import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LSAN = "/usr/lib/x86_64-linux-gnu/liblsan.so.0"


def run_once(argv, env, stdin_path, cwd):
    """Wall seconds and peak RSS (KiB) of one run, and its exit status. RSS
    comes from GNU time: a child forked from this Python process would start
    with Python's own high-water mark, which survives exec."""
    rss_file = os.path.join(cwd, ".rss")
    stdin = open(stdin_path) if stdin_path else subprocess.DEVNULL
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file] + argv, env=env, stdin=stdin,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    wall = time.monotonic() - t0
    if stdin_path:
        stdin.close()
    try:
        with open(rss_file) as f:
            rss = int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = 0
    return wall, rss, p.returncode


def trace_files(d, suffixes):
    return [os.path.join(d, f) for f in os.listdir(d) if any(f.endswith(s) or s in f for s in suffixes)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--valgrind-runs", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--tools", default="", help="a subset, e.g. native,heapscope (RESULTS.md is not written)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    heapscope = os.path.join(build, "bin", "heapscope")
    lib = os.path.join(build, "lib", "libheapscope.so")
    micro = os.path.join(build, "bench", "alloc_micro")
    python = shutil.which("python3") if not os.path.exists("/usr/bin/python3") else "/usr/bin/python3"

    # (name, argv, environment, stdin, the tools besides native: None for all)
    workloads = [
        ("microbenchmark, 1 thread", [micro, "1", "2000000"], {}, None, None),
        ("microbenchmark, 2 threads", [micro, "2", "2000000"], {}, None, None),
        ("python3, PYTHONMALLOC=malloc", [python, os.path.join(HERE, "py_alloc.py")], {"PYTHONMALLOC": "malloc"}, None,
         None),
        ("sqlite3 load + index", ["sqlite3", ":memory:"], {}, os.path.join(HERE, "sqlite_load.sql"), None),
        # the summary target: a trace of 10 million events (5M pairs)
        ("microbenchmark, 1 thread, 10M events", [micro, "1", "5000000"], {}, None, ("heapscope", "heaptrack")),
    ]
    if args.only:
        keep = args.only.split(",")
        workloads = [w for w in workloads if any(k in w[0] for k in keep)]

    def tools(out):
        return [
            ("native", lambda argv: argv, {}, None),
            ("heapscope", lambda argv: argv, {"LD_PRELOAD": lib, "HEAPSCOPE_OUTPUT": os.path.join(out, "t.%p.hst")},
             "heapscope"),
            ("heaptrack", lambda argv: ["heaptrack", "-o", os.path.join(out, "ht")] + argv, {}, "heaptrack"),
            ("LeakSanitizer", lambda argv: argv, {"LD_PRELOAD": LSAN, "LSAN_OPTIONS": "exitcode=0"}, None),
            ("valgrind memcheck", lambda argv: ["valgrind", "--leak-check=full", "-q"] + argv, {}, None),
        ]

    rows = []
    for name, argv, wenv, stdin, only in workloads:
        chosen = []
        for tool, wrap, tenv, kind in tools("/nonexistent"):
            if args.tools and tool.split()[0] not in args.tools.split(",") and tool != "native":
                continue
            if only and tool != "native" and tool not in only:
                continue
            runs = args.valgrind_runs if tool.startswith("valgrind") else args.runs
            chosen.append((tool, kind, runs, {"walls": [], "rss": [], "sizes": [], "sums": [], "failed": 0}))
        # Paired runs: round by round, each tool once, so that the machine's
        # drift over minutes falls on every tool alike.
        for round_ in range(max(c[2] for c in chosen)):
            for tool, kind, runs, m in chosen:
                if round_ >= runs:
                    continue
                out = tempfile.mkdtemp(prefix="hs-bench-")
                _, wrap2, tenv2, _ = [t for t in tools(out) if t[0] == tool][0]
                env = dict(os.environ, **wenv, **tenv2)
                wall, maxrss, code = run_once(wrap2(argv), env, stdin, out)
                if code != 0:
                    m["failed"] += 1
                m["walls"].append(wall)
                m["rss"].append(maxrss)
                if kind in ("heapscope", "heaptrack"):
                    files = trace_files(out, [".hst"] if kind == "heapscope" else ["ht."])
                    m["sizes"].append(sum(os.path.getsize(f) for f in files))
                    t0 = time.monotonic()
                    for f in files:
                        cmd = [heapscope, "summary", f] if kind == "heapscope" else ["heaptrack_print", "-f", f]
                        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    m["sums"].append(time.monotonic() - t0)
                shutil.rmtree(out, ignore_errors=True)
        medians = {}
        for tool, kind, runs, m in chosen:
            med = statistics.median(m["walls"])
            medians[tool] = med
            rows.append({"workload": name, "tool": tool, "wall": med, "runs": runs, "failed": m["failed"],
                         "rss": statistics.median(m["rss"]),
                         "size": statistics.median(m["sizes"]) if m["sizes"] else None,
                         "summary": statistics.median(m["sums"]) if m["sums"] else None})
            print("%-32s %-18s %7.3f s  rss %8.0f KiB  %s" % (name, tool, med, statistics.median(m["rss"]),
                  "FAILED %d/%d" % (m["failed"], runs) if m["failed"] else ""), file=sys.stderr, flush=True)
        for r in rows:
            if r["workload"] == name:
                r["ratio"] = r["wall"] / medians["native"]
                native_rss = [x for x in rows if x["workload"] == name and x["tool"] == "native"][0]["rss"]
                r["rss_ratio"] = r["rss"] / native_rss if native_rss else 0

    if args.tools:
        for r in rows:
            print("%-40s %-18s %6.2fx  trace %s  summary %s" % (
                r["workload"], r["tool"], r["ratio"], r["size"], "-" if r["summary"] is None else "%.2f s" % r["summary"]))
        return
    write_results(rows, args)


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return "%s, %d cores, %.0f GiB, %s %s" % (cpu, os.cpu_count(), mem, platform.system(), platform.release())


def versions():
    def first(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    return {"heaptrack": first(["heaptrack", "--version"]), "valgrind": first(["valgrind", "--version"]),
            "python3": first(["/usr/bin/python3", "--version"]), "sqlite3": first(["sqlite3", "--version"]).split()[0]}


def write_results(rows, args):
    def size(v):
        return "-" if v is None else "%.1f MiB" % (v / 2 ** 20) if v >= 2 ** 20 else "%.0f KiB" % (v / 1024)
    lines = ["# Benchmark results", "",
             "Written by `scripts/bench` (bench/run.py) on %s." % datetime.date.today().isoformat(),
             "Machine: %s." % machine(),
             "Tools: %s." % ", ".join("%s %s" % kv for kv in versions().items()),
             "Wall time is the median of %d paired runs (valgrind: %d), as a ratio to the native median; RSS is the"
             " median peak resident set (GNU time's %%M: the largest process of the run, so heaptrack's own"
             " interpreter process counts); the summary time is `heapscope summary` or"
             " `heaptrack_print` on the trace of one run." % (args.runs, args.valgrind_runs), "",
             "| workload | tool | wall (median) | x native | peak RSS | x native RSS | trace size | summarize |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append("| %s | %s | %.3f s%s | %.2f | %.0f MiB | %.2f | %s | %s |" % (
            r["workload"], r["tool"], r["wall"], " (%d/%d failed)" % (r["failed"], r["runs"]) if r["failed"] else "",
            r["ratio"], r["rss"] / 1024, r["rss_ratio"], size(r["size"]),
            "-" if r["summary"] is None else "%.2f s" % r["summary"]))
    lines.append("")
    path = os.path.join(HERE, "RESULTS.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("wrote " + path, file=sys.stderr)


if __name__ == "__main__":
    main()
