/*
 * Leak baselines (baseline.c): bytes and blocks per leak signature, the name
 * of a leak record across builds (its kind, then function@file of each
 * frame: no addresses, no lines), so that a gate can fail on growth only.
 * The file is text: "# heapscope baseline 1", then "bytes blocks signature"
 * per line. A library file: it prints nothing.
 */
#ifndef HEAPSCOPE_BASELINE_H
#define HEAPSCOPE_BASELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "leak_report.h"
#include "util.h"

struct baseline {
    struct strmap index; /* signature -> entry */
    uint64_t *bytes, *blocks;
    size_t n, cap;
};

/* A record's signature (malloc'd). */
char *leak_signature(struct symbolizer *sym, const struct model *m, const struct leak_record *r);

/* Adds bytes and blocks to a signature's entry (a new one if need be). */
void baseline_add(struct baseline *b, const char *sig, uint64_t bytes, uint64_t blocks);
/* Reads a baseline file: 0, -1 (errno set) if it cannot be read, -2 if it
 * is not a baseline. */
int baseline_load(struct baseline *b, const char *path);
/* Writes b as a baseline file. */
void baseline_write(FILE *f, const struct baseline *b);
void baseline_free(struct baseline *b);

#endif
