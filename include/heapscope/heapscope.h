/*
 * heapscope client API: optional calls a program can make to help the
 * tracer. Header-only: nothing to link. When the program runs under
 * libheapscope.so the calls are recorded; otherwise the weak references
 * below are null and each call is one test and a branch.
 *
 *   hs_tag(block, "Node")   give a heap block a type tag (shown by leaks, diff, cycles)
 *   hs_snapshot("loaded")   take a named snapshot of the live heap now
 *   hs_ignore(block)        never report the block, nor what only it reaches
 */
#ifndef HEAPSCOPE_H
#define HEAPSCOPE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Defined by libheapscope.so when it is preloaded. */
extern void heapscope_tag(const void *block, const char *type) __attribute__((weak));
extern void heapscope_snapshot(const char *label) __attribute__((weak));
extern void heapscope_ignore(const void *block) __attribute__((weak));

static inline void hs_tag(const void *block, const char *type)
{
    if (heapscope_tag)
        heapscope_tag(block, type);
}

static inline void hs_snapshot(const char *label)
{
    if (heapscope_snapshot)
        heapscope_snapshot(label);
}

static inline void hs_ignore(const void *block)
{
    if (heapscope_ignore)
        heapscope_ignore(block);
}

#ifdef __cplusplus
}
#endif

#endif
