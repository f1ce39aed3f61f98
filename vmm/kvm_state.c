// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel irqchip (two PICs, the IOAPIC), the PIT, kvmclock and the
 * guest's TSC rate, for snapshots and migration (kvm_state.h). Restoring
 * parses every property first, so a damaged blob changes nothing.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <libfdt.h>
#include <linux/kvm.h>

#include "kvm_state.h"
#include "state.h"
#include "vm.h"

struct kvm_image {
	struct kvm_pic_state pic[2];
	struct kvm_ioapic_state ioapic;
	bool has_pit;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	uint32_t tsc_khz;
};

static const char *const pic_names[2] = { "pic-master", "pic-slave" };

static int get_chip(struct vm *vm, unsigned int id, void *out, size_t len)
{
	struct kvm_irqchip chip = { .chip_id = id };

	if (ioctl(vm->kvm.vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
		return -errno;
	memcpy(out, &chip.chip, len);
	return 0;
}

/* Without KVM_CREATE_PIT2 the PIT ioctls fail with ENXIO. */
static int vm_has_pit(struct vm *vm, struct kvm_pit_state2 *pit)
{
	struct kvm_pit_state2 scratch;

	if (ioctl(vm->kvm.vm_fd, KVM_GET_PIT2, pit ? pit : &scratch) == 0)
		return 1;
	return errno == ENXIO ? 0 : -errno;
}

/* The vCPU's TSC rate in kHz; 0 when KVM cannot tell (no KVM_CAP_GET_TSC_KHZ). */
static uint32_t vcpu_tsc_khz(const struct vcpu *vcpu)
{
	int r = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);

	return r > 0 ? (uint32_t)r : 0;
}

int kvm_state_save(struct vm *vm, void *fdt)
{
	struct kvm_image img = { 0 };
	int ret;

	ret = get_chip(vm, KVM_IRQCHIP_PIC_MASTER, &img.pic[0], sizeof(img.pic[0]));
	if (!ret)
		ret = get_chip(vm, KVM_IRQCHIP_PIC_SLAVE, &img.pic[1], sizeof(img.pic[1]));
	if (!ret)
		ret = get_chip(vm, KVM_IRQCHIP_IOAPIC, &img.ioapic, sizeof(img.ioapic));
	if (ret)
		return ret;
	ret = vm_has_pit(vm, &img.pit);
	if (ret < 0)
		return ret;
	img.has_pit = ret;
	if (ioctl(vm->kvm.vm_fd, KVM_GET_CLOCK, &img.clock) < 0)
		return -errno;
	if (vm->nr_vcpus)
		img.tsc_khz = vcpu_tsc_khz(&vm->vcpus[0]);

	ret = state_put_blob(fdt, pic_names[0], &img.pic[0], sizeof(img.pic[0]));
	if (!ret)
		ret = state_put_blob(fdt, pic_names[1], &img.pic[1], sizeof(img.pic[1]));
	if (!ret)
		ret = state_put_blob(fdt, "ioapic", &img.ioapic, sizeof(img.ioapic));
	if (!ret && img.has_pit)
		ret = state_put_blob(fdt, "pit", &img.pit, sizeof(img.pit));
	if (!ret)
		ret = state_put_blob(fdt, "clock", &img.clock, sizeof(img.clock));
	if (!ret)
		ret = state_put_u32(fdt, "tsc-khz", img.tsc_khz);
	return ret;
}

static int image_parse(const void *fdt, int node, struct kvm_image *img)
{
	memset(img, 0, sizeof(*img));
	if (state_get_blob(fdt, node, pic_names[0], &img->pic[0], sizeof(img->pic[0])) ||
	    state_get_blob(fdt, node, pic_names[1], &img->pic[1], sizeof(img->pic[1])) ||
	    state_get_blob(fdt, node, "ioapic", &img->ioapic, sizeof(img->ioapic)) ||
	    state_get_blob(fdt, node, "clock", &img->clock, sizeof(img->clock)) ||
	    state_get_u32(fdt, node, "tsc-khz", &img->tsc_khz))
		return -EINVAL;
	img->has_pit = fdt_getprop(fdt, node, "pit", NULL) != NULL;
	if (img->has_pit && state_get_blob(fdt, node, "pit", &img->pit, sizeof(img->pit)))
		return -EINVAL;
	return 0;
}

int kvm_state_parse(const void *fdt, int node)
{
	struct kvm_image img;

	return image_parse(fdt, node, &img);
}

/* A PIT saved must have one to go to, and a PIT here must get its state. */
static int check_pit(struct vm *vm, const struct kvm_image *img)
{
	int here = vm_has_pit(vm, NULL);

	if (here < 0)
		return state_fail("kvm: KVM_GET_PIT2: %s", strerror(-here));
	if (img->has_pit && !here)
		return state_fail("kvm: the state has a PIT, this machine has none");
	if (!img->has_pit && here)
		return state_fail("kvm: the state has no pit, this machine has a PIT");
	return 0;
}

static int check_tsc(struct vm *vm, const struct kvm_image *img)
{
	struct vcpu *v = &vm->vcpus[0];
	uint32_t here;

	if (!img->tsc_khz || !vm->nr_vcpus)
		return 0;
	here = vcpu_tsc_khz(v);
	if (here == img->tsc_khz)
		return 0;
	/*
	 * Whether KVM can run the guest at the source's rate (scaling, or a
	 * rate within its tolerance) only KVM_SET_TSC_KHZ tells; the vCPU has
	 * not run yet, so trying it and going back changes nothing.
	 */
	if (ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)img->tsc_khz) < 0)
		return state_fail("kvm: the guest's TSC runs at %u kHz, this host's at %u kHz, "
				  "and KVM cannot scale it (KVM_SET_TSC_KHZ: %s)", img->tsc_khz,
				  here, strerror(errno));
	if (here && ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)here) < 0)
		return state_fail("kvm: KVM_SET_TSC_KHZ back to %u kHz: %s", here,
				  strerror(errno));
	return 0;
}

int kvm_state_check(struct vm *vm, const void *fdt, int node)
{
	struct kvm_image img;
	int ret = image_parse(fdt, node, &img);

	if (!ret)
		ret = check_pit(vm, &img);
	if (!ret)
		ret = check_tsc(vm, &img);
	return ret;
}

static int set_chip(struct vm *vm, unsigned int id, const void *p, size_t len, const char *name)
{
	struct kvm_irqchip chip = { .chip_id = id };

	memcpy(&chip.chip, p, len);
	if (ioctl(vm->kvm.vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
		return state_fail("kvm: KVM_SET_IRQCHIP (%s): %s", name, strerror(errno));
	return 0;
}

int kvm_state_restore(struct vm *vm, const void *fdt, int node)
{
	struct kvm_image img;
	unsigned int i;
	int ret = image_parse(fdt, node, &img);

	if (!ret)
		ret = check_pit(vm, &img);
	if (!ret)
		ret = set_chip(vm, KVM_IRQCHIP_PIC_MASTER, &img.pic[0], sizeof(img.pic[0]),
			       pic_names[0]);
	if (!ret)
		ret = set_chip(vm, KVM_IRQCHIP_PIC_SLAVE, &img.pic[1], sizeof(img.pic[1]),
			       pic_names[1]);
	if (!ret)
		ret = set_chip(vm, KVM_IRQCHIP_IOAPIC, &img.ioapic, sizeof(img.ioapic), "ioapic");
	if (ret)
		return ret;
	if (img.has_pit && ioctl(vm->kvm.vm_fd, KVM_SET_PIT2, &img.pit) < 0)
		return state_fail("kvm: KVM_SET_PIT2: %s", strerror(errno));
	/*
	 * Before the vCPUs' MSRs: KVM converts a TSC value written from the
	 * host with the vCPU's rate (kvm_synchronize_tsc()), so the rate first.
	 */
	for (i = 0; img.tsc_khz && i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (vcpu_tsc_khz(v) == img.tsc_khz)
			continue;
		if (ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)img.tsc_khz) < 0)
			return state_fail("cpu%u: KVM_SET_TSC_KHZ %u: %s", i, img.tsc_khz,
					  strerror(errno));
	}
	return 0;
}

int kvm_state_restore_clock(struct vm *vm, const void *fdt, int node)
{
	struct kvm_clock_data saved, data = { 0 };

	if (state_get_blob(fdt, node, "clock", &saved, sizeof(saved)))
		return -EINVAL;
	/*
	 * Flags 0: kvmclock goes on from the saved value. KVM_CLOCK_REALTIME
	 * would add the wall-clock time the guest spent saved (a snapshot can
	 * sit for days), which a guest sees as a jump (api.rst, KVM_SET_CLOCK).
	 */
	data.clock = saved.clock;
	if (ioctl(vm->kvm.vm_fd, KVM_SET_CLOCK, &data) < 0)
		return state_fail("kvm: KVM_SET_CLOCK: %s", strerror(errno));
	return 0;
}
