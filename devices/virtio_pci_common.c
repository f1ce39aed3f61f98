// SPDX-License-Identifier: GPL-2.0
/*
 * The common configuration structure of virtio-pci (virtio 1.2, 4.1.4.3):
 * feature negotiation, the device status state machine (2.1, 3.1) and the
 * per-queue registers. Called with vp->pdev.lock held.
 */
#include <errno.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "../vmm/log.h"
#include "../vmm/memory.h"
#include "virtio_pci_priv.h"

#define STATUS_DRIVER_BITS                                                                  \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK | \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_FAILED)

static bool negotiated(const struct virtio_pci *vp, unsigned int bit)
{
	return (vp->driver_features >> bit) & 1;
}

/* Queue registers may change only while the queue is off and the device not live (4.1.4.3.2). */
static struct vp_queue *writable_queue(struct virtio_pci *vp)
{
	if (vp->queue_select >= vp->nq || (vp->status & VIRTIO_CONFIG_S_DRIVER_OK))
		return NULL;
	if (vp->q[vp->queue_select].enabled)
		return NULL;
	return &vp->q[vp->queue_select];
}

/* FEATURES_OK may stick only for a subset of the offer that includes VERSION_1 (2.2.1, 6.1). */
static bool features_acceptable(struct virtio_pci *vp)
{
	uint64_t f = vp->driver_features;

	if (vp->driver_features_junk || (f & ~vp->offered))
		return false;
	if (!(f & (1ULL << VIRTIO_F_VERSION_1)))
		return false;
	return vp->ops->set_features(vp->dev, f) == 0;
}

/* Each ring part must be aligned (2.7.2, 2.8.10.1) and wholly inside one RAM region. */
static bool ring_ok(const struct virtio_pci *vp, uint64_t gpa, uint64_t len, uint64_t align)
{
	return !(gpa & (align - 1)) && guest_ptr(vp->mem, gpa, len);
}

int vp_check_queue(const struct virtio_pci *vp, const struct vp_queue *q, uint64_t features)
{
	uint64_t n = q->size;

	if (!vp->mem || !n)
		return -EINVAL;
	if (features & (1ULL << VIRTIO_F_RING_PACKED)) {
		if (!ring_ok(vp, q->desc, 16 * n, 16) || !ring_ok(vp, q->avail, 4, 4) ||
		    !ring_ok(vp, q->used, 4, 4))
			return -EFAULT;
		return 0;
	}
	if (!ring_ok(vp, q->desc, 16 * n, 16) || !ring_ok(vp, q->avail, 6 + 2 * n, 2) ||
	    !ring_ok(vp, q->used, 6 + 8 * n, 4))
		return -EFAULT;
	return 0;
}

void vp_queue_info(const struct virtio_pci *vp, struct virtio_queue_info *info)
{
	unsigned int i;

	memset(info, 0, VIRTIO_MAX_QUEUES * sizeof(*info));
	for (i = 0; i < vp->nq; i++) {
		const struct vp_queue *q = &vp->q[i];

		info[i] = (struct virtio_queue_info){
			.size = q->size,
			.enabled = q->enabled,
			.desc = q->desc,
			.avail = q->avail,
			.used = q->used,
			.kick_fd = q->kick_fd,
			.call_fd = q->call_fd,
		};
	}
}

static int start_device(struct virtio_pci *vp)
{
	struct virtio_queue_info info[VIRTIO_MAX_QUEUES];
	unsigned int i;
	int ret;

	vp_queue_info(vp, info);
	for (i = 0; i < vp->nq; i++) {
		const struct vp_queue *q = &vp->q[i];

		if (!q->enabled)
			continue;
		ret = vp_check_queue(vp, q, vp->driver_features);
		if (ret) {
			vp_fail(vp, "queue rings outside guest RAM or misaligned");
			return ret;
		}
	}
	ret = vp->ops->start(vp->dev, info, vp->nq);
	if (ret) {
		vp_fail(vp, "the device failed to start");
		return ret;
	}
	vp->started = true;
	return 0;
}

void vp_reset(struct virtio_pci *vp)
{
	unsigned int i;

	if (vp->started)
		vp->ops->stop(vp->dev);
	vp->started = false;
	__atomic_store_n(&vp->events, 0, __ATOMIC_RELAXED);
	for (i = 0; i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];

		vp_queue_irq_release(vp, i);
		vp_drain(q->kick_fd);
		vp_drain(q->call_fd);
		q->size = q->max_size;
		q->enabled = false;
		q->vector = VP_NO_VECTOR;
		q->desc = q->avail = q->used = 0;
		/* Nothing held back by a pause survives a reset (virtio_pci_state.c). */
		q->last_avail = 0;
		q->call_pending = false;
	}
	vp->config_pending = false;
	vp->driver_features = 0;
	vp->driver_features_junk = false;
	vp->dfselect = vp->gfselect = 0;
	vp->msix_config = VP_NO_VECTOR;
	vp->queue_select = 0;
	vp->isr = 0;
	pci_set_intx(&vp->pdev, false);
	/* Done before the driver can read status back as 0 (4.1.4.3.1): all of it is synchronous.
	 */
	vp->status = 0;
	vp_wake(vp);
}

static void set_status(struct virtio_pci *vp, uint8_t val)
{
	uint8_t old = vp->status & STATUS_DRIVER_BITS, add;

	if (!val) {
		vp_reset(vp);
		return;
	}
	/* DEVICE_NEEDS_RESET is the device's to set: the driver writing it back means nothing. */
	val &= ~VIRTIO_CONFIG_S_NEEDS_RESET;
	if (old & ~val) {
		/* Only a reset clears status bits (2.1.1): any other attempt is a driver error. */
		vp_fail(vp, "the driver cleared a status bit");
		return;
	}
	add = val & ~old;
	if ((add & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    (!((old | add) & VIRTIO_CONFIG_S_DRIVER) || !features_acceptable(vp)))
		add &= ~VIRTIO_CONFIG_S_FEATURES_OK; /* refused: it reads back clear (3.1.1) */
	if ((add & VIRTIO_CONFIG_S_DRIVER_OK) && (!((old | add) & VIRTIO_CONFIG_S_FEATURES_OK) ||
						  (vp->status & VIRTIO_CONFIG_S_NEEDS_RESET))) {
		add &= ~VIRTIO_CONFIG_S_DRIVER_OK;
		vp->status |= add;
		vp_fail(vp, "DRIVER_OK without FEATURES_OK");
		return;
	}
	vp->status |= add;
	if (add & VIRTIO_CONFIG_S_DRIVER_OK)
		start_device(vp);
	if ((add & VIRTIO_CONFIG_S_FAILED) && vp->started) {
		/* The driver gave up: stop touching its memory until it resets us. */
		vp->ops->stop(vp->dev);
		vp->started = false;
	}
}

static void set_queue_size(struct virtio_pci *vp, uint16_t v)
{
	struct vp_queue *q = writable_queue(vp);
	bool packed = negotiated(vp, VIRTIO_F_RING_PACKED);

	if (!q)
		return;
	/* Split rings need a power of 2 (2.7); neither kind may exceed the device's maximum. */
	if (!v || v > q->max_size || (!packed && (v & (v - 1)))) {
		vp_fail(vp, "invalid queue_size");
		return;
	}
	q->size = v;
}

static void set_queue_enable(struct virtio_pci *vp, uint16_t v)
{
	struct vp_queue *q = writable_queue(vp);

	/* Writing 0 is not allowed without VIRTIO_F_RING_RESET (4.1.4.3.2): ignored. */
	if (!q || v != 1)
		return;
	q->enabled = true;
}

static void set_queue_vector(struct virtio_pci *vp, uint16_t v)
{
	struct vp_queue *q;

	if (vp->queue_select >= vp->nq)
		return;
	q = &vp->q[vp->queue_select];
	/* A vector the device cannot map reads back as NO_VECTOR (4.1.5.1.2). */
	q->vector = v < vp->msix.nr ? v : VP_NO_VECTOR;
	vp_queue_irq_update(vp, vp->queue_select);
}

static void set_driver_features(struct virtio_pci *vp, uint32_t v)
{
	unsigned int shift = 32 * vp->gfselect;

	/* Features are fixed once FEATURES_OK is set (3.1.1). */
	if (vp->status & (VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	if (vp->gfselect > 1) {
		vp->driver_features_junk |= v != 0;
		return;
	}
	vp->driver_features &= ~(0xffffffffULL << shift);
	vp->driver_features |= (uint64_t)v << shift;
}

/* The 64-bit ring address the access hits, or NULL. */
static uint64_t *ring_field(struct virtio_pci *vp, uint32_t off, bool for_write)
{
	struct vp_queue *q;

	if (for_write)
		q = writable_queue(vp);
	else
		q = vp->queue_select < vp->nq ? &vp->q[vp->queue_select] : NULL;
	if (!q)
		return NULL;
	switch (off & ~7u) {
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		return &q->desc;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		return &q->avail;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return &q->used;
	}
	return NULL;
}

static void ring_io(struct virtio_pci *vp, uint32_t off, uint8_t *data, uint32_t len, bool is_write)
{
	uint64_t *f = ring_field(vp, off, is_write), v = 0, mask;
	unsigned int shift = 8 * (off & 7);

	if (!is_write) {
		if (f)
			v = *f >> shift;
		memcpy(data, &v, len);
		return;
	}
	if (!f)
		return;
	/* A 64-bit field written as two dwords (4.1.3.1): each half on its own. */
	mask = len == 8 ? ~0ULL : 0xffffffffULL << shift;
	memcpy(&v, data, len);
	*f = (*f & ~mask) | (v << shift);
}

static uint32_t common_read(struct virtio_pci *vp, uint32_t off)
{
	const struct vp_queue *q = vp->queue_select < vp->nq ? &vp->q[vp->queue_select] : NULL;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return vp->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		return vp->dfselect < 2 ? (uint32_t)(vp->offered >> (32 * vp->dfselect)) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT:
		return vp->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return vp->gfselect < 2 ? (uint32_t)(vp->driver_features >> (32 * vp->gfselect))
					: 0;
	case VIRTIO_PCI_COMMON_MSIX:
		return vp->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ:
		return vp->nq;
	case VIRTIO_PCI_COMMON_STATUS:
		return vp->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return __atomic_load_n(&vp->generation, __ATOMIC_ACQUIRE) & 0xff;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return q ? q->size : 0; /* 0: no such queue (4.1.4.3) */
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return q ? q->vector : VP_NO_VECTOR;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return q ? q->enabled : 0;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return q ? vp->queue_select : 0;
	}
	return 0;
}

static void common_write(struct virtio_pci *vp, uint32_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = v;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = v;
		break;
	case VIRTIO_PCI_COMMON_GF:
		set_driver_features(vp, v);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->msix_config = v < vp->msix.nr ? v : VP_NO_VECTOR;
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		set_status(vp, v);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_select = v;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		set_queue_size(vp, v);
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		set_queue_vector(vp, v);
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		set_queue_enable(vp, v);
		break;
	default:
		break; /* read-only fields */
	}
}

/* The natural width of the field at off, 0 when no field starts there. */
static uint32_t field_width(uint32_t off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
	case VIRTIO_PCI_COMMON_DF:
	case VIRTIO_PCI_COMMON_GFSELECT:
	case VIRTIO_PCI_COMMON_GF:
		return 4;
	case VIRTIO_PCI_COMMON_MSIX:
	case VIRTIO_PCI_COMMON_NUMQ:
	case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return 2;
	case VIRTIO_PCI_COMMON_STATUS:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return 1;
	}
	return 0;
}

void vp_common_io(struct virtio_pci *vp, uint32_t off, uint8_t *data, uint32_t len, bool is_write)
{
	uint32_t v = 0;

	if (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off < VP_COMMON_LEN &&
	    ((len == 8 && !(off & 7)) || (len == 4 && !(off & 3)))) {
		ring_io(vp, off, data, len, is_write);
		return;
	}
	/* Each field with its natural width only (4.1.3.1); anything else is dropped. */
	if (field_width(off) != len) {
		pr_warn_once("virtio-pci %s: %u-byte %s at common config offset %#x ignored",
			     vp->name, len, is_write ? "write" : "read", off);
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write) {
		memcpy(&v, data, len);
		common_write(vp, off, v);
	} else {
		v = common_read(vp, off);
		memcpy(data, &v, len);
	}
}
