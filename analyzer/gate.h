/*
 * The CI leak gate (cmd_gate.c), shared by `heapscope gate` and
 * `heapscope run --gate`.
 */
#ifndef HEAPSCOPE_GATE_H
#define HEAPSCOPE_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"

#define GATE_MAX_FILES 16

struct gate_options {
    unsigned kinds;                 /* kinds that count: bit 1 << enum leak_kind */
    uint64_t max_bytes, max_blocks; /* the most that may leak */
    const char *supp_files[GATE_MAX_FILES];
    size_t n_supp_files;
    const char *baseline, *write_baseline, *junit, *sarif;
    unsigned heuristics;            /* interior-pointer rules (graph.h) */
    /* heapscope run: each process not seen whole, one line each ("NAME (pid N):
     * why"): the verdict fails; and how many processes ran (-1: not known) */
    char **unseen;
    size_t n_unseen;
    long ran;
};

/* The defaults: definitely and indirectly lost count, no byte may leak. */
#define GATE_OPTIONS_INIT                                                                          \
    { .kinds = 1u << KIND_DEFINITELY_LOST | 1u << KIND_INDIRECTLY_LOST, .max_bytes = 0,            \
      .max_blocks = UINT64_MAX, .heuristics = HEURISTICS_DEFAULT, .ran = -1 }
/* Judges the traces: 0 pass, 1 fail, 2 if traces could not be read. */
int gate_run(char *const *files, size_t n_files, const struct gate_options *o);
/* LeakSanitizer's pattern match ('*', '^', '$'); exported for tests. */
int gate_pattern_match(const char *pattern, const char *s);

#endif
