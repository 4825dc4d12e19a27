/*
 * Concept 6: where reference counts come from.
 *
 * An object's reference count is the number of places that hold a reference
 * to it. Every place that keeps the object adds one: a variable, a slot of
 * an array, a value in a hash map, a field of another object. Taking the
 * object out of that place removes one. (In CPython, `sys.getrefcount(x)`
 * counts exactly these, plus one for its own argument; hs_rc_count has no
 * such extra one.)
 *
 * This program makes one Thing and stores it in three more places, then
 * takes it out of each again, printing the count after every step:
 *
 *     created, held by the global `thing`      1
 *     also stored in the variable `held`       2
 *     also stored in slot 0 of an array        3
 *     also stored as a value in a hash map     4
 *     removed from the hash map                3
 *     removed from the array                   2
 *     the variable `held` let go               1
 *
 * Each step is a small function, so each event's stack names who did it.
 *
 * What heapscope sees: `heapscope refs --type Thing TRACE` lists the seven
 * events with the counts 1, 2, 3, 4, 3, 2, 1, each naming the function (and
 * line) that made it. At the snapshot "held", when the count is 4,
 * `heapscope referrers --snapshot held --type Thing TRACE` shows the four
 * places themselves: the globals thing and held, the array's slot and the
 * map entry's value field.
 */
#define _POSIX_C_SOURCE 200809L /* for strdup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <heapscope/heapscope.h>
#include <heapscope/refcount.h>

/* The object whose count we follow. */
struct Thing {
    int id;
};

/* An array of slots, each holding a reference (or NULL). */
struct Array {
    size_t len;
    struct Thing *slots[4];
};

/* A tiny hash map from strings to Things, with chained buckets. */
struct MapEntry {
    char *key;
    struct Thing *value; /* a reference: the entry holds one count */
    struct MapEntry *next;
};
struct Map {
    struct MapEntry *buckets[8];
};

/* The program's references live in globals, so heapscope can name them. */
struct Thing *thing; /* the reference hs_rc_new gives us */
struct Thing *held;  /* a second variable */
struct Array *array;
struct Map *map;

/* 1. Creating: count 1, the creator's reference. */
static struct Thing *make_thing(int id)
{
    struct Thing *t = hs_rc_new("Thing", sizeof *t); /* SRC_NEW */
    t->id = id;
    return t;
}

/* 2. A variable keeps it: +1. */
static void store_in_variable(struct Thing *t)
{
    held = hs_rc_retain(t); /* SRC_VARIABLE */
}

/* 3. An array slot keeps it: +1. */
static void array_append(struct Array *a, struct Thing *t)
{
    a->slots[a->len++] = hs_rc_retain(t); /* SRC_ARRAY */
}

static unsigned bucket_of(const char *key)
{
    unsigned h = 5381;
    while (*key)
        h = h * 33 + (unsigned char)*key++;
    return h % 8;
}

/* 4. A hash map value keeps it: +1. The entry is a heap block of its own
 * (zeroed, tagged MapEntry) whose `value` field holds the reference. */
static void map_put(struct Map *m, const char *key, struct Thing *t)
{
    struct MapEntry *e = calloc(1, sizeof *e);
    hs_tag(e, "MapEntry");
    e->key = strdup(key);
    e->value = hs_rc_retain(t); /* SRC_MAP */
    unsigned b = bucket_of(key);
    e->next = m->buckets[b];
    m->buckets[b] = e;
}

/* 5. Removing the map entry gives its reference back: -1. */
static void map_remove(struct Map *m, const char *key)
{
    struct MapEntry **p = &m->buckets[bucket_of(key)];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    if (!*p)
        return;
    struct MapEntry *e = *p;
    *p = e->next;
    hs_rc_release(e->value); /* SRC_UNMAP */
    free(e->key);
    free(e);
}

/* 6. Clearing the array's last slot gives its reference back: -1. */
static void array_pop(struct Array *a)
{
    a->len--;
    hs_rc_release(a->slots[a->len]); /* SRC_UNARRAY */
    a->slots[a->len] = NULL;
}

/* 7. The variable lets go: -1. */
static void forget_variable(void)
{
    hs_rc_release(held); /* SRC_FORGET */
    held = NULL;
}

int main(void)
{
    array = calloc(1, sizeof *array);
    hs_tag(array, "Array");
    map = calloc(1, sizeof *map);
    hs_tag(map, "Map");

    thing = make_thing(42);
    printf("created: count %ld\n", hs_rc_count(thing));
    store_in_variable(thing);
    printf("stored in a variable: count %ld\n", hs_rc_count(thing));
    array_append(array, thing);
    printf("stored in an array slot: count %ld\n", hs_rc_count(thing));
    map_put(map, "answer", thing);
    printf("stored as a hash map value: count %ld\n", hs_rc_count(thing));

    /* Four references: the count and the places agree. */
    printf("the variable, the slot and the map value are the object: %s\n",
           held == thing && array->slots[0] == thing && map->buckets[bucket_of("answer")]->value == thing ? "yes" : "no");
    hs_snapshot("held"); /* heapscope: the four places that hold it */

    map_remove(map, "answer");
    printf("removed from the hash map: count %ld\n", hs_rc_count(thing));
    array_pop(array);
    printf("removed from the array: count %ld\n", hs_rc_count(thing));
    forget_variable();
    printf("the variable let go: count %ld\n", hs_rc_count(thing));

    /* One reference left, the global `thing`: the object is alive. */
    return 0;
}
