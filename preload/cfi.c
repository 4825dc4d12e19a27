/*
 * Unwind rules from the loaded binaries' DWARF call frame information
 * (.eh_frame, found through .eh_frame_hdr's sorted table), for x86-64.
 *
 * The stack walker (unwind.c) caches one rule per code address, so this runs
 * once per distinct return address; it interprets the CIE's and the FDE's
 * instructions up to that address and keeps only what a walk needs: the CFA
 * rule, where rbp and the return address are. Forms it does not model give
 * CFI_FAIL, and the walker hands those stacks to libunwind, so an exotic
 * frame costs speed, never a wrong stack.
 *
 * Reads only memory the loader mapped for the binaries; never allocates.
 */
#include "internal.h"

#include <string.h>

/* x86-64 DWARF register numbers */
enum { DWARF_RBP = 6, DWARF_RSP = 7, DWARF_RA = 16 };

/* A register's rule: unchanged, saved at CFA + off, undefined, or beyond us. */
enum { SAVE_SAME, SAVE_AT, SAVE_UNDEF, SAVE_OTHER };

struct cfi_row {
    int cfa_reg; /* DWARF_RSP, DWARF_RBP, or -1: beyond us */
    int64_t cfa_off;
    uint8_t rbp, ra;
    int64_t rbp_off, ra_off;
};

struct cursor {
    const uint8_t *p, *end;
    int bad;
};

static uint8_t get_u8(struct cursor *c)
{
    if (c->p >= c->end) {
        c->bad = 1;
        return 0;
    }
    return *c->p++;
}

static uint64_t get_fixed(struct cursor *c, unsigned size)
{
    if ((size_t)(c->end - c->p) < size) {
        c->bad = 1;
        c->p = c->end;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, c->p, size); /* little-endian */
    c->p += size;
    return v;
}

static uint64_t get_uleb(struct cursor *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b = get_u8(c);
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80) || c->bad)
            return v;
    }
}

static int64_t get_sleb(struct cursor *c)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = get_u8(c);
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) && !c->bad);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* A pointer in one of the DW_EH_PE_* encodings; datarel is from base. */
static uintptr_t get_encoded(struct cursor *c, uint8_t enc, uintptr_t base, int *ok)
{
    if (enc == 0xff) /* omit */
        return 0;
    uintptr_t here = (uintptr_t)c->p, v;
    switch (enc & 0x0f) {
    case 0x00: case 0x04: case 0x0c: v = (uintptr_t)get_fixed(c, 8); break; /* absptr, udata8, sdata8 */
    case 0x01: v = (uintptr_t)get_uleb(c); break;
    case 0x02: v = (uintptr_t)get_fixed(c, 2); break;
    case 0x03: v = (uintptr_t)get_fixed(c, 4); break;
    case 0x09: v = (uintptr_t)get_sleb(c); break;
    case 0x0a: v = (uintptr_t)(int64_t)(int16_t)get_fixed(c, 2); break;
    case 0x0b: v = (uintptr_t)(int64_t)(int32_t)get_fixed(c, 4); break;
    default: *ok = 0; return 0;
    }
    switch (enc & 0x70) {
    case 0x00: break;
    case 0x10: v += here; break; /* pcrel */
    case 0x30: v += base; break; /* datarel */
    default: *ok = 0; return 0;
    }
    return v; /* indirect (0x80) only marks personality pointers, which are skipped */
}

/* The FDE whose start is the last at or before pc, by binary search of
 * .eh_frame_hdr's table; NULL if none (*none set) or the table is of a form
 * not read here. */
static const uint8_t *find_fde(uintptr_t hdr, size_t size, uintptr_t pc, int *none)
{
    *none = 0;
    const uint8_t *h = (const uint8_t *)hdr;
    if (size < 12 || h[0] != 1 || h[3] != 0x3b) /* version 1, table of datarel sdata4 pairs */
        return NULL;
    struct cursor c = { h + 4, h + size, 0 };
    int ok = 1;
    get_encoded(&c, h[1], hdr, &ok); /* .eh_frame itself: unused */
    uint64_t count = get_encoded(&c, h[2], hdr, &ok);
    if (!ok || c.bad || count == 0 || count > (size_t)(c.end - c.p) / 8)
        return NULL;
    const int32_t *table = (const int32_t *)c.p;
    size_t lo = 0, hi = (size_t)count;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (hdr + (intptr_t)table[2 * mid] <= pc)
            lo = mid;
        else
            hi = mid;
    }
    if (hdr + (intptr_t)table[2 * lo] > pc) {
        *none = 1;
        return NULL;
    }
    return (const uint8_t *)(hdr + (intptr_t)table[2 * lo + 1]);
}

/* One CFI entry's extent: *body after its length, *end past it. */
static int entry_bounds(const uint8_t *e, const uint8_t **body, const uint8_t **end)
{
    uint32_t len32;
    memcpy(&len32, e, 4);
    uint64_t len = len32;
    e += 4;
    if (len32 == 0xffffffffu) {
        memcpy(&len, e, 8);
        e += 8;
    }
    if (len == 0 || len > (1u << 24))
        return -1;
    *body = e;
    *end = e + len;
    return 0;
}

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    int has_aug_data, signal_frame;
    struct cursor insns;
};

static int parse_cie(const uint8_t *e, struct cie *cie)
{
    const uint8_t *body, *end;
    if (entry_bounds(e, &body, &end) != 0)
        return -1;
    struct cursor c = { body, end, 0 };
    if (get_fixed(&c, 4) != 0) /* a CIE's id is 0 in .eh_frame */
        return -1;
    uint8_t version = get_u8(&c);
    if (version != 1 && version != 3) /* .eh_frame's; 4 adds fields before the alignments */
        return -1;
    const char *aug = (const char *)c.p;
    size_t aug_len = strnlen(aug, (size_t)(end - c.p));
    c.p += aug_len + 1;
    if (aug[0] && aug[0] != 'z')
        return -1;
    *cie = (struct cie){ .fde_enc = 0 };
    cie->code_align = get_uleb(&c);
    cie->data_align = get_sleb(&c);
    if (version == 1)
        get_u8(&c);
    else
        get_uleb(&c);
    if (aug[0] == 'z') {
        uint64_t n = get_uleb(&c);
        struct cursor a = { c.p, c.p + n, 0 };
        if (n > (size_t)(end - c.p))
            return -1;
        c.p += n;
        cie->has_aug_data = 1;
        for (size_t i = 1; i < aug_len; i++) {
            int ok = 1;
            switch (aug[i]) {
            case 'R': cie->fde_enc = get_u8(&a); break;
            case 'L': get_u8(&a); break;
            case 'P': get_encoded(&a, get_u8(&a), 0, &ok); break;
            case 'S': cie->signal_frame = 1; break;
            default: break; /* the rest is skipped by the length */
            }
            if (!ok || a.bad)
                return -1;
        }
    }
    if (c.bad)
        return -1;
    cie->insns = (struct cursor){ c.p, end, 0 };
    return 0;
}

static void set_reg(struct cfi_row *r, uint64_t reg, uint8_t how, int64_t off)
{
    if (reg == DWARF_RBP) {
        r->rbp = how;
        r->rbp_off = off;
    } else if (reg == DWARF_RA) {
        r->ra = how;
        r->ra_off = off;
    }
}

#define STATE_DEPTH 8

/* Runs CFA instructions from loc until an advance passes pc. init is the
 * CIE's row (for DW_CFA_restore); NULL while running the CIE itself.
 * 0, or -1 on something malformed or unmodelled that matters. */
static int run_insns(struct cursor c, const struct cie *cie, uintptr_t loc, uintptr_t pc, struct cfi_row *row,
                     const struct cfi_row *init)
{
    struct cfi_row saved[STATE_DEPTH];
    unsigned depth = 0;
    while (c.p < c.end && !c.bad) {
        uint8_t op = get_u8(&c);
        uint64_t reg, delta = 0;
        int ok = 1;
        switch (op >> 6) {
        case 1: delta = op & 0x3f; goto advance;
        case 2: set_reg(row, op & 0x3f, SAVE_AT, (int64_t)get_uleb(&c) * cie->data_align); continue;
        case 3:
            if (!init)
                return -1;
            reg = op & 0x3f;
            goto restore;
        default: break;
        }
        switch (op) {
        case 0x00: break; /* nop */
        case 0x01: { /* set_loc */
            uintptr_t to = get_encoded(&c, cie->fde_enc, 0, &ok);
            if (!ok)
                return -1;
            if (to > pc)
                return 0;
            loc = to;
            break;
        }
        case 0x02: delta = get_u8(&c); goto advance;
        case 0x03: delta = get_fixed(&c, 2); goto advance;
        case 0x04: delta = get_fixed(&c, 4); goto advance;
        case 0x05: reg = get_uleb(&c); set_reg(row, reg, SAVE_AT, (int64_t)get_uleb(&c) * cie->data_align); break;
        case 0x06:
            if (!init)
                return -1;
            reg = get_uleb(&c);
            goto restore;
        case 0x07: set_reg(row, get_uleb(&c), SAVE_UNDEF, 0); break;
        case 0x08: set_reg(row, get_uleb(&c), SAVE_SAME, 0); break;
        case 0x09: reg = get_uleb(&c); get_uleb(&c); set_reg(row, reg, SAVE_OTHER, 0); break;
        case 0x0a:
            if (depth == STATE_DEPTH)
                return -1;
            saved[depth++] = *row;
            break;
        case 0x0b:
            if (depth == 0)
                return -1;
            *row = saved[--depth]; /* the CFA rule too, as DWARF 5 6.4.2.4 says */
            break;
        case 0x0c: row->cfa_reg = (int)get_uleb(&c); row->cfa_off = (int64_t)get_uleb(&c); break;
        case 0x0d: row->cfa_reg = (int)get_uleb(&c); break;
        case 0x0e: row->cfa_off = (int64_t)get_uleb(&c); break;
        case 0x0f: row->cfa_reg = -1; c.p += get_uleb(&c); break; /* def_cfa_expression */
        case 0x10: reg = get_uleb(&c); c.p += get_uleb(&c); set_reg(row, reg, SAVE_OTHER, 0); break;
        case 0x11: reg = get_uleb(&c); set_reg(row, reg, SAVE_AT, get_sleb(&c) * cie->data_align); break;
        case 0x12:
            row->cfa_reg = (int)get_uleb(&c);
            row->cfa_off = get_sleb(&c) * cie->data_align;
            break;
        case 0x13: row->cfa_off = get_sleb(&c) * cie->data_align; break;
        case 0x14: case 0x15: reg = get_uleb(&c); get_uleb(&c); set_reg(row, reg, SAVE_OTHER, 0); break;
        case 0x16: reg = get_uleb(&c); c.p += get_uleb(&c); set_reg(row, reg, SAVE_OTHER, 0); break;
        case 0x2e: get_uleb(&c); break; /* GNU_args_size */
        case 0x2f: reg = get_uleb(&c); set_reg(row, reg, SAVE_AT, -(int64_t)get_uleb(&c) * cie->data_align); break;
        default: return -1;
        }
        if (c.p > c.end)
            return -1;
        continue;
    advance:
        loc += delta * cie->code_align;
        if (loc > pc)
            return 0;
        continue;
    restore:
        if (reg == DWARF_RBP) {
            row->rbp = init->rbp;
            row->rbp_off = init->rbp_off;
        } else if (reg == DWARF_RA) {
            row->ra = init->ra;
            row->ra_off = init->ra_off;
        }
    }
    return c.bad ? -1 : 0;
}

static struct cfi_rule fail(void) { return (struct cfi_rule){ .kind = CFI_FAIL }; }

struct cfi_rule cfi_rule_at(uintptr_t pc)
{
    size_t hdr_size;
    uintptr_t hdr = plat_eh_frame_hdr(pc, &hdr_size);
    if (!hdr)
        return fail();
    int none;
    const uint8_t *fde = find_fde(hdr, hdr_size, pc, &none), *body, *end;
    if (none)
        return (struct cfi_rule){ .kind = CFI_NOFDE };
    if (!fde || entry_bounds(fde, &body, &end) != 0)
        return fail();
    struct cursor c = { body, end, 0 };
    uint32_t cie_delta = (uint32_t)get_fixed(&c, 4);
    struct cie cie;
    if (cie_delta == 0 || parse_cie(body - cie_delta, &cie) != 0 || cie.signal_frame)
        return fail();
    int ok = 1;
    uintptr_t start = get_encoded(&c, cie.fde_enc, 0, &ok);
    uintptr_t range = get_encoded(&c, cie.fde_enc & 0x0f, 0, &ok);
    if (!ok || c.bad)
        return fail();
    if (pc < start || pc - start >= range) /* between the FDEs */
        return (struct cfi_rule){ .kind = CFI_NOFDE };
    if (cie.has_aug_data) {
        uint64_t n = get_uleb(&c);
        if (n > (size_t)(end - c.p))
            return fail();
        c.p += n;
    }
    struct cfi_row row = { .cfa_reg = -1, .rbp = SAVE_SAME, .ra = SAVE_SAME };
    if (run_insns(cie.insns, &cie, start, UINTPTR_MAX, &row, NULL) != 0)
        return fail();
    struct cfi_row init = row;
    if (run_insns(c, &cie, start, pc, &row, &init) != 0)
        return fail();
    if (row.ra == SAVE_UNDEF)
        return (struct cfi_rule){ .kind = CFI_STOP };
    if (row.ra != SAVE_AT || row.ra_off != -8 || (row.cfa_reg != DWARF_RSP && row.cfa_reg != DWARF_RBP) ||
        row.cfa_off < INT32_MIN || row.cfa_off > INT32_MAX || (row.rbp != SAVE_SAME && row.rbp != SAVE_AT) ||
        row.rbp_off < INT16_MIN || row.rbp_off > INT16_MAX)
        return fail();
    return (struct cfi_rule){ .cfa_off = (int32_t)row.cfa_off, .rbp_off = (int16_t)row.rbp_off,
                              .kind = row.cfa_reg == DWARF_RSP ? CFI_RSP : CFI_RBP,
                              .rbp_saved = row.rbp == SAVE_AT };
}
