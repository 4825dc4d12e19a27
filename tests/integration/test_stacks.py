"""The recorded stack of an allocation equals libunwind's full unw_backtrace
at the same call, in a program and a shared library built without frame
pointers and with them: speed must not come from shorter or wrong stacks.
And so for every block of programs that allocate through the stack shapes a
walker reusing part of the thread's previous walk could get wrong
(stackcheck_cases.c, stackcheck_throw.cpp)."""
import collections
import time

from hs import *

SITES = ((777, "main thread"), (778, "second thread"), (779, "signal handler"))

for variant in ("nofp", "fp"):
    argv = [program("stackcheck_" + variant)]
    t = Traced(argv)
    check(t.proc.returncode == 0, "%s: stackcheck exits 0" % variant)
    seen_all = [[int(x, 16) for x in part.split()] for part in t.proc.stdout.split("--")[:3]]
    leaks = analyze("leaks", t.only_trace())
    for (size, where), seen in zip(SITES, seen_all):
        what = "%s, %s" % (variant, where)
        check(len(seen) >= 12, "%s: libunwind saw %d frames" % (what, len(seen)))
        recs = [r for r in leaks["records"] if r["bytes"] == size]
        check(len(recs) == 1, "%s: the %d-byte block is reported" % (what, size))
        stack = recs[0]["stack"]
        recorded = [int(f["address"], 16) for f in stack if not f["inlined"]]
        check(recorded[1:] == seen[1:], "%s: frames past the first are identical (%d frames)" % (what, len(recorded) - 1))
        check(stack[0]["function"] == "lib_alloc" and recorded[0] != seen[0],
              "%s: first frame: lib_alloc, at the malloc call rather than the unw_backtrace call" % what)
        names = [f["function"] for f in stack]
        check(names.count("lib_middle") == 4 and names.count("exe_level") == 5,
              "%s: through 4 lib_middle and 5 exe_level frames" % what)
        check(("main" in names) == (size != 778) and ("on_signal" in names) == (size == 779),
              "%s: the outer frames are the thread's own" % what)
    check(any(f["module"] and f["module"].endswith("libstackcheck_%s.so" % variant) for f in stack),
          "%s: frames in the shared library name it as module" % variant)

# Unwind rules are cached per code address, and dlclose empties the cache:
# stacks through a library loaded where an unloaded one was must still be
# right. The second library usually lands where the first was (the program
# warms the tracer's tables first); a few tries make that all but certain.
# This pair's return addresses do not coincide, so a stale rule would not be
# hit here even without the emptying: this checks the reload, not the cache.
for attempt in range(8):
    t = Traced([program("stackcheck_reload"), os.environ["TEST_PROGRAMS"]])
    check(t.proc.returncode == 0, "stackcheck_reload exits 0: %s" % t.proc.stderr)
    parts = [p.split() for p in t.proc.stdout.split("--")[:2]]
    bases = [int(p[1], 16) for p in parts]
    if bases[0] == bases[1]:
        break
print("library bases: %x, %x (%s, try %d)" % (bases[0], bases[1],
      "the same place" if bases[0] == bases[1] else "different places", attempt + 1))
leaks = analyze("leaks", t.only_trace())
for (size, variant), part in zip(((777, "fp"), (778, "nofp")), parts):
    seen = [int(x, 16) for x in part[2:]]
    recs = [r for r in leaks["records"] if r["bytes"] == size]
    check(len(recs) == 1, "reload, %s: the %d-byte block is reported" % (variant, size))
    recorded = [int(f["address"], 16) for f in recs[0]["stack"] if not f["inlined"]]
    check(len(seen) >= 8 and recorded[1:] == seen[1:],
          "reload, %s: frames past the first are identical (%d frames)" % (variant, len(recorded) - 1))

# A signal handler's stack is walked by libunwind, whose cache of frames
# nothing empties at a dlclose: a library loaded where an unloaded one was,
# with the same code and other frame sizes, was walked with the old one's
# frames (8 of these 16 blocks under "???;plug_call;keep"). Every block
# must be under the one right stack, through main and its call of raise.
t = Traced([program("stackcheck_resignal"), os.environ["TEST_PROGRAMS"]])
check(t.proc.returncode == 0, "stackcheck_resignal exits 0: %s" % t.proc.stderr)
lines = [line.split() for line in t.proc.stdout.splitlines()]
bases = {fields[2] for fields in lines if fields[0] == "base"}
sizes = [int(fields[1]) for fields in lines if fields[0] == "block"]
print("resignal: %d blocks, the libraries at %s" % (len(sizes), "one address" if len(bases) == 1 else "other addresses"))
recs = [r for r in analyze("leaks", t.only_trace())["records"]
        if any(f["function"] == "plug_call" for f in r["stack"])]
names = [[f["function"] or "???" for f in r["stack"] if not f["inlined"]] for r in recs]
check(len(recs) == 1 and recs[0]["blocks"] == len(sizes) == 16 and recs[0]["bytes"] == sum(sizes)
      and names[0][:2] == ["keep", "plug_call"] and {"through", "main"} <= set(names[0]),
      "resignal: the 16 blocks under one stack, keep, plug_call ... through, main (got %s)"
      % ["%d blocks: %s" % (r["blocks"], ";".join(n)) for r, n in zip(recs, names)])

# Every checked block of stackcheck_cases and stackcheck_throw (their cases
# are listed there) has a size of its own and stays allocated. leaks groups
# blocks by stack, so each group of blocks libunwind saw one stack for must
# come back as exactly their blocks and bytes under a stack equal to it past
# the first frame (probe's call of malloc), cut to the innermost MAX_FRAMES.
# A block recorded with any other stack leaves its group short, and another
# group long or a stack no group has.
MAX_FRAMES = 128  # HEAPSCOPE_MAX_FRAMES's default
CASES = {"stackcheck_cases": ("sites", "depths", "vla", "rbp", "tail", "longjmp", "deep", "signal", "timer",
                              "coroutine", "thread", "dlopen"),
         "stackcheck_throw": ("throw", "unwind", "catch", "after")}


def checked_blocks(stdout):
    """[(case, size, libunwind's return addresses)] of the program's lines
    (notes start with '#')."""
    blocks = []
    for line in stdout.splitlines():
        if not line.startswith("#"):
            case, size, *seen = line.split()
            blocks.append((case, int(size), [int(a, 16) for a in seen]))
    return blocks


def compare(what, t, cases):
    """Checks every block's recorded stack; returns the blocks."""
    check(t.proc.returncode == 0, "%s exits 0: %s" % (what, t.proc.stderr[-2000:]))
    blocks = checked_blocks(t.proc.stdout)
    expected = collections.defaultdict(lambda: [0, 0, set()])  # stack: bytes, blocks, cases
    per_case = collections.Counter()
    for case, size, seen in blocks:
        if case != "deep" and len(seen) >= MAX_FRAMES:
            fail("%s, %s: %d frames: cut, where only deep's should be" % (what, case, len(seen)))
        group = expected[tuple(seen[1:MAX_FRAMES])]
        group[0] += size
        group[1] += 1
        group[2].add(case)
        per_case[case] += 1
    for case in cases:
        check(per_case[case] >= 12, "%s, %s: %d blocks checked" % (what, case, per_case[case]))
    sizes = [size for _, size, _ in blocks]
    check(len(set(sizes)) == len(sizes), "%s: every checked block's size is its own" % what)

    got = collections.defaultdict(lambda: [0, 0])
    first = set()
    for r in analyze("leaks", t.only_trace())["records"]:
        stack = [f for f in r["stack"] if not f["inlined"]]
        key = tuple(int(f["address"], 16) for f in stack[1:])
        if key in expected:
            got[key][0] += r["bytes"]
            got[key][1] += r["blocks"]
            first.add((stack[0]["function"], int(stack[0]["address"], 16)))
    wrong = [key for key, group in expected.items() if got[key] != group[:2]]
    for key in wrong[:5]:
        g = expected[key]
        print("  %s: %d blocks, %d bytes (%s) under libunwind's stack of %d frames past the first;"
              " recorded under it: %d blocks, %d bytes" % (what, g[1], g[0], ", ".join(sorted(g[2])),
                                                          len(key), got[key][1], got[key][0]))
    check(not wrong, "%s: %d of %d stacks wrong%s" % (
        what, len(wrong), len(expected),
        " (cases %s)" % ", ".join(sorted(set().union(*(expected[k][2] for k in wrong)))) if wrong else ""))
    unwind_firsts = {seen[0] for _, _, seen in blocks}
    check([f for f, a in first] == ["probe"] and not {a for f, a in first} & unwind_firsts,
          "%s: every first frame is probe's call of malloc, past its call of unw_backtrace" % what)
    print("%s: %d stacks compared, every frame past the first and their count (%d distinct; %s)"
          % (what, len(blocks), len(expected), ", ".join("%s %d" % (c, per_case[c]) for c in cases)))
    return blocks


started = time.time()
for variant in ("nofp", "fp"):
    what = "stackcheck_cases_" + variant
    t = Traced([program(what), os.environ["TEST_PROGRAMS"], variant])
    blocks = compare(what, t, CASES["stackcheck_cases"])
    notes = [line for line in t.proc.stdout.splitlines() if line.startswith("#")]
    deep = sorted({len(seen) for case, _, seen in blocks if case == "deep"})
    check({126, 127, 128, 129, 130, 990, 1000, 1010} <= set(deep),
          "%s, deep: stacks of %s frames, cut to the innermost %d" % (what, deep, MAX_FRAMES))
    check("# coroutine stack reused: same address" in notes,
          "%s, coroutine: the new coroutine's stack is the freed one's block" % what)
    bases = [line.split()[4] for line in notes if line.startswith("# dlopen")]
    same = sum(a == b for a, b in zip(bases[0::2], bases[1::2]))
    check(same >= 1, "%s, dlopen: the second library where the first was in %d of %d rounds"
          % (what, same, len(bases) // 2))
    what = "stackcheck_throw_" + variant
    compare(what, Traced([program(what)]), CASES["stackcheck_throw"])
print("the cases took %.1f s" % (time.time() - started))

# The same oracle on unmodified real programs: with HEAPSCOPE_CHECK_STACKS=1
# every stack the tracer walks is walked again by libunwind's unw_backtrace
# at the same call, and each traced process says at exit how many differed.
# (gcc forks its compiler and assembler: every process must say it.)
CHECK = re.compile(r"^heapscope: stack check: (\d+) walks compared with libunwind's, (\d+) differ, (\d+) unwind rules "
                   r"derived, (\d+) walks left to libunwind \(pid \d+\)$", re.M)
src = os.path.join(workdir("hs-stacks-real-"), "t.c")
with open(src, "w") as f:
    f.write("#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n")
REAL = [
    ("python3", ["/usr/bin/python3", "-c", "import json, re\n"
                 "d = {str(i): [i, 'x' * (i % 50), {'k': i}] for i in range(20000)}\n"
                 "print(len(re.findall('k', json.dumps(d))))"], {"PYTHONMALLOC": "malloc"}, 100000, 1),
    ("sqlite3", ["sqlite3", ":memory:", "create table t(a, b); "
                 "with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000) "
                 "insert into t select x, hex(randomblob(20)) from c; create index i on t(b); select count(*) from t;"],
     {}, 1000, 1),
    ("perl", ["perl", "-e", 'my %h; $h{$_} = "x" x $_ for 1..3000; print scalar(keys %h), "\\n"'], {}, 1000, 1),
    ("git", ["git", "--version"], {}, 10, 1),
    ("gcc", ["gcc", "-c", "-o", src + ".o", src], {}, 100, 3),
]
for name, argv, env, least, processes in REAL:
    t = Traced(argv, env=dict(env, HEAPSCOPE_CHECK_STACKS="1"))
    check(t.proc.returncode == 0, "%s runs traced: %s" % (name, t.proc.stderr[-500:]))
    said = [(int(a), int(b), int(left)) for a, b, _, left in CHECK.findall(t.proc.stderr)]
    check(len(said) >= processes and all(d == 0 for _, d, _ in said) and said[0][0] >= least,
          "%s: every walk of its %d process(es) equals libunwind's (%s walks compared, at least %d in the first;"
          " %s left to libunwind)" % (name, len(said), "+".join(str(c) for c, _, _ in said), least,
                                      "+".join(str(left) for _, _, left in said)))

# makecontext's coroutines return into glibc's __start_context, which no FDE
# covers: libunwind ends a stack there when rbp is 0 (or far from the
# frame), and so does the walker now, rather than leaving every such stack
# to libunwind (it did: 1,000 of 1,000).
t = Traced([program("faults"), "smallstack", "64"], env={"HEAPSCOPE_CHECK_STACKS": "1"})
found = [tuple(map(int, f)) for f in CHECK.findall(t.proc.stderr)]
check(t.proc.returncode == 0 and len(found) == 1 and found[0][0] >= 1000 and found[0][1] == 0 and found[0][3] <= 5,
      "a makecontext coroutine's stacks: equal to libunwind's, walked by the walker (%s)" % t.proc.stderr.strip())

# The walker derives a return address's unwind rule from the CFI once and
# caches it: how many it derived must not grow with the calls. Four call
# sites 256 KiB apart (aliased_sites.c) share their low 18 bits: a cache
# indexed by those bits derived a rule at every call (w9-like programs with
# thousands of call sites spent a fifth of their time so).
derived = {}
for rounds in (10, 20000):
    t = Traced([program("aliased_sites"), str(rounds)], env={"HEAPSCOPE_CHECK_STACKS": "1000"})
    check(t.proc.returncode == 0 and t.proc.stdout == "%d\n" % rounds, "aliased_sites %d runs traced" % rounds)
    found = CHECK.findall(t.proc.stderr)
    check(len(found) == 1 and found[0][1] == "0",
          "aliased_sites %d: one stack check line, no walk differing: %s" % (rounds, t.proc.stderr))
    derived[rounds] = int(found[0][2])
check(derived[20000] == derived[10],
      "unwind rules derived: %d in 10 rounds of 4 aliased call sites, %d in 20000" % (derived[10], derived[20000]))
