// SPDX-License-Identifier: GPL-2.0
/*
 * Scenarios that end or outlive the machine: triple fault, reboot through the
 * i8042 or the reset control register, ACPI soft-off, and waiting for console input.
 * The first three cannot print a PASS line: the VMM's exit status is the result,
 * so each prints what it is about to do first, and FAILs if the machine survives.
 */
#include "apic.h"
#include "cpu.h"
#include "testguest.h"
#include "trap.h"

#define I8042_STATUS 0x64
#define I8042_CMD 0x64
#define I8042_IBF 0x02	     /* input buffer full: the controller has not taken a byte yet */
#define I8042_PULSE_RESET 0xfe /* pulse output line 0 (CPU reset) low */
#define RST_CNT 0xcf9
#define RST_SYS_RST 0x02
#define RST_CPU 0x04
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN (1u << 13)

#define COM1 0x3f8
#define UART_RBR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_LSR 5
#define IER_RDI 0x01 /* received data available */
#define LSR_DR 0x01
#define VEC_WAIT_TICK 0x42
#define VEC_WAIT_UART 0x25

/* Gives a reset or power-off request time to act, then fails the run. */
static void __attribute__((noreturn)) survived(const char *what, uint64_t wait_ms)
{
	uint64_t end = time_ns() + wait_ms * 1000000;

	while (time_ns() < end)
		cpu_relax();
	tg_fail("%s: the machine still runs %lu ms later", what, wait_ms);
}

/*
 * With an empty IDT every vector is beyond the limit: the first exception raises
 * #GP, delivering that #GP raises #DF, and a fault while delivering #DF is a
 * triple fault, a shutdown (SDM Vol. 3A, 6.14 and 6.15 "Interrupt 8").
 */
static void triple_fault(struct scn_ctx *c)
{
	const char *via = scn_opt(c, "via");
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {0, 0};

	if (via && strcmp(via, "ud2") && strcmp(via, "gp"))
		tg_fail("triple-fault: via=%s (want ud2 or gp)", via);
	printf("TRIPLE-FAULT now via=%s\n", via ? via : "ud2");
	irq_disable();
	asm volatile("lidt %0" : : "m"(idtr) : "memory");
	if (via && !strcmp(via, "gp"))
		/* A non-canonical address faults with #GP (SDM Vol. 1, 3.3.7.1). */
		(void)*(volatile uint64_t *)0x8000000000000000ULL;
	else
		asm volatile("ud2");
	/* Not reached: the exception could not be delivered. */
	tg_fail("triple-fault: execution continued");
}
SCENARIO("triple-fault", triple_fault, "empty IDT, then ud2 or #GP: the VMM sees a shutdown");

static void reboot(struct scn_ctx *c)
{
	const char *via = scn_opt(c, "via");

	if (!via)
		via = "kbd";
	if (strcmp(via, "kbd") && strcmp(via, "cf9"))
		tg_fail("reboot: via=%s (want kbd or cf9)", via);
	printf("REBOOT via=%s\n", via);
	irq_disable();
	if (!strcmp(via, "kbd")) {
		/* The controller takes a command once its input buffer is empty. */
		for (int i = 0; i < 100000 && (inb(I8042_STATUS) & I8042_IBF); i++)
			cpu_relax();
		outb(I8042_CMD, I8042_PULSE_RESET);
	} else {
		/* RST_CNT acts on RST_CPU going from 0 to 1 (Intel PCH datasheets, "Reset
		 * Control Register"): write SYS_RST alone first, as Linux does, then 0x06. */
		outb(RST_CNT, RST_SYS_RST);
		outb(RST_CNT, RST_SYS_RST | RST_CPU);
	}
	survived("reboot", scn_opt_u64(c, "wait-ms", 3000));
}
SCENARIO("reboot", reboot, "reset through the i8042 (0xfe to 0x64) or 0xcf9 (0x06)");

/*
 * Sleeping state S5 is entered by writing its SLP_TYP together with SLP_EN to
 * PM1a_CNT (ACPI 6.5, 4.8.3.2.1 and 16.1.6). The value of SLP_TYP for S5 comes from
 * the DSDT's \_S5 package: 5 on kvmini, 0 on QEMU.
 */
static void poweroff(struct scn_ctx *c)
{
	uint64_t port = scn_opt_u64(c, "port", 0x604);
	uint64_t typ = scn_opt_u64(c, "slp-typ", 5);
	uint16_t v = (uint16_t)(typ << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN;

	if (port > 0xffff || typ > 7)
		tg_fail("poweroff: port <= 0xffff, slp-typ <= 7");
	printf("POWEROFF port=0x%lx value=0x%x\n", port, v);
	irq_disable();
	outw(port, v);
	survived("poweroff", scn_opt_u64(c, "wait-ms", 3000));
}
SCENARIO("poweroff", poweroff, "writes SLP_TYP | SLP_EN to PM1a_CNT: the VMM powers off");

/* Bytes from COM1's receive interrupt, for the waiting loop. */
static volatile uint8_t rx_buf[256];
static volatile uint32_t rx_head;

static void uart_rx_handler(struct trap_frame *f)
{
	/* Reading IIR, then RBR until LSR.DR clears, acknowledges the receive
	 * interrupt (16550 data sheet, IIR and LSR). */
	(void)inb(COM1 + UART_IIR);
	while (inb(COM1 + UART_LSR) & LSR_DR) {
		rx_buf[rx_head % sizeof(rx_buf)] = inb(COM1 + UART_RBR);
		rx_head++;
	}
}

/*
 * Waits for bytes on COM1 with the CPU halted between interrupts: COM1's receive
 * interrupt (ISA IRQ 4 through the I/O APIC) wakes it for input, the LAPIC timer
 * for the progress line and the timeout. LSR is polled too on each wakeup, so that
 * input is seen even where the interrupt does not arrive (reported as irq=0).
 */
static void wait_input(struct scn_ctx *c)
{
	uint64_t timeout = scn_opt_u64(c, "timeout-ms", 30000);
	uint64_t count = scn_opt_u64(c, "count", 0);
	uint64_t every = scn_opt_u64(c, "every-ms", 2000);
	uint64_t start = time_ns(), end = start + timeout * 1000000, next = start + every * 1000000;
	uint64_t irq0 = irq_count[VEC_WAIT_UART], got = 0;
	uint32_t tail = 0;
	unsigned int gsi;
	bool done = false;

	apic_init();
	gsi = isa_irq_to_gsi(4);
	rx_head = 0;
	trap_set_handler(VEC_WAIT_UART, uart_rx_handler);
	ioapic_route(gsi, VEC_WAIT_UART, false, false);
	outb(COM1 + UART_IER, IER_RDI);
	/* Tens of ms per tick (the LAPIC timer runs at the bus clock, 1 GHz under KVM and
	 * QEMU): enough for the deadline and the progress line, and few wakeups. */
	lapic_timer(VEC_WAIT_TICK, 2000000);
	printf("WAIT-INPUT ready gsi=%u timeout-ms=%lu\n", gsi, timeout);
	while (!done) {
		uint64_t now;

		irq_disable();
		/* Bytes that came without an interrupt (or before the handler was set). */
		while (inb(COM1 + UART_LSR) & LSR_DR) {
			rx_buf[rx_head % sizeof(rx_buf)] = inb(COM1 + UART_RBR);
			rx_head++;
		}
		while (!done && tail != rx_head) {
			uint8_t b = rx_buf[tail % sizeof(rx_buf)];

			tail++;
			got++;
			printf("INPUT byte=0x%02x\n", b);
			done = count ? got >= count : b == '\n' || b == '\r';
		}
		now = time_ns();
		if (done || now >= end)
			break;
		if (every && now >= next) {
			printf("WAIT-INPUT waiting ms=%lu bytes=%lu\n", (now - start) / 1000000,
			       got);
			next = now + every * 1000000;
		}
		/* IF is clear from the checks to here and sti's shadow covers hlt: an
		 * interrupt that arrived since is taken on hlt, not lost. */
		if (tail == rx_head)
			asm volatile("sti; hlt" ::: "memory");
	}
	irq_disable();
	lapic_timer(VEC_WAIT_TICK, 0);
	outb(COM1 + UART_IER, 0);
	ioapic_route(gsi, VEC_WAIT_UART, false, true);
	trap_set_handler(VEC_WAIT_UART, NULL);
	printf("WAIT-INPUT done bytes=%lu irq=%lu ms=%lu\n", got,
	       irq_count[VEC_WAIT_UART] - irq0, (time_ns() - start) / 1000000);
	if (!done)
		tg_fail("wait-input: %lu bytes and no %s within %lu ms", got,
			count ? "full count" : "newline", timeout);
}
SCENARIO("wait-input", wait_input, "halts until bytes arrive on COM1, prints each up to a newline");
