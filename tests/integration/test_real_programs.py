"""Unmodified real programs under `heapscope run`: stdout and exit status are
the native ones, and every trace they leave is readable and consistent."""
import os
from hs import *

def compare(name, argv, env=None, cwd=None, min_allocs=100):
    n = native(argv, env=env, cwd=cwd)
    t = Traced(argv, env=env, cwd=cwd)
    check(t.proc.stdout == n.stdout, "%s: stdout identical (%d bytes)" % (name, len(n.stdout)))
    check(t.proc.returncode == n.returncode, "%s: exit status identical (%d)" % (name, n.returncode))
    check(len(t.traces) >= 1, "%s: %d trace(s)" % (name, len(t.traces)))
    total = 0
    for tr in t.traces:
        s = analyze("summary", tr)
        total += s["allocations"]
        check(s["end"] in ("exit", "exec") and s["damage"] is None, "%s: %s complete" % (name, os.path.basename(tr)))
        if s["end"] == "exit" and s["threads"] <= 1:
            check(consistent(s), "%s: %s allocations - frees == live at exit" % (name, os.path.basename(tr)))
        leaks = analyze("leaks", tr)
        check(isinstance(leaks["records"], list), "%s: leak report readable" % name)
    check(total >= min_allocs, "%s: %d allocations recorded" % (name, total))
    return t

py = "/usr/bin/python3"
compare("python3", [py, "-c", "import json\nd = {str(i): [i] * 10 for i in range(20000)}\nprint(len(json.dumps(d)))"],
        env={"PYTHONMALLOC": "malloc"}, min_allocs=20000)
compare("python3 exit status", [py, "-c", "import sys; print('bye'); sys.exit(5)"], env={"PYTHONMALLOC": "malloc"})
compare("sqlite3", ["sqlite3", ":memory:",
        "create table t(a, b); with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000) "
        "insert into t select x, hex(randomblob(16)) from c; create index i on t(b); select count(*), sum(a) from t;"],
        min_allocs=1000)
compare("perl", ["perl", "-e", 'my %h; $h{$_} = "x" x $_ for 1..3000; print scalar(keys %h), "\\n"; exit 3'],
        min_allocs=3000)

repo = workdir("hs-git-")
genv = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t", "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z", "HOME": repo}
for cmd in (["git", "init", "-q"], ["git", "config", "commit.gpgsign", "false"]):
    native(cmd, env=genv, cwd=repo)
for i in range(3):
    with open(os.path.join(repo, "f%d.txt" % i), "w") as f:
        f.write("line %d\n" % i * 100)
    native(["git", "add", "."], env=genv, cwd=repo)
    native(["git", "commit", "-q", "-m", "commit %d" % i], env=genv, cwd=repo)
compare("git log", ["git", "log", "--stat", "--format=%H %s"], env=genv, cwd=repo)
compare("git status", ["git", "status", "--porcelain", "--branch"], env=genv, cwd=repo)
