"""The aliased-rows matrix bug (CONCEPTS.md, ideas 4 and 7): `[[0] * 3] * 3`
repeats one row list three times, so writing one row writes "all" of them;
`[[0] * 3 for _ in range(3)]` makes three rows. heapscope's `aliases` finds
the bad matrix's row referenced three times from its item array (offsets 0,
8 and 16), and each good row once."""
import json

import heapscope

bad = [[0] * 3] * 3
good = [[0] * 3 for _ in range(3)]
bad[0][0] = 1
good[0][0] = 1
heapscope.snapshot("rows")
print(json.dumps({"bad": bad, "good": good, "bad_rows_one": bad[0] is bad[1] is bad[2],
                  "bad_row": id(bad[0]), "good_rows": [id(r) for r in good]}))
