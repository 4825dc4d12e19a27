/*
 * heapscope refcount shim: reference-counted objects with weak references
 * and type tags, for production use. Thread-safe (atomic counts). Under
 * libheapscope.so every event (new, retain, release, free, weak reference
 * created and cleared) is recorded with its stack; without it the calls cost
 * an atomic operation and record nothing. Link with -lheapscope-refcount
 * (pkg-config heapscope-refcount).
 *
 * Misuse (release below zero, retain of a freed object, a weak reference used
 * after its object died) is caught: a message on stderr naming the type (and,
 * when traced, both stacks), never memory corruption.
 */
#ifndef HEAPSCOPE_REFCOUNT_H
#define HEAPSCOPE_REFCOUNT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_weak hs_weak;

/* A zeroed object of size bytes with count 1, tagged with type (a string
 * that must outlive the object, e.g. a literal). NULL if out of memory. */
void *hs_rc_new(const char *type, size_t size);
/* count + 1; returns obj. */
void *hs_rc_retain(void *obj);
/* count - 1; at 0 runs the finalizer, clears weak references and frees.
 * Returns the new count (-1 on misuse). */
long hs_rc_release(void *obj);
/* The true count (-1 if obj is not a live object). */
long hs_rc_count(const void *obj);
/* fin(obj) runs when the count reaches 0, before the memory is freed. */
void hs_rc_set_finalizer(void *obj, void (*fin)(void *obj));
/* The object's type, as given to hs_rc_new. */
const char *hs_rc_type(const void *obj);

/* A weak reference: does not keep obj alive. */
hs_weak *hs_weak_new(void *obj);
/* obj while it lives, NULL once it was freed. The pointer is borrowed: if
 * other threads may release obj, use hs_weak_retain instead. */
void *hs_weak_get(const hs_weak *w);
/* obj with its count raised by one (release it when done), or NULL if it
 * died: safe against a concurrent last release. */
void *hs_weak_retain(const hs_weak *w);
void hs_weak_free(hs_weak *w);

#ifdef __cplusplus
}
#endif

#endif
