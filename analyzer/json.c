/* The JSON writer behind json.h. */
#include "json.h"

#include <inttypes.h>

void json_init(struct json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->need_comma[0] = 0;
}

static void put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void key(struct json *j, const char *k)
{
    if (j->need_comma[j->depth])
        fputc(',', j->f);
    j->need_comma[j->depth] = 1;
    if (k) {
        put_string(j->f, k);
        fputc(':', j->f);
    }
}

static void open_(struct json *j, const char *k, char c)
{
    key(j, k);
    fputc(c, j->f);
    if (j->depth < 63)
        j->depth++;
    j->need_comma[j->depth] = 0;
}

static void close_(struct json *j, char c)
{
    fputc(c, j->f);
    if (j->depth > 0)
        j->depth--;
    if (j->depth == 0)
        fputc('\n', j->f);
}

void json_object(struct json *j, const char *k) { open_(j, k, '{'); }
void json_object_end(struct json *j) { close_(j, '}'); }
void json_array(struct json *j, const char *k) { open_(j, k, '['); }
void json_array_end(struct json *j) { close_(j, ']'); }

void json_str(struct json *j, const char *k, const char *v)
{
    key(j, k);
    if (v)
        put_string(j->f, v);
    else
        fputs("null", j->f);
}

void json_u64(struct json *j, const char *k, uint64_t v) { key(j, k); fprintf(j->f, "%" PRIu64, v); }
void json_i64(struct json *j, const char *k, int64_t v) { key(j, k); fprintf(j->f, "%" PRId64, v); }
void json_bool(struct json *j, const char *k, int v) { key(j, k); fputs(v ? "true" : "false", j->f); }
void json_null(struct json *j, const char *k) { key(j, k); fputs("null", j->f); }
void json_hex(struct json *j, const char *k, uint64_t v) { key(j, k); fprintf(j->f, "\"0x%" PRIx64 "\"", v); }
void json_double(struct json *j, const char *k, double v) { key(j, k); fprintf(j->f, "%.6f", v); }
