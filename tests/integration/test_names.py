"""C++ names demangled in every output (text, JSON with the mangled name
beside, referrers' globals, types from vtables, collapsed and pprof export,
the HTML report, the gate's JUnit and SARIF), from debug info (cpp_names) and
from the symbol table alone (cpp_names_nodebug)."""
import gzip
import json
import os
from hs import *

GRAB, GRAB_MANGLED = "store::detail::Pool::grab(int)", "_ZN5store6detail4Pool4grabEi"
RAW, RAW_MANGLED = "store::raw_bytes(unsigned int)", "_ZN5store9raw_bytesEj"
NEW, NEW_MANGLED = "operator new(unsigned long)", "_Znwm"

for name in ["cpp_names", "cpp_names_nodebug"]:
    t = Traced([program(name)])
    check(t.proc.returncode == 0 and t.proc.stdout == "done\n", "%s runs" % name)
    tr = t.only_trace()

    lk = analyze("leaks", tr)
    upto_main = lambda st: st[:[f["function"] for f in st].index("main") + 1]
    lost = sorted((r["bytes"], [(f["function"], f.get("mangled")) for f in upto_main(r["stack"])])
                  for r in lk["records"] if r["kind"] == "definitely_lost")
    check(lost == [(24, [(RAW, RAW_MANGLED), ("main", None)]),
                   (40, [(NEW, NEW_MANGLED), (GRAB, GRAB_MANGLED), ("main", None)])],
          "%s JSON: demangled functions, the mangled name beside (only for C++ symbols): %s" % (name, lost))
    box = [r for r in lk["records"] if r["type"] == "store::Box<int>"]
    check(len(box) == 1 and box[0]["bytes"] == 16, "%s: a class template's type from its vtable: store::Box<int>" % name)

    keys = [r["key"] for r in analyze("diff", tr, "--all")["rows"] if r["key_kind"] == "function"]
    check(RAW in keys, "%s diff: an untagged block keyed by its function, %s (no extra ())" % (name, RAW))

    text = run([HEAPSCOPE, "leaks", tr]).stdout
    for fn in (GRAB, RAW, NEW):
        check(": %s (" % fn in text, "%s text: %s" % (name, fn))
    check("_Z" not in text, "%s text: no mangled name left" % name)

    ref = analyze("referrers", tr, "--type", "store::Box<int>")["targets"][0]["chains"][0]["root"]
    check((ref["symbol"], ref["mangled"], ref["symbol_offset"]) == ("store::g_shelf", "_ZN5store7g_shelfE", 16),
          "%s referrers: the global is store::g_shelf (+16), mangled _ZN5store7g_shelfE" % name)

    d = os.path.dirname(tr)
    collapsed = run([HEAPSCOPE, "export", tr, "--to", "collapsed", "--value", "live"]).stdout
    check(";main;%s;%s 40\n" % (GRAB, NEW) in collapsed and ";main;%s 24\n" % RAW in collapsed,
          "%s collapsed: ...;main;%s;%s 40 and ...;main;%s 24" % (name, GRAB, NEW, RAW))
    pp = os.path.join(d, "p.pb.gz")
    run([HEAPSCOPE, "export", tr, "--to", "pprof", "-o", pp])
    raw = gzip.open(pp).read()
    check(GRAB.encode() in raw and GRAB_MANGLED.encode() not in raw, "%s pprof: the demangled name" % name)
    html = os.path.join(d, "r.html")
    run([HEAPSCOPE, "report", tr, "-o", html])
    page = open(html).read()
    check(GRAB in page and GRAB_MANGLED not in page, "%s report: the demangled name" % name)
    sarif, junit = os.path.join(d, "s.json"), os.path.join(d, "j.xml")
    run([HEAPSCOPE, "gate", "--sarif", sarif, "--junit", junit, tr])
    stacks = [r["properties"]["stack"] for r in json.load(open(sarif))["runs"][0]["results"]]
    check(len(stacks) == 2 and all((GRAB in st) != (RAW in st) and "_Z" not in st for st in stacks),
          "%s SARIF: the stacks demangled" % name)
    j = open(junit).read()
    check(GRAB in j and "_Z" not in j, "%s JUnit: the stacks demangled" % name)
