/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The value of a --net option, parsed into a plain struct by a pure
 * function (no I/O) so that every error message is unit-tested:
 *
 *   tap,ifname=NAME[,mac=MAC][,vhost=on|off|auto][,queues=N]
 *   user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,mac=MAC]
 *
 * hostfwd follows QEMU's syntax; it may be given several times.
 */
#ifndef KVMINI_NET_CONFIG_H
#define KVMINI_NET_CONFIG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_MAX_HOSTFWD 16
#define NET_MAX_QUEUES 16

enum net_kind { NET_KIND_TAP, NET_KIND_USER };
enum net_vhost { NET_VHOST_AUTO, NET_VHOST_ON, NET_VHOST_OFF };

struct net_hostfwd {
	bool udp;
	struct in_addr host_addr; /* INADDR_ANY when omitted */
	uint16_t host_port;
	struct in_addr guest_addr; /* 0 when omitted: the DHCP address */
	uint16_t guest_port;
};

struct net_config {
	enum net_kind kind;
	char ifname[IFNAMSIZ]; /* tap */
	bool has_mac;
	uint8_t mac[6];
	enum net_vhost vhost;	 /* tap; auto unless given */
	unsigned int queues;	 /* tap; 1 unless given */
	unsigned int nr_hostfwd; /* user */
	struct net_hostfwd hostfwd[NET_MAX_HOSTFWD];
};

/* Returns 0, or -EINVAL with one line (no newline) in err. */
int net_config_parse(struct net_config *nc, const char *s, char *err, size_t errlen);

/* "52:54:00:12:34:56": 0 or -EINVAL (wrong form, multicast, all zero). */
int net_parse_mac(const char *s, uint8_t mac[6]);

/* One hostfwd rule (the part after "hostfwd="): 0 or -EINVAL. */
int net_parse_hostfwd(const char *s, struct net_hostfwd *fwd);

/*
 * A stable locally administered unicast MAC for a NIC with no mac=: a hash
 * of the host's machine-id (may be NULL or empty), the NIC's index and its
 * ifname (may be NULL), so the guest sees the same address on every run.
 */
void net_generate_mac(uint8_t mac[6], const char *machine_id, unsigned int index,
		      const char *ifname);

#endif
