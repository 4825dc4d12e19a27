"""heapscope export: folded stacks, a gzipped pprof profile and JSON from a
trace with known allocations; every format's totals equal the trace's
(summary's allocations and bytes, the live bytes leaks reports)."""
import gzip
import os
import pty
import re
import shutil
import subprocess

from hs import *

t = Traced([program("leak_known")])
check(t.proc.returncode == 0, "leak_known runs under heapscope")
tr = t.only_trace()
summary = analyze("summary", tr)
leaks = analyze("leaks", tr)
allocs, allocated = summary["allocations"], summary["bytes_allocated"]
live = sum(k["bytes"] for k in leaks["summary"].values())
check(live == summary["leaks"]["not_freed"]["bytes"] and live > 0,
      "leaks' live bytes (%d) equal summary's not_freed" % live)

# The known leak: 3 blocks of 48 bytes from make_node, called by leak_nodes,
# called by main. Its stack, root first, as leaks names it.
nodes = [r for r in leaks["records"] if (r["bytes"], r["blocks"]) == (144, 3)]
check(len(nodes) == 1, "leaks has the 3 x 48-byte record")
known = ";".join(f["function"] or "???" for f in reversed(nodes[0]["stack"]))
check("main;leak_nodes;make_node" in known, "its stack, root first: " + known)


def export(*args, binary=False):
    p = subprocess.run([HEAPSCOPE, "export", tr] + list(args), capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=300)
    if p.returncode != 0:
        fail("heapscope export %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr.decode()))
    return p.stdout if binary else p.stdout.decode()


# --- collapsed ---------------------------------------------------------------

def folded(value=None):
    out = export("--to", "collapsed", *(["--value", value] if value else []))
    lines = {}
    for line in out.splitlines():
        m = re.match(r"^(\S.*) (\d+)$", line)
        if not m:
            fail("not a folded line: %r" % line)
        if m.group(1) in lines:
            fail("stack printed twice (not merged): " + m.group(1))
        if any(not f for f in m.group(1).split(";")):
            fail("empty frame in " + m.group(1))
        lines[m.group(1)] = int(m.group(2))
    return lines


by_bytes = folded()
check(sum(by_bytes.values()) == allocated,
      "collapsed bytes total %d = bytes_allocated %d" % (sum(by_bytes.values()), allocated))
check(folded("bytes") == by_bytes, "--value bytes is the default")
by_count = folded("allocations")
check(sum(by_count.values()) == allocs, "collapsed allocations total %d = allocations %d" % (sum(by_count.values()), allocs))
by_live = folded("live")
check(sum(by_live.values()) == live, "collapsed live total %d = leaks' live bytes %d" % (sum(by_live.values()), live))
node_lines = [k for k in by_bytes if "main;leak_nodes;make_node" in k]
check(len(node_lines) == 1 and node_lines[0] == known, "one line for the leak_nodes stack: " + str(node_lines))
check((by_bytes[known], by_count[known], by_live[known]) == (144, 3, 144),
      "its values: 144 bytes, 3 allocations, 144 live")
# main's own calls (4096, the freed loop, calloc 7*9) symbolize the same: one line
mains = [k for k in by_bytes if k.endswith(";main")]
check(len(mains) == 1 and by_bytes[mains[0]] >= 4096 + 5050 + 63, "main's own allocations merge into one line")

# --- pprof -------------------------------------------------------------------

def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, i


def fields(b):
    """(field, value) of a protobuf message: ints for varints, bytes for
    length-delimited fields."""
    out, i = [], 0
    while i < len(b):
        key, i = varint(b, i)
        f, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wire == 1:
            v, i = int.from_bytes(b[i:i + 8], "little"), i + 8
        elif wire == 5:
            v, i = int.from_bytes(b[i:i + 4], "little"), i + 4
        else:
            fail("bad protobuf wire type %d" % wire)
        if i > len(b):
            fail("protobuf field runs past its message")
        out.append((f, v))
    return out


def ints(v):
    """A repeated integer field's occurrence: packed bytes or one varint."""
    if isinstance(v, int):
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        out.append(x)
    return out


def get(msg, f, default=0):
    vals = [v for k, v in msg if k == f]
    return vals[-1] if vals else default


out_file = os.path.join(t.dir, "heap.pb.gz")
p = run([HEAPSCOPE, "export", tr, "--to", "pprof", "-o", out_file])
check(p.returncode == 0 and p.stdout == "" and os.path.getsize(out_file) > 0, "pprof written with -o")
raw = open(out_file, "rb").read()
check(raw[:2] == b"\x1f\x8b", "the file is gzip")
check(export("--to", "pprof", binary=True) == raw, "the same profile on stdout (a pipe)")
data = gzip.decompress(raw)

protoc = shutil.which("protoc")
if not protoc:
    fail("protoc not found (Debian protobuf-compiler; scripts/setup installs it)")
d = subprocess.run([protoc, "--decode_raw"], input=data, capture_output=True, timeout=60)
check(d.returncode == 0, "protoc --decode_raw parses the profile: %s" % d.stderr.decode().strip())
text = d.stdout.decode(errors="replace")
for s in ("alloc_objects", "alloc_space", "inuse_space", "count", "bytes"):
    check('"%s"' % s in text, "decode_raw shows the string %s" % s)

prof = fields(data)
strings = [v.decode() for f, v in prof if f == 6]
check(strings and strings[0] == "", "string_table starts with \"\"")
stypes = [(strings[get(fields(v), 1)], strings[get(fields(v), 2)]) for f, v in prof if f == 1]
check(stypes == [("alloc_objects", "count"), ("alloc_space", "bytes"), ("inuse_space", "bytes")],
      "sample types alloc_objects/count, alloc_space/bytes, inuse_space/bytes: %s" % stypes)
period_type = fields(get(prof, 11, b""))
check((strings[get(period_type, 1)], strings[get(period_type, 2)]) == ("space", "bytes"), "period_type space/bytes")
check(get(prof, 9) == summary["start_unix_ns"] and get(prof, 10) == summary["duration_ns"],
      "time_nanos and duration_nanos are the run's")

functions = {}
for f, v in prof:
    if f == 5:
        fn = fields(v)
        functions[get(fn, 1)] = (strings[get(fn, 2)], strings[get(fn, 4)])
locations = {}
for f, v in prof:
    if f == 4:
        loc = fields(v)
        # lines: innermost (inlined) first, the function holding them last
        locations[get(loc, 1)] = [functions[get(fields(l), 1)][0] for k, l in loc if k == 4]
mappings = {get(fields(v), 1) for f, v in prof if f == 3}
check(all(get(fields(v), 2) in mappings | {0} for f, v in prof if f == 4), "locations name known mappings")
samples = []
for f, v in prof:
    if f == 2:
        s = fields(v)
        ids = [x for k, x in s if k == 1 for x in ints(x)]
        vals = [x for k, x in s if k == 2 for x in ints(x)]
        if len(vals) != 3 or not ids or any(i not in locations for i in ids):
            fail("bad sample: ids %s values %s" % (ids, vals))
        names = [n for i in ids for n in locations[i]]  # leaf first
        samples.append((";".join(reversed(names)), vals))
sums = [sum(v[k] for _, v in samples) for k in range(3)]
check(sums == [allocs, allocated, live],
      "sample sums %s = allocations, bytes_allocated, live bytes %s" % (sums, [allocs, allocated, live]))
mine = [v for k, v in samples if k == known]
check(mine == [[3, 144, 144]], "the leak_nodes sample: 3 objects, 144 bytes, 144 in use: %s" % mine)

# --- json --------------------------------------------------------------------

j = json.loads(export("--to", "json"))
check(j["totals"] == {"allocations": allocs, "bytes_allocated": allocated,
                      "live_blocks": summary["leaks"]["not_freed"]["blocks"], "live_bytes": live},
      "json totals are the trace's: %s" % j["totals"])
check(j["snapshot"] == "exit", "json names the snapshot")
check((sum(s["allocations"] for s in j["stacks"]), sum(s["bytes"] for s in j["stacks"]),
       sum(s["live_bytes"] for s in j["stacks"])) == (allocs, allocated, live), "json stacks add up to the totals")
js = [s for s in j["stacks"]
      if ";".join(f["function"] or "???" for f in reversed(s["stack"])) == known]
check(len(js) == 1 and (js[0]["allocations"], js[0]["bytes"], js[0]["live_blocks"], js[0]["live_bytes"]) ==
      (3, 144, 3, 144), "json has the leak_nodes stack with its totals")
check(js[0]["stack"][0]["function"] == "make_node" and js[0]["stack"][0]["line"] ==
      marker_line("leak_known.c", "LEAK-NODE"), "json frames are symbolized, leaf first (as in leaks)")
check(analyze("export", tr) == j, "--format json alone means --to json")

# --- errors --------------------------------------------------------------------

def error(argv, what):
    p = run([HEAPSCOPE, "export"] + argv)
    check(p.returncode == 2 and p.stdout == "" and p.stderr.count("\n") == 1,
          "%s: one line, exit 2: %s" % (what, p.stderr.strip()))


error([tr, "--to", "svg"], "unknown --to")
error([tr], "no --to")
error([tr, "--to", "collapsed", "--value", "frees"], "unknown --value")
error([tr, "--to", "collapsed", "--snapshot", "nosuch"], "unknown snapshot")
error([os.path.join(t.dir, "missing.hst"), "--to", "json"], "missing file")
error([tr, "--to", "json", "-o", os.path.join(t.dir, "no", "such", "dir.json")], "unwritable -o")
master, slave = pty.openpty()
p = subprocess.run([HEAPSCOPE, "export", tr, "--to", "pprof"], stdout=slave, stderr=subprocess.PIPE,
                   stdin=subprocess.DEVNULL, timeout=60)
os.close(slave)
os.close(master)
check(p.returncode == 2 and p.stderr.decode().count("\n") == 1 and "-o" in p.stderr.decode(),
      "pprof to a terminal is refused: %s" % p.stderr.decode().strip())
