// SPDX-License-Identifier: GPL-2.0
/* COM1 (8250/16550 at 0x3f8) for progress and results, the TSC for time, and the exit. */
#include "cpu.h"
#include "lib.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_RBR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_DR 0x01
#define LSR_THRE 0x20

/* isa-debug-exit: QEMU exits with (v << 1) | 1; kvmini does the same for tests.
 * 0x10/0x11 keep the status (33/35) clear of kvmini's own exit codes 0..6. */
#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_PASS 0x10
#define DEBUG_EXIT_FAIL 0x11

static uint64_t tsc_rate_khz;
static uint64_t tsc_start;

void console_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, 0x80); /* DLAB: divisor 1 = 115200 baud */
	outb(COM1 + 0, 1);
	outb(COM1 + 1, 0);
	outb(COM1 + UART_LCR, 0x03); /* 8N1 */
	outb(COM1 + UART_FCR, 0x07); /* FIFOs on and cleared */
	outb(COM1 + UART_MCR, 0x0b); /* DTR, RTS, OUT2 (the IRQ gate on PCs) */
}

void console_putc(char c)
{
	/* Bounded wait: a UART without THRE emulation must not hang the guest. */
	for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(COM1 + UART_THR, c);
}

bool console_has_input(void)
{
	return inb(COM1 + UART_LSR) & LSR_DR;
}

int console_getc(void)
{
	if (!console_has_input())
		return -1;
	return inb(COM1 + UART_RBR);
}

void time_init(void)
{
	uint32_t r[4];

	tsc_start = rdtsc();
	/* CPUID 0x15: TSC/crystal ratio (SDM Vol. 2A, CPUID leaf 15H). */
	cpuid(0, 0, r);
	if (r[0] >= 0x15) {
		cpuid(0x15, 0, r);
		if (r[0] && r[1] && r[2])
			tsc_rate_khz = (uint64_t)r[2] * r[1] / r[0] / 1000;
	}
	/* Hypervisor timing leaf 0x40000010 (EAX = TSC kHz), offered by some VMMs. */
	if (!tsc_rate_khz) {
		cpuid(0x40000000, 0, r);
		if (r[0] >= 0x40000010) {
			cpuid(0x40000010, 0, r);
			tsc_rate_khz = r[0];
		}
	}
	if (!tsc_rate_khz)
		tsc_rate_khz = 2000000; /* a guess: timeouts only need the order of magnitude */
}

uint64_t tsc_khz(void)
{
	return tsc_rate_khz;
}

uint64_t time_ns(void)
{
	uint64_t d = rdtsc() - tsc_start;

	return d / tsc_rate_khz * 1000000 + d % tsc_rate_khz * 1000000 / tsc_rate_khz;
}

void tg_exit(bool pass, const char *reason)
{
	if (pass)
		printf("TESTGUEST RESULT PASS\n");
	else
		printf("TESTGUEST RESULT FAIL %s\n", reason ? reason : "unknown");
	outb(DEBUG_EXIT_PORT, pass ? DEBUG_EXIT_PASS : DEBUG_EXIT_FAIL);
	/* No debug-exit device: stop here for good. */
	for (;;)
		asm volatile("cli; hlt");
}

void tg_fail(const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tg_exit(false, buf);
}
