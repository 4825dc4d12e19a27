/*
 * Stack capture, behind one function. The fast path walks frames itself with
 * one cached rule per return address, derived once from the binaries' CFI
 * (cfi.c): a warm frame costs one load from the cache and one or two from the
 * stack. Stacks with a frame the rules cannot model (signal frames,
 * CFA expressions, code without CFI) are walked again by libunwind's
 * unw_backtrace, so the result is always what libunwind would give; the test
 * test_stacks holds the two equal. Frames inside libheapscope itself are cut
 * from the top, so a stack starts at the caller of the interposed function.
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
/* A frame larger than this is taken for a bad rule and handed to libunwind. */
#define FRAME_BYTES_MAX (1u << 20)

static unsigned capture_slow(uintptr_t *frames, unsigned max, uint64_t *hash)
{
    void *raw[FMT_MAX_FRAMES + OWN_FRAMES_MAX];
    int n = unw_backtrace(raw, (int)(max + OWN_FRAMES_MAX));
    int skip = 0;
    while (skip < n && (uintptr_t)raw[skip] >= self_start && (uintptr_t)raw[skip] < self_end)
        skip++;
    unsigned kept = 0;
    for (int i = skip; i < n && kept < max; i++)
        frames[kept++] = (uintptr_t)raw[i];
    *hash = stack_hash(frames, kept);
    return kept;
}

/* The rule cache, shared by all threads without a lock. A slot is one
 * 64-bit word, so it is never torn: indexed by the code address's low 16
 * bits, it holds the rest of the address (user addresses have 47 bits) over
 * the rule packed in 32 bits: the CFA offset in bits 0-19, rbp's slot / 8
 * in 20-26 (signed), rbp saved in 27, the kind in 28-31. A rule that does not
 * fit is CFI_FAIL. */
#define RULE_SLOT_BITS 16
static atomic_uint_least64_t rule_cache[1u << RULE_SLOT_BITS];

enum { RULE_OFF_BITS = 20, RULE_KIND_SHIFT = 28, RULE_RBP_SAVED = 1u << 27 };

static uint32_t pack(struct cfi_rule r)
{
    if ((r.kind == CFI_RSP || r.kind == CFI_RBP) &&
        (r.cfa_off < 0 || r.cfa_off >= (1 << RULE_OFF_BITS) || r.rbp_off % 8 || r.rbp_off / 8 < -64 ||
         r.rbp_off / 8 > 63))
        r.kind = CFI_FAIL;
    if (r.kind != CFI_RSP && r.kind != CFI_RBP)
        return (uint32_t)r.kind << RULE_KIND_SHIFT;
    return (uint32_t)r.kind << RULE_KIND_SHIFT | (r.rbp_saved ? RULE_RBP_SAVED : 0) |
           ((uint32_t)(r.rbp_off / 8) & 0x7f) << RULE_OFF_BITS | (uint32_t)r.cfa_off;
}

static uint32_t rule_for(uintptr_t pc)
{
    atomic_uint_least64_t *slot = &rule_cache[pc & ((1u << RULE_SLOT_BITS) - 1)];
    uint64_t v = atomic_load_explicit(slot, memory_order_relaxed);
    if (HS_LIKELY((v >> 32) == (pc >> RULE_SLOT_BITS) && (uint32_t)v))
        return (uint32_t)v;
    uint32_t rule = pack(cfi_rule_at(pc));
    if ((pc >> RULE_SLOT_BITS) <= UINT32_MAX)
        atomic_store_explicit(slot, (uint64_t)(pc >> RULE_SLOT_BITS) << 32 | rule, memory_order_relaxed);
    return rule;
}

void stack_capture_forget(void)
{
    for (unsigned i = 0; i < (1u << RULE_SLOT_BITS); i++)
        atomic_store_explicit(&rule_cache[i], 0, memory_order_relaxed);
}

unsigned stack_capture(const struct stack_origin *from, uintptr_t *frames, unsigned max, uint64_t *hash)
{
    uintptr_t pc, sp, bp;
    if (from) {
        pc = from->pc;
        sp = from->sp;
        bp = from->bp;
    } else {
        __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" : "=r"(pc), "=r"(sp), "=r"(bp));
    }
    unsigned kept = 0, own = 0;
    uintptr_t lookup = from ? pc - 1 : pc; /* our own first pc is exact; the rest are return addresses */
    uint64_t h = STACK_HASH_SEED;
    while (kept < max) {
        if (kept || pc < self_start || pc >= self_end) {
            frames[kept++] = pc;
            h = stack_hash_step(h, pc);
        }
        else if (++own > OWN_FRAMES_MAX)
            break;
        uint32_t rule = rule_for(lookup);
        unsigned kind = rule >> RULE_KIND_SHIFT;
        if (kind == CFI_STOP)
            break;
        if (HS_UNLIKELY(kind != CFI_RSP && kind != CFI_RBP))
            return capture_slow(frames, max, hash);
        uintptr_t cfa = (kind == CFI_RSP ? sp : bp) + (rule & ((1u << RULE_OFF_BITS) - 1));
        if (HS_UNLIKELY(cfa <= sp || cfa - sp > FRAME_BYTES_MAX))
            return capture_slow(frames, max, hash);
        pc = *(const uintptr_t *)(cfa - 8);
        if (rule & RULE_RBP_SAVED)
            bp = *(const uintptr_t *)(cfa + 8 * (intptr_t)((int32_t)(rule << 5) >> 25)); /* bits 20-26, signed */
        sp = cfa;
        if (!pc)
            break;
        lookup = pc - 1;
    }
    *hash = stack_hash_finish(h, kept);
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
