// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net device state for migration and snapshots (vmm/state.h): what
 * the transport does not already carry. The queue registers and each
 * queue's last_avail are the transport's (virtio_pci_state.c); here are the
 * configuration space (MAC, status), the queue pairs the driver switched to,
 * and the interrupt suppression state of the queues kvmini walks itself:
 *
 *	dev { mac, link-status, max-pairs, pairs, vq@N { signalled, signalled-valid, notify } }
 *
 * A frame the NIC thread had fetched from the backend but not yet placed in
 * a receive buffer is not saved: it is dropped, as a wire would.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/state.h"
#include "virtio_net_priv.h"

static unsigned int nr_queues(const struct virtio_net *n)
{
	return n->max_pairs > 1 ? 2 * n->max_pairs + 1 : 2;
}

static int save_vq(void *fdt, unsigned int i, const struct virtq_pos *p)
{
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "vq@%u", i);
	ret = state_node_begin(fdt, name);
	if (!ret)
		ret = state_put_u32(fdt, "signalled", p->signalled);
	if (!ret)
		ret = state_put_u32(fdt, "signalled-valid", p->signalled_valid);
	if (!ret)
		ret = state_put_u32(fdt, "notify", p->notify_enabled);
	if (!ret)
		ret = state_node_end(fdt);
	return ret;
}

int virtio_net_save(void *dev, void *fdt)
{
	struct virtio_net *n = dev;
	unsigned int i;
	int ret;

	pthread_mutex_lock(&n->lock);
	ret = state_put_blob(fdt, "mac", n->mac, sizeof(n->mac));
	if (!ret)
		ret = state_put_u32(fdt, "link-status", n->link_status);
	if (!ret)
		ret = state_put_u32(fdt, "max-pairs", n->max_pairs);
	if (!ret)
		ret = state_put_u32(fdt, "pairs", n->cur_pairs);
	for (i = 0; !ret && i < nr_queues(n); i++)
		ret = save_vq(fdt, i, &n->pos[i]);
	pthread_mutex_unlock(&n->lock);
	return ret;
}

static int load_vq(const void *fdt, int node, unsigned int i, struct virtq_pos *p)
{
	uint32_t sig, valid, notify;
	char name[16];
	int vq, ret;

	snprintf(name, sizeof(name), "vq@%u", i);
	vq = state_node(fdt, node, name);
	if (vq < 0)
		return -EINVAL;
	ret = state_get_u32(fdt, vq, "signalled", &sig);
	if (!ret)
		ret = state_get_u32(fdt, vq, "signalled-valid", &valid);
	if (!ret)
		ret = state_get_u32(fdt, vq, "notify", &notify);
	if (ret)
		return ret;
	if (sig > 0xffff || valid > 1 || notify > 1)
		return state_fail("virtio-net: queue %u: bad notification state", i);
	*p = (struct virtq_pos){
		.signalled = sig,
		.signalled_valid = valid,
		.notify_enabled = notify,
	};
	return 0;
}

int virtio_net_restore(void *dev, const void *fdt, int node)
{
	struct virtio_net *n = dev;
	struct virtq_pos pos[VIRTIO_MAX_QUEUES];
	uint32_t link, max_pairs, pairs;
	uint8_t mac[6];
	unsigned int i;
	int ret;

	ret = state_get_blob(fdt, node, "mac", mac, sizeof(mac));
	if (!ret)
		ret = state_get_u32(fdt, node, "link-status", &link);
	if (!ret)
		ret = state_get_u32(fdt, node, "max-pairs", &max_pairs);
	if (!ret)
		ret = state_get_u32(fdt, node, "pairs", &pairs);
	if (ret)
		return ret;
	/* 5.1.4: the status field has LINK_UP and ANNOUNCE, nothing else. */
	if (link & ~(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE))
		return state_fail("virtio-net: link status %#x has unknown bits", link);
	if (mac[0] & 1)
		return state_fail("virtio-net: MAC address is multicast");
	if (max_pairs != n->max_pairs)
		return state_fail("virtio-net: the source had %u queue pairs, this backend "
				  "carries %u",
				  max_pairs, n->max_pairs);
	/* n->features are the negotiated ones: the transport set them before this call. */
	if (!pairs || pairs > max_pairs ||
	    (pairs > 1 && !(n->features & (1ULL << VIRTIO_NET_F_MQ))))
		return state_fail("virtio-net: %u queue pairs in use, at most %u", pairs,
				  n->features & (1ULL << VIRTIO_NET_F_MQ) ? max_pairs : 1);
	memset(pos, 0, sizeof(pos));
	for (i = 0; i < nr_queues(n); i++) {
		ret = load_vq(fdt, node, i, &pos[i]);
		if (ret)
			return ret;
	}

	pthread_mutex_lock(&n->lock);
	if (n->running) {
		pthread_mutex_unlock(&n->lock);
		return state_fail("virtio-net: restore on a running device");
	}
	memcpy(n->mac, mac, sizeof(mac));
	n->link_status = link;
	n->cur_pairs = pairs;
	memcpy(n->pos, pos, sizeof(pos));
	pthread_mutex_unlock(&n->lock);
	return 0;
}
