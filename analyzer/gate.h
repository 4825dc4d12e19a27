/*
 * The CI leak gate (cmd_gate.c), shared by `heapscope gate` and
 * `heapscope run --gate`.
 */
#ifndef HEAPSCOPE_GATE_H
#define HEAPSCOPE_GATE_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"

#define GATE_MAX_FILES 16

struct gate_options {
    int kinds[KIND_COUNT];          /* kinds that count */
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

enum {
    GATE_OPT_KINDS = 1000, GATE_OPT_MAX_BYTES, GATE_OPT_MAX_BLOCKS, GATE_OPT_SUPPRESSIONS,
    GATE_OPT_BASELINE, GATE_OPT_WRITE_BASELINE, GATE_OPT_JUNIT, GATE_OPT_SARIF, GATE_OPT_HEURISTICS,
};

#define GATE_LONG_OPTIONS                                                   \
    { "kinds", required_argument, NULL, GATE_OPT_KINDS },                   \
    { "max-leaked-bytes", required_argument, NULL, GATE_OPT_MAX_BYTES },    \
    { "max-leaked-blocks", required_argument, NULL, GATE_OPT_MAX_BLOCKS },  \
    { "suppressions", required_argument, NULL, GATE_OPT_SUPPRESSIONS },     \
    { "baseline", required_argument, NULL, GATE_OPT_BASELINE },             \
    { "write-baseline", required_argument, NULL, GATE_OPT_WRITE_BASELINE }, \
    { "junit", required_argument, NULL, GATE_OPT_JUNIT },                   \
    { "sarif", required_argument, NULL, GATE_OPT_SARIF },                   \
    { "heuristics", required_argument, NULL, GATE_OPT_HEURISTICS }

#define GATE_USAGE                                                                          \
    "[--kinds definitely_lost,indirectly_lost,possibly_lost,still_reachable] "             \
    "[--max-leaked-bytes N] [--max-leaked-blocks N] [--suppressions FILE]... "             \
    "[--baseline FILE] [--write-baseline FILE] [--junit FILE] [--sarif FILE] "             \
    "[--heuristics all|none|LIST]"

void gate_options_init(struct gate_options *o);
/* 1 if c was a gate option (applied), 0 if not one, -1 for a bad value. */
int gate_option(struct gate_options *o, int c, const char *arg);
/* Judges the traces: 0 pass, 1 fail, 2 if traces could not be read. */
int gate_run(char *const *files, size_t n_files, const struct gate_options *o);
/* LeakSanitizer's pattern match ('*', '^', '$'); exported for tests. */
int gate_pattern_match(const char *pattern, const char *s);

#endif
