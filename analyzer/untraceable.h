/*
 * Whether a program can be traced by preloading a library, told before it
 * runs (used by `heapscope run`).
 */
#ifndef HEAPSCOPE_UNTRACEABLE_H
#define HEAPSCOPE_UNTRACEABLE_H

#include <stddef.h>

/* Whether PROGRAM, run by execvp, cannot be traced by preloading: 1 with why
 * in why ("/bin/foo is statically linked"), else 0 (it can be, or it cannot
 * be told: not found, not ELF, another ELF class; exec will say). Follows
 * PATH as execvp does and `#!` lines to the interpreter that really runs. */
int program_untraceable(const char *program, char *why, size_t room);
/* The same, searching along search (a PATH list; NULL: ours) as execvp did
 * in a traced process; and -1 if there is no such file (exec failed). */
int program_untraceable_along(const char *program, const char *search, char *why, size_t room);

#endif
