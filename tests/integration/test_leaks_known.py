"""A program leaking known blocks from known lines: the leak report has
exactly those bytes, blocks, functions and lines, and nothing else from the
program."""
from hs import *

t = Traced([program("leak_known")])
check(t.proc.returncode == 0, "leak_known exits 0 under heapscope run")
check(t.proc.stdout == native([program("leak_known")]).stdout, "stdout is the native one")
trace = t.only_trace()
leaks = analyze("leaks", trace)
check(leaks["snapshot"] == "exit", "default snapshot is exit")

mine = own(leaks["records"], "leak_known.c")
by_bytes = sorted((r["bytes"], r["blocks"]) for r in mine)
check(by_bytes == [(63, 1), (144, 3), (4096, 1)],
      "the program's leaks are 4096 + 3x48 + 63 bytes in 5 blocks: %s" % by_bytes)
total = sum(r["bytes"] for r in mine), sum(r["blocks"] for r in mine)
check(total == (4096 + 3 * 48 + 63, 5), "leaked bytes and blocks exact: %s" % (total,))

def top(r, n):
    return frames(r)[:n]

big = [r for r in mine if r["bytes"] == 4096][0]
check(top(big, 1) == [("main", "leak_known.c", marker_line("leak_known.c", "LEAK-BIG"))],
      "4096-byte block allocated in main at the LEAK-BIG line")
nodes = [r for r in mine if r["bytes"] in (48, 144)]
node_line = marker_line("leak_known.c", "LEAK-NODE */")
call_line = marker_line("leak_known.c", "LEAK-NODES-CALL")
for r in nodes:
    check(top(r, 2) == [("make_node", "leak_known.c", node_line),
                        ("leak_nodes", "leak_known.c", call_line)],
          "48-byte blocks from make_node <- leak_nodes at the marked lines")
    check(frames(r)[2][0] == "main", "... called from main")
cal = [r for r in mine if r["bytes"] == 63][0]
check(top(cal, 1) == [("main", "leak_known.c", marker_line("leak_known.c", "LEAK-CALLOC"))],
      "calloc(7, 9) block at the LEAK-CALLOC line")
kinds = sorted((r["kind"], r["bytes"], r["blocks"]) for r in mine)
check(kinds == [("definitely_lost", 144, 3), ("definitely_lost", 4096, 1), ("still_reachable", 63, 1)],
      "overwritten pointers: 4096 and 3x48 definitely lost; the block `sink` holds still reachable: %s" % kinds)
check(leaks["records"] == sorted(leaks["records"], key=lambda r: -r["bytes"]),
      "records biggest first")

s = analyze("summary", trace)
check(s["program"] == "leak_known", "summary names the program")
check(consistent(s), "allocations - frees == live blocks at exit (nothing lost)")
check(s["allocations_by_function"]["calloc"] >= 1, "calloc counted")

text = run([HEAPSCOPE, "leaks", trace]).stdout
check("make_node (leak_known.c:%d)" % node_line in text, "text report names function, file and line")
