/*
 * cjson_cmd: a WASI command around the real cJSON (Debian's cjson source
 * package, with Debian's patches applied), which guests/build.sh fetches
 * with `apt-get source` into a temp dir at build time (no cJSON source is
 * kept in this repository). This wrapper is ours; cJSON itself is under the
 * MIT license (its LICENSE file), and the built cjson_cmd.wasm contains it.
 *
 * Reads all of stdin and parses it as one JSON document (a UTF-8 BOM and
 * surrounding whitespace allowed; anything else after the value, a NUL
 * byte included, is an error). On success prints, on stdout:
 *   <the document minified, cJSON_PrintUnformatted>
 *   items=N        members of a top-level object, elements of a top-level
 *                  array, 1 for a top-level scalar
 * and returns 0. On a parse error prints `parse error near byte N` (N the
 * 0-based offset cJSON stopped at) to stderr and returns 2, which
 * wasi-libc turns into proc_exit(2). Failing to read stdin or to allocate
 * memory: a message on stderr and 1.
 *
 * SPDX-License-Identifier: MIT (this file)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"

static char *read_all(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        if (n + 1 >= cap) { /* keep room for the terminating NUL */
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) { free(buf); return NULL; }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) { free(buf); return NULL; }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int main(void) {
    size_t len = 0;
    char *input = read_all(stdin, &len);
    if (!input) {
        fprintf(stderr, "cjson_cmd: cannot read stdin\n");
        return 1;
    }
    const char *end = NULL;
    /* len + 1: the NUL we appended is the terminator cJSON must reach. */
    cJSON *doc = cJSON_ParseWithLengthOpts(input, len + 1, &end, 1);
    if (doc && end != input + len) { /* stopped at a NUL inside the input */
        cJSON_Delete(doc);
        doc = NULL;
    }
    if (!doc) {
        const char *at = end ? end : cJSON_GetErrorPtr();
        size_t near = at ? (size_t)(at - input) : 0;
        fprintf(stderr, "parse error near byte %zu\n", near);
        free(input);
        return 2;
    }
    char *text = cJSON_PrintUnformatted(doc);
    if (!text) {
        fprintf(stderr, "cjson_cmd: out of memory\n");
        return 1;
    }
    int items = (cJSON_IsArray(doc) || cJSON_IsObject(doc)) ? cJSON_GetArraySize(doc) : 1;
    printf("%s\nitems=%d\n", text, items);
    cJSON_free(text);
    cJSON_Delete(doc);
    free(input);
    return 0;
}
