// SPDX-License-Identifier: GPL-2.0
/*
 * Per-thread seccomp filters (seccomp.h): compiled with libseccomp during
 * setup into BPF programs, installed by each thread with seccomp(2), and
 * the SIGSYS handler that reports a forbidden call.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <time.h>
#include <unistd.h>

#include "exitcode.h"
#include "log.h"
#include "seccomp_rules.h"

/* Above every x86_64 system call number this libseccomp knows. */
#define SECCOMP_MAX_NR 512
#define SECCOMP_MAX_IOCTLS 128

static const char *const kind_names[SECCOMP_NR_KINDS] = {
	[SECCOMP_MAIN] = "main",
	[SECCOMP_VCPU] = "vcpu",
	[SECCOMP_MIGRATION] = "migration",
	[SECCOMP_NET_IO] = "net-io",
	[SECCOMP_NET_CTRL] = "net-ctrl",
	[SECCOMP_VHOST_ERR] = "vhost-err",
	[SECCOMP_IRQ_WATCHER] = "irq-watcher",
};

static struct sock_fprog progs[SECCOMP_NR_KINDS];
static bool prepared;
/* Resolved before any filter exists: the SIGSYS handler may only look them up. */
static const char *syscall_names[SECCOMP_MAX_NR];
static __thread int thread_kind = -1;

const char *seccomp_kind_name(enum seccomp_kind kind)
{
	return kind < SECCOMP_NR_KINDS ? kind_names[kind] : "?";
}

/* The union of kind's parts: a set of syscall numbers, a list of ioctl requests. */
struct allow_set {
	bool sys[SECCOMP_MAX_NR];
	unsigned long ioctls[SECCOMP_MAX_IOCTLS];
	unsigned int nr_ioctls;
	unsigned int checked;
};

static void collect(enum seccomp_kind kind, const struct seccomp_needs *needs, struct allow_set *s)
{
	const struct seccomp_part *parts[SECCOMP_MAX_PARTS];
	unsigned int n, i, j, k;

	memset(s, 0, sizeof(*s));
	n = seccomp_kind_parts(kind, needs, parts);
	for (i = 0; i < n; i++) {
		const struct seccomp_part *p = parts[i];

		s->checked |= p->checked;
		for (j = 0; j < p->nr_syscalls; j++)
			if (p->syscalls[j] >= 0 && p->syscalls[j] < SECCOMP_MAX_NR)
				s->sys[p->syscalls[j]] = true;
		for (j = 0; j < p->nr_ioctls; j++) {
			for (k = 0; k < s->nr_ioctls; k++)
				if (s->ioctls[k] == p->ioctls[j])
					break;
			if (k == s->nr_ioctls && s->nr_ioctls < SECCOMP_MAX_IOCTLS)
				s->ioctls[s->nr_ioctls++] = p->ioctls[j];
		}
	}
}

/*
 * The calls allowed only with checked arguments, by SC_* flag. W^X: nothing
 * after setup needs new executable memory. Threads only, never a process;
 * clone3 passes its flags in memory, out of a filter's reach, so it gets
 * ENOSYS and glibc (2.34+, clone-internal.c) falls back to clone.
 */
struct checked_rule {
	unsigned int when;
	int nr;
	unsigned int arg;
	enum scmp_compare op;
	scmp_datum_t mask_or_value, value;
};

static const struct checked_rule checked_rules[] = {
	{SC_MEM_NOEXEC, __NR_mmap, 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0},
	{SC_MEM_NOEXEC, __NR_mprotect, 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0},
	{SC_THREADS, __NR_clone, 0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD},
	{SC_THREADS, __NR_prctl, 0, SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS, 0},
	{SC_THREADS, __NR_prctl, 0, SCMP_CMP_EQ, PR_SET_NAME, 0},
	{SC_THREADS, __NR_seccomp, 0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER, 0},
	{SC_OPEN_RDONLY, __NR_openat, 2, SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC,
	 O_RDONLY},
	{SC_SOCK_INET, __NR_socket, 0, SCMP_CMP_EQ, AF_INET, 0},
	{SC_SOCK_INET, __NR_socket, 0, SCMP_CMP_EQ, AF_INET6, 0},
	{SC_SOCK_LOCAL, __NR_socket, 0, SCMP_CMP_EQ, AF_UNIX, 0},
	{SC_SOCK_LOCAL, __NR_socket, 0, SCMP_CMP_EQ, AF_NETLINK, 0},
};

#define NR_CHECKED_RULES (sizeof(checked_rules) / sizeof(checked_rules[0]))

/* SC_OPEN_ANY allows every openat: the checked rule would only repeat it. */
static bool rule_applies(const struct checked_rule *r, unsigned int checked)
{
	if (r->nr == __NR_openat && (checked & SC_OPEN_ANY))
		return false;
	return checked & r->when;
}

void seccomp_count(enum seccomp_kind kind, const struct seccomp_needs *needs,
		   unsigned int *syscalls, unsigned int *ioctls)
{
	struct allow_set *s = malloc(sizeof(*s));
	unsigned int i;

	*syscalls = *ioctls = 0;
	if (!s)
		return;
	collect(kind, needs, s);
	for (i = 0; i < NR_CHECKED_RULES; i++)
		if (rule_applies(&checked_rules[i], s->checked))
			s->sys[checked_rules[i].nr] = true;
	if (s->checked & SC_OPEN_ANY)
		s->sys[__NR_openat] = true;
	if (s->checked & SC_THREADS)
		s->sys[__NR_clone3] = true;
	if (s->nr_ioctls)
		s->sys[__NR_ioctl] = true;
	for (i = 0; i < SECCOMP_MAX_NR; i++)
		*syscalls += s->sys[i];
	*ioctls = s->nr_ioctls;
	free(s);
}

static int add_checked(scmp_filter_ctx ctx, unsigned int checked)
{
	const struct checked_rule *r;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < NR_CHECKED_RULES && !ret; i++) {
		r = &checked_rules[i];
		if (rule_applies(r, checked))
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					       SCMP_CMP(r->arg, r->op, r->mask_or_value, r->value));
	}
	if (!ret && (checked & SC_OPEN_ANY))
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 0);
	if (!ret && (checked & SC_THREADS))
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	return ret;
}

/* libseccomp 2.5 exports BPF only to an fd: through a memfd into memory. */
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	struct stat st;
	void *buf = NULL;
	int fd, ret;

	fd = memfd_create("kvmini-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(ctx, fd);
	if (ret)
		goto out;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	ret = -EINVAL;
	if (!st.st_size || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		goto out;
	buf = malloc(st.st_size);
	ret = -ENOMEM;
	if (!buf)
		goto out;
	ret = pread(fd, buf, st.st_size, 0) == st.st_size ? 0 : -EIO;
	if (ret)
		goto out;
	prog->filter = buf;
	prog->len = st.st_size / sizeof(struct sock_filter);
	buf = NULL;
out:
	free(buf);
	close(fd);
	return ret;
}

static int build(enum seccomp_kind kind, const struct seccomp_needs *needs, struct sock_fprog *prog)
{
	struct allow_set *s = malloc(sizeof(*s));
	scmp_filter_ctx ctx;
	unsigned int i;
	int ret = -ENOMEM;

	if (!s)
		return -ENOMEM;
	collect(kind, needs, s);
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		goto out_free;
	/* NO_NEW_PRIVS is set by seccomp_enter(); another ABI (int 0x80) ends the process. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	ret = ret ?: seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (i = 0; i < SECCOMP_MAX_NR && !ret; i++)
		if (s->sys[i])
			ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, i, 0);
	/* By request number: the kernel reads cmd as 32 bits, so higher bits never match. */
	for (i = 0; i < s->nr_ioctls && !ret; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_CMP(1, SCMP_CMP_EQ, s->ioctls[i], 0));
	/*
	 * The SIGSYS handler's terminal restore: tcsetattr(0, TCSAFLUSH) is
	 * TCSETSF, and Debian 12's glibc (2.36) reads the modes first (TCGETS).
	 */
	for (i = 0; i < 2 && needs->tty && !ret; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				       SCMP_CMP(0, SCMP_CMP_EQ, STDIN_FILENO, 0),
				       SCMP_CMP(1, SCMP_CMP_EQ, i ? TCSETSF : TCGETS, 0));
	ret = ret ?: add_checked(ctx, s->checked);
	ret = ret ?: export_prog(ctx, prog);
	seccomp_release(ctx);
out_free:
	free(s);
	return ret;
}

/* Async-signal-safe: no stdio, one write(2). */
static char *put_str(char *p, char *end, const char *s)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

static char *put_num(char *p, char *end, unsigned long v, unsigned int base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < (int)sizeof(tmp));
	while (n && p < end)
		*p++ = tmp[--n];
	return p;
}

static void (*volatile trap_hook)(void);

void seccomp_on_trap(void (*fn)(void))
{
	trap_hook = fn;
}

static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	const ucontext_t *uc = uctx;
	char line[200], *p = line, *end = line + sizeof(line) - 1;
	int nr = si->si_syscall;

	p = put_str(p, end, "kvmini: seccomp: thread ");
	p = put_str(p, end, thread_kind >= 0 ? kind_names[thread_kind] : "?");
	p = put_str(p, end, " made forbidden system call ");
	p = put_num(p, end, (unsigned int)nr, 10);
	p = put_str(p, end, " (");
	p = put_str(p, end,
		    nr >= 0 && nr < SECCOMP_MAX_NR && syscall_names[nr] ? syscall_names[nr]
									: "unknown");
	p = put_str(p, end, ")");
	if (nr == __NR_ioctl) {
		p = put_str(p, end, " request 0x");
		p = put_num(p, end, uc->uc_mcontext.gregs[REG_RSI], 16);
	}
	*p++ = '\n';
	if (write(STDERR_FILENO, line, p - line) < 0)
		p = line;
	if (trap_hook)
		trap_hook();
	/* exit_group, not exit(): no atexit handler may run on a thread in this state. */
	syscall(SYS_exit_group, EXIT_SECCOMP);
}

int seccomp_prepare(const struct seccomp_needs *needs, char *err, size_t errlen)
{
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	unsigned int k, nsys, nioc;
	int ret, i;

	for (i = 0; i < SECCOMP_MAX_NR; i++)
		if (!syscall_names[i])
			syscall_names[i] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, i);
	for (k = 0; k < SECCOMP_NR_KINDS; k++) {
		if (progs[k].filter)
			continue;
		ret = build(k, needs, &progs[k]);
		if (ret) {
			snprintf(err, errlen, "seccomp: cannot build the %s filter: %s",
				 kind_names[k], strerror(-ret));
			return ret;
		}
		seccomp_count(k, needs, &nsys, &nioc);
		pr_debug("seccomp: %s: %u system calls, %u ioctl requests, %u BPF instructions",
			 kind_names[k], nsys, nioc, progs[k].len);
	}
	/*
	 * glibc reads the time zone (/etc/localtime) on the first gmtime_r() or
	 * timegm() too (time/tzset.c: __tz_convert() -> tzset_internal()); the
	 * RTC's first guest read comes on a vCPU thread, whose filter allows no
	 * open: load it now.
	 */
	tzset();
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL)) {
		snprintf(err, errlen, "seccomp: SIGSYS handler: %s", strerror(errno));
		return -errno;
	}
	prepared = true;
	return 0;
}

void seccomp_enter(enum seccomp_kind kind)
{
	sigset_t sys;

	if (!prepared || kind >= SECCOMP_NR_KINDS)
		return;
	/* A blocked SIGSYS would kill silently (force_sig_info_to_task() resets it). */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	thread_kind = kind;
	/* Without CAP_SYS_ADMIN the kernel requires NO_NEW_PRIVS (seccomp_set_mode_filter()). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &progs[kind])) {
		pr_err("seccomp: cannot install the %s filter: %s", kind_names[kind],
		       strerror(errno));
		exit(EXIT_VMM_ERROR);
	}
}
