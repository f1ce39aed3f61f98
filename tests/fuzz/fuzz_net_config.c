// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the --net option (net_config_parse()) and the MAC and
 * hostfwd parsers under it. The input is the option string. Checked:
 *   - the result is 0 or -EINVAL, with one non-empty line in err on error
 *     (unless the input itself has a newline: messages quote it);
 *   - a parsed tap has a valid interface name, 1..NET_MAX_QUEUES queues; a
 *     user NIC no interface name, at most NET_MAX_HOSTFWD rules with ports;
 *     a MAC is unicast and not all zero;
 *   - printing the result in canonical form and parsing that gives the same
 *     struct (round trip).
 * A violation is __builtin_trap().
 *
 *   make fuzz-build && build/fuzz/fuzz_net_config -max_total_time=60 \
 *	tests/fuzz/corpus/fuzz_net_config
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/net_config.h"

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

#define ERR_LEN 200

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_addr(char *out, size_t len, struct in_addr a)
{
	if (a.s_addr == htonl(INADDR_ANY))
		*out = '\0';
	else
		CHECK(inet_ntop(AF_INET, &a, out, len));
}

/* The canonical spelling of nc. */
static void format(const struct net_config *nc, char *out, size_t len)
{
	static const char *const vhost[] = { "auto", "on", "off" };
	size_t n = 0;
	unsigned int i;

#define PUT(...)                                                   \
	do {                                                       \
		n += snprintf(out + n, len - n, __VA_ARGS__);      \
		CHECK(n < len);                                    \
	} while (0)
	if (nc->kind == NET_KIND_TAP)
		PUT("tap,ifname=%s,vhost=%s,queues=%u", nc->ifname, vhost[nc->vhost], nc->queues);
	else
		PUT("user");
	for (i = 0; i < nc->nr_hostfwd; i++) {
		const struct net_hostfwd *f = &nc->hostfwd[i];
		char h[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

		put_addr(h, sizeof(h), f->host_addr);
		put_addr(g, sizeof(g), f->guest_addr);
		PUT(",hostfwd=%s:%s:%u-%s:%u", f->udp ? "udp" : "tcp", h, f->host_port, g,
		    f->guest_port);
	}
	if (nc->has_mac)
		PUT(",mac=%02x:%02x:%02x:%02x:%02x:%02x", nc->mac[0], nc->mac[1], nc->mac[2],
		    nc->mac[3], nc->mac[4], nc->mac[5]);
#undef PUT
}

static void check_valid(const struct net_config *nc)
{
	unsigned int i;
	size_t len;

	CHECK(nc->kind == NET_KIND_TAP || nc->kind == NET_KIND_USER);
	CHECK(nc->vhost <= NET_VHOST_OFF);
	len = strnlen(nc->ifname, IFNAMSIZ);
	CHECK(len < IFNAMSIZ);
	if (nc->kind == NET_KIND_TAP) {
		CHECK(len > 0 && !strpbrk(nc->ifname, "/: \t\n\v\f\r"));
		CHECK(strcmp(nc->ifname, ".") && strcmp(nc->ifname, ".."));
		CHECK(nc->queues >= 1 && nc->queues <= NET_MAX_QUEUES);
		CHECK(nc->nr_hostfwd == 0);
	} else {
		CHECK(len == 0 && nc->queues == 1 && nc->vhost == NET_VHOST_AUTO);
		CHECK(nc->nr_hostfwd <= NET_MAX_HOSTFWD);
	}
	for (i = 0; i < nc->nr_hostfwd; i++)
		CHECK(nc->hostfwd[i].host_port && nc->hostfwd[i].guest_port);
	if (nc->has_mac) {
		CHECK(!(nc->mac[0] & 1));
		CHECK(nc->mac[0] | nc->mac[1] | nc->mac[2] | nc->mac[3] | nc->mac[4] | nc->mac[5]);
	}
}

/* Field by field: a shorter ifname= given last leaves bytes after its NUL. */
static void check_same(const struct net_config *a, const struct net_config *b)
{
	unsigned int i;

	CHECK(a->kind == b->kind && !strcmp(a->ifname, b->ifname));
	CHECK(a->has_mac == b->has_mac && (!a->has_mac || !memcmp(a->mac, b->mac, 6)));
	CHECK(a->vhost == b->vhost && a->queues == b->queues);
	CHECK(a->nr_hostfwd == b->nr_hostfwd);
	for (i = 0; i < a->nr_hostfwd; i++) {
		const struct net_hostfwd *x = &a->hostfwd[i], *y = &b->hostfwd[i];

		CHECK(x->udp == y->udp && x->host_port == y->host_port &&
		      x->guest_port == y->guest_port);
		CHECK(x->host_addr.s_addr == y->host_addr.s_addr &&
		      x->guest_addr.s_addr == y->guest_addr.s_addr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_config *nc = malloc(sizeof(*nc)), *again = malloc(sizeof(*again));
	char *s = malloc(size + 1), *err = malloc(ERR_LEN), *canon = malloc(8192);
	int ret;

	CHECK(nc && again && s && err && canon);
	memcpy(s, data, size);
	s[size] = '\0';
	memset(err, 0, ERR_LEN);
	ret = net_config_parse(nc, s, err, ERR_LEN);
	CHECK(ret == 0 || ret == -EINVAL);
	if (ret) {
		size_t len = strnlen(err, ERR_LEN);

		CHECK(len > 0 && len < ERR_LEN);
		CHECK(strchr(s, '\n') || !memchr(err, '\n', len));
	} else {
		check_valid(nc);
		format(nc, canon, 8192);
		CHECK(net_config_parse(again, canon, err, ERR_LEN) == 0);
		check_same(nc, again);
	}
	free(nc);
	free(again);
	free(s);
	free(err);
	free(canon);
	return 0;
}
