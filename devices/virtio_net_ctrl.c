// SPDX-License-Identifier: GPL-2.0
/*
 * The control queue of a rings-mode NIC (virtio 1.2, 5.1.6.5): vhost-net
 * runs the data queues, but commands are device semantics and stay in
 * kvmini. One thread per NIC polls the control queue's kick eventfd (it
 * is never given to the backend) and the stop eventfd, between start() and
 * stop().
 *
 * Implemented: VIRTIO_NET_CTRL_MQ / VQ_PAIRS_SET and VIRTIO_NET_CTRL_ANNOUNCE /
 * ACK, the classes kvmini's features make a driver use (CTRL_RX, CTRL_VLAN,
 * CTRL_MAC_ADDR, CTRL_GUEST_OFFLOADS are not offered); anything else is
 * answered VIRTIO_NET_ERR.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "virtio_net_priv.h"

/* class, command, and the largest command data we read (VQ_PAIRS_SET: le16). */
#define CTRL_HDR 2
#define CTRL_MAX_IN 64

static uint8_t mq_pairs_set(struct virtio_net *n, const uint8_t *cmd, size_t len)
{
	uint16_t pairs;
	int ret;

	if (!(n->features & (1ULL << VIRTIO_NET_F_MQ)) || len < CTRL_HDR + 2)
		return VIRTIO_NET_ERR;
	pairs = cmd[CTRL_HDR] | cmd[CTRL_HDR + 1] << 8;
	/* 5.1.6.5.5: 1 to max_virtqueue_pairs, anything else is refused. */
	if (pairs < 1 || pairs > n->max_pairs)
		return VIRTIO_NET_ERR;
	ret = n->be->ops->set_queue_pairs(n->be, pairs);
	if (ret) {
		pr_err("virtio-net: cannot switch to %u queue pairs: %s", pairs, strerror(-ret));
		return VIRTIO_NET_ERR;
	}
	/* Device state: a resume (here or after migration) starts with these pairs. */
	n->cur_pairs = pairs;
	return VIRTIO_NET_OK;
}

/* 5.1.6.5.4: the driver has announced itself; the request is done. */
static uint8_t announce_ack(struct virtio_net *n)
{
	if (!(n->features & (1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE)))
		return VIRTIO_NET_ERR;
	__atomic_and_fetch(&n->link_status, (uint16_t)~VIRTIO_NET_S_ANNOUNCE, __ATOMIC_ACQ_REL);
	return VIRTIO_NET_OK;
}

/* One command: a device-readable header and data, then a device-writable ack byte. */
static void ctrl_one(struct virtio_net *n, const struct virtq_chain *c)
{
	uint8_t cmd[CTRL_MAX_IN], ack = VIRTIO_NET_ERR;
	size_t len;

	len = virtq_chain_read(c, 0, cmd, sizeof(cmd));
	if (len >= CTRL_HDR && cmd[0] == VIRTIO_NET_CTRL_MQ &&
	    cmd[1] == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET)
		ack = mq_pairs_set(n, cmd, len);
	else if (len >= CTRL_HDR && cmd[0] == VIRTIO_NET_CTRL_ANNOUNCE &&
		 cmd[1] == VIRTIO_NET_CTRL_ANNOUNCE_ACK)
		ack = announce_ack(n);
	else if (len >= CTRL_HDR)
		pr_warn_once("virtio-net: control command class %u cmd %u not supported", cmd[0],
			     cmd[1]);
	/* The ack is the last writable byte (5.1.6.5); no writable byte: nothing to say. */
	if (c->in_bytes)
		virtq_chain_write(&n->ctrlq, c, c->in_bytes - 1, &ack, 1);
	virtq_push(&n->ctrlq, c->head, c->in_bytes ? 1 : 0);
}

static void ctrl_process(struct virtio_net *n)
{
	struct virtq *vq = &n->ctrlq;
	char msg[160];
	int r;

	do {
		virtq_disable_notify(vq);
		while ((r = virtq_pop(vq, n->ctrl_chain)) > 0)
			ctrl_one(n, n->ctrl_chain);
		if (virtq_flush(vq))
			NET_STAT_ADD(n, interrupts, 1);
		if (r < 0) {
			NET_STAT_ADD(n, ring_errors, 1);
			snprintf(msg, sizeof(msg), "virtio-net control queue: %s", virtq_error(vq));
			if (n->transport.device_error)
				n->transport.device_error(n->transport.transport, msg);
			return;
		}
	} while (virtq_enable_notify(vq));
}

void *virtio_net_ctrl_thread(void *arg)
{
	struct virtio_net *n = arg;
	struct pollfd pfd[2] = {
		{.fd = n->stop_fd, .events = POLLIN},
		{.fd = n->ctrl_qi.kick_fd, .events = POLLIN},
	};
	uint64_t v;

	seccomp_enter(SECCOMP_NET_CTRL);
	/* Commands queued before DRIVER_OK (or before we polled) are not lost. */
	ctrl_process(n);
	for (;;) {
		/* A broken queue is not touched again: its kicks are not even read. */
		pfd[1].fd = n->ctrlq.broken ? -1 : n->ctrl_qi.kick_fd;
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("virtio-net: control queue poll: %m");
			break;
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents) {
			if (read(pfd[1].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				pr_err_once("virtio-net: control queue kick: %m");
			NET_STAT_ADD(n, kicks, 1);
			ctrl_process(n);
		}
	}
	return NULL;
}
