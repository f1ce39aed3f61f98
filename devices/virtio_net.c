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
	/* 5.1.3.1: MQ needs the control queue that switches pairs. */
	if (n->max_pairs > 1)
		f |= BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ);

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
	if (has(f, VIRTIO_NET_F_MQ) && !has(f, VIRTIO_NET_F_CTRL_VQ))
		return -EINVAL;
	pthread_mutex_lock(&n->lock);
	if (!n->running) {
		n->features = f;
		ret = 0;
	}
	pthread_mutex_unlock(&n->lock);
	return ret;
}

static void net_config_read(void *dev, uint32_t off, uint8_t *buf, uint32_t len)
{
	struct virtio_net *n = dev;
	uint8_t cfg[VIRTIO_NET_CONFIG_SIZE];
	uint16_t status = VIRTIO_NET_S_LINK_UP, pairs = n->max_pairs, mtu = VIRTIO_NET_MTU;

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

static void stop_locked(struct virtio_net *n)
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
	n->rx_len = 0;
	n->rx_waiting = false;
	n->tx_more = false;
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
static int start_rings(struct virtio_net *n, const struct virtio_queue_info *q, unsigned int nq)
{
	bool mq = has(n->features, VIRTIO_NET_F_MQ);
	unsigned int ndata = mq ? 2 * n->max_pairs : 2;
	struct net_backend_rings rings = {
		.mem = n->mem,
		.features = n->features,
		.offloads = virtio_net_offloads(n->features),
		.q = q,
		.nq = ndata,
		.pairs = 1,
		.ring_error = backend_ring_error,
		.ring_error_opaque = n,
	};
	int ret;

	if (nq < ndata)
		return -EINVAL;
	n->ctrl_qi.enabled = false;
	if (has(n->features, VIRTIO_NET_F_CTRL_VQ) && ndata < nq && q[ndata].enabled) {
		n->ctrl_qi = q[ndata];
		if (virtq_init(&n->ctrlq, n->mem, &n->ctrl_qi, n->features))
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

static int net_start(void *dev, const struct virtio_queue_info *q, unsigned int nq)
{
	struct virtio_net *n = dev;
	int ret;

	pthread_mutex_lock(&n->lock);
	stop_locked(n);
	ret = -EINVAL;
	if (nq < 2 || !q[VIRTIO_NET_RXQ].enabled || !q[VIRTIO_NET_TXQ].enabled)
		goto out;
	if (n->be->ops->mode == NET_BACKEND_RINGS) {
		ret = start_rings(n, q, nq);
		goto out;
	}
	memcpy(n->qi, q, sizeof(n->qi));
	if (virtq_init(&n->rxq, n->mem, &q[VIRTIO_NET_RXQ], n->features) ||
	    virtq_init(&n->txq, n->mem, &q[VIRTIO_NET_TXQ], n->features))
		goto out;
	ret = n->be->ops->set_offloads(n->be, virtio_net_offloads(n->features));
	if (ret)
		goto out;
	ret = -pthread_create(&n->thread, NULL, virtio_net_thread, n);
	if (ret)
		goto out;
	n->thread_started = true;
	n->running = true;
out:
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
}
