"""Inline frames are symbolized with their own lines; stacks are kept whole up
to HEAPSCOPE_MAX_FRAMES (128 by default)."""
from hs import *

t = Traced([program("deep")])
leaks = analyze("leaks", t.only_trace())
rec = [r for r in leaks["records"] if r["bytes"] == 321]
check(len(rec) == 1, "the 321-byte block is reported")
st = rec[0]["stack"]
inner, call = marker_line("deep.c", "LEAK-INLINE-INNER"), marker_line("deep.c", "LEAK-INLINE-CALL")
check((st[0]["function"], st[0]["line"], st[0]["inlined"]) == ("inner", inner, True),
      "first frame: inner at deep.c:%d, inlined" % inner)
check((st[1]["function"], st[1]["line"], st[1]["inlined"]) == ("outer", call, False),
      "second frame: outer at deep.c:%d, the call site of the inlined call" % call)
check(st[0]["address"] == st[1]["address"], "both frames are one return address")

deep = [r for r in leaks["records"] if r["bytes"] == 4242][0]
check(len(deep["stack"]) == 128, "200 calls deep: 128 frames kept (%d)" % len(deep["stack"]))
check(all(f["function"] == "recurse" for f in deep["stack"]), "all of them recurse")

t = Traced([program("deep"), "20"], env={"HEAPSCOPE_MAX_FRAMES": "16"})
deep = [r for r in analyze("leaks", t.only_trace())["records"] if r["bytes"] == 4242][0]
check(len(deep["stack"]) == 16, "HEAPSCOPE_MAX_FRAMES=16: 16 frames")
t = Traced([program("deep"), "20"])
deep = [r for r in analyze("leaks", t.only_trace())["records"] if r["bytes"] == 4242][0]
names = [f["function"] for f in deep["stack"]]
check(names[:21] == ["recurse"] * 21 and "main" in names, "20 calls deep: 21 recurse frames, then main")
