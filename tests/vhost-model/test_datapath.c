// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-model tests, datapath: rings in an mmap'd "guest memory", a real tap
 * in a network namespace of our own, an AF_PACKET socket on the tap as the
 * peer. Needs root (unshare(CLONE_NEWNET), TUNSETIFF); skips otherwise.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/vhost-model/test_util.h"

#define GPA 0x40000000ULL
#define MEM_SIZE (1 << 20)
#define QNUM 16
#define RX_BUF_OFF 0x20000	/* RX buffer i at one page each */
#define TX_BUF_OFF 0x60000
#define ETH_TEST 0x88b5
#define HDR12 12
/* one bit per 4 KiB page up to GPA + MEM_SIZE */
#define BITMAP_SIZE ((GPA + MEM_SIZE) / 4096 / 8)

struct guest {
	uint8_t *mem;
	uint8_t *bitmap;
	int vfd, tap, psock, ifindex;
	int kick[2], call[2], err[2], logfd;
	uint16_t avail_idx[2];
	uint16_t next_desc[2];
};

static struct guest g;
static int netns_state;		/* 0 untried, 1 ready, -1 failed */
static int tap_count;

static uint64_t ring_off(int q, int part)
{
	return 0x8000ULL * q + 0x1000ULL * part;	/* part 0 desc, 1 avail, 2 used */
}

static struct vring_desc *desc_of(int q)
{
	return (struct vring_desc *)(g.mem + ring_off(q, 0));
}

static volatile uint16_t *avail_of(int q)
{
	return (volatile uint16_t *)(g.mem + ring_off(q, 1));
}

static volatile uint16_t *used16(int q)
{
	return (volatile uint16_t *)(g.mem + ring_off(q, 2));
}

static struct vring_used_elem *used_elem(int q, int i)
{
	return (struct vring_used_elem *)(g.mem + ring_off(q, 2) + 4 + 8 * i);
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);

	if (fd >= 0 && write(fd, s, strlen(s)) < 0)
		perror(path);
	close(fd);
}

static bool netns(void)
{
	if (!netns_state) {
		netns_state = -1;
		if (geteuid() == 0 && unshare(CLONE_NEWNET) == 0) {
			/* no IPv6 chatter (RS, MLD) on the tap */
			write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
			write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
			netns_state = 1;
		}
	}
	return netns_state == 1;
}

static int eventfd_count(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? (int)v : 0;
}

static bool wait_fd(int fd, int ms)
{
	return poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, ms) == 1;
}

#define msleep(ms) usleep((ms) * 1000)

static bool wait_used(int q, uint16_t want)
{
	for (int i = 0; i < 400; i++) {
		if (__atomic_load_n(&used16(q)[1], __ATOMIC_ACQUIRE) == want)
			return true;
		msleep(5);
	}
	return false;
}

static int open_tap(bool vnet)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), s, hl = HDR12;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, IFNAMSIZ, "vmt%d", tap_count++);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || (vnet && ioctl(fd, TUNSETVNETHDRSZ, &hl) < 0))
		goto err;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto err;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		goto err;
	close(s);
	g.ifindex = if_nametoindex(ifr.ifr_name);
	return fd;
err:
	close(fd);
	return -1;
}

static int open_psock(void)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_TEST),
				   .sll_ifindex = g.ifindex };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_TEST));

	if (s >= 0 && bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static void teardown(void)
{
	if (g.vfd >= 0)
		close(g.vfd);
	if (g.tap >= 0)
		close(g.tap);
	if (g.psock >= 0)
		close(g.psock);
	for (int q = 0; q < 2; q++) {
		close(g.kick[q]);
		close(g.call[q]);
		close(g.err[q]);
	}
	close(g.logfd);
	munmap(g.mem, MEM_SIZE);
	munmap(g.bitmap, BITMAP_SIZE);
	memset(&g, 0, sizeof(g));
	g.vfd = g.tap = g.psock = -1;
}

/* A device with both rings on a fresh tap; log: VHOST_VRING_F_LOG on both. */
static int setup(uint64_t features, bool vnet_tap, bool log)
{
	struct {
		struct vhost_memory m;
		struct vhost_memory_region r[1];
	} mt = { { 1, 0 }, { { GPA, MEM_SIZE, 0, 0 } } };
	struct vhost_vring_state s;
	struct vhost_vring_file f;
	uint64_t lb;

	memset(&g, 0, sizeof(g));
	g.vfd = g.tap = g.psock = -1;
	T_SKIP_IF(geteuid() != 0, "needs root for a network namespace and a tap");
	T_SKIP_IF(!netns(), "unshare(CLONE_NEWNET) failed");
	g.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	g.bitmap = mmap(NULL, BITMAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(g.mem != MAP_FAILED && g.bitmap != MAP_FAILED);
	g.tap = open_tap(vnet_tap);
	T_ASSERT(g.tap >= 0);
	g.psock = open_psock();
	T_ASSERT(g.psock >= 0);
	g.vfd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
	T_ASSERT(g.vfd >= 0);
	g.logfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	T_IOCTL(g.vfd, VHOST_SET_OWNER, NULL, 0);
	T_IOCTL(g.vfd, VHOST_SET_FEATURES, &features, 0);
	mt.r[0].userspace_addr = (uintptr_t)g.mem;
	T_IOCTL(g.vfd, VHOST_SET_MEM_TABLE, &mt, 0);
	if (log) {
		lb = (uintptr_t)g.bitmap;
		T_IOCTL(g.vfd, VHOST_SET_LOG_BASE, &lb, 0);
		T_IOCTL(g.vfd, VHOST_SET_LOG_FD, &g.logfd, 0);
	}
	for (int q = 0; q < 2; q++) {
		struct vhost_vring_addr a = {
			.index = q, .flags = log ? 1 << VHOST_VRING_F_LOG : 0,
			.desc_user_addr = (uintptr_t)g.mem + ring_off(q, 0),
			.avail_user_addr = (uintptr_t)g.mem + ring_off(q, 1),
			.used_user_addr = (uintptr_t)g.mem + ring_off(q, 2),
			.log_guest_addr = GPA + ring_off(q, 2) };

		g.kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		g.call[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		g.err[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		s = (struct vhost_vring_state){ q, QNUM };
		T_IOCTL(g.vfd, VHOST_SET_VRING_NUM, &s, 0);
		s.num = 0;
		T_IOCTL(g.vfd, VHOST_SET_VRING_BASE, &s, 0);
		T_IOCTL(g.vfd, VHOST_SET_VRING_ADDR, &a, 0);
		f = (struct vhost_vring_file){ q, g.kick[q] };
		T_IOCTL(g.vfd, VHOST_SET_VRING_KICK, &f, 0);
		f.fd = g.call[q];
		T_IOCTL(g.vfd, VHOST_SET_VRING_CALL, &f, 0);
		f.fd = g.err[q];
		T_IOCTL(g.vfd, VHOST_SET_VRING_ERR, &f, 0);
		f.fd = g.tap;
		T_IOCTL(g.vfd, VHOST_NET_SET_BACKEND, &f, 0);
	}
	return T_PASS;
}

static void kick(int q)
{
	uint64_t one = 1;

	if (write(g.kick[q], &one, sizeof(one)) < 0)
		abort();
}

/* Make a chain available: descriptors already filled from head on. */
static void publish(int q, uint16_t head)
{
	avail_of(q)[2 + g.avail_idx[q] % QNUM] = head;
	__atomic_store_n(&avail_of(q)[1], ++g.avail_idx[q], __ATOMIC_RELEASE);
	kick(q);
}

static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = ETH_TEST >> 8;
	f[13] = ETH_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i);
}

/* TX: header and frame in two chained descriptors. */
static uint16_t tx_post(const uint8_t *frame, size_t len, size_t hlen, uint64_t buf_gpa)
{
	uint16_t head = g.next_desc[1];
	struct vring_desc *d = desc_of(1);
	uint8_t *buf = g.mem + (buf_gpa - GPA);

	memset(buf, 0, hlen);
	memcpy(buf + 0x800, frame, len);
	d[head] = (struct vring_desc){ buf_gpa, hlen, VRING_DESC_F_NEXT, (head + 1) % QNUM };
	d[(head + 1) % QNUM] = (struct vring_desc){ buf_gpa + 0x800, len, 0, 0 };
	g.next_desc[1] = (head + 2) % QNUM;
	publish(1, head);
	return head;
}

static ssize_t peer_recv(uint8_t *buf, size_t len)
{
	struct sockaddr_ll sll;
	socklen_t sl;
	ssize_t n;

	for (int i = 0; i < 10; i++) {
		if (!wait_fd(g.psock, 200))
			continue;
		sl = sizeof(sll);
		n = recvfrom(g.psock, buf, len, 0, (struct sockaddr *)&sll, &sl);
		if (n > 0 && sll.sll_pkttype != PACKET_OUTGOING)
			return n;
	}
	return -1;
}

static int peer_send(const uint8_t *frame, size_t len)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = g.ifindex,
				   .sll_halen = 6 };

	return sendto(g.psock, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) ==
	       (ssize_t)len ? 0 : -1;
}

/* RX: n single-descriptor buffers of size bytes, one page each. */
static void rx_post(int n, uint32_t size)
{
	struct vring_desc *d = desc_of(0);

	for (int i = 0; i < n; i++) {
		uint16_t head = g.next_desc[0];

		d[head] = (struct vring_desc){ GPA + RX_BUF_OFF + 0x1000ULL * head, size,
					       VRING_DESC_F_WRITE, 0 };
		g.next_desc[0] = (head + 1) % QNUM;
		avail_of(0)[2 + g.avail_idx[0] % QNUM] = head;
		g.avail_idx[0]++;
	}
	__atomic_store_n(&avail_of(0)[1], g.avail_idx[0], __ATOMIC_RELEASE);
	kick(0);
}

#define rx_buf(head) (g.mem + RX_BUF_OFF + 0x1000ULL * (head))

#define FEAT_V1_MRG ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF))

static int t_tx_frame(void)
{
	uint8_t f[60], got[2048];
	uint16_t head;
	int r = setup(FEAT_V1_MRG, true, false);

	if (r != T_PASS)
		return r;
	make_frame(f, sizeof(f), 1);
	eventfd_count(g.call[1]);
	head = tx_post(f, sizeof(f), HDR12, GPA + TX_BUF_OFF);
	T_ASSERT(peer_recv(got, sizeof(got)) == sizeof(f) && !memcmp(got, f, sizeof(f)));
	T_ASSERT(wait_used(1, 1));
	T_ASSERT(used_elem(1, 0)->id == head && used_elem(1, 0)->len == 0);
	T_ASSERT(wait_fd(g.call[1], 1000));
	/* idle: notifications re-enabled (vhost_enable_notify) */
	msleep(20);
	T_ASSERT(used16(1)[0] == 0);
	teardown();
	return T_PASS;
}

static int t_rx_mergeable(void)
{
	uint8_t f[150];
	int r = setup(FEAT_V1_MRG, true, false);
	struct virtio_net_hdr_mrg_rxbuf *h;

	if (r != T_PASS)
		return r;
	make_frame(f, sizeof(f), 7);
	rx_post(4, 64);
	T_ASSERT(peer_send(f, sizeof(f)) == 0);
	T_ASSERT(wait_used(0, 3));
	T_ASSERT(wait_fd(g.call[0], 1000));
	/* 12 + 150 bytes: 64 + 64 + 34 */
	T_ASSERT(used_elem(0, 0)->id == 0 && used_elem(0, 0)->len == 64);
	T_ASSERT(used_elem(0, 1)->id == 1 && used_elem(0, 1)->len == 64);
	T_ASSERT(used_elem(0, 2)->id == 2 && used_elem(0, 2)->len == 34);
	h = (struct virtio_net_hdr_mrg_rxbuf *)rx_buf(0);
	T_ASSERT(h->num_buffers == 3 && h->hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE);
	T_ASSERT(!memcmp(rx_buf(0) + 12, f, 52));
	T_ASSERT(!memcmp(rx_buf(1), f + 52, 64));
	T_ASSERT(!memcmp(rx_buf(2), f + 116, 34));
	teardown();
	return T_PASS;
}

/* VHOST_NET_F_VIRTIO_NET_HDR: vhost strips (TX) and supplies (RX) the header. */
static int t_vhost_supplies_header(void)
{
	uint64_t feat = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VHOST_NET_F_VIRTIO_NET_HDR);
	uint8_t f[60], got[2048];
	int r = setup(feat, false, false);

	if (r != T_PASS)
		return r;
	make_frame(f, sizeof(f), 3);
	tx_post(f, sizeof(f), HDR12, GPA + TX_BUF_OFF);
	T_ASSERT(peer_recv(got, sizeof(got)) == sizeof(f) && !memcmp(got, f, sizeof(f)));
	memset(rx_buf(0), 0xaa, 256);
	rx_post(1, 256);
	T_ASSERT(peer_send(f, sizeof(f)) == 0);
	T_ASSERT(wait_used(0, 1));
	T_ASSERT(used_elem(0, 0)->len == 12 + sizeof(f));
	/* handle_rx() writes only struct virtio_net_hdr; no num_buffers without MRG */
	for (int i = 0; i < 10; i++)
		T_ASSERT(rx_buf(0)[i] == 0);
	T_ASSERT(rx_buf(0)[10] == 0xaa && rx_buf(0)[11] == 0xaa);
	T_ASSERT(!memcmp(rx_buf(0) + 12, f, sizeof(f)));
	teardown();
	return T_PASS;
}

/* Without MRG_RXBUF a frame larger than one buffer is dropped (overrun). */
static int t_rx_overrun_dropped(void)
{
	uint8_t big[150], small[60];
	int r = setup(1ULL << VIRTIO_F_VERSION_1, true, false);

	if (r != T_PASS)
		return r;
	make_frame(big, sizeof(big), 1);
	make_frame(small, sizeof(small), 2);
	rx_post(2, 100);
	T_ASSERT(peer_send(big, sizeof(big)) == 0);
	T_ASSERT(peer_send(small, sizeof(small)) == 0);
	T_ASSERT(wait_used(0, 1));
	T_ASSERT(used_elem(0, 0)->id == 0 && used_elem(0, 0)->len == 12 + sizeof(small));
	T_ASSERT(!memcmp(rx_buf(0) + 12, small, sizeof(small)));
	teardown();
	return T_PASS;
}

static int t_notify_no_interrupt(void)
{
	uint8_t f[60], got[2048];
	int r = setup(FEAT_V1_MRG, true, false);

	if (r != T_PASS)
		return r;
	make_frame(f, sizeof(f), 1);
	avail_of(1)[0] = VRING_AVAIL_F_NO_INTERRUPT;
	tx_post(f, sizeof(f), HDR12, GPA + TX_BUF_OFF);
	T_ASSERT(peer_recv(got, sizeof(got)) > 0 && wait_used(1, 1));
	msleep(50);
	T_ASSERT(eventfd_count(g.call[1]) == 0);
	avail_of(1)[0] = 0;
	tx_post(f, sizeof(f), HDR12, GPA + TX_BUF_OFF);
	T_ASSERT(peer_recv(got, sizeof(got)) > 0 && wait_used(1, 2));
	T_ASSERT(wait_fd(g.call[1], 1000) && eventfd_count(g.call[1]) == 1);
	teardown();
	return T_PASS;
}

static int t_notify_event_idx(void)
{
	uint64_t feat = FEAT_V1_MRG | (1ULL << VIRTIO_RING_F_EVENT_IDX);
	uint8_t f[60], got[2048];
	int r = setup(feat, true, false);

	if (r != T_PASS)
		return r;
	make_frame(f, sizeof(f), 1);
	/* the first signal is unconditional (signalled_used_valid is false) */
	avail_of(1)[2 + QNUM] = 100;
	tx_post(f, sizeof(f), HDR12, GPA + TX_BUF_OFF);
	T_ASSERT(peer_recv(got, sizeof(got)) > 0 && wait_used(1, 1));
	T_ASSERT(wait_fd(g.call[1], 1000) && eventfd_count(g.call[1]) == 1);
	/* used_event = 2: used 1->2 does not cross it, 2->3 does */
	avail_of(1)[2 + QNUM] = 2;
	tx_post(f, sizeof(f), HDR12, GPA + TX_BUF_OFF);
	T_ASSERT(peer_recv(got, sizeof(got)) > 0 && wait_used(1, 2));
	msleep(50);
	T_ASSERT(eventfd_count(g.call[1]) == 0);
	tx_post(f, sizeof(f), HDR12, GPA + TX_BUF_OFF);
	T_ASSERT(peer_recv(got, sizeof(got)) > 0 && wait_used(1, 3));
	T_ASSERT(wait_fd(g.call[1], 1000) && eventfd_count(g.call[1]) == 1);
	/* vhost_enable_notify() published avail_event = avail idx; flags untouched */
	msleep(20);
	T_ASSERT(*(volatile uint16_t *)(g.mem + ring_off(1, 2) + 4 + 8 * QNUM) == 3);
	T_ASSERT(used16(1)[0] == 0);
	teardown();
	return T_PASS;
}

static int t_bad_address_vq_err(void)
{
	struct vring_desc *d;
	int r = setup(FEAT_V1_MRG, true, false);

	if (r != T_PASS)
		return r;
	d = desc_of(1);
	d[0] = (struct vring_desc){ GPA + MEM_SIZE, 80, 0, 0 };	/* outside the table */
	publish(1, 0);
	T_ASSERT(wait_fd(g.err[1], 1000));
	msleep(20);
	T_ASSERT(used16(1)[1] == 0);
	teardown();
	return T_PASS;
}

static bool bit(uint64_t gpa)
{
	uint64_t page = gpa / 4096;

	return g.bitmap[page / 8] & (1 << (page % 8));
}

static int t_dirty_log(void)
{
	uint64_t feat = FEAT_V1_MRG | (1ULL << VHOST_F_LOG_ALL);
	uint8_t f[150], got[2048];
	int r = setup(feat, true, true);
	uint64_t rx_used = GPA + ring_off(0, 2), tx_used = GPA + ring_off(1, 2);

	if (r != T_PASS)
		return r;
	/* setup already wrote used->flags on attach (vhost_vq_init_access) */
	T_ASSERT(bit(rx_used) && bit(tx_used));
	/* a device ioctl flushes the worker (vhost_net_flush): TX's first pass is over */
	T_IOCTL(g.vfd, VHOST_SET_LOG_FD, &g.logfd, 0);
	memset(g.bitmap, 0, BITMAP_SIZE);
	eventfd_count(g.logfd);
	make_frame(f, sizeof(f), 9);
	rx_post(4, 64);
	T_ASSERT(peer_send(f, sizeof(f)) == 0);
	T_ASSERT(wait_used(0, 3));
	msleep(20);
	/* three buffers written, one page each; the used ring; nothing else */
	T_ASSERT(bit(GPA + RX_BUF_OFF) && bit(GPA + RX_BUF_OFF + 0x1000) &&
		 bit(GPA + RX_BUF_OFF + 0x2000));
	T_ASSERT(!bit(GPA + RX_BUF_OFF + 0x3000));
	T_ASSERT(bit(rx_used) && !bit(tx_used) && !bit(GPA + TX_BUF_OFF));
	T_ASSERT(eventfd_count(g.logfd) > 0);
	/* TX reads guest memory: only its used ring is logged */
	memset(g.bitmap, 0, BITMAP_SIZE);
	tx_post(f, 60, HDR12, GPA + TX_BUF_OFF);
	T_ASSERT(peer_recv(got, sizeof(got)) > 0 && wait_used(1, 1));
	msleep(20);
	T_ASSERT(bit(tx_used) && !bit(GPA + TX_BUF_OFF) && !bit(GPA + RX_BUF_OFF));
	teardown();
	return T_PASS;
}

static bool log_empty(void)
{
	for (size_t i = 0; i < BITMAP_SIZE; i++)
		if (g.bitmap[i])
			return false;
	return true;
}

/* Both rings' addresses again, logging their used rings or not. */
static int set_addrs(bool log)
{
	for (int q = 0; q < 2; q++) {
		struct vhost_vring_addr a = {
			.index = q, .flags = log ? 1 << VHOST_VRING_F_LOG : 0,
			.desc_user_addr = (uintptr_t)g.mem + ring_off(q, 0),
			.avail_user_addr = (uintptr_t)g.mem + ring_off(q, 1),
			.used_user_addr = (uintptr_t)g.mem + ring_off(q, 2),
			.log_guest_addr = GPA + ring_off(q, 2) };

		T_IOCTL(g.vfd, VHOST_SET_VRING_ADDR, &a, 0);
	}
	return T_PASS;
}

/*
 * Logging switched on and off while the rings run (kvmini's log_start and
 * log_stop, QEMU's vhost_dev_set_log): legal with a backend attached, and
 * the next frame is logged, or not, accordingly.
 */
static int t_dirty_log_live(void)
{
	uint64_t lb, feat = FEAT_V1_MRG | (1ULL << VHOST_F_LOG_ALL);
	uint64_t rx_used = GPA + ring_off(0, 2);
	uint8_t f[150];
	int r = setup(FEAT_V1_MRG, true, false);

	if (r != T_PASS)
		return r;
	make_frame(f, sizeof(f), 3);
	rx_post(3, 256);
	T_ASSERT(peer_send(f, sizeof(f)) == 0 && wait_used(0, 1));
	msleep(20);
	T_ASSERT(log_empty());
	/* base first: LOG_ALL and VHOST_VRING_F_LOG are checked against it */
	lb = (uintptr_t)g.bitmap;
	T_IOCTL(g.vfd, VHOST_SET_LOG_BASE, &lb, 0);
	T_IOCTL(g.vfd, VHOST_SET_FEATURES, &feat, 0);
	if (set_addrs(true) != T_PASS)
		return T_FAIL;
	T_ASSERT(peer_send(f, sizeof(f)) == 0 && wait_used(0, 2));
	msleep(20);
	/* buffer 1 (the second frame) and the used ring; not buffer 0 or 2 */
	T_ASSERT(bit(GPA + RX_BUF_OFF + 0x1000) && bit(rx_used));
	T_ASSERT(!bit(GPA + RX_BUF_OFF) && !bit(GPA + RX_BUF_OFF + 0x2000));
	feat = FEAT_V1_MRG;
	T_IOCTL(g.vfd, VHOST_SET_FEATURES, &feat, 0);
	if (set_addrs(false) != T_PASS)
		return T_FAIL;
	lb = 0;
	T_IOCTL(g.vfd, VHOST_SET_LOG_BASE, &lb, 0);
	memset(g.bitmap, 0, BITMAP_SIZE);
	T_ASSERT(peer_send(f, sizeof(f)) == 0 && wait_used(0, 3));
	msleep(20);
	T_ASSERT(log_empty());
	teardown();
	return T_PASS;
}

static int t_attached_rules(void)
{
	struct vhost_vring_state s = { 1, QNUM };
	struct vhost_vring_file f = { 1, -1 };
	struct vhost_vring_addr a;
	uint8_t fr[60], got[2048];
	uint64_t v;
	struct {
		struct vhost_memory m;
		struct vhost_memory_region r[1];
	} mt = { { 1, 0 }, { { GPA, MEM_SIZE, 0xffff800000000000ULL, 0 } } };
	int r = setup(FEAT_V1_MRG, true, false);

	if (r != T_PASS)
		return r;
	T_IOCTL(g.vfd, VHOST_SET_VRING_NUM, &s, EBUSY);
	T_IOCTL(g.vfd, VHOST_SET_VRING_BASE, &s, EBUSY);
	/* with a backend, memory_access_ok() checks every region */
	T_IOCTL(g.vfd, VHOST_SET_MEM_TABLE, &mt, EFAULT);
	a = (struct vhost_vring_addr){ .index = 1,
		.desc_user_addr = (uintptr_t)g.mem + ring_off(1, 0),
		.avail_user_addr = (uintptr_t)g.mem + ring_off(1, 1),
		.used_user_addr = 0x7ffffffff000ULL };
	T_IOCTL(g.vfd, VHOST_SET_VRING_ADDR, &a, EINVAL);
	a.used_user_addr = (uintptr_t)g.mem + ring_off(1, 2);
	T_IOCTL(g.vfd, VHOST_SET_VRING_ADDR, &a, 0);
	/* LOG_ALL needs the log to cover guest memory (vhost_log_access_ok) */
	v = 0x7ffffffff000ULL - 1;
	T_IOCTL(g.vfd, VHOST_SET_LOG_BASE, &v, 0);
	v = FEAT_V1_MRG | (1ULL << VHOST_F_LOG_ALL);
	T_IOCTL(g.vfd, VHOST_SET_FEATURES, &v, EFAULT);
	/* detach TX (flushed), queue a frame: nothing moves; re-attach sends it */
	T_IOCTL(g.vfd, VHOST_NET_SET_BACKEND, &f, 0);
	T_IOCTL(g.vfd, VHOST_SET_VRING_NUM, &s, 0);
	make_frame(fr, sizeof(fr), 5);
	tx_post(fr, sizeof(fr), HDR12, GPA + TX_BUF_OFF);
	msleep(100);
	T_ASSERT(used16(1)[1] == 0);
	s.num = 0;
	T_IOCTL(g.vfd, VHOST_GET_VRING_BASE, &s, 0);
	T_ASSERT(s.num == 0);
	f.fd = g.tap;
	T_IOCTL(g.vfd, VHOST_NET_SET_BACKEND, &f, 0);
	T_ASSERT(peer_recv(got, sizeof(got)) == sizeof(fr) && wait_used(1, 1));
	s.num = 0;
	T_IOCTL(g.vfd, VHOST_GET_VRING_BASE, &s, 0);
	T_ASSERT(s.num == 1);
	teardown();
	return T_PASS;
}

const struct test datapath_tests[] = {
	{ "tx_frame", t_tx_frame },
	{ "rx_mergeable", t_rx_mergeable },
	{ "vhost_supplies_header", t_vhost_supplies_header },
	{ "rx_overrun_dropped", t_rx_overrun_dropped },
	{ "notify_no_interrupt", t_notify_no_interrupt },
	{ "notify_event_idx", t_notify_event_idx },
	{ "bad_address_vq_err", t_bad_address_vq_err },
	{ "dirty_log", t_dirty_log },
	{ "dirty_log_live", t_dirty_log_live },
	{ "attached_rules", t_attached_rules },
};
const size_t n_datapath_tests = sizeof(datapath_tests) / sizeof(datapath_tests[0]);
