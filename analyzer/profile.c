/*
 * The allocation stacks ranked by what the event stream says of them. See
 * profile.h.
 */
#include "profile.h"

#include <stdlib.h>

#include "util.h"

static int by_measure(const void *a, const void *b, void *arg)
{
    const struct profile_row *x = a, *y = b;
    enum profile_by sort_by = *(const enum profile_by *)arg;
    uint64_t kx = sort_by == PROFILE_PEAK || sort_by == PROFILE_ALLOCATED ? x->bytes : x->count;
    uint64_t ky = sort_by == PROFILE_PEAK || sort_by == PROFILE_ALLOCATED ? y->bytes : y->count;
    if (kx != ky)
        return kx > ky ? -1 : 1;
    uint64_t sx = sort_by == PROFILE_PEAK || sort_by == PROFILE_ALLOCATED ? x->count : x->bytes;
    uint64_t sy = sort_by == PROFILE_PEAK || sort_by == PROFILE_ALLOCATED ? y->count : y->bytes;
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

size_t profile_top(const struct model *m, enum profile_by by, size_t max, struct profile_row **out)
{
    struct profile_row *rows = xmalloc((m->n_stacks ? m->n_stacks : 1) * sizeof *rows);
    size_t n = 0;
    for (size_t i = 0; i < m->n_stacks; i++) {
        const struct model_stack *s = &m->stacks[i];
        struct profile_row r = { (uint32_t)i, 0, 0 };
        switch (by) {
        case PROFILE_CALLS:
        case PROFILE_ALLOCATED: r.count = s->allocs; r.bytes = s->bytes; break;
        case PROFILE_PEAK: r.count = s->peak_blocks; r.bytes = s->peak_bytes; break;
        case PROFILE_TEMPORARY: r.count = s->temporary; r.bytes = s->temporary_bytes; break;
        }
        if (r.count || r.bytes)
            rows[n++] = r;
    }
    qsort_r(rows, n, sizeof *rows, by_measure, &by);
    if (max && n > max)
        n = max;
    *out = rows;
    return n;
}

void profile_size_range(unsigned k, uint64_t *lo, uint64_t *hi)
{
    *lo = k ? 1ull << (k - 1) : 0;
    *hi = k ? (k == 64 ? UINT64_MAX : (1ull << k) - 1) : 0;
}

const char *profile_age_name(unsigned age)
{
    static const char *const names[FMT_AGE_COUNT] = { "under_1ms", "under_1s", "longer" };
    return age < FMT_AGE_COUNT ? names[age] : "?";
}
