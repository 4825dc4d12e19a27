/* Leak baselines (baseline.h). */
#include "baseline.h"

#include <stdlib.h>
#include <string.h>

#include "frames.h"

char *leak_signature(struct symbolizer *sym, const struct model *m, const struct leak_record *r)
{
    size_t cap = 256, len = 0;
    char *s = xmalloc(cap);
    len = (size_t)snprintf(s, cap, "%s", leak_record_kind(r->kind));
    struct frames fs = { 0 };
    frames_of_stack(&fs, sym, m, r->stack_id);
    for (size_t k = 0; k < fs.n; k++) {
        const struct sym_frame *f = &fs.f[k];
        char frame[600];
        const char *module = f->module && strchr(f->module, '/') ? base_name(f->module) : "?";
        int fl = snprintf(frame, sizeof frame, ";%s@%s", f->function ? f->function : "?",
                          f->file ? base_name(f->file) : module);
        if (len + (size_t)fl + 1 > cap) {
            cap = (len + (size_t)fl + 1) * 2;
            s = xrealloc(s, cap);
        }
        memcpy(s + len, frame, (size_t)fl + 1);
        len += (size_t)fl;
    }
    frames_free(&fs);
    return s;
}

void baseline_add(struct baseline *b, const char *sig, uint64_t bytes, uint64_t blocks)
{
    size_t *slot = strmap_get(&b->index, sig, 1);
    if (*slot == SIZE_MAX) {
        if (b->n == b->cap) {
            b->cap = b->cap ? b->cap * 2 : 64;
            b->bytes = xrealloc(b->bytes, b->cap * sizeof *b->bytes);
            b->blocks = xrealloc(b->blocks, b->cap * sizeof *b->blocks);
        }
        b->bytes[b->n] = b->blocks[b->n] = 0;
        *slot = b->n++;
    }
    b->bytes[*slot] += bytes;
    b->blocks[*slot] += blocks;
}

int baseline_load(struct baseline *b, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int ok = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        line[strcspn(line, "\n")] = 0;
        if (!ok) {
            ok = strcmp(line, "# heapscope baseline 1") == 0;
            if (!ok)
                break;
            continue;
        }
        unsigned long long bytes, blocks;
        int off = 0;
        if (sscanf(line, "%llu %llu %n", &bytes, &blocks, &off) == 2 && off > 0)
            baseline_add(b, line + off, bytes, blocks);
    }
    free(line);
    fclose(f);
    return ok ? 0 : -2;
}

void baseline_write(FILE *f, const struct baseline *b)
{
    fputs("# heapscope baseline 1\n", f);
    for (size_t i = 0; i < b->index.cap; i++)
        if (b->index.keys[i]) {
            size_t v = b->index.vals[i];
            fprintf(f, "%llu %llu %s\n", (unsigned long long)b->bytes[v], (unsigned long long)b->blocks[v],
                    b->index.keys[i]);
        }
}

void baseline_free(struct baseline *b)
{
    strmap_free(&b->index);
    free(b->bytes);
    free(b->blocks);
}
