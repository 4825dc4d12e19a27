"""cmake --install puts the command, the library, the header and heapscope.pc
in place, and the installed command runs programs with the installed
library."""
import os
import tempfile
from hs import *

build = os.environ["BUILD_DIR"]
prefix = tempfile.mkdtemp(prefix="hs-prefix-")
p = run(["cmake", "--install", build, "--prefix", prefix])
check(p.returncode == 0, "cmake --install succeeds")
files = {os.path.relpath(os.path.join(d, f), prefix) for d, _, fs in os.walk(prefix) for f in fs}
lib = [f for f in files if f.endswith("libheapscope.so")]
check("bin/heapscope" in files, "bin/heapscope installed")
check(len(lib) == 1, "libheapscope.so installed: %s" % lib)
check("include/heapscope/heapscope.h" in files, "header installed")
pc = [f for f in files if f.endswith("pkgconfig/heapscope.pc")]
check(len(pc) == 1, "heapscope.pc installed")
p = run(["pkg-config", "--cflags", "heapscope"], env={"PKG_CONFIG_PATH": os.path.dirname(os.path.join(prefix, pc[0]))})
check(p.returncode == 0 and "-I" in p.stdout, "pkg-config --cflags heapscope: " + p.stdout.strip())

d = tempfile.mkdtemp(prefix="hs-inst-")
env = {"HEAPSCOPE_PRELOAD": ""}
p = run([os.path.join(prefix, "bin/heapscope"), "run", "-o", os.path.join(d, "t.hst"), "--", program("leak_known")],
        env=env)
check(p.returncode == 0 and os.path.exists(os.path.join(d, "t.hst")), "installed heapscope run traces a program")
