"""cmake --install puts the command, the library, the header, heapscope.pc,
the man page and the bash completion in place, and the installed command
runs programs with the installed library."""
import os
from hs import *

build = os.environ["BUILD_DIR"]
prefix = workdir("hs-prefix-")
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

# the man page and the bash completion, written from the option tables
man = [f for f in files if f.endswith("man1/heapscope.1")]
check(len(man) == 1, "the man page installed: %s" % man)
page = open(os.path.join(prefix, man[0])).read() if man else ""
check(all(".SS \"heapscope %s " % c in page for c in ("run", "leaks", "gate", "export", "diff")) and
      "\\-\\-max\\-leaked\\-bytes" in page, "it has a section per command, with their options")
comp = [f for f in files if f.endswith("bash-completion/completions/heapscope")]
check(len(comp) == 1, "the bash completion installed: %s" % comp)


def complete(*words):
    """What the installed completion offers for the last of words."""
    script = 'source "$0"; COMP_WORDS=(heapscope %s); COMP_CWORD=%d; _heapscope; echo "${COMPREPLY[*]}"' % (
        " ".join("'%s'" % w for w in words), len(words))
    return run(["bash", "-c", script, os.path.join(prefix, comp[0])]).stdout.split()


check(complete("ex") == ["export"], "it completes a command: %s" % complete("ex"))
check(complete("leaks", "--format", "") == ["text", "json"], "an option's values: %s" % complete("leaks", "--format", ""))
check(complete("gate", "--kinds", "definitely_lost,p") == ["definitely_lost,possibly_lost"],
      "the last item of a list: %s" % complete("gate", "--kinds", "definitely_lost,p"))
check("--max-leaked-bytes" in complete("run", "--"), "run's options: %s" % complete("run", "--"))

d = workdir("hs-inst-")
env = {"HEAPSCOPE_PRELOAD": ""}
p = run([os.path.join(prefix, "bin/heapscope"), "run", "-o", os.path.join(d, "t.hst"), "--", program("leak_known")],
        env=env)
check(p.returncode == 0 and os.path.exists(os.path.join(d, "t.hst")), "installed heapscope run traces a program")

# the refcount shim: header, library, pkg-config, and a program built against them
check("include/heapscope/refcount.h" in files, "refcount header installed")
check(any(f.endswith("libheapscope-refcount.so") for f in files), "libheapscope-refcount.so installed")
rpc = [f for f in files if f.endswith("pkgconfig/heapscope-refcount.pc")]
check(len(rpc) == 1, "heapscope-refcount.pc installed")
check(any(f.endswith("cmake/heapscope/HeapscopeLeakTest.cmake") for f in files), "the CMake helper installed")
env = {"PKG_CONFIG_PATH": os.path.dirname(os.path.join(prefix, rpc[0]))}
flags = run(["pkg-config", "--cflags", "--libs", "heapscope-refcount"], env=env).stdout.split()
prog = os.path.join(d, "rc.c")
C_SOURCE = r"""
#include <heapscope/refcount.h>
#include <stdio.h>
int main(void)
{
    void *o = hs_rc_new("T", 8);
    hs_rc_retain(o);
    printf("%ld\n", hs_rc_count(o));
    hs_rc_release(o);
    return (int)hs_rc_release(o);
}
"""
with open(prog, "w") as f:
    f.write(C_SOURCE)
exe = os.path.join(d, "rc")
libdirs = [f[2:] for f in flags if f.startswith("-L")]
p = run(["cc", prog, "-o", exe] + flags + ["-Wl,-rpath," + x for x in libdirs])
check(p.returncode == 0, "a program builds with pkg-config heapscope-refcount: " + p.stderr[-300:])
p = run([exe])
check(p.returncode == 0 and p.stdout == "2\n", "and runs with the installed library: count 2")
