"""The client API: tags name the type of leaked blocks, hs_snapshot takes
named snapshots with exact contents, hs_ignore hides a block; without the
preload the calls do nothing and the program runs the same."""
from hs import *

argv = [program("api_use")]
n = native(argv)
check(n.returncode == 0 and n.stdout == "sum 17\n", "runs without the preload")
t = Traced(argv)
check(t.proc.stdout == n.stdout and t.proc.returncode == 0, "runs the same under heapscope")
tr = t.only_trace()
s = analyze("summary", tr)
snaps = [x["name"] for x in s["snapshots"]]
check(snaps == ["start", "built", "exit"], "snapshots start, built, exit: %s" % snaps)
start, built = s["snapshots"][0], s["snapshots"][1]
check(built["live_blocks"] - start["live_blocks"] == 10 and
      built["live_bytes"] - start["live_bytes"] == 160, "10 nodes of 16 bytes between start and built")
leaks = analyze("leaks", tr)
mine = own(leaks["records"], "api_use.c")
by_line = {r["stack"][0]["line"]: r for r in mine}
node, buf = marker_line("api_use.c", "LEAK-NODE"), marker_line("api_use.c", "LEAK-BUF")
check(sorted(by_line) == sorted([node, buf]), "leaks at the node and buffer lines only (the ignored block is not reported)")
check((by_line[node]["bytes"], by_line[node]["blocks"], by_line[node]["type"]) == (160, 10, "Node"),
      "10 Node blocks, 160 bytes, typed Node")
check((by_line[buf]["bytes"], by_line[buf]["type"]) == (300, "Buffer"), "300-byte Buffer")
check(all(r["bytes"] != 5000 for r in leaks["records"]), "the ignored 5000-byte block never appears")
built_leaks = analyze("leaks", tr, "--snapshot", "built")
check(built_leaks["snapshot"] == "built", "--snapshot built picks it")
check(sum(r["blocks"] for r in own(built_leaks["records"], "api_use.c")) == 10, "10 program blocks live at built")
p = run([HEAPSCOPE, "leaks", tr, "--snapshot", "nosuch"])
check(p.returncode == 2 and p.stderr.count("\n") == 1 and "nosuch" in p.stderr,
      "unknown snapshot: one line, exit 2: " + p.stderr.strip())
