/* SPDX-License-Identifier: GPL-2.0 */
/* The little of a C library the test guest needs, and its console. */
#ifndef TG_LIB_H
#define TG_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Parses a decimal or 0x-prefixed hex number; *end gets the first unparsed char. */
uint64_t parse_u64(const char *s, const char **end);

/* COM1: 115200 8N1, polled. */
void console_init(void);
void console_putc(char c);
bool console_has_input(void);
int console_getc(void);

/* printf subset: %d %u %x %s %c %p, flags '0' and width, 'l'/'ll' length. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Time from the TSC; the rate comes from CPUID when offered, else a guess (README). */
void time_init(void);
uint64_t time_ns(void);
uint64_t tsc_khz(void);

/* Ends the run: prints the result line and exits through isa-debug-exit. */
void __attribute__((noreturn)) tg_exit(bool pass, const char *reason);
void __attribute__((noreturn, format(printf, 1, 2))) tg_fail(const char *fmt, ...);

#endif
