"""Unmodified programs of this machine under `heapscope run`: stdout and exit
status identical to the native run, every trace (parents and the children
they fork and exec) complete and readable, and a leak report for each."""
import os
from hs import *

d = workdir("hs-corpus-")
src = os.path.join(d, "hello.c")
with open(src, "w") as f:
    f.write('#include <stdio.h>\nint main(void) { puts("hello from gcc"); return 0; }\n')
words = os.path.join(d, "words.txt")
with open(words, "w") as f:
    for i in range(20000):
        f.write("w%05d %d\n" % ((i * 7919) % 20000, i))
blob = os.path.join(d, "blob.txt")
with open(blob, "w") as f:
    f.write("".join("line %d of some compressible text\n" % i for i in range(100000)))
tcl = os.path.join(d, "t.tcl")
with open(tcl, "w") as f:
    f.write('set d [dict create]\nfor {set i 0} {$i < 5000} {incr i} { dict set d k$i $i }\nputs [dict size $d]\n')
py = "/usr/bin/python3"
PM = {"PYTHONMALLOC": "malloc"}
corpus = [
    ("python3 malloc", [py, "-c", "import json; print(len(json.dumps({str(i): [i] for i in range(20000)})))"], PM),
    ("python3 pymalloc", [py, "-c", "print(sum(len(str(i)) for i in range(100000)))"], {}),
    ("python3 threads", [py, "-c", "import threading\nr=[]\ndef f(n): r.append(sum(len(str(i)) for i in range(n)))\n"
                         "ts=[threading.Thread(target=f, args=(20000,)) for _ in range(4)]\n[t.start() for t in ts]\n"
                         "[t.join() for t in ts]\nprint(sorted(r))"], PM),
    ("python3 subprocess", [py, "-c", "import subprocess; print(subprocess.run(['echo', 'child'], capture_output=True,"
                            " text=True).stdout.strip())"], PM),
    ("sqlite3", ["sqlite3", ":memory:", "create table t(a); insert into t select value from generate_series(1, 5000);"
                 " select count(*), sum(a) from t;"], {}),
    ("perl", ["perl", "-e", 'my %h = map { $_ => [$_] } 1..5000; print scalar(keys %h), "\\n"'], {}),
    ("git", ["git", "-C", os.path.dirname(os.environ["SAMPLE_SOURCES"]), "log", "--oneline", "-5"], {}),
    ("jq", ["jq", "-c", "[.[] | select(. % 3 == 0)] | length"], {}, "[" + ",".join(str(i) for i in range(3000)) + "]"),
    ("xz threads", ["sh", "-c", "xz -T2 -c %s | md5sum" % blob], {}),
    ("zstd threads", ["sh", "-c", "zstd -T2 -c -q %s | md5sum" % blob], {}),
    ("sort", ["sort", "-k2,2n", words], {}),
    ("awk", ["awk", "{ s += $2; c[$1]++ } END { print s, length(c) }", words], {}),
    ("gcc", ["gcc", "-O1", "-o", os.path.join(d, "hello"), src], {}),
    ("tclsh", ["tclsh", tcl], {}),
    ("cppcheck", ["cppcheck", "-q", "--enable=warning", src], {}),
    ("bash", ["bash", "-c", "for i in $(seq 1 200); do x[$i]=$((i*i)); done; echo ${#x[@]}; ls / | wc -l"], {}),
]
for entry in corpus:
    name, argv, env = entry[0], entry[1], entry[2]
    stdin = entry[3] if len(entry) > 3 else None
    n = run(argv, env=env, stdin=None) if stdin is None else None
    if stdin is not None:
        import subprocess
        n = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=dict(os.environ, **env))
        t_dir = workdir("hs-test-")
        tp = subprocess.run([HEAPSCOPE, "run", "-o", os.path.join(t_dir, "%e.%p.hst"), "--"] + argv, input=stdin,
                            capture_output=True, text=True, env=dict(os.environ, **env))
        traces = [os.path.join(t_dir, f) for f in os.listdir(t_dir) if ".hst" in f]
        stdout, code = tp.stdout, tp.returncode
    else:
        t = Traced(argv, env=env, timeout=600)
        traces, stdout, code = t.traces, t.proc.stdout, t.proc.returncode
    check(stdout == n.stdout and code == n.returncode,
          "%s: stdout (%d bytes) and status (%d) as natively" % (name, len(n.stdout), n.returncode))
    check(len(traces) >= 1, "%s: %d trace(s)" % (name, len(traces)))
    for tr in traces:
        s = analyze("summary", tr)
        lk = analyze("leaks", tr)
        ok = s["damage"] is None and s["end"] in ("exit", "exec") and isinstance(lk["records"], list)
        check(ok, "%s: %s complete, %d allocations, leak report %s" % (
            name, os.path.basename(tr), s["allocations"],
            ", ".join("%s %d" % (k, v["bytes"]) for k, v in lk["summary"].items())))
if os.path.exists(os.path.join(d, "hello")):
    check(run([os.path.join(d, "hello")]).stdout == "hello from gcc\n", "the program gcc built under heapscope runs")
