// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net control plane: features, configuration space, and starting
 * and stopping the data path (virtio_net_io.c) at DRIVER_OK and reset.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"
#include "virtio_net_priv.h"

#define BIT(n) (1ULL << (n))

/* Ring and transport bits: a rings backend's data path must implement them too. */
static const uint64_t ring_features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_INDIRECT_DESC) |
				      BIT(VIRTIO_F_EVENT_IDX) | BIT(VIRTIO_NET_F_MRG_RXBUF);
/* Device bits kvmini implements whatever the backend. */
static const uint64_t device_features = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
					BIT(VIRTIO_NET_F_MTU);

/* 5.1.2: receiveqN = 2(N-1), transmitqN = 2(N-1)+1, controlq = 2N (N = 1 without MQ). */
static unsigned int net_num_queues(void *dev)
{
	struct virtio_net *n = dev;

	return n->max_pairs > 1 ? 2 * n->max_pairs + 1 : 2;
}

static uint16_t net_queue_max_size(void *dev, unsigned int q)
{
	return VIRTIO_NET_QUEUE_SIZE;
}

static uint64_t net_get_features(void *dev)
{
	struct virtio_net *n = dev;
	uint64_t f = device_features | ring_features;
	uint32_t c = n->caps;

	if (n->be->ops->ring_features)
		f &= n->be->ops->ring_features(n->be) | device_features;
	/*
	 * 5.1.3.1: MQ needs the control queue that switches pairs; with it,
	 * the guest can also be asked to announce itself after a migration.
	 */
	if (n->max_pairs > 1)
		f |= BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ) |
		     BIT(VIRTIO_NET_F_GUEST_ANNOUNCE);

	/* Offloads only travel in the vnet header: a bare-frame backend gets none. */
	if (!(c & NET_CAP_VNET_HDR))
		return f;
	if (c & NET_CAP_CSUM) {
		f |= BIT(VIRTIO_NET_F_CSUM);
		if (c & NET_CAP_TSO4)
			f |= BIT(VIRTIO_NET_F_HOST_TSO4);
		if (c & NET_CAP_TSO6)
			f |= BIT(VIRTIO_NET_F_HOST_TSO6);
		if (c & NET_CAP_ECN && c & (NET_CAP_TSO4 | NET_CAP_TSO6))
			f |= BIT(VIRTIO_NET_F_HOST_ECN);
	}
	if (c & NET_CAP_GUEST_CSUM) {
		f |= BIT(VIRTIO_NET_F_GUEST_CSUM);
		if (c & NET_CAP_GUEST_TSO4)
			f |= BIT(VIRTIO_NET_F_GUEST_TSO4);
		if (c & NET_CAP_GUEST_TSO6)
			f |= BIT(VIRTIO_NET_F_GUEST_TSO6);
		if (c & NET_CAP_GUEST_ECN && c & (NET_CAP_GUEST_TSO4 | NET_CAP_GUEST_TSO6))
			f |= BIT(VIRTIO_NET_F_GUEST_ECN);
	}
	return f;
}

static bool has(uint64_t f, int bit)
{
	return f & BIT(bit);
}

static int net_set_features(void *dev, uint64_t f)
{
	struct virtio_net *n = dev;
	int ret = -EINVAL;

	if (f & ~net_get_features(dev))
		return -EINVAL;
	/* Modern only: the legacy header layout is not implemented. */
	if (!has(f, VIRTIO_F_VERSION_1))
		return -EINVAL;
	/* 5.1.3.1: each offload needs the checksum feature of its direction. */
	if ((has(f, VIRTIO_NET_F_GUEST_TSO4) || has(f, VIRTIO_NET_F_GUEST_TSO6)) &&
	    !has(f, VIRTIO_NET_F_GUEST_CSUM))
		return -EINVAL;
	if ((has(f, VIRTIO_NET_F_HOST_TSO4) || has(f, VIRTIO_NET_F_HOST_TSO6)) &&
	    !has(f, VIRTIO_NET_F_CSUM))
		return -EINVAL;
	if (has(f, VIRTIO_NET_F_GUEST_ECN) &&
	    !(has(f, VIRTIO_NET_F_GUEST_TSO4) || has(f, VIRTIO_NET_F_GUEST_TSO6)))
		return -EINVAL;
	if (has(f, VIRTIO_NET_F_HOST_ECN) &&
	    !(has(f, VIRTIO_NET_F_HOST_TSO4) || has(f, VIRTIO_NET_F_HOST_TSO6)))
		return -EINVAL;
	if ((has(f, VIRTIO_NET_F_MQ) || has(f, VIRTIO_NET_F_GUEST_ANNOUNCE)) &&
	    !has(f, VIRTIO_NET_F_CTRL_VQ))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	if (!n->running) {
		/* Atomic: virtio_net_link_lost() reads it from other threads. */
		__atomic_store_n(&n->features, f, __ATOMIC_RELEASE);
		ret = 0;
	}
	pthread_mutex_unlock(&n->lock);
	return ret;
}

static void net_config_read(void *dev, uint32_t off, uint8_t *buf, uint32_t len)
{
	struct virtio_net *n = dev;
	uint8_t cfg[VIRTIO_NET_CONFIG_SIZE];
	uint16_t status = __atomic_load_n(&n->link_status, __ATOMIC_ACQUIRE);
	uint16_t pairs = n->max_pairs, mtu = VIRTIO_NET_MTU;

	memcpy(cfg, n->mac, 6);
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(cfg + 10, &mtu, 2);
	if (off >= sizeof(cfg) || len > sizeof(cfg) - off) {
		memset(buf, 0, len);
		return;
	}
	memcpy(buf, cfg + off, len);
}

static void net_config_write(void *dev, uint32_t off, const uint8_t *buf, uint32_t len)
{
	/* 5.1.4.2: with VERSION_1 the driver must not write the MAC; nothing else is writable. */
	pr_warn_once("virtio-net: guest wrote read-only configuration (offset %u)", off);
}

uint32_t virtio_net_offloads(uint64_t f)
{
	uint32_t o = 0;

	if (has(f, VIRTIO_NET_F_GUEST_CSUM))
		o |= NET_OFFLOAD_CSUM;
	if (has(f, VIRTIO_NET_F_GUEST_TSO4))
		o |= NET_OFFLOAD_TSO4;
	if (has(f, VIRTIO_NET_F_GUEST_TSO6))
		o |= NET_OFFLOAD_TSO6;
	if (has(f, VIRTIO_NET_F_GUEST_ECN))
		o |= NET_OFFLOAD_ECN;
	return o;
}

/*
 * Stop the data path but keep its position: the virtqs stay as they are
 * (the NIC thread flushes what it pushed before it polls again) and a rings
 * backend reports its last_avail.
 */
static void halt_locked(struct virtio_net *n)
{
	uint64_t v;

	if (!n->running)
		return;
	if (n->thread_started) {
		v = 1;
		if (write(n->stop_fd, &v, sizeof(v)) < 0)
			pr_err("virtio-net: cannot wake the NIC thread: %m");
		pthread_join(n->thread, NULL);
		/* Re-arm for the next start. */
		if (read(n->stop_fd, &v, sizeof(v)) < 0)
			v = 0;
		n->thread_started = false;
	}
	/* After the control queue thread: set_queue_pairs() never races stop_rings(). */
	if (n->be->ops->mode == NET_BACKEND_RINGS)
		n->be->ops->stop_rings(n->be, n->last_avail, 2 * n->max_pairs);
	n->running = false;
}

static void clear_pos(struct virtio_net *n)
{
	unsigned int i;

	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		n->pos[i] = (struct virtq_pos){.notify_enabled = true};
	memset(n->last_avail, 0, sizeof(n->last_avail));
}

static void stop_locked(struct virtio_net *n)
{
	halt_locked(n);
	n->rx_len = 0;
	n->rx_waiting = false;
	n->tx_more = false;
	n->cur_pairs = 1;
	/* An announce request belongs to the driver that was asked (5.1.6.5.4). */
	__atomic_and_fetch(&n->link_status, (uint16_t)~VIRTIO_NET_S_ANNOUNCE, __ATOMIC_ACQ_REL);
	clear_pos(n);
}

/* Continue vq where the last pause (or a restore) left queue i. */
static int resume_vq(struct virtio_net *n, struct virtq *vq, unsigned int i,
		     const uint16_t *last_avail)
{
	struct virtq_pos pos = n->pos[i];

	pos.last_avail = last_avail[i];
	return virtq_set_pos(vq, &pos);
}

static void backend_ring_error(void *opaque, const char *why)
{
	struct virtio_net *n = opaque;

	if (n->transport.device_error)
		n->transport.device_error(n->transport.transport, why);
}

/*
 * A rings backend gets the data queues (all pairs with MQ, else pair 0),
 * starting with one pair in use (5.1.6.5.5: until VQ_PAIRS_SET, only
 * receiveq1 and transmitq1); the control queue stays here, polled by a
 * thread of ours, so its kick_fd is never handed to the backend.
 */
static int start_rings(struct virtio_net *n, const struct virtio_queue_info *q, unsigned int nq,
		       const uint16_t *last_avail)
{
	bool mq = has(n->features, VIRTIO_NET_F_MQ);
	unsigned int ndata = mq ? 2 * n->max_pairs : 2;
	struct net_backend_rings rings = {
		.mem = n->mem,
		.features = n->features,
		.offloads = virtio_net_offloads(n->features),
		.q = q,
		.nq = ndata,
		.pairs = last_avail ? n->cur_pairs : 1,
		.last_avail = last_avail,
		.ring_error = backend_ring_error,
		.ring_error_opaque = n,
	};
	int ret;

	if (nq < ndata || (last_avail && (!n->cur_pairs || n->cur_pairs > ndata / 2)))
		return -EINVAL;
	n->ctrl_qi.enabled = false;
	n->ctrl_index = ndata;
	if (has(n->features, VIRTIO_NET_F_CTRL_VQ) && ndata < nq && q[ndata].enabled) {
		n->ctrl_qi = q[ndata];
		if (virtq_init(&n->ctrlq, n->mem, &n->ctrl_qi, n->features))
			return -EINVAL;
		if (last_avail && resume_vq(n, &n->ctrlq, ndata, last_avail))
			return -EINVAL;
	}
	ret = n->be->ops->start_rings(n->be, &rings);
	if (ret)
		return ret;
	if (n->ctrl_qi.enabled) {
		ret = -pthread_create(&n->thread, NULL, virtio_net_ctrl_thread, n);
		if (ret) {
			n->be->ops->stop_rings(n->be, n->last_avail, ndata);
			return ret;
		}
		n->thread_started = true;
	}
	n->running = true;
	return 0;
}

/* The NIC thread on pair 0; last_avail: where to resume, NULL for fresh rings. */
static int start_frames(struct virtio_net *n, const struct virtio_queue_info *q,
			const uint16_t *last_avail)
{
	int ret;

	memcpy(n->qi, q, sizeof(n->qi));
	if (virtq_init(&n->rxq, n->mem, &q[VIRTIO_NET_RXQ], n->features) ||
	    virtq_init(&n->txq, n->mem, &q[VIRTIO_NET_TXQ], n->features))
		return -EINVAL;
	if (last_avail) {
		if (resume_vq(n, &n->rxq, VIRTIO_NET_RXQ, last_avail) ||
		    resume_vq(n, &n->txq, VIRTIO_NET_TXQ, last_avail))
			return -EINVAL;
		/*
		 * Look at both rings once: kicks may have been consumed before
		 * the pause (or on the source), and a TX round cut by its budget
		 * left kicks off.
		 */
		n->tx_more = true;
		n->rx_waiting = false;
	}
	ret = n->be->ops->set_offloads(n->be, virtio_net_offloads(n->features));
	/* A driver reload after the tap went: the device starts, with its link down. */
	if (ret && !virtio_net_link_is_lost(n) && !virtio_net_backend_gone(n, "TUNSETOFFLOAD", ret))
		return ret;
	ret = -pthread_create(&n->thread, NULL, virtio_net_thread, n);
	if (ret)
		return ret;
	n->thread_started = true;
	n->running = true;
	return 0;
}

static int start_locked(struct virtio_net *n, const struct virtio_queue_info *q, unsigned int nq,
			const uint16_t *last_avail)
{
	if (nq < 2 || !q[VIRTIO_NET_RXQ].enabled || !q[VIRTIO_NET_TXQ].enabled)
		return -EINVAL;
	if (n->be->ops->mode == NET_BACKEND_RINGS)
		return start_rings(n, q, nq, last_avail);
	return start_frames(n, q, last_avail);
}

static int net_start(void *dev, const struct virtio_queue_info *q, unsigned int nq)
{
	struct virtio_net *n = dev;
	int ret;

	pthread_mutex_lock(&n->lock);
	stop_locked(n);
	ret = start_locked(n, q, nq, NULL);
	pthread_mutex_unlock(&n->lock);
	return ret;
}

static int net_pause(void *dev, uint16_t *last_avail, unsigned int nq)
{
	struct virtio_net *n = dev;
	unsigned int i;

	pthread_mutex_lock(&n->lock);
	if (n->running) {
		halt_locked(n);
		if (n->be->ops->mode == NET_BACKEND_FRAMES) {
			virtq_get_pos(&n->rxq, &n->pos[VIRTIO_NET_RXQ]);
			virtq_get_pos(&n->txq, &n->pos[VIRTIO_NET_TXQ]);
			n->last_avail[VIRTIO_NET_RXQ] = n->pos[VIRTIO_NET_RXQ].last_avail;
			n->last_avail[VIRTIO_NET_TXQ] = n->pos[VIRTIO_NET_TXQ].last_avail;
		} else if (n->ctrl_qi.enabled && n->ctrl_index < VIRTIO_MAX_QUEUES) {
			/* stop_rings() filled in the data queues. */
			virtq_get_pos(&n->ctrlq, &n->pos[n->ctrl_index]);
			n->last_avail[n->ctrl_index] = n->pos[n->ctrl_index].last_avail;
		}
	}
	for (i = 0; i < nq && i < VIRTIO_MAX_QUEUES; i++)
		last_avail[i] = n->last_avail[i];
	pthread_mutex_unlock(&n->lock);
	return 0;
}

static int net_resume(void *dev, const struct virtio_queue_info *q, unsigned int nq,
		      const uint16_t *last_avail)
{
	struct virtio_net *n = dev;
	int ret;

	pthread_mutex_lock(&n->lock);
	halt_locked(n);
	ret = start_locked(n, q, nq, last_avail);
	pthread_mutex_unlock(&n->lock);
	return ret;
}

static void net_stop(void *dev)
{
	struct virtio_net *n = dev;

	pthread_mutex_lock(&n->lock);
	stop_locked(n);
	pthread_mutex_unlock(&n->lock);
}

const struct virtio_dev_ops virtio_net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.config_size = VIRTIO_NET_CONFIG_SIZE,
	.num_queues = net_num_queues,
	.queue_max_size = net_queue_max_size,
	.get_features = net_get_features,
	.set_features = net_set_features,
	.config_read = net_config_read,
	.config_write = net_config_write,
	.start = net_start,
	.stop = net_stop,
	.pause = net_pause,
	.resume = net_resume,
	.save = virtio_net_save,
	.restore = virtio_net_restore,
};

struct virtio_net *virtio_net_create(const struct guest_memory *mem, struct net_backend *be,
				     const uint8_t mac[6])
{
	struct virtio_net *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->mem = mem;
	n->be = be;
	memcpy(n->mac, mac, 6);
	n->link_status = VIRTIO_NET_S_LINK_UP;
	n->cur_pairs = 1;
	clear_pos(n);
	n->caps = be->ops->caps ? be->ops->caps(be) : 0;
	/* Only a rings backend serves pairs beyond the first (the NIC thread runs one). */
	n->max_pairs = 1;
	if (be->ops->mode == NET_BACKEND_RINGS && be->ops->max_queue_pairs &&
	    be->ops->set_queue_pairs)
		n->max_pairs = be->ops->max_queue_pairs(be);
	if (!n->max_pairs || 2 * n->max_pairs + 1 > VIRTIO_MAX_QUEUES)
		n->max_pairs = 1;
	n->ctrl_chain = malloc(sizeof(*n->ctrl_chain));
	n->stop_fd = eventfd(0, EFD_CLOEXEC);
	n->rx_first = malloc(sizeof(*n->rx_first));
	n->rx_chain = malloc(sizeof(*n->rx_chain));
	n->tx_chain = malloc(sizeof(*n->tx_chain));
	n->iov = calloc(VIRTQ_MAX_CHAIN, sizeof(*n->iov));
	n->rx_heads = calloc(VIRTQ_MAX_SIZE, sizeof(*n->rx_heads));
	n->rx_lens = calloc(VIRTQ_MAX_SIZE, sizeof(*n->rx_lens));
	n->rxbuf = malloc(NET_MAX_FRAME + NET_VNET_HDR_LEN);
	pthread_mutex_init(&n->lock, NULL);
	if (n->stop_fd < 0 || !n->ctrl_chain || !n->rx_first || !n->rx_chain || !n->tx_chain ||
	    !n->iov || !n->rx_heads || !n->rx_lens || !n->rxbuf) {
		n->be = NULL; /* the caller still owns it on failure */
		virtio_net_destroy(n);
		return NULL;
	}
	return n;
}

void virtio_net_set_transport(struct virtio_net *n, const struct virtio_transport *t)
{
	n->transport = *t;
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	if (n->be)
		net_stop(n);
	net_backend_destroy(n->be);
	if (n->stop_fd >= 0)
		close(n->stop_fd);
	pthread_mutex_destroy(&n->lock);
	free(n->ctrl_chain);
	free(n->rx_first);
	free(n->rx_chain);
	free(n->tx_chain);
	free(n->iov);
	free(n->rx_heads);
	free(n->rx_lens);
	free(n->rxbuf);
	free(n);
}

void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *out)
{
	const uint64_t *src = (const uint64_t *)&n->stats;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	for (i = 0; i < offsetof(struct virtio_net_stats, vhost) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	out->vhost = n->be && n->be->ops->mode == NET_BACKEND_RINGS;
	out->link_lost = virtio_net_link_is_lost(n);
}
