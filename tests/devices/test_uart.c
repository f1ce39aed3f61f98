// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <libfdt.h>

#include "devices/uart.h"
#include "vmm/bus.h"
#include "vmm/state.h"

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

/* Snapshot and migration state: save into a blob, restore into a fresh UART. */

#define STATE_SIZE 32768

static void save_uart(void *buf)
{
	cr_assert_eq(state_begin(buf, STATE_SIZE), 0);
	cr_assert_eq(state_node_begin(buf, "uart"), 0);
	cr_assert_eq(uart_save(uart, buf), 0);
	cr_assert_eq(state_node_end(buf), 0);
	cr_assert_eq(state_finish(buf), 0);
	cr_assert_eq(state_check(buf, fdt_totalsize(buf)), 0, "%s", state_error());
}

static int restore_uart(const void *buf)
{
	int node = state_node(buf, 0, "uart");

	cr_assert_geq(node, 0);
	return uart_restore(uart, buf, node);
}

/* The destination: a new UART on the same ports, its line never driven. */
static void replace_uart(void)
{
	struct irq_line irq = { .set_level = mock_set_level, .gsi = 4 };

	cr_assert_eq(bus_unregister(&pio, BASE, uart), 0);
	uart_destroy(uart);
	irq_level = 0;
	irq_changes = 0;
	uart = uart_create(irq, mock_tx, NULL);
	cr_assert_not_null(uart);
	cr_assert_eq(uart_register(uart, &pio, BASE), 0);
}

Test(uart, state_round_trip_registers_fifo_and_input)
{
	static uint8_t src[STATE_SIZE];
	uint8_t input[40];
	int i;

	for (i = 0; i < 40; i++)
		input[i] = 'A' + i;
	out(LCR, 0x80);
	out(0, 0x01);		/* divisor 1: 115200 baud */
	out(1, 0x00);
	out(LCR, 0x1b);		/* 8 bits, even parity */
	out(IER, 0x05);
	out(SCR, 0x5a);
	out(FCR, 0xc1);		/* FIFO on, trigger at 14 */
	out(MCR, OUT2 | 0x03);
	cr_assert_eq(uart_receive(uart, input, 40), 40);
	cr_assert_eq(uart_send_break(uart), 0);
	/* Move the FIFO's head off slot 0 so the save has to unwrap it. */
	for (i = 0; i < 5; i++)
		cr_assert_eq(in(THR), input[i]);
	cr_assert_eq(irq_level, 1);
	save_uart(src);

	replace_uart();
	cr_assert_eq(restore_uart(src), 0, "%s", state_error());
	cr_assert_eq(irq_level, 1, "16 bytes at trigger 14 with ERBFI and OUT2: line up");
	cr_assert_eq(irq_changes, 1);
	cr_assert_eq(in(LCR), 0x1b);
	cr_assert_eq(in(IER), 0x05);
	cr_assert_eq(in(SCR), 0x5a);
	cr_assert_eq(in(MCR), OUT2 | 0x03);
	cr_assert_eq(in(MSR), 0xb0, "carrier, DSR, CTS and no deltas");
	out(LCR, 0x9b);
	cr_assert_eq(in(0), 0x01);
	cr_assert_eq(in(1), 0x00);
	out(LCR, 0x1b);
	cr_assert_eq(in(IIR), 0xc4, "FIFO on, received data at the trigger level");
	cr_assert_eq(in(LSR), 0x61, "data ready; the break is still behind the FIFO");
	for (i = 5; i < 40; i++)
		cr_assert_eq(in(THR), input[i], "byte %d", i);
	cr_assert_eq(in(LSR), 0xf1, "the break reached the top");
	cr_assert_eq(in(THR), 0);
	cr_assert_eq(in(LSR), 0x60);
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(txlen, 0);
}

Test(uart, state_round_trip_full_input_buffer)
{
	static uint8_t src[STATE_SIZE], buf[UART_RX_BUF_SIZE + 16];
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = i * 31 + (i >> 7);
	out(FCR, 0x01);
	cr_assert_eq(uart_receive(uart, buf, sizeof(buf)), UART_RX_BUF_SIZE);
	cr_assert_eq(uart_receive(uart, buf + UART_RX_BUF_SIZE, 16), 16);
	cr_assert_eq(uart_rx_space(uart), 0);
	save_uart(src);

	/* A destination that has seen use: its FIFO and input buffer heads are off 0. */
	replace_uart();
	cr_assert_eq(uart_receive(uart, buf, 100), 100);
	for (i = 0; i < 50; i++)
		in(THR);
	/* And a line whose level the device does not know: restore must drive it. */
	irq_level = -1;
	cr_assert_eq(restore_uart(src), 0, "%s", state_error());
	cr_assert_eq(uart_rx_space(uart), 0, "typed input is not lost");
	cr_assert_eq(irq_level, 0, "IER is 0: driven low");
	for (i = 0; i < sizeof(buf); i++)
		cr_assert_eq(in(THR), buf[i], "byte %zu", i);
	cr_assert_eq(in(LSR) & 1, 0);
}

Test(uart, state_round_trip_latched_conditions)
{
	static uint8_t src[STATE_SIZE];
	uint8_t c = 'q';

	/* What RBR reads once empty, THRE pending, overrun and modem deltas in loopback. */
	cr_assert_eq(uart_receive(uart, &c, 1), 1);
	cr_assert_eq(in(THR), 'q');
	out(MCR, LOOP | OUT2);
	out(THR, 'x');
	out(THR, 'y');
	out(IER, 0x0f);
	save_uart(src);

	replace_uart();
	cr_assert_eq(restore_uart(src), 0, "%s", state_error());
	cr_assert_eq(irq_level, 0, "loopback keeps the line low");
	cr_assert_eq(in(IIR), 0x06, "overrun is a line status interrupt");
	cr_assert_eq(in(LSR), 0x63);
	cr_assert_eq(in(IIR), 0x04);
	cr_assert_eq(in(THR), 'y', "without FIFO the overrun overwrote RBR");
	cr_assert_eq(in(IIR), 0x02, "THRE still pending");
	cr_assert_eq(in(IIR), 0x00, "then the modem deltas");
	cr_assert_eq(in(MSR), 0x83, "CTS and DSR dropped; OUT2 loops back to DCD");
	cr_assert_eq(in(IIR), 0x01);
	cr_assert_eq(in(THR), 'y', "RBR keeps the last character");
	out(MCR, OUT2);
	out(IER, 0);
	out(IER, 0x02);
	cr_assert_eq(irq_level, 1, "the restored line follows later events");
}

Test(uart, state_restore_raises_a_pending_thre)
{
	static uint8_t src[STATE_SIZE];

	out(MCR, OUT2);
	out(IER, 0x02);
	cr_assert_eq(irq_level, 1);
	save_uart(src);

	replace_uart();
	cr_assert_eq(restore_uart(src), 0, "%s", state_error());
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(in(IIR), 0x02);
	cr_assert_eq(irq_level, 0, "reading IIR acknowledges it, as before the save");
}

/* A copy of blob with prop replaced by val (len bytes), or removed when val is NULL. */
static const void *uart_blob_with(const void *blob, const char *prop, const void *val, int len)
{
	static uint8_t buf[STATE_SIZE];
	int node;

	cr_assert_eq(fdt_open_into(blob, buf, sizeof(buf)), 0);
	node = fdt_subnode_offset(buf, 0, "uart");
	cr_assert_geq(node, 0);
	if (val)
		cr_assert_eq(fdt_setprop(buf, node, prop, val, len), 0);
	else
		cr_assert_eq(fdt_delprop(buf, node, prop), 0);
	cr_assert_eq(fdt_pack(buf), 0);
	return buf;
}

Test(uart, state_bad_blobs_leave_the_uart_alone)
{
	static uint8_t src[STATE_SIZE], after[STATE_SIZE], fifo17[2 * 17];
	static const uint8_t odd[3] = { 0, 'a', 0 }, bad_entry[2] = { 0x01, 0x41 };
	const struct {
		const char *prop;
		const void *val;	/* NULL: the property is missing */
		int len;
	} cases[] = {
		{ "scr", NULL, 0 },
		{ "rx-fifo", NULL, 0 },
		{ "rx-input", NULL, 0 },
		{ "rx-fifo", fifo17, sizeof(fifo17) },
		{ "rx-fifo", odd, sizeof(odd) },
		{ "rx-fifo", bad_entry, sizeof(bad_entry) },
		/* Big-endian cells, as state_put_u32() writes them. */
		{ "ier", "\0\0\0\x10", 4 },
		{ "lcr", "\0\0\x01\0", 4 },
		{ "rx-trigger", "\0\0\0\x03", 4 },
		{ "fifo-enabled", "\0\0\0\x02", 4 },
		{ "msr", "\0\0\0\0", 4, },	/* carrier, DSR, CTS dropped outside loopback */
		{ "dll", "\x01", 1 },
	};
	uint8_t input[3] = "abc";
	unsigned int i;

	out(LCR, 0x03);
	out(IER, 0x01);
	out(SCR, 0x77);
	out(FCR, 0x41);
	out(MCR, OUT2);
	cr_assert_eq(uart_receive(uart, input, 3), 3);
	cr_assert_eq(irq_level, 1);
	save_uart(src);
	for (i = 0; i < 17; i++)
		fifo17[2 * i + 1] = 'a' + i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *prop = cases[i].prop;
		const void *bad = uart_blob_with(src, prop, cases[i].val, cases[i].len);
		int ret;

		state_fail("%s", "");
		irq_changes = 0;
		ret = restore_uart(bad);
		cr_assert_eq(ret, -EINVAL, "case %u (%s): %d", i, prop, ret);
		cr_assert(strstr(state_error(), prop), "case %u: error '%s'", i, state_error());
		cr_assert_eq(irq_changes, 0, "case %u: the line moved", i);
		/* Saving again gives the same bytes: not one field was applied. */
		save_uart(after);
		cr_assert_eq(fdt_totalsize(after), fdt_totalsize(src));
		cr_assert_eq(memcmp(after, src, fdt_totalsize(src)), 0, "case %u: UART changed", i);
	}
	cr_assert_eq(in(SCR), 0x77);
	cr_assert_eq(in(THR), 'a');
}
