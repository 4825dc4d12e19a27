/*
 * Analyses of a snapshot's heap graph (graph.c): reachability and valgrind's
 * leak kinds, strongly connected components, shortest chains from roots.
 */
#ifndef HEAPSCOPE_GRAPH_H
#define HEAPSCOPE_GRAPH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model.h"

enum leak_kind {
    KIND_STILL_REACHABLE = 0,
    KIND_POSSIBLY_LOST,
    KIND_INDIRECTLY_LOST,
    KIND_DEFINITELY_LOST,
    KIND_IGNORED, /* hs_ignore: a root, never reported */
    KIND_COUNT
};
const char *leak_kind_name(enum leak_kind k);
/* The names of the four leak kinds (not "ignored"), NULL-terminated. */
extern const char *const leak_kind_names[KIND_IGNORED + 1];

/* The interior-pointer rules (FMT_HEUR_* bits) a classification applies:
 * valgrind's four default --leak-check-heuristics and glibc's DTV. */
#define HEURISTICS_ALL ((1u << FMT_HEUR_COUNT) - 1)
#define HEURISTICS_DEFAULT HEURISTICS_ALL
/* The name of rule bit i (0 .. FMT_HEUR_COUNT - 1): "stdstring", ... */
const char *heuristic_name(unsigned i);
/* The same names, NULL-terminated. */
extern const char *const heuristic_names[FMT_HEUR_COUNT + 1];

struct graph {
    const struct model *m;
    unsigned heuristics; /* the rules applied */
    /* out-edges of block i: edges[out_start[i] .. out_start[i + 1]) of m->edges */
    uint32_t *out_start;
    uint32_t *out;      /* edge indices, grouped by source block */
    uint32_t *in_start; /* likewise, in-edges by target block */
    uint32_t *in;
    uint8_t *kind;      /* enum leak_kind per block */
    uint8_t *via;       /* per still reachable block: 1 + the rule bit that alone reached it, or 0 */
    uint64_t *indirect; /* per definitely lost block: bytes lost through it */
};

/* Builds the adjacency and classifies every block, with the interior-pointer
 * rules in heuristics (HEURISTICS_*). The model must be scanned. */
void graph_build(struct graph *g, const struct model *m, unsigned heuristics);
void graph_free(struct graph *g);

/* Bytes and blocks of each kind (ignored blocks under KIND_IGNORED), of the
 * blocks this process made: a forked child's inherited blocks (flag
 * FMT_BLOCK_INHERITED) are its parent's to judge, counted in inherited[]. */
void graph_totals(const struct graph *g, uint64_t bytes[KIND_COUNT], uint64_t blocks[KIND_COUNT],
                  uint64_t inherited[2]);

/* graph_totals of the chosen snapshot of m, its graph built and freed
 * here; 0 (nothing set) if the snapshot has no heap graph. */
int graph_leak_totals(const struct model *m, unsigned heuristics, uint64_t bytes[KIND_COUNT],
                      uint64_t blocks[KIND_COUNT], uint64_t inherited[2]);

/* Strongly connected components with a cycle (two or more blocks, or one
 * that points at itself). comp[i] is the component of block i or -1;
 * returns how many components. */
size_t graph_cycles(const struct graph *g, int32_t *comp);

/* Shortest paths from the roots, breadth first over plain references (to a
 * block's start, or to a place a chosen rule explains), then over every
 * edge for the blocks those do not reach: for each
 * block, the edge that first reached it (UINT32_MAX for none), and its depth. */
void graph_bfs(const struct graph *g, uint32_t *parent_edge, uint32_t *depth);

/* Where block b's object starts: past its PyGC_Head for a CPython object,
 * else the block's start (where a refcounted object starts). */
uint64_t graph_object_start(const struct model *m, size_t b);
/* The references found to block b's object: the pointers to its start that
 * count, from blocks and roots (how many from roots into *from_roots, if
 * not NULL). */
uint32_t graph_references(const struct graph *g, size_t b, uint32_t *from_roots);
/* Block b's refcount, if it is a CPython object: its ob_refcnt at the
 * snapshot; else -1. */
int64_t graph_py_refcount(const struct model *m, size_t b);

/* The block holding addr, or -1. */
ssize_t graph_block_at(const struct model *m, uint64_t addr);

#endif
