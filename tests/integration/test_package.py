"""The Debian package: `cmake --build build --target package` (CPack) makes
heapscope_VERSION_ARCH.deb with the Depends its binaries need; `apt-get
install ./heapscope_*.deb` installs it, the installed /usr/bin/heapscope says
its version and traces a program with the installed /usr/lib/libheapscope.so
(found by itself), and `apt-get remove` leaves none of the package's files or
own directories behind. Runs as root; removes the package even when a check
fails."""
import glob
import json
import os
import re
import shutil
from hs import *

build = os.environ["BUILD_DIR"]
source = os.path.dirname(os.environ["SAMPLE_SOURCES"])
with open(os.path.join(source, "CMakeLists.txt")) as f:
    version = re.search(r"project\(heapscope VERSION ([0-9.]+)", f.read()).group(1)
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=120"]
quiet = {"DEBIAN_FRONTEND": "noninteractive"}


def installed():
    p = run(["dpkg-query", "-W", "-f=${Status}", "heapscope"])
    return p.returncode == 0 and "ok installed" in p.stdout


check(os.getuid() == 0, "runs as root (installs a package)")
p = run(["cmake", "--build", build, "--target", "package"])
check(p.returncode == 0, "cmake --build --target package" + ("" if p.returncode == 0 else ": " + p.stdout[-800:] + p.stderr[-800:]))
debs = glob.glob(os.path.join(build, "heapscope_%s_*.deb" % version))
check(len(debs) == 1, "it makes heapscope_%s_ARCH.deb: %s" % (version, [os.path.basename(d) for d in debs]))
out = workdir("hs-deb-")
os.chmod(out, 0o755)  # apt's _apt user reads the .deb
deb = shutil.copy(debs[0], out)
control = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
for lib in ("libc6", "libdw1", "libunwind8", "libzstd1", "zlib1g", "libstdc++6"):
    check(re.search(r"(^|, )%s( |,|$)" % re.escape(lib), control.strip()), "Depends names " + lib)

if installed():  # left by a run that was killed before it could clean up
    run(APT + ["remove", "heapscope"], env=quiet)
# Directories the package shares with the system (/usr/lib) stay; its own go.
listing = run(["dpkg-deb", "-c", deb]).stdout.splitlines()
dirs = [os.path.normpath(l.split()[-1].lstrip(".")) for l in listing if l.startswith("d")]
preexisting = {d for d in dirs if os.path.isdir(d)}
try:
    p = run(APT + ["install", "./" + os.path.basename(deb)], cwd=out, env=quiet)
    ok = p.returncode == 0 and installed()
    check(ok, "apt-get install ./%s%s" % (os.path.basename(deb), "" if ok else ": " + p.stdout[-500:] + p.stderr[-500:]))
    paths = [l for l in run(["dpkg", "-L", "heapscope"]).stdout.splitlines() if l.startswith("/")]
    files = [f for f in paths if not os.path.isdir(f) or os.path.islink(f)]
    check("/usr/bin/heapscope" in files, "/usr/bin/heapscope installed")
    lib = [f for f in files if f.endswith("/libheapscope.so")]
    check(len(lib) == 1 and lib[0].startswith("/usr/lib/"), "libheapscope.so installed under /usr/lib: %s" % lib)
    own_dirs = [d for d in paths if d not in files]

    hs = "/usr/bin/heapscope"
    p = run([hs, "--version"])
    check(p.returncode == 0 and p.stdout == "heapscope %s\n" % version, "heapscope --version: " + p.stdout.strip())

    # The installed command finds the installed library by itself.
    d = workdir("hs-deb-run-")
    env = {"HEAPSCOPE_PRELOAD": "", "LD_PRELOAD": ""}
    p = run([hs, "run", "-o", os.path.join(d, "cat.hst"), "--", "cat", "/proc/self/maps"], env=env)
    mapped = {l.split()[-1] for l in p.stdout.splitlines() if l.endswith("libheapscope.so")}
    check(p.returncode == 0 and mapped == {os.path.realpath(lib[0])},
          "heapscope run preloads the installed library: %s" % mapped)
    trace = os.path.join(d, "leak.hst")
    p = run([hs, "run", "-o", trace, "--", program("leak_known")], env=env)
    check(p.returncode == 0 and os.path.exists(trace), "heapscope run traces leak_known: " + p.stderr.strip()[-300:])
    p = run([hs, "leaks", "--format", "json", trace])
    check(p.returncode == 0, "heapscope leaks reads the trace")
    lost = [(r["bytes"], r["blocks"]) for r in json.loads(p.stdout)["records"]
            if r["kind"] == "definitely_lost" and r["stack"] and r["stack"][0]["file"]
            and os.path.basename(r["stack"][0]["file"]) == "leak_known.c"]
    check(sorted(lost) == [(144, 3), (4096, 1)], "and finds leak_known's definitely lost blocks: %s" % lost)
finally:
    p = run(APT + ["remove", "heapscope"], env=quiet)
    removed = p.returncode == 0 and not installed()
    left = [f for f in files if os.path.lexists(f)] if "files" in globals() else []
    left_dirs = [d for d in own_dirs if d not in preexisting and os.path.lexists(d)] if "files" in globals() else []
    # dpkg keeps a removed package with maintainer scripts (ldconfig's) as
    # "config-files"; purging drops that record too, leaving dpkg as before.
    run(["dpkg", "--purge", "heapscope"])

check(removed, "apt-get remove heapscope")
check(not left, "removal leaves none of the package's %d files: %s" % (len(files), left))
check(not left_dirs, "nor its own directories (%s): %s" % (", ".join(sorted(set(own_dirs) - preexisting)), left_dirs))
