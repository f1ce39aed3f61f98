// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-pci transport as a PCI function: capabilities, BAR handlers,
 * the configuration-space window, notifications (ioeventfd) and interrupts
 * (MSI-X through irqfd routes or KVM_SIGNAL_MSI, INTx through the ISR).
 * See virtio_pci.h for the model.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "../vmm/log.h"
#include "virtio_pci.h"
#include "virtio_pci_priv.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + virtio device ID (4.1.2) */
#define VIRTIO_PCI_SUBSYS 0x1100
#define VIRTIO_PCI_CFG_DATA 16u /* pci_cfg_data in struct virtio_pci_cfg_cap */

static void notify_write(struct virtio_pci *vp, uint32_t off)
{
	uint64_t one = 1;
	unsigned int qi = off / VP_NOTIFY_MULT;

	/* Reached only when no ioeventfd took the write (another width, or no KVM). */
	if (qi >= vp->nq)
		return;
	if (write(vp->q[qi].kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_err_once("virtio-pci %s: kick: %s", vp->name, strerror(errno));
}

static void isr_read(struct virtio_pci *vp, uint32_t off, uint8_t *data, uint32_t len)
{
	memset(data, 0, len);
	if (off != 0)
		return;
	/* Reading the ISR acknowledges it and deasserts INTx (4.1.4.5). */
	data[0] = vp->isr;
	vp->isr = 0;
	pci_set_intx(&vp->pdev, false);
}

static void bar_io_locked(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	uint32_t cfg_size = vp->ops->config_size;

	if (!is_write)
		memset(data, 0, len);
	if (off >= VP_BAR_SIZE || len > VP_BAR_SIZE - off)
		return;
	if (off < VP_COMMON_OFF + VP_COMMON_LEN) {
		if (off + len <= VP_COMMON_OFF + VP_COMMON_LEN)
			vp_common_io(vp, off - VP_COMMON_OFF, data, len, is_write);
	} else if (off >= VP_ISR_OFF && off + len <= VP_ISR_OFF + VP_ISR_LEN) {
		if (!is_write)
			isr_read(vp, off - VP_ISR_OFF, data, len);
	} else if (off >= VP_DEVICE_OFF && off + len <= VP_DEVICE_OFF + cfg_size) {
		if (is_write && vp->ops->config_write)
			vp->ops->config_write(vp->dev, off - VP_DEVICE_OFF, data, len);
		else if (!is_write && vp->ops->config_read)
			vp->ops->config_read(vp->dev, off - VP_DEVICE_OFF, data, len);
	} else if (off >= VP_NOTIFY_OFF && off + len <= VP_NOTIFY_OFF + VP_NOTIFY_MULT * vp->nq) {
		if (is_write)
			notify_write(vp, off - VP_NOTIFY_OFF);
	}
}

static void msix_bar_io_locked(struct virtio_pci *vp, uint64_t off, uint8_t *data, uint32_t len,
			       bool is_write)
{
	if (off < VP_MSIX_PBA_OFF)
		msix_table_io(&vp->msix, off - VP_MSIX_TABLE_OFF, data, len, is_write);
	else if (off < VP_MSIX_BAR_SIZE)
		msix_pba_io(&vp->msix, off - VP_MSIX_PBA_OFF, data, len, is_write);
	else if (!is_write)
		memset(data, 0, len);
}

static void bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_pci *vp = opaque;

	pthread_mutex_lock(&vp->pdev.lock);
	bar_io_locked(vp, off, data, len, is_write);
	pthread_mutex_unlock(&vp->pdev.lock);
}

static void msix_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_pci *vp = opaque;

	pthread_mutex_lock(&vp->pdev.lock);
	msix_bar_io_locked(vp, off, data, len, is_write);
	pthread_mutex_unlock(&vp->pdev.lock);
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG (4.1.4.9): an access to pci_cfg_data performs an
 * access of cap.length bytes at cap.offset in BAR cap.bar. Anything
 * malformed (length not 1, 2 or 4, misaligned, out of the BAR) does nothing.
 */
static void cfg_window(struct virtio_pci *vp, bool is_write)
{
	struct pci_device *pdev = &vp->pdev;
	uint8_t *buf = &pdev->cfg[vp->cfg_cap + VIRTIO_PCI_CFG_DATA];
	uint8_t bar = pdev->cfg[vp->cfg_cap + offsetof(struct virtio_pci_cap, bar)];
	uint32_t off = pci_cfg_get(pdev, vp->cfg_cap + offsetof(struct virtio_pci_cap, offset), 4);
	uint32_t len = pci_cfg_get(pdev, vp->cfg_cap + offsetof(struct virtio_pci_cap, length), 4);
	uint8_t tmp[4];

	if ((len != 1 && len != 2 && len != 4) || (off & (len - 1)))
		return;
	if (is_write)
		memcpy(tmp, buf, len);
	if (bar == VP_BAR && off < VP_BAR_SIZE)
		bar_io_locked(vp, off, tmp, len, is_write);
	else if (bar == VP_MSIX_BAR && off < VP_MSIX_BAR_SIZE)
		msix_bar_io_locked(vp, off, tmp, len, is_write);
	else
		return;
	if (!is_write)
		memcpy(buf, tmp, len);
}

static void cfg_read_hook(struct pci_device *pdev, uint32_t off, uint32_t len)
{
	struct virtio_pci *vp = pdev->opaque;

	if (off == vp->cfg_cap + VIRTIO_PCI_CFG_DATA)
		cfg_window(vp, false);
}

static void cfg_write_hook(struct pci_device *pdev, uint32_t off, uint32_t len)
{
	struct virtio_pci *vp = pdev->opaque;

	msix_config_write(&vp->msix, off, len);
	if (off == vp->cfg_cap + VIRTIO_PCI_CFG_DATA)
		cfg_window(vp, true);
}

/* Keep each queue's kick eventfd on its notify address while BAR 0 decodes. */
static void update_ioeventfds(struct virtio_pci *vp)
{
	unsigned int i;
	int ret;

	if (!vp->has_kvm)
		return;
	for (i = 0; i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];
		uint64_t addr = vp->bar_addr + VP_NOTIFY_OFF + VP_NOTIFY_MULT * i;

		if (q->ioeventfd && (!vp->bar_mapped || q->ioeventfd_addr != addr)) {
			ret = vp->kvm.ioeventfd(vp->kvm.ctx, q->ioeventfd_addr, 2, false,
						q->kick_fd, false);
			if (ret)
				pr_err_once("virtio-pci %s: KVM_IOEVENTFD deassign: %s", vp->name,
					    strerror(-ret));
			q->ioeventfd = false;
		}
		if (!vp->bar_mapped || q->ioeventfd)
			continue;
		/* 2 bytes: the driver writes the 16-bit queue index (4.1.5.2). */
		ret = vp->kvm.ioeventfd(vp->kvm.ctx, addr, 2, false, q->kick_fd, true);
		if (ret) {
			/* Not fatal: the write then exits and notify_write() forwards it. */
			pr_warn_once("virtio-pci %s: KVM_IOEVENTFD: %s", vp->name, strerror(-ret));
			continue;
		}
		q->ioeventfd = true;
		q->ioeventfd_addr = addr;
	}
}

static void bar_mapped_hook(struct pci_device *pdev, int bar, uint64_t addr, bool mapped)
{
	struct virtio_pci *vp = pdev->opaque;

	if (bar != VP_BAR)
		return;
	vp->bar_mapped = mapped;
	vp->bar_addr = addr;
	update_ioeventfds(vp);
}

static const struct pci_device_ops vp_pci_ops = {
	.config_read = cfg_read_hook,
	.config_write = cfg_write_hook,
	.bar_mapped = bar_mapped_hook,
};

static void transport_error(void *opaque, const char *why)
{
	struct virtio_pci *vp = opaque;

	log_ratelimited(&vp->fail_log, LOG_ERR, "virtio-pci %s: %s: device needs reset", vp->name,
			why);
	__atomic_or_fetch(&vp->events, VP_EV_ERROR, __ATOMIC_ACQ_REL);
	vp_wake(vp);
}

static void transport_config_changed(void *opaque)
{
	struct virtio_pci *vp = opaque;

	/* Bumped now, before the interrupt, so a driver never reads old and new alike (4.1.4.3.1).
	 */
	__atomic_add_fetch(&vp->generation, 1, __ATOMIC_ACQ_REL);
	__atomic_or_fetch(&vp->events, VP_EV_CONFIG, __ATOMIC_ACQ_REL);
	vp_wake(vp);
}

struct virtio_transport virtio_pci_transport(struct virtio_pci *vp)
{
	return (struct virtio_transport){
		.device_error = transport_error,
		.config_changed = transport_config_changed,
		.transport = vp,
	};
}

struct pci_device *virtio_pci_pdev(struct virtio_pci *vp)
{
	return &vp->pdev;
}

static uint32_t class_of(uint16_t device_id)
{
	switch (device_id) {
	case 1:
		return 0x020000; /* network controller, Ethernet */
	case 2:
		return 0x010000; /* mass storage, SCSI */
	case 3:
		return 0x078000; /* communication, other */
	default:
		return 0xff0000; /* unassigned class */
	}
}

/* A struct virtio_pci_cap for a structure in BAR 0; extra bytes follow for notify/pci_cfg. */
static int add_vendor_cap(struct virtio_pci *vp, uint8_t type, uint8_t bar, uint32_t off,
			  uint32_t len, uint8_t cap_len)
{
	struct pci_device *pdev = &vp->pdev;
	int pos = pci_add_capability(pdev, PCI_CAP_ID_VNDR, cap_len);

	if (pos < 0)
		return pos;
	pci_cfg_set8(pdev, pos + offsetof(struct virtio_pci_cap, cap_len), cap_len);
	pci_cfg_set8(pdev, pos + offsetof(struct virtio_pci_cap, cfg_type), type);
	pci_cfg_set8(pdev, pos + offsetof(struct virtio_pci_cap, bar), bar);
	pci_cfg_set32(pdev, pos + offsetof(struct virtio_pci_cap, offset), off);
	pci_cfg_set32(pdev, pos + offsetof(struct virtio_pci_cap, length), len);
	return pos;
}

static int build_config_space(struct virtio_pci *vp)
{
	struct pci_device *pdev = &vp->pdev;
	uint32_t cfg_size = vp->ops->config_size;
	int pos, ret;

	ret = pci_device_add_bar(pdev, VP_BAR, PCI_BAR_MEM64, VP_BAR_SIZE, bar_io, vp);
	if (!ret)
		ret = pci_device_add_bar(pdev, VP_MSIX_BAR, PCI_BAR_MEM32, VP_MSIX_BAR_SIZE,
					 msix_bar_io, vp);
	if (!ret)
		ret = msix_init(&vp->msix, pdev, vp->nq + 1, VP_MSIX_BAR, VP_MSIX_TABLE_OFF,
				VP_MSIX_BAR, VP_MSIX_PBA_OFF, &vp_msix_ops, vp);
	if (ret)
		return ret;
	if (add_vendor_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VP_BAR, VP_COMMON_OFF, VP_COMMON_LEN,
			   sizeof(struct virtio_pci_cap)) < 0)
		return -ENOSPC;
	pos = add_vendor_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VP_BAR, VP_NOTIFY_OFF,
			     VP_NOTIFY_MULT * vp->nq, sizeof(struct virtio_pci_notify_cap));
	if (pos < 0)
		return pos;
	pci_cfg_set32(pdev, pos + offsetof(struct virtio_pci_notify_cap, notify_off_multiplier),
		      VP_NOTIFY_MULT);
	if (add_vendor_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, VP_BAR, VP_ISR_OFF, VP_ISR_LEN,
			   sizeof(struct virtio_pci_cap)) < 0)
		return -ENOSPC;
	if (cfg_size && add_vendor_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VP_BAR, VP_DEVICE_OFF,
				       cfg_size, sizeof(struct virtio_pci_cap)) < 0)
		return -ENOSPC;
	pos = add_vendor_cap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0,
			     sizeof(struct virtio_pci_cfg_cap));
	if (pos < 0)
		return pos;
	vp->cfg_cap = pos;
	/* The driver programs bar, offset, length and the data (4.1.4.9). */
	pci_wmask_set(pdev, pos + offsetof(struct virtio_pci_cap, bar), 1, 0xff);
	pci_wmask_set(pdev, pos + offsetof(struct virtio_pci_cap, offset), 4, 0xffffffff);
	pci_wmask_set(pdev, pos + offsetof(struct virtio_pci_cap, length), 4, 0xffffffff);
	pci_wmask_set(pdev, pos + VIRTIO_PCI_CFG_DATA, 4, 0xffffffff);
	return 0;
}

static int check_ops(const struct virtio_pci_params *p, unsigned int *nq)
{
	const struct virtio_dev_ops *ops = p->ops;
	unsigned int i;

	if (!ops || !ops->num_queues || !ops->queue_max_size || !ops->get_features ||
	    !ops->set_features || !ops->start || !ops->stop || ops->config_size > VP_DEVICE_MAX)
		return -EINVAL;
	*nq = ops->num_queues(p->dev);
	if (!*nq || *nq > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	for (i = 0; i < *nq; i++) {
		uint16_t max = ops->queue_max_size(p->dev, i);

		if (!max || max > 32768 || (max & (max - 1)))
			return -EINVAL;
	}
	/* Modern only: a device that cannot do VERSION_1 has no place here. */
	if (!(ops->get_features(p->dev) & (1ULL << VIRTIO_F_VERSION_1)))
		return -EINVAL;
	return 0;
}

struct virtio_pci *virtio_pci_create(const struct virtio_pci_params *p)
{
	struct virtio_pci *vp;
	struct pci_id id;
	unsigned int i, nq;
	int ret;

	ret = check_ops(p, &nq);
	if (ret) {
		pr_err("virtio-pci %s: the device is not usable over virtio-pci", p->name);
		return NULL;
	}
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		goto err_nomem;
	vp->name = p->name;
	vp->ops = p->ops;
	vp->dev = p->dev;
	vp->mem = p->mem;
	vp->has_kvm = p->kvm != NULL;
	if (p->kvm)
		vp->kvm = *p->kvm;
	vp->manual = p->manual_service;
	vp->nq = nq;
	vp->offered = p->ops->get_features(p->dev);
	vp->wake_fd = -1;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		vp->q[i].kick_fd = vp->q[i].call_fd = -1;
		vp->q[i].gsi = -1;
	}
	id = (struct pci_id){
		.vendor = VIRTIO_PCI_VENDOR,
		.device = VIRTIO_PCI_DEVICE_BASE + p->ops->device_id,
		.subsys_vendor = VIRTIO_PCI_VENDOR,
		.subsys = VIRTIO_PCI_SUBSYS,
		.revision = 1, /* non-transitional (4.1.2.1) */
		.class_code = class_of(p->ops->device_id),
		.irq_pin = 1,
	};
	pci_device_init(&vp->pdev, p->name, &id, &vp_pci_ops, vp);
	vp->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vp->wake_fd < 0)
		goto err;
	for (i = 0; i < nq; i++) {
		vp->q[i].max_size = p->ops->queue_max_size(p->dev, i);
		vp->q[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		vp->q[i].call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->q[i].kick_fd < 0 || vp->q[i].call_fd < 0)
			goto err;
	}
	ret = build_config_space(vp);
	if (ret) {
		pr_err("virtio-pci %s: configuration space: %s", p->name, strerror(-ret));
		goto err_quiet;
	}
	pthread_mutex_lock(&vp->pdev.lock);
	vp_reset(vp);
	pthread_mutex_unlock(&vp->pdev.lock);
	if (!vp->manual) {
		ret = pthread_create(&vp->watcher, NULL, vp_watcher, vp);
		if (ret) {
			errno = ret;
			goto err;
		}
		vp->watcher_started = true;
	}
	return vp;

err:
	pr_err("virtio-pci %s: %s", p->name, strerror(errno));
err_quiet:
	virtio_pci_destroy(vp);
	return NULL;
err_nomem:
	pr_err("virtio-pci %s: out of memory", p->name);
	return NULL;
}

int virtio_pci_add(struct virtio_pci *vp, struct pci_bus *pb, int slot)
{
	return pci_bus_add(pb, &vp->pdev, slot);
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	unsigned int i;

	if (!vp)
		return;
	if (vp->watcher_started) {
		pthread_mutex_lock(&vp->pdev.lock);
		vp->stopping = true;
		pthread_mutex_unlock(&vp->pdev.lock);
		vp_wake(vp);
		pthread_join(vp->watcher, NULL);
	}
	pthread_mutex_lock(&vp->pdev.lock);
	if (vp->started)
		vp->ops->stop(vp->dev);
	vp->started = false;
	vp->bar_mapped = false;
	update_ioeventfds(vp);
	for (i = 0; i < vp->nq; i++)
		vp_queue_irq_release(vp, i);
	pthread_mutex_unlock(&vp->pdev.lock);
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (vp->q[i].kick_fd >= 0)
			close(vp->q[i].kick_fd);
		if (vp->q[i].call_fd >= 0)
			close(vp->q[i].call_fd);
	}
	if (vp->wake_fd >= 0)
		close(vp->wake_fd);
	msix_destroy(&vp->msix);
	pci_device_destroy(&vp->pdev);
	log_ratelimit_flush(&vp->fail_log);
	free(vp);
}
