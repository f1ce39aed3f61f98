/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-mode networking (--net user) with libslirp: no privileges, NAT for
 * TCP and UDP, ICMP echo where the host allows unprivileged ping sockets
 * (net.ipv4.ping_group_range), DHCP handing out 10.0.2.15 with gateway
 * 10.0.2.2 and DNS 10.0.2.3 (forwarded to the host's resolver), and host
 * port forwards (hostfwd, QEMU's syntax).
 *
 * libslirp is not thread-safe: an instance is only ever used by one thread
 * at a time, the NIC's I/O thread through poll_prepare/poll_dispatch/send/
 * recv (its timers fire there too), or the main thread while no NIC thread
 * runs. Frames are bare Ethernet (no vnet header, no offloads).
 */
#ifndef KVMINI_NET_SLIRP_H
#define KVMINI_NET_SLIRP_H

#include <stddef.h>

struct net_backend;
struct net_config;

/*
 * Create the slirp stack and its port forwards. Returns 0, or a negative
 * errno with one line in err (e.g. a host port already in use).
 */
int net_slirp_open(const struct net_config *nc, struct net_backend **out, char *err, size_t errlen);

#endif
