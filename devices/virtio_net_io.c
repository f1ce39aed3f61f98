// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net data path for frames-mode backends: one thread per NIC polls
 * the stop eventfd, both queues' kick eventfds and the backend's fds, and
 * moves frames in batches (all available TX then one interrupt; RX while
 * frames and buffers last). The thread owns the rings and the backend
 * between start() and stop().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/memory.h"
#include "virtio_net_priv.h"

/* Frames per queue per wake-up: TX cannot starve RX, nor the reverse. */
#define BUDGET 256

enum { PS_STOP, PS_TXKICK, PS_RXKICK, PS_NR };

static void ring_error(struct virtio_net *n, struct virtq *vq, const char *which)
{
	char msg[128];

	NET_STAT_ADD(n, ring_errors, 1);
	snprintf(msg, sizeof(msg), "virtio-net %s queue: %s", which, virtq_error(vq));
	/* The transport logs it, rate limited, as it marks the device failed. */
	if (n->transport.device_error)
		n->transport.device_error(n->transport.transport, msg);
	else
		pr_err_ratelimited("%s", msg);
}

static void flush(struct virtio_net *n, struct virtq *vq)
{
	if (virtq_flush(vq))
		NET_STAT_ADD(n, interrupts, 1);
}

static void tx_one(struct virtio_net *n, const struct virtq_chain *c)
{
	bool with_hdr = n->caps & NET_CAP_VNET_HDR;
	size_t skip = with_hdr ? 0 : NET_VNET_HDR_LEN;
	int iovcnt, ret;

	/* 5.1.6.2: every frame starts with the header; anything shorter carries no frame. */
	if (c->out_bytes <= NET_VNET_HDR_LEN || c->out_bytes > NET_MAX_FRAME) {
		NET_STAT_ADD(n, tx_dropped, 1);
		return;
	}
	/* Link down: the frame is consumed and lost, as on a wire without a peer. */
	if (virtio_net_link_is_lost(n)) {
		NET_STAT_ADD(n, tx_dropped, 1);
		return;
	}
	iovcnt = virtq_chain_out_iov(c, skip, n->iov, VIRTQ_MAX_CHAIN);
	ret = n->be->ops->send(n->be, n->iov, iovcnt);
	if (ret) {
		virtio_net_backend_gone(n, "write", ret);
		NET_STAT_ADD(n, tx_dropped, 1);
		return;
	}
	NET_STAT_ADD(n, tx_frames, 1);
	NET_STAT_ADD(n, tx_bytes, c->out_bytes - NET_VNET_HDR_LEN);
}

static void tx_process(struct virtio_net *n)
{
	struct virtq *vq = &n->txq;
	int budget = BUDGET, r = 0;

	n->tx_more = false;
	do {
		virtq_disable_notify(vq);
		while (budget && (r = virtq_pop(vq, n->tx_chain)) > 0) {
			tx_one(n, n->tx_chain);
			/* Nothing is written into a TX chain (5.1.6.2). */
			virtq_push(vq, n->tx_chain->head, 0);
			budget--;
		}
		flush(n, vq);
		if (r < 0) {
			ring_error(n, vq, "transmit");
			return;
		}
		if (!budget) {
			/* Kicks stay off: the thread comes back without waiting for one. */
			n->tx_more = true;
			return;
		}
	} while (virtq_enable_notify(vq));
}

/* Where num_buffers goes: offset 10 of the header (5.1.6). */
#define NUM_BUFFERS_OFF 10

/*
 * Put the frame held in rxbuf into receive buffers. Returns 1 when the
 * frame is gone (delivered or dropped), 0 when the guest has too few
 * buffers now (nothing consumed), -EIO when the ring is broken.
 */
static int rx_deliver(struct virtio_net *n)
{
	struct virtq *vq = &n->rxq;
	bool mrg = n->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	uint16_t max = mrg ? vq->size : 1, used = 0, nb;
	size_t off = 0, len = n->rx_len, w;
	struct virtq_chain *c;
	int r;

	while (off < len) {
		if (used == max) {
			/* Larger than the whole ring (or one buffer without MRG_RXBUF). */
			virtq_unpop(vq, used);
			NET_STAT_ADD(n, rx_dropped, 1);
			return 1;
		}
		c = used ? n->rx_chain : n->rx_first;
		r = virtq_pop(vq, c);
		if (r < 0)
			return -EIO;
		if (!r) {
			virtq_unpop(vq, used);
			return 0;
		}
		if (!c->in_bytes || (!used && c->in_bytes < NET_VNET_HDR_LEN)) {
			return virtq_fail(vq, "receive buffer too small for the header");
		}
		w = virtq_chain_write(vq, c, 0, n->rxbuf + off, len - off);
		n->rx_heads[used] = c->head;
		n->rx_lens[used] = w;
		off += w;
		used++;
	}
	nb = used;
	virtq_chain_write(vq, n->rx_first, NUM_BUFFERS_OFF, &nb, sizeof(nb));
	for (r = 0; r < used; r++)
		virtq_push(vq, n->rx_heads[r], n->rx_lens[r]);
	NET_STAT_ADD(n, rx_frames, 1);
	NET_STAT_ADD(n, rx_bytes, len - NET_VNET_HDR_LEN);
	return 1;
}

/* Pull one frame from the backend into rxbuf, header in front. */
static int rx_fetch(struct virtio_net *n)
{
	bool with_hdr = n->caps & NET_CAP_VNET_HDR;
	size_t hdr = with_hdr ? 0 : NET_VNET_HDR_LEN;
	ssize_t r;

	r = n->be->ops->recv(n->be, n->rxbuf + hdr, NET_MAX_FRAME);
	if (r < 0)
		return r;
	if ((size_t)r > NET_MAX_FRAME)
		r = NET_MAX_FRAME;
	if (!with_hdr)
		memset(n->rxbuf, 0, NET_VNET_HDR_LEN);
	else if (r <= NET_VNET_HDR_LEN)
		return -EINVAL;
	/* 5.1.6.4.1: without GUEST_CSUM the flags must be zero. */
	if (!(n->features & (1ULL << VIRTIO_NET_F_GUEST_CSUM)))
		n->rxbuf[0] = 0;
	n->rx_len = r + hdr;
	return 0;
}

static void rx_process(struct virtio_net *n)
{
	struct virtq *vq = &n->rxq;
	int budget = BUDGET, r;

	virtq_disable_notify(vq);
	while (budget--) {
		if (!n->rx_len) {
			r = rx_fetch(n);
			if (r == -EAGAIN)
				break;
			/*
			 * A deleted tap polls readable (EPOLLERR) and fails every
			 * read: stop reading it or this thread spins.
			 */
			if (virtio_net_backend_gone(n, "read", r))
				break;
			if (r) {
				NET_STAT_ADD(n, rx_dropped, 1);
				continue;
			}
		}
		r = rx_deliver(n);
		if (r < 0) {
			flush(n, vq);
			ring_error(n, vq, "receive");
			return;
		}
		if (!r) {
			/* Out of buffers: ask for a kick, unless buffers came meanwhile. */
			if (virtq_enable_notify(vq))
				continue;
			n->rx_waiting = true;
			break;
		}
		n->rx_len = 0;
	}
	flush(n, vq);
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		return;
}

static int add_kick(struct net_pollset *ps, const struct virtio_queue_info *q, struct virtq *vq)
{
	/* A broken queue is not touched again: its kicks are not even read. */
	return net_pollset_add(ps, vq->broken ? -1 : q->kick_fd, POLLIN);
}

void *virtio_net_thread(void *arg)
{
	struct virtio_net *n = arg;
	struct net_pollset ps = {0};
	bool want_rx;
	int r;

	seccomp_enter(SECCOMP_NET_IO);
	for (;;) {
		ps.n = 0;
		ps.timeout_ms = n->tx_more ? 0 : -1;
		want_rx = !n->rx_waiting && !n->rxq.broken && !virtio_net_link_is_lost(n);
		if (net_pollset_add(&ps, n->stop_fd, POLLIN) < 0 ||
		    add_kick(&ps, &n->qi[VIRTIO_NET_TXQ], &n->txq) < 0 ||
		    add_kick(&ps, &n->qi[VIRTIO_NET_RXQ], &n->rxq) < 0 ||
		    n->be->ops->poll_prepare(n->be, &ps, want_rx) < 0) {
			pr_err("virtio-net: out of memory in the NIC thread");
			break;
		}
		r = poll(ps.fds, ps.n, ps.timeout_ms);
		if (r < 0 && errno != EINTR) {
			pr_err("virtio-net: poll: %m");
			break;
		}
		if (r < 0)
			continue;
		if (ps.fds[PS_STOP].revents)
			break;
		if (ps.fds[PS_TXKICK].revents) {
			drain(ps.fds[PS_TXKICK].fd);
			NET_STAT_ADD(n, kicks, 1);
			n->tx_more = true;
		}
		if (ps.fds[PS_RXKICK].revents) {
			drain(ps.fds[PS_RXKICK].fd);
			NET_STAT_ADD(n, kicks, 1);
			n->rx_waiting = false;
		}
		n->be->ops->poll_dispatch(n->be, &ps);
		if (n->tx_more && !n->txq.broken)
			tx_process(n);
		if (!n->rx_waiting && !n->rxq.broken && !virtio_net_link_is_lost(n))
			rx_process(n);
	}
	net_pollset_free(&ps);
	return NULL;
}
