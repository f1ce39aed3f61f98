// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "devices/uart.h"
#include "exitcode.h"
#include "log.h"
#include "loop.h"
#include "vm.h"

#define CTRL_A 0x01

struct console {
	enum console_kind kind;
	int out_fd;
	int in_fd;		/* -1 when there is no input */
	bool tty;		/* in_fd is a terminal we put into raw mode */
	struct termios saved;
	bool escape;		/* the previous input byte was Ctrl-A */
	bool in_paused;		/* UART full: not polling in_fd */
	int room_efd;		/* the UART signals here when it has room again */
	struct uart *uart;
	struct vm *vm;
	struct event_loop *loop;
};

/* The terminal must come back even when kvmini dies in setup. */
static struct console *tty_owner;

void console_restore_terminal(void)
{
	if (tty_owner && tty_owner->tty) {
		tcsetattr(tty_owner->in_fd, TCSAFLUSH, &tty_owner->saved);
		tty_owner->tty = false;
		log_crlf = false;
	}
}

struct console *console_open(const struct vm_config *cfg, char *err, size_t errlen)
{
	struct console *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->kind = cfg->console;
	c->in_fd = -1;
	c->out_fd = -1;
	c->room_efd = -1;
	switch (cfg->console) {
	case CONSOLE_NONE:
		break;
	case CONSOLE_FILE:
		c->out_fd = open(cfg->console_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0) {
			snprintf(err, errlen, "--console: cannot open '%s': %s", cfg->console_path,
				 strerror(errno));
			free(c);
			return NULL;
		}
		break;
	case CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &c->saved) == 0) {
			struct termios raw = c->saved;

			/* Every key goes to the guest, Ctrl-C included; Ctrl-A x quits. */
			cfmakeraw(&raw);
			if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0) {
				c->tty = true;
				tty_owner = c;
				log_crlf = true;
				atexit(console_restore_terminal);
			}
		}
		break;
	}
	return c;
}

void console_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;

	while (c->out_fd >= 0 && len) {
		ssize_t n = write(c->out_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The reader went away (a closed pipe): drop output, keep the guest. */
			pr_warn_once("console output: %s", n < 0 ? strerror(errno) : "short write");
			return;
		}
		buf += n;
		len -= n;
	}
}

static void say(struct console *c, const char *s)
{
	if (c->out_fd >= 0 && write(c->out_fd, s, strlen(s)) < 0)
		return;
}

/* Returns true when the byte is consumed by the escape handling. */
static bool handle_escape(struct console *c, uint8_t b)
{
	if (!c->escape) {
		if (b == CTRL_A) {
			c->escape = true;
			return true;
		}
		return false;
	}
	c->escape = false;
	switch (b) {
	case 'x':
	case 'X':
		say(c, "\r\nkvmini: terminated by Ctrl-A x\r\n");
		vm_request_exit(c->vm, EXIT_USER_QUIT);
		return true;
	case 'h':
	case 'H':
	case '?':
		say(c, "\r\nC-a x    quit kvmini\r\nC-a b    send a break (magic SysRq)\r\n"
		       "C-a C-a  send C-a\r\nC-a h    this help\r\n");
		return true;
	case 'b':
	case 'B':
		uart_send_break(c->uart);
		return true;
	case CTRL_A:
		return false;	/* a literal Ctrl-A */
	default:
		return true;
	}
}

static void pause_input(struct console *c, bool pause)
{
	if (c->in_paused == pause)
		return;
	c->in_paused = pause;
	loop_mod(c->loop, c->in_fd, pause ? 0 : EPOLLIN);
}

static void console_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[256], out[256];
	size_t room = uart_rx_space(c->uart), n_out = 0, taken;
	ssize_t n, i;

	if (!room) {
		pause_input(c, true);
		return;
	}
	n = read(c->in_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* End of input (a closed pipe, /dev/null): the guest keeps running. */
		loop_del(c->loop, c->in_fd);
		c->in_fd = -1;
		return;
	}
	for (i = 0; i < n; i++)
		if (!handle_escape(c, buf[i]))
			out[n_out++] = buf[i];
	taken = uart_receive(c->uart, out, n_out);
	if (taken < n_out)
		pr_warn_once("console: guest input buffer full, %zu bytes dropped",
			     n_out - taken);
}

static void uart_room(void *opaque)
{
	struct console *c = opaque;
	uint64_t one = 1;

	if (write(c->room_efd, &one, sizeof(one)) < 0)
		return;
}

static void console_room(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t v;

	if (read(c->room_efd, &v, sizeof(v)) < 0)
		return;
	if (c->in_fd >= 0)
		pause_input(c, false);
}

int console_attach(struct console *c, struct vm *vm, struct uart *uart, struct event_loop *loop)
{
	int ret;

	c->vm = vm;
	c->uart = uart;
	c->loop = loop;
	if (c->in_fd < 0)
		return 0;
	c->room_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->room_efd < 0)
		return -errno;
	ret = loop_add(loop, c->room_efd, EPOLLIN, console_room, c);
	if (ret)
		return ret;
	uart_set_rx_notify(uart, uart_room, c);
	ret = loop_add(loop, c->in_fd, EPOLLIN, console_input, c);
	if (ret == -EPERM) {
		/* A regular file on stdin cannot be polled: it has no input to wait for. */
		c->in_fd = -1;
		return 0;
	}
	return ret;
}

void console_close(struct console *c)
{
	if (!c)
		return;
	if (tty_owner == c) {
		console_restore_terminal();
		tty_owner = NULL;
	}
	if (c->kind == CONSOLE_FILE && c->out_fd >= 0)
		close(c->out_fd);
	if (c->room_efd >= 0)
		close(c->room_efd);
	free(c);
}
