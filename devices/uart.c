// SPDX-License-Identifier: GPL-2.0
/*
 * 16550A UART. Register behaviour follows the National/TI PC16550D datasheet
 * ("the datasheet" below) and, where that leaves room, what Linux's 8250
 * driver (drivers/tty/serial/8250/8250_port.c) probes and relies on.
 *
 * Transmission is instantaneous: a byte written to THR goes to tx() at once,
 * so THR and the transmitter are always empty (LSR THRE and TEMT set) and the
 * transmit FIFO never holds anything. Reception: console input goes into a
 * UART_RX_BUF_SIZE ring (the "wire"), which feeds the receive FIFO whenever it
 * has room, so a paste larger than 16 bytes is held rather than overrun.
 * There is no baud-rate timing: the character-timeout indication is given as
 * soon as the FIFO holds data below its trigger level.
 *
 * Locking: PIO callbacks run on vCPU threads, uart_receive() and
 * uart_rx_space() on the I/O thread. All register and buffer state is guarded
 * by uart->lock. The interrupt line is set under that lock so that level
 * changes from different threads reach KVM in the order they were computed.
 * tx() and the rx notifier are called after uart->lock is released (so a slow
 * stdout never stalls the I/O thread); tx_lock only serialises tx() calls.
 * Lock order: lock, then nothing; tx_lock, then nothing.
 *
 * The struct and register bits live in uart_priv.h; snapshot and migration
 * state is in uart_state.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/bus.h"
#include "uart.h"
#include "uart_priv.h"

/* What a handler must do once uart->lock is dropped. */
struct uart_deferred {
	uint8_t tx[UART_NR_REGS];
	size_t nr_tx;
	void (*notify)(void *opaque);
	void *notify_opaque;
};

static const uint8_t rx_trigger_levels[4] = { 1, 4, 8, 14 };

static unsigned int fifo_capacity(const struct uart *uart)
{
	/* Without FIFOs the 16550 has a single receiver holding register. */
	return uart->fifo_on ? FIFO_SIZE : 1;
}

static void fifo_push(struct uart *uart, uint16_t c)
{
	if (uart->fifo_count >= fifo_capacity(uart)) {
		/*
		 * Overrun. With FIFOs the character in the shift register is
		 * lost; without, it overwrites RBR (datasheet, LSR bit 1).
		 */
		uart->overrun = true;
		if (!uart->fifo_on)
			uart->fifo[uart->fifo_head] = c;
		return;
	}
	uart->fifo[(uart->fifo_head + uart->fifo_count) % FIFO_SIZE] = c;
	uart->fifo_count++;
}

static void fifo_clear(struct uart *uart)
{
	uart->fifo_head = 0;
	uart->fifo_count = 0;
}

/* Move console input from the ring into the FIFO while it has room. */
void uart_refill(struct uart *uart)
{
	/* In loopback the receiver is disconnected from the serial input. */
	if (uart->mcr & MCR_LOOP)
		return;
	while (uart->ring_count && uart->fifo_count < fifo_capacity(uart)) {
		fifo_push(uart, uart->ring[uart->ring_head]);
		uart->ring_head = (uart->ring_head + 1) % UART_RX_BUF_SIZE;
		uart->ring_count--;
	}
}

/* Modem status inputs: fixed "carrier, clear to send, data set ready", or MCR in loopback. */
uint8_t uart_modem_lines(uint8_t m)
{
	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (m & MCR_DTR ? MSR_DSR : 0) | (m & MCR_RTS ? MSR_CTS : 0) |
	       (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
}

/* Latch delta bits for whatever changed in the modem status inputs. */
static void uart_update_msr(struct uart *uart)
{
	uint8_t old = uart->msr, now = uart_modem_lines(uart->mcr);
	uint8_t changed = old ^ now, deltas = 0;

	if (changed & MSR_CTS)
		deltas |= MSR_DCTS;
	if (changed & MSR_DSR)
		deltas |= MSR_DDSR;
	if (changed & MSR_DCD)
		deltas |= MSR_DDCD;
	/* TERI reports only the trailing edge of RI. */
	if ((old & MSR_RI) && !(now & MSR_RI))
		deltas |= MSR_TERI;
	uart->msr = now | ((old | deltas) & MSR_DELTAS);
}

/*
 * A break is reported with the character it belongs to once that character
 * reaches the top of the FIFO (datasheet, LSR bit 4), and only once.
 */
static bool uart_top_is_break(const struct uart *uart)
{
	return uart->fifo_count && (uart->fifo[uart->fifo_head] & RX_BREAK);
}

/* IIR value in the 16550A's priority order, without the FIFO bits. */
static uint8_t uart_iir_source(const struct uart *uart)
{
	if ((uart->ier & IER_ELSI) && (uart->overrun || uart_top_is_break(uart)))
		return IIR_RLSI;
	if ((uart->ier & IER_ERBFI) && uart->fifo_count) {
		if (!uart->fifo_on || uart->fifo_count >= uart->rx_trigger)
			return IIR_RDI;
		return IIR_CTI;
	}
	if ((uart->ier & IER_ETBEI) && uart->thre_pending)
		return IIR_THRI;
	if ((uart->ier & IER_EDSSI) && (uart->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NO_INT;
}

/*
 * On a PC the UART's interrupt output reaches the PIC only through a gate
 * driven by OUT2. In loopback the OUT pins are forced inactive (datasheet,
 * MCR bit 4), so the line stays low although IIR still reports interrupts.
 */
void uart_update_irq(struct uart *uart)
{
	int level = uart_iir_source(uart) != IIR_NO_INT && (uart->mcr & MCR_OUT2) &&
		    !(uart->mcr & MCR_LOOP);

	if (level != uart->irq_level) {
		uart->irq_level = level;
		irq_line_set(&uart->irq, level);
	}
}

static void uart_transmit(struct uart *uart, uint8_t c, struct uart_deferred *d)
{
	if (uart->mcr & MCR_LOOP)
		fifo_push(uart, c);
	else if (d->nr_tx < sizeof(d->tx))
		d->tx[d->nr_tx++] = c;
	/* The byte left THR at once: THR is empty again, which is an interrupt event. */
	uart->thre_pending = true;
}

static void uart_write_fcr(struct uart *uart, uint8_t val)
{
	bool on = val & FCR_ENABLE;

	/* Switching FIFO mode on or off clears both FIFOs (datasheet, FCR bit 0). */
	if (on != uart->fifo_on) {
		fifo_clear(uart);
		uart->fifo_on = on;
	}
	/* The other bits are programmed only while FCR0 is set. */
	if (!on)
		return;
	if (val & FCR_CLEAR_RX)
		fifo_clear(uart);
	/* FCR_CLEAR_TX: the transmit FIFO is always empty. */
	uart->rx_trigger = rx_trigger_levels[val >> FCR_TRIG_SHIFT];
}

static void uart_write_reg(struct uart *uart, unsigned int reg, uint8_t val,
			   struct uart_deferred *d)
{
	bool dlab = uart->lcr & LCR_DLAB;

	switch (reg) {
	case UART_THR:
		if (dlab)
			uart->dll = val;
		else
			uart_transmit(uart, val, d);
		break;
	case UART_IER:
		if (dlab) {
			uart->dlm = val;
			break;
		}
		/*
		 * Enabling ETBEI while THR is empty raises THRE anew. Linux's
		 * 8250 depends on it: serial8250_start_tx() sets IER.THRI and
		 * waits for the interrupt, and startup's THRE test toggles it.
		 */
		if (!(uart->ier & IER_ETBEI) && (val & IER_ETBEI))
			uart->thre_pending = true;
		uart->ier = val & IER_MASK;
		break;
	case UART_FCR:
		uart_write_fcr(uart, val);
		break;
	case UART_LCR:
		uart->lcr = val;
		break;
	case UART_MCR:
		uart->mcr = val & MCR_MASK;
		uart_update_msr(uart);
		break;
	case UART_LSR:
	case UART_MSR:
		/* Factory test registers on the 16550; writes are ignored here. */
		break;
	case UART_SCR:
		uart->scr = val;
		break;
	}
}

static uint8_t uart_read_reg(struct uart *uart, unsigned int reg)
{
	bool dlab = uart->lcr & LCR_DLAB;
	uint8_t val = 0xff;

	switch (reg) {
	case UART_RBR:
		if (dlab)
			return uart->dll;
		if (uart->fifo_count) {
			uart->last_rx = uart->fifo[uart->fifo_head] & 0xff;
			uart->fifo_head = (uart->fifo_head + 1) % FIFO_SIZE;
			uart->fifo_count--;
		}
		return uart->last_rx;
	case UART_IER:
		return dlab ? uart->dlm : uart->ier;
	case UART_IIR:
		val = uart_iir_source(uart);
		/* Reading IIR clears a THRE interrupt only when THRE is what it reports. */
		if (val == IIR_THRI)
			uart->thre_pending = false;
		return val | (uart->fifo_on ? IIR_FIFO_ON : 0);
	case UART_LCR:
		return uart->lcr;
	case UART_MCR:
		return uart->mcr;
	case UART_LSR:
		val = LSR_THRE | LSR_TEMT;
		if (uart->fifo_count)
			val |= LSR_DR;
		if (uart->overrun)
			val |= LSR_OE;
		uart->overrun = false;
		/* LSR7, FIFO mode only: an error is waiting somewhere in the FIFO. */
		for (unsigned int i = 0; uart->fifo_on && i < uart->fifo_count; i++)
			if (uart->fifo[(uart->fifo_head + i) % FIFO_SIZE] & RX_BREAK)
				val |= LSR_FIFO_ERR;
		if (uart_top_is_break(uart)) {
			val |= LSR_BI;
			uart->fifo[uart->fifo_head] &= ~RX_BREAK;
		}
		return val;
	case UART_MSR:
		val = uart->msr;
		uart->msr &= ~MSR_DELTAS;
		return val;
	case UART_SCR:
		return uart->scr;
	}
	return val;
}

static void uart_finish(struct uart *uart, bool was_full, struct uart_deferred *d)
{
	uart_refill(uart);
	uart_update_irq(uart);
	if (was_full && uart->ring_count < UART_RX_BUF_SIZE) {
		d->notify = uart->rx_notify;
		d->notify_opaque = uart->rx_notify_opaque;
	}
}

/* After uart->lock is dropped: output, then tell the console there is room. */
static void uart_run_deferred(struct uart *uart, const struct uart_deferred *d)
{
	if (d->nr_tx && uart->tx) {
		pthread_mutex_lock(&uart->tx_lock);
		uart->tx(uart->tx_opaque, d->tx, d->nr_tx);
		pthread_mutex_unlock(&uart->tx_lock);
	}
	if (d->notify)
		d->notify(d->notify_opaque);
}

/* A wider access is a run of byte accesses, as the ISA bus splits it. */
static void uart_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct uart *uart = opaque;
	struct uart_deferred d = { .nr_tx = 0, .notify = NULL };
	bool was_full;
	uint32_t i;

	pthread_mutex_lock(&uart->lock);
	was_full = uart->ring_count == UART_RX_BUF_SIZE;
	for (i = 0; i < len && offset + i < UART_NR_REGS; i++) {
		unsigned int reg = offset + i;

		if (is_write)
			uart_write_reg(uart, reg, data[i], &d);
		else
			data[i] = uart_read_reg(uart, reg);
		/* Each byte sees the FIFO refilled, as it would after a real RBR read. */
		uart_refill(uart);
	}
	uart_finish(uart, was_full, &d);
	pthread_mutex_unlock(&uart->lock);

	uart_run_deferred(uart, &d);
}

size_t uart_rx_space(struct uart *uart)
{
	size_t space;

	pthread_mutex_lock(&uart->lock);
	space = UART_RX_BUF_SIZE - uart->ring_count;
	pthread_mutex_unlock(&uart->lock);
	return space;
}

/* Append to the ring; the caller holds the lock and has checked the space. */
static void ring_put(struct uart *uart, uint16_t c)
{
	uart->ring[(uart->ring_head + uart->ring_count) % UART_RX_BUF_SIZE] = c;
	uart->ring_count++;
}

int uart_send_break(struct uart *uart)
{
	int ret = -EAGAIN;

	pthread_mutex_lock(&uart->lock);
	if (uart->ring_count < UART_RX_BUF_SIZE) {
		/* A break reads as a NUL character with LSR.BI set (datasheet, LSR bit 4). */
		ring_put(uart, RX_BREAK);
		uart_refill(uart);
		uart_update_irq(uart);
		ret = 0;
	}
	pthread_mutex_unlock(&uart->lock);
	return ret;
}

size_t uart_receive(struct uart *uart, const uint8_t *buf, size_t len)
{
	size_t n, i;

	pthread_mutex_lock(&uart->lock);
	n = UART_RX_BUF_SIZE - uart->ring_count;
	if (n > len)
		n = len;
	for (i = 0; i < n; i++)
		ring_put(uart, buf[i]);
	uart_refill(uart);
	uart_update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
	return n;
}

void uart_set_rx_notify(struct uart *uart, void (*fn)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&uart->lock);
	uart->rx_notify = fn;
	uart->rx_notify_opaque = opaque;
	pthread_mutex_unlock(&uart->lock);
}

int uart_register(struct uart *uart, struct bus *pio, uint16_t base)
{
	return bus_register(pio, base, UART_NR_REGS, uart_io, uart, "uart");
}

struct uart *uart_create(struct irq_line irq,
			 void (*tx)(void *opaque, const uint8_t *buf, size_t len), void *tx_opaque)
{
	struct uart *uart = calloc(1, sizeof(*uart));

	if (!uart)
		return NULL;
	if (pthread_mutex_init(&uart->lock, NULL))
		goto err_free;
	if (pthread_mutex_init(&uart->tx_lock, NULL))
		goto err_lock;
	uart->irq = irq;
	uart->tx = tx;
	uart->tx_opaque = tx_opaque;
	/* A divisor of 0 is undefined; start at 9600 baud (1.8432 MHz / 16 / 12). */
	uart->dll = 12;
	uart->rx_trigger = 1;
	uart->msr = uart_modem_lines(uart->mcr);
	return uart;

err_lock:
	pthread_mutex_destroy(&uart->lock);
err_free:
	free(uart);
	return NULL;
}

void uart_destroy(struct uart *uart)
{
	if (!uart)
		return;
	pthread_mutex_destroy(&uart->tx_lock);
	pthread_mutex_destroy(&uart->lock);
	free(uart);
}
