// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU's state for snapshots and migration (vcpu_state.h). A save reads
 * KVM into a struct vcpu_image and writes its properties; a check or a
 * restore first parses every property into one (sizes checked, copied out
 * of the blob: FDT data is only 4-byte aligned), and only then talks to KVM.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <libfdt.h>
#include <linux/kvm.h>
#include <linux/kvm_para.h>

#include "state.h"
#include "vcpu_state.h"
#include "vm.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0

#define MAX_CPUID_ENTRIES 256	/* KVM_MAX_CPUID_ENTRIES */
#define MAX_MSRS 4096
#define MAX_XSAVE_SIZE (64 << 10)

struct vcpu_image {
	struct kvm_cpuid2 *cpuid;
	struct kvm_regs regs;
	bool has_sregs2;
	struct kvm_sregs sregs;
	struct kvm_sregs2 sregs2;
	void *xsave;		/* NULL: fpu instead */
	size_t xsave_len;
	struct kvm_fpu fpu;
	bool has_xcrs;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_msrs *msrs;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	struct kvm_debugregs debugregs;
};

static void image_free(struct vcpu_image *img)
{
	free(img->cpuid);
	free(img->xsave);
	free(img->msrs);
	free(img);
}

/* Bytes KVM_GET_XSAVE2 / KVM_SET_XSAVE move on this host; 0 without XSAVE. */
static size_t host_xsave_size(struct kvm *kvm)
{
	int n = kvm_check_extension(kvm, KVM_CAP_XSAVE2);

	if (n >= (int)sizeof(struct kvm_xsave))
		return (size_t)n;
	return kvm_check_extension(kvm, KVM_CAP_XSAVE) ? sizeof(struct kvm_xsave) : 0;
}

static int get_cpuid(int fd, struct kvm_cpuid2 **out)
{
	unsigned int nent;

	for (nent = 64; nent <= MAX_CPUID_ENTRIES; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(fd, KVM_GET_CPUID2, c) == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

/* The MSRs KVM saves and restores (KVM_GET_MSR_INDEX_LIST), TSC and TSC deadline included. */
static int msr_index_list(struct kvm *kvm, struct kvm_msr_list **out)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	uint32_t n, i;
	bool tsc = false, deadline = false;

	if (ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	n = probe.nmsrs;
	if (n > MAX_MSRS - 2)
		return -E2BIG;
	l = calloc(1, sizeof(*l) + (n + 2) * sizeof(l->indices[0]));
	if (!l)
		return -ENOMEM;
	l->nmsrs = n;
	if (ioctl(kvm->sys_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return -errno;
	}
	for (i = 0; i < l->nmsrs; i++) {
		tsc |= l->indices[i] == MSR_IA32_TSC;
		deadline |= l->indices[i] == MSR_IA32_TSC_DEADLINE;
	}
	if (!tsc)
		l->indices[l->nmsrs++] = MSR_IA32_TSC;
	if (!deadline)
		l->indices[l->nmsrs++] = MSR_IA32_TSC_DEADLINE;
	*out = l;
	return 0;
}

/*
 * Read every listed MSR this vCPU can read. KVM_GET_MSRS stops at the first
 * MSR it cannot read and returns how many it did (Documentation/virt/kvm/
 * api.rst, KVM_GET_MSRS): keep those, skip the one that failed, go on.
 */
static int read_msrs(struct vcpu *vcpu, struct kvm_msrs **out)
{
	struct kvm_msr_list *list;
	struct kvm_msrs *msrs = NULL, *tmp = NULL;
	uint32_t pos = 0, i;
	int ret, r;

	ret = msr_index_list(&vcpu->vm->kvm, &list);
	if (ret)
		return ret;
	msrs = calloc(1, sizeof(*msrs) + list->nmsrs * sizeof(msrs->entries[0]));
	tmp = calloc(1, sizeof(*tmp) + list->nmsrs * sizeof(tmp->entries[0]));
	if (!msrs || !tmp) {
		ret = -ENOMEM;
		goto out;
	}
	while (pos < list->nmsrs) {
		tmp->nmsrs = list->nmsrs - pos;
		for (i = 0; i < tmp->nmsrs; i++)
			tmp->entries[i] = (struct kvm_msr_entry){ .index = list->indices[pos + i] };
		r = ioctl(vcpu->fd, KVM_GET_MSRS, tmp);
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		memcpy(&msrs->entries[msrs->nmsrs], tmp->entries, r * sizeof(tmp->entries[0]));
		msrs->nmsrs += r;
		pos += r + 1;
	}
	*out = msrs;
	msrs = NULL;
out:
	free(tmp);
	free(msrs);
	free(list);
	return ret;
}

static int image_read(struct vcpu *vcpu, struct vcpu_image *img)
{
	struct kvm *kvm = &vcpu->vm->kvm;
	int fd = vcpu->fd, ret;

	ret = get_cpuid(fd, &img->cpuid);
	if (ret)
		return ret;
	if (ioctl(fd, KVM_GET_REGS, &img->regs) < 0)
		return -errno;
	img->has_sregs2 = kvm_check_extension(kvm, KVM_CAP_SREGS2);
	if (ioctl(fd, img->has_sregs2 ? KVM_GET_SREGS2 : KVM_GET_SREGS,
		  img->has_sregs2 ? (void *)&img->sregs2 : (void *)&img->sregs) < 0)
		return -errno;
	img->xsave_len = host_xsave_size(kvm);
	if (img->xsave_len) {
		img->xsave = calloc(1, img->xsave_len);
		if (!img->xsave)
			return -ENOMEM;
		if (ioctl(fd, img->xsave_len > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 :
			  KVM_GET_XSAVE, img->xsave) < 0)
			return -errno;
	} else if (ioctl(fd, KVM_GET_FPU, &img->fpu) < 0) {
		return -errno;
	}
	img->has_xcrs = kvm_check_extension(kvm, KVM_CAP_XCRS);
	if (img->has_xcrs && ioctl(fd, KVM_GET_XCRS, &img->xcrs) < 0)
		return -errno;
	if (ioctl(fd, KVM_GET_LAPIC, &img->lapic) < 0)
		return -errno;
	ret = read_msrs(vcpu, &img->msrs);
	if (ret)
		return ret;
	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &img->events) < 0 ||
	    ioctl(fd, KVM_GET_MP_STATE, &img->mp_state) < 0 ||
	    ioctl(fd, KVM_GET_DEBUGREGS, &img->debugregs) < 0)
		return -errno;
	return 0;
}

static int image_put(void *fdt, const struct vcpu_image *img)
{
	int ret;

	ret = state_put_blob(fdt, "cpuid", img->cpuid->entries,
			     img->cpuid->nent * sizeof(img->cpuid->entries[0]));
	if (!ret)
		ret = state_put_blob(fdt, "regs", &img->regs, sizeof(img->regs));
	if (!ret && img->has_sregs2)
		ret = state_put_blob(fdt, "sregs2", &img->sregs2, sizeof(img->sregs2));
	else if (!ret)
		ret = state_put_blob(fdt, "sregs", &img->sregs, sizeof(img->sregs));
	if (!ret && img->xsave)
		ret = state_put_blob(fdt, "xsave", img->xsave, img->xsave_len);
	else if (!ret)
		ret = state_put_blob(fdt, "fpu", &img->fpu, sizeof(img->fpu));
	if (!ret && img->has_xcrs)
		ret = state_put_blob(fdt, "xcrs", &img->xcrs, sizeof(img->xcrs));
	if (!ret)
		ret = state_put_blob(fdt, "lapic", &img->lapic, sizeof(img->lapic));
	if (!ret)
		ret = state_put_blob(fdt, "msrs", img->msrs->entries,
				     img->msrs->nmsrs * sizeof(img->msrs->entries[0]));
	if (!ret)
		ret = state_put_blob(fdt, "events", &img->events, sizeof(img->events));
	if (!ret)
		ret = state_put_blob(fdt, "mp-state", &img->mp_state, sizeof(img->mp_state));
	if (!ret)
		ret = state_put_blob(fdt, "debugregs", &img->debugregs, sizeof(img->debugregs));
	return ret;
}

int vcpu_state_save(struct vcpu *vcpu, void *fdt)
{
	struct vcpu_image *img = calloc(1, sizeof(*img));
	int ret;

	if (!img)
		return -ENOMEM;
	ret = image_read(vcpu, img);
	if (!ret)
		ret = image_put(fdt, img);
	image_free(img);
	return ret;
}

static bool has_prop(const void *fdt, int node, const char *name)
{
	return fdt_getprop(fdt, node, name, NULL) != NULL;
}

/*
 * A variable-length array property: a whole number of elem-sized entries,
 * at least one, at most max. Copied into *out after a hdr-byte header.
 */
static int get_array(const void *fdt, int node, unsigned int id, const char *name, size_t hdr,
		     size_t elem, size_t max, void **out, uint32_t *n)
{
	size_t len;
	const void *p = state_get_var(fdt, node, name, &len);
	uint8_t *buf;

	if (!p)
		return -EINVAL;
	if (!len || len % elem || len / elem > max)
		return state_fail("cpu%u: %s is %zu bytes, not 1 to %zu entries of %zu", id, name,
				  len, max, elem);
	buf = calloc(1, hdr + len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf + hdr, p, len);
	*out = buf;
	*n = (uint32_t)(len / elem);
	return 0;
}

static int image_parse(const void *fdt, int node, unsigned int id, struct vcpu_image *img)
{
	uint32_t n;
	size_t len;
	const void *p;
	void *buf;
	int ret;

	ret = get_array(fdt, node, id, "cpuid", sizeof(struct kvm_cpuid2),
			sizeof(struct kvm_cpuid_entry2), MAX_CPUID_ENTRIES, &buf, &n);
	if (ret)
		return ret;
	img->cpuid = buf;
	img->cpuid->nent = n;
	ret = get_array(fdt, node, id, "msrs", sizeof(struct kvm_msrs),
			sizeof(struct kvm_msr_entry), MAX_MSRS, &buf, &n);
	if (ret)
		return ret;
	img->msrs = buf;
	img->msrs->nmsrs = n;
	if (state_get_blob(fdt, node, "regs", &img->regs, sizeof(img->regs)))
		return -EINVAL;

	img->has_sregs2 = has_prop(fdt, node, "sregs2");
	if (img->has_sregs2)
		ret = state_get_blob(fdt, node, "sregs2", &img->sregs2, sizeof(img->sregs2));
	else if (has_prop(fdt, node, "sregs"))
		ret = state_get_blob(fdt, node, "sregs", &img->sregs, sizeof(img->sregs));
	else
		ret = state_fail("cpu%u: neither sregs2 nor sregs", id);
	if (ret)
		return ret;

	if (has_prop(fdt, node, "xsave")) {
		p = state_get_var(fdt, node, "xsave", &len);
		if (len < sizeof(struct kvm_xsave) || len > MAX_XSAVE_SIZE)
			return state_fail("cpu%u: xsave is %zu bytes, not %zu to %u", id, len,
					  sizeof(struct kvm_xsave), MAX_XSAVE_SIZE);
		img->xsave = malloc(len);
		if (!img->xsave)
			return -ENOMEM;
		memcpy(img->xsave, p, len);
		img->xsave_len = len;
	} else if (has_prop(fdt, node, "fpu")) {
		if (state_get_blob(fdt, node, "fpu", &img->fpu, sizeof(img->fpu)))
			return -EINVAL;
	} else {
		return state_fail("cpu%u: neither xsave nor fpu", id);
	}
	img->has_xcrs = has_prop(fdt, node, "xcrs");
	if (img->has_xcrs && state_get_blob(fdt, node, "xcrs", &img->xcrs, sizeof(img->xcrs)))
		return -EINVAL;
	if (state_get_blob(fdt, node, "lapic", &img->lapic, sizeof(img->lapic)) ||
	    state_get_blob(fdt, node, "events", &img->events, sizeof(img->events)) ||
	    state_get_blob(fdt, node, "mp-state", &img->mp_state, sizeof(img->mp_state)) ||
	    state_get_blob(fdt, node, "debugregs", &img->debugregs, sizeof(img->debugregs)))
		return -EINVAL;
	return 0;
}

static int image_load(const void *fdt, int node, unsigned int id, struct vcpu_image **out)
{
	struct vcpu_image *img = calloc(1, sizeof(*img));
	int ret;

	if (!img)
		return -ENOMEM;
	ret = image_parse(fdt, node, id, img);
	if (ret) {
		image_free(img);
		return ret;
	}
	*out = img;
	return 0;
}

int vcpu_state_parse(const void *fdt, int node, unsigned int id)
{
	struct vcpu_image *img;
	int ret = image_load(fdt, node, id, &img);

	if (!ret)
		image_free(img);
	return ret;
}

enum { EAX, EBX, ECX, EDX };

/*
 * The CPUID words that are feature flags. ignore: bits KVM itself changes
 * while the guest runs (OSXSAVE and OSPKE follow CR4, APIC follows
 * APIC_BASE.EN, MONITOR follows MISC_ENABLE), so a fresh vCPU lacking them
 * says nothing about the host.
 */
static const struct cpuid_word {
	uint32_t function, index;
	uint8_t reg;
	uint32_t ignore;
} feature_words[] = {
	{ 1, 0, ECX, (1U << 3) | (1U << 27) },
	{ 1, 0, EDX, 1U << 9 },
	{ 7, 0, EBX, 0 },
	{ 7, 0, ECX, 1U << 4 },
	{ 7, 0, EDX, 0 },
	{ 7, 1, EAX, 0 },
	{ 0xd, 1, EAX, 0 },
	{ 0x80000001, 0, ECX, 0 },
	{ 0x80000001, 0, EDX, 0 },
	{ 0x80000007, 0, EDX, 0 },
	{ 0x80000008, 0, EBX, 0 },
	{ KVM_CPUID_FEATURES, 0, EAX, 0 },
};

static const struct kvm_cpuid_entry2 *find_leaf(const struct kvm_cpuid2 *c, uint32_t function,
						uint32_t index)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index))
			return e;
	}
	return NULL;
}

static uint32_t cpuid_reg(const struct kvm_cpuid_entry2 *e, int reg)
{
	if (!e)
		return 0;
	return reg == EAX ? e->eax : reg == EBX ? e->ebx : reg == ECX ? e->ecx : e->edx;
}

static int check_cpuid(struct vcpu *vcpu, const struct kvm_cpuid2 *saved)
{
	static const char *const reg_names[] = { "EAX", "EBX", "ECX", "EDX" };
	struct kvm_cpuid2 *mine;
	unsigned int i;
	int ret;

	ret = get_cpuid(vcpu->fd, &mine);
	if (ret)
		return state_fail("cpu%u: KVM_GET_CPUID2: %s", vcpu->id, strerror(-ret));
	for (i = 0; i < sizeof(feature_words) / sizeof(feature_words[0]); i++) {
		const struct cpuid_word *w = &feature_words[i];
		const struct kvm_cpuid_entry2 *s = find_leaf(saved, w->function, w->index);
		uint32_t missing = cpuid_reg(s, w->reg) & ~cpuid_reg(find_leaf(mine, w->function,
									      w->index), w->reg);

		missing &= ~w->ignore;
		if (missing) {
			ret = state_fail("cpu%u: CPUID leaf %#x.%u %s has features this host lacks "
					 "(bits %#x)", vcpu->id, w->function, w->index,
					 reg_names[w->reg], missing);
			break;
		}
	}
	free(mine);
	return ret;
}

static int check_msrs(struct vcpu *vcpu, const struct kvm_msrs *saved)
{
	struct kvm_msr_list *list;
	uint32_t i, j;
	int ret;

	ret = msr_index_list(&vcpu->vm->kvm, &list);
	if (ret)
		return state_fail("cpu%u: KVM_GET_MSR_INDEX_LIST: %s", vcpu->id, strerror(-ret));
	for (i = 0; i < saved->nmsrs && !ret; i++) {
		for (j = 0; j < list->nmsrs; j++)
			if (list->indices[j] == saved->entries[i].index)
				break;
		if (j == list->nmsrs)
			ret = state_fail("cpu%u: MSR %#x is unknown to this host's KVM", vcpu->id,
					 saved->entries[i].index);
	}
	free(list);
	return ret;
}

static int check_image(struct vcpu *vcpu, const struct vcpu_image *img)
{
	struct kvm *kvm = &vcpu->vm->kvm;
	size_t xsave = host_xsave_size(kvm);
	int ret;

	if (img->has_sregs2 && !kvm_check_extension(kvm, KVM_CAP_SREGS2))
		return state_fail("cpu%u: sregs2 saved, this host's KVM has no KVM_CAP_SREGS2",
				  vcpu->id);
	if (img->xsave && img->xsave_len > xsave)
		return state_fail("cpu%u: xsave is %zu bytes, this host's KVM takes %zu", vcpu->id,
				  img->xsave_len, xsave);
	if (img->has_xcrs && !kvm_check_extension(kvm, KVM_CAP_XCRS))
		return state_fail("cpu%u: xcrs saved, this host's KVM has no KVM_CAP_XCRS",
				  vcpu->id);
	ret = check_cpuid(vcpu, img->cpuid);
	if (!ret)
		ret = check_msrs(vcpu, img->msrs);
	return ret;
}

int vcpu_state_check(struct vcpu *vcpu, const void *fdt, int node)
{
	struct vcpu_image *img;
	int ret = image_load(fdt, node, vcpu->id, &img);

	if (ret)
		return ret;
	ret = check_image(vcpu, img);
	image_free(img);
	return ret;
}

#define KVM_PUT(vcpu, req, arg)							\
	(ioctl((vcpu)->fd, req, arg) < 0 ?					\
	 state_fail("cpu%u: " #req ": %s", (vcpu)->id, strerror(errno)) : 0)

/* KVM_SET_MSRS sets entries in order and returns how many it set. */
static int write_msrs(struct vcpu *vcpu, struct kvm_msrs *msrs)
{
	int r;

	if (!msrs->nmsrs)
		return 0;
	r = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	if (r < 0)
		return state_fail("cpu%u: KVM_SET_MSRS: %s", vcpu->id, strerror(errno));
	if ((uint32_t)r < msrs->nmsrs)
		return state_fail("cpu%u: KVM_SET_MSRS: MSR %#x refused", vcpu->id,
				  msrs->entries[r].index);
	return 0;
}

/* The order follows QEMU's kvm_arch_put_registers() where KVM depends on it. */
static int image_write(struct vcpu *vcpu, struct vcpu_image *img)
{
	struct kvm_msrs *msrs = img->msrs;
	/* A kvm_msrs with room for one entry (entries[] is a flexible array). */
	union {
		struct kvm_msrs hdr;
		uint8_t room[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} deadline = { .hdr.nmsrs = 0 };
	size_t xsave = host_xsave_size(&vcpu->vm->kvm);
	uint32_t i, n = 0;
	int ret;

	/* Only before the first KVM_RUN may CPUID change (api.rst, KVM_SET_CPUID2). */
	ret = KVM_PUT(vcpu, KVM_SET_CPUID2, img->cpuid);
	/* sregs first: they set EFER and APIC_BASE, which regs, LAPIC and MSRs depend on. */
	if (!ret && img->has_sregs2)
		ret = KVM_PUT(vcpu, KVM_SET_SREGS2, &img->sregs2);
	else if (!ret)
		ret = KVM_PUT(vcpu, KVM_SET_SREGS, &img->sregs);
	if (!ret)
		ret = KVM_PUT(vcpu, KVM_SET_REGS, &img->regs);
	if (!ret && img->xsave) {
		/* KVM_SET_XSAVE reads this host's XSAVE size whatever the source's was. */
		void *buf = calloc(1, xsave > img->xsave_len ? xsave : img->xsave_len);

		if (!buf)
			return -ENOMEM;
		memcpy(buf, img->xsave, img->xsave_len);
		ret = KVM_PUT(vcpu, KVM_SET_XSAVE, buf);
		free(buf);
	} else if (!ret) {
		ret = KVM_PUT(vcpu, KVM_SET_FPU, &img->fpu);
	}
	if (!ret && img->has_xcrs)
		ret = KVM_PUT(vcpu, KVM_SET_XCRS, &img->xcrs);
	if (!ret)
		ret = KVM_PUT(vcpu, KVM_SET_LAPIC, &img->lapic);
	if (ret)
		return ret;
	/*
	 * The TSC deadline goes last and alone: it arms the LAPIC timer, which
	 * needs the LAPIC in deadline mode and the guest's TSC already set.
	 */
	for (i = 0; i < msrs->nmsrs; i++) {
		if (msrs->entries[i].index == MSR_IA32_TSC_DEADLINE) {
			deadline.hdr.nmsrs = 1;
			deadline.hdr.entries[0] = msrs->entries[i];
		} else {
			msrs->entries[n++] = msrs->entries[i];
		}
	}
	msrs->nmsrs = n;
	ret = write_msrs(vcpu, msrs);
	if (!ret)
		ret = write_msrs(vcpu, &deadline.hdr);
	if (ret)
		return ret;
	/* NMI and SIPI are only taken with their flags (api.rst, KVM_SET_VCPU_EVENTS). */
	img->events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	ret = KVM_PUT(vcpu, KVM_SET_VCPU_EVENTS, &img->events);
	if (!ret)
		ret = KVM_PUT(vcpu, KVM_SET_MP_STATE, &img->mp_state);
	if (!ret)
		ret = KVM_PUT(vcpu, KVM_SET_DEBUGREGS, &img->debugregs);
	return ret;
}

int vcpu_state_restore(struct vcpu *vcpu, const void *fdt, int node)
{
	struct vcpu_image *img;
	int ret = image_load(fdt, node, vcpu->id, &img);

	if (ret)
		return ret;
	if (img->xsave && img->xsave_len > host_xsave_size(&vcpu->vm->kvm))
		ret = state_fail("cpu%u: xsave is %zu bytes, this host's KVM takes %zu", vcpu->id,
				 img->xsave_len, host_xsave_size(&vcpu->vm->kvm));
	if (!ret)
		ret = image_write(vcpu, img);
	image_free(img);
	return ret;
}
