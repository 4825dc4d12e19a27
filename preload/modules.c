/*
 * The module map: which binaries are loaded where, as MODULE_LOAD and
 * MODULE_UNLOAD records, so that the analyzer can name every frame (even of
 * a module unloaded since). dlopen is not wrapped (hooks.c says why): the
 * map is brought up to date when the loader's counts have moved, checked
 * when a new stack is seen, at each tick, and around dlclose.
 *
 * Must never write a record while holding modules_lock (a leaf lock: the
 * output's locks are taken after it is let go), nor rescan when the counts
 * have not moved (the check is what a new stack pays).
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MODULES_MAX 4096
#define MODULE_PATH_MAX 512

struct module {
    uint32_t id;
    int seen;
    uintptr_t bias, start, end;
    uint8_t build_id[64];
    size_t build_id_len;
    char path[MODULE_PATH_MAX];
};

static struct plat_lock modules_lock;   /* a leaf: nothing else is taken under it */
static struct module *modules;          /* plat_map'd, MODULES_MAX */
static unsigned n_modules, next_module_id = 1;
static uint64_t dl_adds = ~0ull, dl_subs = ~0ull;
static atomic_uint_least64_t forgot_subs = ~0ull; /* the unloads whose code has its unwind rules forgotten */

static void module_record(struct fmt_buf *b, const struct module *m)
{
    fmt_put_module_load(b, m->id, m->bias, m->start, m->end, m->path, m->build_id, m->build_id_len);
}
#define MODULE_REC_MAX FMT_MODULE_LOAD_ROOM(MODULE_PATH_MAX, sizeof modules->build_id)

/* Records found by a rescan, written after modules_lock is let go. */
struct module_changes {
    uint8_t data[16 * MODULE_REC_MAX];
    struct fmt_buf b;
    int more; /* ran out of room: scan again */
};

static void rescan_cb(const struct plat_module *pm, void *arg)
{
    struct module_changes *c = arg;
    for (unsigned i = 0; i < n_modules; i++) {
        struct module *m = &modules[i];
        if (m->bias == pm->bias && m->start == pm->start && strncmp(m->path, pm->path, MODULE_PATH_MAX - 1) == 0) {
            m->seen = 1;
            return;
        }
    }
    if (n_modules == MODULES_MAX)
        return;
    if (c->b.len + MODULE_REC_MAX > c->b.cap) {
        c->more = 1;
        return;
    }
    struct module *m = &modules[n_modules++];
    *m = (struct module){ .id = next_module_id++, .seen = 1, .bias = pm->bias, .start = pm->start,
                          .end = pm->end, .build_id_len = pm->build_id_len };
    memcpy(m->build_id, pm->build_id, pm->build_id_len);
    snprintf(m->path, sizeof m->path, "%s", pm->path);
    module_record(&c->b, m);
}

/* The rescan, after the counts moved: the records are made under
 * modules_lock and written after it is let go, from a copy in memory of
 * its own (not the stack: a coroutine's may be small, and the records
 * take some 10 KiB). */
static void rescan(const uint64_t c[2])
{
    static struct module_changes changes; /* under modules_lock */
    uint8_t *copy = plat_map(sizeof changes.data);
    if (!copy) /* the counts stay as they were: tried again at the next check */
        return;
    int more;
    do {
        plat_lock(&modules_lock);
        dl_adds = c[0];
        dl_subs = c[1];
        changes.b = (struct fmt_buf){ changes.data, 0, sizeof changes.data };
        changes.more = 0;
        for (unsigned i = 0; i < n_modules; i++)
            modules[i].seen = 0;
        plat_modules_foreach(rescan_cb, &changes);
        for (unsigned i = 0; i < n_modules;) {
            if (modules[i].seen || changes.more) {
                i++;
                continue;
            }
            fmt_put_module_unload(&changes.b, modules[i].id);
            modules[i] = modules[--n_modules];
            if (changes.b.len + MODULE_REC_MAX > changes.b.cap)
                changes.more = 1;
        }
        size_t len = changes.b.len;
        memcpy(copy, changes.data, len);
        more = changes.more;
        plat_unlock(&modules_lock);
        if (len) {
            struct out_buf *ob = out_global_acquire(len);
            if (ob) {
                struct fmt_buf *b = out_fmt(ob);
                memcpy(b->data + b->len, copy, len);
                b->len += len;
                out_release(ob);
            }
        }
    } while (more);
    plat_unmap(copy, sizeof changes.data);
}

/* Brings the module map up to date; cheap when nothing was loaded or
 * unloaded since the last call (glibc counts both). Code unloaded since
 * has its unwind rules forgotten here, whoever unloaded it: besides the
 * program's dlclose (hooks.c), glibc unloads its own modules (iconv's)
 * through no function we interpose. */
void rec_modules_changed(void)
{
    struct rec_guard g = rec_guard_enter();
    uint64_t c[2];
    plat_modules_counts(&c[0], &c[1]);
    uint64_t forgot = atomic_exchange(&forgot_subs, c[1]); /* two threads may both forget: only time lost */
    if (forgot != c[1] && forgot != ~0ull)
        stack_capture_forget();
    if (modules && (c[0] != dl_adds || c[1] != dl_subs)) /* not started (dlclose may come first), out of memory */
        rescan(c);
    rec_guard_leave(g);
}

int rec_modules_init(void)
{
    modules = plat_map(MODULES_MAX * sizeof *modules);
    return modules ? 0 : -ENOMEM;
}

/* Writes every known module into a new trace's preamble. */
void rec_modules_preamble(void)
{
    plat_lock(&modules_lock);
    for (unsigned i = 0; i < n_modules; i++) {
        struct out_buf *ob = out_preamble_acquire(MODULE_REC_MAX);
        if (!ob)
            break;
        module_record(out_fmt(ob), &modules[i]);
    }
    plat_unlock(&modules_lock);
}

void rec_modules_lock(void) { plat_lock(&modules_lock); }
void rec_modules_unlock(void) { plat_unlock(&modules_lock); }
