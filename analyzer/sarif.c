/*
 * The gate's verdict as SARIF 2.1.0 (gate.h): a rule per leak kind, a
 * result per failing leak record, located at its user location (a source
 * line, else a module and offset), its stack in the result's properties.
 */
#include <stdio.h>

#include "gate.h"
#include "json.h"

/* A leak's location: its source line; without one, its module (the binary
 * artifact) and the offset in it. The function, when known, as the logical
 * location. */
static void sarif_location(struct json *j, const struct sym_location *loc)
{
    const struct sym_frame *f = &loc->frame;
    const char *artifact = f->file && f->line ? f->file : f->module;
    json_object(j, NULL);
    if (artifact) {
        json_object(j, "physicalLocation");
        json_object(j, "artifactLocation");
        char uri[4200];
        snprintf(uri, sizeof uri, "%s%s", artifact[0] == '/' ? "file://" : "", artifact);
        json_str(j, "uri", uri);
        json_object_end(j);
        if (artifact == f->file) {
            json_object(j, "region");
            json_u64(j, "startLine", f->line);
        } else {
            json_object(j, "address");
            json_u64(j, "absoluteAddress", loc->offset);
            json_str(j, "kind", "instruction");
        }
        json_object_end(j);
        json_object_end(j);
    }
    if (f->function) {
        json_array(j, "logicalLocations");
        json_object(j, NULL);
        json_str(j, "fullyQualifiedName", f->function);
        json_str(j, "kind", "function");
        json_object_end(j);
        json_array_end(j);
    }
    json_object_end(j);
}

void sarif_write(FILE *out, const struct gate *g)
{
    struct json j;
    json_init(&j, out);
    json_object(&j, NULL);
    json_str(&j, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
    json_str(&j, "version", "2.1.0");
    json_array(&j, "runs");
    json_object(&j, NULL);
    json_object(&j, "tool");
    json_object(&j, "driver");
    json_str(&j, "name", "heapscope");
    json_str(&j, "version", HEAPSCOPE_VERSION);
    json_array(&j, "rules");
    for (unsigned k = 0; k <= KIND_COUNT; k++) {
        if (k == KIND_IGNORED)
            continue;
        json_object(&j, NULL);
        json_str(&j, "id", leak_record_kind(k));
        json_object(&j, "shortDescription");
        json_str(&j, "text", k == KIND_DEFINITELY_LOST ? "Memory definitely lost (no pointer to it remains)"
                             : k == KIND_INDIRECTLY_LOST ? "Memory lost through a lost block"
                             : k == KIND_POSSIBLY_LOST ? "Memory reachable only through interior pointers"
                             : k == KIND_STILL_REACHABLE ? "Memory not freed at exit, still reachable"
                                                         : "Memory not freed at exit");
        json_object_end(&j);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_object_end(&j);
    json_array(&j, "results");
    for (size_t i = 0; i < g->n_fd; i++) {
        const struct gate_finding *fd = &g->fd[i];
        if (!gate_failing(g, fd))
            continue;
        char msg[5000], where[4200] = "an unknown place";
        if (fd->located)
            sym_location_text(&fd->loc, 0, where, sizeof where);
        snprintf(msg, sizeof msg, "%llu bytes in %llu blocks %s%s%s, allocated at %s, in %s (pid %llu)",
                 (unsigned long long)fd->rec->bytes, (unsigned long long)fd->rec->blocks,
                 leak_record_kind(fd->rec->kind), fd->rec->type ? ", type " : "", fd->rec->type ? fd->rec->type : "",
                 where, g->tr[fd->trace].program, (unsigned long long)g->tr[fd->trace].pid);
        json_object(&j, NULL);
        json_str(&j, "ruleId", leak_record_kind(fd->rec->kind));
        json_str(&j, "level", fd->rec->kind == KIND_DEFINITELY_LOST || fd->rec->kind == KIND_INDIRECTLY_LOST ? "error"
                                                                                                              : "warning");
        json_object(&j, "message");
        json_str(&j, "text", msg);
        json_object_end(&j);
        json_array(&j, "locations");
        if (fd->located)
            sarif_location(&j, &fd->loc);
        json_array_end(&j);
        json_object(&j, "properties");
        json_str(&j, "stack", fd->stack_text);
        json_object_end(&j);
        json_object_end(&j);
    }
    json_array_end(&j);
    json_object_end(&j);
    json_array_end(&j);
    json_object_end(&j);
}
