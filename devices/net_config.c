// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_config.h"

#define MAX_OPT 256

static int cfg_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfg_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int net_parse_mac(const char *s, uint8_t mac[6])
{
	int i, hi, lo;

	if (strlen(s) != 17)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		hi = hexval(s[3 * i]);
		lo = hexval(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = hi << 4 | lo;
	}
	/* The group bit would make it a multicast address; all-zero is no address. */
	if (mac[0] & 1 || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

/* "[ADDR]:PORT" */
static int parse_endpoint(char *s, struct in_addr *addr, uint16_t *port)
{
	char *colon = strrchr(s, ':');

	if (!colon)
		return -EINVAL;
	*colon = '\0';
	addr->s_addr = htonl(INADDR_ANY);
	if (*s && inet_pton(AF_INET, s, addr) != 1)
		return -EINVAL;
	return parse_port(colon + 1, port);
}

int net_parse_hostfwd(const char *s, struct net_hostfwd *fwd)
{
	char buf[MAX_OPT], *rest, *dash;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	memset(fwd, 0, sizeof(*fwd));
	rest = strchr(buf, ':');
	if (!rest)
		return -EINVAL;
	*rest++ = '\0';
	/* As QEMU: the protocol may be left empty, meaning tcp. */
	if (!strcmp(buf, "udp"))
		fwd->udp = true;
	else if (*buf && strcmp(buf, "tcp"))
		return -EINVAL;
	dash = strchr(rest, '-');
	if (!dash)
		return -EINVAL;
	*dash = '\0';
	if (parse_endpoint(rest, &fwd->host_addr, &fwd->host_port) ||
	    parse_endpoint(dash + 1, &fwd->guest_addr, &fwd->guest_port))
		return -EINVAL;
	return 0;
}

/* The kernel's dev_valid_name() rules, so a bad name fails here and not in an ioctl. */
static bool valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) || !isprint((unsigned char)*s))
			return false;
	return true;
}

static int parse_kv(struct net_config *nc, const char *kind, char *key, char *val, char *err,
		    size_t errlen)
{
	bool tap = nc->kind == NET_KIND_TAP;
	char *end;
	unsigned long n;

	if (!val)
		return cfg_error(err, errlen, "--net %s: '%s' needs a value (%s=...)", kind, key,
				 key);
	if (!strcmp(key, "mac")) {
		if (net_parse_mac(val, nc->mac))
			return cfg_error(
				err, errlen,
				"--net %s: bad MAC '%s' (want six hex bytes like 52:54:00:12:34:56, unicast, not all zero)",
				kind, val);
		nc->has_mac = true;
	} else if (tap && !strcmp(key, "ifname")) {
		if (!valid_ifname(val))
			return cfg_error(
				err, errlen,
				"--net tap: bad interface name '%s' (1 to %d characters, no '/', ':' or spaces)",
				val, IFNAMSIZ - 1);
		strcpy(nc->ifname, val);
	} else if (tap && !strcmp(key, "vhost")) {
		if (!strcmp(val, "on"))
			nc->vhost = NET_VHOST_ON;
		else if (!strcmp(val, "off"))
			nc->vhost = NET_VHOST_OFF;
		else if (!strcmp(val, "auto"))
			nc->vhost = NET_VHOST_AUTO;
		else
			return cfg_error(err, errlen,
					 "--net tap: vhost must be on, off or auto, not '%s'", val);
	} else if (tap && !strcmp(key, "queues")) {
		errno = 0;
		n = strtoul(val, &end, 10);
		if (!isdigit((unsigned char)*val) || *end || errno || n < 1 || n > NET_MAX_QUEUES)
			return cfg_error(err, errlen, "--net tap: queues must be 1 to %d, not '%s'",
					 NET_MAX_QUEUES, val);
		nc->queues = n;
	} else if (!tap && !strcmp(key, "hostfwd")) {
		if (nc->nr_hostfwd == NET_MAX_HOSTFWD)
			return cfg_error(err, errlen, "--net user: at most %d hostfwd rules",
					 NET_MAX_HOSTFWD);
		if (net_parse_hostfwd(val, &nc->hostfwd[nc->nr_hostfwd]))
			return cfg_error(
				err, errlen,
				"--net user: bad hostfwd '%s' (want [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, ports 1-65535)",
				val);
		nc->nr_hostfwd++;
	} else {
		return cfg_error(err, errlen, "--net %s: unknown option '%s'", kind, key);
	}
	return 0;
}

int net_config_parse(struct net_config *nc, const char *s, char *err, size_t errlen)
{
	char buf[4096], *save = NULL, *tok, *kind, *eq;
	int ret;

	memset(nc, 0, sizeof(*nc));
	nc->vhost = NET_VHOST_AUTO;
	nc->queues = 1;
	if (strlen(s) >= sizeof(buf))
		return cfg_error(err, errlen, "--net: option too long");
	strcpy(buf, s);

	kind = strtok_r(buf, ",", &save);
	if (!kind)
		return cfg_error(err, errlen, "--net: empty (want tap,ifname=NAME or user)");
	if (!strcmp(kind, "tap"))
		nc->kind = NET_KIND_TAP;
	else if (!strcmp(kind, "user"))
		nc->kind = NET_KIND_USER;
	else
		return cfg_error(err, errlen, "--net: unknown kind '%s' (want tap or user)", kind);

	while ((tok = strtok_r(NULL, ",", &save))) {
		eq = strchr(tok, '=');
		if (eq)
			*eq++ = '\0';
		ret = parse_kv(nc, kind, tok, eq, err, errlen);
		if (ret)
			return ret;
	}
	if (nc->kind == NET_KIND_TAP && !nc->ifname[0])
		return cfg_error(err, errlen, "--net tap: ifname=NAME is required");
	return 0;
}

void net_generate_mac(uint8_t mac[6], const char *machine_id, unsigned int index,
		      const char *ifname)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, 64 bits */
	const char *parts[2] = {machine_id ? machine_id : "", ifname ? ifname : ""};
	unsigned int i;
	const char *p;

	for (i = 0; i < 2; i++) {
		for (p = parts[i]; *p; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
	}
	for (i = 0; i < 4; i++)
		h = (h ^ ((index >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
	for (i = 0; i < 6; i++)
		mac[i] = h >> (8 * i);
	/* Locally administered (bit 1), unicast (bit 0 clear): IEEE 802 address rules. */
	mac[0] = (mac[0] & 0xfc) | 0x02;
}
