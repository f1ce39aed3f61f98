// SPDX-License-Identifier: GPL-2.0
/*
 * The per-thread filters, natively (no KVM needed): in a forked child each
 * kind's filter is installed, then one call is made. A call the kind must
 * not make ends the child with EXIT_SECCOMP and the one line naming it; a
 * call it needs goes through to the kernel.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vhost.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/exitcode.h"
#include "vmm/seccomp.h"

struct outcome {
	int status;    /* exit status, or 128 + the signal that ended the child */
	char err[512]; /* what it wrote on stderr */
};

/* Run fn in a child under kind's filter; fn's return value is the child's exit status. */
/* An eventfd made before the filter, as kvmini's threads find theirs. */
static int pre_fd = -1;
/* Runs in the child before the filters are prepared, when set. */
static void (*child_setup)(void);

static struct outcome run_as(enum seccomp_kind kind, const struct seccomp_needs *needs,
			     int (*fn)(void))
{
	struct outcome o = {0};
	char err[256];
	int pipefd[2], ws;
	ssize_t n, len = 0;
	pid_t pid;

#ifdef KVMINI_SECCOMP_DEFAULT_OFF
	/* tests/asan.mk: the sanitizers' runtimes make calls of their own under the filters. */
	cr_skip_test("a sanitizer build, where kvmini runs with --seccomp=off");
#endif
	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		if (child_setup)
			child_setup();
		if (seccomp_prepare(needs, err, sizeof(err))) {
			dprintf(STDERR_FILENO, "prepare: %s\n", err);
			_exit(100);
		}
		pre_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		seccomp_enter(kind);
		_exit(fn());
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], o.err + len, sizeof(o.err) - 1 - len)) > 0)
		len += n;
	o.err[len] = '\0';
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &ws, 0), pid);
	o.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return o;
}

static const struct seccomp_needs none;
static const struct seccomp_needs all = {.tap = true, .slirp = true};

static void expect_trap(const struct outcome *o, const char *kind, const char *call)
{
	char line[128];

	snprintf(line, sizeof(line), "kvmini: seccomp: thread %s made forbidden system call ",
		 kind);
	cr_assert_eq(o->status, EXIT_SECCOMP, "status %d, stderr: %s", o->status, o->err);
	cr_assert(strstr(o->err, line), "no '%s' in: %s", line, o->err);
	snprintf(line, sizeof(line), " (%s)", call);
	cr_assert(strstr(o->err, line), "no '%s' in: %s", line, o->err);
	cr_assert_eq(strchr(o->err, '\n'), o->err + strlen(o->err) - 1, "not one line: %s", o->err);
}

static int do_execve(void)
{
	char *argv[] = {(char *)"/bin/true", NULL};

	execve("/bin/true", argv, NULL);
	return 99;
}

static int do_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 98;
}

static int do_open(void)
{
	return open("/dev/null", O_RDONLY) >= 0 ? 0 : 98;
}

static int do_open_write(void)
{
	return open("/dev/null", O_WRONLY) >= 0 ? 0 : 98;
}

static int do_kvm_create_vcpu(void)
{
	ioctl(0, KVM_CREATE_VCPU, 0);
	return 99;
}

/* An allowed request on an eventfd: the kernel answers ENOTTY, nothing traps. */
static int ioctl_enotty(unsigned long req)
{
	return ioctl(pre_fd, req, 0) < 0 && errno == ENOTTY ? 0 : 98;
}

static int do_kvm_run(void)
{
	return ioctl_enotty(KVM_RUN);
}

static int do_vhost_backend(void)
{
	return ioctl_enotty(VHOST_NET_SET_BACKEND);
}

static int do_eventfd_rw(void)
{
	uint64_t v = 1;

	return write(pre_fd, &v, sizeof(v)) == sizeof(v) &&
			       read(pre_fd, &v, sizeof(v)) == sizeof(v) && v == 1
		       ? 0
		       : 98;
}

/* eventfd2 is the main thread's (a migration's done eventfd): the watchers only use theirs. */
static int do_eventfd(void)
{
	return eventfd(0, EFD_CLOEXEC) >= 0 ? 0 : 98;
}

static int do_exec_mapping(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 99;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static int do_thread(void)
{
	pthread_t t;
	void *ret;

	if (pthread_create(&t, NULL, thread_fn, (void *)7) || pthread_join(t, &ret))
		return 98;
	return ret == (void *)7 ? 0 : 96;
}

static int do_fork(void)
{
	/* Not a thread: clone without CLONE_THREAD. */
	return syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0) >= 0 ? 0 : 98;
}

Test(seccomp, vcpu_may_not_execve)
{
	struct outcome o = run_as(SECCOMP_VCPU, &all, do_execve);

	expect_trap(&o, "vcpu", "execve");
}

Test(seccomp, vcpu_may_not_open_files)
{
	struct outcome o = run_as(SECCOMP_VCPU, &none, do_open);

	expect_trap(&o, "vcpu", "openat");
}

/* The RTC converts times on a vCPU thread: glibc's first gmtime_r()/timegm() reads the zone. */
static int do_time_conversions(void)
{
	time_t t = 1700000000;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || timegm(&tm) != t)
		return 98;
	return 0;
}

Test(seccomp, vcpu_converts_times_without_opening_the_zone_file)
{
	struct outcome o = run_as(SECCOMP_VCPU, &none, do_time_conversions);

	cr_assert_eq(o.status, 0, "status %d, stderr: %s", o.status, o.err);
}

Test(seccomp, vcpu_may_not_create_vcpus)
{
	struct outcome o = run_as(SECCOMP_VCPU, &all, do_kvm_create_vcpu);

	expect_trap(&o, "vcpu", "ioctl");
	cr_assert(strstr(o.err, "request 0xae41"), "%s", o.err);
}

Test(seccomp, vcpu_runs_kvm_run)
{
	struct outcome o = run_as(SECCOMP_VCPU, &none, do_kvm_run);

	cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
}

Test(seccomp, vcpu_may_not_open_a_socket_without_user_networking)
{
	struct outcome o = run_as(SECCOMP_VCPU, &none, do_socket);

	expect_trap(&o, "vcpu", "socket");
}

Test(seccomp, vcpu_may_not_map_executable_memory)
{
	struct outcome o = run_as(SECCOMP_VCPU, &all, do_exec_mapping);

	expect_trap(&o, "vcpu", "mmap");
}

Test(seccomp, vcpu_starts_threads_but_not_processes)
{
	struct outcome o = run_as(SECCOMP_VCPU, &none, do_thread);

	cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
	o = run_as(SECCOMP_VCPU, &none, do_fork);
	expect_trap(&o, "vcpu", "clone");
}

Test(seccomp, vhost_ioctls_only_with_a_tap)
{
	struct outcome o = run_as(SECCOMP_NET_CTRL, &all, do_vhost_backend);

	cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
	o = run_as(SECCOMP_NET_CTRL, &none, do_vhost_backend);
	expect_trap(&o, "net-ctrl", "ioctl");
}

Test(seccomp, net_io_may_not_run_kvm)
{
	struct outcome o = run_as(SECCOMP_NET_IO, &all, do_kvm_run);

	expect_trap(&o, "net-io", "ioctl");
}

Test(seccomp, net_io_opens_slirp_sockets_and_reads_only)
{
	struct outcome o = run_as(SECCOMP_NET_IO, &all, do_socket);

	cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
	o = run_as(SECCOMP_NET_IO, &all, do_open);
	cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
	o = run_as(SECCOMP_NET_IO, &all, do_open_write);
	expect_trap(&o, "net-io", "openat");
}

Test(seccomp, watchers_use_eventfds_but_make_no_eventfds_or_sockets)
{
	struct outcome o = run_as(SECCOMP_IRQ_WATCHER, &all, do_eventfd_rw);

	cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
	o = run_as(SECCOMP_IRQ_WATCHER, &all, do_eventfd);
	expect_trap(&o, "irq-watcher", "eventfd2");
	o = run_as(SECCOMP_VHOST_ERR, &all, do_socket);
	expect_trap(&o, "vhost-err", "socket");
}

Test(seccomp, main_uses_eventfds_but_does_not_execve)
{
	struct outcome o = run_as(SECCOMP_MAIN, &all, do_eventfd);

	cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
	o = run_as(SECCOMP_MAIN, &all, do_execve);
	expect_trap(&o, "main", "execve");
}

Test(seccomp, migration_writes_files_but_does_not_execve)
{
	struct outcome o = run_as(SECCOMP_MIGRATION, &none, do_open_write);

	cr_assert_eq(o.status, 0, "status %d: %s", o.status, o.err);
	o = run_as(SECCOMP_MIGRATION, &none, do_execve);
	expect_trap(&o, "migration", "execve");
}

Test(seccomp, every_kind_is_smaller_than_main)
{
	unsigned int k, sys, ioc, main_sys, main_ioc;

	seccomp_count(SECCOMP_MAIN, &all, &main_sys, &main_ioc);
	for (k = 0; k < SECCOMP_NR_KINDS; k++) {
		seccomp_count(k, &all, &sys, &ioc);
		cr_log_info("%s: %u system calls, %u ioctl requests", seccomp_kind_name(k), sys,
			    ioc);
		cr_assert_gt(sys, 5, "%s", seccomp_kind_name(k));
		if (k != SECCOMP_MAIN && k != SECCOMP_VCPU)
			cr_assert_lt(sys + ioc, main_sys + main_ioc, "%s", seccomp_kind_name(k));
	}
}

/*
 * A trap while the console has the terminal in raw mode: the SIGSYS handler
 * sets it back before kvmini ends (atexit() handlers do not run there).
 * The terminal is a pseudo-terminal on the child's fd 0, made raw by the
 * console as `kvmini run` does; the parent reads its modes after the child
 * is gone.
 */
static int pty_slave = -1;

static void raw_terminal_on_stdin(void)
{
	struct vm_config cfg = {.console = CONSOLE_STDIO};
	char err[128];

	dup2(pty_slave, STDIN_FILENO);
	if (!console_open(&cfg, err, sizeof(err)))
		_exit(101);
	seccomp_on_trap(console_restore_terminal);
}

/* Returns the pty's local modes after a vcpu thread under needs made an execve. */
static tcflag_t lflag_after_trap(const struct seccomp_needs *needs, struct outcome *o)
{
	struct termios t;
	int master = posix_openpt(O_RDWR | O_NOCTTY);

	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	pty_slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	cr_assert_geq(pty_slave, 0);
	cr_assert_eq(tcgetattr(pty_slave, &t), 0);
	cr_assert(t.c_lflag & ICANON, "a new pty starts in canonical mode");
	child_setup = raw_terminal_on_stdin;
	*o = run_as(SECCOMP_VCPU, needs, do_execve);
	child_setup = NULL;
	cr_assert_eq(tcgetattr(pty_slave, &t), 0);
	close(pty_slave);
	close(master);
	return t.c_lflag;
}

Test(seccomp, trap_restores_a_raw_terminal)
{
	static const struct seccomp_needs tty = {.tty = true};
	struct outcome o;
	tcflag_t lflag = lflag_after_trap(&tty, &o);

	expect_trap(&o, "vcpu", "execve");
	cr_assert(lflag & ICANON && lflag & ECHO, "the terminal stayed raw (c_lflag 0%o)", lflag);
}

/* The oracle: without the tty rule the restore is itself forbidden, and the terminal stays raw. */
Test(seccomp, without_the_tty_rule_the_terminal_stays_raw)
{
	struct outcome o;
	tcflag_t lflag = lflag_after_trap(&none, &o);

	cr_assert_eq(o.status, 128 + SIGSYS, "status %d: %s", o.status, o.err);
	cr_assert(!(lflag & ICANON), "restored without the rule (c_lflag 0%o)", lflag);
}

/* The tty rule is TCSETSF on fd 0 only: the same request on another fd traps. */
static int do_tcsetsf_on_stdout(void)
{
	struct termios t = {0};

	ioctl(STDOUT_FILENO, TCSETSF, &t);
	return 99;
}

Test(seccomp, tty_rule_allows_only_fd_0)
{
	static const struct seccomp_needs tty = {.tty = true};
	struct outcome o = run_as(SECCOMP_VCPU, &tty, do_tcsetsf_on_stdout);

	expect_trap(&o, "vcpu", "ioctl");
}
