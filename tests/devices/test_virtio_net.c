// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-net against a fake frames-mode backend (one end of a SOCK_SEQPACKET
 * socketpair; the test holds the other end), with rings built in a small
 * fake guest memory and the NIC thread running for real.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devices/net_backend.h"
#include "devices/virtio_net.h"
#include "devices/virtq.h"
#include "vmm/memory.h"

#define QSZ 16
#define MEM (2 << 20)
#define RX_DESC 0x1000
#define RX_AVAIL 0x2000
#define RX_USED 0x3000
#define TX_DESC 0x5000
#define TX_AVAIL 0x6000
#define TX_USED 0x7000
#define RX_BUF 0x20000 /* 16 receive buffers, one page each */
#define TX_BUF 0x40000

#define BIT(n) (1ULL << (n))

struct fake_be {
	struct net_backend be;
	int fd;
	uint32_t caps;
	uint32_t offloads;
	/* The host side went away (a deleted tap): calls fail with EBADFD, the fd polls ready. */
	bool gone;
	int gone_fd;
};

static struct fake_be *to_fake(struct net_backend *be)
{
	return (struct fake_be *)be;
}

static void fake_destroy(struct net_backend *be)
{
	if (to_fake(be)->gone_fd >= 0)
		close(to_fake(be)->gone_fd);
	close(to_fake(be)->fd);
	free(be);
}

static uint32_t fake_caps(struct net_backend *be)
{
	return to_fake(be)->caps;
}

static int fake_set_offloads(struct net_backend *be, uint32_t o)
{
	to_fake(be)->offloads = o;
	return 0;
}

static int fake_send(struct net_backend *be, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt};

	if (__atomic_load_n(&to_fake(be)->gone, __ATOMIC_ACQUIRE))
		return -EBADFD;
	return sendmsg(to_fake(be)->fd, &m, MSG_DONTWAIT) < 0 ? -errno : 0;
}

static ssize_t fake_recv(struct net_backend *be, void *buf, size_t len)
{
	ssize_t n;

	if (__atomic_load_n(&to_fake(be)->gone, __ATOMIC_ACQUIRE))
		return -EBADFD;
	n = recv(to_fake(be)->fd, buf, len, MSG_DONTWAIT);

	return n < 0 ? -errno : n;
}

static int fake_poll_prepare(struct net_backend *be, struct net_pollset *ps, bool want_rx)
{
	struct fake_be *f = to_fake(be);

	if (!want_rx)
		return 0;
	if (__atomic_load_n(&f->gone, __ATOMIC_ACQUIRE))
		return net_pollset_add(ps, f->gone_fd, POLLIN) < 0 ? -ENOMEM : 0;
	return net_pollset_add(ps, f->fd, POLLIN) < 0 ? -ENOMEM : 0;
}

static void fake_poll_dispatch(struct net_backend *be, const struct net_pollset *ps)
{
}

static const struct net_backend_ops fake_ops = {
	.name = "fake",
	.mode = NET_BACKEND_FRAMES,
	.destroy = fake_destroy,
	.caps = fake_caps,
	.set_offloads = fake_set_offloads,
	.send = fake_send,
	.recv = fake_recv,
	.poll_prepare = fake_poll_prepare,
	.poll_dispatch = fake_poll_dispatch,
};

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};
static const uint32_t tap_like = NET_CAP_VNET_HDR | NET_CAP_CSUM | NET_CAP_TSO4 | NET_CAP_TSO6 |
				 NET_CAP_GUEST_CSUM | NET_CAP_GUEST_TSO4 | NET_CAP_GUEST_TSO6;

static struct guest_memory mem;
static struct virtio_net *net;
static struct fake_be *fake;
static int peer; /* the test's end of the socketpair */
static struct virtio_queue_info qi[2];
static uint16_t rx_avail, tx_avail, tx_next_desc;
static int errors;
static char last_error[256];
static int config_changes;

static void on_config_changed(void *t)
{
	__atomic_add_fetch(&config_changes, 1, __ATOMIC_RELAXED);
}

static void on_error(void *t, const char *why)
{
	errors++;
	snprintf(last_error, sizeof(last_error), "%s", why);
}

static uint8_t *gp(uint64_t gpa)
{
	return guest_ptr(&mem, gpa, 1);
}

static void make_net(uint32_t caps)
{
	struct virtio_transport t = {.device_error = on_error, .config_changed = on_config_changed};
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	fake = calloc(1, sizeof(*fake));
	fake->be.ops = &fake_ops;
	fake->fd = sv[0];
	fake->caps = caps;
	fake->gone_fd = eventfd(1, 0); /* always readable, never drained */
	peer = sv[1];
	net = virtio_net_create(&mem, &fake->be, mac);
	cr_assert_not_null(net);
	virtio_net_set_transport(net, &t);
}

static void setup(void)
{
	cr_assert_eq(guest_memory_init(&mem, MEM, false), 0);
	qi[0] = (struct virtio_queue_info){
		.size = QSZ, .enabled = true, .desc = RX_DESC, .avail = RX_AVAIL, .used = RX_USED};
	qi[1] = (struct virtio_queue_info){
		.size = QSZ, .enabled = true, .desc = TX_DESC, .avail = TX_AVAIL, .used = TX_USED};
	for (int i = 0; i < 2; i++) {
		qi[i].kick_fd = eventfd(0, EFD_NONBLOCK);
		qi[i].call_fd = eventfd(0, EFD_NONBLOCK);
	}
	errors = 0;
	config_changes = 0;
	net = NULL;
}

static void teardown(void)
{
	virtio_net_destroy(net);
	close(peer);
	for (int i = 0; i < 2; i++) {
		close(qi[i].kick_fd);
		close(qi[i].call_fd);
	}
	guest_memory_free(&mem);
}

/* Fresh rings, as a driver sets them up after a reset. */
static void reset_rings(void)
{
	memset(gp(0), 0, 0x10000);
	rx_avail = tx_avail = tx_next_desc = 0;
}

static void start(uint64_t features)
{
	cr_assert_eq(virtio_net_ops.set_features(net, features), 0);
	cr_assert_eq(virtio_net_ops.start(net, qi, 2), 0);
}

static void set_desc(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = gp(table + 16ULL * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void publish(uint64_t avail, uint16_t *idx, uint16_t head)
{
	((uint16_t *)gp(avail + 4))[*idx % QSZ] = head;
	__atomic_store_n((uint16_t *)gp(avail + 2), ++*idx, __ATOMIC_RELEASE);
}

static void kick(int q)
{
	uint64_t one = 1;

	cr_assert_eq(write(qi[q].kick_fd, &one, 8), 8);
}

static void add_rx_buffers(int n, uint32_t len)
{
	for (int i = 0; i < n; i++) {
		uint16_t d = rx_avail % QSZ;

		set_desc(RX_DESC, d, RX_BUF + 0x1000ULL * d, len, VIRTQ_DESC_F_WRITE, 0);
		publish(RX_AVAIL, &rx_avail, d);
	}
}

/* A TX frame: header in one descriptor, payload in a second. */
static void add_tx_frame(const uint8_t hdr[12], const void *payload, uint32_t len)
{
	uint16_t d = tx_next_desc;
	uint64_t buf = TX_BUF + 0x2000ULL * (d / 2 % 8);

	memcpy(gp(buf), hdr, 12);
	memcpy(gp(buf + 0x100), payload, len);
	set_desc(TX_DESC, d, buf, 12, VIRTQ_DESC_F_NEXT, d + 1);
	set_desc(TX_DESC, d + 1, buf + 0x100, len, 0, 0);
	tx_next_desc = (d + 2) % QSZ;
	publish(TX_AVAIL, &tx_avail, d);
}

static uint16_t used_idx(uint64_t used)
{
	return __atomic_load_n((uint16_t *)gp(used + 2), __ATOMIC_ACQUIRE);
}

static bool wait_used(uint64_t used, uint16_t want)
{
	for (int i = 0; i < 2000; i++) {
		if (used_idx(used) == want)
			return true;
		usleep(1000);
	}
	return false;
}

static bool wait_fd(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

static uint64_t read_call(int q)
{
	uint64_t v = 0;

	if (read(qi[q].call_fd, &v, 8) != 8)
		return 0;
	return v;
}

static bool dirty(uint64_t gpa)
{
	uint64_t pg = gpa >> 12;

	return mem.region[0].vmm_dirty[pg / 64] & (1UL << (pg % 64));
}

static const uint64_t basic = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) |
			      BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_STATUS);

TestSuite(virtio_net, .init = setup, .fini = teardown, .timeout = 30);

Test(virtio_net, config_space)
{
	uint8_t cfg[VIRTIO_NET_CONFIG_SIZE];
	uint16_t v;

	make_net(0);
	cr_assert_eq(virtio_net_ops.device_id, 1);
	cr_assert_eq(virtio_net_ops.num_queues(net), 2);
	virtio_net_ops.config_read(net, 0, cfg, sizeof(cfg));
	cr_assert_eq(memcmp(cfg, mac, 6), 0);
	memcpy(&v, cfg + 6, 2);
	cr_assert_eq(v, VIRTIO_NET_S_LINK_UP);
	memcpy(&v, cfg + 10, 2);
	cr_assert_eq(v, 1500);
	virtio_net_ops.config_read(net, 10, cfg, 2);
	cr_assert_eq(cfg[0] | cfg[1] << 8, 1500, "partial reads at an offset");
	virtio_net_ops.config_write(net, 0, (uint8_t[6]){0}, 6);
	virtio_net_ops.config_read(net, 0, cfg, 6);
	cr_assert_eq(memcmp(cfg, mac, 6), 0, "MAC is read-only with VERSION_1");
}

Test(virtio_net, bare_backend_offers_no_offloads)
{
	uint64_t f;

	make_net(0);
	f = virtio_net_ops.get_features(net);
	cr_assert(f & BIT(VIRTIO_F_VERSION_1));
	cr_assert(f & BIT(VIRTIO_NET_F_MRG_RXBUF));
	cr_assert(f & BIT(VIRTIO_F_EVENT_IDX));
	cr_assert(f & BIT(VIRTIO_F_INDIRECT_DESC));
	cr_assert(f & BIT(VIRTIO_NET_F_MTU));
	cr_assert_not(f & (BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
			   BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO4)));
	cr_assert_not(f & BIT(VIRTIO_NET_F_CTRL_VQ));
}

Test(virtio_net, vnet_hdr_backend_offers_offloads_and_refuses_bad_combos)
{
	uint64_t f;

	make_net(tap_like);
	f = virtio_net_ops.get_features(net);
	cr_assert(f & BIT(VIRTIO_NET_F_CSUM));
	cr_assert(f & BIT(VIRTIO_NET_F_GUEST_CSUM));
	cr_assert(f & BIT(VIRTIO_NET_F_HOST_TSO4));
	cr_assert(f & BIT(VIRTIO_NET_F_GUEST_TSO6));
	cr_assert_not(f & BIT(VIRTIO_NET_F_HOST_UFO));
	cr_assert_eq(virtio_net_ops.set_features(net, f), 0);
	cr_assert_neq(virtio_net_ops.set_features(net, f & ~BIT(VIRTIO_F_VERSION_1)), 0,
		      "legacy is refused");
	cr_assert_neq(virtio_net_ops.set_features(net, basic | BIT(VIRTIO_NET_F_HOST_TSO4)), 0,
		      "TSO needs CSUM");
	cr_assert_neq(virtio_net_ops.set_features(net, basic | BIT(VIRTIO_NET_F_GUEST_TSO4)), 0,
		      "GUEST_TSO needs GUEST_CSUM");
	cr_assert_neq(virtio_net_ops.set_features(net, basic | BIT(VIRTIO_NET_F_CTRL_VQ)), 0,
		      "not offered");
	/* What reaches the backend: the guest's receive offloads. */
	cr_assert_eq(virtio_net_ops.set_features(net, basic | BIT(VIRTIO_NET_F_GUEST_CSUM) |
							      BIT(VIRTIO_NET_F_GUEST_TSO4)),
		     0);
	cr_assert_eq(virtio_net_ops.start(net, qi, 2), 0);
	cr_assert_eq(fake->offloads, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4);
}

Test(virtio_net, start_refuses_missing_queues)
{
	make_net(0);
	cr_assert_eq(virtio_net_ops.set_features(net, basic), 0);
	cr_assert_neq(virtio_net_ops.start(net, qi, 1), 0);
	qi[1].enabled = false;
	cr_assert_neq(virtio_net_ops.start(net, qi, 2), 0);
	qi[1].enabled = true;
	qi[1].used = MEM - 8;
	cr_assert_neq(virtio_net_ops.start(net, qi, 2), 0, "ring outside RAM");
}

static void tx_case(uint32_t caps, bool expect_hdr)
{
	uint8_t hdr[12] = {1, 0, 0, 0, 0, 0, 34, 0, 16, 0, 0, 0};
	uint8_t payload[60], got[200];
	struct virtio_net_stats st;
	ssize_t n;

	for (int i = 0; i < 60; i++)
		payload[i] = i * 7;
	make_net(caps);
	start(basic);
	add_tx_frame(hdr, payload, sizeof(payload));
	kick(1);
	cr_assert(wait_fd(peer, 2000), "the frame reaches the backend");
	n = recv(peer, got, sizeof(got), 0);
	if (expect_hdr) {
		cr_assert_eq(n, 72);
		cr_assert_eq(memcmp(got, hdr, 12), 0, "header passed through");
		cr_assert_eq(memcmp(got + 12, payload, 60), 0);
	} else {
		cr_assert_eq(n, 60, "header stripped");
		cr_assert_eq(memcmp(got, payload, 60), 0);
	}
	cr_assert(wait_used(TX_USED, 1));
	cr_assert(wait_fd(qi[1].call_fd, 2000), "TX completion interrupts");
	cr_assert_eq(*(uint32_t *)gp(TX_USED + 4), 0, "used id is the head");
	cr_assert(dirty(TX_USED));
	virtio_net_get_stats(net, &st);
	cr_assert_eq(st.tx_frames, 1);
	cr_assert_eq(st.tx_bytes, 60);
	cr_assert_geq(st.kicks, 1);
	cr_assert_geq(st.interrupts, 1);
}

Test(virtio_net, tx_frame_bare_backend)
{
	tx_case(0, false);
}

Test(virtio_net, tx_frame_vnet_hdr_backend)
{
	tx_case(tap_like, true);
}

Test(virtio_net, tx_no_interrupt_flag_suppresses_the_call)
{
	uint8_t hdr[12] = {0}, payload[60] = {1};

	make_net(0);
	start(basic);
	*(uint16_t *)gp(TX_AVAIL) = VIRTQ_AVAIL_F_NO_INTERRUPT;
	add_tx_frame(hdr, payload, sizeof(payload));
	kick(1);
	cr_assert(wait_used(TX_USED, 1));
	cr_assert_not(wait_fd(qi[1].call_fd, 200), "NO_INTERRUPT: no call");
}

Test(virtio_net, tx_used_event_suppresses_the_call)
{
	uint8_t hdr[12] = {0}, payload[60] = {1};

	make_net(0);
	start(basic | BIT(VIRTIO_F_EVENT_IDX));
	add_tx_frame(hdr, payload, sizeof(payload));
	kick(1);
	cr_assert(wait_used(TX_USED, 1));
	cr_assert(wait_fd(qi[1].call_fd, 2000), "the first completion interrupts");
	read_call(1);
	/* used_event = 5: no interrupt until used->idx passes 5. */
	*(uint16_t *)gp(TX_AVAIL + 4 + 2 * QSZ) = 5;
	add_tx_frame(hdr, payload, sizeof(payload));
	kick(1);
	cr_assert(wait_used(TX_USED, 2));
	cr_assert_not(wait_fd(qi[1].call_fd, 200), "used_event not passed: no call");
	cr_assert_eq(*(uint16_t *)gp(TX_USED + 4 + 8 * QSZ), 2, "avail_event re-armed");
}

Test(virtio_net, rx_frame_merges_buffers)
{
	uint8_t frame[100], hdr[12], zero[12] = {0};
	uint16_t nb;
	struct virtio_net_stats st;

	for (int i = 0; i < 100; i++)
		frame[i] = 0xa0 ^ i;
	make_net(0);
	start(basic);
	add_rx_buffers(4, 64);
	kick(0);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), 100);
	cr_assert(wait_used(RX_USED, 2), "12 + 100 bytes take two 64-byte buffers");
	cr_assert(wait_fd(qi[0].call_fd, 2000));
	memcpy(hdr, gp(RX_BUF), 12);
	memcpy(&nb, hdr + 10, 2);
	cr_assert_eq(nb, 2, "num_buffers");
	cr_assert_eq(memcmp(hdr, zero, 10), 0, "zeroed header for a bare backend");
	cr_assert_eq(memcmp(gp(RX_BUF + 12), frame, 52), 0);
	cr_assert_eq(memcmp(gp(RX_BUF + 0x1000), frame + 52, 48), 0);
	cr_assert_eq(*(uint32_t *)gp(RX_USED + 8), 64);
	cr_assert_eq(*(uint32_t *)gp(RX_USED + 16), 48);
	cr_assert(dirty(RX_BUF));
	cr_assert(dirty(RX_BUF + 0x1000));
	cr_assert_not(dirty(RX_BUF + 0x2000), "untouched buffer stays clean");
	cr_assert(dirty(RX_USED));
	virtio_net_get_stats(net, &st);
	cr_assert_eq(st.rx_frames, 1);
	cr_assert_eq(st.rx_bytes, 100);
}

Test(virtio_net, rx_vnet_hdr_passes_through_without_mrg)
{
	uint8_t frame[12 + 80] = {VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 0, 0, 34, 0, 16, 0};
	uint16_t nb;

	memset(frame + 12, 0x5a, 80);
	make_net(tap_like);
	start(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_CSUM));
	add_rx_buffers(2, 2048);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	cr_assert(wait_used(RX_USED, 1));
	cr_assert_eq(memcmp(gp(RX_BUF), frame, 10), 0, "backend's header kept");
	memcpy(&nb, gp(RX_BUF + 10), 2);
	cr_assert_eq(nb, 1);
	cr_assert_eq(*(uint32_t *)gp(RX_USED + 8), sizeof(frame));
}

Test(virtio_net, rx_waits_for_buffers_then_resumes_on_kick)
{
	uint8_t frame[64] = {7};

	make_net(0);
	start(basic);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), 64);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), 64);
	usleep(100000);
	cr_assert_eq(used_idx(RX_USED), 0, "no buffers: nothing delivered");
	add_rx_buffers(4, 2048);
	kick(0);
	cr_assert(wait_used(RX_USED, 2), "both frames delivered after the kick");
}

Test(virtio_net, rx_too_small_buffer_breaks_the_queue_once)
{
	uint8_t frame[64] = {7};

	make_net(0);
	start(basic);
	add_rx_buffers(1, 4);
	kick(0);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), 64);
	for (int i = 0; i < 200 && !errors; i++)
		usleep(1000);
	cr_assert_eq(errors, 1);
	cr_assert_not_null(strstr(last_error, "receive"), "%s", last_error);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), 64);
	kick(0);
	usleep(50000);
	cr_assert_eq(errors, 1, "reported once");
}

Test(virtio_net, malformed_tx_ring_reports_once_and_stops)
{
	struct virtio_net_stats st;

	make_net(0);
	start(basic);
	set_desc(TX_DESC, 0, MEM - 4, 64, 0, 0);
	publish(TX_AVAIL, &tx_avail, 0);
	kick(1);
	for (int i = 0; i < 2000 && !errors; i++)
		usleep(1000);
	cr_assert_eq(errors, 1);
	cr_assert_not_null(strstr(last_error, "outside guest RAM"), "%s", last_error);
	kick(1);
	usleep(50000);
	cr_assert_eq(errors, 1, "reported once");
	virtio_net_get_stats(net, &st);
	cr_assert_eq(st.ring_errors, 1);
	/* A reset and fresh rings bring the queue back. */
	virtio_net_ops.stop(net);
	reset_rings();
	start(basic);
	add_tx_frame((uint8_t[12]){0}, "0123456789abcdef", 16);
	kick(1);
	cr_assert(wait_fd(peer, 2000));
}

Test(virtio_net, reset_mid_traffic_is_clean_and_restartable)
{
	uint8_t hdr[12] = {0}, payload[60], got[100];

	make_net(0);
	for (int round = 0; round < 20; round++) {
		reset_rings();
		start(basic);
		add_rx_buffers(QSZ, 2048);
		kick(0);
		for (int i = 0; i < 4; i++) {
			memset(payload, round, sizeof(payload));
			add_tx_frame(hdr, payload, sizeof(payload));
			cr_assert_eq(send(peer, payload, sizeof(payload), 0), 60);
		}
		kick(1);
		/* Stop with traffic in flight: must join and leave nothing running. */
		virtio_net_ops.stop(net);
		while (recv(peer, got, sizeof(got), MSG_DONTWAIT) > 0)
			;
		while (fake_recv(&fake->be, got, sizeof(got)) > 0)
			;
		read_call(0);
		read_call(1);
		uint16_t rx_used = used_idx(RX_USED), tx_used = used_idx(TX_USED);

		usleep(2000);
		cr_assert_eq(used_idx(RX_USED), rx_used, "nothing touches the rings after stop");
		cr_assert_eq(used_idx(TX_USED), tx_used);
	}
	/* And it still works after all that. */
	reset_rings();
	start(basic);
	add_tx_frame(hdr, "hello, world, this is a frame....", 32);
	kick(1);
	cr_assert(wait_fd(peer, 2000));
	cr_assert_eq(recv(peer, got, sizeof(got), 0), 32);
	cr_assert_eq(memcmp(got, "hello, world", 12), 0);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A tap deleted under the guest polls readable and fails every read with
 * EBADFD: the NIC takes the link down once, tells a driver with STATUS,
 * drops what the guest sends, and its thread goes back to sleep.
 */
Test(virtio_net, backend_gone_takes_the_link_down_once_without_spinning)
{
	static const uint8_t hdr[12], payload[60];
	uint8_t cfg[VIRTIO_NET_CONFIG_SIZE];
	struct virtio_net_stats st;
	double t0, t1;
	uint16_t v;

	make_net(NET_CAP_VNET_HDR);
	start(basic);
	add_rx_buffers(4, 2048);
	__atomic_store_n(&fake->gone, true, __ATOMIC_RELEASE);
	kick(0);
	for (int i = 0; i < 2000 && !virtio_net_link_is_lost(net); i++)
		usleep(1000);
	cr_assert(virtio_net_link_is_lost(net), "the read error takes the link down");
	virtio_net_ops.config_read(net, 6, cfg, 2);
	memcpy(&v, cfg, 2);
	cr_assert_eq(v & VIRTIO_NET_S_LINK_UP, 0, "the status field says link down");
	cr_assert_eq(__atomic_load_n(&config_changes, __ATOMIC_RELAXED), 1,
		     "one configuration-change notification");
	t0 = cpu_seconds();
	usleep(300000);
	t1 = cpu_seconds();
	cr_assert_lt(t1 - t0, 0.05, "the NIC thread sleeps (%.3f s of CPU in 0.3 s)", t1 - t0);

	add_tx_frame(hdr, payload, sizeof(payload));
	kick(1);
	cr_assert(wait_used(TX_USED, 1), "a frame sent on a dead link is consumed");
	virtio_net_get_stats(net, &st);
	cr_assert(st.link_lost);
	cr_assert_eq(st.tx_frames, 0);
	cr_assert_eq(st.tx_dropped, 1);
	cr_assert_eq(used_idx(RX_USED), 0, "nothing received");
	cr_assert_eq(errors, 0, "not a device error: the device still works");
	cr_assert_eq(__atomic_load_n(&config_changes, __ATOMIC_RELAXED), 1, "said once");
}

Test(virtio_net, backend_gone_without_status_feature_sends_no_notification)
{
	make_net(0);
	start(basic & ~BIT(VIRTIO_NET_F_STATUS));
	add_rx_buffers(2, 2048);
	__atomic_store_n(&fake->gone, true, __ATOMIC_RELEASE);
	kick(0);
	for (int i = 0; i < 2000 && !virtio_net_link_is_lost(net); i++)
		usleep(1000);
	cr_assert(virtio_net_link_is_lost(net));
	usleep(20000);
	cr_assert_eq(__atomic_load_n(&config_changes, __ATOMIC_RELAXED), 0,
		     "5.1.4.2: without STATUS the driver is not told");
}
