/*
 * Small helpers shared by the analyzer's files: allocation that cannot fail
 * (out of memory is one line and exit 2), and number formatting.
 */
#ifndef HEAPSCOPE_UTIL_H
#define HEAPSCOPE_UTIL_H

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* A whole number without sign (base 10, or 0: C's 0x and 0 prefixes too),
 * the whole of s; 0, or -1 (out untouched) when s is not one. */
int parse_u64(const char *s, int base, uint64_t *out);

/* "12,345,678" into buf (at least 32 bytes); returns buf. */
char *fmt_count(char *buf, uint64_t v);
/* "1.5 MiB", "512 B" into buf (at least 32 bytes); returns buf. */
char *fmt_bytes(char *buf, uint64_t v);

/* A list of lines (*lines, *n of them): appends a copy of line. */
void lines_add(char ***lines, size_t *n, const char *line);
void lines_free(char **lines, size_t n);

/* A map from strings to small numbers (indices into the caller's array). */
struct strmap {
    char **keys;
    size_t *vals;
    size_t cap, n;
};
/* The value slot of key; with create, a new key gets value SIZE_MAX. NULL
 * if absent and not created. */
size_t *strmap_get(struct strmap *m, const char *key, int create);
void strmap_free(struct strmap *m);

#endif
