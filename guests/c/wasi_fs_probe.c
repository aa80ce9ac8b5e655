/*
 * wasi_fs_probe: a WASI preview1 command that tries what a sandbox must
 * refuse, and one thing it must allow, and reports one line for each:
 *
 *   <what> <path>: ok ...                     when it worked
 *   <what> <path>: failed ENAME (strerror)    when it did not
 *
 * Expected setup: /data preopened READ-ONLY, holding existing.txt and a
 * symlink link_out that points at a file outside /data.
 * Always exits 0 (returns from main). Deterministic.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The symbolic name of an errno value (wasi-libc's WASI numbering). */
static const char *errno_name(int e) {
    switch (e) {
#define N(x) case x: return #x;
        N(EPERM) N(ENOENT) N(EIO) N(EBADF) N(EACCES) N(EEXIST) N(EXDEV)
        N(ENOTDIR) N(EISDIR) N(EINVAL) N(ENFILE) N(EMFILE) N(EFBIG)
        N(ENOSPC) N(EROFS) N(EMLINK) N(ENAMETOOLONG) N(ENOSYS) N(ENOTEMPTY)
        N(ELOOP) N(ENOTSUP) N(ENOTCAPABLE) N(EFAULT) N(EBUSY) N(EAGAIN)
#undef N
    default: return "E?";
    }
}

static void failed(const char *what, const char *path) {
    int e = errno;
    printf("%s %s: failed %s (%s)\n", what, path, errno_name(e), strerror(e));
}

static uint32_t fnv1a(const unsigned char *p, size_t n) {
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x01000193u; }
    return h;
}

/* Opens and reads a file; reports its size and checksum, or the errno. */
static void try_read(const char *what, const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { failed(what, path); return; }
    unsigned char buf[65536];
    size_t total = 0;
    ssize_t n;
    while (total < sizeof buf && (n = read(fd, buf + total, sizeof buf - total)) > 0)
        total += (size_t)n;
    if (n < 0 && total == 0) { failed(what, path); close(fd); return; }
    close(fd);
    printf("%s %s: ok bytes=%zu fnv1a=%08x\n", what, path, total, (unsigned)fnv1a(buf, total));
}

int main(void) {
    try_read("open", "/data/../../etc/passwd");
    try_read("open", "/etc/passwd");
    try_read("follow", "/data/link_out");

    const char *new_path = "/data/new.txt";
    int fd = open(new_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        failed("create", new_path);
    } else {
        ssize_t w = write(fd, "x\n", 2);
        close(fd);
        if (w != 2) failed("write", new_path);
        else printf("create %s: ok bytes=2\n", new_path);
    }

    if (unlink("/data/existing.txt") != 0) failed("unlink", "/data/existing.txt");
    else printf("unlink /data/existing.txt: ok\n");

    try_read("read", "/data/existing.txt");
    return 0;
}
