/*
 * reactor_checksum: a WASI reactor (built with -mexec-model=reactor, so its
 * entry point is _initialize, which runs the C constructors). No libc calls,
 * so it imports nothing.
 *
 * Exports:
 *   initialized() -> i32               1 once the constructor ran, else 0
 *   adler32_of_range(start, len) -> i32  Adler-32 of table[start..start+len];
 *                                      the table is filled by the constructor,
 *                                      so the answer is wrong without
 *                                      _initialize; -1 for a range outside it
 *   fib(n) -> i64                      the n-th Fibonacci number (wrapping
 *                                      past 92); -1 for n < 0
 *   divide(a, b) -> i32                a / b; traps (unreachable) when b == 0
 *   spin() -> i32                      never returns (a volatile loop)
 *   memory                             the default linear memory
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define TABLE_SIZE 4096

static unsigned char table[TABLE_SIZE];
static int ready;

__attribute__((constructor)) static void fill_table(void) {
    /* A small LCG: bytes that are neither zero nor a simple ramp. */
    uint32_t x = 12345u;
    for (int i = 0; i < TABLE_SIZE; i++) {
        x = x * 1103515245u + 12345u;
        table[i] = (unsigned char)(x >> 16);
    }
    ready = 1;
}

EXPORT("initialized") int initialized(void) { return ready; }

EXPORT("adler32_of_range") int32_t adler32_of_range(int32_t start, int32_t len) {
    if (start < 0 || len < 0 || start > TABLE_SIZE || len > TABLE_SIZE - start) return -1;
    uint32_t a = 1, b = 0;
    for (int32_t i = start; i < start + len; i++) {
        a = (a + table[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return (int32_t)((b << 16) | a);
}

EXPORT("fib") int64_t fib(int32_t n) {
    if (n < 0) return -1;
    uint64_t a = 0, b = 1;
    for (int32_t i = 0; i < n; i++) {
        uint64_t t = a + b;
        a = b;
        b = t;
    }
    return (int64_t)a;
}

EXPORT("divide") int32_t divide(int32_t a, int32_t b) {
    if (b == 0) __builtin_trap();
    return a / b;
}

EXPORT("spin") int32_t spin(void) {
    volatile int32_t counter = 0;
    for (;;) counter++;
    return counter; /* never reached */
}
