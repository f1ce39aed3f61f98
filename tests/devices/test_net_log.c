// SPDX-License-Identifier: GPL-2.0
/*
 * Migration support of the network backends: vhost-net's dirty log against
 * the fake /dev/vhost-net (test_net_vhost_fake.h: the ioctls, their order,
 * the per-vq state the kernel would keep), and the post-migration RARP
 * announce through a frames backend, the tap and vhost-net. Under the
 * vhost-model (tests/vhost-model/run-tests.sh), one test also checks the
 * bits a vhost worker sets for a received frame.
 */
#include <linux/if_packet.h>
#include <sys/socket.h>

#include "test_net_vhost_fake.h"
#include "devices/virtio_net_log.h"

TestSuite(net_log, .init = setup, .fini = teardown, .timeout = 30);

#define LOG_BYTES (MEM / 4096 / 8) /* 2 MiB of RAM: 512 pages, 64 bytes */

static uint64_t bitmap[LOG_BYTES / 8];
static const uint64_t ring_bits =
	BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) | BIT(VIRTIO_NET_F_MRG_RXBUF);

static bool dirty_bit(uint64_t gpa)
{
	return bitmap[gpa / 4096 / 64] >> (gpa / 4096 % 64) & 1;
}

/* The last SET_VRING_ADDR of (fd, vq) at or after from: its index in recs. */
static int last_addr(int from, int fd, int vq)
{
	int at = -1;

	for (int i = from; (i = find(i, fd, VHOST_SET_VRING_ADDR, vq)) >= 0; i++)
		at = i;
	return at;
}

/* vhost pair k (fd) logs into bitmap: what the fake device holds now. */
static void assert_logging(int k, bool on)
{
	struct fdev *d = &devs[k];

	cr_assert_eq(!!(d->feat & BIT(VHOST_F_LOG_ALL)), on, "pair %d: LOG_ALL %s", k,
		     on ? "missing" : "left on");
	for (int vq = 0; vq < 2; vq++) {
		cr_assert_eq(d->vq[vq].log, on, "pair %d vq %d: VHOST_VRING_F_LOG", k, vq);
		if (on)
			cr_assert_eq(d->vq[vq].log_addr, qi[2 * k + vq].used,
				     "log_guest_addr is the used ring's GPA");
	}
	if (on)
		cr_assert_eq(d->log_base, (uintptr_t)bitmap);
}

Test(net_log, start_while_running_switches_the_live_rings_in_order)
{
	struct net_backend *be = open_vhost(1);
	struct net_backend_rings r = rings(2, 1, NULL);
	int fd = FAKE_FD, from, base, feat, a0, a1;

	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	assert_logging(0, false);
	from = nrec;
	cr_assert_eq(be->ops->log_start(be, bitmap, sizeof(bitmap)), 0);
	base = find(from, fd, VHOST_SET_LOG_BASE, -1);
	feat = find(from, fd, VHOST_SET_FEATURES, -1);
	a0 = last_addr(from, fd, 0);
	a1 = last_addr(from, fd, 1);
	cr_assert(base >= 0 && feat >= 0 && a0 >= 0 && a1 >= 0);
	cr_assert_eq(recs[base].u64, (uintptr_t)bitmap, "SET_LOG_BASE gets the bitmap's address");
	cr_assert_eq(recs[feat].u64, ring_bits | BIT(VHOST_F_LOG_ALL));
	cr_assert(base < feat && feat < a0 && feat < a1,
		  "the base before LOG_ALL (vhost_log_access_ok), LOG_ALL before the rings");
	for (int vq = 0; vq < 2; vq++) {
		int a = vq ? a1 : a0;

		cr_assert_eq(recs[a].flags, 1u << VHOST_VRING_F_LOG);
		cr_assert_eq(recs[a].u64, qi[vq].used);
	}
	/* Switched live: the rings were never detached, so no frame was lost. */
	cr_assert_eq(find(from, fd, VHOST_NET_SET_BACKEND, -1), -1);
	cr_assert(devs[0].vq[0].attached && devs[0].vq[1].attached);
	assert_logging(0, true);
	cr_assert_eq(violations, 0, "%s", violation);
	be->ops->log_stop(be);
	net_backend_destroy(be);
}

Test(net_log, restarts_while_logging_keep_logging)
{
	struct virtio_net *n = virtio_net_create(&mem, open_vhost(1), mac);
	uint64_t f = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_MRG_RXBUF);
	int before = nrec, from, b, att;

	/* Not running: nothing to tell the kernel yet. */
	cr_assert_eq(virtio_net_log_start(n, bitmap, sizeof(bitmap)), 0);
	cr_assert_eq(nrec, before, "no ioctl before the rings run");
	for (int round = 0; round < 3; round++) {
		cr_assert_eq(virtio_net_ops.set_features(n, f), 0);
		from = nrec;
		cr_assert_eq(virtio_net_ops.start(n, qi, 2), 0, "round %d", round);
		b = find(from, FAKE_FD, VHOST_SET_LOG_BASE, -1);
		att = find(from, FAKE_FD, VHOST_NET_SET_BACKEND, -1);
		cr_assert(b >= 0 && b < att, "round %d: the base before the first attach", round);
		cr_assert_eq(recs[b].u64, (uintptr_t)bitmap);
		cr_assert(recs[find(from, FAKE_FD, VHOST_SET_FEATURES, -1)].u64 &
			  BIT(VHOST_F_LOG_ALL));
		assert_logging(0, true);
		virtio_net_ops.stop(n);
	}
	virtio_net_log_stop(n);
	cr_assert_eq(virtio_net_ops.set_features(n, f), 0);
	from = nrec;
	cr_assert_eq(virtio_net_ops.start(n, qi, 2), 0);
	cr_assert_eq(find(from, FAKE_FD, VHOST_SET_LOG_BASE, -1), -1);
	cr_assert_eq(recs[find(from, FAKE_FD, VHOST_SET_FEATURES, -1)].u64,
		     BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF));
	cr_assert_eq(recs[last_addr(from, FAKE_FD, 0)].flags, 0);
	assert_logging(0, false);
	cr_assert_eq(violations, 0, "%s", violation);
	virtio_net_destroy(n);
}

Test(net_log, stop_turns_it_all_off_and_forgets_the_bitmap_last)
{
	struct net_backend *be = open_vhost(1);
	struct net_backend_rings r = rings(2, 1, NULL);
	int from, feat, a0, a1, base;

	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	cr_assert_eq(be->ops->log_start(be, bitmap, sizeof(bitmap)), 0);
	from = nrec;
	be->ops->log_stop(be);
	feat = find(from, FAKE_FD, VHOST_SET_FEATURES, -1);
	a0 = last_addr(from, FAKE_FD, 0);
	a1 = last_addr(from, FAKE_FD, 1);
	base = find(from, FAKE_FD, VHOST_SET_LOG_BASE, -1);
	cr_assert_eq(recs[feat].u64, ring_bits);
	cr_assert_eq(recs[a0].flags | recs[a1].flags, 0);
	cr_assert(base > a0 && base > a1 && recs[base].u64 == 0,
		  "the base goes once no ring refers to it");
	assert_logging(0, false);
	cr_assert(devs[0].vq[0].attached && devs[0].vq[1].attached, "the rings keep running");
	from = nrec;
	be->ops->log_stop(be);
	cr_assert_eq(nrec, from, "a second stop does nothing");
	cr_assert_eq(violations, 0, "%s", violation);
	net_backend_destroy(be);
}

Test(net_log, a_log_smaller_than_ram_never_reaches_the_kernel)
{
	struct virtio_net *n = virtio_net_create(&mem, open_vhost(1), mac);
	struct net_backend *be = open_vhost(1);
	struct net_backend_rings r = rings(2, 1, NULL);
	int before = nrec;

	cr_assert_eq(virtio_net_log_start(n, bitmap, sizeof(bitmap) - 1), -EINVAL);
	cr_assert_eq(virtio_net_log_start(n, NULL, sizeof(bitmap)), -EINVAL);
	cr_assert(net_log_covers(&mem, LOG_BYTES) && !net_log_covers(&mem, LOG_BYTES - 1));
	/* The backend checks too: while running against the RAM it serves... */
	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	before = nrec;
	cr_assert_eq(be->ops->log_start(be, bitmap, 8), -EINVAL);
	cr_assert_eq(nrec, before);
	assert_logging(1, false);
	be->ops->stop_rings(be, NULL, 0);
	/* ...and, told before it runs, at the start, before any ioctl. */
	cr_assert_eq(be->ops->log_start(be, bitmap, 8), -EINVAL, "the last RAM is known");
	virtio_net_destroy(n);
	net_backend_destroy(be);

	be = open_vhost(1);
	cr_assert_eq(be->ops->log_start(be, bitmap, 8), 0, "no RAM known yet");
	before = nrec;
	cr_assert_eq(be->ops->start_rings(be, &r), -EINVAL);
	cr_assert_eq(nrec, before, "refused before any ioctl");
	be->ops->log_stop(be);
	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	cr_assert_eq(violations, 0, "%s", violation);
	net_backend_destroy(be);
}

Test(net_log, a_vhost_without_log_all_refuses)
{
	struct net_backend *be;

	offered = KERNEL_FEATURES & ~BIT(VHOST_F_LOG_ALL);
	be = open_vhost(1);
	cr_assert_eq(be->ops->log_start(be, bitmap, sizeof(bitmap)), -EOPNOTSUPP);
	net_backend_destroy(be);
}

Test(net_log, pairs_enabled_later_log_and_stopped_ones_are_left_alone)
{
	struct net_backend *be = open_vhost(2);
	struct net_backend_rings r = rings(4, 1, NULL);
	int from;

	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	from = nrec;
	cr_assert_eq(be->ops->log_start(be, bitmap, sizeof(bitmap)), 0);
	assert_logging(0, true);
	for (int i = from; i < nrec; i++)
		cr_assert_neq(recs[i].fd, FAKE_FD + 1, "pair 1 is not running: not touched");
	cr_assert_eq(be->ops->set_queue_pairs(be, 2), 0);
	assert_logging(1, true);
	check_attach_order(FAKE_FD + 1);
	cr_assert_eq(be->ops->set_queue_pairs(be, 1), 0);
	be->ops->log_stop(be);
	assert_logging(0, false);
	cr_assert_eq(be->ops->set_queue_pairs(be, 2), 0);
	assert_logging(1, false);
	cr_assert_eq(violations, 0, "%s", violation);
	net_backend_destroy(be);
}

static int ring_errors;

static void on_ring_error(void *opaque, const char *why)
{
	__atomic_fetch_add((int *)opaque, 1, __ATOMIC_SEQ_CST);
}

Test(net_log, a_pair_that_cannot_stop_logging_is_stopped_and_fails_the_device)
{
	struct net_backend *be = open_vhost(1);
	struct net_backend_rings r = rings(2, 1, NULL);

	r.ring_error = on_ring_error;
	r.ring_error_opaque = &ring_errors;
	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	/* The ring switch fails, and so does the switch back. */
	fail_req = VHOST_SET_VRING_ADDR;
	fail_errno = EINVAL;
	cr_assert_eq(be->ops->log_start(be, bitmap, sizeof(bitmap)), -EINVAL);
	fail_req = 0;
	/* The caller frees the bitmap now: no vq may still be able to write it. */
	cr_assert_not(devs[0].vq[0].attached || devs[0].vq[1].attached);
	cr_assert_not(devs[0].feat & BIT(VHOST_F_LOG_ALL));
	for (int i = 0; i < 200 && !__atomic_load_n(&ring_errors, __ATOMIC_SEQ_CST); i++)
		usleep(5000);
	cr_assert_eq(ring_errors, 1, "the device fails so the driver resets it");
	/* A failure the rollback survives leaves the rings running, unlogged. */
	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	fail_req = VHOST_SET_FEATURES;
	fail_errno = EFAULT;
	fail_once = true;
	cr_assert_eq(be->ops->log_start(be, bitmap, sizeof(bitmap)), -EFAULT);
	fail_req = 0;
	cr_assert(devs[0].vq[0].attached && devs[0].vq[1].attached);
	assert_logging(0, false);
	cr_assert_eq(ring_errors, 1);
	cr_assert_eq(violations, 0, "%s", violation);
	net_backend_destroy(be);
}

/* What QEMU's announce_self_create() puts on the wire for mac. */
static void expected_rarp(uint8_t exp[60])
{
	static const uint8_t head[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	memset(exp, 0, 60);
	memcpy(exp, head, 6);
	memcpy(exp + 6, mac, 6);
	exp[12] = 0x80, exp[13] = 0x35; /* ETH_P_RARP */
	exp[14] = 0x00, exp[15] = 0x01; /* htype: Ethernet */
	exp[16] = 0x08, exp[17] = 0x00; /* ptype: IPv4 */
	exp[18] = 6, exp[19] = 4;	/* hlen, plen */
	exp[20] = 0x00, exp[21] = 0x03; /* op: reverse request */
	memcpy(exp + 22, mac, 6);	/* sha; spa 0 */
	memcpy(exp + 32, mac, 6);	/* tha; tpa 0 */
}

struct frames_fake {
	struct net_backend be;
	uint32_t caps;
	int sent;
	uint8_t buf[4][128];
	size_t len[4];
};

static void ff_destroy(struct net_backend *be)
{
}

static uint32_t ff_caps(struct net_backend *be)
{
	return ((struct frames_fake *)be)->caps;
}

static int ff_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct frames_fake *f = (struct frames_fake *)be;
	size_t len = 0;

	cr_assert_lt(f->sent, 4);
	for (int i = 0; i < iovcnt; i++) {
		cr_assert_leq(len + iov[i].iov_len, sizeof(f->buf[0]));
		memcpy(f->buf[f->sent] + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	f->len[f->sent++] = len;
	return 0;
}

static const struct net_backend_ops ff_ops = {
	.name = "fake",
	.mode = NET_BACKEND_FRAMES,
	.destroy = ff_destroy,
	.caps = ff_caps,
	.send = ff_send,
};

Test(net_log, rarp_frame_is_qemus_byte_for_byte)
{
	uint8_t exp[60], got[NET_RARP_LEN];

	expected_rarp(exp);
	cr_assert_eq(net_rarp_build(got, mac), 60);
	cr_assert_arr_eq(got, exp, 60);
}

Test(net_log, announce_through_a_frames_backend, .timeout = 10)
{
	static struct frames_fake ff[2] = {{.be.ops = &ff_ops, .caps = NET_CAP_VNET_HDR},
					   {.be.ops = &ff_ops}};
	uint8_t exp[60], zero[NET_VNET_HDR_LEN] = {0};

	expected_rarp(exp);
	for (int c = 0; c < 2; c++) {
		struct virtio_net *n = virtio_net_create(&mem, &ff[c].be, mac);
		size_t hdr = c ? 0 : NET_VNET_HDR_LEN;

		cr_assert_eq(virtio_net_log_start(n, bitmap, sizeof(bitmap)), 0,
			     "nothing to log for a frames backend");
		cr_assert_eq(virtio_net_announce(n), 0);
		cr_assert_eq(ff[c].sent, NET_ANNOUNCE_ROUNDS);
		for (int i = 0; i < ff[c].sent; i++) {
			cr_assert_eq(ff[c].len[i], hdr + 60);
			cr_assert_arr_eq(ff[c].buf[i], zero, hdr, "a zero vnet header first");
			cr_assert_arr_eq(ff[c].buf[i] + hdr, exp, 60);
		}
		virtio_net_log_stop(n);
		virtio_net_destroy(n);
	}
}

/* Read one datagram from sv and check it is header + RARP. */
static void expect_on_wire(int sv)
{
	uint8_t got[256], exp[60], zero[NET_VNET_HDR_LEN] = {0};
	ssize_t len = recv(sv, got, sizeof(got), MSG_DONTWAIT);

	expected_rarp(exp);
	cr_assert_eq(len, NET_VNET_HDR_LEN + 60);
	cr_assert_arr_eq(got, zero, NET_VNET_HDR_LEN);
	cr_assert_arr_eq(got + NET_VNET_HDR_LEN, exp, 60);
}

Test(net_log, announce_through_vhost_and_the_tap, .timeout = 10)
{
	struct net_backend *be = NULL;
	uint8_t frame[NET_RARP_LEN];
	struct virtio_net *n;
	char err[256] = "";
	int sv[2];

	net_rarp_build(frame, mac);
	/* A seqpacket pair keeps frame boundaries, as a tap fd does. */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	cr_assert_eq(net_vhost_open(&sv[0], 1, tap_caps, "tapt0", &be, err, sizeof(err)), 0, "%s",
		     err);
	n = virtio_net_create(&mem, be, mac);
	cr_assert_eq(virtio_net_ops.set_features(n, BIT(VIRTIO_F_VERSION_1)), 0);
	cr_assert_eq(virtio_net_ops.start(n, qi, 2), 0);
	cr_assert_eq(virtio_net_announce(n), 0, "while vhost runs the rings");
	for (int i = 0; i < NET_ANNOUNCE_ROUNDS; i++)
		expect_on_wire(sv[1]);
	cr_assert_lt(recv(sv[1], err, sizeof(err), MSG_DONTWAIT), 0, "exactly three");
	virtio_net_destroy(n);
	close(sv[1]);

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	cr_assert_eq(net_tap_wrap(sv[0], "tapt0", &be), 0);
	cr_assert_eq(be->ops->announce(be, frame, sizeof(frame)), 0,
		     "the tap's own op: any thread");
	expect_on_wire(sv[1]);
	net_backend_destroy(be);
	close(sv[1]);
}

/*
 * The real thing: a vhost worker (the kernel's, or tests/vhost-model's
 * under run-tests.sh) receives a frame while kvmini's backend logs, and
 * sets the bits of exactly the pages it wrote: the receive buffer and the
 * used ring. Needs /dev/vhost-net, root and a network namespace.
 */
Test(net_log, a_vhost_worker_logs_what_it_writes, .timeout = 20)
{
	uint8_t *ram = mem.region[0].hva, frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const uint16_t one16 = 1, rxdesc_flags = 2; /* VRING_DESC_F_WRITE */
	const uint64_t buf = 0x80000, one = 1;
	struct net_backend_rings r = rings(2, 1, NULL);
	struct net_backend *be = NULL;
	struct ifreq ifr = {0};
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_halen = 6};
	char name[IFNAMSIZ], err[256];
	uint16_t used = 0;
	uint32_t len = 2048;
	int fd, s, i;

	if (access("/dev/vhost-net", R_OK | W_OK))
		cr_skip_test("no /dev/vhost-net (run-tests.sh of tests/vhost-model runs this)");
	if (geteuid() != 0 || unshare(CLONE_NEWNET))
		cr_skip_test("needs root and a network namespace for a tap");
	net_vhost_set_sys(NULL);
	cr_assert_eq(net_tap_open_queues("kvlog%d", 1, &fd, name, NULL, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(net_vhost_open(&fd, 1, net_tap_probe_caps(fd), name, &be, err, sizeof(err)), 0,
		     "%s", err);
	s = socket(AF_PACKET, SOCK_RAW, 0);
	cr_assert_geq(s, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	sll.sll_ifindex = if_nametoindex(name);
	/* One 2 KiB receive buffer at GPA 0x80000, made available (virtio 1.2, 2.7). */
	memcpy(ram + qi[0].desc, &buf, 8);
	memcpy(ram + qi[0].desc + 8, &len, 4);
	memcpy(ram + qi[0].desc + 12, &rxdesc_flags, 2);
	memcpy(ram + qi[0].avail + 2, &one16, 2);
	cr_assert_eq(be->ops->start_rings(be, &r), 0);
	cr_assert_eq(be->ops->log_start(be, bitmap, sizeof(bitmap)), 0);
	memset(bitmap, 0, sizeof(bitmap));
	cr_assert_eq(write(qi[0].kick_fd, &one, sizeof(one)), sizeof(one));
	memcpy(frame + 6, mac, 6);
	frame[12] = 0x88, frame[13] = 0xb5;
	cr_assert_eq(sendto(s, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
		     sizeof(frame));
	for (i = 0; i < 400 && used != 1; i++) {
		usleep(5000);
		used = __atomic_load_n((uint16_t *)(ram + qi[0].used + 2), __ATOMIC_ACQUIRE);
	}
	cr_assert_eq(used, 1, "vhost received the frame");
	/*
	 * The worker logs the used ring after writing its index (vhost's
	 * log_used() follows the write): give it up to 2 s, not a fixed pause.
	 */
	for (i = 0; i < 400 && !(dirty_bit(buf) && dirty_bit(qi[0].used)); i++)
		usleep(5000);
	cr_assert(dirty_bit(buf), "the receive buffer's page");
	cr_assert(dirty_bit(qi[0].used), "the used ring's page");
	cr_assert_not(dirty_bit(buf + 0x1000) || dirty_bit(qi[0].desc) || dirty_bit(qi[1].used),
		      "only what vhost wrote");
	be->ops->log_stop(be);
	close(s);
	net_backend_destroy(be);
}
