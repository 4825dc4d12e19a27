"""Every process accounted for: `heapscope run` says one line per process
image on stderr (traced; not traceable, and why; died before its trace was
complete, and by which signal) and the gate's verdict says how many ran and
fails any it could not see whole.

How each child ended is heard from the process that reaped it (the preload's
wait hooks note it in the run log) or by `heapscope run` itself, the
subreaper of every descendant; what an image (or a vfork child) set out to
exec, from the preload's exec hooks.

A process killed before it wrote leaves no trace today ("left no trace
(killed by SIGTERM)"); once every event reaches the file as it is recorded,
it leaves a trace without an end ("...; died before its trace was complete
(killed by SIGTERM); trace PATH"). Both are accepted, and nothing else."""
import os
import re
import tempfile
import time
from hs import *

d = workdir("hs-accounting-")
static = program("static_hello")
PY = "/usr/bin/python3"


def hs_run(argv, *opts, env=None, timeout=120):
    """`heapscope run [OPTS] -- ARGV` with traces into a fresh directory."""
    out = tempfile.mkdtemp(dir=d)
    return run([HEAPSCOPE, "run"] + list(opts) + ["-o", os.path.join(out, "%e.%p.hst"), "--"] + argv,
               env=env, timeout=timeout)


def killed(name, sig, indent="heapscope: "):
    """A line for a process killed by sig before its trace was complete."""
    return (r"%s%s \(pid (\d+)\): (?:left no trace \(killed by %s\)|"
            r"(?:[^;]*(?:; [^;]*)?; )?died before its trace was complete \(killed by %s\)(?:; trace \S+)?)"
            % (re.escape(indent), name, sig, sig))


TRACED = r"heapscope: %s \(pid (\d+)\): [\d,]+ allocations, [^;]+; lost 0 bytes in 0 blocks \([\d,]+ possibly\); trace \S+"

# A multiprocessing pool terminated while its four workers are busy: python
# reaps them (waitpid), each killed by SIGTERM.
pool = os.path.join(d, "pool.py")
with open(pool, "w") as f:
    f.write("import multiprocessing, time\n"
            "def work(x):\n"
            "    time.sleep(30)\n"
            "if __name__ == '__main__':\n"
            "    pool = multiprocessing.Pool(4)\n"
            "    pool.map_async(work, range(8))\n"
            "    time.sleep(1)\n"
            "    pool.terminate()\n"
            "    pool.join()\n"
            "    print('terminated')\n")
p = hs_run([PY, pool])
lines = p.stderr.splitlines()
check(len(lines) > 0 and "runs with PYTHONMALLOC=malloc" in lines[0],
      "first, the line that says CPython runs with malloc: %r" % lines[:1])
lines = lines[1:]
check(p.returncode == 0 and p.stdout == "terminated\n", "the pool: its stdout and status")
check(len(lines) == 5 and re.fullmatch(TRACED % "python3", lines[0]),
      "five lines: the main process traced, then its workers: %r" % lines)
workers = [re.fullmatch(killed("python3", "SIGTERM"), l) for l in lines[1:]]
check(all(workers) and len({w.group(1) for w in workers}) == 4,
      "each of the four workers: killed by SIGTERM before its trace was complete")
p = hs_run([PY, pool], "--gate")
lines = [l for l in p.stderr.splitlines() if "runs with PYTHONMALLOC=malloc" not in l]
check(p.returncode == 1 and p.stdout == "terminated\n", "--gate: FAIL (exit 1), stdout untouched")
check(lines[0] == "heapscope gate: FAIL: 0 bytes in 0 blocks leaked, in 0 of 1 traced processes (5 ran); "
      "4 not seen whole:", "the verdict: 5 ran, 1 traced, 4 not seen whole: %r" % lines[0])
check(len(lines) == 5 and all(re.fullmatch(killed("python3", "SIGTERM", "  "), l) for l in lines[1:]),
      "then one line per worker, killed by SIGTERM: %r" % lines[1:])

# A shell script that runs a static program as a child, by dash (a vfork
# child execs it) and by bash (a traced fork execs it).
NOT_PRELOADABLE = "%s is statically linked: it cannot be traced by preloading" % static
STATIC = r"static_hello \(pid \d+\): %s" % re.escape(NOT_PRELOADABLE)
for shell, traced in (("/bin/sh", 1), ("/bin/bash", 2)):
    script = os.path.join(d, "runs-static-%s.sh" % os.path.basename(shell))
    with open(script, "w") as f:
        f.write("#!%s\n%s\necho after\n" % (shell, static))
    os.chmod(script, 0o755)
    p = hs_run([script])
    lines = p.stderr.splitlines()
    name = os.path.basename(shell)
    check(p.returncode == 0 and p.stdout == "static hello\nafter\n", "%s: stdout and status untouched" % name)
    check(len(lines) == traced + 1 and re.fullmatch("heapscope: " + STATIC, lines[-1])
          and all(l.startswith("heapscope: %s (pid " % name) for l in lines[:-1]),
          "%s: its trace(s), then the static child said: %r" % (name, lines))
    p = hs_run([script], "--gate")
    check(p.returncode == 1 and re.fullmatch(
        r"heapscope gate: FAIL: 0 bytes in 0 blocks leaked, in 0 of %d traced processes \(%d ran\); %s\n"
        % (traced, traced + 1, STATIC), p.stderr), "%s --gate: fails, naming the static child: %r" % (name, p.stderr))

# An orphan: the first process exits at once, its child lives on and is
# killed later. heapscope run, its subreaper, waits for it and reaps it.
start = time.time()
p = hs_run(["/bin/sh", "-c", "/bin/sh -c 'sleep 0.5; kill -KILL $$' & exit 0"])
lines = p.stderr.splitlines()
check(p.returncode == 0 and time.time() - start >= 0.5, "the run lasts until the orphan ended")
check(len(lines) == 4 and sum(bool(re.fullmatch(killed("sh", "SIGKILL"), l)) for l in lines) == 1,
      "the orphan, reaped by heapscope run, killed by SIGKILL: %r" % lines)

# Each of the wait family hears how a child ended, and returns what it
# returns natively.
reaper = program("reaper")
native_out = run([reaper]).stdout
p = hs_run([reaper])
lines = p.stderr.splitlines()
check(p.returncode == 0 and p.stdout == native_out, "the wait family returns what it does natively")
check(len(lines) == 6 and re.fullmatch(TRACED % "reaper", lines[0]) and
      all(re.fullmatch(killed("reaper", sig), l)
          for l, sig in zip(lines[1:], ("SIGKILL", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGALRM"))),
      "wait, waitpid (no status asked), wait3, wait4, waitid: each child's signal: %r" % lines)

# HEAPSCOPE_FOLLOW=0: children are untraced on purpose: counted, not failed.
p = hs_run(["/bin/sh", "-c", "/bin/true; /bin/true"], "--gate", env={"HEAPSCOPE_FOLLOW": "0"})
check(p.returncode == 0 and p.stderr ==
      "heapscope gate: pass: 0 bytes in 0 blocks leaked, in 0 of 1 traced processes (3 ran)\n",
      "HEAPSCOPE_FOLLOW=0: 3 ran, 1 traced, and it passes: %r" % p.stderr)
p = hs_run(["/bin/sh", "-c", "/bin/true; /bin/true"], "--gate")
check(p.returncode == 0 and p.stderr ==
      "heapscope gate: pass: 0 bytes in 0 blocks leaked, in 0 of 3 traced processes (3 ran)\n",
      "followed: 3 ran, 3 traced, it passes: %r" % p.stderr)

# A program that writes over its environment's strings (setproctitle) is
# still found: the preload copied where the run log is at its start.
p = hs_run([program("env_overwrite")])
check(p.returncode == 0 and re.fullmatch(TRACED % "env_overwrite" + "\n", p.stderr),
      "env_overwrite: its trace is in the run log: %r" % p.stderr)
