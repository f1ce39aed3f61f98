// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <time.h>

#include "vmm/log.h"
#include "vmm/memory.h"
#include "net_backend.h"
#include "virtio_net_log.h"
#include "virtio_net_priv.h"

/* QEMU's announce timer (net/announce.c): first gap 50 ms, each next one 100 ms longer. */
#define ANNOUNCE_GAP_MS 50
#define ANNOUNCE_STEP_MS 100

size_t net_rarp_build(uint8_t buf[NET_RARP_LEN], const uint8_t mac[6])
{
	uint8_t *p = buf;

	memset(buf, 0, NET_RARP_LEN);
	/* Ethernet: broadcast, from the guest's MAC, so every switch on the path learns it. */
	memset(p, 0xff, 6);
	memcpy(p + 6, mac, 6);
	p[12] = NET_ETH_P_RARP >> 8;
	p[13] = NET_ETH_P_RARP & 0xff;
	p += 14;
	/* RFC 903: ARP's format; htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4, op 3. */
	p[1] = 1;
	p[2] = 0x08;
	p[4] = 6;
	p[5] = 4;
	p[7] = 3;
	/* sha = tha = the MAC, spa = tpa = 0 (left zero): "what is my address?" */
	memcpy(p + 8, mac, 6);
	memcpy(p + 18, mac, 6);
	return NET_RARP_LEN;
}

bool net_log_covers(const struct guest_memory *mem, size_t bytes)
{
	uint64_t top = 0, pages;
	unsigned int i;

	for (i = 0; i < mem->nr_regions; i++)
		if (mem->region[i].gpa + mem->region[i].size > top)
			top = mem->region[i].gpa + mem->region[i].size;
	pages = (top + GUEST_PAGE_SIZE - 1) >> GUEST_PAGE_SHIFT;
	return bytes >= (pages + 7) / 8;
}

int virtio_net_log_start(struct virtio_net *n, uint64_t *bitmap, size_t bytes)
{
	int ret = 0;

	if (!bitmap || !net_log_covers(n->mem, bytes)) {
		pr_err("virtio-net: dirty log of %zu bytes does not cover guest RAM", bytes);
		return -EINVAL;
	}
	if (!n->be->ops->log_start)
		return 0;
	/* Under the lock: start_rings()/stop_rings() never run half-logged. */
	pthread_mutex_lock(&n->lock);
	ret = n->be->ops->log_start(n->be, bitmap, bytes);
	pthread_mutex_unlock(&n->lock);
	return ret;
}

void virtio_net_log_stop(struct virtio_net *n)
{
	if (!n->be->ops->log_stop)
		return;
	pthread_mutex_lock(&n->lock);
	n->be->ops->log_stop(n->be);
	pthread_mutex_unlock(&n->lock);
}

/* Frames mode without an announce op: send() is only safe with no NIC thread. */
static int send_frame(struct virtio_net *n, uint8_t *frame, size_t len)
{
	uint8_t hdr[NET_VNET_HDR_LEN] = {0};
	struct iovec iov[2];
	int cnt = 0, ret;

	if (n->caps & NET_CAP_VNET_HDR)
		iov[cnt++] = (struct iovec){.iov_base = hdr, .iov_len = sizeof(hdr)};
	iov[cnt++] = (struct iovec){.iov_base = frame, .iov_len = len};
	pthread_mutex_lock(&n->lock);
	ret = n->thread_started ? -EBUSY : n->be->ops->send(n->be, iov, cnt);
	pthread_mutex_unlock(&n->lock);
	return ret;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * 5.1.6.5.4: a driver that negotiated GUEST_ANNOUNCE is asked to announce
 * itself (Linux: netdev_notify_peers(), gratuitous ARP and unsolicited
 * neighbour advertisements for every address it has, VLANs included),
 * which a RARP from the host cannot do: S_ANNOUNCE in the status field
 * and a configuration change notification; ANNOUNCE_ACK clears it. The
 * status field exists only with STATUS (5.1.4), and Linux reads it only then.
 */
static void guest_announce(struct virtio_net *n)
{
	uint64_t f = __atomic_load_n(&n->features, __ATOMIC_ACQUIRE);
	uint64_t want = 1ULL << VIRTIO_NET_F_GUEST_ANNOUNCE | 1ULL << VIRTIO_NET_F_STATUS;

	if ((f & want) != want || !n->transport.config_changed)
		return;
	__atomic_or_fetch(&n->link_status, (uint16_t)VIRTIO_NET_S_ANNOUNCE, __ATOMIC_ACQ_REL);
	n->transport.config_changed(n->transport.transport);
}

int virtio_net_announce(struct virtio_net *n)
{
	const struct net_backend_ops *ops = n->be->ops;
	uint8_t frame[NET_RARP_LEN];
	size_t len = net_rarp_build(frame, n->mac);
	int ret, first = 0;
	unsigned int i;

	if (!ops->announce && ops->mode != NET_BACKEND_FRAMES)
		return -EOPNOTSUPP;
	guest_announce(n);
	for (i = 0; i < NET_ANNOUNCE_ROUNDS; i++) {
		if (i)
			sleep_ms(ANNOUNCE_GAP_MS + (i - 1) * ANNOUNCE_STEP_MS);
		ret = ops->announce ? ops->announce(n->be, frame, len) : send_frame(n, frame, len);
		if (ret && !first)
			first = ret;
	}
	if (first)
		pr_warn("virtio-net: announce after migration: %s", strerror(-first));
	return first;
}
