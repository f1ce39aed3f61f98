// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts of the virtio-pci transport: MSI-X vectors through irqfd
 * routes or KVM_SIGNAL_MSI, INTx through the ISR, and the watcher that
 * reads the call eventfds no irqfd consumes. Called with vp->pdev.lock held
 * unless said otherwise.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#include "../vmm/log.h"
#include "../vmm/seccomp.h"
#include "virtio_pci.h"
#include "virtio_pci_priv.h"


void vp_drain(int fd)
{
	uint64_t v;

	if (fd >= 0)
		while (read(fd, &v, sizeof(v)) == sizeof(v))
			;
}

void vp_wake(struct virtio_pci *vp)
{
	uint64_t one = 1;

	if (vp->wake_fd >= 0 && write(vp->wake_fd, &one, sizeof(one)) < 0)
		pr_err_once("virtio-pci %s: cannot wake the watcher: %s", vp->name,
			    strerror(errno));
}

/* One interrupt for vector (MSI-X) or ISR bit isr_bit (INTx), 4.1.5.3 and 4.1.5.4. */
void vp_raise(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	if (vp->paused) {
		/*
		 * Nothing reaches the guest while paused: virtio_pci_resume()
		 * raises it. Queue interrupts never get here then (the watcher
		 * leaves the call eventfds alone), only configuration ones.
		 */
		if (isr_bit & VP_ISR_CONFIG)
			vp->config_pending = true;
		return;
	}
	if (vp->msix.enabled) {
		/* NO_VECTOR or out of range: the driver asked for no interrupt. */
		msix_notify(&vp->msix, vector);
		return;
	}
	vp->isr |= isr_bit;
	pci_set_intx(&vp->pdev, true);
}

void vp_fail(struct virtio_pci *vp, const char *why)
{
	if (why)
		log_ratelimited(&vp->fail_log, LOG_ERR, "virtio-pci %s: %s: device needs reset",
				vp->name, why);
	if (vp->started)
		vp->ops->stop(vp->dev);
	vp->started = false;
	vp->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	/* A live driver learns of it through a configuration interrupt (2.1.2). */
	if (vp->status & VIRTIO_CONFIG_S_DRIVER_OK)
		vp_raise(vp, vp->msix_config, VP_ISR_CONFIG);
}

static void unbind_irqfd(struct virtio_pci *vp, struct vp_queue *q)
{
	int ret;

	if (!q->irqfd)
		return;
	ret = vp->kvm.irqfd(vp->kvm.ctx, q->call_fd, q->gsi, false);
	if (ret)
		pr_err_once("virtio-pci %s: KVM_IRQFD deassign: %s", vp->name, strerror(-ret));
	q->irqfd = false;
}

void vp_queue_irq_release(struct virtio_pci *vp, unsigned int qi)
{
	struct vp_queue *q = &vp->q[qi];

	unbind_irqfd(vp, q);
	if (q->gsi >= 0)
		vp->kvm.msi_route_del(vp->kvm.ctx, q->gsi);
	q->gsi = -1;
}

/*
 * Bind the call eventfd to an MSI route while its vector can be delivered
 * directly; otherwise leave it to the watcher, which sets the pending bit
 * or raises INTx (the interrupt must not be lost either way).
 */
void vp_queue_irq_update(struct virtio_pci *vp, unsigned int qi)
{
	struct vp_queue *q = &vp->q[qi];
	bool was_bound = q->irqfd;
	uint64_t addr;
	uint32_t data;
	int ret;

	if (!vp->has_kvm || !vp->msix.enabled || q->vector >= vp->msix.nr ||
	    msix_vector_masked(&vp->msix, q->vector)) {
		vp_queue_irq_release(vp, qi);
		goto out;
	}
	msix_vector_msg(&vp->msix, q->vector, &addr, &data);
	if (q->gsi < 0) {
		ret = vp->kvm.msi_route_add(vp->kvm.ctx, addr, data);
		if (ret < 0) {
			pr_err_once("virtio-pci %s: no MSI route: %s", vp->name, strerror(-ret));
			goto out;
		}
		q->gsi = ret;
	} else {
		ret = vp->kvm.msi_route_update(vp->kvm.ctx, q->gsi, addr, data);
		if (ret) {
			pr_err_once("virtio-pci %s: MSI route update: %s", vp->name,
				    strerror(-ret));
			vp_queue_irq_release(vp, qi);
			goto out;
		}
	}
	if (!q->irqfd) {
		ret = vp->kvm.irqfd(vp->kvm.ctx, q->call_fd, q->gsi, true);
		if (ret)
			pr_err_once("virtio-pci %s: KVM_IRQFD: %s", vp->name, strerror(-ret));
		q->irqfd = ret == 0;
	}
out:
	if (was_bound != q->irqfd)
		vp_wake(vp);
}

static void msix_send(void *opaque, unsigned int vector, uint64_t addr, uint32_t data)
{
	struct virtio_pci *vp = opaque;
	int ret;

	if (!vp->has_kvm)
		return;
	ret = vp->kvm.signal_msi(vp->kvm.ctx, addr, data);
	if (ret < 0)
		pr_err_once("virtio-pci %s: KVM_SIGNAL_MSI: %s", vp->name, strerror(-ret));
}

static void msix_changed(void *opaque, unsigned int vector)
{
	struct virtio_pci *vp = opaque;
	unsigned int i;

	for (i = 0; i < vp->nq; i++)
		if (vector == MSIX_ALL_VECTORS || vp->q[i].vector == vector)
			vp_queue_irq_update(vp, i);
}

const struct msix_ops vp_msix_ops = {
	.send = msix_send,
	.changed = msix_changed,
};

/* Deferred device requests, then the call eventfds no irqfd consumes. */
void virtio_pci_service(struct virtio_pci *vp)
{
	unsigned int i;
	uint32_t ev;
	uint64_t v;

	pthread_mutex_lock(&vp->pdev.lock);
	/* Taken under the lock: virtio_pci_pause() folds what is left into pending state. */
	if (vp->paused) {
		pthread_mutex_unlock(&vp->pdev.lock);
		return;
	}
	ev = __atomic_exchange_n(&vp->events, 0, __ATOMIC_ACQ_REL);
	if (ev & VP_EV_ERROR)
		vp_fail(vp, NULL); /* transport_error() said why */
	else if ((ev & VP_EV_CONFIG) && (vp->status & VIRTIO_CONFIG_S_DRIVER_OK))
		vp_raise(vp, vp->msix_config, VP_ISR_CONFIG);
	for (i = 0; i < vp->nq; i++) {
		struct vp_queue *q = &vp->q[i];

		if (q->irqfd)
			continue;
		if (read(q->call_fd, &v, sizeof(v)) == sizeof(v))
			vp_raise(vp, q->vector, VP_ISR_QUEUE);
	}
	pthread_mutex_unlock(&vp->pdev.lock);
}

void *vp_watcher(void *arg)
{
	struct virtio_pci *vp = arg;
	struct pollfd pfd[VIRTIO_MAX_QUEUES + 1];
	unsigned int i, n;

	seccomp_enter(SECCOMP_IRQ_WATCHER);
	for (;;) {
		pthread_mutex_lock(&vp->pdev.lock);
		if (vp->stopping) {
			pthread_mutex_unlock(&vp->pdev.lock);
			break;
		}
		pfd[0] = (struct pollfd){.fd = vp->wake_fd, .events = POLLIN};
		/* Paused: only the wake eventfd, a readable call eventfd would spin. */
		for (i = 0, n = 1; i < vp->nq && !vp->paused; i++)
			if (!vp->q[i].irqfd)
				pfd[n++] =
					(struct pollfd){.fd = vp->q[i].call_fd, .events = POLLIN};
		pthread_mutex_unlock(&vp->pdev.lock);

		if (poll(pfd, n, -1) < 0 && errno != EINTR) {
			pr_err("virtio-pci %s: poll: %s", vp->name, strerror(errno));
			break;
		}
		if (pfd[0].revents)
			vp_drain(vp->wake_fd);
		virtio_pci_service(vp);
	}
	return NULL;
}
