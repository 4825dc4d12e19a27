"""The CI leak gate: every exit path, suppressions (files and the program's
own __lsan_default_suppressions, LeakSanitizer's pattern syntax), baselines,
JUnit and SARIF outputs, one verdict over many processes, and the CMake
helper."""
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from hs import *

d = workdir("hs-gate-")
demo, supp_demo = program("gate_demo"), program("gate_demo_supp")
site = marker_line("gate_demo.c", "LEAK-SITE")

def gate_run(argv, *opts, name="t"):
    out = os.path.join(d, name + ".%p.hst")
    return run([HEAPSCOPE, "run", "--gate"] + list(opts) + ["-o", out, "--"] + argv)

p = gate_run([demo, "clean"])
check(p.returncode == 0 and p.stdout == "done\n", "clean program: exit 0, stdout untouched")
check(p.stderr.startswith("heapscope gate: pass"), "clean program: the verdict says pass")
p = gate_run([demo, "leak", "2"])
check(p.returncode == 1, "leaking program: exit 1")
check("FAIL: 200 bytes in 2 blocks" in p.stderr and "gate_demo.c:%d" % site in p.stderr,
      "the verdict names bytes, blocks and the allocating line: " + p.stderr.splitlines()[0])
p = gate_run([demo, "fail", "2"])
check(p.returncode == 3, "a program failing on its own keeps its status (3), leaks or not")
p = gate_run([demo, "leak", "2"], "--kinds", "possibly_lost")
check(p.returncode == 0, "--kinds possibly_lost: definitely lost bytes do not count")
p = gate_run([demo, "leak", "2"], "--max-leaked-bytes", "200")
check(p.returncode == 0, "--max-leaked-bytes 200: 200 bytes pass")
p = gate_run([demo, "leak", "2"], "--max-leaked-bytes", "199")
check(p.returncode == 1, "--max-leaked-bytes 199: 200 bytes fail")

# suppressions, with LeakSanitizer's pattern syntax
for pattern, passes in [("leaky_helper", True), ("^leaky_*er$", True), ("leaky", True), ("gate_demo.c", True),
                        ("^helper", False), ("helper$", True), ("^eaky", False), ("nothing_like_it", False)]:
    f = os.path.join(d, "supp.txt")
    with open(f, "w") as fh:
        fh.write("# a comment\n\nleak:%s\n" % pattern)
    p = gate_run([demo, "leak", "2"], "--suppressions", f)
    check(p.returncode == (0 if passes else 1), "suppression leak:%s %s" % (pattern, "matches" if passes else "does not match"))
p = gate_run([supp_demo, "leak", "2"])
check(p.returncode == 0, "the program's own __lsan_default_suppressions suppress its leak")

# baseline: unchanged passes, grown fails
t = Traced([demo, "leak", "2"])
base = os.path.join(d, "base.txt")
p = run([HEAPSCOPE, "gate", "--write-baseline", base, t.only_trace()])
check(p.returncode == 1 and open(base).readline().strip() == "# heapscope baseline 1", "--write-baseline writes the current leaks")
check("0x" not in open(base).read(), "the baseline names stacks by symbols, not addresses")
p = gate_run([demo, "leak", "2"], "--baseline", base, name="b1")
check(p.returncode == 0, "baseline, the same leak in a new run (new addresses): exit 0")
p = gate_run([demo, "leak", "3"], "--baseline", base, name="b2")
check(p.returncode == 1 and "100 bytes in 1 blocks leaked beyond the baseline" in p.stderr,
      "baseline, the leak grew by one block: exit 1, 100 bytes beyond")

# many processes, one verdict
runs = os.path.join(d, "many")
os.makedirs(runs)
script = "; ".join("%s %s >/dev/null" % (demo, "leak 1" if i % 50 == 7 else "clean") for i in range(120))
p = run([HEAPSCOPE, "run", "--gate", "-o", os.path.join(runs, "%e.%p.hst"), "--", "/bin/sh", "-c", script], timeout=600)
traces = [f for f in os.listdir(runs) if f.startswith("gate_demo")]
check(len(traces) == 120, "120 processes, 120 traces")
check(p.returncode == 1 and "in 3 of 121 traced processes" in p.stderr, "one verdict: 3 of the 121 processes leak")
check(p.stderr.count("gate_demo (pid") == 3, "the leaking ones are named")

# JUnit and SARIF
j, s = os.path.join(d, "j.xml"), os.path.join(d, "s.json")
clean = Traced([demo, "clean"]).only_trace()
leaky = Traced([demo, "leak", "2"]).only_trace()
p = run([HEAPSCOPE, "gate", "--junit", j, "--sarif", s, clean, leaky])
root = ET.parse(j).getroot()
suite = root.find("testsuite")
check(root.get("tests") == "2" and root.get("failures") == "1" and len(suite.findall("testcase")) == 2,
      "JUnit: 2 test cases (one per process), 1 failing")
fails = suite.findall("testcase/failure")
check(len(fails) == 1 and fails[0].get("type") == "definitely_lost" and "leaky_helper" in fails[0].text,
      "JUnit: one failure, definitely_lost, with its stack")
sa = json.load(open(s))
res = sa["runs"][0]["results"]
check(sa["version"] == "2.1.0" and sa["runs"][0]["tool"]["driver"]["name"] == "heapscope", "SARIF 2.1.0 from heapscope")
loc = res[0]["locations"][0]["physicalLocation"]
check(len(res) == 1 and res[0]["ruleId"] == "definitely_lost" and loc["artifactLocation"]["uri"].endswith("gate_demo.c")
      and loc["region"]["startLine"] == site, "SARIF: one result at gate_demo.c:%d" % site)

# the CMake helper, in a project of its own
proj = os.path.join(d, "proj")
os.makedirs(proj)
with open(os.path.join(proj, "CMakeLists.txt"), "w") as f:
    f.write("""cmake_minimum_required(VERSION 3.18)
project(uses_heapscope NONE)
enable_testing()
set(HEAPSCOPE_EXECUTABLE %s)
include(%s/cmake/HeapscopeLeakTest.cmake)
heapscope_add_leak_test(NAME clean COMMAND %s clean)
heapscope_add_leak_test(NAME leaky COMMAND %s leak 1)
heapscope_add_leak_test(NAME leaky_suppressed COMMAND %s leak 1 GATE_OPTIONS --max-leaked-bytes 100)
""" % (HEAPSCOPE, os.environ["SAMPLE_SOURCES"] + "/..", demo, demo, demo))
b = os.path.join(proj, "build")
check(run(["cmake", "-S", proj, "-B", b]).returncode == 0, "a project including HeapscopeLeakTest.cmake configures")
p = run(["ctest", "--test-dir", b])
check("67% tests passed, 1 tests failed out of 3" in p.stdout and "leaky (Failed)" in p.stdout,
      "its ctest: the leaky test fails, the clean one and the allowed one pass")
check(os.path.exists(os.path.join(b, "heapscope", "leaky", "junit.xml")), "the helper leaves a JUnit file per test")
