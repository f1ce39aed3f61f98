/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The boundary between a virtio transport (virtio-pci) and a virtio device
 * (virtio-net). The transport owns everything the driver programs through
 * the common configuration (features, status, queue setup, MSI-X vectors)
 * and the wiring of notifications; the device sees only what it needs to run
 * its queues: the negotiated features, and per queue its size, ring
 * addresses, a kick eventfd and a call eventfd.
 *
 * kick_fd is registered with KVM_IOEVENTFD on the queue's notify address,
 * so a guest kick never exits to kvmini: a userspace backend polls it from
 * the I/O thread, vhost-net is handed it. call_fd is bound with KVM_IRQFD to
 * the queue's MSI route (or watched by the transport while the vector is
 * masked, or when INTx is in use), so a device interrupts the guest by
 * writing 1 to it, from any thread.
 */
#ifndef KVMINI_VIRTIO_H
#define KVMINI_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_MAX_QUEUES 64

struct virtio_queue_info {
	uint16_t size;		/* chosen by the driver, a power of 2 <= the device max */
	bool enabled;
	uint64_t desc;		/* guest-physical ring addresses */
	uint64_t avail;
	uint64_t used;
	int kick_fd;
	int call_fd;
};

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint16_t device_id;			/* virtio device ID: 1 for net (virtio 1.2, 5) */
	uint32_t config_size;			/* bytes of device-specific configuration */
	unsigned int (*num_queues)(void *dev);
	uint16_t (*queue_max_size)(void *dev, unsigned int q);
	/* Features the device offers (VIRTIO_F_VERSION_1 and transport bits included). */
	uint64_t (*get_features)(void *dev);
	/* The driver's accepted subset at FEATURES_OK: non-zero refuses it. */
	int (*set_features)(void *dev, uint64_t features);
	/* Device-specific configuration space; off + len is within config_size. */
	void (*config_read)(void *dev, uint32_t off, uint8_t *buf, uint32_t len);
	void (*config_write)(void *dev, uint32_t off, const uint8_t *buf, uint32_t len);
	/*
	 * DRIVER_OK: start moving data on the enabled queues. Returns 0 or a
	 * negative errno, in which case the transport sets DEVICE_NEEDS_RESET.
	 */
	int (*start)(void *dev, const struct virtio_queue_info *q, unsigned int nq);
	/* Device reset (status 0) or a fatal error: stop touching guest memory. */
	void (*stop)(void *dev);

	/*
	 * Migration and snapshots; all optional, all called with the transport
	 * lock held. pause() (after a successful start or resume) stops the data
	 * path without forgetting it: on return nothing of the device writes
	 * guest memory or signals a call_fd, and last_avail[i] (nq entries) says
	 * where queue i stopped. resume() starts it again on q at those
	 * positions, after a pause() or after restore() on a device never
	 * started; 0 or a negative errno (the transport then sets
	 * DEVICE_NEEDS_RESET). save() adds the device's own state (not the
	 * queue registers, which are the transport's) to the open node of fdt;
	 * restore() reads it back on a device at reset whose features were
	 * just set, checks all of it before applying any (state_fail() says
	 * why) and returns 0 or -EINVAL.
	 */
	int (*pause)(void *dev, uint16_t *last_avail, unsigned int nq);
	int (*resume)(void *dev, const struct virtio_queue_info *q, unsigned int nq,
		      const uint16_t *last_avail);
	int (*save)(void *dev, void *fdt);
	int (*restore)(void *dev, const void *fdt, int node);
};

/*
 * What the transport offers back to the device: report a broken ring (the
 * transport sets DEVICE_NEEDS_RESET and raises a configuration interrupt)
 * and announce a configuration change (e.g. link status).
 */
struct virtio_transport {
	void (*device_error)(void *transport, const char *why);
	void (*config_changed)(void *transport);
	void *transport;
};

#endif
