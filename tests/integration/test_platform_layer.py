"""The preload's platform layer holds every system call: outside
preload/platform.c, no file of preload/ calls the kernel, reads /proc, or
uses the loader's or glibc's own interfaces, but for the three each of one
file that platform.c's header names (hooks.c's dlsym, unwind.c's libunwind,
scan.c's malloc_usable_size)."""
import os
import re
from hs import *

PRELOAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "preload")

# system calls and Linux's or glibc's interfaces, as the preload would call them
FORBIDDEN = """syscall open openat creat read write pread pwrite readv writev close dup dup2 dup3
fcntl ioctl lseek stat fstat lstat statx fallocate ftruncate unlink rename mkdir readlink access
opendir readdir closedir getdents64 mmap munmap mremap mprotect madvise
sigaction signal sigprocmask pthread_sigmask kill tgkill raise sigaltstack
clock_gettime gettimeofday nanosleep usleep sched_yield getrlimit setrlimit prctl
pthread_create pthread_setname_np fork vfork clone waitpid
dl_iterate_phdr dlsym dladdr dladdr1 dlopen dlinfo getauxval""".split()
ALLOWED = {"hooks.c": {"dlsym"}}  # interposing is looking up the next definition
CALL = re.compile(r"(?<![\w.>])(" + "|".join(FORBIDDEN) + r")\s*\(")
DEFINITION = re.compile(r"^\s*EXPORT\b[^;(]*$")  # hooks.c defines the interposed ones


def blank(text, pattern):
    """text with what pattern matches blanked out, lines kept."""
    return re.sub(pattern, lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


COMMENT = r'/\*.*?\*/|//[^\n]*'
LITERAL = r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\''


def line_of(text, at):
    return text.count("\n", 0, at) + 1


files = sorted(f for f in os.listdir(PRELOAD) if f.endswith((".c", ".h")))
check("platform.c" in files and len(files) > 5, "preload/ has its sources (%d files)" % len(files))
for name in files:
    if name == "platform.c":
        continue
    with open(os.path.join(PRELOAD, name)) as f:
        text = blank(f.read(), COMMENT)
    code = blank(text, LITERAL)
    calls = ["%s at line %d" % (m.group(1), line_of(code, m.start())) for m in CALL.finditer(code)
             if m.group(1) not in ALLOWED.get(name, set())
             and not DEFINITION.match(code[code.rfind("\n", 0, m.start()) + 1:m.start()])]
    calls += ["/proc at line %d" % line_of(text, m.start()) for m in re.finditer(r'"/proc/', text)]
    check(not calls, "%s makes no system call and reads no /proc itself%s" %
          (name, ": " + ", ".join(calls) if calls else ""))
