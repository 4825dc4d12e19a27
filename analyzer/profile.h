/*
 * What heaptrack's users look at, from the event stream the model replayed
 * (profile.c): the allocation stacks ranked by calls, by bytes live at the
 * peak, by temporary allocations, by bytes allocated. A library file: it
 * prints nothing.
 */
#ifndef HEAPSCOPE_PROFILE_H
#define HEAPSCOPE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

enum profile_by {
    PROFILE_CALLS,     /* count: allocations; bytes: their bytes */
    PROFILE_PEAK,      /* count: blocks live at the peak; bytes: their bytes */
    PROFILE_TEMPORARY, /* count: temporary allocations; bytes: theirs */
    PROFILE_ALLOCATED, /* count: allocations; bytes: their bytes, ranked by bytes */
};

struct profile_row {
    uint32_t stack_id;
    uint64_t count, bytes;
};

/* The stacks with a non-zero measure, ranked (ties by stack id), at most
 * max of them (0: all), into *out (malloc'd); how many. */
size_t profile_top(const struct model *m, enum profile_by by, size_t max, struct profile_row **out);

/* The sizes histogram's bucket k as a range of bytes: [*lo, *hi]. */
void profile_size_range(unsigned k, uint64_t *lo, uint64_t *hi);

/* "under_1ms", "under_1s", "longer": the lifetime classes (FMT_AGE_*). */
const char *profile_age_name(unsigned age);

#endif
