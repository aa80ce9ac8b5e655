/*
 * wasi_echo: a WASI preview1 command that reports, deterministically, what
 * its host gave it: argv, one environment variable, stdin, a read-only
 * input directory and a writable output directory; then it exits with the
 * code in EXIT_CODE.
 *
 * SPDX-License-Identifier: MIT
 *
 * Output (stdout), one item per line:
 *   argc=N
 *   argv[i]=...               each argv entry, argv[0] included
 *   GREETING=...              or "GREETING unset"
 *   stdin bytes=N fnv1a=XXXXXXXX
 *   /in/input.txt bytes=N fnv1a=XXXXXXXX   (or "/in unavailable" /
 *                                           "/in/input.txt: <errno>")
 *   /out/result.txt written bytes=N         (or "/out unavailable" /
 *                                           "/out/result.txt: <errno>")
 *   exit=N
 * stderr: one line, "wasi_echo: done exit=N".
 *
 * The exit code comes from EXIT_CODE (default 0) and is returned from main,
 * so a nonzero code reaches the host through proc_exit(n) (wasi-libc's
 * _start), and 0 as a normal return of _start.
 * No clock, no random: the same inputs always give the same bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 32-bit FNV-1a, continued from `h` (start with FNV_INIT). */
#define FNV_INIT 0x811c9dc5u
static uint32_t fnv1a(uint32_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x01000193u;
    }
    return h;
}

/* Reads a whole stream; returns 0 and sets *bytes / *hash, or -1 (errno). */
static int digest_stream(FILE *f, size_t *bytes, uint32_t *hash) {
    unsigned char buf[4096];
    size_t n, total = 0;
    uint32_t h = FNV_INIT;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        h = fnv1a(h, buf, n);
        total += n;
    }
    if (ferror(f)) return -1;
    *bytes = total;
    *hash = h;
    return 0;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);

    const char *greeting = getenv("GREETING");
    if (greeting) printf("GREETING=%s\n", greeting);
    else printf("GREETING unset\n");

    const char *exit_env = getenv("EXIT_CODE");
    int code = exit_env ? atoi(exit_env) : 0;

    size_t stdin_bytes = 0;
    uint32_t stdin_hash = FNV_INIT;
    if (digest_stream(stdin, &stdin_bytes, &stdin_hash) == 0)
        printf("stdin bytes=%zu fnv1a=%08x\n", stdin_bytes, (unsigned)stdin_hash);
    else
        printf("stdin: %s\n", strerror(errno));

    /* A readable /in: opendir succeeds only on a preopen (or a dir in one). */
    DIR *in = opendir("/in");
    if (!in) {
        printf("/in unavailable\n");
    } else {
        closedir(in);
        FILE *f = fopen("/in/input.txt", "rb");
        size_t n = 0;
        uint32_t h = FNV_INIT;
        if (!f) printf("/in/input.txt: %s\n", strerror(errno));
        else if (digest_stream(f, &n, &h) != 0) printf("/in/input.txt: read: %s\n", strerror(errno));
        else printf("/in/input.txt bytes=%zu fnv1a=%08x\n", n, (unsigned)h);
        if (f) fclose(f);
    }

    if (!is_dir("/out")) {
        printf("/out unavailable\n");
    } else {
        char report[512];
        int len = snprintf(report, sizeof report,
                           "wasi_echo report\nargc=%d\nstdin_bytes=%zu\nstdin_fnv1a=%08x\nexit=%d\n",
                           argc, stdin_bytes, (unsigned)stdin_hash, code);
        FILE *f = fopen("/out/result.txt", "wb");
        if (!f) {
            printf("/out/result.txt: %s\n", strerror(errno));
        } else {
            size_t w = fwrite(report, 1, (size_t)len, f);
            int bad = fclose(f) != 0 || w != (size_t)len;
            if (bad) printf("/out/result.txt: write: %s\n", strerror(errno));
            else printf("/out/result.txt written bytes=%d\n", len);
        }
    }

    printf("exit=%d\n", code);
    fprintf(stderr, "wasi_echo: done exit=%d\n", code);
    return code;
}
