// SPDX-License-Identifier: GPL-2.0
/*
 * Pausing, saving and restoring a virtio-pci function (see virtio_pci.h).
 * The state, in the node the caller opened (vmm/state.h):
 *
 *	pci	{ config, slot, msix-table, msix-pba }
 *	virtio	{ num-queues, device-features, driver-features, driver-features-junk,
 *		  dfselect, gfselect, msix-config, queue-select, status, isr, generation,
 *		  config-pending,
 *		  q@N { size, enabled, vector, desc, avail, used, last-avail, call-pending } }
 *	dev	{ the device's own, ops->save }
 *
 * Interrupts in flight at the pause are state too: a call eventfd the
 * watcher had not read yet becomes call-pending, a configuration change not
 * yet signalled config-pending, and both are raised again on resume through
 * the path that is current then (irqfd, pending bit or ISR). ISR bits and
 * PBA bits are restored as they were: INTx is re-asserted on resume, a
 * pending MSI-X vector is sent when the guest unmasks it (PCI 3.0, 6.8.2.9).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#include "../vmm/log.h"
#include "../vmm/state.h"
#include "virtio_pci.h"
#include "virtio_pci_priv.h"

#define STATUS_ALL                                                                          \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK | \
	 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)

/* The data path runs exactly in this state (virtio_pci_common.c set_status(), vp_fail()). */
static bool running_status(uint8_t status)
{
	return (status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(status & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED));
}

static int pause_locked(struct virtio_pci *vp)
{
	uint16_t last[VIRTIO_MAX_QUEUES];
	unsigned int i;
	uint32_t ev;
	uint64_t v;
	int ret = 0;

	if (vp->paused)
		return 0;
	/* From here vp_raise() defers and the watcher keeps off the call eventfds. */
	vp->paused = true;
	if (vp->started) {
		memset(last, 0, sizeof(last));
		ret = vp->ops->pause ? vp->ops->pause(vp->dev, last, vp->nq) : -EOPNOTSUPP;
		if (ret) {
			/* Its data path may still run: stop it for good rather than lie. */
			vp_fail(vp, "the device cannot pause");
		} else {
			for (i = 0; i < vp->nq; i++)
				vp->q[i].last_avail = last[i];
		}
	}
	/* The device threads are gone: what they asked for is final now. */
	ev = __atomic_exchange_n(&vp->events, 0, __ATOMIC_ACQ_REL);
	if (ev & VP_EV_ERROR)
		vp_fail(vp, NULL); /* transport_error() said why */
	else if ((ev & VP_EV_CONFIG) && (vp->status & VIRTIO_CONFIG_S_DRIVER_OK))
		vp->config_pending = true;
	for (i = 0; i < vp->nq; i++) {
		/* An irqfd consumes its eventfd as it is written: this only finds the rest. */
		if (read(vp->q[i].call_fd, &v, sizeof(v)) == sizeof(v))
			vp->q[i].call_pending = true;
	}
	return ret;
}

int virtio_pci_pause(struct virtio_pci *vp)
{
	int ret;

	pthread_mutex_lock(&vp->pdev.lock);
	ret = pause_locked(vp);
	pthread_mutex_unlock(&vp->pdev.lock);
	/* The watcher drops the call eventfds from its poll set. */
	vp_wake(vp);
	return ret;
}

static int resume_locked(struct virtio_pci *vp)
{
	struct virtio_queue_info info[VIRTIO_MAX_QUEUES];
	uint16_t last[VIRTIO_MAX_QUEUES];
	uint64_t one = 1;
	unsigned int i;
	int ret = 0;

	if (!vp->paused)
		return 0;
	vp->paused = false;
	if (vp->started) {
		vp_queue_info(vp, info);
		for (i = 0; i < vp->nq; i++)
			last[i] = vp->q[i].last_avail;
		ret = vp->ops->resume ? vp->ops->resume(vp->dev, info, vp->nq, last) : -EOPNOTSUPP;
		if (ret)
			vp_fail(vp, "the device failed to resume");
	}
	if (vp->config_pending && (vp->status & VIRTIO_CONFIG_S_DRIVER_OK))
		vp_raise(vp, vp->msix_config, VP_ISR_CONFIG);
	vp->config_pending = false;
	for (i = 0; i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];

		/* Through whatever delivers this queue's interrupts now: irqfd or the watcher. */
		if (q->call_pending && write(q->call_fd, &one, sizeof(one)) < 0)
			pr_err_once("virtio-pci %s: pending interrupt: %s", vp->name,
				    strerror(errno));
		q->call_pending = false;
	}
	/* A restored ISR bit drives the line again (a no-op when it already does). */
	pci_set_intx(&vp->pdev, vp->pdev.intx_level);
	return ret;
}

int virtio_pci_resume(struct virtio_pci *vp)
{
	int ret;

	pthread_mutex_lock(&vp->pdev.lock);
	ret = resume_locked(vp);
	pthread_mutex_unlock(&vp->pdev.lock);
	vp_wake(vp);
	return ret;
}

/* ---- save ---- */

static int save_queue(struct virtio_pci *vp, void *fdt, unsigned int i)
{
	const struct vp_queue *q = &vp->q[i];
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "q@%u", i);
	ret = state_node_begin(fdt, name);
	if (!ret)
		ret = state_put_u32(fdt, "size", q->size);
	if (!ret)
		ret = state_put_u32(fdt, "enabled", q->enabled);
	if (!ret)
		ret = state_put_u32(fdt, "vector", q->vector);
	if (!ret)
		ret = state_put_u64(fdt, "desc", q->desc);
	if (!ret)
		ret = state_put_u64(fdt, "avail", q->avail);
	if (!ret)
		ret = state_put_u64(fdt, "used", q->used);
	if (!ret)
		ret = state_put_u32(fdt, "last-avail", q->last_avail);
	if (!ret)
		ret = state_put_u32(fdt, "call-pending", q->call_pending);
	if (!ret)
		ret = state_node_end(fdt);
	return ret;
}

static int save_virtio(struct virtio_pci *vp, void *fdt)
{
	/* A change announced after the pause is still in events: the watcher is held. */
	bool cfg_pending = vp->config_pending ||
			   (__atomic_load_n(&vp->events, __ATOMIC_ACQUIRE) & VP_EV_CONFIG);
	const struct {
		const char *name;
		uint32_t v;
	} f[] = {
		{"num-queues", vp->nq},
		{"driver-features-junk", vp->driver_features_junk},
		{"dfselect", vp->dfselect},
		{"gfselect", vp->gfselect},
		{"msix-config", vp->msix_config},
		{"queue-select", vp->queue_select},
		{"status", vp->status},
		{"isr", vp->isr},
		{"generation", __atomic_load_n(&vp->generation, __ATOMIC_ACQUIRE)},
		{"config-pending", cfg_pending},
	};
	unsigned int i;
	int ret;

	ret = state_put_u64(fdt, "device-features", vp->offered);
	if (!ret)
		ret = state_put_u64(fdt, "driver-features", vp->driver_features);
	for (i = 0; !ret && i < sizeof(f) / sizeof(f[0]); i++)
		ret = state_put_u32(fdt, f[i].name, f[i].v);
	for (i = 0; !ret && i < vp->nq; i++)
		ret = save_queue(vp, fdt, i);
	return ret;
}

static int save_locked(struct virtio_pci *vp, void *fdt)
{
	int ret;

	/* A running data path moves the rings under our feet. */
	if (vp->started && !vp->paused)
		return -EBUSY;
	ret = state_node_begin(fdt, "pci");
	if (!ret)
		ret = pci_device_save(&vp->pdev, fdt);
	if (!ret)
		ret = msix_save(&vp->msix, fdt);
	if (!ret)
		ret = state_node_end(fdt);
	if (!ret)
		ret = state_node_begin(fdt, "virtio");
	if (!ret)
		ret = save_virtio(vp, fdt);
	if (!ret)
		ret = state_node_end(fdt);
	if (ret || !vp->ops->save)
		return ret;
	ret = state_node_begin(fdt, "dev");
	if (!ret)
		ret = vp->ops->save(vp->dev, fdt);
	if (!ret)
		ret = state_node_end(fdt);
	return ret;
}

int virtio_pci_save(struct virtio_pci *vp, void *fdt)
{
	int ret;

	pthread_mutex_lock(&vp->pdev.lock);
	ret = save_locked(vp, fdt);
	pthread_mutex_unlock(&vp->pdev.lock);
	return ret;
}

/* ---- restore ---- */

/* The saved state, read and checked before any of it is applied. */
struct vp_saved {
	uint64_t driver_features;
	uint32_t nq, junk, dfselect, gfselect, msix_config, queue_select, status, isr;
	uint32_t generation, config_pending;
	struct {
		uint32_t size, enabled, vector, last_avail, call_pending;
		uint64_t desc, avail, used;
	} q[VIRTIO_MAX_QUEUES];
};

static int read_queue(const void *fdt, int node, unsigned int i, struct vp_saved *s)
{
	char name[16];
	int qn, ret;

	snprintf(name, sizeof(name), "q@%u", i);
	qn = state_node(fdt, node, name);
	if (qn < 0)
		return -EINVAL;
	ret = state_get_u32(fdt, qn, "size", &s->q[i].size);
	if (!ret)
		ret = state_get_u32(fdt, qn, "enabled", &s->q[i].enabled);
	if (!ret)
		ret = state_get_u32(fdt, qn, "vector", &s->q[i].vector);
	if (!ret)
		ret = state_get_u64(fdt, qn, "desc", &s->q[i].desc);
	if (!ret)
		ret = state_get_u64(fdt, qn, "avail", &s->q[i].avail);
	if (!ret)
		ret = state_get_u64(fdt, qn, "used", &s->q[i].used);
	if (!ret)
		ret = state_get_u32(fdt, qn, "last-avail", &s->q[i].last_avail);
	if (!ret)
		ret = state_get_u32(fdt, qn, "call-pending", &s->q[i].call_pending);
	return ret;
}

static int read_virtio(const struct virtio_pci *vp, const void *fdt, int node, struct vp_saved *s)
{
	const struct {
		const char *name;
		uint32_t *v;
	} f[] = {
		{"num-queues", &s->nq},		  {"driver-features-junk", &s->junk},
		{"dfselect", &s->dfselect},	  {"gfselect", &s->gfselect},
		{"msix-config", &s->msix_config}, {"queue-select", &s->queue_select},
		{"status", &s->status},		  {"isr", &s->isr},
		{"generation", &s->generation},	  {"config-pending", &s->config_pending},
	};
	unsigned int i;
	int ret;

	ret = state_get_u64(fdt, node, "driver-features", &s->driver_features);
	for (i = 0; !ret && i < sizeof(f) / sizeof(f[0]); i++)
		ret = state_get_u32(fdt, node, f[i].name, f[i].v);
	if (ret)
		return ret;
	if (s->nq != vp->nq)
		return state_fail("virtio-pci %s: %u queues saved, this device has %u", vp->name,
				  s->nq, vp->nq);
	for (i = 0; i < s->nq; i++) {
		ret = read_queue(fdt, node, i, s);
		if (ret)
			return ret;
	}
	return 0;
}

static bool vector_ok(const struct virtio_pci *vp, uint32_t v)
{
	return v == VP_NO_VECTOR || v < vp->msix.nr;
}

static int check_queue_state(const struct virtio_pci *vp, const struct vp_saved *s, unsigned int i)
{
	bool packed = s->driver_features & (1ULL << VIRTIO_F_RING_PACKED);
	struct vp_queue q = {
		.size = s->q[i].size,
		.desc = s->q[i].desc,
		.avail = s->q[i].avail,
		.used = s->q[i].used,
	};
	uint32_t size = s->q[i].size;

	/* The rules set_queue_size() enforces on the driver (2.7, 4.1.4.3). */
	if (!size || size > vp->q[i].max_size || (!packed && (size & (size - 1))))
		return state_fail("virtio-pci %s: queue %u: size %u (maximum %u, a power of 2)",
				  vp->name, i, size, vp->q[i].max_size);
	if (s->q[i].enabled > 1 || s->q[i].call_pending > 1)
		return state_fail("virtio-pci %s: queue %u: bad flag", vp->name, i);
	if (!vector_ok(vp, s->q[i].vector))
		return state_fail(
			"virtio-pci %s: queue %u: vector %u past the %u-entry MSI-X table",
			vp->name, i, s->q[i].vector, vp->msix.nr);
	if (s->q[i].last_avail > 0xffff)
		return state_fail("virtio-pci %s: queue %u: last-avail %u", vp->name, i,
				  s->q[i].last_avail);
	/* The check DRIVER_OK made on the source, made again against this RAM. */
	if (running_status(s->status) && s->q[i].enabled &&
	    vp_check_queue(vp, &q, s->driver_features))
		return state_fail("virtio-pci %s: queue %u: rings outside guest RAM or misaligned",
				  vp->name, i);
	return 0;
}

static int check_features(const struct virtio_pci *vp, const struct vp_saved *s)
{
	uint64_t f = s->driver_features;

	/* Before FEATURES_OK the driver may have written anything (it is refused then). */
	if (!(s->status & VIRTIO_CONFIG_S_FEATURES_OK))
		return 0;
	if (f & ~vp->offered)
		return state_fail("virtio-pci %s: negotiated features %#llx not offered by this "
				  "device (it lacks %#llx)",
				  vp->name, (unsigned long long)f,
				  (unsigned long long)(f & ~vp->offered));
	if (!(f & (1ULL << VIRTIO_F_VERSION_1)) || s->junk)
		return state_fail("virtio-pci %s: negotiated features %#llx are not acceptable",
				  vp->name, (unsigned long long)f);
	return 0;
}

static int check_saved(const struct virtio_pci *vp, const struct vp_saved *s)
{
	unsigned int i;
	int ret;

	/* Only combinations set_status() lets a driver reach (2.1, 3.1.1). */
	if ((s->status & ~STATUS_ALL) ||
	    ((s->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	     !(s->status & VIRTIO_CONFIG_S_FEATURES_OK)) ||
	    ((s->status & VIRTIO_CONFIG_S_FEATURES_OK) && !(s->status & VIRTIO_CONFIG_S_DRIVER)))
		return state_fail("virtio-pci %s: device status %#x is not reachable", vp->name,
				  s->status);
	ret = check_features(vp, s);
	if (ret)
		return ret;
	if (!vector_ok(vp, s->msix_config))
		return state_fail("virtio-pci %s: config vector %u past the %u-entry MSI-X table",
				  vp->name, s->msix_config, vp->msix.nr);
	if (s->isr & ~(VP_ISR_QUEUE | VP_ISR_CONFIG))
		return state_fail("virtio-pci %s: ISR %#x", vp->name, s->isr);
	if (s->queue_select > 0xffff || s->junk > 1 || s->config_pending > 1)
		return state_fail("virtio-pci %s: bad common configuration register", vp->name);
	if (running_status(s->status) && !vp->ops->resume)
		return state_fail("virtio-pci %s: %s cannot be restored running", vp->name,
				  vp->ops->name);
	for (i = 0; i < s->nq; i++) {
		ret = check_queue_state(vp, s, i);
		if (ret)
			return ret;
	}
	return 0;
}

static void apply_saved(struct virtio_pci *vp, const struct vp_saved *s)
{
	unsigned int i;

	for (i = 0; i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];

		q->size = s->q[i].size;
		q->enabled = s->q[i].enabled;
		q->vector = s->q[i].vector;
		q->desc = s->q[i].desc;
		q->avail = s->q[i].avail;
		q->used = s->q[i].used;
		q->last_avail = s->q[i].last_avail;
		q->call_pending = s->q[i].call_pending;
	}
	vp->driver_features = s->driver_features;
	vp->driver_features_junk = s->junk;
	vp->dfselect = s->dfselect;
	vp->gfselect = s->gfselect;
	vp->msix_config = s->msix_config;
	vp->queue_select = s->queue_select;
	vp->status = s->status;
	vp->isr = s->isr;
	__atomic_store_n(&vp->generation, s->generation, __ATOMIC_RELEASE);
	vp->config_pending = s->config_pending;
	/* ops->resume() starts it: restore leaves the data path paused. */
	vp->started = running_status(s->status);
	vp->paused = true;
}

static int restore_locked(struct virtio_pci *vp, const void *fdt, int node)
{
	struct vp_saved s;
	int pci, virtio, dev = -1, ret;

	if (vp->status || vp->started)
		return state_fail("virtio-pci %s: restore on a device the guest already used",
				  vp->name);
	memset(&s, 0, sizeof(s));
	pci = state_node(fdt, node, "pci");
	if (pci < 0)
		return -EINVAL;
	virtio = state_node(fdt, node, "virtio");
	if (virtio < 0)
		return -EINVAL;
	if (vp->ops->restore) {
		dev = state_node(fdt, node, "dev");
		if (dev < 0)
			return -EINVAL;
	}
	ret = read_virtio(vp, fdt, virtio, &s);
	if (!ret)
		ret = check_saved(vp, &s);
	if (!ret)
		ret = pci_device_check_state(&vp->pdev, fdt, pci);
	if (!ret)
		ret = msix_check_state(&vp->msix, fdt, pci);
	if (ret)
		return ret;
	/*
	 * The device learns the features as at FEATURES_OK, and may refuse
	 * them (its backend here cannot do what the source's could); neither
	 * this nor its own restore changes anything the guest can see.
	 */
	if ((s.status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    vp->ops->set_features(vp->dev, s.driver_features))
		return state_fail("virtio-pci %s: %s refuses features %#llx", vp->name,
				  vp->ops->name, (unsigned long long)s.driver_features);
	if (vp->ops->restore) {
		ret = vp->ops->restore(vp->dev, fdt, dev);
		if (ret)
			return ret;
	}

	/* Queue vectors first: loading the MSI-X state re-evaluates their routes. */
	apply_saved(vp, &s);
	ret = pci_device_load_state(&vp->pdev, fdt, pci);
	msix_load_state(&vp->msix, fdt, pci);
	if (ret)
		return state_fail("virtio-pci %s: a BAR overlaps another device", vp->name);
	return 0;
}

int virtio_pci_restore(struct virtio_pci *vp, const void *fdt, int node)
{
	int ret;

	pthread_mutex_lock(&vp->pdev.lock);
	ret = restore_locked(vp, fdt, node);
	pthread_mutex_unlock(&vp->pdev.lock);
	vp_wake(vp);
	return ret;
}
