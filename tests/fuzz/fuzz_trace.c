/*
 * libFuzzer target: any bytes, read as a trace, through everything the
 * analyzer does offline but symbolization (a fuzzed module path could name
 * any file): the reader, the model, the heap graph (leak kinds, cycles,
 * chains), and refcount histories. It must never crash, hang or leak.
 * Built by the CMake target fuzz_trace (tests/CMakeLists.txt), run by
 * tests/integration/test_fuzz.py.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "graph.h"
#include "model.h"
#include "rc_objects.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("trace", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64], err[512];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct model m;
    struct model_load_options lo = { .keep_rc_events = 1 };
    if (model_load(&m, path, &lo, err, sizeof err) == 0) {
        if (m.snapshot && m.snapshot->scanned) {
            struct graph g;
            graph_build(&g, &m, HEURISTICS_ALL);
            uint64_t bytes[KIND_COUNT], blocks[KIND_COUNT], inherited[2];
            graph_totals(&g, bytes, blocks, inherited);
            int32_t *comp = malloc((m.n_blocks ? m.n_blocks : 1) * sizeof *comp);
            uint32_t *parent = malloc((m.n_blocks ? m.n_blocks : 1) * sizeof *parent);
            uint32_t *depth = malloc((m.n_blocks ? m.n_blocks : 1) * sizeof *depth);
            graph_cycles(&g, comp);
            graph_bfs(&g, parent, depth);
            free(comp);
            free(parent);
            free(depth);
            graph_free(&g);
        }
        struct model_group *groups;
        size_t n = model_group_by_stack(&m, &groups);
        (void)n;
        free(groups);
        struct rc_objects r;
        rc_objects_build(&r, &m);
        for (size_t k = 0; k < r.n && k < 64; k++)
            rc_count_at(&r, &m, r.obj[k].addr, UINT64_MAX);
        rc_objects_free(&r);
        model_free(&m);
    }
    close(fd);
    return 0;
}
