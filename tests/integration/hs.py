"""Shared helpers for heapscope's integration tests.

Each test is a script run by ctest. The environment gives the built tools:
HEAPSCOPE (the command), HEAPSCOPE_LIB (libheapscope.so), TEST_PROGRAMS (the
directory of built test programs), TEST_SOURCES (their sources). A test
fails by raising (an assert or fail()); it prints what it checked.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HEAPSCOPE = os.environ["HEAPSCOPE"]
LIB = os.environ["HEAPSCOPE_LIB"]
PROGRAMS = os.environ.get("TEST_PROGRAMS", "")
SOURCES = os.environ.get("TEST_SOURCES", "")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg)


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


def run(argv, env=None, cwd=None, timeout=300, stdin=None):
    """Runs argv; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(argv, env=e, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=stdin if stdin is not None else subprocess.DEVNULL)


class Traced:
    """A program run under `heapscope run` into a fresh directory."""

    def __init__(self, argv, env=None, output="%e.%p.hst", cwd=None, timeout=300):
        self.dir = tempfile.mkdtemp(prefix="hs-test-")
        self.proc = run([HEAPSCOPE, "run", "-o", os.path.join(self.dir, output), "--"] + argv,
                        env=env, cwd=cwd or self.dir, timeout=timeout)
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
