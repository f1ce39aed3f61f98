// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "devices/uart.h"
#include "vmm/bus.h"

#define BASE 0x3f8
#define THR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define OUT2 0x08
#define LOOP 0x10

static struct bus pio;
static struct uart *uart;
static int irq_level, irq_changes;
static uint8_t txbuf[8192];
static size_t txlen;
static int notified;

static void mock_set_level(void *opaque, uint32_t gsi, int level)
{
	cr_assert_eq(gsi, 4);
	if (level != irq_level)
		irq_changes++;
	irq_level = level;
}

static void mock_tx(void *opaque, const uint8_t *buf, size_t len)
{
	cr_assert_leq(txlen + len, sizeof(txbuf));
	memcpy(txbuf + txlen, buf, len);
	txlen += len;
}

static void mock_notify(void *opaque)
{
	__atomic_add_fetch(&notified, 1, __ATOMIC_SEQ_CST);
}

static void setup(void)
{
	struct irq_line irq = { .set_level = mock_set_level, .gsi = 4 };

	irq_level = 0;
	irq_changes = 0;
	txlen = 0;
	notified = 0;
	cr_assert_eq(bus_init(&pio, "pio"), 0);
	uart = uart_create(irq, mock_tx, NULL);
	cr_assert_not_null(uart);
	cr_assert_eq(uart_register(uart, &pio, BASE), 0);
}

static void teardown(void)
{
	uart_destroy(uart);
	bus_destroy(&pio);
}

static uint8_t in(unsigned int reg)
{
	uint8_t v;

	cr_assert(bus_access(&pio, BASE + reg, &v, 1, false));
	return v;
}

static void out(unsigned int reg, uint8_t v)
{
	cr_assert(bus_access(&pio, BASE + reg, &v, 1, true));
}

TestSuite(uart, .init = setup, .fini = teardown);

Test(uart, scratch_round_trip)
{
	out(SCR, 0x5a);
	cr_assert_eq(in(SCR), 0x5a);
	out(SCR, 0xa5);
	cr_assert_eq(in(SCR), 0xa5);
}

Test(uart, register_claims_eight_ports)
{
	uint8_t v = 0;

	cr_assert_eq(uart_register(uart, &pio, BASE + 4), -EEXIST);
	cr_assert_not(bus_access(&pio, BASE + 8, &v, 1, false));
}

Test(uart, ier_upper_bits_read_zero)
{
	/* Linux's autoconfig treats a UART that keeps IER bit 6 as an XScale. */
	out(IER, 0xff);
	cr_assert_eq(in(IER), 0x0f);
	out(IER, 0);
	cr_assert_eq(in(IER), 0);
}

Test(uart, divisor_latch)
{
	out(IER, 0x05);
	out(LCR, 0x83);
	out(0, 0x01);
	out(1, 0x02);
	cr_assert_eq(in(0), 0x01);
	cr_assert_eq(in(1), 0x02);
	cr_assert_eq(txlen, 0, "a DLL write must not transmit");
	out(LCR, 0x03);
	cr_assert_eq(in(LCR), 0x03);
	cr_assert_eq(in(IER), 0x05, "IER must survive divisor writes");
	out(LCR, 0x80);
	cr_assert_eq(in(0), 0x01);
	cr_assert_eq(in(1), 0x02);
}

Test(uart, lsr_after_write_and_receive)
{
	uint8_t c = 'k';

	cr_assert_eq(in(LSR), 0x60);
	out(THR, 'A');
	cr_assert_eq(txlen, 1);
	cr_assert_eq(txbuf[0], 'A');
	cr_assert_eq(in(LSR), 0x60, "THRE and TEMT after a write, nothing else");
	cr_assert_eq(uart_receive(uart, &c, 1), 1);
	cr_assert_eq(in(LSR), 0x61);
	cr_assert_eq(in(THR), 'k');
	cr_assert_eq(in(LSR), 0x60);
}

Test(uart, word_access_is_two_byte_accesses)
{
	uint8_t w[2] = { 0x12, 0x34 };

	cr_assert(bus_access(&pio, BASE + LCR, w, 2, true));
	cr_assert_eq(in(LCR), 0x12);
	cr_assert_eq(in(MCR), 0x34 & 0x1f);
}

Test(uart, rx_fifo_order_and_overrun)
{
	int i;

	out(FCR, 0x07);
	out(MCR, LOOP);
	for (i = 0; i < 17; i++)
		out(THR, 'a' + i);
	cr_assert_eq(txlen, 0, "loopback must not reach the wire");
	cr_assert_eq(in(LSR), 0x63, "DR and OE after 17 bytes into 16");
	cr_assert_eq(in(LSR), 0x61, "OE clears on read");
	for (i = 0; i < 16; i++)
		cr_assert_eq(in(THR), 'a' + i);
	cr_assert_eq(in(LSR) & 1, 0);
}

Test(uart, overrun_without_fifo_overwrites)
{
	out(MCR, LOOP);
	out(THR, 'x');
	out(THR, 'y');
	cr_assert_eq(in(LSR), 0x63);
	cr_assert_eq(in(THR), 'y');
	cr_assert_eq(in(LSR), 0x60);
}

Test(uart, fifo_enable_and_reset)
{
	uint8_t buf[5] = "hello";

	cr_assert_eq(in(IIR), 0x01, "16450 mode: no FIFO bits");
	out(FCR, 0x01);
	cr_assert_eq(in(IIR), 0xc1);
	out(MCR, LOOP);
	out(THR, '1');
	out(THR, '2');
	out(FCR, 0x03);
	cr_assert_eq(in(LSR) & 1, 0, "FCR bit 1 empties the receive FIFO");
	out(THR, '3');
	out(FCR, 0x00);
	cr_assert_eq(in(LSR) & 1, 0, "leaving FIFO mode empties the FIFO");
	cr_assert_eq(in(IIR), 0x01);
	out(MCR, 0);
	out(FCR, 0x01);
	cr_assert_eq(uart_receive(uart, buf, 5), 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(in(THR), buf[i]);
}

Test(uart, iir_priorities)
{
	uint8_t c = 'z';

	/* trigger level 1: received data is "data available", not a timeout */
	out(FCR, 0x01);
	out(MCR, LOOP);
	for (int i = 0; i < 17; i++)
		out(THR, 'a');
	out(MCR, LOOP | 0x01); /* DTR -> DSR in loopback: a modem status change */
	cr_assert_eq(in(IIR), 0xc1, "all sources masked");
	out(IER, 0x0f);
	cr_assert_eq(in(IIR), 0xc6, "line status first");
	cr_assert_eq(in(IIR), 0xc6, "IIR read does not clear line status");
	in(LSR);
	cr_assert_eq(in(IIR), 0xc4, "then received data");
	for (int i = 0; i < 16; i++)
		in(THR);
	cr_assert_eq(in(IIR), 0xc2, "then THR empty");
	cr_assert_eq(in(IIR), 0xc0, "then modem status");
	cr_assert_eq(in(IIR), 0xc0, "IIR read does not clear modem status");
	cr_assert_neq(in(MSR) & 0x0f, 0);
	cr_assert_eq(in(MSR) & 0x0f, 0, "MSR read clears the deltas");
	cr_assert_eq(in(IIR), 0xc1);
	out(MCR, 0);
	in(MSR);
	cr_assert_eq(uart_receive(uart, &c, 1), 1);
	cr_assert_eq(in(IIR), 0xc4);
}

Test(uart, character_timeout_below_trigger)
{
	uint8_t buf[16];

	memset(buf, 'q', sizeof(buf));
	out(FCR, 0xc1); /* trigger at 14 */
	out(IER, 0x01);
	cr_assert_eq(uart_receive(uart, buf, 5), 5);
	cr_assert_eq(in(IIR), 0xcc);
	cr_assert_eq(uart_receive(uart, buf, 9), 9);
	cr_assert_eq(in(IIR), 0xc4);
}

Test(uart, thre_semantics)
{
	cr_assert_eq(in(IIR), 0x01);
	out(IER, 0x02);
	cr_assert_eq(in(IIR), 0x02, "ETBEI 0->1 with THR empty raises THRE");
	cr_assert_eq(in(IIR), 0x01, "reading IIR cleared it");
	out(IER, 0x03);
	cr_assert_eq(in(IIR), 0x01, "ETBEI staying 1 raises nothing");
	out(THR, 'a');
	cr_assert_eq(in(IIR), 0x02, "THR emptied again after the write");
	out(THR, 'b');
	out(IER, 0x00);
	out(IER, 0x02);
	cr_assert_eq(in(IIR), 0x02, "re-raised on ETBEI 0->1");
	/* Linux 8250 startup test: THRI on, read IIR, off, on, read IIR. */
	out(IER, 0x02);
	in(IIR);
	out(IER, 0);
	out(IER, 0x02);
	cr_assert_eq(in(IIR) & 1, 0, "8250 would flag UART_BUG_THRE");
}

Test(uart, irq_level_follows_pending_state)
{
	uint8_t c = 'x';

	out(MCR, OUT2);
	out(IER, 0x01);
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(uart_receive(uart, &c, 1), 1);
	cr_assert_eq(irq_level, 1);
	in(THR);
	cr_assert_eq(irq_level, 0);
	out(IER, 0x02);
	cr_assert_eq(irq_level, 1);
	in(IIR);
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(irq_changes, 4);
}

Test(uart, out2_gates_the_line)
{
	uint8_t c = 'x';

	out(IER, 0x01);
	cr_assert_eq(uart_receive(uart, &c, 1), 1);
	cr_assert_eq(in(IIR), 0x04, "the UART itself has an interrupt pending");
	cr_assert_eq(irq_level, 0, "but OUT2 is off");
	out(MCR, OUT2);
	cr_assert_eq(irq_level, 1);
	out(MCR, 0);
	cr_assert_eq(irq_level, 0);
	out(MCR, OUT2 | LOOP);
	cr_assert_eq(irq_level, 0, "loopback forces OUT2 inactive");
}

Test(uart, loopback_echo_and_modem_lines)
{
	out(MCR, LOOP | 0x0a);	/* Linux's autoconfig loopback test */
	cr_assert_eq(in(MSR) & 0xf0, 0x90);
	out(MCR, LOOP | 0x05);	/* DTR, OUT1 -> DSR, RI */
	cr_assert_eq(in(MSR) & 0xf0, 0x60);
	out(MCR, LOOP);
	cr_assert_eq(in(MSR) & 0x0f, 0x02 | 0x04, "DSR delta and RI trailing edge");
	out(THR, 0x42);
	cr_assert_eq(in(LSR) & 1, 1);
	cr_assert_eq(in(THR), 0x42);
	cr_assert_eq(txlen, 0);
	out(MCR, 0x03);
	cr_assert_eq(in(MSR) & 0xf0, 0xb0, "DCD, DSR and CTS asserted outside loopback");
}

Test(uart, loopback_holds_console_input)
{
	uint8_t c = 'i';

	out(MCR, LOOP);
	cr_assert_eq(uart_receive(uart, &c, 1), 1);
	cr_assert_eq(in(LSR) & 1, 0, "the receiver is disconnected in loopback");
	out(MCR, 0);
	cr_assert_eq(in(LSR) & 1, 1);
	cr_assert_eq(in(THR), 'i');
}

Test(uart, receive_takes_at_most_the_space)
{
	static uint8_t buf[UART_RX_BUF_SIZE + 100];
	size_t space, got, total = 0;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = i * 7;
	out(FCR, 0x01);
	space = uart_rx_space(uart);
	cr_assert_eq(space, UART_RX_BUF_SIZE);
	got = uart_receive(uart, buf, sizeof(buf));
	cr_assert_eq(got, space);
	total += got;
	space = uart_rx_space(uart);
	cr_assert_eq(space, 16, "16 bytes moved on into the FIFO");
	got = uart_receive(uart, buf + total, sizeof(buf) - total);
	cr_assert_eq(got, 16);
	total += got;
	cr_assert_eq(uart_rx_space(uart), 0);
	cr_assert_eq(uart_receive(uart, buf + total, 1), 0);
	for (size_t i = 0; i < total; i++)
		cr_assert_eq(in(THR), buf[i], "byte %zu", i);
	cr_assert_eq(in(LSR) & 1, 0);
	cr_assert_eq(uart_rx_space(uart), UART_RX_BUF_SIZE);
}

Test(uart, rx_notify_on_room_after_full)
{
	static uint8_t buf[UART_RX_BUF_SIZE + 1];

	uart_set_rx_notify(uart, mock_notify, NULL);
	cr_assert_eq(uart_receive(uart, buf, sizeof(buf)), UART_RX_BUF_SIZE);
	cr_assert_eq(uart_receive(uart, buf, 1), 1, "one byte went on into RBR");
	cr_assert_eq(uart_rx_space(uart), 0);
	cr_assert_eq(notified, 0);
	in(THR);
	cr_assert_eq(notified, 1);
	cr_assert_eq(uart_rx_space(uart), 1);
	in(THR);
	cr_assert_eq(notified, 1, "only the 0 -> >0 transition notifies");
}

struct feeder {
	const uint8_t *buf;
	size_t len;
};

static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t done = 0;

	while (done < f->len)
		done += uart_receive(uart, f->buf + done, f->len - done);
	return NULL;
}

Test(uart, concurrent_input_arrives_in_order)
{
	static uint8_t buf[20000];
	struct feeder f = { buf, sizeof(buf) };
	pthread_t t;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (i * 13) ^ (i >> 8);
	out(FCR, 0x01);
	cr_assert_eq(pthread_create(&t, NULL, feed, &f), 0);
	for (size_t i = 0; i < sizeof(buf); i++) {
		while (!(in(LSR) & 1))
			;
		cr_assert_eq(in(THR), buf[i], "byte %zu", i);
	}
	pthread_join(t, NULL);
	cr_assert_eq(in(LSR) & 1, 0);
}

Test(uart, break_reads_as_nul_with_bi)
{
	uint8_t a = 'a', b = 'b';

	out(IER, 0x04);
	cr_assert_eq(uart_send_break(uart), 0);
	cr_assert_eq(in(IIR), 0x06, "a break is a receiver line status interrupt");
	cr_assert_eq(in(LSR), 0x71, "BI with DR");
	cr_assert_eq(in(IIR), 0x01, "reading LSR acknowledged it");
	cr_assert_eq(in(THR), 0);
	cr_assert_eq(in(LSR), 0x60);

	/* In FIFO mode the break waits its turn behind earlier input. */
	out(FCR, 0x01);
	cr_assert_eq(uart_receive(uart, &a, 1), 1);
	cr_assert_eq(uart_send_break(uart), 0);
	cr_assert_eq(uart_receive(uart, &b, 1), 1);
	cr_assert_eq(in(LSR), 0xe1, "LSR7: an error is in the FIFO, not at its top");
	cr_assert_eq(in(THR), 'a');
	cr_assert_eq(in(LSR), 0xf1);
	cr_assert_eq(in(THR), 0);
	cr_assert_eq(in(LSR), 0x61);
	cr_assert_eq(in(THR), 'b');
}
