/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KVM_IOEVENTFD: let KVM turn a guest write to an MMIO address or an I/O
 * port into an eventfd signal, without an exit to kvmini. Used for virtio
 * queue notifications: the guest's kick reaches the backend (kvmini's I/O
 * thread or vhost-net) directly.
 */
#ifndef KVMINI_IOEVENTFD_H
#define KVMINI_IOEVENTFD_H

#include <stdbool.h>
#include <stdint.h>

struct ioeventfd {
	uint64_t addr;
	/* 1, 2, 4 or 8 bytes; 0 (MMIO only) matches a write of any width. */
	uint32_t len;
	int fd;
	bool pio;
	/* Signal only when the written value equals data (not with len 0). */
	bool datamatch;
	uint64_t data;
};

/* 0 or a negative errno (-EINVAL for a malformed request, -EEXIST for a duplicate). */
int ioeventfd_assign(int vm_fd, const struct ioeventfd *ev);
/* The same description as at assignment. */
int ioeventfd_deassign(int vm_fd, const struct ioeventfd *ev);

#endif
