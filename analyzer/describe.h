/*
 * Stacks, blocks and roots as people and tools read them (describe.c): the
 * words of the text output and the objects of the JSON output, written to a
 * stream the caller gives. A library file: it prints nowhere else.
 */
#ifndef HEAPSCOPE_DESCRIBE_H
#define HEAPSCOPE_DESCRIBE_H

#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "model.h"
#include "symbols.h"

/* A stack, symbolized: valgrind-style lines in text, an array in JSON. */
void stack_print_text(FILE *f, struct symbolizer *s, const struct model *m, uint32_t stack_id,
                      const char *indent);
void stack_print_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m,
                      uint32_t stack_id);

/* {"bytes": N, "blocks": N} under key. */
void amount_json(struct json *j, const char *key, uint64_t bytes, uint64_t blocks);
/* The allocations' sizes ("sizes": [{min, max, count, bytes}], a bucket per
 * power of two) and the freed blocks' lifetimes ("lifetimes", null when the
 * trace does not say them). */
void sizes_lifetimes_json(struct json *j, const struct model *m);

/* A block as JSON: {"address", "size", "type", "stack"}. */
void block_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m, size_t block);
/* A pointer to a block as JSON: {"address", "offset", "block", "root",
 * "target_offset"}; its block (when not a root) whole, or its address. */
void referrer_json(struct json *j, struct symbolizer *s, const struct model *m, const struct model_edge *e,
                   int block_whole);
/* A root as JSON: {"kind", "symbol", "module", "tid", "address"}; off is the
 * offset of the pointer within the root region. */
void root_json(struct json *j, const char *key, struct symbolizer *s, const struct model *m, uint32_t root,
               uint64_t off);
/* Where the pointer at off in a root sits, as users name it: its offset in
 * its global (JSON's symbol_offset), else off. */
uint64_t root_offset(struct symbolizer *s, const struct model *m, uint32_t root, uint64_t off);
/* The same in words, e.g. "global g_items+8 in /path/prog". */
void root_text(char *buf, size_t room, struct symbolizer *s, const struct model *m, uint32_t root, uint64_t off);

#endif
