// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost-net backend against a fake /dev/vhost-net (test_net_vhost_fake.h):
 * multiqueue through virtio-net's control queue, kvmini's counters in
 * vhost mode, the vhost=on|off|auto policy; and, in a private network
 * namespace with a real tap, net_tap_backend_open() and the multi-queue tap
 * behaviour net_vhost.c relies on.
 */
#include <sys/socket.h>

#include "test_net_vhost_fake.h"
#include "devices/virtio_net_log.h"

TestSuite(net_vhost_mq, .init = setup, .fini = teardown, .timeout = 30);

Test(net_vhost_mq, policy_auto_falls_back_and_on_fails_with_the_reason)
{
	struct net_backend *be;
	char msg[256];
	int fds[2] = {-1, -1};

	open_errno = ENOENT;
	cr_assert_eq(net_vhost_select(NET_VHOST_AUTO, fds, 1, tap_caps, "tapt0", &be, msg,
				      sizeof(msg)), 0);
	cr_assert_null(be, "auto: the userspace backend");
	cr_assert(strstr(msg, "userspace") && strstr(msg, "/dev/vhost-net does not exist"), "%s",
		  msg);
	cr_assert_eq(net_vhost_select(NET_VHOST_ON, fds, 1, tap_caps, "tapt0", &be, msg,
				      sizeof(msg)), -ENOENT);
	cr_assert(strstr(msg, "vhost=on") && strstr(msg, "does not exist"), "%s", msg);
	cr_assert_eq(net_vhost_select(NET_VHOST_AUTO, fds, 2, tap_caps, "tapt0", &be, msg,
				      sizeof(msg)), -ENOENT, "queues=2 cannot fall back");
	open_errno = EACCES;
	cr_assert_eq(net_vhost_select(NET_VHOST_ON, fds, 1, tap_caps, "tapt0", &be, msg,
				      sizeof(msg)), -EACCES);
	cr_assert(strstr(msg, "permission denied"), "%s", msg);
	open_errno = 0;
	fail_req = VHOST_SET_OWNER;
	fail_errno = EBUSY;
	cr_assert_eq(net_vhost_select(NET_VHOST_ON, fds, 1, tap_caps, "tapt0", &be, msg,
				      sizeof(msg)), -EBUSY);
	cr_assert(strstr(msg, "VHOST_SET_OWNER") && strstr(msg, strerror(EBUSY)), "%s", msg);
	cr_assert_eq(nclosed, nopen, "every vhost fd of a failed open is closed");
	fail_req = 0;
	cr_assert_eq(net_vhost_select(NET_VHOST_OFF, fds, 2, tap_caps, "tapt0", &be, msg,
				      sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "queues=2"), "%s", msg);
	cr_assert_eq(net_vhost_select(NET_VHOST_OFF, fds, 1, tap_caps, "tapt0", &be, msg,
				      sizeof(msg)), 0);
	cr_assert_null(be);
	tapfd[0] = eventfd(0, 0);
	cr_assert_eq(net_vhost_select(NET_VHOST_AUTO, tapfd, 1, tap_caps, "tapt0", &be, msg,
				      sizeof(msg)), 0);
	cr_assert(net_vhost_is(be), "%s", msg);
	cr_assert(strstr(msg, "vhost-net"), "%s", msg);
	net_backend_destroy(be);
}

/* A control command on queue 4 (2 pairs): returns the ack byte. */
static uint8_t ctrl_cmd(struct virtio_net *n, uint8_t cls, uint8_t cmd, uint16_t pairs)
{
	struct virtio_queue_info *q = &qi[4];
	static uint16_t avail_idx;
	uint8_t *out = guest_ptr(&mem, CTRL_BUF, 4), *ack = guest_ptr(&mem, CTRL_BUF + 64, 1);
	uint8_t *desc = guest_ptr(&mem, q->desc, 32);
	uint16_t *avail = guest_ptr(&mem, q->avail, 6 + 2 * QSZ);
	uint16_t *used_idx = guest_ptr(&mem, q->used + 2, 2), want;
	uint64_t addr, one = 1;
	uint32_t len;
	uint16_t flags, next = 1;

	out[0] = cls;
	out[1] = cmd;
	memcpy(out + 2, &pairs, 2);
	*ack = 0xee;
	addr = CTRL_BUF, len = 4, flags = VIRTQ_DESC_F_NEXT;
	memcpy(desc, &addr, 8), memcpy(desc + 8, &len, 4), memcpy(desc + 12, &flags, 2);
	memcpy(desc + 14, &next, 2);
	addr = CTRL_BUF + 64, len = 1, flags = VIRTQ_DESC_F_WRITE;
	memcpy(desc + 16, &addr, 8), memcpy(desc + 24, &len, 4), memcpy(desc + 28, &flags, 2);
	avail[2 + avail_idx % QSZ] = 0;
	want = ++avail_idx;
	__atomic_store_n(&avail[1], want, __ATOMIC_RELEASE);
	cr_assert_eq(write(q->kick_fd, &one, 8), 8);
	for (int i = 0; i < 2000 && __atomic_load_n(used_idx, __ATOMIC_ACQUIRE) != want; i++)
		usleep(1000);
	cr_assert_eq(*used_idx, want, "the control command was answered");
	return *ack;
}

Test(net_vhost_mq, multiqueue_pairs_follow_the_control_queue)
{
	struct virtio_net *n = virtio_net_create(&mem, open_vhost(2), mac);
	uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_CTRL_VQ) |
		     BIT(VIRTIO_NET_F_MQ);
	struct virtio_net_stats st;
	int i, from;

	cr_assert_eq(virtio_net_ops.set_features(n, f), 0);
	cr_assert_eq(virtio_net_ops.start(n, qi, 5), 0);
	/* Pair 0 runs; pair 1 waits for VQ_PAIRS_SET with its tap queue detached. */
	cr_assert(devs[0].vq[0].attached && devs[0].vq[1].attached);
	cr_assert_not(devs[1].vq[0].attached || devs[1].vq[1].attached);
	i = find(0, tapfd[1], TUNSETQUEUE, -1);
	cr_assert_geq(i, 0);
	cr_assert_eq(recs[i].num, IFF_DETACH_QUEUE);
	cr_assert_eq(find(0, tapfd[0], TUNSETQUEUE, -1), -1, "pair 0's queue stays attached");
	/* The control queue's kick is kvmini's, never vhost's. */
	for (int d = 0; d < 2; d++)
		for (int vq = 0; vq < 2; vq++)
			cr_assert_neq(devs[d].vq[vq].kick_fd, qi[4].kick_fd);

	from = nrec;
	cr_assert_eq(ctrl_cmd(n, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2),
		     VIRTIO_NET_OK);
	cr_assert(devs[1].vq[0].attached && devs[1].vq[1].attached);
	cr_assert_eq(devs[1].vq[0].kick_fd, qi[2].kick_fd, "pair 1 RX is virtio queue 2");
	cr_assert_eq(devs[1].vq[1].call_fd, qi[3].call_fd, "pair 1 TX is virtio queue 3");
	i = find(from, tapfd[1], TUNSETQUEUE, -1);
	cr_assert_eq(recs[i].num, IFF_ATTACH_QUEUE);
	cr_assert_lt(i, find(from, FAKE_FD + 1, VHOST_NET_SET_BACKEND, -1));
	check_attach_order(FAKE_FD + 1);

	cr_assert_eq(ctrl_cmd(n, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 3),
		     VIRTIO_NET_ERR, "more pairs than offered");
	cr_assert_eq(ctrl_cmd(n, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 0),
		     VIRTIO_NET_ERR);
	cr_assert_eq(ctrl_cmd(n, 0 /* CTRL_RX: not offered */, 0, 1), VIRTIO_NET_ERR);
	cr_assert_eq(ctrl_cmd(n, VIRTIO_NET_CTRL_MQ, 7, 1), VIRTIO_NET_ERR);
	cr_assert(devs[1].vq[0].attached, "refused commands change nothing");

	progress = 4;
	from = nrec;
	cr_assert_eq(ctrl_cmd(n, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1),
		     VIRTIO_NET_OK);
	cr_assert_not(devs[1].vq[0].attached || devs[1].vq[1].attached);
	cr_assert(devs[0].vq[0].attached);
	cr_assert_eq(recs[find(from, tapfd[1], TUNSETQUEUE, -1)].num, IFF_DETACH_QUEUE);
	/* Enabled again: pair 1 resumes where it stopped, its rings were not reset. */
	from = nrec;
	cr_assert_eq(ctrl_cmd(n, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2),
		     VIRTIO_NET_OK);
	cr_assert_eq(recs[find(from, FAKE_FD + 1, VHOST_SET_VRING_BASE, 0)].num, 4);

	/*
	 * A command queued while the thread still walks the ring is answered
	 * before its kick is read and counted: give the last count a moment.
	 * Under load that kick and the next command's fold into one eventfd
	 * read, so 7 commands count 7 kicks or fewer, never more.
	 */
	virtio_net_get_stats(n, &st);
	for (i = 0; i < 2000 && st.kicks < 7; i++) {
		usleep(1000);
		virtio_net_get_stats(n, &st);
	}
	cr_assert(st.vhost);
	cr_assert(st.kicks >= 1 && st.kicks <= 7,
		  "kvmini saw the control queue's kicks only: %lu for 7 commands",
		  (unsigned long)st.kicks);
	cr_assert_eq(violations, 0, "%s", violation);
	virtio_net_ops.stop(n);
	cr_assert_not(devs[0].vq[0].attached || devs[1].vq[0].attached);
	virtio_net_destroy(n);
}

static int config_changes;

static void count_config_change(void *t)
{
	config_changes++;
}

static uint16_t status_field(struct virtio_net *n)
{
	uint16_t st;

	virtio_net_ops.config_read(n, 6, (uint8_t *)&st, 2);
	return st;
}

/*
 * After a migration (virtio_net_announce()): a driver with GUEST_ANNOUNCE
 * finds S_ANNOUNCE set and a configuration change notification, and its
 * ANNOUNCE_ACK clears the bit (virtio 1.2, 5.1.6.5.4). The RARP frames go
 * out either way.
 */
static int rarp_peer = -1;

/* The RARP frames virtio_net_announce() wrote to pair 0's tap. */
static int rarps_sent(void)
{
	char buf[256];
	int n = 0;

	while (recv(rarp_peer, buf, sizeof(buf), MSG_DONTWAIT) == NET_VNET_HDR_LEN + 60)
		n++;
	return n;
}

static struct virtio_net *started_nic(uint64_t features)
{
	static const struct virtio_transport t = {.config_changed = count_config_change};
	struct virtio_net *n = virtio_net_create(&mem, open_vhost(2), mac);
	int sv[2];

	/* Pair 0's tap becomes a datagram socket: each announce write() is one frame. */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	cr_assert_eq(dup2(sv[0], tapfd[0]), tapfd[0]);
	close(sv[0]);
	rarp_peer = sv[1];

	virtio_net_set_transport(n, &t);
	cr_assert(virtio_net_ops.get_features(n) & BIT(VIRTIO_NET_F_GUEST_ANNOUNCE),
		  "offered with the control queue");
	cr_assert_neq(virtio_net_ops.set_features(n, BIT(VIRTIO_F_VERSION_1) |
						     BIT(VIRTIO_NET_F_GUEST_ANNOUNCE)),
		      0, "GUEST_ANNOUNCE without CTRL_VQ (5.1.3.1)");
	cr_assert_eq(virtio_net_ops.set_features(n, BIT(VIRTIO_F_VERSION_1) | features), 0);
	cr_assert_eq(virtio_net_ops.start(n, qi, 5), 0);
	return n;
}

#define MQ_STATUS                                                                        \
	(BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_CTRL_VQ) | \
	 BIT(VIRTIO_NET_F_MQ))

Test(net_vhost_mq, guest_announce_is_asked_for_and_acked)
{
	struct virtio_net *n = started_nic(MQ_STATUS | BIT(VIRTIO_NET_F_GUEST_ANNOUNCE));

	cr_assert_eq(virtio_net_announce(n), 0);
	cr_assert_eq(rarps_sent(), NET_ANNOUNCE_ROUNDS, "and the RARP frames as always");
	cr_assert_eq(config_changes, 1);
	cr_assert_eq(status_field(n), VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	cr_assert_eq(ctrl_cmd(n, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, 0),
		     VIRTIO_NET_OK);
	cr_assert_eq(status_field(n), VIRTIO_NET_S_LINK_UP, "the ACK clears S_ANNOUNCE");
	/* A reset drops a request nobody acked: the next driver was not asked. */
	cr_assert_eq(virtio_net_announce(n), 0);
	cr_assert_eq(config_changes, 2);
	cr_assert_eq(status_field(n), VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	virtio_net_ops.stop(n);
	cr_assert_eq(status_field(n), VIRTIO_NET_S_LINK_UP);
	virtio_net_destroy(n);
}

Test(net_vhost_mq, no_guest_announce_without_the_feature)
{
	struct virtio_net *n = started_nic(MQ_STATUS);

	cr_assert_eq(virtio_net_announce(n), 0);
	cr_assert_eq(rarps_sent(), NET_ANNOUNCE_ROUNDS);
	cr_assert_eq(config_changes, 0, "no feature, no request");
	cr_assert_eq(status_field(n), VIRTIO_NET_S_LINK_UP);
	cr_assert_eq(ctrl_cmd(n, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, 0),
		     VIRTIO_NET_ERR);
	virtio_net_destroy(n);
}

Test(net_vhost_mq, data_queue_kicks_never_reach_kvmini)
{
	struct virtio_net *n = virtio_net_create(&mem, open_vhost(1), mac);
	struct virtio_net_stats st;
	struct pollfd p;
	uint64_t one = 1;

	cr_assert_eq(virtio_net_ops.set_features(n, BIT(VIRTIO_F_VERSION_1)), 0);
	cr_assert_eq(virtio_net_ops.start(n, qi, 2), 0);
	for (int q = 0; q < 2; q++)
		cr_assert_eq(write(qi[q].kick_fd, &one, 8), 8);
	usleep(100000);
	virtio_net_get_stats(n, &st);
	cr_assert(st.vhost);
	cr_assert_eq(st.kicks, 0);
	cr_assert_eq(st.interrupts, 0);
	cr_assert_eq(st.tx_frames + st.rx_frames, 0);
	/* Nobody in kvmini read them: they are the kernel's to consume. */
	for (int q = 0; q < 2; q++) {
		p = (struct pollfd){.fd = qi[q].kick_fd, .events = POLLIN};
		cr_assert_eq(poll(&p, 1, 0), 1, "queue %d's kick is still pending", q);
	}
	virtio_net_destroy(n);
}

static void enter_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (CAP_NET_ADMIN) for a network namespace and a tap");
	if (access("/dev/net/tun", R_OK | W_OK))
		cr_skip_test("no usable /dev/net/tun: %s", strerror(errno));
	if (unshare(CLONE_NEWNET))
		cr_skip_test("unshare(CLONE_NEWNET): %s", strerror(errno));
}

Test(net_vhost_mq, tap_backend_open_auto_falls_back_to_userspace)
{
	struct net_config nc = {.kind = NET_KIND_TAP, .ifname = "kvvh0", .vhost = NET_VHOST_AUTO,
				.queues = 1};
	struct net_backend *be = NULL;
	char msg[300];

	enter_netns();
	open_errno = ENOENT;
	cr_assert_eq(net_tap_backend_open(&nc, &be, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(be->ops->mode, NET_BACKEND_FRAMES);
	cr_assert(strstr(msg, "kvvh0") && strstr(msg, "userspace backend") &&
		  strstr(msg, "does not exist"), "%s", msg);
	net_backend_destroy(be);
	nc.vhost = NET_VHOST_ON;
	cr_assert_eq(net_tap_backend_open(&nc, &be, msg, sizeof(msg)), -ENOENT);
	cr_assert(strstr(msg, "vhost=on"), "%s", msg);
	cr_assert_eq(if_nametoindex("kvvh0"), 0, "the tap kvmini created is gone again");
	open_errno = 0;
	nc.queues = 2;
	cr_assert_eq(net_tap_backend_open(&nc, &be, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert(net_vhost_is(be) && strstr(msg, "2 queue pairs"), "%s", msg);
	net_backend_destroy(be);
}

/* What net_vhost.c relies on from tun.c, on a real multi-queue tap. */
Test(net_vhost_mq, multi_queue_tap_queues_detach_and_attach)
{
	struct ifreq det = {.ifr_flags = IFF_DETACH_QUEUE}, att = {.ifr_flags = IFF_ATTACH_QUEUE};
	char name[IFNAMSIZ], other[IFNAMSIZ], err[256];
	int fds[3], one;

	enter_netns();
	cr_assert_eq(net_tap_open_queues("kvmq%d", 3, fds, name, NULL, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(ioctl(fds[2], TUNSETQUEUE, &det), 0, "%s", strerror(errno));
	cr_assert_eq(ioctl(fds[2], TUNSETQUEUE, &det), -1, "detaching twice is refused");
	cr_assert_eq(ioctl(fds[0], TUNSETOFFLOAD, TUN_F_CSUM), 0, "queue 0 sets the offloads");
	cr_assert_eq(ioctl(fds[2], TUNSETQUEUE, &att), 0, "%s", strerror(errno));
	cr_assert_eq(net_tap_open_queues(name, 1, &one, other, NULL, err, sizeof(err)), -EINVAL,
		     "a single-queue open of a multi-queue tap fails");
	cr_assert(strstr(err, "single-queue"), "%s", err);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}
