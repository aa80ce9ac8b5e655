/*
 * wasi_sleep: prints "sleeping", sleeps 10 s (wasi-libc's sleep is one
 * poll_oneoff on a clock subscription), then prints "woke". Under a call
 * deadline shorter than 10 s it must never print "woke".
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    printf("sleeping\n");
    fflush(stdout);
    sleep(10);
    printf("woke\n");
    return 0;
}
