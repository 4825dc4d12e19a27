/* LeakSanitizer's suppressions (suppress.h). */
#include "suppress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "util.h"

void suppressions_add_text(struct suppressions *ps, const char *text)
{
    const char *line = text;
    while (line && *line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        while (len && (*line == ' ' || *line == '\t')) {
            line++;
            len--;
        }
        if (len > 5 && strncmp(line, "leak:", 5) == 0) {
            ps->p = xrealloc(ps->p, (ps->n + 1) * sizeof *ps->p);
            ps->p[ps->n] = xmalloc(len - 5 + 1);
            memcpy(ps->p[ps->n], line + 5, len - 5);
            ps->p[ps->n++][len - 5] = 0;
        }
        line = nl ? nl + 1 : NULL;
    }
}

int suppressions_load(struct suppressions *ps, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            text = xrealloc(text, cap);
        }
        memcpy(text + len, chunk, got);
        len += got;
    }
    fclose(f);
    if (text) {
        text[len] = 0;
        suppressions_add_text(ps, text);
        free(text);
    }
    return 0;
}

/* LeakSanitizer's matching: '*' matches any run of characters, '^' and '$'
 * anchor at the start and the end; without anchors the pattern may match
 * anywhere. */
static int match_here(const char *p, const char *s)
{
    for (;; p++, s++) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            if (!*p)
                return 1;
            for (; *s; s++)
                if (match_here(p, s))
                    return 1;
            return match_here(p, s);
        }
        if (*p == '$' && p[1] == 0)
            return *s == 0;
        if (!*p)
            return 1;
        if (*p != *s)
            return 0;
    }
}

int suppression_match(const char *pattern, const char *s)
{
    if (!s)
        return 0;
    if (*pattern == '^')
        return match_here(pattern + 1, s);
    for (const char *t = s;; t++) {
        if (match_here(pattern, t))
            return 1;
        if (!*t)
            return 0;
    }
}

int suppressions_match_stack(const struct suppressions *ps, struct symbolizer *sym, const struct model *m,
                             uint32_t stack_id)
{
    struct frames fs = { 0 };
    int found = 0;
    if (!ps->n)
        return 0; /* and nothing to symbolize */
    frames_of_stack(&fs, sym, m, stack_id);
    for (size_t k = 0; k < fs.n && !found; k++)
        for (size_t q = 0; q < ps->n && !found; q++)
            found = suppression_match(ps->p[q], fs.f[k].function) || suppression_match(ps->p[q], fs.f[k].file) ||
                    suppression_match(ps->p[q], fs.f[k].module);
    frames_free(&fs);
    return found;
}

void suppressions_free(struct suppressions *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->p[i]);
    free(ps->p);
    memset(ps, 0, sizeof *ps);
}
