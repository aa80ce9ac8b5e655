/*
 * zlib_reactor: a WASI reactor around the real zlib (compress2, uncompress,
 * crc32, adler32), built from Debian's zlib source package, which
 * guests/build.sh fetches with `apt-get source` into a temp dir at build
 * time (no zlib source is kept in this repository). This wrapper is ours;
 * zlib itself is under the zlib license (see its README), and the built
 * zlib_reactor.wasm contains it.
 *
 * The host moves bytes through linear memory: buf_alloc(n) gives a pointer,
 * the host writes into `memory` there, calls a function, reads the result.
 *
 * Exports (i32 unless said otherwise; pointers are offsets in `memory`):
 *   buf_alloc(n) -> ptr          malloc(n); 0 when out of memory
 *   buf_free(ptr)                free
 *   zlib_crc32(ptr, len)         crc32 of the bytes
 *   zlib_adler32(ptr, len)       adler32 of the bytes
 *   zlib_compress_bound(len)     compressBound(len)
 *   zlib_compress(src, len, dst, cap, level) -> n
 *                                compress2 into dst; n = the compressed
 *                                length, or a negative zlib error (Z_BUF_ERROR
 *                                -5 when cap is too small)
 *   zlib_uncompress(src, len, dst, cap) -> n
 *                                uncompress; n = the length, or a negative
 *                                zlib error (Z_DATA_ERROR -3 for bad data)
 *   zlib_version() -> ptr        a NUL-terminated version string
 *   memory                       the linear memory
 *
 * SPDX-License-Identifier: MIT (this file)
 */
#include <stdint.h>
#include <stdlib.h>

#include "zlib.h"

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("buf_alloc") void *buf_alloc(int32_t n) { return n < 0 ? NULL : malloc((size_t)n); }
EXPORT("buf_free") void buf_free(void *p) { free(p); }

EXPORT("zlib_crc32") int32_t zlib_crc32(const unsigned char *p, int32_t len) {
    return (int32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
}

EXPORT("zlib_adler32") int32_t zlib_adler32(const unsigned char *p, int32_t len) {
    return (int32_t)adler32(adler32(0L, Z_NULL, 0), p, (uInt)len);
}

EXPORT("zlib_compress_bound") int32_t zlib_compress_bound(int32_t len) {
    return (int32_t)compressBound((uLong)len);
}

EXPORT("zlib_compress")
int32_t zlib_compress(const unsigned char *src, int32_t len, unsigned char *dst, int32_t cap, int32_t level) {
    uLongf out = (uLongf)cap;
    int rc = compress2(dst, &out, src, (uLong)len, level);
    return rc == Z_OK ? (int32_t)out : rc;
}

EXPORT("zlib_uncompress")
int32_t zlib_uncompress(const unsigned char *src, int32_t len, unsigned char *dst, int32_t cap) {
    uLongf out = (uLongf)cap;
    int rc = uncompress(dst, &out, src, (uLong)len);
    return rc == Z_OK ? (int32_t)out : rc;
}

EXPORT("zlib_version") const char *zlib_version_str(void) { return zlibVersion(); }
