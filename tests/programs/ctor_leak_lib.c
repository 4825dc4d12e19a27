/* A shared library whose constructor leaks: linked into ctor_leak (not
 * dlopen'd), so its constructor runs before the program's, and may run
 * before the tracer's own. Its first allocation is made inside setenv,
 * which holds libc's environment lock: a tracer starting there must not
 * take that lock again. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void ctor_leak_start_up(void)
{
    char *lost = malloc(999); /* CTOR-LEAK */
    memset(lost, 1, 999);     /* the only pointer dies with this frame */
}

__attribute__((constructor)) static void ctor_leak_init(void)
{
    setenv("CTOR_LEAK_STARTED", "yes", 1);
    ctor_leak_start_up(); /* CTOR-CALL */
}

int ctor_leak_ready(void) { return 1; }
