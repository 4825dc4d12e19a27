"""A fuzzer over the trace reader and the analyzer's model and graph
(libFuzzer, clang, with AddressSanitizer and UndefinedBehaviorSanitizer), the
CMake target fuzz_trace, seeded with real traces, run for
HEAPSCOPE_FUZZ_SECONDS (60 by default): no crash, no hang, no leak, no
undefined behaviour."""
import os
import shutil
import subprocess
from hs import *

build = os.environ["BUILD_DIR"]
seconds = int(os.environ.get("HEAPSCOPE_FUZZ_SECONDS", "60"))
work = os.path.join(build, "fuzz")
corpus = os.path.join(work, "corpus")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(corpus)

# the CMake target fuzz_trace (tests/CMakeLists.txt), built with clang
exe = os.environ.get("FUZZ_TRACE", "")
check(exe != "", "the build has the fuzzer: clang was not found when it was configured")
check(os.path.isfile(exe), "the fuzzer %s is built (cmake --build build --target fuzz_trace)" % exe)

# seeds: small real traces of different shapes
seeds = [[program("leak_known")], [program("graph_demo"), "chain"], [program("api_use")],
         [program("leak_shapes"), "rings"], [program("forker")], [sample("08_cycles")], [program("threads")]]
for argv in seeds:
    for t in Traced(argv).traces:
        if os.path.getsize(t) < 2_000_000:
            shutil.copy(t, os.path.join(corpus, os.path.basename(t)))
check(len(os.listdir(corpus)) >= 7, "%d seed traces" % len(os.listdir(corpus)))

p = subprocess.run([exe, corpus, "-max_total_time=%d" % seconds, "-timeout=10", "-rss_limit_mb=4096",
                    "-max_len=262144", "-print_final_stats=1"], capture_output=True, text=True, timeout=seconds + 300,
                   cwd=work)
tail = "\n".join(p.stderr.splitlines()[-12:])
check(p.returncode == 0, "fuzzed for %d s: no crash, hang, leak or undefined behaviour\n%s" % (seconds, tail))
runs = [l for l in p.stderr.splitlines() if "stat::number_of_executed_units" in l]
print(runs[0] if runs else tail)
