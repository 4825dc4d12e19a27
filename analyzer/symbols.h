/*
 * Offline symbolization of recorded return addresses (symbols.c).
 */
#ifndef HEAPSCOPE_SYMBOLS_H
#define HEAPSCOPE_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct sym_frame {
    uint64_t address;     /* the recorded return address */
    const char *function; /* demangled for C++; NULL if unknown */
    const char *mangled;  /* the symbol's own name when function is its demangling, else NULL */
    const char *file;     /* NULL if unknown */
    unsigned line;        /* 0 if unknown */
    const char *module;   /* NULL if the address is in no known module */
    int inlined;          /* an inlined call inside the next frame's function */
};

struct symbolizer;
struct Dwfl;
struct Dwfl_Module;
struct symbolizer *sym_open(const struct model *m);
/* libdw's view of one file as the symbolizer opens it (found again by build
 * id, its debug info by build id or debuglink) at bias, for a test to ask
 * libdw the symbolizer's questions: the Dwfl (dwfl_end it), NULL if libdw
 * has no memory; *module is NULL if the file cannot be read. */
struct Dwfl *sym_dwfl_open(const char *path, uint64_t bias, struct Dwfl_Module **module);
void sym_close(struct symbolizer *s);
/* What the reader should be told about the symbols (a module that changed
 * since the trace was made: its frames are not symbolized), or NULL. */
const char *sym_warning(const struct symbolizer *s);
/* The frames of one address (at least one): inlined calls first, innermost
 * first. *out stays valid until the next sym_resolve call. */
size_t sym_resolve(struct symbolizer *s, uint64_t addr, const struct sym_frame **out);

/* The allocation site of a stack: its innermost frame (inlined calls first),
 * past the refcount shim's own frame, which every refcounted object shares.
 * Returns how many frames that return address has (set in frames), 0 if the
 * stack is empty. */
size_t sym_site(struct symbolizer *s, const struct model *m, uint32_t stack_id, const struct sym_frame **frames);

/* Whether a module only wraps the allocator (the refcount shim). */
int sym_allocator_wrapper(const char *module);

/* Where a user can act on an allocation (sym_user_location). */
struct sym_location {
    struct sym_frame frame; /* its strings live until sym_close */
    uint64_t offset;        /* frame.address less its module's load bias */
};

/* The location of an allocation a user can act on (the gate's verdict, JUnit,
 * SARIF): the first frame in the program's own code, i.e. in a module that is
 * not a system library (under /lib, /usr/lib, /lib64, /usr/lib64), the
 * loader, or heapscope's own; when every frame is in one, the first frame
 * outside the allocator's functions (malloc, operator new, ...). Returns 0
 * when the stack is empty. */
int sym_user_location(struct symbolizer *s, const struct model *m, uint32_t stack_id, struct sym_location *loc);
/* A location in words: its source line ("leak.c:12", the whole path with
 * full_path), else its module's base name and offset and the function
 * ("prog+0x1189 (leaky)"). Returns buf. */
const char *sym_location_text(const struct sym_location *loc, int full_path, char *buf, size_t room);

/* The data symbol holding addr (a global), demangled, its offset in it, and
 * (when mangled is not NULL) its mangled name if it had one; NULL if none. */
const char *sym_data(struct symbolizer *s, uint64_t addr, uint64_t *offset, const char **mangled);
/* The C++ class whose vtable addr points into ("Node", "ns::Shape"), or NULL. */
const char *sym_vtable_class(struct symbolizer *s, uint64_t addr);
/* A block's type: its tag, else the class of its vtable, else NULL. */
const char *sym_block_type(struct symbolizer *s, const struct model *m, size_t block);

#endif
