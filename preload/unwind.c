/*
 * Stack capture, behind one function. The backend is libunwind's local
 * unw_backtrace, which walks frames with the binaries' CFI (.eh_frame), so it
 * works through code built without frame pointers, and caches what it learns
 * per thread. Frames inside libheapscope itself are cut from the top, so a
 * stack starts at the caller of the interposed function.
 *
 * Must never allocate through the hooks: callers hold the thread's guard.
 */
#define UNW_LOCAL_ONLY
#include "internal.h"

#include <libunwind.h>
#include <string.h>

static uintptr_t self_start, self_end;

void stack_capture_init(void)
{
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    unw_set_cache_size(unw_local_addr_space, 1024, 0);
    plat_module_range((const void *)&stack_capture_init, &self_start, &self_end);
}

/* Room for our own frames above the caller's. */
#define OWN_FRAMES_MAX 16

unsigned stack_capture(uintptr_t *frames, unsigned max)
{
    void *raw[FMT_MAX_FRAMES + OWN_FRAMES_MAX];
    int n = unw_backtrace(raw, (int)(max + OWN_FRAMES_MAX));
    int skip = 0;
    while (skip < n && (uintptr_t)raw[skip] >= self_start && (uintptr_t)raw[skip] < self_end)
        skip++;
    unsigned kept = 0;
    for (int i = skip; i < n && kept < max; i++)
        frames[kept++] = (uintptr_t)raw[i];
    return kept;
}

uintptr_t stack_caller_sp(const char *const *names)
{
    unw_context_t ctx;
    unw_cursor_t cur;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
        return 0;
    for (int depth = 0; depth < 64 && unw_step(&cur) > 0; depth++) {
        char name[64];
        unw_word_t off;
        if (unw_get_proc_name(&cur, name, sizeof name, &off) != 0)
            continue;
        for (const char *const *n = names; *n; n++) {
            if (strcmp(name, *n) != 0)
                continue;
            unw_word_t sp;
            if (unw_step(&cur) <= 0 || unw_get_reg(&cur, UNW_REG_SP, &sp) != 0)
                return 0;
            return (uintptr_t)sp;
        }
    }
    return 0;
}
