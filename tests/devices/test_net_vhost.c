// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost-net backend's rings against a fake /dev/vhost-net
 * (test_net_vhost_fake.h): the kernel's ordering constraints rather than
 * one particular order, ring checks before any ioctl, restarts, features.
 * One test uses the real /dev/vhost-net when the host has it.
 */
#include "test_net_vhost_fake.h"

TestSuite(net_vhost, .init = setup, .fini = teardown, .timeout = 30);

Test(net_vhost, open_sets_owner_first_and_keeps_device_bits)
{
	struct net_backend *be = open_vhost(1);

	cr_assert_eq(nopen, 1);
	cr_assert_eq(recs[0].req, VHOST_SET_OWNER, "SET_OWNER is the first ioctl");
	cr_assert_eq(recs[1].req, VHOST_GET_FEATURES);
	cr_assert_eq(be->ops->mode, NET_BACKEND_RINGS);
	cr_assert_eq(be->ops->caps(be), tap_caps);
	/* Only ring bits: never LOG_ALL (26), bit 27, ACCESS_PLATFORM (33), NOTIFY_ON_EMPTY. */
	cr_assert_eq(be->ops->ring_features(be),
		     BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_F_EVENT_IDX) |
			     BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF));
	net_backend_destroy(be);
	cr_assert_eq(nclosed, 1);
	cr_assert_eq(violations, 0, "%s", violation);
}

Test(net_vhost, virtio_net_offers_the_intersection_and_keeps_device_bits)
{
	struct virtio_net *n;
	uint64_t f;

	offered = KERNEL_FEATURES & ~BIT(VIRTIO_F_EVENT_IDX); /* an older vhost, say */
	n = virtio_net_create(&mem, open_vhost(1), mac);
	cr_assert_not_null(n);
	f = virtio_net_ops.get_features(n);
	cr_assert(f & BIT(VIRTIO_NET_F_MAC) && f & BIT(VIRTIO_NET_F_STATUS) &&
		  f & BIT(VIRTIO_NET_F_MTU));
	cr_assert(f & BIT(VIRTIO_NET_F_CSUM) && f & BIT(VIRTIO_NET_F_GUEST_CSUM) &&
		  f & BIT(VIRTIO_NET_F_HOST_TSO4) && f & BIT(VIRTIO_NET_F_GUEST_TSO4));
	cr_assert(f & BIT(VIRTIO_F_VERSION_1) && f & BIT(VIRTIO_F_INDIRECT_DESC) &&
		  f & BIT(VIRTIO_NET_F_MRG_RXBUF));
	cr_assert_not(f & BIT(VIRTIO_F_EVENT_IDX), "vhost cannot do it: not offered");
	cr_assert_not(f & (BIT(26) | BIT(27) | BIT(33) | BIT(VIRTIO_NET_F_MQ)));
	cr_assert_eq(virtio_net_ops.num_queues(n), 2);
	virtio_net_destroy(n);

	n = virtio_net_create(&mem, open_vhost(2), mac);
	f = virtio_net_ops.get_features(n);
	cr_assert(f & BIT(VIRTIO_NET_F_MQ) && f & BIT(VIRTIO_NET_F_CTRL_VQ));
	cr_assert_eq(virtio_net_ops.num_queues(n), 5, "2 pairs and the control queue");
	f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MQ);
	cr_assert_neq(virtio_net_ops.set_features(n, f), 0, "MQ without CTRL_VQ is refused");
	virtio_net_destroy(n);
}

Test(net_vhost, start_keeps_the_kernel_ordering_and_passes_the_queue_fds)
{
	struct net_backend *be = open_vhost(1);
	struct net_backend_rings r = rings(2, 1, NULL);
	int fd = FAKE_FD, i;

	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	cr_assert_eq(violations, 0, "%s", violation);
	check_attach_order(fd);
	for (int vq = 0; vq < 2; vq++) {
		cr_assert(devs[0].vq[vq].attached);
		cr_assert_eq(devs[0].vq[vq].kick_fd, qi[vq].kick_fd, "vq %d gets its queue's kick_fd", vq);
		cr_assert_eq(devs[0].vq[vq].call_fd, qi[vq].call_fd, "vq %d gets its queue's call_fd", vq);
		cr_assert_geq(devs[0].vq[vq].err_fd, 0);
		i = find(0, fd, VHOST_SET_VRING_BASE, vq);
		cr_assert_eq(recs[i].num, 0, "a fresh ring starts at 0");
	}
	/* Only ring bits reach SET_FEATURES: no device bits, no 26/27/33. */
	i = find(0, fd, VHOST_SET_FEATURES, -1);
	cr_assert_eq(recs[i].u64, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) |
					  BIT(VIRTIO_NET_F_MRG_RXBUF));
	/* The tap gets the guest's offloads before vhost may read from it. */
	i = find(0, tapfd[0], TUNSETOFFLOAD, -1);
	cr_assert_geq(i, 0);
	cr_assert_eq(recs[i].u64, TUN_F_CSUM);
	cr_assert_lt(i, find(0, fd, VHOST_NET_SET_BACKEND, -1));
	cr_assert_eq(find(0, -1, TUNSETQUEUE, -1), -1, "a single-queue tap is never detached");
	net_backend_destroy(be);
	cr_assert_not(devs[0].vq[0].attached || devs[0].vq[1].attached, "destroy detaches");
}

Test(net_vhost, rings_outside_ram_are_refused_before_any_ioctl)
{
	struct net_backend *be = open_vhost(1);
	struct net_backend_rings r = rings(2, 1, NULL);
	uint64_t bad[] = {MEM - 16, (uint64_t)MEM << 4, 0xfffffffffffff000ULL};
	int before;

	for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
		for (int part = 0; part < 3; part++) {
			qi[1].desc = part == 0 ? bad[b] : 0x20000;
			qi[1].avail = part == 1 ? bad[b] : 0x21000;
			qi[1].used = part == 2 ? bad[b] : 0x22000;
			before = nrec;
			cr_assert_neq(be->ops->start_rings(be, &r), 0);
			cr_assert_eq(nrec, before, "no ioctl saw the bad ring (part %d)", part);
		}
	}
	qi[1].desc = 0x20000;
	qi[1].avail = 0x21000;
	qi[1].used = 0x22002; /* misaligned: 4 required */
	before = nrec;
	cr_assert_neq(be->ops->start_rings(be, &r), 0);
	cr_assert_eq(nrec, before);
	qi[1].used = 0x22000;
	cr_assert_eq(be->ops->start_rings(be, &r), 0, "good rings still start afterwards");
	cr_assert_eq(violations, 0, "%s", violation);
	net_backend_destroy(be);
}

Test(net_vhost, stop_then_start_resends_the_saved_base)
{
	struct net_backend *be = open_vhost(1);
	struct net_backend_rings r = rings(2, 1, NULL);
	uint16_t last[2] = {0xffff, 0xffff};
	int from;

	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	progress = 7;
	be->ops->stop_rings(be, last, 2);
	cr_assert_eq(last[0], 7);
	cr_assert_eq(last[1], 7);
	cr_assert_not(devs[0].vq[0].attached || devs[0].vq[1].attached);
	/* GET_VRING_BASE after the detach, when the kernel no longer moves it. */
	cr_assert_lt(find(0, FAKE_FD, VHOST_NET_SET_BACKEND, 1),
		     find(0, FAKE_FD, VHOST_GET_VRING_BASE, 1));
	from = nrec;
	r.last_avail = last;
	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	cr_assert_eq(recs[find(from, FAKE_FD, VHOST_SET_VRING_BASE, 0)].num, 7);
	cr_assert_eq(recs[find(from, FAKE_FD, VHOST_SET_VRING_BASE, 1)].num, 7);
	check_attach_order(FAKE_FD);
	/* Started again without a stop: the rings are detached before NUM/BASE. */
	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	cr_assert(devs[0].vq[0].attached && devs[0].vq[1].attached);
	cr_assert_eq(violations, 0, "%s", violation);
	net_backend_destroy(be);
}

Test(net_vhost, driver_unbind_and_rebind_restarts_any_number_of_times)
{
	struct virtio_net *n = virtio_net_create(&mem, open_vhost(1), mac);
	uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MRG_RXBUF);
	int from;

	progress = 3;
	for (int round = 0; round < 5; round++) {
		cr_assert_eq(virtio_net_ops.set_features(n, f), 0);
		from = nrec;
		cr_assert_eq(virtio_net_ops.start(n, qi, 2), 0, "round %d", round);
		/* After a reset the driver's rings are new: they start at 0 again. */
		cr_assert_eq(recs[find(from, FAKE_FD, VHOST_SET_VRING_BASE, 0)].num, 0);
		cr_assert(devs[0].vq[0].attached && devs[0].vq[1].attached);
		virtio_net_ops.stop(n);
		cr_assert_not(devs[0].vq[0].attached || devs[0].vq[1].attached);
	}
	cr_assert_eq(nopen, 1, "the same vhost fd serves every round");
	cr_assert_eq(count(FAKE_FD, VHOST_RESET_OWNER), 0);
	cr_assert_eq(violations, 0, "%s", violation);
	virtio_net_destroy(n);
}

Test(net_vhost, a_failing_ioctl_fails_the_start_and_leaves_nothing_attached)
{
	struct net_backend *be = open_vhost(1);
	struct net_backend_rings r = rings(2, 1, NULL);

	fail_req = VHOST_NET_SET_BACKEND;
	fail_errno = ENOTSOCK;
	cr_assert_eq(be->ops->start_rings(be, &r), -ENOTSOCK);
	fail_req = VHOST_SET_VRING_CALL;
	fail_errno = EBADF;
	cr_assert_eq(be->ops->start_rings(be, &r), -EBADF);
	cr_assert_not(devs[0].vq[0].attached || devs[0].vq[1].attached);
	fail_req = 0;
	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	cr_assert_eq(violations, 0, "%s", violation);
	net_backend_destroy(be);
}

Test(net_vhost, real_dev_vhost_net, .timeout = 20)
{
	struct net_backend *be = NULL;
	struct net_backend_rings r = rings(2, 1, NULL);
	uint16_t last[2];
	char name[IFNAMSIZ], err[256];
	int fd;

	if (access("/dev/vhost-net", R_OK | W_OK))
		cr_skip_test("no usable /dev/vhost-net on this host (%s): the fake covers the ioctl contract",
			     strerror(errno));
	if (geteuid() != 0 || unshare(CLONE_NEWNET))
		cr_skip_test("needs root and a network namespace for a tap");
	net_vhost_set_sys(NULL);
	cr_assert_eq(net_tap_open_queues("kvvh%d", 1, &fd, name, NULL, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(net_vhost_open(&fd, 1, net_tap_probe_caps(fd), name, &be, err, sizeof(err)), 0,
		     "%s", err);
	for (int round = 0; round < 3; round++) {
		cr_assert_eq(be->ops->start_rings(be, &r), 0, "round %d", round);
		be->ops->stop_rings(be, last, 2);
		cr_assert_eq(last[0], 0);
		cr_assert_eq(last[1], 0);
	}
	net_backend_destroy(be);
}
