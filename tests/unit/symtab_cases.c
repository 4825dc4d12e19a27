/*
 * A library whose symbols put libdw's rules for the symbol holding an address
 * to the test (test_symbols.c sweeps every address of it): a global holding
 * locals, a weak and a global at one start, two sizes at one start, a nearer
 * weak against a farther global, a local alone, labels (symbols of size 0)
 * global and local, a global label on a local function, a label under a sized
 * symbol that ends beyond it, an absolute symbol, a thread-local one, data.
 * Functions with inlined calls give the DWARF side its inline chains.
 */
static inline __attribute__((always_inline)) int cases_twice(int x)
{
    return 2 * x;
}

static inline __attribute__((always_inline)) int cases_twice_plus(int x)
{
    return cases_twice(x) + 1;
}

static __attribute__((noinline)) int cases_hidden(int x)
{
    return cases_twice_plus(x) * 3;
}

int cases_visible(int x)
{
    return cases_hidden(x) + cases_twice_plus(x);
}

#define SKIP(n) ".skip " #n ", 0x90\n"
#define FUNC(name) ".type " #name ",@function\n" #name ":\n"
#define GLOBAL(name) ".globl " #name "\n" FUNC(name)
#define WEAK(name) ".weak " #name "\n" FUNC(name)

__asm__(".text\n"
        /* a global holding two locals: the globals are searched first */
        GLOBAL(cases_outer) FUNC(cases_nested) SKIP(8) ".size cases_nested, 8\n" SKIP(8)
        FUNC(cases_inner) SKIP(8) ".size cases_inner, 8\n" SKIP(8) ".size cases_outer, 32\n"
        /* a weak and a global at one start */
        WEAK(cases_weak) GLOBAL(cases_strong) SKIP(16) ".size cases_strong, 16\n.size cases_weak, 8\n"
        /* two sizes at one start and binding: the smaller */
        GLOBAL(cases_big) GLOBAL(cases_small) SKIP(32) ".size cases_small, 8\n.size cases_big, 32\n"
        /* a nearer weak inside a farther global */
        GLOBAL(cases_far) SKIP(16) WEAK(cases_near) SKIP(8) ".size cases_near, 8\n" SKIP(8)
        ".size cases_far, 32\n"
        /* a local alone, then labels past it: global, then a local one */
        FUNC(cases_alone) SKIP(16) ".size cases_alone, 16\n" SKIP(8)
        ".globl cases_glabel\ncases_glabel:\n" SKIP(8) "cases_llabel:\n" SKIP(8)
        /* a global label inside a local function: only right at it */
        FUNC(cases_local_fn) SKIP(4) ".globl cases_on_local\ncases_on_local:\n" SKIP(12)
        ".size cases_local_fn, 16\n"
        /* a label under a sized symbol that starts before and ends beyond it */
        GLOBAL(cases_over) SKIP(8) "cases_under:\n" SKIP(24) ".size cases_over, 32\n" SKIP(8)
        /* a global and a local label at one address */
        ".globl cases_twin_g\ncases_twin_g:\ncases_twin_l:\n" SKIP(16)
        /* an absolute symbol and a thread-local one are not code */
        ".globl cases_abs\n.set cases_abs, 0x40\n"
        ".section .tbss,\"awT\",@nobits\n.globl cases_tls\n.type cases_tls,@object\n"
        "cases_tls:\n.skip 8\n.size cases_tls, 8\n"
        /* data: an object, then a label past it */
        ".data\n.globl cases_table\n.type cases_table,@object\ncases_table:\n.skip 24\n"
        ".size cases_table, 24\ncases_data_label:\n.skip 8\n"
        ".text\n");
