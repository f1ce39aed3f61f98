/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A 16550A UART on the PIO bus (COM1), interrupt driven, with console input
 * buffered in front of the receive FIFO. Locking is described in uart.c.
 */
#ifndef KVMINI_UART_H
#define KVMINI_UART_H

#include <stddef.h>
#include <stdint.h>

#include "device.h"

struct bus;
struct uart;

/* Bytes of console input the UART holds beyond its 16-byte receive FIFO. */
#define UART_RX_BUF_SIZE 4096
#define UART_NR_REGS 8

/*
 * tx gets every byte the guest transmits (loopback mode excepted), possibly
 * one at a time, from a vCPU thread and never concurrently with itself.
 * Returns NULL when out of memory.
 */
struct uart *uart_create(struct irq_line irq,
			 void (*tx)(void *opaque, const uint8_t *buf, size_t len), void *tx_opaque);
void uart_destroy(struct uart *uart);

/* Claims [base, base + 8) on the PIO bus. */
int uart_register(struct uart *uart, struct bus *pio, uint16_t base);

/* Console input (I/O thread): how much uart_receive() would take now. */
size_t uart_rx_space(struct uart *uart);
/* Takes at most uart_rx_space() bytes of buf; returns how many it took. */
size_t uart_receive(struct uart *uart, const uint8_t *buf, size_t len);

/*
 * Console break (for magic SysRq): queued behind the input already taken, the
 * guest sees a NUL with LSR.BI. -EAGAIN when the input buffer is full.
 */
int uart_send_break(struct uart *uart);

/*
 * fn runs on a vCPU thread, with no UART lock held, each time the guest's
 * reads turn a full input buffer (uart_rx_space() == 0) into one with room:
 * the console can then resume reading its input.
 */
void uart_set_rx_notify(struct uart *uart, void (*fn)(void *opaque), void *opaque);

/*
 * Snapshot and migration state (vmm/state.h), taken and applied with the
 * guest paused. uart_save() adds its properties to the node the caller has
 * open; uart_restore() reads them from node, and on -EINVAL (state_error()
 * says why) leaves the UART as it was. After a restore the interrupt line is
 * driven to the level the restored registers imply.
 */
int uart_save(struct uart *uart, void *fdt);
int uart_restore(struct uart *uart, const void *fdt, int node);

#endif
