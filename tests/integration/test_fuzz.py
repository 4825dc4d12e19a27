"""A fuzzer over the trace reader and the analyzer's model and graph
(libFuzzer, clang, with AddressSanitizer and UndefinedBehaviorSanitizer),
seeded with real traces, run for HEAPSCOPE_FUZZ_SECONDS (60 by default):
no crash, no hang, no leak, no undefined behaviour."""
import os
import shutil
import subprocess
from hs import *

src = os.path.dirname(os.environ["SAMPLE_SOURCES"])
build = os.environ["BUILD_DIR"]
seconds = int(os.environ.get("HEAPSCOPE_FUZZ_SECONDS", "60"))
work = os.path.join(build, "fuzz")
corpus = os.path.join(work, "corpus")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(corpus)

exe = os.path.join(work, "fuzz_trace")
srcs = [os.path.join(src, p) for p in ("tests/fuzz/fuzz_trace.c", "format/format.c", "analyzer/model.c",
                                        "analyzer/graph.c", "analyzer/util.c", "analyzer/rc_objects.c")]
p = run(["clang", "-g", "-O1", "-D_GNU_SOURCE", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=undefined",
         "-I" + os.path.join(src, "format"), "-I" + os.path.join(src, "analyzer")] + srcs + ["-lzstd", "-o", exe])
check(p.returncode == 0, "the fuzzer builds with clang: " + p.stderr[-400:])

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
