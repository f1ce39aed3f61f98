/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What scn_virtio_net.c offers the IP exchange (vnet_ip.c): single frames over the
 * device it has started, without the virtio-net header, and the guest's MAC.
 */
#ifndef TG_VNET_H
#define TG_VNET_H

#include "testguest.h"

#define VNET_FRAME_MAX 1514

extern uint8_t vnet_mac[6];

/* Sends one Ethernet frame and waits for the device to use it; false on timeout. */
bool vnet_send(const uint8_t *frame, uint32_t len, uint64_t end_ns);
/* Copies the next received frame (at most VNET_FRAME_MAX bytes) into buf and gives the
 * buffer back to the device; returns its length, or 0 when end_ns passes first. */
uint32_t vnet_recv(uint8_t *buf, uint64_t end_ns);

/* ARP and ping as the scenario's arp=, ping=, pings=, ip= options ask; tg_fail()s. */
void vnet_ip(struct scn_ctx *c, uint64_t timeout_ms);

#endif
