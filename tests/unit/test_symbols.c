/*
 * Unit tests of the symbolizer (symbols.c) against libdw itself: the symbol
 * holding an address must be the one dwfl_module_addrinfo names, and an
 * address's function and inlined calls the ones of dwarf_getscopes and
 * dwarf_getscopes_die, which the symbolizer only avoids calling where they
 * would find nothing new.
 *
 * Every address of a crafted library (symtab_cases.c, with its symbol table
 * and stripped to its dynamic one), and the addresses around each symbol of
 * the libraries this test has loaded and of node, up to a budget: libdw
 * reads every symbol per lookup, which is what made node's report slow.
 */
#include <check.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_quiet.h"
#include "symbols.h"

/* Where a shared library is placed, so that values are moved by a bias. */
#define LIBRARY_BIAS 0x7f3300000000ull

/* One ELF file as a trace's only module, and libdw's own view of it. */
struct subject {
    struct model_module mod;
    struct model model;
    struct symbolizer *sym;
    Dwfl *dwfl;
    Dwfl_Module *dm;
};

/* Where a process would place the file: a shared library at LIBRARY_BIAS,
 * an executable where it was linked. */
static uint64_t bias_of(const char *path)
{
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0, "%s: cannot open", path);
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    GElf_Ehdr ehdr;
    REQUIRE(elf && gelf_getehdr(elf, &ehdr), "%s: not ELF", path);
    elf_end(elf);
    close(fd);
    return ehdr.e_type == ET_DYN ? LIBRARY_BIAS : 0;
}

static void subject_open(struct subject *t, const char *path)
{
    memset(t, 0, sizeof *t);
    uint64_t bias = bias_of(path);
    t->dwfl = sym_dwfl_open(path, bias, &t->dm);
    REQUIRE(t->dwfl && t->dm, "%s: %s", path, dwfl_errmsg(-1));
    Dwarf_Addr start, end;
    dwfl_module_info(t->dm, NULL, &start, &end, NULL, NULL, NULL, NULL);
    t->mod = (struct model_module){ .id = 1, .bias = bias, .start = start, .end = end, .path = (char *)path };
    t->model = (struct model){ .modules = &t->mod, .n_modules = 1 };
    t->sym = sym_open(&t->model);
}

static void subject_close(struct subject *t)
{
    sym_close(t->sym);
    dwfl_end(t->dwfl);
}

/* The symbolizer's symbol for addr is libdw's, with the same offset. */
static void check_symbol(struct subject *t, uint64_t addr)
{
    if (addr < t->mod.start || addr >= t->mod.end)
        return;
    GElf_Off want_off = 0;
    GElf_Sym sym;
    const char *want = dwfl_module_addrinfo(t->dm, addr, &want_off, &sym, NULL, NULL, NULL);
    uint64_t off = 0;
    const char *mangled, *got = sym_data(t->sym, addr, &off, &mangled);
    got = mangled ? mangled : got; /* the symbol as the table spells it */
    REQUIRE(want ? got && strcmp(got, want) == 0 && off == want_off : got == NULL,
            "%s+0x%llx: libdw says %s+0x%llx, the symbolizer %s+0x%llx", t->mod.path,
            (unsigned long long)(addr - t->mod.bias), want ? want : "(none)", (unsigned long long)want_off,
            got ? got : "(none)", (unsigned long long)off);
}

/* Every address of the module, and a little past both ends. */
static void check_every_address(struct subject *t)
{
    for (uint64_t a = t->mod.start - 16; a < t->mod.end + 16; a++)
        check_symbol(t, a);
}

/* The addresses around each symbol's start, middle and end; when there are
 * more than budget, those of evenly spaced symbols. */
static size_t check_around_symbols(struct subject *t, size_t budget)
{
    int n = dwfl_module_getsymtab(t->dm);
    REQUIRE(n > 0, "%s: no symbol table", t->mod.path);
    size_t step = (size_t)n * 7 / budget + 1, checked = 0;
    for (int i = 1; i < n; i += (int)step) {
        GElf_Sym sym;
        GElf_Addr v;
        if (!dwfl_module_getsym_info(t->dm, i, &sym, &v, NULL, NULL, NULL))
            continue;
        const uint64_t around[] = { v - 1, v, v + 1, v + sym.st_size / 2, v + sym.st_size - 1, v + sym.st_size,
                                    v + sym.st_size + 1 };
        for (size_t k = 0; k < sizeof around / sizeof around[0]; k++, checked++)
            check_symbol(t, around[k]);
    }
    return checked;
}

/* libdw's function and inlined calls at pc, innermost first, by its full
 * walks of the unit; 0 when it has none (the symbol table names it). */
static size_t libdw_scopes(Dwfl_Module *dm, Dwarf_Addr pc, const char **names, int *inlined, size_t room)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(dm, pc, &bias), *found = NULL, *chain = NULL;
    int n = cu ? dwarf_getscopes(cu, pc - bias, &found) : 0;
    n = n > 0 ? dwarf_getscopes_die(&found[0], &chain) : 0;
    size_t k = 0;
    for (int i = 0; i < n && k < room; i++) {
        int tag = dwarf_tag(&chain[i]);
        if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
            names[k] = dwarf_diename(&chain[i]);
            inlined[k++] = tag == DW_TAG_inlined_subroutine;
            if (!inlined[k - 1])
                break;
        }
    }
    free(found);
    free(chain);
    return k;
}

/* The frames of every return address in the module are libdw's. */
static void check_frames(struct subject *t)
{
    size_t with_inlined = 0;
    for (uint64_t pc = t->mod.start; pc + 1 < t->mod.end; pc++) {
        const char *names[64];
        int inlined[64];
        size_t want = libdw_scopes(t->dm, pc, names, inlined, 64);
        const struct sym_frame *f;
        size_t got = sym_resolve(t->sym, pc + 1, &f);
        if (!want) {
            REQUIRE(got == 1 && !f[0].inlined, "0x%llx: one frame, from the symbol table", (unsigned long long)pc);
            continue;
        }
        REQUIRE(got == want, "0x%llx: %zu frames, libdw %zu", (unsigned long long)pc, got, want);
        for (size_t k = 0; k < want; k++)
            REQUIRE(f[k].function && strcmp(f[k].function, names[k]) == 0 && f[k].inlined == inlined[k],
                    "0x%llx frame %zu: %s%s, libdw %s%s", (unsigned long long)pc, k, f[k].function,
                    f[k].inlined ? " (inlined)" : "", names[k], inlined[k] ? " (inlined)" : "");
        with_inlined += want > 1;
    }
    REQUIRE(with_inlined > 0, "the crafted library has inlined calls");
}

START_TEST(crafted_library_every_address)
{
    struct subject t;
    subject_open(&t, SYMTAB_CASES);
    check_every_address(&t);
    subject_close(&t);
}
END_TEST

START_TEST(crafted_library_stripped_every_address)
{
    struct subject t;
    subject_open(&t, SYMTAB_CASES_STRIPPED);
    check_every_address(&t);
    subject_close(&t);
}
END_TEST

START_TEST(crafted_library_frames)
{
    struct subject t;
    subject_open(&t, SYMTAB_CASES);
    check_frames(&t);
    subject_close(&t);
}
END_TEST

/* The libraries of this process (the C library, libstdc++, libdw, libelf,
 * the loader, ...), with their separate debug info where it is installed. */
START_TEST(loaded_libraries)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    REQUIRE(maps, "/proc/self/maps");
    char line[4096], seen[64][1024];
    size_t n_seen = 0;
    while (fgets(line, sizeof line, maps) && n_seen < 64) {
        char *path = strchr(line, '/');
        if (!strstr(line, " r-xp ") || !path)
            continue;
        path[strcspn(path, "\n")] = 0;
        int dup = 0;
        for (size_t i = 0; i < n_seen; i++)
            dup |= strcmp(seen[i], path) == 0;
        if (dup || strlen(path) >= sizeof seen[0])
            continue;
        strcpy(seen[n_seen++], path);
        struct subject t;
        subject_open(&t, path);
        if (dwfl_module_getsymtab(t.dm) > 0)
            check_around_symbols(&t, 6000);
        subject_close(&t);
    }
    fclose(maps);
    REQUIRE(n_seen >= 4, "read %zu libraries", n_seen);
}
END_TEST

/* A big program: node's 180,000 symbols, where libdw takes milliseconds per
 * lookup; so a sample. */
START_TEST(big_program)
{
    const char *node = "/usr/bin/node";
    if (access(node, R_OK) != 0) {
        fprintf(stderr, "test_symbols: no %s, big_program not run\n", node);
        return;
    }
    struct subject t;
    subject_open(&t, node);
    REQUIRE(check_around_symbols(&t, 1200) >= 1000, "checked 1,000 addresses");
    subject_close(&t);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("symbols");
    TCase *tc = tcase_create("symbols");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, crafted_library_every_address);
    tcase_add_test(tc, crafted_library_stripped_every_address);
    tcase_add_test(tc, crafted_library_frames);
    tcase_add_test(tc, loaded_libraries);
    tcase_add_test(tc, big_program);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
