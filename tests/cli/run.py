#!/usr/bin/env python3
"""The command line's tests, as files (zstd's tests/cli-tests): each case is
a pair, CASE.cmd (the arguments after `heapscope`, one line, split as the
shell would) and CASE.expect (the exit status, then stdout and stderr in
full). A case passes when all three are as expected.

    run.py HEAPSCOPE [CASE...]          run the cases (all, or those named)
    run.py --update HEAPSCOPE [CASE...] write what the cases print into .expect

Cases run in an empty directory; the traces they name do not exist, so each
must stop at the command line (usage, --help, a bad option)."""
import difflib
import os
import shlex
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def cases(names):
    found = []
    for root, _, files in os.walk(HERE):
        for f in files:
            if f.endswith(".cmd"):
                found.append(os.path.relpath(os.path.join(root, f[:-4]), HERE))
    found.sort()
    return [c for c in found if not names or c in names]


def outcome(heapscope, case, cwd):
    with open(os.path.join(HERE, case + ".cmd")) as f:
        args = shlex.split(f.read())
    env = dict(os.environ, LC_ALL="C")
    p = subprocess.run([heapscope] + args, cwd=cwd, env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    return "status %d\n--- stdout\n%s--- stderr\n%s" % (p.returncode, p.stdout, p.stderr)


def main(argv):
    update = "--update" in argv
    argv = [a for a in argv if a != "--update"]
    if not argv:
        sys.exit(__doc__)
    heapscope, names = os.path.abspath(argv[0]), argv[1:]
    failed = 0
    todo = cases(names)
    with tempfile.TemporaryDirectory(prefix="hs-cli-") as cwd:
        for case in todo:
            got = outcome(heapscope, case, cwd)
            path = os.path.join(HERE, case + ".expect")
            if update:
                with open(path, "w") as f:
                    f.write(got)
                continue
            want = open(path).read() if os.path.exists(path) else ""
            if got == want:
                print("ok: " + case)
                continue
            failed += 1
            print("FAIL: " + case)
            sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                       case + ".expect", "what it printed"))
    if not update:
        print("%d of %d cases passed" % (len(todo) - failed, len(todo)))
    sys.exit(1 if failed or not todo else 0)


main(sys.argv[1:])
