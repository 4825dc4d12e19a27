"""Leak locations a user can act on, in the gate's verdict, JUnit and SARIF:
the first frame in the program's own code, with its source line when it
has one (gate_demo, cpp_names), else the module, the offset from its load
bias and the function (gate_demo_nodebug, cpp_names_nodebug: not a glibc
header's line, not operator new); a block allocated wholly inside the C
library is placed at the first frame past the allocator (strdup)."""
import json
import os
import re
import xml.etree.ElementTree as ET
from hs import *


def return_address(prog, function, callee):
    """The offset of the instruction after FUNCTION's call to CALLEE, from
    the disassembly: the return address the trace records, less the bias."""
    dis = run(["objdump", "-d", "--no-show-raw-insn", prog]).stdout
    body = dis.split("<%s>:\n" % function, 1)[1].split("\n\n", 1)[0].splitlines()
    for i, line in enumerate(body):
        if "call" in line and "<%s>" % callee in line:
            return int(body[i + 1].split(":")[0], 16)
    fail("no call to %s in %s" % (callee, function))


def gate(argv, *opts):
    """heapscope run --gate with JUnit and SARIF: (verdict lines, SARIF
    results, JUnit failure messages)."""
    d = workdir("hs-loc-")
    sarif, junit = os.path.join(d, "s.json"), os.path.join(d, "j.xml")
    p = run([HEAPSCOPE, "run", "--gate", "--sarif", sarif, "--junit", junit] + list(opts) +
            ["-o", os.path.join(d, "%e.%p.hst"), "--"] + argv)
    check(p.returncode == 1, "%s fails the gate" % " ".join(os.path.basename(a) for a in argv))
    results = json.load(open(sarif))["runs"][0]["results"]
    failures = [f.get("message") for f in ET.parse(junit).getroot().iter("failure")]
    return p.stderr.splitlines(), results, failures


# without debug info: module+offset and the function, everywhere
prog = program("gate_demo_nodebug")
off = return_address(prog, "leaky_helper", "malloc@plt")
where = "gate_demo_nodebug+0x%x (leaky_helper)" % off
verdict, results, failures = gate([prog, "leak", "2"])
check("    200 bytes definitely_lost at %s" % where in verdict, "verdict: at %s: %s" % (where, verdict))
check(failures == ["200 bytes in 2 blocks definitely_lost at %s" % where], "JUnit: at %s" % where)
check(len(results) == 1, "SARIF: one result")
loc = results[0]["locations"][0]
check(loc["physicalLocation"]["artifactLocation"]["uri"] == "file://" + prog and
      loc["physicalLocation"]["address"] == {"absoluteAddress": off, "kind": "instruction"} and
      "region" not in loc["physicalLocation"],
      "SARIF: the program's file at offset 0x%x, no source region" % off)
check(loc["logicalLocations"] == [{"fullyQualifiedName": "leaky_helper", "kind": "function"}],
      "SARIF: in function leaky_helper")
check(results[0]["message"]["text"].startswith("200 bytes in 2 blocks definitely_lost, allocated at %s" % where),
      "SARIF message: allocated at %s" % where)

# with debug info: the program's own source line
prog = program("gate_demo")
src = os.path.join(SOURCES, "gate_demo.c")
site = marker_line("gate_demo.c", "LEAK-SITE")
verdict, results, failures = gate([prog, "leak", "2"])
check("    200 bytes definitely_lost at gate_demo.c:%d" % site in verdict, "verdict: at gate_demo.c:%d" % site)
check(failures == ["200 bytes in 2 blocks definitely_lost at %s:%d" % (src, site)], "JUnit: at %s:%d" % (src, site))
loc = results[0]["locations"][0]
check(loc["physicalLocation"] == {"artifactLocation": {"uri": "file://" + src}, "region": {"startLine": site}} and
      loc["logicalLocations"][0]["fullyQualifiedName"] == "leaky_helper", "SARIF: gate_demo.c:%d in leaky_helper" % site)

# C++: past operator new (libstdc++) to the program's method, demangled
prog = program("cpp_names_nodebug")
grab = "cpp_names_nodebug+0x%x (store::detail::Pool::grab(int))" % return_address(
    prog, "_ZN5store6detail4Pool4grabEi", "_Znam@plt")
raw = "cpp_names_nodebug+0x%x (store::raw_bytes(unsigned int))" % return_address(
    prog, "_ZN5store9raw_bytesEj", "malloc@plt")
verdict, results, failures = gate([prog])
check(["    40 bytes definitely_lost at " + grab, "    24 bytes definitely_lost at " + raw] ==
      [l for l in verdict if l.startswith("    ")], "C++ without debug info: at %s and %s" % (grab, raw))
verdict, results, failures = gate([program("cpp_names")])
lines = (marker_line("cpp_names.cpp", "GRAB-SITE"), marker_line("cpp_names.cpp", "RAW-SITE"))
check(["    40 bytes definitely_lost at cpp_names.cpp:%d" % lines[0], "    24 bytes definitely_lost at cpp_names.cpp:%d" % lines[1]] ==
      [l for l in verdict if l.startswith("    ")], "C++ with debug info: at cpp_names.cpp:%d and :%d" % lines)

# no frame of the program's: the first past the allocator (strdup's caller)
prog = program("gate_demo_nodebug")
kinds = "definitely_lost,indirectly_lost,possibly_lost,still_reachable"  # whichever the scan finds
verdict, results, failures = gate([prog, "libc"], "--kinds", kinds)
t = Traced([prog, "libc"])
rec = [r for r in analyze("leaks", t.only_trace())["records"] if r["bytes"] == 10]
check(len(rec) == 1 and "strdup" in rec[0]["stack"][0]["function"], "the strdup'd block: %s" % rec[0]["stack"][0])
caller = rec[0]["stack"][1]
mine = [r for r in results if r["message"]["text"].startswith("10 bytes in 1 blocks")]
check(len(mine) == 1, "SARIF: one result for the strdup'd block")
text = mine[0]["message"]["text"]
if caller["file"]:
    expected = "allocated at %s:%d, " % (os.path.basename(caller["file"]), caller["line"])
    check(expected in text, "placed at strdup's caller's line, %s: %s" % (expected, text))
else:
    check(re.search(r"allocated at libc\.so\.6\+0x[0-9a-f]+ \(%s\), " % re.escape(caller["function"]), text),
          "placed at strdup's caller, %s in libc: %s" % (caller["function"], text))
