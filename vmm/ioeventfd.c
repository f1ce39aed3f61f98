// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "ioeventfd.h"

static int ioeventfd_ioctl(int vm_fd, const struct ioeventfd *ev, bool deassign)
{
	struct kvm_ioeventfd req = {
		.addr = ev->addr,
		.len = ev->len,
		.fd = ev->fd,
		.datamatch = ev->datamatch ? ev->data : 0,
	};

	/* The same rules KVM applies (virt/kvm/eventfd.c), checked here for a clear -EINVAL. */
	if (ev->fd < 0)
		return -EBADF;
	switch (ev->len) {
	case 0:
		/* A width-less match has nothing to compare against and exists only for MMIO. */
		if (ev->datamatch || ev->pio)
			return -EINVAL;
		break;
	case 1:
	case 2:
	case 4:
	case 8:
		break;
	default:
		return -EINVAL;
	}
	if (ev->addr + ev->len < ev->addr || (ev->pio && ev->addr + ev->len > 0x10000))
		return -EINVAL;
	if (ev->pio)
		req.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (ev->datamatch)
		req.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (deassign)
		req.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	return ioctl(vm_fd, KVM_IOEVENTFD, &req) < 0 ? -errno : 0;
}

int ioeventfd_assign(int vm_fd, const struct ioeventfd *ev)
{
	return ioeventfd_ioctl(vm_fd, ev, false);
}

int ioeventfd_deassign(int vm_fd, const struct ioeventfd *ev)
{
	return ioeventfd_ioctl(vm_fd, ev, true);
}
