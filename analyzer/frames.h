/*
 * The frames of a recorded stack, symbolized (frames.c): the one walk from a
 * stack id to function names, files and lines that every command and report
 * shares. A library file: it prints nothing.
 */
#ifndef HEAPSCOPE_FRAMES_H
#define HEAPSCOPE_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "symbols.h"

/* What a stack that was not recorded is called. */
#define NO_STACK_TEXT "(no stack recorded)"

/* Each return address gives its inlined calls (innermost first), then the
 * function that holds them (inlined == 0); the allocator's caller first. */
struct frames {
    struct sym_frame *f;
    size_t n, cap;
};

/* Fills fs (emptied first; { 0 } to start) with the frames of stack_id:
 * none for an empty or unknown stack. Their strings live until sym_close.
 * Returns fs->n. */
size_t frames_of_stack(struct frames *fs, struct symbolizer *s, const struct model *m, uint32_t stack_id);
/* The same for the first return addresses of the stack only (its innermost
 * callers), as many as addresses. */
size_t frames_of_top(struct frames *fs, struct symbolizer *s, const struct model *m, uint32_t stack_id,
                     uint32_t addresses);
void frames_free(struct frames *fs);

/* The frames of the return address that starts at f[i] (its inlined calls
 * and its function): how many. */
size_t frames_of_address(const struct frames *fs, size_t i);

/* A frame's function, "???" when unknown. */
const char *frame_function(const struct sym_frame *f);
/* The base name of a path (after its last '/'); NULL for NULL. */
const char *base_name(const char *path);

#endif
