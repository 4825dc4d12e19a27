/*
 * Live blocks of two snapshots compared by type (tag or C++ class; untagged
 * blocks by the function that allocated them) or by allocation site
 * (diff.c): what `diff` prints and `report` shows. A library file: it
 * prints nothing.
 */
#ifndef HEAPSCOPE_DIFF_H
#define HEAPSCOPE_DIFF_H

#include <stdint.h>

#include "model.h"
#include "symbols.h"
#include "util.h"

struct diff_row {
    const char *key;
    int is_type; /* the key is a type, not a function or site */
    uint64_t count[2], bytes[2];
};

struct diff_table {
    struct strmap index;
    struct diff_row *rows;
    size_t n, cap;
};

/* Adds the chosen snapshot's blocks of m (symbolized by s) as side 0
 * (before) or 1 (after). */
void diff_add(struct diff_table *t, const struct model *m, struct symbolizer *s, int side, int by_site);
/* Sorts the rows, biggest change first. */
void diff_finish(struct diff_table *t);
void diff_free(struct diff_table *t);
int64_t diff_delta(uint64_t before, uint64_t after);
/* Whether a row's count or bytes changed. */
int diff_changed(const struct diff_row *r);

#endif
