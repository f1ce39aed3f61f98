// SPDX-License-Identifier: GPL-2.0
/*
 * The link of a virtio-net NIC: when the host side of its backend goes
 * away (a tap deleted under a running guest) the NIC says so once, stops
 * using the backend and tells the guest its link is down; the guest and
 * every other device run on.
 */
#include <stdio.h>
#include <string.h>

#include "vmm/log.h"
#include "virtio_net_priv.h"

void virtio_net_set_name(struct virtio_net *n, const char *name)
{
	snprintf(n->name, sizeof(n->name), "%s", name);
}

void virtio_net_link_lost(struct virtio_net *n, const char *op, int err)
{
	const struct net_backend_ops *ops = n->be->ops;
	bool expected = false;
	uint64_t f;

	if (!__atomic_compare_exchange_n(&n->link_lost, &expected, true, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	pr_err("%s: %s is gone (%s: %s): link down, frames dropped; the guest runs on",
	       n->name[0] ? n->name : "virtio-net",
	       ops->host_name ? ops->host_name(n->be) : ops->name, op, strerror(-err));
	__atomic_and_fetch(&n->link_status, (uint16_t)~VIRTIO_NET_S_LINK_UP, __ATOMIC_ACQ_REL);
	/*
	 * 5.1.4.2: with VIRTIO_NET_F_STATUS the driver reads the link from the
	 * status field and rereads it on a configuration change notification
	 * (Linux: virtnet_config_changed_work() -> netif_carrier_off()).
	 */
	f = __atomic_load_n(&n->features, __ATOMIC_ACQUIRE);
	if (f & (1ULL << VIRTIO_NET_F_STATUS) && n->transport.config_changed)
		n->transport.config_changed(n->transport.transport);
}

/*
 * Whether a failed call (read, write, TUNSETOFFLOAD) means the host side is gone: then the
 * link goes down (virtio_net_link.c). A tap that is only down (ip link set
 * down) fails writes with EIO as well (drivers/net/tun.c: tun_get_user()),
 * so where the backend can tell, its link_check() decides.
 */
bool virtio_net_backend_gone(struct virtio_net *n, const char *op, int err)
{
	const struct net_backend_ops *ops = n->be->ops;

	if (!net_backend_gone(err))
		return false;
	if (ops->link_check) {
		err = ops->link_check(n->be);
		if (!net_backend_gone(err))
			return false;
	}
	virtio_net_link_lost(n, op, err);
	return true;
}

bool virtio_net_link_is_lost(struct virtio_net *n)
{
	return __atomic_load_n(&n->link_lost, __ATOMIC_ACQUIRE);
}

bool virtio_net_has_link_check(struct virtio_net *n)
{
	return n->be && n->be->ops->link_check;
}

void virtio_net_check_link(struct virtio_net *n)
{
	int ret;

	if (!virtio_net_has_link_check(n) || virtio_net_link_is_lost(n))
		return;
	ret = n->be->ops->link_check(n->be);
	if (net_backend_gone(ret))
		virtio_net_link_lost(n, "check", ret);
}
