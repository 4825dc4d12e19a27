/*
 * The CI leak gate (gate.c): one verdict over the traces of a run, 1 when the
 * leaks of the chosen kinds (definitely and indirectly lost by default),
 * after suppressions (suppress.h) and the baseline (baseline.h), exceed the
 * thresholds; else 0. What the commands `gate` and `run --gate` judge with;
 * its reports are the verdict's lines, JUnit XML (junit.c) and SARIF
 * (sarif.c), each leak located by sym_user_location. A library file: it
 * writes only to the streams it is given.
 */
#ifndef HEAPSCOPE_GATE_H
#define HEAPSCOPE_GATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "baseline.h"
#include "graph.h"
#include "leak_report.h"
#include "suppress.h"

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

/* One trace's part in the verdict. */
struct gate_trace {
    const char *path;
    const char *program;       /* once judged: its program and pid */
    uint64_t pid;
    struct model model;        /* loaded by the caller (loaded set), then the gate's */
    int loaded;
    struct symbolizer *sym;    /* with report, while it is judged */
    struct leak_report report;
    int error;                 /* it could not be read */
    int unseen;                /* set apart: its malloc was not ours, or it ended too soon */
    size_t first, n;           /* its findings */
    uint64_t bytes, blocks;    /* of its failing findings */
};

/* A leak record of a chosen kind that no suppression matches. */
struct gate_finding {
    size_t trace;
    const struct leak_record *rec;
    size_t sig;       /* its signature's entry in the gate's current baseline */
    char *stack_text; /* valgrind-style lines */
    int located;      /* loc is set (the stack is not empty) */
    struct sym_location loc;
};

struct gate {
    const struct gate_options *o;
    struct gate_trace *tr;
    size_t n_tr;
    struct gate_finding *fd;
    size_t n_fd, cap_fd;
    struct suppressions supp; /* from the files */
    struct baseline current;  /* this run, by signature */
    struct baseline base;     /* the --baseline file */
    uint64_t *grown_bytes, *grown_blocks; /* per current signature: what fails */
    char **unseen;            /* processes not seen whole: the run's, then traces set apart */
    size_t n_unseen;
    char **notes;             /* allocators beside ours, whose allocations were not traced */
    size_t n_notes;
    uint64_t total_bytes, total_blocks; /* what fails, in all */
    int errors, fail;
};

/* Starts a verdict over n traces: reads the suppression files and the
 * baseline. 0, or -1 with why in err (g is then freed). */
int gate_init(struct gate *g, const struct gate_options *o, size_t n, char *err, size_t errlen);

/* What became of a trace given to the gate. */
enum gate_take {
    GATE_JUDGED,        /* its leaks are judged */
    GATE_FOREIGN,       /* its malloc was not heapscope's: not seen, the verdict fails */
    GATE_ENDED_EARLY,   /* it ended before its exit snapshot (killed): not judged, the verdict fails */
    GATE_NO_SNAPSHOT,   /* it has no complete snapshot: counted as unreadable */
};
/* Trace t, at path, loaded by the caller into g->tr[t].model: judged or set
 * apart. */
enum gate_take gate_add(struct gate *g, size_t t, const char *path);
/* Trace t, at path, could not be read. */
void gate_unreadable(struct gate *g, size_t t, const char *path);

/* The verdict, once every trace is in. */
void gate_judge(struct gate *g);
/* Whether a finding fails the gate (it is new, or grew beyond the baseline). */
int gate_failing(const struct gate *g, const struct gate_finding *f);
/* The verdict in words: a line, then one per process not seen whole, per
 * leaking process and its first leaks, per allocator not traced. */
void gate_verdict_write(FILE *f, const struct gate *g);
/* 0 pass, 1 fail, 2 if traces could not be read and nothing failed. */
int gate_status(const struct gate *g);
void gate_free(struct gate *g);

/* The reports (junit.c, sarif.c). */
void junit_write(FILE *f, const struct gate *g);
void sarif_write(FILE *f, const struct gate *g);

#endif
