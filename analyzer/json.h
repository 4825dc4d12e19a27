/*
 * A small streaming JSON writer: keys and commas are placed for the caller.
 * Output is compact, one document per call sequence, newline at the end.
 */
#ifndef HEAPSCOPE_JSON_H
#define HEAPSCOPE_JSON_H

#include <stdint.h>
#include <stdio.h>

struct json {
    FILE *f;
    int depth;
    unsigned char need_comma[64];
};

void json_init(struct json *j, FILE *f);
/* key is NULL inside arrays and at the top level. */
void json_object(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_str(struct json *j, const char *key, const char *v); /* NULL writes null */
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, int v);
void json_null(struct json *j, const char *key);
void json_hex(struct json *j, const char *key, uint64_t v); /* "0x..." */
void json_double(struct json *j, const char *key, double v);

#endif
