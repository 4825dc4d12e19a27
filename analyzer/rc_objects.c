/* Refcounted objects from refcount events (rc_objects.h). */
#include "rc_objects.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* addr -> the latest object there: open addressing. */
struct addr_map {
    uint64_t *keys;
    size_t *vals;
    size_t cap, n;
};

static size_t *addr_slot(struct addr_map *a, uint64_t key)
{
    if ((a->n + 1) * 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        uint64_t *keys = xcalloc(cap, sizeof *keys);
        size_t *vals = xcalloc(cap, sizeof *vals);
        for (size_t i = 0; i < a->cap; i++) {
            if (!a->keys[i])
                continue;
            size_t j = (a->keys[i] * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
            while (keys[j])
                j = (j + 1) & (cap - 1);
            keys[j] = a->keys[i];
            vals[j] = a->vals[i];
        }
        free(a->keys);
        free(a->vals);
        a->keys = keys;
        a->vals = vals;
        a->cap = cap;
    }
    size_t j = (key * 0x9e3779b97f4a7c15ull >> 20) & (a->cap - 1);
    while (a->keys[j] && a->keys[j] != key)
        j = (j + 1) & (a->cap - 1);
    if (!a->keys[j]) {
        a->keys[j] = key;
        a->vals[j] = SIZE_MAX;
        a->n++;
    }
    return &a->vals[j];
}

void rc_objects_build(struct rc_objects *r, const struct model *m)
{
    memset(r, 0, sizeof *r);
    struct addr_map map = { 0 }, ids = { 0 };
    size_t *owner = xmalloc((m->n_rc ? m->n_rc : 1) * sizeof *owner);
    size_t cap = 0;
    for (size_t i = 0; i < m->n_rc; i++) {
        const struct model_rc *e = &m->rc[i];
        /* by object id when known (an address is reused), else by address */
        size_t *slot = e->id ? addr_slot(&ids, e->id) : addr_slot(&map, e->addr ? e->addr : 1);
        if (e->id && *slot == SIZE_MAX && e->op != FMT_RC_NEW) /* an object we saw no new of */
            slot = addr_slot(&map, e->addr ? e->addr : 1);
        size_t k = *slot; /* before any other lookup: a lookup may rehash */
        if (e->op == FMT_RC_NEW || k == SIZE_MAX) {
            if (r->n == cap) {
                cap = cap ? cap * 2 : 64;
                r->obj = xrealloc(r->obj, cap * sizeof *r->obj);
            }
            r->obj[r->n] = (struct rc_object){ .addr = e->addr, .type_id = e->type_id, .alive = 1 };
            k = r->n++;
            if (e->id)
                *addr_slot(&ids, e->id) = k;
            *addr_slot(&map, e->addr ? e->addr : 1) = k; /* the latest object at this address */
        }
        struct rc_object *o = &r->obj[k];
        owner[i] = k;
        o->n++;
        switch (e->op) {
        case FMT_RC_NEW:
        case FMT_RC_RETAIN:
            o->retains++;
            o->count = e->count;
            break;
        case FMT_RC_RELEASE:
            o->releases++;
            o->count = e->count;
            break;
        case FMT_RC_FREE:
            o->alive = 0;
            o->count = 0;
            break;
        case FMT_RC_WEAK_NEW:
        case FMT_RC_WEAK_CLEAR:
            break;
        default:
            o->misuse = 1;
        }
    }
    /* group the events by object, keeping sequence order within each */
    size_t at = 0;
    for (size_t k = 0; k < r->n; k++) {
        r->obj[k].first = at;
        at += r->obj[k].n;
        r->obj[k].n = 0;
    }
    r->index = xmalloc((m->n_rc ? m->n_rc : 1) * sizeof *r->index);
    for (size_t i = 0; i < m->n_rc; i++) {
        struct rc_object *o = &r->obj[owner[i]];
        r->index[o->first + o->n++] = (uint32_t)i;
    }
    free(owner);
    free(map.keys);
    free(map.vals);
    free(ids.keys);
    free(ids.vals);
}

void rc_objects_free(struct rc_objects *r)
{
    free(r->obj);
    free(r->index);
    memset(r, 0, sizeof *r);
}

int64_t rc_count_at(const struct rc_objects *r, const struct model *m, uint64_t addr, uint64_t seq)
{
    int64_t count = -1;
    for (size_t k = 0; k < r->n; k++) { /* the last object at addr born by seq */
        const struct rc_object *o = &r->obj[k];
        if (o->addr != addr || !o->n || m->rc[r->index[o->first]].seq > seq)
            continue;
        count = -1;
        for (size_t i = 0; i < o->n; i++) {
            const struct model_rc *e = &m->rc[r->index[o->first + i]];
            if (e->seq > seq)
                break;
            if (e->op == FMT_RC_FREE)
                count = -1;
            else if (e->op <= FMT_RC_RELEASE)
                count = e->count;
        }
    }
    return count;
}
