/*
 * zlib_cmd: a WASI command around the real zlib (Debian's zlib source
 * package, fetched by guests/build.sh at build time as for zlib_reactor; no
 * zlib source is kept in this repository). This wrapper is ours; zlib is
 * under the zlib license, and the built zlib_cmd.wasm contains it.
 *
 * Reads all of stdin, deflates it (zlib format, RFC 1950) at the level in
 * argv[1] (0..9, default 6) with deflate(), inflates the result back with
 * inflate(), checks that it equals the input, and prints one line:
 *   in=N deflated=M crc32=XXXXXXXX adler32=XXXXXXXX roundtrip=ok
 * (N the input's length, M the deflated length, the checksums of the input
 * in lower-case hex, 8 digits). If the environment has ZLIB_OUT, the
 * deflated bytes are written to that path (in a writable preopen, such as
 * /out/data.z) and a second line says `wrote PATH bytes=M`.
 * Exit: 0; 1 for a failed round trip (roundtrip=FAILED) or a zlib error;
 * 2 for a bad level; 3 when ZLIB_OUT cannot be written (a message on
 * stderr); 4 when stdin cannot be read or memory runs out.
 *
 * SPDX-License-Identifier: MIT (this file)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zlib.h"

static unsigned char *read_all(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        if (n == cap) {
            unsigned char *bigger = realloc(buf, cap * 2);
            if (!bigger) { free(buf); return NULL; }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) { free(buf); return NULL; }
    *len = n;
    return buf;
}

/* deflate() in one go into a buffer of deflateBound() bytes. */
static int do_deflate(const unsigned char *in, size_t len, int level, unsigned char **out, size_t *out_len) {
    z_stream s;
    memset(&s, 0, sizeof s);
    int rc = deflateInit(&s, level);
    if (rc != Z_OK) return rc;
    uLong cap = deflateBound(&s, (uLong)len);
    *out = malloc(cap ? cap : 1);
    if (!*out) { deflateEnd(&s); return Z_MEM_ERROR; }
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)len;
    s.next_out = *out;
    s.avail_out = (uInt)cap;
    rc = deflate(&s, Z_FINISH);
    *out_len = s.total_out;
    deflateEnd(&s);
    return rc == Z_STREAM_END ? Z_OK : (rc == Z_OK ? Z_BUF_ERROR : rc);
}

/* inflate() into a buffer of exactly `expected` bytes (plus one, to see any excess). */
static int do_inflate(const unsigned char *in, size_t len, unsigned char *out, size_t cap, size_t *out_len) {
    z_stream s;
    memset(&s, 0, sizeof s);
    int rc = inflateInit(&s);
    if (rc != Z_OK) return rc;
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)len;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    rc = inflate(&s, Z_FINISH);
    *out_len = s.total_out;
    inflateEnd(&s);
    return rc == Z_STREAM_END ? Z_OK : (rc == Z_OK ? Z_BUF_ERROR : rc);
}

int main(int argc, char **argv) {
    int level = 6;
    if (argc > 1) {
        char *end = NULL;
        long l = strtol(argv[1], &end, 10);
        if (argv[1][0] == '\0' || *end != '\0' || l < 0 || l > 9) {
            fprintf(stderr, "zlib_cmd: bad level %s (want 0..9)\n", argv[1]);
            return 2;
        }
        level = (int)l;
    }
    size_t len = 0;
    unsigned char *in = read_all(stdin, &len);
    if (!in) {
        fprintf(stderr, "zlib_cmd: cannot read stdin\n");
        return 4;
    }
    unsigned char *def = NULL;
    size_t def_len = 0;
    int rc = do_deflate(in, len, level, &def, &def_len);
    if (rc != Z_OK) {
        fprintf(stderr, "zlib_cmd: deflate: %s (%d)\n", zError(rc), rc);
        return rc == Z_MEM_ERROR ? 4 : 1;
    }
    unsigned char *back = malloc(len + 1);
    if (!back) {
        fprintf(stderr, "zlib_cmd: out of memory\n");
        return 4;
    }
    size_t back_len = 0;
    rc = do_inflate(def, def_len, back, len + 1, &back_len);
    int same = rc == Z_OK && back_len == len && memcmp(back, in, len) == 0;
    unsigned long crc = crc32(crc32(0L, Z_NULL, 0), in, (uInt)len);
    unsigned long adl = adler32(adler32(0L, Z_NULL, 0), in, (uInt)len);
    printf("in=%zu deflated=%zu crc32=%08lx adler32=%08lx roundtrip=%s\n", len, def_len, crc, adl,
           same ? "ok" : "FAILED");
    if (!same) {
        fprintf(stderr, "zlib_cmd: inflate: %s (%d), %zu bytes back\n", zError(rc), rc, back_len);
        return 1;
    }
    const char *path = getenv("ZLIB_OUT");
    if (path) {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(def, 1, def_len, f) != def_len || fclose(f) != 0) {
            fprintf(stderr, "zlib_cmd: %s: %s\n", path, strerror(errno));
            return 3;
        }
        printf("wrote %s bytes=%zu\n", path, def_len);
    }
    free(back);
    free(def);
    free(in);
    return 0;
}
