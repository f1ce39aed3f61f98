// SPDX-License-Identifier: GPL-2.0
/*
 * UART state for snapshots and migration. The node holds the registers the
 * guest reads and writes, the latched conditions the status and interrupt
 * registers are computed from, and the receive path in order:
 *
 *   ier lcr mcr scr msr dll dlm last-rx	register bytes
 *   fifo-enabled rx-trigger			what FCR programmed (trigger in bytes)
 *   overrun thre-pending			LSR.OE and the latched THRE interrupt
 *   rx-fifo rx-input				receive FIFO, then the console input
 *						behind it: 16-bit big-endian entries,
 *						the character, 0x100 for a break
 *
 * LSR and IIR are not stored: both are functions of the above (uart.c), so a
 * destination recomputes them and cannot be handed an inconsistent pair.
 */
#include <errno.h>
#include <stddef.h>

#include "../vmm/state.h"
#include "uart.h"
#include "uart_priv.h"

struct uart_image {
	uint32_t ier, lcr, mcr, scr, msr, dll, dlm, last_rx;
	uint32_t fifo_on, rx_trigger, overrun, thre_pending;
	const uint8_t *fifo, *input;	/* entries, 2 bytes each, big-endian */
	size_t fifo_count, input_count;
};

static const struct {
	const char *name;
	size_t off;
	uint32_t max;
} uart_props[] = {
	{ "ier", offsetof(struct uart_image, ier), IER_MASK },
	{ "lcr", offsetof(struct uart_image, lcr), 0xff },
	{ "mcr", offsetof(struct uart_image, mcr), MCR_MASK },
	{ "scr", offsetof(struct uart_image, scr), 0xff },
	{ "msr", offsetof(struct uart_image, msr), 0xff },
	{ "dll", offsetof(struct uart_image, dll), 0xff },
	{ "dlm", offsetof(struct uart_image, dlm), 0xff },
	{ "last-rx", offsetof(struct uart_image, last_rx), 0xff },
	{ "fifo-enabled", offsetof(struct uart_image, fifo_on), 1 },
	{ "rx-trigger", offsetof(struct uart_image, rx_trigger), 14 },
	{ "overrun", offsetof(struct uart_image, overrun), 1 },
	{ "thre-pending", offsetof(struct uart_image, thre_pending), 1 },
};

#define NR_UART_PROPS (sizeof(uart_props) / sizeof(uart_props[0]))

static uint32_t *image_field(struct uart_image *img, unsigned int i)
{
	return (uint32_t *)((char *)img + uart_props[i].off);
}

/* n entries of a circular buffer of size slots, from head, as big-endian u16s. */
static void encode_entries(uint8_t *out, const uint16_t *buf, size_t size, size_t head, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t e = buf[(head + i) % size];

		out[2 * i] = e >> 8;
		out[2 * i + 1] = e & 0xff;
	}
}

static uint16_t entry_at(const uint8_t *p, size_t i)
{
	return (uint16_t)(p[2 * i] << 8 | p[2 * i + 1]);
}

int uart_save(struct uart *uart, void *fdt)
{
	/* The larger of the two buffers; the guest is paused, so a stack copy is fine. */
	uint8_t entries[2 * UART_RX_BUF_SIZE];
	struct uart_image img;
	unsigned int i;
	int ret = 0;

	pthread_mutex_lock(&uart->lock);
	img = (struct uart_image) {
		.ier = uart->ier, .lcr = uart->lcr, .mcr = uart->mcr, .scr = uart->scr,
		.msr = uart->msr, .dll = uart->dll, .dlm = uart->dlm,
		.last_rx = uart->last_rx, .fifo_on = uart->fifo_on,
		.rx_trigger = uart->rx_trigger, .overrun = uart->overrun,
		.thre_pending = uart->thre_pending,
	};
	for (i = 0; i < NR_UART_PROPS && !ret; i++)
		ret = state_put_u32(fdt, uart_props[i].name, *image_field(&img, i));
	if (ret)
		goto out;
	encode_entries(entries, uart->fifo, FIFO_SIZE, uart->fifo_head, uart->fifo_count);
	ret = state_put_blob(fdt, "rx-fifo", entries, 2 * uart->fifo_count);
	if (ret)
		goto out;
	encode_entries(entries, uart->ring, UART_RX_BUF_SIZE, uart->ring_head, uart->ring_count);
	ret = state_put_blob(fdt, "rx-input", entries, 2 * uart->ring_count);
out:
	pthread_mutex_unlock(&uart->lock);
	return ret;
}

/* A list of receive entries, at most max of them, each a character or a bare break. */
static int get_entries(const void *fdt, int node, const char *name, size_t max,
		       const uint8_t **out, size_t *count)
{
	size_t len, n;
	const uint8_t *p = state_get_var(fdt, node, name, &len);

	if (!p)
		return -EINVAL;
	if (len % 2)
		return state_fail("uart/%s: %zu bytes is not a list of 16-bit entries", name, len);
	n = len / 2;
	if (n > max)
		return state_fail("uart/%s: %zu entries, the UART holds at most %zu", name, n, max);
	/* A break is queued as a NUL with the break flag (uart_send_break()), nothing else. */
	for (size_t i = 0; i < n; i++)
		if (entry_at(p, i) > 0xff && entry_at(p, i) != RX_BREAK)
			return state_fail("uart/%s: entry %zu is %#x", name, i, entry_at(p, i));
	*out = p;
	*count = n;
	return 0;
}

static int uart_read_image(const void *fdt, int node, struct uart_image *img)
{
	unsigned int i;
	int ret;

	for (i = 0; i < NR_UART_PROPS; i++) {
		uint32_t *v = image_field(img, i);

		ret = state_get_u32(fdt, node, uart_props[i].name, v);
		if (ret)
			return ret;
		if (*v > uart_props[i].max)
			return state_fail("uart/%s: %#x out of range (at most %#x)",
					  uart_props[i].name, *v, uart_props[i].max);
	}
	/* FCR bits 7:6 select one of four levels (datasheet, FCR description). */
	if (img->rx_trigger != 1 && img->rx_trigger != 4 && img->rx_trigger != 8 &&
	    img->rx_trigger != 14)
		return state_fail("uart/rx-trigger: %u is not 1, 4, 8 or 14", img->rx_trigger);
	/*
	 * MSR bits 7:4 follow MCR at every MCR write (uart_update_msr()), so
	 * any other status is one this UART could not show.
	 */
	if ((img->msr & ~MSR_DELTAS) != uart_modem_lines(img->mcr))
		return state_fail("uart/msr: %#x does not match mcr %#x", img->msr, img->mcr);
	/* Without FIFOs the receiver holds a single character (RBR). */
	ret = get_entries(fdt, node, "rx-fifo", img->fifo_on ? FIFO_SIZE : 1, &img->fifo,
			  &img->fifo_count);
	if (ret)
		return ret;
	return get_entries(fdt, node, "rx-input", UART_RX_BUF_SIZE, &img->input,
			   &img->input_count);
}

int uart_restore(struct uart *uart, const void *fdt, int node)
{
	struct uart_image img;
	size_t i;
	int ret;

	/* Everything is checked before anything changes: a bad blob leaves the UART alone. */
	ret = uart_read_image(fdt, node, &img);
	if (ret)
		return ret;

	pthread_mutex_lock(&uart->lock);
	uart->ier = img.ier;
	uart->lcr = img.lcr;
	uart->mcr = img.mcr;
	uart->scr = img.scr;
	uart->msr = img.msr;
	uart->dll = img.dll;
	uart->dlm = img.dlm;
	uart->last_rx = img.last_rx;
	uart->fifo_on = img.fifo_on;
	uart->rx_trigger = img.rx_trigger;
	uart->overrun = img.overrun;
	uart->thre_pending = img.thre_pending;
	uart->fifo_head = 0;
	uart->fifo_count = img.fifo_count;
	for (i = 0; i < img.fifo_count; i++)
		uart->fifo[i] = entry_at(img.fifo, i);
	uart->ring_head = 0;
	uart->ring_count = img.input_count;
	for (i = 0; i < img.input_count; i++)
		uart->ring[i] = entry_at(img.input, i);
	/* A source never leaves input behind a FIFO with room; a hand-made blob might. */
	uart_refill(uart);
	/*
	 * Drive the line whatever level this device last set: the line's
	 * other end (the destination's irqchip) knows nothing of it yet.
	 */
	uart->irq_level = -1;
	uart_update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
	return 0;
}
