// SPDX-License-Identifier: GPL-2.0
/*
 * What each kind of thread may call (seccomp.h). A kind's list is a union
 * of parts; a thread that creates others carries the parts they need too,
 * since they run under its filter as well as their own.
 *
 * Who creates whom: setup (before any filter) creates the vCPU threads,
 * the virtio-pci IRQ watchers and the vhost-net error watchers. A vCPU
 * thread creates NIC threads (net-io, net-ctrl) when the guest sets
 * DRIVER_OK. The main thread creates the migration thread, and NIC threads
 * when `resume` restarts them; the migration thread restarts NICs when a
 * migration fails.
 */
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vhost.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "seccomp_rules.h"

#define PART(n, sys, ioc, chk)                                                                  \
	{                                                                                       \
		.name = n, .syscalls = sys, .nr_syscalls = sizeof(sys) / sizeof(int),           \
		.ioctls = ioc, .nr_ioctls = sizeof(ioc) / sizeof(unsigned long), .checked = chk \
	}

static const int no_syscalls[0];
static const unsigned long no_ioctls[0];

/*
 * Every thread: eventfds, locks, logging (write to stderr), malloc, its own
 * end; the clocks, whose vDSO falls back to the system calls when the host's
 * clocksource cannot be read from user space.
 */
static const int common_sys[] = {
	__NR_read,	    __NR_write,		  __NR_futex,	       __NR_exit,
	__NR_exit_group,    __NR_rt_sigreturn,	  __NR_rt_sigprocmask, __NR_restart_syscall,
	__NR_clock_gettime, __NR_clock_nanosleep, __NR_nanosleep,      __NR_gettid,
	__NR_getpid,	    __NR_madvise,	  __NR_munmap,	       __NR_mremap,
	__NR_brk,	    __NR_sched_yield,	  __NR_gettimeofday,   __NR_time,
};

/*
 * Creating threads (glibc's pthread_create: the stack, clone, and in the
 * child, before its start routine, set_robust_list and rseq) and letting
 * them narrow themselves (prctl NO_NEW_PRIVS, seccomp).
 */
static const int threads_sys[] = {
	__NR_set_robust_list,
	__NR_rseq,
};

static const int poll_sys[] = {__NR_poll, __NR_ppoll};

/* Interrupts: INTx lines, MSI routes and their irqfds, queue notify ioeventfds. */
static const unsigned long irq_ioctls[] = {
	KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING, KVM_IRQFD, KVM_IOEVENTFD,
};

/* KVM_RUN and what completing an emulation failure needs (emulate.c). */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN,       KVM_GET_REGS,	    KVM_SET_REGS,	 KVM_GET_SREGS,
	KVM_TRANSLATE, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
};

/* Starting the userspace tap backend: the guest's offloads (net_tap.c). */
static const unsigned long tap_start_ioctls[] = {TUNSETOFFLOAD};

/* The userspace tap data path; TUNGETIFF asks whether a failing tap still exists. */
static const int tap_io_sys[] = {__NR_readv, __NR_writev};
static const unsigned long tap_io_ioctls[] = {TUNGETIFF};

/*
 * vhost-net's rings started, stopped, logged and switched between pairs
 * (net_vhost.c), and the tap queues it attaches. VHOST_SET_OWNER and
 * VHOST_GET_FEATURES run during setup only.
 */
static const unsigned long vhost_ioctls[] = {
	VHOST_SET_FEATURES,   VHOST_SET_MEM_TABLE,  VHOST_SET_LOG_BASE,	   VHOST_SET_VRING_NUM,
	VHOST_SET_VRING_BASE, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK,  VHOST_SET_VRING_CALL,
	VHOST_SET_VRING_ERR,  VHOST_GET_VRING_BASE, VHOST_NET_SET_BACKEND, TUNSETOFFLOAD,
	TUNSETQUEUE,
};

/*
 * libslirp: the host sockets of NATed connections, ping sockets, DNS
 * forwarding (which reads /etc/resolv.conf), FIONREAD before a datagram.
 */
static const int slirp_sys[] = {
	__NR_connect,	 __NR_bind,	   __NR_listen,	     __NR_accept,   __NR_accept4,
	__NR_sendto,	 __NR_recvfrom,	   __NR_sendmsg,     __NR_recvmsg,  __NR_setsockopt,
	__NR_getsockopt, __NR_getsockname, __NR_getpeername, __NR_shutdown, __NR_close,
	__NR_fcntl,	 __NR_fstat,	   __NR_newfstatat,  __NR_lseek,    __NR_getrandom,
};
static const unsigned long slirp_ioctls[] = {FIONREAD, FIONBIO};

/*
 * A migration or snapshot: the stream (a socket, or FILE.tmp renamed to
 * FILE; records go out with writev), pausing the vCPUs (a signal each), the
 * dirty logs, and reading every piece of machine state (vcpu_state.c,
 * kvm_state.c, dirty_log.c).
 * getaddrinfo() may read /etc/gai.conf and ask the kernel (netlink) which
 * addresses this host has.
 */
static const int migration_sys[] = {
	__NR_connect,	  __NR_bind,   __NR_setsockopt, __NR_getsockopt, __NR_getsockname,
	__NR_getpeername, __NR_sendto, __NR_recvfrom,	__NR_sendmsg,	 __NR_recvmsg,
	__NR_shutdown,	  __NR_close,  __NR_fcntl,	__NR_fstat,	 __NR_newfstatat,
	__NR_lseek,	  __NR_fsync,  __NR_fdatasync,	__NR_rename,	 __NR_renameat,
	__NR_renameat2,	  __NR_unlink, __NR_unlinkat,	__NR_tgkill,	 __NR_writev,
};
static const unsigned long migration_ioctls[] = {
	KVM_CHECK_EXTENSION, KVM_ENABLE_CAP,	     KVM_SET_USER_MEMORY_REGION,
	KVM_GET_DIRTY_LOG,   KVM_CLEAR_DIRTY_LOG,    KVM_GET_IRQCHIP,
	KVM_GET_PIT2,	     KVM_GET_CLOCK,	     KVM_GET_TSC_KHZ,
	KVM_GET_CPUID2,	     KVM_GET_MSR_INDEX_LIST, KVM_GET_MSRS,
	KVM_GET_REGS,	     KVM_GET_SREGS,	     KVM_GET_SREGS2,
	KVM_GET_XSAVE,	     KVM_GET_XSAVE2,	     KVM_GET_FPU,
	KVM_GET_XCRS,	     KVM_GET_LAPIC,	     KVM_GET_VCPU_EVENTS,
	KVM_GET_MP_STATE,    KVM_GET_DEBUGREGS,
};

/*
 * The main thread: the event loop, the control socket, signals through a
 * signalfd, console input; starting a migration (its done eventfd); and
 * the teardown after the loop (threads joined, fds closed, the socket file
 * removed, the terminal restored).
 */
static const int main_sys[] = {
	__NR_epoll_wait, __NR_epoll_pwait, __NR_epoll_ctl, __NR_accept4,    __NR_recvfrom,
	__NR_sendto,	 __NR_close,	   __NR_unlink,	   __NR_newfstatat, __NR_fstat,
	__NR_eventfd2,	 __NR_tgkill,	   __NR_shutdown,
};
/* KVMINI_CHECK_FDS lists /proc/self/fd after teardown (fdcheck.c). */
static const int fdcheck_sys[] = {__NR_getdents64, __NR_readlink, __NR_readlinkat};
static const unsigned long main_ioctls[] = {TCGETS, TCSETS, TCSETSW, TCSETSF};

static const struct seccomp_part p_common = PART("common", common_sys, no_ioctls, SC_MEM_NOEXEC);
static const struct seccomp_part p_threads = PART("threads", threads_sys, no_ioctls, SC_THREADS);
static const struct seccomp_part p_poll = PART("poll", poll_sys, no_ioctls, 0);
static const struct seccomp_part p_irq = PART("irq", no_syscalls, irq_ioctls, 0);
static const struct seccomp_part p_vcpu = PART("vcpu", no_syscalls, vcpu_ioctls, 0);
static const struct seccomp_part p_tap_start = PART("tap-start", no_syscalls, tap_start_ioctls, 0);
static const struct seccomp_part p_tap_io = PART("tap-io", tap_io_sys, tap_io_ioctls, 0);
static const struct seccomp_part p_vhost = PART("vhost", no_syscalls, vhost_ioctls, 0);
static const struct seccomp_part p_slirp =
	PART("slirp", slirp_sys, slirp_ioctls, SC_SOCK_INET | SC_OPEN_RDONLY);
static const struct seccomp_part p_migration = PART("migration", migration_sys, migration_ioctls,
						    SC_SOCK_INET | SC_SOCK_LOCAL | SC_OPEN_ANY);
static const struct seccomp_part p_main = PART("main", main_sys, main_ioctls, 0);
static const struct seccomp_part p_fdcheck = PART("fdcheck", fdcheck_sys, no_ioctls, 0);

/* What a thread that starts NIC threads needs for them, by backend. */
static unsigned int add_nic_parts(const struct seccomp_needs *needs,
				  const struct seccomp_part **out, unsigned int n)
{
	out[n++] = &p_threads;
	out[n++] = &p_poll;
	if (needs->tap) {
		out[n++] = &p_tap_start;
		out[n++] = &p_tap_io;
		out[n++] = &p_vhost;
	}
	if (needs->slirp)
		out[n++] = &p_slirp;
	return n;
}

unsigned int seccomp_kind_parts(enum seccomp_kind kind, const struct seccomp_needs *needs,
				const struct seccomp_part **out)
{
	unsigned int n = 0;

	out[n++] = &p_common;
	switch (kind) {
	case SECCOMP_MAIN:
		out[n++] = &p_main;
		if (needs->fdcheck)
			out[n++] = &p_fdcheck;
		out[n++] = &p_irq;
		out[n++] = &p_migration;
		n = add_nic_parts(needs, out, n);
		break;
	case SECCOMP_VCPU:
		out[n++] = &p_vcpu;
		out[n++] = &p_irq;
		n = add_nic_parts(needs, out, n);
		break;
	case SECCOMP_MIGRATION:
		out[n++] = &p_irq;
		out[n++] = &p_migration;
		n = add_nic_parts(needs, out, n);
		break;
	case SECCOMP_NET_IO:
		out[n++] = &p_poll;
		if (needs->tap)
			out[n++] = &p_tap_io;
		if (needs->slirp)
			out[n++] = &p_slirp;
		break;
	case SECCOMP_NET_CTRL:
		out[n++] = &p_poll;
		if (needs->tap)
			out[n++] = &p_vhost;
		break;
	case SECCOMP_VHOST_ERR:
		out[n++] = &p_poll;
		break;
	case SECCOMP_IRQ_WATCHER:
		/* A device error stops the device: its NIC thread joined, vhost's rings. */
		out[n++] = &p_poll;
		out[n++] = &p_irq;
		if (needs->tap)
			out[n++] = &p_vhost;
		break;
	case SECCOMP_NR_KINDS:
		break;
	}
	return n;
}
