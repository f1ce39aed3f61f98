// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the 16550A UART. Random register reads and writes (byte
 * accesses, and wider ones that the ISA bus splits), console input, breaks,
 * with a mock interrupt line and console. After every step the registers
 * the UART exposes are checked against a shadow of what the guest wrote and
 * against each other:
 *   - LCR, MCR, SCR, IER, DLL and DLM read back what was written;
 *   - every THR write (DLAB 0, not loopback) reaches tx() at once, in order;
 *   - the interrupt line changes only when its level changes, and equals
 *     "IIR reports an interrupt && MCR.OUT2 && !MCR.LOOP";
 *   - LSR.DR is set exactly when the receive FIFO holds data (IIR with only
 *     ERBFI enabled tells), THRE and TEMT are always set, and data left on
 *     the wire outside loopback means a full FIFO;
 *   - uart_receive() takes min(len, space), the rx notifier runs exactly when
 *     a read turned a full input buffer into one with room.
 * A violation is __builtin_trap().
 *
 *   make fuzz-build && build/fuzz/fuzz_uart -max_total_time=60 tests/fuzz/corpus/fuzz_uart
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "devices/uart.h"
#include "vmm/bus.h"

#define BASE 0x3f8
#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

/* Everything the mocks see, and the shadow of the registers; reset per input. */
struct state {
	struct uart *uart;
	struct bus pio;
	int irq_level;
	unsigned long irq_sets;
	unsigned long notifies;
	/* tx: bytes the guest wrote to THR outside loopback, and how many reached tx(). */
	uint8_t expect_tx[64];
	size_t nr_expect, nr_tx;
	/* Shadow registers. */
	uint8_t lcr, mcr, scr, ier, dll, dlm;
	bool fifo_on;
};

static void mock_irq(void *opaque, uint32_t gsi, int level)
{
	struct state *s = opaque;

	CHECK(gsi == 4);
	CHECK(level == 0 || level == 1);
	/* uart_update_irq() only calls on a change. */
	CHECK(level != s->irq_level);
	s->irq_level = level;
	s->irq_sets++;
}

static void mock_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct state *s = opaque;
	size_t i;

	CHECK(len > 0);
	for (i = 0; i < len; i++) {
		CHECK(s->nr_tx < s->nr_expect);
		CHECK(buf[i] == s->expect_tx[s->nr_tx]);
		s->nr_tx++;
	}
}

static void mock_notify(void *opaque)
{
	struct state *s = opaque;

	s->notifies++;
}

/* The shadow's view of a byte written to reg. */
static void shadow_write(struct state *s, unsigned int reg, uint8_t val)
{
	bool dlab = s->lcr & 0x80;

	switch (reg) {
	case 0:
		if (dlab) {
			s->dll = val;
		} else if (!(s->mcr & 0x10)) {
			CHECK(s->nr_expect < sizeof(s->expect_tx));
			s->expect_tx[s->nr_expect++] = val;
		}
		break;
	case 1:
		if (dlab)
			s->dlm = val;
		else
			s->ier = val & 0x0f;
		break;
	case 2:
		s->fifo_on = val & 1;
		break;
	case 3:
		s->lcr = val;
		break;
	case 4:
		s->mcr = val & 0x1f;
		break;
	case 7:
		s->scr = val;
		break;
	}
}

/* Register values that reading does not change, checked against the shadow. */
static void shadow_check_read(struct state *s, unsigned int reg, uint8_t val)
{
	bool dlab = s->lcr & 0x80;

	switch (reg) {
	case 0:
		if (dlab)
			CHECK(val == s->dll);
		break;
	case 1:
		CHECK(val == (dlab ? s->dlm : s->ier));
		break;
	case 2:
		CHECK((val & 0xc0) == (s->fifo_on ? 0xc0 : 0));
		CHECK(!(val & 0x30));
		switch (val & 0x0f) {
		case 0x01: case 0x00: case 0x02: case 0x04: case 0x06: case 0x0c:
			break;
		default:
			CHECK(0);
		}
		break;
	case 3:
		CHECK(val == s->lcr);
		break;
	case 4:
		CHECK(val == s->mcr);
		break;
	case 5:
		CHECK((val & 0x60) == 0x60); /* THRE, TEMT: transmission is instantaneous */
		if (!(val & 0x01))	     /* no data: no break or error to report */
			CHECK(!(val & 0x90));
		break;
	case 6:
		if (s->mcr & 0x10) {
			uint8_t lines = (s->mcr & 1 ? 0x20 : 0) | (s->mcr & 2 ? 0x10 : 0) |
					(s->mcr & 4 ? 0x40 : 0) | (s->mcr & 8 ? 0x80 : 0);

			CHECK((val & 0xf0) == lines);
		} else {
			CHECK((val & 0xf0) == 0xb0); /* DCD, DSR, CTS */
		}
		break;
	case 7:
		CHECK(val == s->scr);
		break;
	}
}

/*
 * One bus access, with the notifier and tx checks around it. One that
 * straddles the end of the UART's ports reaches nothing (bus.h); returns
 * whether it reached the UART.
 */
static bool access(struct state *s, unsigned int off, uint8_t *data, uint32_t len, bool write)
{
	bool was_full = uart_rx_space(s->uart) == 0, hit = off + len <= UART_NR_REGS;
	unsigned long notifies = s->notifies;
	uint32_t i;

	if (write && hit)
		for (i = 0; i < len; i++)
			shadow_write(s, off + i, data[i]);
	CHECK(bus_access(&s->pio, BASE + off, data, len, write) == hit);
	/* All of THR's bytes went out at once. */
	CHECK(s->nr_tx == s->nr_expect);
	s->nr_tx = s->nr_expect = 0;
	CHECK(s->notifies - notifies <= 1);
	CHECK((s->notifies != notifies) == (hit && was_full && uart_rx_space(s->uart) > 0));
	return hit;
}

static uint8_t read_reg(struct state *s, unsigned int reg)
{
	uint8_t v;

	access(s, reg, &v, 1, false);
	shadow_check_read(s, reg, v);
	return v;
}

static void write_reg(struct state *s, unsigned int reg, uint8_t v)
{
	access(s, reg, &v, 1, true);
}

/* IIR against the interrupt line, read before IIR's own side effect. */
static void check_iir(struct state *s)
{
	int level = s->irq_level;
	uint8_t mcr = read_reg(s, 4), iir = read_reg(s, 2);
	bool pending = (iir & 0x0f) != 0x01;

	CHECK(level == (pending && (mcr & 0x08) && !(mcr & 0x10)));
}

/*
 * LSR.DR against the FIFO: with only ERBFI enabled, IIR reports received
 * data (or its timeout) exactly when the FIFO is not empty.
 */
static void check_data_ready(struct state *s)
{
	uint8_t lcr = read_reg(s, 3), ier, iir, lsr;
	bool avail;

	write_reg(s, 3, lcr & 0x7f);
	ier = read_reg(s, 1);
	write_reg(s, 1, 0x01);
	iir = read_reg(s, 2);
	avail = (iir & 0x0f) == 0x04 || (iir & 0x0f) == 0x0c;
	CHECK(avail || (iir & 0x0f) == 0x01);
	lsr = read_reg(s, 5);
	CHECK(!!(lsr & 0x01) == avail);
	/* Input waiting on the wire outside loopback means the FIFO is full. */
	if (!(s->mcr & 0x10) && uart_rx_space(s->uart) < UART_RX_BUF_SIZE)
		CHECK(avail);
	write_reg(s, 1, ier);
	write_reg(s, 3, lcr);
}

static const uint8_t pattern[8192] = "The quick brown fox\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state s;
	struct irq_line irq;

	memset(&s, 0, sizeof(s));
	irq = (struct irq_line){ mock_irq, &s, 4 };
	s.uart = uart_create(irq, mock_tx, &s);
	CHECK(s.uart);
	uart_set_rx_notify(s.uart, mock_notify, &s);
	CHECK(!bus_init(&s.pio, "pio"));
	CHECK(!uart_register(s.uart, &s.pio, BASE));
	/* The shadow of the reset state. */
	s.dll = 12;

	/* Each step: an op byte and a value byte. */
	while (size >= 2) {
		uint8_t op = data[0], val = data[1];
		unsigned int reg = op & 7;

		data += 2;
		size -= 2;
		switch (op >> 3 & 7) {
		case 0:
		case 1:
			write_reg(&s, reg, val);
			break;
		case 2:
			if (reg == 2)
				check_iir(&s);
			else
				read_reg(&s, reg);
			break;
		case 3: { /* console input: a run of the input, or a long pattern */
			size_t len, space = uart_rx_space(s.uart), got;
			const uint8_t *src = data;

			CHECK(space <= UART_RX_BUF_SIZE);
			if (val & 0x80) {
				len = (size_t)(val & 0x7f) * 64;
				src = pattern;
			} else {
				len = val & 0x1f;
				if (len > size)
					len = size;
				data += len;
				size -= len;
			}
			got = uart_receive(s.uart, src, len);
			CHECK(got == (len < space ? len : space));
			/* What the FIFO had room for went on to it at once. */
			CHECK(uart_rx_space(s.uart) >= space - got);
			CHECK(uart_rx_space(s.uart) <= space - got + 16);
			break;
		}
		case 4: {
			size_t space = uart_rx_space(s.uart);
			int ret = uart_send_break(s.uart);

			CHECK(ret == (space ? 0 : -EAGAIN));
			CHECK(uart_rx_space(s.uart) >= space - (space ? 1 : 0));
			CHECK(uart_rx_space(s.uart) <= space + 16);
			break;
		}
		case 5:
			check_data_ready(&s);
			break;
		case 6: { /* a wider access, split into bytes (the part past the UART is lost) */
			uint8_t buf[8];
			uint32_t len = 2u << (val % 3), i;

			memset(buf, val, sizeof(buf));
			if (op & 0x80) {
				access(&s, reg, buf, len, true);
			} else if (access(&s, reg, buf, len, false)) {
				/* Only registers that reading leaves alone are compared. */
				for (i = 0; i < len; i++)
					if (reg + i != 0 && reg + i != 2 && reg + i != 5 &&
					    reg + i != 6)
						shadow_check_read(&s, reg + i, buf[i]);
			}
			break;
		}
		default:
			check_iir(&s);
			check_data_ready(&s);
			break;
		}
	}
	check_iir(&s);
	check_data_ready(&s);
	uart_destroy(s.uart);
	bus_destroy(&s.pio);
	return 0;
}
