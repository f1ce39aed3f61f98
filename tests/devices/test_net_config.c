// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/net_config.h"

static struct net_config nc;
static char err[256];

static int parse(const char *s)
{
	err[0] = '\0';
	return net_config_parse(&nc, s, err, sizeof(err));
}

static void expect_error(const char *s, const char *needle)
{
	cr_assert_eq(parse(s), -EINVAL, "'%s' must be refused", s);
	cr_assert_not_null(strstr(err, needle), "'%s': error '%s' lacks '%s'", s, err, needle);
	cr_assert_null(strchr(err, '\n'), "one line");
}

Test(net_config, tap_with_everything)
{
	cr_assert_eq(parse("tap,ifname=tap0,mac=52:54:00:12:34:56,vhost=off,queues=2"), 0, "%s",
		     err);
	cr_assert_eq(nc.kind, NET_KIND_TAP);
	cr_assert_str_eq(nc.ifname, "tap0");
	cr_assert(nc.has_mac);
	cr_assert_eq(memcmp(nc.mac, "\x52\x54\x00\x12\x34\x56", 6), 0);
	cr_assert_eq(nc.vhost, NET_VHOST_OFF);
	cr_assert_eq(nc.queues, 2);
}

Test(net_config, tap_defaults)
{
	cr_assert_eq(parse("tap,ifname=kv0"), 0);
	cr_assert_eq(nc.vhost, NET_VHOST_AUTO);
	cr_assert_eq(nc.queues, 1);
	cr_assert_not(nc.has_mac);
	cr_assert_eq(parse("tap,ifname=kv0,vhost=on"), 0);
	cr_assert_eq(nc.vhost, NET_VHOST_ON);
}

Test(net_config, user_with_hostfwds)
{
	cr_assert_eq(parse("user,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-:53,"
			   "hostfwd=:0.0.0.0:8080-10.0.2.15:80,mac=02:00:00:00:00:01"),
		     0, "%s", err);
	cr_assert_eq(nc.kind, NET_KIND_USER);
	cr_assert_eq(nc.nr_hostfwd, 3);
	cr_assert_not(nc.hostfwd[0].udp);
	cr_assert_eq(nc.hostfwd[0].host_addr.s_addr, htonl(INADDR_ANY));
	cr_assert_eq(nc.hostfwd[0].host_port, 2222);
	cr_assert_eq(nc.hostfwd[0].guest_addr.s_addr, 0);
	cr_assert_eq(nc.hostfwd[0].guest_port, 22);
	cr_assert(nc.hostfwd[1].udp);
	cr_assert_eq(nc.hostfwd[1].host_addr.s_addr, htonl(INADDR_LOOPBACK));
	cr_assert_eq(nc.hostfwd[1].guest_port, 53);
	cr_assert_not(nc.hostfwd[2].udp, "empty protocol means tcp");
	cr_assert_eq(nc.hostfwd[2].guest_addr.s_addr, inet_addr("10.0.2.15"));
	cr_assert(nc.has_mac);
}

Test(net_config, bare_user)
{
	cr_assert_eq(parse("user"), 0);
	cr_assert_eq(nc.nr_hostfwd, 0);
}

Test(net_config, errors_are_one_clear_line)
{
	expect_error("", "empty");
	expect_error("bridge,br=br0", "unknown kind 'bridge'");
	expect_error("tap", "ifname=NAME is required");
	expect_error("tap,mac=52:54:00:12:34:56", "ifname=NAME is required");
	expect_error("tap,ifname=tap0,colour=blue", "unknown option 'colour'");
	expect_error("user,ifname=tap0", "unknown option 'ifname'");
	expect_error("tap,ifname=tap0,hostfwd=tcp::1-:2", "unknown option 'hostfwd'");
	expect_error("tap,ifname=", "bad interface name");
	expect_error("tap,ifname=averyveryverylongname", "bad interface name");
	expect_error("tap,ifname=a/b", "bad interface name");
	expect_error("tap,ifname=a:b", "bad interface name");
	expect_error("tap,ifname=..", "bad interface name");
	expect_error("tap,ifname", "needs a value");
	expect_error("tap,ifname=t,mac=53:54:00:12:34:56", "bad MAC");
	expect_error("tap,ifname=t,mac=52:54:00:12:34", "bad MAC");
	expect_error("tap,ifname=t,mac=52:54:00:12:34:56:78", "bad MAC");
	expect_error("tap,ifname=t,mac=52-54-00-12-34-56", "bad MAC");
	expect_error("tap,ifname=t,mac=52:54:00:12:34:5g", "bad MAC");
	expect_error("tap,ifname=t,mac=00:00:00:00:00:00", "bad MAC");
	expect_error("tap,ifname=t,vhost=maybe", "vhost must be on, off or auto");
	expect_error("tap,ifname=t,queues=0", "queues must be");
	expect_error("tap,ifname=t,queues=17", "queues must be");
	expect_error("tap,ifname=t,queues=2x", "queues must be");
	expect_error("user,hostfwd=tcp::2222", "bad hostfwd");
	expect_error("user,hostfwd=sctp::2222-:22", "bad hostfwd");
	expect_error("user,hostfwd=tcp::0-:22", "bad hostfwd");
	expect_error("user,hostfwd=tcp::70000-:22", "bad hostfwd");
	expect_error("user,hostfwd=tcp:1.2.3:2222-:22", "bad hostfwd");
	expect_error("user,hostfwd=tcp::2222-:", "bad hostfwd");
	expect_error("user,hostfwd=tcp::-1-:22", "bad hostfwd");
	expect_error("user,hostfwd=2222-22", "bad hostfwd");
}

Test(net_config, too_many_hostfwds)
{
	char s[2048] = "user";

	for (int i = 0; i < NET_MAX_HOSTFWD; i++)
		sprintf(s + strlen(s), ",hostfwd=tcp::%d-:22", 2000 + i);
	cr_assert_eq(parse(s), 0, "%s", err);
	strcat(s, ",hostfwd=tcp::3000-:22");
	expect_error(s, "at most");
}

Test(net_config, generated_mac_is_stable_local_unicast)
{
	uint8_t a[6], b[6], c[6], d[6];

	net_generate_mac(a, "0123456789abcdef", 0, "tap0");
	net_generate_mac(b, "0123456789abcdef", 0, "tap0");
	net_generate_mac(c, "0123456789abcdef", 1, "tap0");
	net_generate_mac(d, "fedcba9876543210", 0, "tap0");
	cr_assert_eq(memcmp(a, b, 6), 0, "same inputs, same MAC");
	cr_assert_neq(memcmp(a, c, 6), 0, "another NIC index, another MAC");
	cr_assert_neq(memcmp(a, d, 6), 0, "another host, another MAC");
	for (int i = 0; i < 200; i++) {
		net_generate_mac(a, NULL, i, NULL);
		cr_assert_eq(a[0] & 3, 2, "locally administered unicast");
	}
}
