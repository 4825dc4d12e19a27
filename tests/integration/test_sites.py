"""The allocation site of a refcounted object is the program's line that made
it, not the shim's hs_rc_new that every such object shares: in diff --by
site, referrers --site, the gate's SARIF location and the report."""
import json
import os
from hs import *

t = Traced([sample("08_cycles")])
tr = t.only_trace()
line = marker_line("08_cycles.c", "hs_rc_new(")  # new_node's call of the shim
d = analyze("diff", tr, "--by", "site", "--all")
keys = [r["key"] for r in d["rows"]]
check("new_node (08_cycles.c:%d)" % line in keys and not any("hs_rc_new" in k for k in keys),
      "diff --by site keys refcounted objects by new_node's line, never hs_rc_new: %s" % keys)
r = analyze("referrers", tr, "--site", "new_node")
check(r["matched"] == 2, "referrers --site new_node finds the 2 objects still allocated")
sarif = os.path.join(workdir("hs-sites-"), "s.json")
run([HEAPSCOPE, "gate", "--sarif", sarif, tr])
loc = json.load(open(sarif))["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
check(loc["artifactLocation"]["uri"].endswith("08_cycles.c") and loc["region"]["startLine"] == line,
      "SARIF locates the leaked cycle at 08_cycles.c:%d" % line)
