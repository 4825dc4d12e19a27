/*
 * A trace's allocation sites as a gzipped pprof profile.proto (pprof.c), for
 * `export --to pprof`. A library file: it writes only to the stream given.
 */
#ifndef HEAPSCOPE_PPROF_H
#define HEAPSCOPE_PPROF_H

#include <stddef.h>
#include <stdio.h>

#include "model.h"
#include "symbols.h"

/* Writes the profile of sites (model_sites of m, symbolized by sym) to out:
 * 0, or -1 with why in err. */
int pprof_write(FILE *out, const struct model *m, struct symbolizer *sym, const struct model_site *sites, size_t n,
                char *err, size_t errlen);

#endif
