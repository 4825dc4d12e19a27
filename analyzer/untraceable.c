/*
 * Whether a program can be traced by preloading a library: the loader must
 * run for it (a statically linked program, static-pie too, has no PT_INTERP
 * and no loader), and must honour LD_PRELOAD (in secure-execution mode, for
 * a set-user-ID or set-group-ID program or one with file capabilities, it
 * ignores a preload named by a path). Reads files only, never runs anything,
 * and claims "cannot" only when sure.
 */
#include "untraceable.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#define SCRIPT_DEPTH_MAX 4 /* interpreters of interpreters: the kernel's limit */

/* PROGRAM as execvp finds it: itself when it has a slash, else the first
 * executable regular file of that name along search (a PATH; NULL: ours,
 * "/bin:/usr/bin" when unset; an empty element is the current directory). */
static int resolve(const char *program, const char *search, char *out, size_t room)
{
    if (strchr(program, '/'))
        return snprintf(out, room, "%s", program) < (int)room ? 0 : -1;
    const char *dir = search ? search : getenv("PATH");
    if (!dir)
        dir = "/bin:/usr/bin";
    for (;;) {
        size_t len = strcspn(dir, ":");
        struct stat st;
        if (snprintf(out, room, "%.*s%s%s", (int)len, dir, len ? "/" : "", program) < (int)room &&
            stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 0;
        if (!dir[len])
            return -1;
        dir += len + 1;
    }
}

enum image { IMAGE_UNKNOWN, IMAGE_SCRIPT, IMAGE_DYNAMIC, IMAGE_STATIC };

/* A 64-bit ELF executable's kind, and its PT_INTERP (the loader) in interp. */
static enum image elf_kind(int fd, const Elf64_Ehdr *eh, char *interp, size_t room)
{
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
        return IMAGE_UNKNOWN;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh->e_phoff + (uint64_t)i * eh->e_phentsize)) != sizeof ph)
            return IMAGE_UNKNOWN;
        if (ph.p_type != PT_INTERP)
            continue;
        if (ph.p_filesz >= room || pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
            return IMAGE_UNKNOWN;
        interp[ph.p_filesz] = 0;
        return IMAGE_DYNAMIC;
    }
    return IMAGE_STATIC;
}

/* What path is: a script (its interpreter in interp, as the kernel reads
 * the `#!` line), a dynamic ELF program (its loader in interp), a static
 * one, or something else. */
static enum image image_kind(const char *path, char *interp, size_t room)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return IMAGE_UNKNOWN;
    char head[256]; /* as much of a `#!` line as the kernel reads */
    ssize_t n = pread(fd, head, sizeof head - 1, 0);
    enum image kind = IMAGE_UNKNOWN;
    if (n > 2 && head[0] == '#' && head[1] == '!') {
        head[n] = 0;
        const char *s = head + 2 + strspn(head + 2, " \t");
        size_t len = strcspn(s, " \t\n");
        if (len && len < room) {
            memcpy(interp, s, len);
            interp[len] = 0;
            kind = IMAGE_SCRIPT;
        }
    } else if (n >= (ssize_t)sizeof(Elf64_Ehdr) && memcmp(head, ELFMAG, SELFMAG) == 0 &&
               head[EI_CLASS] == ELFCLASS64) {
        Elf64_Ehdr eh;
        memcpy(&eh, head, sizeof eh);
        kind = elf_kind(fd, &eh, interp, room);
    }
    close(fd);
    return kind;
}

/* Whether path is the loader this command itself runs under: a program
 * without PT_INTERP, but one that loads a program and honours LD_PRELOAD
 * (`ld.so PROGRAM`). */
static int is_our_loader(const char *path)
{
    char loader[PATH_MAX];
    struct stat a, b;
    return image_kind("/proc/self/exe", loader, sizeof loader) == IMAGE_DYNAMIC && stat(loader, &a) == 0 &&
           stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Whether exec puts path in secure-execution mode for us (the kernel's rule:
 * its effective ids would differ from our real ones, or file capabilities
 * raise a non-root caller's), and why; 0 if not. */
static int secure_exec(const char *path, char *why, size_t room)
{
    struct stat st;
    struct statvfs fs;
    if (stat(path, &st) != 0 || (statvfs(path, &fs) == 0 && (fs.f_flag & ST_NOSUID)))
        return 0;
    if ((st.st_mode & S_ISUID) && st.st_uid != getuid())
        snprintf(why, room, "is set-user-ID to uid %u", (unsigned)st.st_uid);
    else if ((st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP) && st.st_gid != getgid())
        snprintf(why, room, "is set-group-ID to gid %u", (unsigned)st.st_gid);
    else if (getuid() != 0 && getxattr(path, "security.capability", NULL, 0) > 0)
        snprintf(why, room, "has file capabilities");
    else
        return 0;
    return 1;
}

int program_untraceable(const char *program, char *why, size_t room)
{
    return program_untraceable_along(program, NULL, why, room) == 1;
}

int program_untraceable_along(const char *program, const char *search, char *why, size_t room)
{
    char path[PATH_MAX], next[PATH_MAX], script[PATH_MAX] = "";
    struct stat st;
    if (resolve(program, search, path, sizeof path) != 0 || stat(path, &st) != 0)
        return -1;
    enum image kind;
    for (int depth = 0; (kind = image_kind(path, next, sizeof next)) == IMAGE_SCRIPT; depth++) {
        if (depth == SCRIPT_DEPTH_MAX)
            return 0;
        if (!depth)
            memcpy(script, path, sizeof path);
        memcpy(path, next, sizeof path);
    }
    char what[2 * PATH_MAX + 32], secure[64];
    if (*script)
        snprintf(what, sizeof what, "%s is run by %s, which", script, path);
    else
        snprintf(what, sizeof what, "%s", path);
    if (kind == IMAGE_STATIC && !is_our_loader(path)) {
        snprintf(why, room, "%s is statically linked", what);
        return 1;
    }
    if (kind == IMAGE_DYNAMIC && secure_exec(path, secure, sizeof secure)) {
        snprintf(why, room, "%s %s (the loader ignores LD_PRELOAD in secure-execution mode)", what, secure);
        return 1;
    }
    return 0;
}
