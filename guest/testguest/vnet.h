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

/*
 * A test frame of len bytes (>= 26) from and to vnet_mac, type 0x88b5:
 * magic, seq and run as le32 at 14, 18 and 22, then byte i is seq + i.
 */
void vnet_frame_build(uint8_t *f, uint64_t len, uint32_t magic, uint32_t seq, uint32_t run);

/* Sends one Ethernet frame and waits for the device to use it; false on timeout. */
bool vnet_send(const uint8_t *frame, uint32_t len, uint64_t end_ns);
/* Copies the next received frame (at most VNET_FRAME_MAX bytes) into buf and gives the
 * buffer back to the device; returns its length, or 0 when end_ns passes first. */
uint32_t vnet_recv(uint8_t *buf, uint64_t end_ns);

/* ARP and ping as the scenario's arp=, ping=, pings=, ip= options ask; tg_fail()s. */
void vnet_ip(struct scn_ctx *c, uint64_t timeout_ms);

/*
 * scenario=hostile drives the first virtio-net function through these: MSI-X, queues
 * of 64 entries, frames looped back by the peer; frames of other runs are skipped.
 * vnet_open() scans PCI into devs and returns the NIC's transport; vnet_start() resets
 * and starts the device; vnet_burst() queues up to n frames of run and kicks without
 * waiting; vnet_roundtrip() restarts the device and wants frames frames back (tg_fail()).
 */
struct pci_dev;
/* Scans PCI into devs and probes each; the first modern virtio-net (1af4:1041). */
struct pci_dev *vnet_find_nic(struct pci_dev *devs, int max);
struct virtio_dev *vnet_open(struct pci_dev *devs, int max);
void vnet_start(void);
unsigned int vnet_burst(unsigned int n, uint32_t run);
void vnet_roundtrip(uint64_t frames, uint32_t run);

#endif
