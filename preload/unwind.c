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
static atomic_uint memo_gen = 1; /* memos made before it changed are not reused */

/*
 * libunwind checks that an address can be read before it reads it, by
 * writing a byte from it into a pipe it opens at its start: on the lowest
 * free descriptors, 3 and 4 in most programs. A program that put files of
 * its own there (a shell's `exec 3<file 4>file`, a daemon that closed
 * everything) had libunwind read a byte out of one and write bytes into the
 * other, or close both. So the reads are checked here instead, with
 * process_vm_readv, which takes no descriptor; a thread remembers a few
 * pages found readable. libunwind's pipe is closed, if it is the one just
 * made (libunwind reads its accessors from its address space, whose first
 * member they are: checked to point into libunwind before they are used).
 */
#define READABLE_PAGES 8
static __thread uintptr_t readable_pages[READABLE_PAGES] __attribute__((tls_model("initial-exec")));
static __thread unsigned readable_next __attribute__((tls_model("initial-exec")));

static int page_readable(uintptr_t page)
{
    for (unsigned i = 0; i < READABLE_PAGES; i++)
        if (readable_pages[i] == page)
            return 1;
    if (plat_readable(page, 1) != 1)
        return 0;
    readable_pages[readable_next++ % READABLE_PAGES] = page;
    return 1;
}

/* libunwind's access_mem, reading what its own would have: a cursor (arg)
 * reads only what is readable; without one, as libunwind's, unchecked. */
static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    (void)as;
    if (write) {
        *(unw_word_t *)addr = *val;
        return 0;
    }
    uintptr_t page = addr & ~(uintptr_t)4095, last = (addr + sizeof *val - 1) & ~(uintptr_t)4095;
    if (arg && (!page || !page_readable(page) || (last != page && !page_readable(last))))
        return -1;
    *val = *(const unw_word_t *)addr;
    return 0;
}

static void take_over_access_mem(const int pipe_fds[2])
{
    uintptr_t start, end;
    unw_accessors_t *acc = (unw_accessors_t *)unw_local_addr_space;
    plat_module_range((const void *)&unw_backtrace, &start, &end);
    uintptr_t fns[] = { (uintptr_t)acc->find_proc_info, (uintptr_t)acc->access_mem, (uintptr_t)acc->access_reg };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (fns[i] < start || fns[i] >= end)
            return;
    int here;
    if (plat_readable((uintptr_t)&here, sizeof here) != 1) /* the kernel will not say: libunwind's own way */
        return;
    acc->access_mem = access_mem;
    plat_close_pipe(pipe_fds);
}

void stack_capture_init(void)
{
    int fds[2];
    plat_free_fds(fds); /* where libunwind's pipe will be */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD); /* libunwind starts */
    unw_set_cache_size(unw_local_addr_space, 1024, 0);
    take_over_access_mem(fds);
    plat_module_range((const void *)&stack_capture_init, &self_start, &self_end);
}

/* Room for our own frames above the caller's. */
#define OWN_FRAMES_MAX 16
/* A frame larger than this is taken for a bad rule and handed to libunwind. */
#define FRAME_BYTES_MAX (1u << 20)
/* At code no FDE covers, libunwind guesses a frame from rbp, and ends the
 * stack there when rbp is below the frame's sp or more than this above it
 * (0 included): the walker ends it alike, and leaves the guess to it. */
#define NOFDE_RBP_MAX 0x4000u

/* Set once code has been unloaded: unw_backtrace keeps a cache of frames
 * per thread that nothing clears (libunwind 1.6's unw_flush_cache does
 * not), so it walked a library loaded where an unloaded one was with the
 * old one's frames. From then on the fallback steps with unw_step, whose
 * caches unw_flush_cache does clear: slower, and right. */
static atomic_int code_unloaded;

static int backtrace_stepping(void **raw, int max)
{
    unw_context_t ctx;
    unw_cursor_t cur;
    unw_word_t ip;
    int n = 0;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
        return 0;
    while (n < max && unw_get_reg(&cur, UNW_REG_IP, &ip) == 0) {
        raw[n++] = (void *)ip;
        if (unw_step(&cur) <= 0)
            break;
    }
    return n;
}

static unsigned capture_slow(uintptr_t *frames, unsigned max, uint64_t *hash)
{
    void *raw[max + OWN_FRAMES_MAX];
    int n = atomic_load_explicit(&code_unloaded, memory_order_relaxed)
                ? backtrace_stepping(raw, (int)(max + OWN_FRAMES_MAX))
                : unw_backtrace(raw, (int)(max + OWN_FRAMES_MAX));
    int skip = 0;
    while (skip < n && (uintptr_t)raw[skip] >= self_start && (uintptr_t)raw[skip] < self_end)
        skip++;
    unsigned kept = 0;
    for (int i = skip; i < n && kept < max; i++)
        frames[kept++] = (uintptr_t)raw[i];
    *hash = stack_hash(frames, kept);
    return kept;
}

/* The walks left to libunwind: HEAPSCOPE_CHECK_STACKS says how many. */
static atomic_uint_least64_t walks_fallback;

static unsigned fallback(uintptr_t *frames, unsigned max, uint64_t *hash)
{
    atomic_fetch_add_explicit(&walks_fallback, 1, memory_order_relaxed);
    return capture_slow(frames, max, hash);
}

/* The rule cache, shared by all threads without a lock: two-way sets of
 * one 64-bit word a slot, so a slot is never torn. The set is a hash of the
 * code address (its low bits alone put every call site 64 KiB apart in one
 * slot: a program with thousands of hot call sites spent a fifth of its
 * time re-deriving rules); a slot holds the address's bits from
 * RULE_SET_BITS up (user addresses have 47 bits), from which with the set
 * the address is whole, over the rule packed in 32 bits: the CFA offset in
 * bits 0-19, rbp's slot / 8 in 20-26 (signed), rbp saved in 27, the kind in
 * 28-31. A rule that does not fit is CFI_FAIL. A new rule takes an empty
 * way, else either way in turn; only a rule just derived is ever stored. */
#define RULE_SET_BITS 15
static atomic_uint_least64_t rule_cache[2u << RULE_SET_BITS];
static atomic_uint_least64_t rules_derived; /* misses: HEAPSCOPE_CHECK_STACKS says how many */

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
    uint64_t high = pc >> RULE_SET_BITS;
    size_t set = (pc ^ high ^ high >> RULE_SET_BITS) & ((1u << RULE_SET_BITS) - 1);
    atomic_uint_least64_t *way = &rule_cache[2 * set];
    uint64_t v0 = atomic_load_explicit(&way[0], memory_order_relaxed);
    if (HS_LIKELY((v0 >> 32) == high && (uint32_t)v0))
        return (uint32_t)v0;
    uint64_t v1 = atomic_load_explicit(&way[1], memory_order_relaxed);
    if ((v1 >> 32) == high && (uint32_t)v1)
        return (uint32_t)v1;
    uint32_t rule = pack(cfi_rule_at(pc));
    uint64_t misses = atomic_fetch_add_explicit(&rules_derived, 1, memory_order_relaxed);
    if (high <= UINT32_MAX) /* an empty way, else either in turn */
        atomic_store_explicit(&way[!v0 ? 0 : !v1 ? 1 : misses & 1], high << 32 | rule, memory_order_relaxed);
    return rule;
}

/* The cache is cleared before the generation moves: a thread that copied a
 * stale rule into its near cache meanwhile drops it at the move (the other
 * order let it keep one copied between the move and the clearing). */
void stack_capture_forget(void)
{
    for (size_t i = 0; i < sizeof rule_cache / sizeof rule_cache[0]; i++)
        atomic_store_explicit(&rule_cache[i], 0, memory_order_relaxed);
    atomic_store_explicit(&code_unloaded, 1, memory_order_relaxed);
    unw_flush_cache(unw_local_addr_space, 0, 0);
    atomic_fetch_add_explicit(&memo_gen, 1, memory_order_release);
}

/*
 * The previous walk, to reuse (a thread's memo). A walk is a function of its
 * state at each frame (pc, sp, bp) and of the stack words it reads there:
 * the return address at CFA-8, and rbp's saved copy when the rule restores
 * it. So when a new walk reaches a frame whose state equals one of the
 * previous walk's, and every word the previous walk read from there on
 * still holds what it read, the rest of the new walk would read the same
 * words and find the same frames: they are copied, checked one independent
 * load each instead of a chain of dependent ones. Only bp's that a later
 * rule uses (need_bp) are compared. The checks read, in order, only what
 * the walk itself would read, so they cannot fault where it would not; and
 * they hold whichever thread made the memo (buffers, and memos, pass to new
 * threads). Frames are kept outermost first, so a new walk rewrites only its
 * fresh inner frames; hcum[i] is the hash of frames 0..i (stack_hash hashes
 * outermost first for this).
 */
enum { END_STOP, END_ZERO, END_MAX };

struct memo_frame {
    uintptr_t pc, sp, bp; /* the frame's state */
    uintptr_t rbp_chk;    /* where the move outward read a bp that is used, or 0 */
    uint64_t hcum;
    uintptr_t need_bp;    /* the walk outward from here uses bp */
};

struct fresh_frame {
    uintptr_t pc, sp, bp;
    uintptr_t rbp_at;     /* where the move outward read rbp, or 0 */
    uintptr_t kind;
};

/* A thread's own small cache of rules in front of rule_cache, whose 512 KiB
 * a program's own data keeps evicting: a sqlite3 run spent 40% of its stack
 * walks waiting for rule_cache's lines. Direct-mapped, with the memo. */
#define NEAR_RULES 512
struct near_rule {
    uintptr_t pc;
    uint32_t rule;
};

struct stack_memo {
    struct near_rule near[NEAR_RULES];
    unsigned n, cap, gen, end; /* end: how the walk ended, past frame 0 */
    uintptr_t end_slot;        /* END_ZERO: the slot that held 0 */
    struct memo_frame *f;      /* outermost (0) first */
    struct fresh_frame *fresh; /* the walk in progress, innermost first */
};

/* A walk stops reusing after this many matches whose outer frames changed. */
#define MEMO_TRIES 4

struct stack_memo *stack_memo_new(unsigned cap)
{
    size_t bytes = sizeof(struct stack_memo) + (size_t)cap * (sizeof(struct memo_frame) + sizeof(struct fresh_frame));
    struct stack_memo *m = plat_map(bytes);
    if (!m)
        return NULL;
    m->cap = cap;
    m->f = (struct memo_frame *)(m + 1);
    m->fresh = (struct fresh_frame *)(m->f + cap);
    return m;
}

static inline uint32_t near_rule_for(struct stack_memo *m, uintptr_t pc)
{
    if (!m)
        return rule_for(pc);
    struct near_rule *e = &m->near[(pc ^ pc >> 9) & (NEAR_RULES - 1)];
    if (HS_LIKELY(e->pc == pc))
        return e->rule;
    uint32_t rule = rule_for(pc);
    *e = (struct near_rule){ pc, rule };
    return rule;
}

/* Checks that the memo's frames 0..o-1 still follow from frame o, writing
 * them into frames[at...]; 1 if all do. */
static int memo_suffix_holds(const struct stack_memo *m, unsigned o, uintptr_t *frames, unsigned at)
{
    const struct memo_frame *f = m->f;
    for (unsigned q = o; q > 0; q--) {
        if (*(const uintptr_t *)(f[q - 1].sp - 8) != f[q - 1].pc ||
            (f[q].rbp_chk && *(const uintptr_t *)f[q].rbp_chk != f[q - 1].bp))
            return 0;
        frames[at++] = f[q - 1].pc;
    }
    return m->end != END_ZERO || *(const uintptr_t *)m->end_slot == 0;
}

/* The memo of the walk just made: the old one's frames 0..keep-1 (none if
 * keep is 0), then the n fresh frames inward of them. */
static void memo_write(struct stack_memo *m, unsigned keep, unsigned n, unsigned end, uintptr_t end_slot)
{
    struct memo_frame *f = m->f;
    unsigned i = keep;
    uintptr_t need = keep ? f[keep - 1].need_bp : 0; /* past the end: nothing reused reads it */
    uint64_t h = keep ? f[keep - 1].hcum : STACK_HASH_SEED;
    if (!keep) {
        m->end = end;
        m->end_slot = end_slot;
    }
    for (unsigned g = n; g-- > 0; i++) {
        const struct fresh_frame *x = &m->fresh[g];
        h = stack_hash_step(h, x->pc);
        f[i] = (struct memo_frame){ x->pc, x->sp, x->bp, need ? x->rbp_at : 0, h, 0 };
        need = x->kind == CFI_RBP || x->kind == CFI_NOFDE || (x->kind == CFI_RSP && !x->rbp_at && need);
        f[i].need_bp = need;
    }
    m->n = i;
}

static inline unsigned walk(const struct stack_origin *from, struct stack_memo *m, uintptr_t *frames,
                            unsigned max, uint64_t *hash)
{
    uintptr_t pc, sp, bp;
    if (from) {
        pc = from->pc;
        sp = from->sp;
        bp = from->bp;
    } else {
        __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" : "=r"(pc), "=r"(sp), "=r"(bp));
    }
    /* A memo and near rules from before the last forget are dropped, once:
     * the generation is noted here, since a walk left to libunwind writes no
     * memo. */
    unsigned gen = atomic_load_explicit(&memo_gen, memory_order_acquire);
    if (m && (max > m->cap || m->gen != gen)) {
        m->n = 0;
        memset(m->near, 0, sizeof m->near);
        m->gen = gen;
        m = m->cap >= max ? m : NULL;
    }
    unsigned kept = 0, own = 0, end = END_MAX, tries = MEMO_TRIES;
    int o = m ? (int)m->n - 1 : -1; /* the old frame the search is at */
    uintptr_t lookup = from ? pc - 1 : pc, end_slot = 0;
    while (kept < max) {
        if (kept || pc < self_start || pc >= self_end) {
            while (o >= 0 && m->f[o].sp < sp)
                o--;
            if (o >= 0 && m->f[o].sp == sp && m->f[o].pc == pc && (!m->f[o].need_bp || m->f[o].bp == bp)) {
                unsigned n = kept + 1 + (unsigned)o;
                frames[kept] = pc;
                if ((m->end == END_MAX ? n == max : n <= max) && memo_suffix_holds(m, (unsigned)o, frames, kept + 1)) {
                    memo_write(m, (unsigned)o + 1, kept, END_MAX, 0);
                    *hash = stack_hash_finish(m->f[n - 1].hcum, n);
                    return n;
                }
                o = --tries ? o - 1 : -1; /* its outer frames changed: look further out */
            }
            frames[kept] = pc;
            if (m)
                m->fresh[kept] = (struct fresh_frame){ pc, sp, bp, 0, CFI_FAIL };
            kept++;
        }
        else if (++own > OWN_FRAMES_MAX)
            break;
        uint32_t rule = near_rule_for(m, lookup);
        unsigned kind = rule >> RULE_KIND_SHIFT;
        if (m && kept)
            m->fresh[kept - 1].kind = kind;
        if (kind == CFI_STOP || (kind == CFI_NOFDE && (bp < sp || bp - sp > NOFDE_RBP_MAX))) {
            end = END_STOP;
            break;
        }
        if (HS_UNLIKELY(kind != CFI_RSP && kind != CFI_RBP))
            return fallback(frames, max, hash);
        uintptr_t cfa = (kind == CFI_RSP ? sp : bp) + (rule & ((1u << RULE_OFF_BITS) - 1));
        if (HS_UNLIKELY(cfa <= sp || cfa - sp > FRAME_BYTES_MAX))
            return fallback(frames, max, hash);
        pc = *(const uintptr_t *)(cfa - 8);
        if (rule & RULE_RBP_SAVED) {
            uintptr_t at = cfa + 8 * (intptr_t)((int32_t)(rule << 5) >> 25); /* bits 20-26, signed */
            bp = *(const uintptr_t *)at;
            if (m && kept)
                m->fresh[kept - 1].rbp_at = at;
        }
        sp = cfa;
        if (!pc) {
            end = END_ZERO;
            end_slot = cfa - 8;
            break;
        }
        lookup = pc - 1;
    }
    if (m && kept) {
        memo_write(m, 0, kept, end, end_slot);
        *hash = stack_hash_finish(m->f[kept - 1].hcum, kept);
    } else {
        *hash = stack_hash(frames, kept);
    }
    return kept;
}

/* HEAPSCOPE_CHECK_STACKS: libunwind as the oracle, on whatever program runs
 * (test_stacks runs real ones): every Nth walk of a thread is made again by
 * unw_backtrace, from here, and compared whole. */
static atomic_uint_least64_t checks_compared, checks_differ;
static __thread unsigned check_countdown;

static void check_walk(const uintptr_t *frames, unsigned n, unsigned max)
{
    if (check_countdown-- > 0)
        return;
    check_countdown = hs_opt.check_stacks - 1;
    uintptr_t again[max];
    uint64_t hash;
    unsigned m = capture_slow(again, max, &hash);
    atomic_fetch_add_explicit(&checks_compared, 1, memory_order_relaxed);
    if (m != n || memcmp(again, frames, n * sizeof *frames) != 0)
        atomic_fetch_add_explicit(&checks_differ, 1, memory_order_relaxed);
}

void stack_check_counts(uint64_t *compared, uint64_t *differ, uint64_t *derived, uint64_t *fallbacks)
{
    *compared = atomic_load(&checks_compared);
    *differ = atomic_load(&checks_differ);
    *derived = atomic_load(&rules_derived);
    *fallbacks = atomic_load(&walks_fallback);
}

unsigned stack_capture(const struct stack_origin *from, struct stack_memo *m, uintptr_t *frames, unsigned max,
                       uint64_t *hash)
{
    unsigned n = walk(from, m, frames, max, hash);
    if (HS_UNLIKELY(hs_opt.check_stacks))
        check_walk(frames, n, max);
    return n;
}

/* By address, not by name: libunwind's names read /proc/self/maps and map
 * each module's file from disk, a millisecond of every process's exit. */
uintptr_t stack_caller_sp(uintptr_t start, uintptr_t end)
{
    unw_context_t ctx;
    unw_cursor_t cur;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
        return 0;
    for (int depth = 0; depth < 64 && unw_step(&cur) > 0; depth++) {
        unw_word_t ip, sp;
        if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0)
            return 0;
        if (ip - 1 < start || ip - 1 >= end) /* a return address: its call is the byte before */
            continue;
        if (unw_step(&cur) <= 0 || unw_get_reg(&cur, UNW_REG_SP, &sp) != 0)
            return 0;
        return (uintptr_t)sp;
    }
    return 0;
}
