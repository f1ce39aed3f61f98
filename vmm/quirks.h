/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host KVM quirks. Some KVM implementations (a pagetable-based KVM that
 * emulates guest ring-0 code, see README "Hosts whose KVM emulates guest
 * kernel code") cannot run certain instructions. kvmini finds out by running
 * a tiny probe guest at start, and then works around only what failed:
 * a guest on ordinary hardware KVM gets none of the workarounds.
 */
#ifndef KVMINI_QUIRKS_H
#define KVMINI_QUIRKS_H

#include <stdbool.h>
#include <stddef.h>

struct kvm;

struct host_quirks {
	bool probed;
	bool int3;		/* int3 not emulated: kvmini injects #BP itself */
	bool fwait;		/* fwait not emulated: kvmini skips it */
	bool xsave;		/* xsave/xrstor not emulated: noxsave clearcpuid=xsave */
	bool popcnt;		/* clearcpuid=popcnt */
	bool cx16;		/* cmpxchg16b: cleared in CPUID and clearcpuid=cx16 */
	bool smap;		/* clac/stac: clearcpuid=smap */
	bool hypercall;		/* vmcall never returns: KVM PV features using hypercalls off */
	bool user_syscall;	/* SYSCALL from guest ring 3 does not reach LSTAR */
};

/* Run the probe guest; fills q. Returns 0 or a negative errno. */
int quirks_probe(struct kvm *kvm, struct host_quirks *q);
/* Assume every quirk (--quirks on). */
void quirks_all(struct host_quirks *q);
/* Kernel parameters that keep a Linux guest off what failed; "" when nothing did. */
void quirks_kernel_params(const struct host_quirks *q, char *buf, size_t len);
/* One line naming what failed, for the log. */
void quirks_describe(const struct host_quirks *q, char *buf, size_t len);

#endif
