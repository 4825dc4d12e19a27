"""A library loaded with dlopen and unloaded with dlclose before exit: its
frames are still symbolized, from the module map the trace kept."""
from hs import *

argv = [program("dlopener"), program("libplugin.so")]
t = Traced(argv)
check(t.proc.returncode == 0 and t.proc.stdout == "done\n", "dlopener runs as natively")
leaks = analyze("leaks", t.only_trace())
recs = own(leaks["records"], "plugin.c")
check(sum(r["blocks"] for r in recs) == 2 and all(r["bytes"] in (555, 1110) for r in recs),
      "two 555-byte leaks from the plugin")
line = marker_line("plugin.c", "LEAK-PLUGIN")
for r in recs:
    top = r["stack"][0]
    check((top["function"], top["line"]) == ("plugin_leak", line), "plugin_leak at plugin.c:%d" % line)
    check(top["module"].endswith("libplugin.so"), "module is libplugin.so")
    check(r["stack"][1]["function"] == "main" and r["stack"][1]["line"] == marker_line("dlopener.c", "CALL-PLUGIN"),
          "called from main at the CALL-PLUGIN line")
