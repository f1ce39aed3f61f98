/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's serial console on the host: stdio (raw mode when stdin is a
 * terminal, Ctrl-A escapes as in QEMU), a file, or nothing.
 */
#ifndef KVMINI_CONSOLE_H
#define KVMINI_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct console;
struct event_loop;
struct uart;
struct vm;

struct console *console_open(const struct vm_config *cfg, char *err, size_t errlen);
/* Start feeding input to the UART from the event loop. */
int console_attach(struct console *c, struct vm *vm, struct uart *uart, struct event_loop *loop);
/* UART transmit callback (any vCPU thread). opaque is the console. */
void console_output(void *opaque, const uint8_t *buf, size_t len);
/*
 * Puts the terminal on stdin back as it was, if the console made it raw.
 * Async-signal-safe (one tcsetattr(), plain stores): the SIGSYS handler
 * calls it too.
 */
void console_restore_terminal(void);
/* Restore the terminal and close files; safe to call twice. */
void console_close(struct console *c);

#endif
