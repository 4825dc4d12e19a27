"""Programs that cannot be traced by preloading: `heapscope run` says so in
one line on stderr, runs them untouched and exits with their status; with
--gate it fails (exit 1, or the program's own failing status) with a verdict
that says why. Statically linked (and static-pie) programs, found through
PATH and behind a `#!` script; a set-user-ID copy of a dynamic program owned
by another user (the loader's secure-execution mode drops LD_PRELOAD, as a
plain LD_PRELOAD run shows); and a traced first process that left no trace
of its last image (it exec'd a static program, or was killed first)."""
import os
import re
import shutil
import signal
import stat
import tempfile
import xml.etree.ElementTree as ET
from hs import *

d = workdir("hs-untraceable-")
static, static_pie = program("static_hello"), program("static-pie_hello")
NOT_PRELOADABLE = "it cannot be traced by preloading; running it untraced"


def hs_run(argv, *opts, env=None):
    """`heapscope run [OPTS] -- ARGV` with traces into d; (process, traces made)."""
    out = tempfile.mkdtemp(dir=d)
    p = run([HEAPSCOPE, "run"] + list(opts) + ["-o", os.path.join(out, "%e.%p.hst"), "--"] + argv,
            env=env, timeout=60)
    return p, os.listdir(out)


def untraced(argv, why, status, stdout="static hello\n", env=None):
    """Runs argv plainly and with --gate; checks the line, status, stdout and verdict."""
    p, traces = hs_run(argv, env=env)
    line = "heapscope: %s: %s\n" % (why, NOT_PRELOADABLE)
    check(p.stderr == line, "%s: one line: %s (got %r)" % (argv[0], line, p.stderr))
    check(p.returncode == status and p.stdout == stdout and not traces,
          "%s: its status (%d) and stdout, no trace" % (argv[0], status))
    p, traces = hs_run(argv, "--gate", env=env)
    verdict = ("heapscope gate: FAIL: 0 bytes in 0 blocks leaked, in 0 of 0 traced processes (1 ran); "
               "%s: it cannot be traced by preloading\n" % why)
    check(p.stderr == verdict, "--gate: one line, the verdict says why: %r" % p.stderr)
    check(p.returncode == (status or 1) and p.stdout == stdout,
          "--gate: exit %d (%s)" % (status or 1, "the program's own" if status else "it could not be traced"))


# Statically linked, static-pie, a failing static program, found through PATH.
untraced([static], "%s is statically linked" % static, 0)
untraced([static_pie], "%s is statically linked" % static_pie, 0)
untraced([static, "fail"], "%s is statically linked" % static, 3)
path_env = {"PATH": PROGRAMS + ":" + os.environ.get("PATH", "")}
untraced(["static_hello"], "%s is statically linked" % static, 0, env=path_env)

# A script run by a static interpreter, by path and through PATH.
script = os.path.join(d, "by-static.sh")
with open(script, "w") as f:
    f.write("#!%s\n" % static)
os.chmod(script, 0o755)
why = "%s is run by %s, which is statically linked" % (script, static)
untraced([script], why, 0)
untraced([script, "fail"], why, 3)
untraced(["by-static.sh"], why, 0, env={"PATH": d + ":" + os.environ.get("PATH", "")})
# ... a script by a dynamic interpreter is traced as before
shell_script = os.path.join(d, "by-sh.sh")
with open(shell_script, "w") as f:
    f.write("#!/bin/sh\necho shell\n")
os.chmod(shell_script, 0o755)
p, traces = hs_run([shell_script])
check(p.returncode == 0 and p.stdout == "shell\n" and len(traces) == 1 and "cannot be traced" not in p.stderr,
      "a script run by /bin/sh is traced, without the line")

# A set-user-ID copy of a dynamic program, owned by nobody (we are root).
if os.getuid() != 0:
    fail("this test runs as root (it makes a set-user-ID file owned by another user)")
suid = os.path.join(d, "gate_demo_suid")
shutil.copy(program("gate_demo"), suid)
os.chown(suid, 65534, -1)
os.chmod(suid, 0o755 | stat.S_ISUID)
os.chmod(d, 0o755)
plain = os.path.join(d, "plain.hst")
p = run([suid, "clean"], env={"LD_PRELOAD": LIB, "HEAPSCOPE_OUTPUT": plain})
check(p.returncode == 0 and p.stdout == "done\n" and not os.path.exists(plain),
      "preloaded by hand, the set-user-ID program runs and leaves no trace (the loader dropped LD_PRELOAD)")
why = "%s is set-user-ID to uid 65534 (the loader ignores LD_PRELOAD in secure-execution mode)" % suid
untraced([suid, "clean"], why, 0, stdout="done\n")
untraced([suid, "fail"], why, 3, stdout="done\n")
os.chown(suid, 0, -1)   # chown drops the bit
os.chmod(suid, 0o755 | stat.S_ISUID)
p, traces = hs_run([suid, "clean"])
check(p.returncode == 0 and len(traces) == 1 and "cannot be traced" not in p.stderr,
      "set-user-ID to ourselves (root): traced, without the line")

# The first process was traced, but its last image left no trace: the image
# it exec'd is named (the preload notes what each image sets out to exec).
EXECD = r"static_hello \(pid \d+\): %s is statically linked: it cannot be traced by preloading" % re.escape(static)
KILLED = r"sh \(pid \d+\): died before its trace was complete \(killed by SIGKILL\)"
p, traces = hs_run(["/bin/sh", "-c", "exec %s" % static], "--gate")
check(p.returncode == 1 and p.stdout == "static hello\n" and len(traces) == 1,
      "sh -c 'exec static', --gate: exit 1, stdout untouched, the shell's trace")
check(re.fullmatch(r"heapscope gate: FAIL: 0 bytes in 0 blocks leaked, in 0 of 1 traced processes \(2 ran\); %s\n"
                   % EXECD, p.stderr), "its verdict says why, in one line: %r" % p.stderr)
p, traces = hs_run(["/bin/sh", "-c", "exec %s" % static])
lines = p.stderr.splitlines()
check(p.returncode == 0 and len(lines) == 2 and lines[0].startswith("heapscope: sh (pid ")
      and re.fullmatch("heapscope: " + EXECD, lines[1]),
      "without --gate: the shell's line, then one line saying so: %r" % p.stderr)
p, traces = hs_run(["/bin/sh", "-c", "exec %s" % static], env={"HEAPSCOPE_FOLLOW": "0"})
check(p.returncode == 0 and len(p.stderr.splitlines()) == 1, "HEAPSCOPE_FOLLOW=0: exec'd images untraced on purpose, "
      "nothing said")
p, traces = hs_run(["/bin/sh", "-c", "kill -KILL $$"], "--gate")
# (its records reached the journal as they were made: the trace reads)
check(p.returncode == -signal.SIGKILL and len([x for x in traces if x.endswith(".hst")]) == 1
      and any(x.endswith(".hst.journal") for x in traces),
      "a program killed at once: killed the same way, its trace and journal left: %s" % traces)
check(re.fullmatch(r"heapscope gate: FAIL: 0 bytes in 0 blocks leaked, in 0 of 0 traced processes \(1 ran\); %s\n"
                   % KILLED, p.stderr), "its verdict says it died before its trace was complete, and how: %r" % p.stderr)
p, traces = hs_run(["/bin/sh", "-c", "kill -KILL $$"])
check(p.returncode == -signal.SIGKILL and re.fullmatch(r"heapscope: sh \(pid \d+\): .*; died before its trace was "
                                                       r"complete \(killed by SIGKILL\); trace .*\n", p.stderr),
      "without --gate, its one line says it died before its trace was complete: %r" % p.stderr)
p, traces = hs_run([os.path.join(d, "no-such-program")], "--gate")
check(p.returncode == 127 and "left no trace" not in p.stderr and p.stderr.endswith(
      "in 0 of 0 traced processes (0 ran); %s could not be run\n" % os.path.join(d, "no-such-program")),
      "a program that cannot be run: exec's own error, and the verdict says so: %r" % p.stderr)

# JUnit: the untraced program is a test case in error.
junit = os.path.join(d, "junit.xml")
p, traces = hs_run([static], "--gate", "--junit", junit)
root = ET.parse(junit).getroot()
case = root.findall("testsuite/testcase")
check(p.returncode == 1 and root.get("tests") == "1" and root.get("errors") == "1" and len(case) == 1 and
      case[0].find("error").get("message") == "%s is statically linked: it cannot be traced by preloading" % static,
      "JUnit: one test case, in error, saying why")
