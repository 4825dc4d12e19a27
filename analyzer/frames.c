/* Symbolized stacks (frames.h). */
#include "frames.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

size_t frames_of_stack(struct frames *fs, struct symbolizer *s, const struct model *m, uint32_t stack_id)
{
    return frames_of_top(fs, s, m, stack_id, UINT32_MAX);
}

size_t frames_of_top(struct frames *fs, struct symbolizer *s, const struct model *m, uint32_t stack_id,
                     uint32_t addresses)
{
    fs->n = 0;
    const struct model_stack *st = model_stack(m, stack_id);
    for (uint32_t i = 0; st && i < st->n && i < addresses; i++) {
        const struct sym_frame *f;
        size_t n = sym_resolve(s, st->frames[i], &f);
        if (fs->n + n > fs->cap) {
            fs->cap = (fs->n + n) * 2 + 16;
            fs->f = xrealloc(fs->f, fs->cap * sizeof *fs->f);
        }
        memcpy(fs->f + fs->n, f, n * sizeof *f);
        fs->n += n;
    }
    return fs->n;
}

void frames_free(struct frames *fs)
{
    free(fs->f);
    memset(fs, 0, sizeof *fs);
}

size_t frames_of_address(const struct frames *fs, size_t i)
{
    size_t k = i;
    while (k < fs->n && fs->f[k].inlined)
        k++;
    return k < fs->n ? k - i + 1 : k - i;
}

const char *frame_function(const struct sym_frame *f) { return f->function ? f->function : "???"; }

const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path;
}
