/* Live blocks of two snapshots compared (diff.h). */
#include "diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"

static const char *first_frame(struct symbolizer *s, const struct model *m, uint32_t stack_id,
                               const struct sym_frame **frame)
{
    return sym_site(s, m, stack_id, frame) ? (*frame)->function : NULL;
}

static void key_of(struct symbolizer *s, const struct model *m, size_t b, int by_site, char *key, size_t room,
                   int *is_type)
{
    *is_type = 0;
    if (!by_site) {
        const char *t = sym_block_type(s, m, b);
        if (t) {
            *is_type = 1;
            snprintf(key, room, "%s", t);
            return;
        }
    }
    const struct sym_frame *f = NULL;
    const char *fn = first_frame(s, m, m->blocks[b].stack_id, &f);
    if (!by_site) { /* a demangled C++ name has its parameter list already */
        snprintf(key, room, fn && strchr(fn, '(') ? "%s" : "%s()", fn ? fn : "?");
        return;
    }
    if (f && f->file) {
        snprintf(key, room, "%s (%s:%u)", fn ? fn : "?", base_name(f->file), f->line);
    } else {
        snprintf(key, room, "%s (0x%llx)", fn ? fn : "?", f ? (unsigned long long)f->address : 0ull);
    }
}

void diff_add(struct diff_table *t, const struct model *m, struct symbolizer *s, int side, int by_site)
{
    char key[1024];
    for (size_t b = 0; b < m->n_blocks; b++) {
        if (m->blocks[b].flags & FMT_BLOCK_IGNORED)
            continue;
        int is_type;
        key_of(s, m, b, by_site, key, sizeof key, &is_type);
        size_t *slot = strmap_get(&t->index, key, 1);
        if (*slot == SIZE_MAX) {
            if (t->n == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 256;
                t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
            }
            t->rows[t->n] = (struct diff_row){ .is_type = is_type };
            *slot = t->n++;
        }
        struct diff_row *r = &t->rows[*slot];
        r->count[side]++;
        r->bytes[side] += m->blocks[b].size;
    }
}

int64_t diff_delta(uint64_t before, uint64_t after) { return (int64_t)(after - before); }

int diff_changed(const struct diff_row *r) { return r->count[0] != r->count[1] || r->bytes[0] != r->bytes[1]; }

static int by_change(const void *a, const void *b)
{
    const struct diff_row *x = a, *y = b;
    int64_t dx = llabs(diff_delta(x->bytes[0], x->bytes[1])), dy = llabs(diff_delta(y->bytes[0], y->bytes[1]));
    if (dx != dy)
        return dx > dy ? -1 : 1;
    dx = llabs(diff_delta(x->count[0], x->count[1]));
    dy = llabs(diff_delta(y->count[0], y->count[1]));
    if (dx != dy)
        return dx > dy ? -1 : 1;
    return strcmp(x->key, y->key);
}

void diff_finish(struct diff_table *t)
{
    for (size_t i = 0; i < t->index.cap; i++) /* rows take their keys from the map */
        if (t->index.keys[i])
            t->rows[t->index.vals[i]].key = t->index.keys[i];
    if (t->n) /* qsort wants an array, even of nothing */
        qsort(t->rows, t->n, sizeof *t->rows, by_change);
}

void diff_free(struct diff_table *t)
{
    strmap_free(&t->index);
    free(t->rows);
}
