/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the virtio-pci transport: shared by virtio_pci.c (PCI function,
 * BARs, interrupts, notifications) and virtio_pci_common.c (the common
 * configuration structure and the device status state machine).
 * Everything here is called with vp->pdev.lock held unless said otherwise.
 */
#ifndef KVMINI_VIRTIO_PCI_PRIV_H
#define KVMINI_VIRTIO_PCI_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/irq_routing.h"
#include "../vmm/log.h"
#include "msix.h"
#include "pci.h"
#include "virtio.h"

/* BAR 0: the virtio structures, each on its own page. */
#define VP_BAR 0
#define VP_BAR_SIZE 0x4000
#define VP_COMMON_OFF 0x0000
#define VP_COMMON_LEN 0x38 /* up to queue_device (4.1.4.3) */
#define VP_ISR_OFF 0x1000
#define VP_ISR_LEN 4
#define VP_DEVICE_OFF 0x2000
#define VP_DEVICE_MAX 0x1000
#define VP_NOTIFY_OFF 0x3000
#define VP_NOTIFY_MULT 4 /* notify_off_multiplier: one dword per queue */
/* BAR 2: MSI-X table and PBA. */
#define VP_MSIX_BAR 2
#define VP_MSIX_BAR_SIZE 0x2000
#define VP_MSIX_TABLE_OFF 0x0000
#define VP_MSIX_PBA_OFF 0x1000

#define VP_NO_VECTOR 0xffff
#define VP_ISR_QUEUE 0x1
#define VP_ISR_CONFIG 0x2

/* Requests from the device, run by the watcher (or virtio_pci_service()). */
#define VP_EV_ERROR 0x1
#define VP_EV_CONFIG 0x2

struct vp_queue {
	uint16_t max_size;
	uint16_t size;
	bool enabled;
	uint16_t vector;
	uint64_t desc, avail, used;
	int kick_fd;
	int call_fd;
	int gsi;	/* MSI route of call_fd, -1 when none */
	bool irqfd;	/* call_fd bound to gsi */
	bool ioeventfd; /* kick_fd registered at ioeventfd_addr */
	uint64_t ioeventfd_addr;
	/* While paused (virtio_pci_state.c): where the device stopped, an undelivered call. */
	uint16_t last_avail;
	bool call_pending;
};

struct virtio_pci {
	struct pci_device pdev;
	struct msix msix;
	const char *name;
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct guest_memory *mem;
	struct kvm_glue kvm;
	bool has_kvm;

	unsigned int nq;
	struct vp_queue q[VIRTIO_MAX_QUEUES];
	uint64_t offered; /* device features */
	uint64_t driver_features;
	bool driver_features_junk; /* a bit above 63 was written */
	uint32_t dfselect, gfselect;
	uint16_t msix_config;
	uint16_t queue_select;
	uint8_t status;
	uint8_t isr;
	bool started; /* ops->start succeeded, no stop since */
	/*
	 * virtio_pci_pause() to virtio_pci_resume(): the device's data path is
	 * stopped (ops->pause) even though started stays true, the watcher
	 * leaves the call eventfds alone and a configuration interrupt waits
	 * in config_pending.
	 */
	bool paused;
	bool config_pending;
	/* Device failures, one line each up to the rate limit (vmm/log.h). */
	struct log_ratelimit fail_log;
	uint32_t generation; /* atomic: bumped from device threads */

	uint8_t cfg_cap; /* VIRTIO_PCI_CAP_PCI_CFG offset */
	bool bar_mapped;
	uint64_t bar_addr;

	uint32_t events; /* atomic VP_EV_* */
	int wake_fd;	 /* eventfd: wakes the watcher */
	bool manual;
	bool stopping;
	pthread_t watcher;
	bool watcher_started;
};

/* virtio_pci_irq.c */
extern const struct msix_ops vp_msix_ops;
/* The watcher thread; takes the lock itself. */
void *vp_watcher(void *arg);
void vp_raise(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit);
/* Marks the device DEVICE_NEEDS_RESET; logs why (rate limited) unless why is NULL. */
void vp_fail(struct virtio_pci *vp, const char *why);
void vp_queue_irq_update(struct virtio_pci *vp, unsigned int qi);
void vp_queue_irq_release(struct virtio_pci *vp, unsigned int qi);
void vp_wake(struct virtio_pci *vp);
void vp_drain(int fd);

/* virtio_pci_common.c */
void vp_common_io(struct virtio_pci *vp, uint32_t off, uint8_t *data, uint32_t len, bool is_write);
void vp_reset(struct virtio_pci *vp);
/* Rings of q inside guest RAM and aligned, for the negotiated features. 0, -EINVAL or -EFAULT. */
int vp_check_queue(const struct virtio_pci *vp, const struct vp_queue *q, uint64_t features);
/* What ops->start and ops->resume get: every queue's registers and fds. */
void vp_queue_info(const struct virtio_pci *vp, struct virtio_queue_info *info);

#endif
