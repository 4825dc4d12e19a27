/*
 * A trace as valgrind massif's output file (massif.c), for `export --to
 * massif`: what ms_print and massif-visualizer read. The live heap at each
 * of the tracer's ticks, a detailed snapshot at the exact peak (each stack's
 * bytes live then) and one at the end. A library file: it writes only to
 * the stream given.
 */
#ifndef HEAPSCOPE_MASSIF_H
#define HEAPSCOPE_MASSIF_H

#include <stdio.h>

#include "model.h"
#include "symbols.h"

/* Writes m as massif's format to out. 0, or -1 on a write error. */
int massif_write(FILE *out, const struct model *m, struct symbolizer *sym);

#endif
