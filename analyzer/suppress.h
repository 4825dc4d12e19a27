/*
 * Leak suppressions as LeakSanitizer writes them (suppress.c): `leak:PATTERN`
 * lines, from files and from a program's own __lsan_default_suppressions
 * (recorded in its trace). A pattern matches a frame's function, source file
 * or module path. A library file: it prints nothing.
 */
#ifndef HEAPSCOPE_SUPPRESS_H
#define HEAPSCOPE_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "symbols.h"

struct suppressions {
    char **p; /* the patterns */
    size_t n;
};

/* Adds the leak: lines of text (other lines are passed over). */
void suppressions_add_text(struct suppressions *ps, const char *text);
/* Adds those of a file: 0, or -1 with errno set. */
int suppressions_load(struct suppressions *ps, const char *path);
/* Whether a pattern matches a frame of the stack. */
int suppressions_match_stack(const struct suppressions *ps, struct symbolizer *sym, const struct model *m,
                             uint32_t stack_id);
void suppressions_free(struct suppressions *ps);

/* LeakSanitizer's pattern match: '*' any run of characters, '^' and '$'
 * anchors; without them, anywhere in s (NULL matches nothing). */
int suppression_match(const char *pattern, const char *s);

#endif
