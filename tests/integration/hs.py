"""Shared helpers for heapscope's integration tests.

Each test is a script run by ctest. The environment gives the built tools:
HEAPSCOPE (the command), HEAPSCOPE_LIB (libheapscope.so), TEST_PROGRAMS (the
directory of built test programs), TEST_SOURCES (their sources). A test
fails by raising (an assert or fail()); it prints what it checked.
"""
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HEAPSCOPE = os.environ["HEAPSCOPE"]
LIB = os.environ["HEAPSCOPE_LIB"]
PROGRAMS = os.environ.get("TEST_PROGRAMS", "")
SOURCES = os.environ.get("TEST_SOURCES", "")


# The directories of traced runs: removed when the test passes, kept (and
# named) when it fails, to be read.
_dirs = []
_failed = []


def _clean():
    if _failed:
        if _dirs:
            print("traces kept in: " + " ".join(_dirs), file=sys.stderr)
        return
    for d in _dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_clean)
_excepthook = sys.excepthook


def _failing_hook(*exc):
    _failed.append(True)
    _excepthook(*exc)


sys.excepthook = _failing_hook


def workdir(prefix):
    """A fresh directory under /tmp, removed when the test passes."""
    d = tempfile.mkdtemp(prefix=prefix)
    _dirs.append(d)
    return d


def fail(msg):
    _failed.append(True)
    sys.stdout.flush()
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    """A passing check prints one short line (what it found, cut to 200
    characters), so that a failure's whole message stays in a CI log
    that keeps only so much."""
    if not cond:
        fail(msg)
    print("ok: " + (msg if len(msg) <= 200 else msg[:200] + "..."))


def program(name):
    return os.path.join(PROGRAMS, name)


def sample(name):
    """A built sample program (samples/NAME.c)."""
    return os.path.join(os.environ["SAMPLES"], name)


def marker_line(source, marker):
    """The line number of the line holding MARKER in a test program's source
    (tests/programs/), or in a sample's (samples/) when SOURCE starts with a
    two-digit number."""
    base = os.environ["SAMPLE_SOURCES"] if source[:2].isdigit() else SOURCES
    with open(os.path.join(base, source)) as f:
        for i, line in enumerate(f, 1):
            if marker in line:
                return i
    fail("marker %s not in %s" % (marker, source))


def run(argv, env=None, cwd=None, timeout=300, stdin=None, base_env=None):
    """Runs argv with this process's environment (or BASE_ENV) updated by
    ENV; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ if base_env is None else base_env)
    if env:
        e.update(env)
    return subprocess.run(argv, env=e, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=stdin if stdin is not None else subprocess.DEVNULL)


class Traced:
    """A program run under `heapscope run` into a fresh directory."""

    def __init__(self, argv, env=None, output="%e.%p.hst", cwd=None, timeout=300, stdin=None,
                 base_env=None):
        self.dir = workdir("hs-test-")
        self.proc = run([HEAPSCOPE, "run", "-o", os.path.join(self.dir, output), "--"] + argv,
                        env=env, cwd=cwd or self.dir, timeout=timeout, stdin=stdin, base_env=base_env)
        self.traces = sorted(os.path.join(self.dir, f) for f in os.listdir(self.dir)
                             if ".hst" in f)

    def only_trace(self):
        if len(self.traces) != 1:
            fail("expected one trace, found %s; stderr: %s" % (self.traces, self.proc.stderr))
        return self.traces[0]


def analyze(cmd, trace, *args):
    """Runs `heapscope CMD --format json TRACE ARGS`; returns the parsed JSON."""
    p = run([HEAPSCOPE, cmd, "--format", "json", trace] + list(args))
    if p.returncode != 0:
        fail("heapscope %s %s exited %d: %s" % (cmd, trace, p.returncode, p.stderr))
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        fail("heapscope %s printed bad JSON (%s): %s" % (cmd, e, p.stdout[:500]))


def native(argv, env=None, cwd=None, timeout=300):
    return run(argv, env=env, cwd=cwd, timeout=timeout)


def frames(record):
    """(function, basename(file), line) of each frame of a leak record's stack."""
    return [(f["function"], os.path.basename(f["file"]) if f["file"] else None, f["line"])
            for f in record["stack"]]


def top(stack):
    """(function, basename(file), line) of a stack's first frame."""
    f = stack[0]
    return (f["function"], os.path.basename(f["file"]) if f["file"] else None, f["line"])


def own(records, source):
    """Records whose allocation was called from SOURCE itself (its top frame)."""
    return [r for r in records if r["stack"] and r["stack"][0]["file"]
            and os.path.basename(r["stack"][0]["file"]) == source]


def consistent(summary):
    """Every recorded allocation is either freed or live at exit: nothing lost."""
    exit_snap = [s for s in summary["snapshots"] if s["name"] == "exit"]
    if not exit_snap:
        return False
    s = exit_snap[0]
    return (summary["allocations"] - summary["frees"] == s["live_blocks"] and
            summary["bytes_allocated"] - summary["bytes_freed"] == s["live_bytes"])


# ---------------------------------------------------------------- leak kinds
# The four kinds of `heapscope leaks` (valgrind memcheck's), and memcheck
# itself as the reference they are compared with.

KINDS = ("definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable")
HEURISTICS = ("stdstring", "length64", "newarray", "multipleinheritance")
VALGRIND = shutil.which("valgrind")

_VG_KIND = {"definitely lost": "definitely_lost", "indirectly lost": "indirectly_lost",
            "possibly lost": "possibly_lost", "still reachable": "still_reachable"}
_VG_LINE = re.compile(r"^==\d+==\s+(definitely lost|indirectly lost|possibly lost|still reachable):"
                      r" ([\d,]+) bytes in ([\d,]+) blocks?$", re.M)
_VG_IN_USE = re.compile(r"^==\d+==\s+in use at exit: ([\d,]+) bytes in ([\d,]+) blocks?$", re.M)
_VG_HEURISTIC = re.compile(r"^==\d+==\s+(%s)\s*: ([\d,]+) bytes in ([\d,]+) blocks?$" % "|".join(HEURISTICS),
                           re.M)
_VG_RECORD = re.compile(r"^==\d+== ([\d,]+)(?: \(([\d,]+) direct, [\d,]+ indirect\))? bytes in ([\d,]+)"
                        r" blocks? are (definitely lost|indirectly lost|possibly lost|still reachable)"
                        r"(?: \(reachable via heuristic: (\w+)\))? in loss record")
_VG_FRAME = re.compile(r"^==\d+==    (at|by) 0x[0-9A-Fa-f]+: (.*?)(?: \((?:in )?([^()]*)\))?$")


def kinds(dl=(0, 0), il=(0, 0), pl=(0, 0), sr=(0, 0)):
    """{kind: (bytes, blocks)}"""
    return dict(zip(KINDS, (dl, il, pl, sr)))


def table(name, got):
    return "%s: " % name + ", ".join("%s %d bytes in %d blocks" % (k, got[k][0], got[k][1])
                                     for k in KINDS)


def _num(s):
    return int(s.replace(",", ""))


class Memcheck:
    """What one memcheck run said at exit: totals {kind: (bytes, blocks)},
    in_use (bytes, blocks), heuristics {name: (bytes, blocks)} (the "of which
    reachable via heuristic" lines), records (with --show-leak-kinds=all:
    each loss record as a dict kind, bytes (direct), blocks, heuristic,
    stack [(function, file:line or module)], the allocator's own frame
    first), stdout, stderr."""

    def __init__(self, argv, proc):
        self.argv, self.stdout, self.stderr = argv, proc.stdout, proc.stderr
        err = proc.stderr
        use = _VG_IN_USE.search(err)
        if not use:
            fail("no HEAP SUMMARY from valgrind %s: %s" % (" ".join(argv), err[-2000:]))
        self.in_use = (_num(use.group(1)), _num(use.group(2)))
        self.totals = {_VG_KIND[m.group(1)]: (_num(m.group(2)), _num(m.group(3)))
                       for m in _VG_LINE.finditer(err)}
        if not self.totals:
            if "All heap blocks were freed" not in err:
                fail("no LEAK SUMMARY from valgrind %s: %s" % (" ".join(argv), err[-2000:]))
            self.totals = kinds()
        if set(self.totals) != set(KINDS):
            fail("valgrind's LEAK SUMMARY lacks some kinds (%s): %s" % (self.totals, err[-2000:]))
        self.heuristics = {m.group(1): (_num(m.group(2)), _num(m.group(3)))
                           for m in _VG_HEURISTIC.finditer(err)}
        self.records = []
        cur = None
        for line in err.splitlines():
            m = _VG_RECORD.match(line)
            if m:
                cur = {"kind": _VG_KIND[m.group(4)], "bytes": _num(m.group(2) or m.group(1)),
                       "blocks": _num(m.group(3)), "heuristic": m.group(5), "stack": []}
                self.records.append(cur)
                continue
            m = _VG_FRAME.match(line) if cur is not None else None
            if m:
                cur["stack"].append((m.group(2), m.group(3) or ""))
            else:
                cur = None


def memcheck(argv, options=(), env=None, cwd=None, stdin=None, timeout=300, base_env=None):
    """Runs argv under valgrind memcheck with --leak-check=full
    --show-leak-kinds=all and OPTIONS; returns a Memcheck."""
    if not VALGRIND:
        fail("valgrind is needed for this test (the reference for the leak kinds); install it")
    p = run([VALGRIND, "--leak-check=full", "--show-leak-kinds=all", "--error-exitcode=0"]
            + list(options) + list(argv), env=env, cwd=cwd, stdin=stdin, timeout=timeout,
            base_env=base_env)
    if p.returncode != 0:
        fail("valgrind %s exited %d: %s" % (" ".join(argv), p.returncode, p.stderr[-2000:]))
    return Memcheck(argv, p)


def leak_summary(trace, *args):
    """The exit snapshot's four totals of `heapscope leaks` (ARGS added):
    ({kind: (bytes, blocks)}, the JSON)."""
    leaks = analyze("leaks", trace, *args)
    s = leaks["summary"]
    if not all(k in s for k in KINDS):
        fail("heapscope leaks summary has not the four kinds %s: %s" % (KINDS, json.dumps(s)))
    return {k: (s[k]["bytes"], s[k]["blocks"]) for k in KINDS}, leaks
