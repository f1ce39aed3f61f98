// SPDX-License-Identifier: GPL-2.0
/*
 * The tap backend against a real tap in a private network namespace
 * (criterion runs each test in its own process, so unshare() stays there).
 * Needs root and /dev/net/tun; skips with the reason otherwise.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devices/net_backend.h"
#include "devices/net_tap.h"
#include "devices/virtio_net.h"

#define ETH_P_TEST 0x88b5 /* IEEE 802 local experimental */

static char err[256];

static void enter_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root (CAP_NET_ADMIN) for a network namespace and a tap");
	if (access("/dev/net/tun", R_OK | W_OK))
		cr_skip_test("no usable /dev/net/tun: %s", strerror(errno));
	if (unshare(CLONE_NEWNET))
		cr_skip_test("unshare(CLONE_NEWNET): %s", strerror(errno));
}

static void link_up(const char *ifname)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	strcpy(ifr.ifr_name, ifname);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_TEST),
		.sll_ifindex = if_nametoindex(ifname),
	};
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_TEST));

	cr_assert_geq(s, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static void make_frame(uint8_t *f, size_t len, uint8_t tag)
{
	memset(f, 0xff, 6); /* broadcast */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = tag + i;
}

Test(net_tap, frames_cross_in_both_directions, .timeout = 20)
{
	struct net_backend *be;
	uint8_t hdr[NET_VNET_HDR_LEN] = {0}, frame[100], buf[2048];
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {frame, sizeof(frame)}};
	bool created = false;
	ssize_t n = -1;
	int ps;

	enter_netns();
	cr_assert_eq(net_tap_open("kvtest0", &be, &created, err, sizeof(err)), 0, "%s", err);
	cr_assert(created, "kvmini created the tap");
	cr_assert_str_eq(net_tap_ifname(be), "kvtest0");
	cr_assert(be->ops->caps(be) & NET_CAP_VNET_HDR);
	cr_assert(be->ops->caps(be) & NET_CAP_GUEST_CSUM, "tap takes TUNSETOFFLOAD");
	cr_assert_eq(be->ops->set_offloads(be, NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4), 0);
	link_up("kvtest0");
	ps = packet_socket("kvtest0");

	/* Backend -> host: the header is consumed by the tap, the frame arrives intact. */
	make_frame(frame, sizeof(frame), 1);
	cr_assert_eq(be->ops->send(be, iov, 2), 0);
	cr_assert_eq(poll(&(struct pollfd){.fd = ps, .events = POLLIN}, 1, 2000), 1);
	cr_assert_eq(recv(ps, buf, sizeof(buf), 0), (ssize_t)sizeof(frame));
	cr_assert_eq(memcmp(buf, frame, sizeof(frame)), 0);

	/* Host -> backend: the frame comes with a 12-byte virtio-net header in front. */
	make_frame(frame, sizeof(frame), 2);
	cr_assert_eq(send(ps, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	for (int i = 0; i < 200; i++) {
		n = be->ops->recv(be, buf, sizeof(buf));
		/* Skip what the kernel sends on its own (IPv6 neighbour discovery...). */
		if (n == NET_VNET_HDR_LEN + (ssize_t)sizeof(frame) &&
		    !memcmp(buf + NET_VNET_HDR_LEN, frame, sizeof(frame)))
			break;
		if (n == -EAGAIN)
			usleep(10000);
	}
	cr_assert_eq(n, NET_VNET_HDR_LEN + (ssize_t)sizeof(frame));
	cr_assert_eq(buf[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, "a plain frame needs no checksum");
	cr_assert_eq(buf[1], 0, "and is not GSO");
	close(ps);

	net_backend_destroy(be);
	cr_assert_eq(if_nametoindex("kvtest0"), 0, "a tap kvmini created goes away with it");
}

Test(net_tap, clear_errors_for_busy_bad_and_foreign_names)
{
	struct net_backend *be, *be2;

	enter_netns();
	cr_assert_eq(net_tap_open("kvtest1", &be, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(net_tap_open("kvtest1", &be2, NULL, err, sizeof(err)), -EBUSY);
	cr_assert_not_null(strstr(err, "busy"), "%s", err);
	cr_assert_eq(net_tap_open("lo", &be2, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "not a single-queue tap"), "%s", err);
	cr_assert_eq(net_tap_open("a/b", &be2, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_eq(net_tap_open("0123456789abcdefg", &be2, NULL, err, sizeof(err)), -EINVAL);
	cr_assert_null(strchr(err, '\n'));
	net_backend_destroy(be);
}

Test(net_tap, existing_persistent_tap_is_used_and_kept)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	struct net_backend *be;
	bool created = true;
	int fd;

	enter_netns();
	fd = open("/dev/net/tun", O_RDWR);
	strcpy(ifr.ifr_name, "kvpersist");
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	cr_assert_eq(net_tap_open("kvpersist", &be, &created, err, sizeof(err)), 0, "%s", err);
	cr_assert_not(created, "it existed");
	net_backend_destroy(be);
	cr_assert_neq(if_nametoindex("kvpersist"), 0, "an existing tap is left alone");
}

/* As an unprivileged kvmini runs: without CAP_NET_ADMIN in this thread. */
static void drop_cap_net_admin(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	cr_assert_eq(syscall(SYS_capget, &h, d), 0);
	d[0].effective &= ~(1u << CAP_NET_ADMIN);
	cr_assert_eq(syscall(SYS_capset, &h, d), 0);
}

Test(net_tap, no_cap_net_admin_is_eperm)
{
	struct net_backend *be;

	enter_netns();
	drop_cap_net_admin();
	cr_assert_eq(net_tap_open("kvtest2", &be, NULL, err, sizeof(err)), -EPERM);
	cr_assert_not_null(strstr(err, "CAP_NET_ADMIN"), "%s", err);
}

/* A tap made for another user (tools/mktap): the error names the fix. */
static void make_persistent_tap(const char *name, int flags, long owner)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | flags};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	strcpy(ifr.ifr_name, name);
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "%s", strerror(errno));
	if (owner >= 0)
		cr_assert_eq(ioctl(fd, TUNSETOWNER, owner), 0);
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
}

Test(net_tap, tap_of_another_user_is_eperm_naming_mktap)
{
	struct net_backend *be;

	enter_netns();
	make_persistent_tap("kvother", 0, 65534);
	drop_cap_net_admin();
	cr_assert_eq(net_tap_open("kvother", &be, NULL, err, sizeof(err)), -EPERM);
	cr_assert_not_null(strstr(err, "permission denied"), "%s", err);
	cr_assert_not_null(strstr(err, "tools/mktap kvother --user"), "%s", err);
	cr_assert_null(strchr(err, '\n'), "one line: %s", err);
}

Test(net_tap, queues_on_a_single_queue_tap_names_multi_queue)
{
	char name[IFNAMSIZ];
	int fds[2];

	enter_netns();
	make_persistent_tap("kvsingle", 0, -1);
	cr_assert_eq(net_tap_open_queues("kvsingle", 2, fds, name, NULL, err, sizeof(err)),
		     -EINVAL);
	cr_assert_not_null(strstr(err, "not a multi-queue tap"), "%s", err);
	cr_assert_not_null(strstr(err, "tools/mktap kvsingle --user $USER --queues 2"), "%s", err);
}

Test(net_tap, missing_tap_without_cap_net_admin_says_how_to_make_it)
{
	struct net_backend *be;

	enter_netns();
	drop_cap_net_admin();
	cr_assert_eq(net_tap_open("kvnone", &be, NULL, err, sizeof(err)), -EPERM);
	cr_assert_not_null(strstr(err, "does not exist"), "%s", err);
	cr_assert_not_null(strstr(err, "tools/mktap kvnone --user $USER"), "%s", err);
}
