/*
 * Refcounted objects rebuilt from a trace's refcount events (rc_objects.c):
 * each object's history in order, from its new to its free. An address can
 * hold several objects over time; a misuse after free belongs to the object
 * that was freed there.
 */
#ifndef HEAPSCOPE_RC_OBJECTS_H
#define HEAPSCOPE_RC_OBJECTS_H

#include "model.h"

struct rc_object {
    uint64_t addr;
    uint32_t type_id;
    size_t first, n;  /* its events: index[first .. first + n) */
    int alive;        /* no free event */
    int misuse;       /* a misuse event */
    int64_t count;    /* after its last event */
    uint64_t retains, releases; /* new counts as a retain */
};

struct rc_objects {
    struct rc_object *obj;
    size_t n;
    uint32_t *index; /* event indices (into m->rc), grouped by object */
};

void rc_objects_build(struct rc_objects *r, const struct model *m);
void rc_objects_free(struct rc_objects *r);
/* The count of the object at addr after the events numbered up to seq;
 * -1 if no refcounted object lived there then. */
int64_t rc_count_at(const struct rc_objects *r, const struct model *m, uint64_t addr, uint64_t seq);

#endif
