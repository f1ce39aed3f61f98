// SPDX-License-Identifier: GPL-2.0
/*
 * The LD_PRELOAD surface of vhost-model: open*() of "/dev/vhost-net" hands out
 * a real fd (a memfd) that is recorded in a table; ioctl() and close() on such
 * an fd go to the model, everything else goes to libc (dlsym(RTLD_NEXT)).
 * access()/faccessat()/stat() of the path report a character device so a
 * caller probing for the node finds it. Also: the ioctl log
 * (VHOST_MODEL_LOG=path) and fault injection (VHOST_MODEL_FAIL=NAME[:errno],...).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "tests/vhost-model/ioctl_names.h"
#include "tests/vhost-model/vhost_model.h"

#define VM_PATH "/dev/vhost-net"
#define VM_MAX_FD 4096

static struct vm_dev *fd_table[VM_MAX_FD];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -2;		/* -2: not opened yet, -1: no log */

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_closep)(int);
static int (*real_ioctlp)(int, unsigned long, ...);
static int (*real_access)(const char *, int);
static int (*real_faccessat)(int, const char *, int, int);
static int (*real_stat)(const char *, struct stat *);

static void *next_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		fprintf(stderr, "vhost-model: dlsym(%s) failed\n", name);
		abort();
	}
	return p;
}

#define RESOLVE(var, name) do { if (!(var)) (var) = next_sym(name); } while (0)

int vm_real_close(int fd)
{
	RESOLVE(real_closep, "close");
	return real_closep(fd);
}

int vm_real_ioctl(int fd, unsigned long req, void *arg)
{
	RESOLVE(real_ioctlp, "ioctl");
	return real_ioctlp(fd, req, arg);
}

void vm_logf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	pthread_mutex_lock(&log_lock);
	if (log_fd == -2) {
		const char *p = getenv("VHOST_MODEL_LOG");

		RESOLVE(real_open, "open");
		log_fd = p && *p ? real_open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
					     0644) : -1;
	}
	if (log_fd >= 0) {
		n = snprintf(buf, sizeof(buf), "pid=%d ", (int)getpid());
		va_start(ap, fmt);
		n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
		va_end(ap);
		if (n > (int)sizeof(buf) - 2)
			n = sizeof(buf) - 2;
		buf[n++] = '\n';
		if (write(log_fd, buf, n) < 0)
			log_fd = -1;
	}
	pthread_mutex_unlock(&log_lock);
}

/*
 * VHOST_MODEL_FAIL="VHOST_SET_VRING_KICK:EBADF,SET_OWNER,OPEN:ENOENT": the
 * named call fails with that errno (EIO if none) before the model looks at
 * it, so it has no side effect. Names may omit the "VHOST_" prefix. A
 * suffix @N fails only the Nth call of that name and those after it
 * ("SET_VRING_BASE:EIO@3": the third, i.e. the second DRIVER_OK of one
 * pair), so a fault can arrive while the guest runs.
 */
#define MAX_FAIL_RULES 16
static unsigned long fail_calls[MAX_FAIL_RULES];

static int injected_errno(const char *name)
{
	const char *spec = getenv("VHOST_MODEL_FAIL");
	unsigned int rule = 0;
	size_t nl;

	if (!spec || !*spec)
		return 0;
	if (!strncmp(name, "VHOST_", 6) && strncmp(name, "VHOST_NET_", 10))
		name += 6;
	nl = strlen(name);
	for (; *spec; rule++) {
		const char *end = strchrnul(spec, ',');
		const char *tok = spec;
		size_t tl;

		if (!strncmp(tok, "VHOST_", 6) && strncmp(tok, "VHOST_NET_", 10))
			tok += 6;
		tl = strcspn(tok, ":@,");
		if (tl == nl && !strncmp(tok, name, nl)) {
			const char *at = memchr(tok + tl, '@', end - (tok + tl));
			unsigned long from = at ? strtoul(at + 1, NULL, 10) : 0;
			unsigned long nth = rule < MAX_FAIL_RULES ?
						    __atomic_add_fetch(&fail_calls[rule], 1,
								       __ATOMIC_RELAXED) :
						    0;
			int e = EIO;

			if (from && nth < from)
				return 0;
			if (tok[tl] == ':') {
				char ebuf[32];
				size_t el = (at ? at : end) - (tok + tl + 1);

				if (el >= sizeof(ebuf))
					el = sizeof(ebuf) - 1;
				memcpy(ebuf, tok + tl + 1, el);
				ebuf[el] = 0;
				e = vm_errno_parse(ebuf);
			}
			return e;
		}
		spec = *end ? end + 1 : end;
	}
	return 0;
}

static struct vm_dev *lookup(int fd)
{
	if (fd < 0 || fd >= VM_MAX_FD)
		return NULL;
	return __atomic_load_n(&fd_table[fd], __ATOMIC_ACQUIRE);
}

static int is_model_path(const char *path)
{
	return path && !strcmp(path, VM_PATH);
}

/* vhost_net_open(): a new device with two virtqueues and no owner. */
static int model_open(int flags)
{
	struct vm_dev *d;
	int e = injected_errno("OPEN");
	int fd;

	if (e) {
		vm_logf("open %s = -1 %s (injected)", VM_PATH, vm_errno_name(e));
		errno = e;
		return -1;
	}
	fd = memfd_create("vhost-net-model", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -1;
	if (fd >= VM_MAX_FD) {
		vm_real_close(fd);
		errno = EMFILE;
		return -1;
	}
	d = vm_dev_open(fd);
	if (!d) {
		vm_real_close(fd);
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_lock(&table_lock);
	__atomic_store_n(&fd_table[fd], d, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_lock);
	vm_logf("open %s = %d", VM_PATH, fd);
	return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
	if (flags & (O_CREAT | __O_TMPFILE))
		return va_arg(ap, mode_t);
	return 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (is_model_path(path))
		return model_open(flags);
	RESOLVE(real_open, "open");
	return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (is_model_path(path))
		return model_open(flags);
	RESOLVE(real_open, "open64");
	return real_open(path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (is_model_path(path))
		return model_open(flags);
	RESOLVE(real_openat, "openat");
	return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if (is_model_path(path))
		return model_open(flags);
	RESOLVE(real_openat, "openat64");
	return real_openat(dirfd, path, flags, mode);
}

/* The last close of the file runs vhost_net_release(). */
int close(int fd)
{
	struct vm_dev *d = lookup(fd);

	if (d) {
		pthread_mutex_lock(&table_lock);
		d = lookup(fd);
		__atomic_store_n(&fd_table[fd], NULL, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&table_lock);
		if (d) {
			vm_logf("close %d", fd);
			vm_dev_release(d);
		}
	}
	return vm_real_close(fd);
}

int ioctl(int fd, unsigned long req, ...)
{
	struct vm_dev *d = lookup(fd);
	char before[256], after[256];
	const char *name;
	va_list ap;
	void *arg;
	long r;
	int e;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!d)
		return vm_real_ioctl(fd, req, arg);
	/* do_vfs_ioctl() handles these before the driver sees them. */
	if (req == FIOCLEX || req == FIONCLEX || req == FIONBIO || req == FIOASYNC)
		return vm_real_ioctl(fd, req, arg);

	name = vm_ioctl_name(req);
	vm_ioctl_format(req, arg, false, before, sizeof(before));
	e = injected_errno(name);
	if (e) {
		vm_logf("ioctl fd=%d %s %s = -1 %s (injected)", fd, name, before,
			vm_errno_name(e));
		errno = e;
		return -1;
	}
	if (req == VHOST_SET_MEM_TABLE || req == VHOST_SET_VRING_ADDR || req == VHOST_SET_LOG_BASE)
		vm_writable_forget();
	r = vm_dev_ioctl(d, req, arg);
	if (r < 0) {
		vm_logf("ioctl fd=%d %s %s = -1 %s", fd, name, before,
			vm_errno_name((int)-r));
		errno = (int)-r;
		return -1;
	}
	vm_ioctl_format(req, arg, true, after, sizeof(after));
	vm_logf("ioctl fd=%d %s %s = %ld%s%s", fd, name, before, r,
		after[0] ? " " : "", after);
	return (int)r;
}

/* What stat() of the node shows: a root-owned 0600 misc character device. */
static void fake_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0600;
	st->st_rdev = makedev(10, 238);
	st->st_nlink = 1;
	st->st_blksize = 4096;
}

int access(const char *path, int mode)
{
	if (is_model_path(path))
		return 0;
	RESOLVE(real_access, "access");
	return real_access(path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int flags)
{
	if (is_model_path(path))
		return 0;
	RESOLVE(real_faccessat, "faccessat");
	return real_faccessat(dirfd, path, mode, flags);
}

int stat(const char *path, struct stat *st)
{
	if (is_model_path(path)) {
		fake_stat(st);
		return 0;
	}
	RESOLVE(real_stat, "stat");
	return real_stat(path, st);
}

int stat64(const char *path, struct stat64 *st)
{
	if (is_model_path(path)) {
		fake_stat((struct stat *)st);
		return 0;
	}
	RESOLVE(real_stat, "stat64");
	return real_stat(path, (struct stat *)st);
}
