/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net=1 of scenario=dirty (scn_dirty_net.c): traffic through the first virtio-net
 * device between the dirty rounds, checked so that pages the NIC backend writes
 * (received frames, used rings) are part of the migration oracle too.
 */
#ifndef TG_SCN_DIRTY_NET_H
#define TG_SCN_DIRTY_NET_H

#include "testguest.h"

/* Reads the net-* options, starts the device; base/pages is the dirty range (it must
 * not overlap the rings and buffers), ring the ring the frame checks run in. */
void dnet_start(struct scn_ctx *c, uint64_t base, uint64_t pages, uint64_t rounds, int ring);
/* Takes used buffers, checks them, refills and sends; after round's pages. */
void dnet_service(uint64_t round);
/* The NET round= line. */
void dnet_print(uint64_t round);
/* Waits for frames still on their way, checks the last rounds saw traffic, prints
 * NET verify ok and resets the device; round is the last one run. */
void dnet_finish(uint64_t round);

#endif
