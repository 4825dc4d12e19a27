/*
 * A snapshot's live blocks as leak records (leak_report.c): classified by
 * kind, grouped by kind and allocation stack, biggest first. What `leaks`
 * prints and the gate judges.
 */
#ifndef HEAPSCOPE_LEAK_REPORT_H
#define HEAPSCOPE_LEAK_REPORT_H

#include "graph.h"
#include "symbols.h"

#define KIND_NOT_FREED KIND_COUNT /* a snapshot without the heap graph */

struct leak_record {
    unsigned kind; /* enum leak_kind, or KIND_NOT_FREED */
    unsigned via;  /* still reachable only through an interior-pointer rule: 1 + its bit, else 0 */
    int inherited; /* made by the parent of this forked process: shown, not judged here */
    uint32_t stack_id;
    uint64_t bytes, blocks, indirect;
    uint64_t unreleased; /* CPython objects among them whose refcount exceeds every reference found */
    const char *type; /* shared by all its blocks, else NULL */
    size_t first;     /* a block of the record */
};

struct leak_report {
    const struct model *m;
    struct graph g;   /* built when the snapshot was scanned */
    int scanned;
    struct symbolizer *sym;
    /* totals of the blocks this process made, by kind */
    uint64_t bytes[KIND_COUNT + 1], blocks[KIND_COUNT + 1];
    uint64_t via_bytes[FMT_HEUR_COUNT], via_blocks[FMT_HEUR_COUNT]; /* still reachable through each rule */
    uint64_t inherited_bytes, inherited_blocks;
    struct leak_record *rec;
    size_t n_rec;
};

/* m must have a chosen snapshot; sym symbolizes m; heuristics: graph_build's. */
void leak_report_build(struct leak_report *r, const struct model *m, struct symbolizer *sym, unsigned heuristics);
void leak_report_free(struct leak_report *r);
/* "definitely_lost", ..., or "not_freed". */
const char *leak_record_kind(unsigned k);
/* The records that are leaks (lost, or not freed when there is no graph; not
 * the parent's), biggest first, at most max of them into out; how many. */
size_t leak_report_most_leaked(const struct leak_report *r, size_t max, const struct leak_record **out);

#endif
