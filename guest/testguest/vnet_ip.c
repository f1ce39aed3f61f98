// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-net scenario's arp= and ping= options: resolve an IPv4 address with ARP
 * (RFC 826) and exchange ICMP echo messages (RFC 792) with it over IPv4 (RFC 791),
 * checking every field of the replies. Enough to talk to a user-mode network stack
 * (libslirp answers ARP for its gateway and echo requests to its own addresses).
 */
#include "cpu.h"
#include "vnet.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ARP_LEN 28 /* Ethernet/IPv4 ARP packet */
#define ARP_REQUEST 1
#define ARP_REPLY 2
#define IP_HLEN 20
#define IPPROTO_ICMP 1
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO 8
#define ICMP_HLEN 8
#define PING_PAYLOAD 56 /* as ping(8) sends by default */
#define PING_ID 0x7467	/* "tg" */
#define ARP_RETRY_MS 1000

static uint8_t my_ip[4];
static uint8_t frame[VNET_FRAME_MAX];
static uint8_t reply[VNET_FRAME_MAX];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The Internet checksum (RFC 1071): a header or message that carries a correct one
 * sums to 0xffff, so this returns 0 for it. */
static uint16_t csum(const uint8_t *p, uint32_t len)
{
	uint32_t sum = 0;

	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void parse_ip(struct scn_ctx *c, const char *key, const char *s, uint8_t ip[4])
{
	const char *p = s, *end;

	for (int i = 0; i < 4; i++) {
		uint64_t v = parse_u64(p, &end);

		if (end == p || v > 255 || *end != (i < 3 ? '.' : 0))
			tg_fail("%s: %s=%s is not an IPv4 address", c->name, key, s);
		ip[i] = (uint8_t)v;
		p = end + 1;
	}
}

static void eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, vnet_mac, 6);
	put16(f + 12, type);
}

static void arp_packet(uint8_t *f, uint16_t op, const uint8_t *tha, const uint8_t *tpa)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t *a = f + ETH_HLEN;

	eth_header(f, op == ARP_REQUEST ? bcast : tha, ETH_P_ARP);
	put16(a, 1);		/* hardware: Ethernet */
	put16(a + 2, ETH_P_IP); /* protocol: IPv4 */
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, vnet_mac, 6);
	memcpy(a + 14, my_ip, 4);
	memset(a + 18, 0, 6);
	if (op == ARP_REPLY)
		memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
}

/*
 * Takes one received frame; answers ARP requests for our address on the way, since
 * the peer may ask before it replies. Returns the frame's length, 0 on timeout.
 */
static uint32_t recv_frame(uint64_t end)
{
	uint32_t len = vnet_recv(reply, end);
	const uint8_t *a = reply + ETH_HLEN;

	if (len >= ETH_HLEN + ARP_LEN && get16(reply + 12) == ETH_P_ARP &&
	    get16(a + 6) == ARP_REQUEST && !memcmp(a + 24, my_ip, 4)) {
		uint8_t f[ETH_HLEN + ARP_LEN];

		arp_packet(f, ARP_REPLY, a + 8, a + 14);
		vnet_send(f, sizeof(f), end);
	}
	return len;
}

static void arp_resolve(const uint8_t ip[4], uint8_t hw[6], uint64_t end)
{
	uint64_t t0 = time_ns(), resend = 0;
	unsigned int requests = 0;

	for (;;) {
		const uint8_t *a = reply + ETH_HLEN;
		uint32_t len;

		if (time_ns() >= resend) {
			arp_packet(frame, ARP_REQUEST, NULL, ip);
			if (!vnet_send(frame, ETH_HLEN + ARP_LEN, end))
				tg_fail("virtio-net: ARP request not sent");
			requests++;
			resend = time_ns() + ARP_RETRY_MS * 1000000ULL;
		}
		len = recv_frame(resend < end ? resend : end);
		if (!len && time_ns() >= end)
			tg_fail("virtio-net: no ARP reply from %u.%u.%u.%u (%u requests)", ip[0],
				ip[1], ip[2], ip[3], requests);
		if (len < ETH_HLEN + ARP_LEN || get16(reply + 12) != ETH_P_ARP ||
		    get16(a + 6) != ARP_REPLY || memcmp(a + 14, ip, 4))
			continue;
		/* A reply for us names our MAC and address as its target. */
		if (get16(a) != 1 || get16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4 ||
		    memcmp(a + 18, vnet_mac, 6) || memcmp(a + 24, my_ip, 4) ||
		    memcmp(reply, vnet_mac, 6))
			tg_fail("virtio-net: malformed ARP reply from %u.%u.%u.%u", ip[0], ip[1],
				ip[2], ip[3]);
		memcpy(hw, a + 8, 6);
		printf("ARP reply from %u.%u.%u.%u is-at %02x:%02x:%02x:%02x:%02x:%02x "
		       "requests=%u ms=%lu\n",
		       ip[0], ip[1], ip[2], ip[3], hw[0], hw[1], hw[2], hw[3], hw[4], hw[5],
		       requests, (time_ns() - t0) / 1000000);
		return;
	}
}

static uint32_t echo_request(const uint8_t *dst_hw, const uint8_t *dst, uint16_t seq)
{
	uint8_t *ip = frame + ETH_HLEN, *icmp = ip + IP_HLEN;
	uint16_t total = IP_HLEN + ICMP_HLEN + PING_PAYLOAD;

	eth_header(frame, dst_hw, ETH_P_IP);
	memset(ip, 0, IP_HLEN);
	ip[0] = 0x45; /* version 4, 5 words of header */
	put16(ip + 2, total);
	put16(ip + 4, seq); /* identification */
	put16(ip + 6, 0x4000); /* don't fragment */
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP;
	memcpy(ip + 12, my_ip, 4);
	memcpy(ip + 16, dst, 4);
	put16(ip + 10, csum(ip, IP_HLEN));
	icmp[0] = ICMP_ECHO;
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 4, PING_ID);
	put16(icmp + 6, seq);
	for (int i = 0; i < PING_PAYLOAD; i++)
		icmp[ICMP_HLEN + i] = (uint8_t)(seq * 7 + i);
	put16(icmp + 2, csum(icmp, ICMP_HLEN + PING_PAYLOAD));
	return ETH_HLEN + total;
}

/* True for the echo reply to our request seq; FAILs on a reply that is wrong. */
static bool is_echo_reply(uint32_t len, const uint8_t *from, uint16_t seq)
{
	const uint8_t *ip = reply + ETH_HLEN, *icmp;
	uint32_t ihl, total;

	if (len < ETH_HLEN + IP_HLEN || get16(reply + 12) != ETH_P_IP || (ip[0] >> 4) != 4 ||
	    ip[9] != IPPROTO_ICMP || memcmp(ip + 12, from, 4) || memcmp(ip + 16, my_ip, 4))
		return false;
	ihl = (ip[0] & 0xf) * 4;
	total = get16(ip + 2);
	if (ihl < IP_HLEN || total < ihl + ICMP_HLEN || ETH_HLEN + total > len)
		tg_fail("virtio-net: IPv4 packet with header %u, length %u in a %u-byte frame",
			ihl, total, len);
	if (csum(ip, ihl))
		tg_fail("virtio-net: IPv4 header checksum of a reply is wrong");
	icmp = ip + ihl;
	if (icmp[0] != ICMP_ECHO_REPLY || get16(icmp + 4) != PING_ID)
		return false;
	if (csum(icmp, total - ihl))
		tg_fail("virtio-net: ICMP checksum of an echo reply is wrong");
	if (get16(icmp + 6) != seq)
		return false; /* a late reply to an earlier request */
	if (icmp[1] != 0 || total - ihl != ICMP_HLEN + PING_PAYLOAD)
		tg_fail("virtio-net: echo reply seq=%u with code %u and %u bytes", seq, icmp[1],
			total - ihl);
	for (int i = 0; i < PING_PAYLOAD; i++)
		if (icmp[ICMP_HLEN + i] != (uint8_t)(seq * 7 + i))
			tg_fail("virtio-net: echo reply seq=%u payload differs at byte %d", seq, i);
	if (memcmp(reply, vnet_mac, 6))
		tg_fail("virtio-net: echo reply seq=%u not addressed to our MAC", seq);
	return true;
}

void vnet_ip(struct scn_ctx *c, uint64_t timeout_ms)
{
	const char *arp = scn_opt(c, "arp"), *ping = scn_opt(c, "ping");
	const char *ip = scn_opt(c, "ip");
	uint64_t pings = scn_opt_u64(c, "pings", 3), end = time_ns() + timeout_ms * 1000000;
	uint8_t target[4], peer[4], peer_hw[6];

	if (pings > 1000)
		tg_fail("%s: pings <= 1000", c->name);
	parse_ip(c, "ip", ip ? ip : "10.0.2.15", my_ip);
	if (arp) {
		parse_ip(c, "arp", arp, target);
		arp_resolve(target, peer_hw, end);
	}
	if (!ping)
		return;
	parse_ip(c, "ping", ping, peer);
	if (!arp || memcmp(peer, target, 4))
		arp_resolve(peer, peer_hw, end);
	for (uint16_t seq = 1; seq <= pings; seq++) {
		uint64_t t0 = time_ns();
		uint32_t len = echo_request(peer_hw, peer, seq);

		if (!vnet_send(frame, len, end))
			tg_fail("virtio-net: echo request seq=%u not sent", seq);
		do {
			len = recv_frame(end);
			if (!len)
				tg_fail("virtio-net: no echo reply seq=%u from %u.%u.%u.%u", seq,
					peer[0], peer[1], peer[2], peer[3]);
		} while (!is_echo_reply(len, peer, seq));
		printf("PING reply seq=%u from %u.%u.%u.%u ttl=%u us=%lu\n", seq, peer[0],
		       peer[1], peer[2], peer[3], reply[ETH_HLEN + 8], (time_ns() - t0) / 1000);
	}
}
