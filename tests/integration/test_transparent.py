"""The traced program cannot tell, from what the allocator tells it, that it
is traced: tests/programs/transparent.c prints the distance between
consecutive blocks, the heap bytes its blocks cost, malloc_usable_size of
blocks from every allocation function (0..600 bytes, around the 128 KiB mmap
threshold, a few MiB), whether realloc moves a block, alignment, contents
kept across realloc, calloc's zeroes and whether a block filled to its usable
size leaves its neighbour alone, and prints the same bytes natively, under
`heapscope run` and under plain LD_PRELOAD. The leak report then lists the
blocks it keeps with exactly the sizes it asked for. (test_invisible checks
the other way a program could tell: its threads.)

The tracer allocates from glibc's heap before main (dlsym's error strings
while it looks for other allocators, some freed again; under plain
LD_PRELOAD, a copy of the environment when it sets HEAPSCOPE_ROOT_PID; their
sizes follow the tracer's path and the environment), so the program's heap
starts further in and glibc's per-size cache may hold blocks it never freed.
The program measures so that neither counts (see its header), except on its
lines starting "layout": the usable size of a heap block aligned past 16
bytes, which depends on where the block sits. Those are compared between
native runs only; how many differ traced is printed as a note."""
import difflib
import os
import re
from hs import *

argv = [program("transparent")]
FUNCTIONS = ("malloc", "calloc", "realloc", "reallocarray", "posix_memalign", "aligned_alloc", "memalign",
             "valloc", "pvalloc")
KEPT = [1, 13, 4097, 200000]  # keep_from_* in transparent.c


def compared(text):
    return [line for line in text.splitlines(True) if not line.startswith("layout")]


# A block below 64 KiB carries the tracer's 16-byte tag at the end of its
# chunk, hidden from malloc_usable_size: the program asks for what it asked,
# gets the usable size it would, but its chunks are 16 bytes longer. So what
# the program can measure of the heap's layout differs, exactly: blocks are
# 16 bytes further apart, 16 more heap bytes are in use per block, and two
# neighbours are 16 bytes further apart than a's usable size says. And where
# realloc grew a block in place into a neighbour too small to split off,
# native keeps that remainder in the block (a larger usable size) where the
# tracer's longer chunk leaves one to split: the traced usable size is then
# smaller than native's, never smaller than asked.
TAG = 16


def as_traced(native_line, traced_line):
    """native_line as the traced program prints it, or None if it differs
    by what the tag explains (checked here)."""
    m = re.match(r"distance (\w+)\((\d+)(?:, (\d+))?\) to .*: (\d+)\n", native_line)
    if m:
        return native_line[:native_line.rindex(":")] + ": %d\n" % (int(m.group(4)) + TAG)
    m = re.match(r"heap bytes in use for (\d+) malloc\((\d+)\): (\d+)\n", native_line)
    if m:
        return native_line[:native_line.rindex(":")] + ": %d\n" % (int(m.group(3)) + TAG * int(m.group(1)))
    if native_line.endswith(": neighbours\n"):
        return native_line.replace(": neighbours", ": apart")
    m = re.match(r"usable realloc(?:array)?-grow (\d+): usable (\d+)\n", native_line)
    n = re.match(r"usable realloc(?:array)?-grow (\d+): usable (\d+)\n", traced_line)
    if m and n and m.group(1) == n.group(1) and int(m.group(1)) <= int(n.group(2)) < int(m.group(2)):
        print("note: %s grown in place keeps %d usable bytes natively, %d traced"
              % (m.group(1), int(m.group(2)), int(n.group(2))))
        return traced_line
    return native_line


def translated(native_text, traced_text):
    a, b = compared(native_text), compared(traced_text)
    if len(a) != len(b):
        return a
    return [as_traced(x, y) for x, y in zip(a, b)]


def differences(expected, got, limit=30):
    d = list(difflib.unified_diff(expected, got, "native", "traced", n=0))
    return "".join(d[:limit]) + ("... (%d more diff lines)\n" % (len(d) - limit) if len(d) > limit else "")


n = native(argv)
again = native(argv)
check(n.returncode == 0 and again.returncode == 0, "transparent exits 0 natively")
lines = n.stdout.splitlines()
check(n.stdout == again.stdout,
      "natively, two runs print the same %d lines (%d of them layout)"
      % (len(lines), sum(line.startswith("layout") for line in lines)))
bad = [line for line in lines if any(w in line for w in ("MISALIGNED", "NOT ", ": NO", "CHANGED"))]
check(not bad, "natively every block is aligned, kept its contents, was zeroed and could be filled: %s" % bad[:5])
check(lines[-1] == "kept 36 blocks", "it keeps 4 blocks from each of the 9 functions: %r" % lines[-1])

t = Traced(argv)
check(t.proc.returncode == 0, "transparent exits 0 under heapscope run: %s" % t.proc.stderr[-500:])
want = translated(n.stdout, t.proc.stdout)
check(compared(t.proc.stdout) == want,
      "under heapscope run, the same %d compared lines, byte for byte, but for the tag's 16 bytes\n%s"
      % (len(want), differences(want, compared(t.proc.stdout))))

# plain LD_PRELOAD: here the preload sets HEAPSCOPE_ROOT_PID itself, so the
# program's heap starts further in than under heapscope run
out = workdir("hs-transparent-")
p = run(argv, env={"LD_PRELOAD": LIB, "HEAPSCOPE_OUTPUT": os.path.join(out, "%e.%p.hst")})
check(p.returncode == 0 and len(os.listdir(out)) == 1,
      "transparent exits 0 under LD_PRELOAD, one trace: %s" % os.listdir(out))
want = translated(n.stdout, p.stdout)
check(compared(p.stdout) == want,
      "under LD_PRELOAD, the same compared lines, byte for byte, but for the tag's 16 bytes\n%s"
      % differences(want, compared(p.stdout)))

moved = sum(a != b for a, b in zip(n.stdout.splitlines(), t.proc.stdout.splitlines()))
print("note: %d layout lines differ under heapscope run (not compared: the tracer's allocations before main "
      "move the heap's start)" % moved)

trace = t.only_trace()
leaks = analyze("leaks", trace)
for fn in FUNCTIONS:
    mine = [r for r in leaks["records"] if r["stack"] and r["stack"][0]["function"] == "keep_from_" + fn]
    got = sorted((r["bytes"], r["blocks"], r["kind"]) for r in mine)
    check(got == [(size, 1, "still_reachable") for size in KEPT],
          "%s: the leak report lists blocks of exactly %s bytes, one each, still reachable: %s" % (fn, KEPT, got))
mine = own(leaks["records"], "transparent.c")
check(sum(r["blocks"] for r in mine) == 36 and sum(r["bytes"] for r in mine) == 9 * sum(KEPT),
      "nothing else of the program's is live at exit: %d blocks, %d bytes"
      % (sum(r["blocks"] for r in mine), sum(r["bytes"] for r in mine)))

s = analyze("summary", trace)
check(consistent(s), "allocations - frees == live blocks and bytes at exit")
for fn in FUNCTIONS:
    check(s["allocations_by_function"].get(fn, 0) >= len(KEPT),
          "%s recorded (%d calls)" % (fn, s["allocations_by_function"].get(fn, 0)))
