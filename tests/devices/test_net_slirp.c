// SPDX-License-Identifier: GPL-2.0
/* The slirp backend driven as the NIC thread drives it, without a guest. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/net_backend.h"
#include "devices/net_config.h"
#include "devices/net_slirp.h"

static char err[256];

/* One round of the NIC thread's loop, then the frame slirp produced, if any. */
static ssize_t pump(struct net_backend *be, uint8_t *buf, size_t len)
{
	struct net_pollset ps = {.timeout_ms = 50};
	ssize_t n;

	cr_assert_eq(be->ops->poll_prepare(be, &ps, true), 0);
	cr_assert_leq(ps.timeout_ms, 50, "slirp may only lower the timeout");
	poll(ps.fds, ps.n, ps.timeout_ms);
	be->ops->poll_dispatch(be, &ps);
	net_pollset_free(&ps);
	n = be->ops->recv(be, buf, len);
	return n;
}

Test(net_slirp, answers_arp_for_the_gateway, .timeout = 10)
{
	static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	struct net_config nc;
	struct net_backend *be;
	uint8_t arp[42] = {0}, buf[2048];
	struct iovec iov = {arp, sizeof(arp)};
	ssize_t n = -EAGAIN;

	cr_assert_eq(net_config_parse(&nc, "user", err, sizeof(err)), 0);
	cr_assert_eq(net_slirp_open(&nc, &be, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(be->ops->caps(be), 0, "bare frames, no offloads");
	cr_assert_neq(be->ops->set_offloads(be, NET_OFFLOAD_CSUM), 0);

	memset(arp, 0xff, 6);
	memcpy(arp + 6, guest_mac, 6);
	arp[12] = 0x08, arp[13] = 0x06;					    /* ARP */
	arp[15] = 1, arp[16] = 0x08, arp[18] = 6, arp[19] = 4, arp[21] = 1; /* request */
	memcpy(arp + 22, guest_mac, 6);
	memcpy(arp + 28, "\x0a\x00\x02\x0f", 4); /* 10.0.2.15 */
	memcpy(arp + 38, "\x0a\x00\x02\x02", 4); /* who has 10.0.2.2 */
	cr_assert_eq(be->ops->send(be, &iov, 1), 0);
	for (int i = 0; i < 40 && n < 0; i++)
		n = pump(be, buf, sizeof(buf));
	cr_assert_geq(n, 42, "slirp answered");
	cr_assert_eq(memcmp(buf, guest_mac, 6), 0, "to the guest");
	cr_assert_eq(buf[12], 0x08);
	cr_assert_eq(buf[13], 0x06);
	cr_assert_eq(buf[21], 2, "an ARP reply");
	cr_assert_eq(memcmp(buf + 28, "\x0a\x00\x02\x02", 4), 0, "from 10.0.2.2");
	cr_assert_eq(be->ops->recv(be, buf, sizeof(buf)), -EAGAIN);
	net_backend_destroy(be);
}

Test(net_slirp, hostfwd_listens_and_a_taken_port_is_a_clear_error)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	struct net_config nc;
	struct net_backend *be;
	char opt[128];
	int s, c;

	/* A port that is free, then taken by us. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	cr_assert_eq(listen(s, 1), 0);
	snprintf(opt, sizeof(opt), "user,hostfwd=tcp:127.0.0.1:%u-:22", ntohs(sa.sin_port));
	cr_assert_eq(net_config_parse(&nc, opt, err, sizeof(err)), 0, "%s", err);
	cr_assert_lt(net_slirp_open(&nc, &be, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "cannot forward tcp 127.0.0.1:"), "%s", err);
	cr_assert_null(strchr(err, '\n'));
	close(s);

	/* Free again: slirp listens on it. */
	cr_assert_eq(net_slirp_open(&nc, &be, err, sizeof(err)), 0, "%s", err);
	c = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0, "hostfwd accepts");
	close(c);
	net_backend_destroy(be);
}
