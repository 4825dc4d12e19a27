/*
 * Unit tests of the analysis library on hand-built models: a struct model
 * filled in memory (blocks sorted by address, root and block edges with
 * their offsets and interior-pointer rules), no trace read. Each test states
 * the exact kinds, byte counts, components and chains it expects, so a
 * change to valgrind's rules as graph.c follows them shows here first.
 *
 * Covered: the leak kinds (graph_build, graph_totals), valgrind's cliques,
 * interior pointers and each heuristic rule, hs_ignore'd blocks as roots,
 * inherited blocks, cycles (graph_cycles), shortest chains (graph_bfs),
 * LeakSanitizer pattern matching (suppress.c) and baselines (baseline.c and
 * gate_judge: only growth fails).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline.h"
#include "check_quiet.h"
#include "gate.h"
#include "graph.h"
#include "model.h"
#include "suppress.h"

/* ------------------------------------------------------------ fixtures */

#define FX_MAX_BLOCKS 16
#define FX_MAX_EDGES 64
#define FX_BASE 0x7f0000010000ull
#define FX_STRIDE 0x1000u

struct fixture {
    struct model m;
    struct model_block b[FX_MAX_BLOCKS];
    struct model_edge e[FX_MAX_EDGES];
};

/* n blocks at increasing addresses (so index order is address order), with
 * the given sizes; no edges. */
static void fx_init(struct fixture *f, size_t n, const uint64_t *sizes)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < n; i++)
        f->b[i] = (struct model_block){ .addr = FX_BASE + i * FX_STRIDE, .size = sizes[i], .stack_id = (uint32_t)i };
    f->m.blocks = f->b;
    f->m.n_blocks = n;
    f->m.edges = f->e;
}

/* A pointer from block src (or a root region when src_is_root) to dst_off
 * in block dst; returns its edge index. */
static uint32_t fx_edge(struct fixture *f, int src_is_root, uint32_t src, uint32_t dst, uint64_t dst_off,
                        unsigned rules)
{
    REQUIRE(f->m.n_edges < FX_MAX_EDGES, "fixture: too many edges");
    f->e[f->m.n_edges] = (struct model_edge){ .src = src, .dst = dst, .src_is_root = (uint16_t)src_is_root,
                                              .rules = (uint16_t)rules, .src_off = 8 * f->m.n_edges,
                                              .dst_off = dst_off };
    return (uint32_t)f->m.n_edges++;
}
#define ROOT_TO(f, dst, off, rules) fx_edge(f, 1, 0, dst, off, rules)
#define EDGE(f, src, dst, off, rules) fx_edge(f, 0, src, dst, off, rules)

static void require_kinds(const struct graph *g, const uint8_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        REQUIRE(g->kind[i] == want[i], "block %zu: %s, want %s", i, leak_kind_name(g->kind[i]),
                leak_kind_name(want[i]));
}

enum { SR = KIND_STILL_REACHABLE, PL = KIND_POSSIBLY_LOST, IL = KIND_INDIRECTLY_LOST,
       DL = KIND_DEFINITELY_LOST, IG = KIND_IGNORED };

/* ---------------------------------------------------------- leak kinds */

START_TEST(test_each_kind)
{
    /* 0 root start: reachable; 1 root interior: possibly lost; 2 start pointer
     * from 1: possibly lost (a possibly lost block passes on only that);
     * 3 -> 4 unreached: definitely and indirectly lost; 5 alone: definitely;
     * 6 root interior then a start pointer from 0: upgraded to reachable. */
    static const uint64_t sizes[] = { 16, 32, 48, 64, 80, 96, 112 };
    struct fixture f;
    fx_init(&f, 7, sizes);
    ROOT_TO(&f, 0, 0, 0);
    ROOT_TO(&f, 1, 8, 0);
    ROOT_TO(&f, 6, 24, 0);
    EDGE(&f, 1, 2, 0, 0);
    EDGE(&f, 3, 4, 0, 0);
    EDGE(&f, 0, 6, 0, 0);
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    static const uint8_t want[] = { SR, PL, PL, DL, IL, DL, SR };
    require_kinds(&g, want, 7);
    REQ_EQ(g.indirect[3], 80);
    REQ_EQ(g.indirect[5], 0);

    uint64_t bytes[KIND_COUNT], blocks[KIND_COUNT], inherited[2];
    graph_totals(&g, bytes, blocks, inherited);
    REQ_EQ(bytes[SR], 16 + 112);
    REQ_EQ(blocks[SR], 2);
    REQ_EQ(bytes[PL], 32 + 48);
    REQ_EQ(blocks[PL], 2);
    REQ_EQ(bytes[IL], 80);
    REQ_EQ(blocks[IL], 1);
    REQ_EQ(bytes[DL], 64 + 96);
    REQ_EQ(blocks[DL], 2);
    REQ_EQ(bytes[IG], 0);
    REQ_EQ(inherited[0], 0);
    REQ_EQ(inherited[1], 0);
    graph_free(&g);
}
END_TEST

START_TEST(test_empty_and_rootless)
{
    /* no roots at all: every block lost, the first in address order leads */
    static const uint64_t sizes[] = { 8, 8, 8 };
    struct fixture f;
    fx_init(&f, 3, sizes);
    EDGE(&f, 2, 1, 0, 0);
    EDGE(&f, 1, 0, 4, 0); /* interior: still claims it into the clique */
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    static const uint8_t want[] = { IL, IL, DL };
    require_kinds(&g, want, 3);
    REQ_EQ(g.indirect[2], 16);
    REQ_EQ(g.indirect[0], 0);
    graph_free(&g);

    fx_init(&f, 0, sizes);
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    uint64_t bytes[KIND_COUNT], blocks[KIND_COUNT], inherited[2];
    graph_totals(&g, bytes, blocks, inherited);
    for (int k = 0; k < KIND_COUNT; k++)
        REQ_EQ(blocks[k], 0);
    graph_free(&g);
}
END_TEST

/* -------------------------------------------------------------- cliques */

START_TEST(test_cliques)
{
    /* 0 -> 1: 0 leads first (address order), 1 is its indirect bytes.
     * 2 -> 0: a later leader absorbs the earlier one and its bytes.
     * 3 <-> 4: a lost cycle, one clique led by the lower address.
     * 5 -> 6 and 7 -> 6: 6 goes to the first leader that reaches it only. */
    static const uint64_t sizes[] = { 10, 20, 40, 80, 160, 1, 2, 4 };
    struct fixture f;
    fx_init(&f, 8, sizes);
    EDGE(&f, 0, 1, 0, 0);
    EDGE(&f, 2, 0, 0, 0);
    EDGE(&f, 3, 4, 0, 0);
    EDGE(&f, 4, 3, 0, 0);
    EDGE(&f, 5, 6, 0, 0);
    EDGE(&f, 7, 6, 0, 0);
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    static const uint8_t want[] = { IL, IL, DL, DL, IL, DL, IL, DL };
    require_kinds(&g, want, 8);
    REQ_EQ(g.indirect[0], 0);       /* handed over */
    REQ_EQ(g.indirect[2], 10 + 20); /* 0 and what 0 held */
    REQ_EQ(g.indirect[3], 160);
    REQ_EQ(g.indirect[4], 0);
    REQ_EQ(g.indirect[5], 2);
    REQ_EQ(g.indirect[7], 0);       /* 6 was already claimed */

    uint64_t bytes[KIND_COUNT], blocks[KIND_COUNT], inherited[2];
    graph_totals(&g, bytes, blocks, inherited);
    REQ_EQ(bytes[DL], 40 + 80 + 1 + 4);
    REQ_EQ(blocks[DL], 4);
    REQ_EQ(bytes[IL], 10 + 20 + 160 + 2);
    REQ_EQ(blocks[IL], 4);
    graph_free(&g);
}
END_TEST

START_TEST(test_clique_chain_of_leaders)
{
    /* 0 <- 1 <- 2, each a leader in turn, each absorbed by the next: the
     * last holds everything. */
    static const uint64_t sizes[] = { 3, 5, 7 };
    struct fixture f;
    fx_init(&f, 3, sizes);
    EDGE(&f, 1, 0, 0, 0);
    EDGE(&f, 2, 1, 0, 0);
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    static const uint8_t want[] = { IL, IL, DL };
    require_kinds(&g, want, 3);
    REQ_EQ(g.indirect[0], 0);
    REQ_EQ(g.indirect[1], 0);
    REQ_EQ(g.indirect[2], 3 + 5);
    graph_free(&g);
}
END_TEST

/* ------------------------------------------------- interior pointers */

START_TEST(test_each_heuristic_bit)
{
    for (unsigned bit = 0; bit < FMT_HEUR_COUNT; bit++) {
        /* 0: a root's interior pointer that rule `bit` explains; 1: a start
         * pointer from 0 (reachable only if 0 is) */
        static const uint64_t sizes[] = { 64, 16 };
        struct fixture f;
        fx_init(&f, 2, sizes);
        ROOT_TO(&f, 0, 8, 1u << bit);
        EDGE(&f, 0, 1, 0, 0);
        struct graph g;

        graph_build(&g, &f.m, 1u << bit);
        REQUIRE(g.kind[0] == SR && g.kind[1] == SR, "rule %s on: %s, %s", heuristic_name(bit),
                leak_kind_name(g.kind[0]), leak_kind_name(g.kind[1]));
        REQ_EQ(g.via[0], 1 + bit);
        REQ_EQ(g.via[1], 0);
        graph_free(&g);

        graph_build(&g, &f.m, HEURISTICS_ALL & ~(1u << bit));
        REQUIRE(g.kind[0] == PL && g.kind[1] == PL, "rule %s off: %s, %s", heuristic_name(bit),
                leak_kind_name(g.kind[0]), leak_kind_name(g.kind[1]));
        REQ_EQ(g.via[0], 0);
        graph_free(&g);

        graph_build(&g, &f.m, 0);
        REQ_EQ(g.kind[0], PL);
        graph_free(&g);
    }
}
END_TEST

START_TEST(test_via_attribution)
{
    /* 0: rules newarray and stdstring both explain it: the lowest bit names it.
     * 1: a rule reaches it, then a start pointer from a root clears via.
     * 2: a rule reaches it; a start pointer from a lost block (3) does not clear it.
     * 4: reached by a rule from a reachable block (5). */
    static const uint64_t sizes[] = { 8, 8, 8, 8, 8, 8 };
    struct fixture f;
    fx_init(&f, 6, sizes);
    ROOT_TO(&f, 0, 16, FMT_HEUR_NEWARRAY | FMT_HEUR_STDSTRING);
    ROOT_TO(&f, 1, 8, FMT_HEUR_LENGTH64);
    ROOT_TO(&f, 1, 0, 0);
    ROOT_TO(&f, 2, 8, FMT_HEUR_DTV);
    EDGE(&f, 3, 2, 0, 0);
    ROOT_TO(&f, 5, 0, 0);
    EDGE(&f, 5, 4, 4, FMT_HEUR_MULTIPLE_INHERITANCE);
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    static const uint8_t want[] = { SR, SR, SR, DL, SR, SR };
    require_kinds(&g, want, 6);
    REQ_EQ(g.via[0], 1 + 0); /* stdstring */
    REQ_EQ(g.via[1], 0);
    REQ_EQ(g.via[2], 1 + 4); /* dtv */
    REQ_EQ(g.via[4], 1 + 3); /* multipleinheritance */
    REQ_EQ(g.via[5], 0);
    graph_free(&g);

    /* only newarray: block 0 is now said to be reached by it */
    graph_build(&g, &f.m, FMT_HEUR_NEWARRAY);
    REQ_EQ(g.kind[0], SR);
    REQ_EQ(g.via[0], 1 + 2);
    REQ_EQ(g.kind[1], SR);
    REQ_EQ(g.kind[2], PL);
    REQ_EQ(g.kind[4], PL);
    graph_free(&g);
}
END_TEST

START_TEST(test_interior_from_possibly_lost)
{
    /* an explained interior pointer from a possibly lost block passes on
     * only "possibly" */
    static const uint64_t sizes[] = { 8, 8 };
    struct fixture f;
    fx_init(&f, 2, sizes);
    ROOT_TO(&f, 0, 4, 0);
    EDGE(&f, 0, 1, 4, FMT_HEUR_STDSTRING);
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_ALL);
    static const uint8_t want[] = { PL, PL };
    require_kinds(&g, want, 2);
    REQ_EQ(g.via[1], 0);
    graph_free(&g);
}
END_TEST

/* ------------------------------------------ ignored and inherited blocks */

START_TEST(test_ignored_are_roots)
{
    /* 0 hs_ignore'd, unpointed: a root of its own; 0 -> 1 start: reachable;
     * 1 -> 2 interior: possibly lost; 3 alone: definitely lost; 4 -> 0 from a
     * lost block: 0 stays ignored, 4 definitely lost without indirect bytes. */
    static const uint64_t sizes[] = { 100, 20, 30, 40, 50 };
    struct fixture f;
    fx_init(&f, 5, sizes);
    f.b[0].flags = FMT_BLOCK_IGNORED;
    EDGE(&f, 0, 1, 0, 0);
    EDGE(&f, 1, 2, 8, 0);
    EDGE(&f, 4, 0, 0, 0);
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    static const uint8_t want[] = { IG, SR, PL, DL, DL };
    require_kinds(&g, want, 5);
    REQ_EQ(g.indirect[4], 0);
    uint64_t bytes[KIND_COUNT], blocks[KIND_COUNT], inherited[2];
    graph_totals(&g, bytes, blocks, inherited);
    REQ_EQ(bytes[IG], 100);
    REQ_EQ(blocks[IG], 1);
    REQ_EQ(bytes[SR], 20);
    REQ_EQ(bytes[PL], 30);
    REQ_EQ(bytes[DL], 90);
    REQ_EQ(blocks[DL], 2);
    graph_free(&g);
}
END_TEST

START_TEST(test_inherited_counted_apart)
{
    /* a forked child's inherited blocks: classified, but counted apart */
    static const uint64_t sizes[] = { 100, 7, 5, 11 };
    struct fixture f;
    fx_init(&f, 4, sizes);
    f.b[0].flags = FMT_BLOCK_INHERITED; /* lost */
    f.b[1].flags = FMT_BLOCK_INHERITED; /* reachable */
    ROOT_TO(&f, 1, 0, 0);
    ROOT_TO(&f, 3, 0, 0);
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    static const uint8_t want[] = { DL, SR, DL, SR };
    require_kinds(&g, want, 4);
    uint64_t bytes[KIND_COUNT], blocks[KIND_COUNT], inherited[2];
    graph_totals(&g, bytes, blocks, inherited);
    REQ_EQ(inherited[0], 107);
    REQ_EQ(inherited[1], 2);
    REQ_EQ(bytes[DL], 5);
    REQ_EQ(blocks[DL], 1);
    REQ_EQ(bytes[SR], 11);
    REQ_EQ(blocks[SR], 1);
    graph_free(&g);
}
END_TEST

START_TEST(test_leak_totals_needs_scan)
{
    static const uint64_t sizes[] = { 9 };
    struct fixture f;
    fx_init(&f, 1, sizes);
    uint64_t bytes[KIND_COUNT] = { 0 }, blocks[KIND_COUNT] = { 0 }, inherited[2] = { 0 };
    REQ_EQ(graph_leak_totals(&f.m, HEURISTICS_DEFAULT, bytes, blocks, inherited), 0);
    struct model_snapshot snap = { .complete = 1, .scanned = 1 };
    f.m.snapshot = &snap;
    REQ_EQ(graph_leak_totals(&f.m, HEURISTICS_DEFAULT, bytes, blocks, inherited), 1);
    REQ_EQ(bytes[DL], 9);
    REQ_EQ(blocks[DL], 1);
}
END_TEST

START_TEST(test_block_at)
{
    static const uint64_t sizes[] = { 16, 0, 32 };
    struct fixture f;
    fx_init(&f, 3, sizes);
    REQ_EQ(graph_block_at(&f.m, FX_BASE - 1), -1);
    REQ_EQ(graph_block_at(&f.m, FX_BASE), 0);
    REQ_EQ(graph_block_at(&f.m, FX_BASE + 15), 0);
    REQ_EQ(graph_block_at(&f.m, FX_BASE + 16), -1);
    REQ_EQ(graph_block_at(&f.m, FX_BASE + FX_STRIDE), 1); /* a zero-sized block: its address only */
    REQ_EQ(graph_block_at(&f.m, FX_BASE + FX_STRIDE + 1), -1);
    REQ_EQ(graph_block_at(&f.m, FX_BASE + 2 * FX_STRIDE + 31), 2);
}
END_TEST

/* --------------------------------------------------------------- cycles */

START_TEST(test_cycles)
{
    /* 0: self-loop; 1 <-> 2; 3 -> 4 -> 5 -> 3; 6 -> 7 and 6 -> 1: no cycle;
     * 8 alone. Two edges 1 -> 2 count once. */
    static const uint64_t sizes[] = { 8, 8, 8, 8, 8, 8, 8, 8, 8 };
    struct fixture f;
    fx_init(&f, 9, sizes);
    EDGE(&f, 0, 0, 0, 0);
    EDGE(&f, 1, 2, 0, 0);
    EDGE(&f, 1, 2, 8, 0);
    EDGE(&f, 2, 1, 0, 0);
    EDGE(&f, 3, 4, 0, 0);
    EDGE(&f, 4, 5, 0, 0);
    EDGE(&f, 5, 3, 0, 0);
    EDGE(&f, 6, 7, 0, 0);
    EDGE(&f, 6, 1, 0, 0);
    ROOT_TO(&f, 8, 0, 0);
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    int32_t comp[9];
    REQ_EQ(graph_cycles(&g, comp), 3);
    REQUIRE(comp[0] >= 0 && comp[1] >= 0 && comp[3] >= 0, "members: %d %d %d", comp[0], comp[1], comp[3]);
    REQ_EQ(comp[2], comp[1]);
    REQ_EQ(comp[4], comp[3]);
    REQ_EQ(comp[5], comp[3]);
    REQUIRE(comp[0] != comp[1] && comp[1] != comp[3] && comp[0] != comp[3], "distinct: %d %d %d", comp[0],
            comp[1], comp[3]);
    REQUIRE(comp[0] < 3 && comp[1] < 3 && comp[3] < 3, "numbered below 3");
    REQ_EQ(comp[6], -1);
    REQ_EQ(comp[7], -1);
    REQ_EQ(comp[8], -1);
    graph_free(&g);
}
END_TEST

START_TEST(test_no_cycles)
{
    /* a diamond is not a cycle */
    static const uint64_t sizes[] = { 8, 8, 8, 8 };
    struct fixture f;
    fx_init(&f, 4, sizes);
    EDGE(&f, 0, 1, 0, 0);
    EDGE(&f, 0, 2, 0, 0);
    EDGE(&f, 1, 3, 0, 0);
    EDGE(&f, 2, 3, 0, 0);
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    int32_t comp[4];
    REQ_EQ(graph_cycles(&g, comp), 0);
    for (int i = 0; i < 4; i++)
        REQ_EQ(comp[i], -1);
    graph_free(&g);
}
END_TEST

/* ------------------------------------------------------- shortest chains */

START_TEST(test_bfs_chains)
{
    /* root -> 0 -> 1 -> 2, and 0 -> 2: 2 is at depth 2 through 0's edge.
     * 3 unreached. 4 hs_ignore'd: depth 0, no parent; 4 -> 5: depth 1.
     * root -> 6 at an interior offset: depth 1 all the same (every edge). */
    static const uint64_t sizes[] = { 8, 8, 8, 8, 8, 8, 8 };
    struct fixture f;
    fx_init(&f, 7, sizes);
    f.b[4].flags = FMT_BLOCK_IGNORED;
    uint32_t r0 = ROOT_TO(&f, 0, 0, 0);
    uint32_t e01 = EDGE(&f, 0, 1, 0, 0);
    EDGE(&f, 1, 2, 0, 0);
    uint32_t e02 = EDGE(&f, 0, 2, 0, 0);
    uint32_t e45 = EDGE(&f, 4, 5, 0, 0);
    uint32_t r6 = ROOT_TO(&f, 6, 40, 0);
    ROOT_TO(&f, 0, 0, 0); /* a second root pointer: the first stays the parent */
    struct graph g;
    graph_build(&g, &f.m, HEURISTICS_DEFAULT);
    uint32_t parent[7], depth[7];
    graph_bfs(&g, parent, depth);
    static const uint32_t want_depth[] = { 1, 2, 2, UINT32_MAX, 0, 1, 1 };
    const uint32_t want_parent[] = { r0, e01, e02, UINT32_MAX, UINT32_MAX, e45, r6 };
    for (int i = 0; i < 7; i++) {
        REQUIRE(depth[i] == want_depth[i], "block %d: depth %u, want %u", i, depth[i], want_depth[i]);
        REQUIRE(parent[i] == want_parent[i], "block %d: parent edge %u, want %u", i, parent[i], want_parent[i]);
    }
    graph_free(&g);
}
END_TEST

/* ------------------------------------------------------------ the gate */

START_TEST(test_suppression_patterns)
{
    static const struct { const char *pattern, *s; int want; } cases[] = {
        { "foo", "foo", 1 },          { "foo", "xfooy", 1 },       { "foo", "fo", 0 },
        { "^foo", "foobar", 1 },      { "^foo", "xfoo", 0 },       { "foo$", "barfoo", 1 },
        { "foo$", "foobar", 0 },      { "^foo$", "foo", 1 },       { "^foo$", "foox", 0 },
        { "^foo$", "xfoo", 0 },       { "f*o", "fxxxo", 1 },       { "f*o", "f", 0 },
        { "^a*c$", "abbbc", 1 },      { "^a*c$", "abbbcd", 0 },    { "^a*c$", "ac", 1 },
        { "*", "", 1 },               { "*", "anything", 1 },      { "a**b", "axb", 1 },
        { "libfoo.so", "/usr/lib/libfoo.so.1", 1 },                { "^libfoo", "/usr/lib/libfoo.so", 0 },
        { "*libfoo.so$", "/usr/lib/libfoo.so", 1 },               { "*libfoo.so$", "/usr/lib/libfoo.so.1", 0 },
        { "make_*_node", "make_tree_node", 1 },                    { "make_*_node", "make_node", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        REQUIRE(suppression_match(cases[i].pattern, cases[i].s) == cases[i].want, "'%s' on '%s': want %d",
                cases[i].pattern, cases[i].s, cases[i].want);
    REQ_EQ(suppression_match("foo", NULL), 0);
    REQ_EQ(suppression_match("*", NULL), 0);
}
END_TEST

START_TEST(test_suppression_lines)
{
    struct suppressions ps = { 0 };
    suppressions_add_text(&ps, "# a comment\nleak:foo\n  leak:bar*baz  \r\nleak:\ncalled_from_lib:libx.so\n"
                               "\tleak:^main$\nleak:last");
    REQ_EQ(ps.n, 4);
    REQUIRE(strcmp(ps.p[0], "foo") == 0, "0: '%s'", ps.p[0]);
    REQUIRE(strcmp(ps.p[1], "bar*baz") == 0, "1: '%s'", ps.p[1]);
    REQUIRE(strcmp(ps.p[2], "^main$") == 0, "2: '%s'", ps.p[2]);
    REQUIRE(strcmp(ps.p[3], "last") == 0, "3: '%s'", ps.p[3]);
    suppressions_free(&ps);
    REQ_EQ(ps.n, 0);
}
END_TEST

/* A gate with no traces, its current run's signatures and its baseline
 * filled by hand, judged: only growth over the baseline fails. */
START_TEST(test_baseline_growth_only)
{
    struct gate_options o = GATE_OPTIONS_INIT;
    o.baseline = "(in memory)";
    struct gate g;
    memset(&g, 0, sizeof g);
    g.o = &o;
    baseline_add(&g.current, "definitely_lost;grow@a.c", 100, 2);
    baseline_add(&g.current, "definitely_lost;shrink@b.c", 50, 1);
    baseline_add(&g.current, "indirectly_lost;new@c.c", 30, 3);
    baseline_add(&g.current, "definitely_lost;grow@a.c", 20, 1); /* adds up: 120/3 */
    baseline_add(&g.base, "definitely_lost;grow@a.c", 60, 3);
    baseline_add(&g.base, "definitely_lost;shrink@b.c", 80, 2);
    baseline_add(&g.base, "definitely_lost;gone@d.c", 1000, 10);
    gate_judge(&g);
    REQ_EQ(g.total_bytes, (120 - 60) + 30);
    REQ_EQ(g.total_blocks, 0 + 3);
    REQ_EQ(g.fail, 1);
    struct gate_finding shrink = { .sig = *strmap_get(&g.current.index, "definitely_lost;shrink@b.c", 0) };
    struct gate_finding grow = { .sig = *strmap_get(&g.current.index, "definitely_lost;grow@a.c", 0) };
    REQ_EQ(gate_failing(&g, &shrink), 0);
    REQ_EQ(gate_failing(&g, &grow), 1);
    REQ_EQ(gate_status(&g), 1);
    gate_free(&g);

    /* the growth within the thresholds passes */
    o.max_bytes = 90;
    o.max_blocks = 3;
    memset(&g, 0, sizeof g);
    g.o = &o;
    baseline_add(&g.current, "definitely_lost;grow@a.c", 120, 3);
    baseline_add(&g.current, "indirectly_lost;new@c.c", 30, 3);
    baseline_add(&g.base, "definitely_lost;grow@a.c", 60, 3);
    gate_judge(&g);
    REQ_EQ(g.total_bytes, 90);
    REQ_EQ(g.total_blocks, 3);
    REQ_EQ(g.fail, 0);
    REQ_EQ(gate_status(&g), 0);
    gate_free(&g);

    /* no baseline: everything counts */
    struct gate_options none = GATE_OPTIONS_INIT;
    memset(&g, 0, sizeof g);
    g.o = &none;
    baseline_add(&g.current, "definitely_lost;grow@a.c", 120, 3);
    baseline_add(&g.current, "indirectly_lost;new@c.c", 30, 3);
    gate_judge(&g);
    REQ_EQ(g.total_bytes, 150);
    REQ_EQ(g.total_blocks, 6);
    REQ_EQ(g.fail, 1);
    gate_free(&g);
}
END_TEST

START_TEST(test_baseline_file)
{
    char path[] = "/tmp/heapscope-baseline-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0, "mkstemp");
    FILE *f = fdopen(fd, "w");
    struct baseline b = { 0 };
    baseline_add(&b, "definitely_lost;main@m.c", 64, 2);
    baseline_add(&b, "indirectly_lost;f@x.c;main@m.c", 7, 1);
    baseline_write(f, &b);
    fclose(f);
    baseline_free(&b);

    struct baseline r = { 0 };
    REQ_EQ(baseline_load(&r, path), 0);
    REQ_EQ(r.n, 2);
    size_t *a = strmap_get(&r.index, "definitely_lost;main@m.c", 0);
    size_t *c = strmap_get(&r.index, "indirectly_lost;f@x.c;main@m.c", 0);
    REQUIRE(a && c, "both signatures read back");
    REQ_EQ(r.bytes[*a], 64);
    REQ_EQ(r.blocks[*a], 2);
    REQ_EQ(r.bytes[*c], 7);
    REQ_EQ(r.blocks[*c], 1);
    baseline_free(&r);

    f = fopen(path, "w");
    fputs("64 2 definitely_lost;main@m.c\n", f); /* no header */
    fclose(f);
    struct baseline bad = { 0 };
    REQ_EQ(baseline_load(&bad, path), -2);
    baseline_free(&bad);
    unlink(path);
    struct baseline missing = { 0 };
    REQ_EQ(baseline_load(&missing, path), -1);
    baseline_free(&missing);
}
END_TEST

static Suite *analysis_suite(void)
{
    Suite *s = suite_create("analysis");
    TCase *kinds = tcase_create("leak kinds");
    tcase_add_test(kinds, test_each_kind);
    tcase_add_test(kinds, test_empty_and_rootless);
    tcase_add_test(kinds, test_cliques);
    tcase_add_test(kinds, test_clique_chain_of_leaders);
    tcase_add_test(kinds, test_each_heuristic_bit);
    tcase_add_test(kinds, test_via_attribution);
    tcase_add_test(kinds, test_interior_from_possibly_lost);
    tcase_add_test(kinds, test_ignored_are_roots);
    tcase_add_test(kinds, test_inherited_counted_apart);
    tcase_add_test(kinds, test_leak_totals_needs_scan);
    tcase_add_test(kinds, test_block_at);
    suite_add_tcase(s, kinds);
    TCase *shape = tcase_create("cycles and chains");
    tcase_add_test(shape, test_cycles);
    tcase_add_test(shape, test_no_cycles);
    tcase_add_test(shape, test_bfs_chains);
    suite_add_tcase(s, shape);
    TCase *gate = tcase_create("gate");
    tcase_add_test(gate, test_suppression_patterns);
    tcase_add_test(gate, test_suppression_lines);
    tcase_add_test(gate, test_baseline_growth_only);
    tcase_add_test(gate, test_baseline_file);
    suite_add_tcase(s, gate);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(analysis_suite());
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
