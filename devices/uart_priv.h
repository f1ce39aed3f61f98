/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The 16550A's registers and struct uart, shared by uart.c (the device) and
 * uart_state.c (snapshot and migration state). Not for other users.
 */
#ifndef KVMINI_UART_PRIV_H
#define KVMINI_UART_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uart.h"

/* Register offsets; DLAB (LCR bit 7) turns 0 and 1 into the divisor latch. */
#define UART_RBR 0	/* read, DLAB 0 */
#define UART_THR 0	/* write, DLAB 0 */
#define UART_DLL 0	/* DLAB 1 */
#define UART_IER 1	/* DLAB 0 */
#define UART_DLM 1	/* DLAB 1 */
#define UART_IIR 2	/* read */
#define UART_FCR 2	/* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_ERBFI 0x01	/* received data available */
#define IER_ETBEI 0x02	/* THR empty */
#define IER_ELSI 0x04	/* receiver line status */
#define IER_EDSSI 0x08	/* modem status */
#define IER_MASK 0x0f

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_CTI 0x0c
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_TRIG_SHIFT 6

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_FIFO_ERR 0x80

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_DELTAS 0x0f

#define FIFO_SIZE 16
/* Receive FIFO and ring entries: the character, and whether it ended a break. */
#define RX_BREAK 0x100

struct uart {
	pthread_mutex_t lock;
	pthread_mutex_t tx_lock;
	struct irq_line irq;
	void (*tx)(void *opaque, const uint8_t *buf, size_t len);
	void *tx_opaque;
	void (*rx_notify)(void *opaque);
	void *rx_notify_opaque;

	uint8_t ier, lcr, mcr, scr, msr, dll, dlm;
	bool fifo_on;
	uint8_t rx_trigger;	/* bytes, from FCR bits 7:6 */
	bool overrun;		/* LSR OE, until LSR is read */
	bool thre_pending;	/* THRE interrupt latched, see uart_update_irq() */
	uint8_t last_rx;	/* what RBR reads when the FIFO is empty */
	int irq_level;

	uint16_t fifo[FIFO_SIZE];
	unsigned int fifo_head, fifo_count;

	uint16_t ring[UART_RX_BUF_SIZE];
	size_t ring_head, ring_count;
};

/* Called with uart->lock held. */
void uart_refill(struct uart *uart);
/* The modem status inputs (MSR bits 7:4) that MCR value m implies. */
uint8_t uart_modem_lines(uint8_t m);
void uart_update_irq(struct uart *uart);

#endif
