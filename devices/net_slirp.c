// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/log.h"
#include "net_backend.h"
#include "net_config.h"
#include "net_slirp.h"

/* Frames slirp produced while the guest had no buffers; older ones wait, newer drop. */
#define RXQ_LEN 128
#define SLIRP_MTU 1500
#define SLOT_SIZE 2048

struct slirp_timer {
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
	struct slirp_timer *next;
};

struct net_slirp {
	struct net_backend be;
	Slirp *slirp;
	struct slirp_timer *timers;
	struct net_pollset *ps; /* the set being filled or dispatched */
	uint8_t *rxq[RXQ_LEN];
	uint16_t rxq_len[RXQ_LEN];
	unsigned int rxq_head, rxq_count;
	uint64_t rx_dropped;
	uint8_t txbuf[NET_MAX_FRAME];
};

static struct net_slirp *to_slirp(struct net_backend *be)
{
	return (struct net_slirp *)be;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;
	unsigned int slot;

	/* slirp retransmits what it loses (TCP); dropping here is its documented contract. */
	if (len > SLOT_SIZE || s->rxq_count == RXQ_LEN) {
		s->rx_dropped++;
		return len;
	}
	slot = (s->rxq_head + s->rxq_count) % RXQ_LEN;
	memcpy(s->rxq[slot], buf, len);
	s->rxq_len[slot] = len;
	s->rxq_count++;
	return len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	pr_warn_once("slirp: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	return now_ns();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_slirp *s = opaque;
	struct slirp_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = s->timers;
	s->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct net_slirp *s = opaque;
	struct slirp_timer **p;

	for (p = &s->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = ((struct slirp_timer *)timer)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
	/* expire_time is in ms on the clock_get_ns clock. */
	((struct slirp_timer *)timer)->expire_ms = expire_time;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	/* The poll set is rebuilt before every poll(): nothing to keep. */
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
	/* Only ever called on the thread that polls, which refills before it sleeps. */
}

static const SlirpCb slirp_cbs = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

static void slirp_destroy(struct net_backend *be)
{
	struct net_slirp *s = to_slirp(be);
	unsigned int i;

	if (s->slirp)
		slirp_cleanup(s->slirp); /* frees its timers through cb_timer_free */
	while (s->timers)
		cb_timer_free(s->timers, s);
	for (i = 0; i < RXQ_LEN; i++)
		free(s->rxq[i]);
	free(s);
}

static uint32_t slirp_caps(struct net_backend *be)
{
	return 0;
}

static int slirp_set_offloads(struct net_backend *be, uint32_t offloads)
{
	return offloads ? -EINVAL : 0;
}

static int slirp_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct net_slirp *s = to_slirp(be);
	size_t len = 0;
	int i;

	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > sizeof(s->txbuf) - len)
			return -EMSGSIZE;
		memcpy(s->txbuf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	slirp_input(s->slirp, s->txbuf, len);
	return 0;
}

/*
 * Nothing to announce to: no switch sits behind slirp, and its
 * slirp_input() passes on only ARP, IPv4 and IPv6 (a RARP is dropped).
 * Having the op keeps virtio_net_announce() from calling send() beside
 * the NIC thread, which libslirp (single-threaded) must never see.
 */
static int slirp_announce(struct net_backend *be, const void *frame, size_t len)
{
	return 0;
}

static ssize_t slirp_recv(struct net_backend *be, void *buf, size_t len)
{
	struct net_slirp *s = to_slirp(be);
	unsigned int slot = s->rxq_head;
	size_t n;

	if (!s->rxq_count)
		return -EAGAIN;
	n = s->rxq_len[slot];
	if (n > len)
		n = len;
	memcpy(buf, s->rxq[slot], n);
	s->rxq_head = (slot + 1) % RXQ_LEN;
	s->rxq_count--;
	return n;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	short ev = 0;

	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	/* slirp takes a negative index as "not polled"; -ENOMEM is one. */
	return net_pollset_add(s->ps, fd, ev);
}

static int cb_get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;
	short rev;
	int ev = 0;

	if (idx < 0 || (unsigned int)idx >= s->ps->n)
		return 0;
	rev = s->ps->fds[idx].revents;
	if (rev & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (rev & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (rev & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (rev & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (rev & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static int slirp_poll_prepare(struct net_backend *be, struct net_pollset *ps, bool want_rx)
{
	struct net_slirp *s = to_slirp(be);
	uint32_t timeout = ps->timeout_ms < 0 ? UINT32_MAX : (uint32_t)ps->timeout_ms;
	int64_t now_ms = now_ns() / 1000000;
	struct slirp_timer *t;

	s->ps = ps;
	slirp_pollfds_fill(s->slirp, &timeout, cb_add_poll, s);
	for (t = s->timers; t; t = t->next) {
		if (t->expire_ms < 0)
			continue;
		if (t->expire_ms <= now_ms)
			timeout = 0;
		else if ((uint64_t)(t->expire_ms - now_ms) < timeout)
			timeout = t->expire_ms - now_ms;
	}
	/* Frames already queued for a guest that has buffers: do not sleep. */
	if (want_rx && s->rxq_count)
		timeout = 0;
	ps->timeout_ms = timeout > INT32_MAX ? -1 : (int)timeout;
	return 0;
}

static void slirp_poll_dispatch(struct net_backend *be, const struct net_pollset *ps)
{
	struct net_slirp *s = to_slirp(be);
	int64_t now_ms = now_ns() / 1000000;
	struct slirp_timer *t;
	bool fired;

	s->ps = (struct net_pollset *)ps;
	slirp_pollfds_poll(s->slirp, 0, cb_get_revents, s);
	s->ps = NULL;
	/* A handler may re-arm or free timers: restart the scan after each firing. */
	do {
		fired = false;
		for (t = s->timers; t; t = t->next) {
			if (t->expire_ms >= 0 && t->expire_ms <= now_ms) {
				t->expire_ms = -1;
				slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
				fired = true;
				break;
			}
		}
	} while (fired);
}

static const struct net_backend_ops slirp_ops = {
	.name = "user",
	.mode = NET_BACKEND_FRAMES,
	.destroy = slirp_destroy,
	.caps = slirp_caps,
	.set_offloads = slirp_set_offloads,
	.send = slirp_send,
	.recv = slirp_recv,
	.poll_prepare = slirp_poll_prepare,
	.poll_dispatch = slirp_poll_dispatch,
	.announce = slirp_announce,
};

static int add_hostfwds(struct net_slirp *s, const struct net_config *nc, char *err, size_t errlen)
{
	struct in_addr dhcp = {.s_addr = inet_addr("10.0.2.15")};
	unsigned int i;

	for (i = 0; i < nc->nr_hostfwd; i++) {
		const struct net_hostfwd *f = &nc->hostfwd[i];
		struct in_addr guest = f->guest_addr.s_addr ? f->guest_addr : dhcp;
		char host[INET_ADDRSTRLEN];

		if (slirp_add_hostfwd(s->slirp, f->udp, f->host_addr, f->host_port, guest,
				      f->guest_port) < 0) {
			inet_ntop(AF_INET, &f->host_addr, host, sizeof(host));
			snprintf(err, errlen,
				 "--net user: cannot forward %s %s:%u (port in use or not allowed)",
				 f->udp ? "udp" : "tcp", host, f->host_port);
			return -EADDRINUSE;
		}
	}
	return 0;
}

int net_slirp_open(const struct net_config *nc, struct net_backend **out, char *err, size_t errlen)
{
	SlirpConfig cfg = {
		.version = 4,
		.in_enabled = true,
		.vnetwork = {.s_addr = inet_addr("10.0.2.0")},
		.vnetmask = {.s_addr = inet_addr("255.255.255.0")},
		.vhost = {.s_addr = inet_addr("10.0.2.2")},
		.vhostname = "kvmini",
		.vdhcp_start = {.s_addr = inet_addr("10.0.2.15")},
		.vnameserver = {.s_addr = inet_addr("10.0.2.3")},
		.if_mtu = SLIRP_MTU,
		.if_mru = SLIRP_MTU,
	};
	struct net_slirp *s;
	unsigned int i;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->be.ops = &slirp_ops;
	for (i = 0; i < RXQ_LEN; i++) {
		s->rxq[i] = malloc(SLOT_SIZE);
		if (!s->rxq[i])
			goto nomem;
	}
	s->slirp = slirp_new(&cfg, &slirp_cbs, s);
	if (!s->slirp) {
		ret = -ENOMEM;
		snprintf(err, errlen, "--net user: libslirp failed to start");
		goto err;
	}
	ret = add_hostfwds(s, nc, err, errlen);
	if (ret)
		goto err;
	*out = &s->be;
	return 0;
nomem:
	ret = -ENOMEM;
	snprintf(err, errlen, "--net user: out of memory");
err:
	if (s)
		slirp_destroy(&s->be);
	return ret;
}
