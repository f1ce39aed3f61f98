// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-model tests, control plane: every ioctl error the 6.1 kernel returns
 * that the model reproduces, the owner rule, the log and fault injection.
 * Run with LD_PRELOAD=libvhost-model.so (run-tests.sh does); "strict" as the
 * first argument runs the VHOST_MODEL_STRICT=1 checks instead.
 */
#include <fcntl.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/vhost-model/test_util.h"

char t_msg[512];

#define NET_FEATURES ((1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
		      (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VHOST_F_LOG_ALL) | \
		      (1ULL << VIRTIO_F_ANY_LAYOUT) | (1ULL << VIRTIO_F_VERSION_1) | \
		      (1ULL << VHOST_NET_F_VIRTIO_NET_HDR) | (1ULL << VIRTIO_NET_F_MRG_RXBUF) | \
		      (1ULL << VIRTIO_F_ACCESS_PLATFORM))

static struct {
	struct vhost_memory m;
	struct vhost_memory_region r[70];
} mt;

static int open_owned(void)
{
	int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);

	if (fd >= 0 && ioctl(fd, VHOST_SET_OWNER, NULL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int t_open_and_stat(void)
{
	struct stat st;
	int fd;

	T_ASSERT(access("/dev/vhost-net", R_OK | W_OK) == 0);
	T_ASSERT(stat("/dev/vhost-net", &st) == 0 && S_ISCHR(st.st_mode));
	fd = openat(AT_FDCWD, "/dev/vhost-net", O_RDWR);
	T_ASSERT(fd >= 0);
	T_ASSERT(fcntl(fd, F_GETFD) >= 0);
	T_ASSERT(close(fd) == 0);
	T_ASSERT(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
	return T_PASS;
}

static int t_before_owner(void)
{
	struct vhost_vring_state s = { 0, 256 };
	struct vhost_vring_file f = { 0, -1 };
	uint64_t feat = 0;
	int fd = open("/dev/vhost-net", O_RDWR);

	T_ASSERT(fd >= 0);
	/* vhost_net_ioctl() serves these without vhost_dev_check_owner() */
	T_IOCTL(fd, VHOST_GET_FEATURES, &feat, 0);
	T_ASSERT(feat == NET_FEATURES);
	feat = 1ULL << VIRTIO_F_VERSION_1;
	T_IOCTL(fd, VHOST_SET_FEATURES, &feat, 0);
	T_IOCTL(fd, VHOST_GET_BACKEND_FEATURES, &feat, 0);
	T_ASSERT(feat == (1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2));
	T_IOCTL(fd, VHOST_SET_BACKEND_FEATURES, &feat, 0);
	/* everything else needs the owner */
	mt.m.nregions = 0;
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, &mt, EPERM);
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, EPERM);
	T_IOCTL(fd, VHOST_RESET_OWNER, NULL, EPERM);
	T_IOCTL(fd, VHOST_NET_SET_BACKEND, &f, EPERM);
	T_IOCTL(fd, VHOST_SET_LOG_FD, &f.fd, EPERM);
	T_IOCTL(fd, 0xdead, NULL, EPERM);
	close(fd);
	return T_PASS;
}

static int t_owner_rule(void)
{
	struct vhost_vring_state s = { 0, 256 };
	int fd = open("/dev/vhost-net", O_RDWR), st;
	uint64_t feat;
	pid_t pid;

	T_ASSERT(fd >= 0);
	T_IOCTL(fd, VHOST_SET_OWNER, NULL, 0);
	T_IOCTL(fd, VHOST_SET_OWNER, NULL, EBUSY);
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, 0);
	pid = fork();
	if (pid == 0) {
		/* another mm: not the owner */
		int ok = ioctl(fd, VHOST_SET_VRING_NUM, &s) < 0 && errno == EPERM &&
			 ioctl(fd, VHOST_SET_OWNER, NULL) < 0 && errno == EBUSY &&
			 ioctl(fd, VHOST_RESET_OWNER, NULL) < 0 && errno == EPERM &&
			 ioctl(fd, VHOST_GET_FEATURES, &feat) == 0;
		_exit(ok ? 0 : 1);
	}
	T_ASSERT(pid > 0 && waitpid(pid, &st, 0) == pid);
	T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* RESET_OWNER drops the owner and the state; anyone may own it again */
	T_IOCTL(fd, VHOST_RESET_OWNER, NULL, 0);
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, EPERM);
	T_IOCTL(fd, VHOST_SET_OWNER, NULL, 0);
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, 0);
	close(fd);
	return T_PASS;
}

static int t_features(void)
{
	int fd = open_owned();
	uint64_t f;

	T_ASSERT(fd >= 0);
	f = 1ULL << VIRTIO_NET_F_CSUM;
	T_IOCTL(fd, VHOST_SET_FEATURES, &f, EOPNOTSUPP);
	f = 1ULL << VIRTIO_F_RING_PACKED;
	T_IOCTL(fd, VHOST_SET_FEATURES, &f, EOPNOTSUPP);
	f = 4;
	T_IOCTL(fd, VHOST_SET_BACKEND_FEATURES, &f, EOPNOTSUPP);
	f = NET_FEATURES & ~(1ULL << VIRTIO_F_ACCESS_PLATFORM);
	T_IOCTL(fd, VHOST_SET_FEATURES, &f, 0);
	T_IOCTL(fd, VHOST_SET_FEATURES, (void *)8, EFAULT);
	T_IOCTL(fd, VHOST_GET_FEATURES, (void *)8, EFAULT);
	close(fd);
	return T_PASS;
}

static int t_mem_table(void)
{
	int fd = open_owned();
	void *mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	T_ASSERT(fd >= 0 && mem != MAP_FAILED);
	memset(&mt, 0, sizeof(mt));
	mt.m.nregions = 1;
	mt.r[0] = (struct vhost_memory_region){ 0x100000, 1 << 20, (uintptr_t)mem, 0 };
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, &mt, 0);
	mt.m.padding = 1;
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, &mt, EOPNOTSUPP);
	mt.m.padding = 0;
	mt.m.nregions = 65;
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, &mt, E2BIG);
	mt.m.nregions = 64;
	for (int i = 1; i < 64; i++)
		mt.r[i] = (struct vhost_memory_region){ 0x10000000ULL * i, 4096,
							(uintptr_t)mem, 0 };
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, &mt, 0);
	/* vhost_iotlb_add_range(): last < start */
	mt.m.nregions = 2;
	mt.r[1].memory_size = 0;
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, &mt, EFAULT);
	mt.r[1] = (struct vhost_memory_region){ ~0ULL - 0xfff, 0x2000, (uintptr_t)mem, 0 };
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, &mt, EFAULT);
	/* the region table itself unreadable */
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, (void *)16, EFAULT);
	/* without a backend, userspace_addr is not checked (memory_access_ok) */
	mt.m.nregions = 1;
	mt.r[0].userspace_addr = 0xffff800000000000ULL;
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, &mt, 0);
	close(fd);
	munmap(mem, 1 << 20);
	return T_PASS;
}

static int t_vring_num_base(void)
{
	struct vhost_vring_state s = { 2, 256 };
	int fd = open_owned();

	T_ASSERT(fd >= 0);
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, ENOBUFS);
	T_IOCTL(fd, VHOST_SET_VRING_BASE, &s, ENOBUFS);
	T_IOCTL(fd, VHOST_GET_VRING_BASE, &s, ENOBUFS);
	T_IOCTL(fd, VHOST_SET_VRING_NUM, NULL, EFAULT);
	s.index = 1;
	s.num = 0;
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, EINVAL);
	s.num = 48;
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, EINVAL);
	s.num = 65536;
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, EINVAL);
	s.num = 32768;
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, 0);
	s.num = 1;
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, 0);
	s.num = 0x10000;
	T_IOCTL(fd, VHOST_SET_VRING_BASE, &s, EINVAL);
	s.num = 0xfffe;
	T_IOCTL(fd, VHOST_SET_VRING_BASE, &s, 0);
	s.num = 0;
	T_IOCTL(fd, VHOST_GET_VRING_BASE, &s, 0);
	T_ASSERT(s.index == 1 && s.num == 0xfffe);
	T_IOCTL(fd, VHOST_SET_VRING_ENDIAN, &s, ENOTTY);
	T_IOCTL(fd, VHOST_GET_VRING_ENDIAN, &s, ENOTTY);
	s.num = 50;
	T_IOCTL(fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s, 0);
	s.num = 0;
	T_IOCTL(fd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s, 0);
	T_ASSERT(s.num == 50);
	close(fd);
	return T_PASS;
}

static int t_vring_addr(void)
{
	struct vhost_vring_addr a = { .index = 0, .desc_user_addr = 0x10000,
				      .avail_user_addr = 0x11000, .used_user_addr = 0x12000 };
	int fd = open_owned();

	T_ASSERT(fd >= 0);
	T_IOCTL(fd, VHOST_SET_VRING_ADDR, &a, 0);
	a.flags = 2;
	T_IOCTL(fd, VHOST_SET_VRING_ADDR, &a, EOPNOTSUPP);
	a.flags = 1 << VHOST_VRING_F_LOG;
	a.avail_user_addr = 0x11001;
	T_IOCTL(fd, VHOST_SET_VRING_ADDR, &a, EINVAL);
	a.avail_user_addr = 0x11002;
	a.used_user_addr = 0x12002;
	T_IOCTL(fd, VHOST_SET_VRING_ADDR, &a, EINVAL);
	a.used_user_addr = 0x12004;
	a.log_guest_addr = 0x2002;
	T_IOCTL(fd, VHOST_SET_VRING_ADDR, &a, EINVAL);
	a.log_guest_addr = 0x2004;
	/* descriptors have no alignment check in vhost_vring_set_addr() */
	a.desc_user_addr = 0x10001;
	T_IOCTL(fd, VHOST_SET_VRING_ADDR, &a, 0);
	a.index = 7;
	T_IOCTL(fd, VHOST_SET_VRING_ADDR, &a, ENOBUFS);
	close(fd);
	return T_PASS;
}

static int t_vring_eventfds(void)
{
	static const unsigned long reqs[] = { VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL,
					      VHOST_SET_VRING_ERR };
	int fd = open_owned(), efd = eventfd(0, EFD_CLOEXEC), p[2];
	struct vhost_vring_file f;

	T_ASSERT(fd >= 0 && efd >= 0 && pipe(p) == 0);
	for (size_t i = 0; i < 3; i++) {
		f = (struct vhost_vring_file){ 1, efd };
		T_IOCTL(fd, reqs[i], &f, 0);
		T_IOCTL(fd, reqs[i], &f, 0);
		f.fd = -1;
		T_IOCTL(fd, reqs[i], &f, 0);
		/* eventfd_fget(): not an eventfd -> EINVAL, no file -> EBADF */
		f.fd = p[0];
		T_IOCTL(fd, reqs[i], &f, EINVAL);
		f.fd = fd;
		T_IOCTL(fd, reqs[i], &f, EINVAL);
		f.fd = 1000;
		T_IOCTL(fd, reqs[i], &f, EBADF);
		f.fd = -2;
		T_IOCTL(fd, reqs[i], &f, EBADF);
		f = (struct vhost_vring_file){ 2, efd };
		T_IOCTL(fd, reqs[i], &f, ENOBUFS);
	}
	f.fd = p[1];
	T_IOCTL(fd, VHOST_SET_LOG_FD, &f.fd, EINVAL);
	f.fd = efd;
	T_IOCTL(fd, VHOST_SET_LOG_FD, &f.fd, 0);
	f.fd = -1;
	T_IOCTL(fd, VHOST_SET_LOG_FD, &f.fd, 0);
	/* the model holds its own reference, as the kernel does */
	f = (struct vhost_vring_file){ 0, efd };
	T_IOCTL(fd, VHOST_SET_VRING_CALL, &f, 0);
	close(efd);
	close(p[0]);
	close(p[1]);
	close(fd);
	return T_PASS;
}

static int t_set_backend_errors(void)
{
	struct vhost_vring_file f = { 2, -1 };
	int fd = open_owned(), p[2];
	void *mem = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vhost_vring_addr a = { .index = 0, .desc_user_addr = (uintptr_t)mem,
				      .avail_user_addr = (uintptr_t)mem + 0x1000,
				      .used_user_addr = (uintptr_t)mem + 0x2000 };

	T_ASSERT(fd >= 0 && pipe(p) == 0 && mem != MAP_FAILED);
	T_IOCTL(fd, VHOST_NET_SET_BACKEND, &f, ENOBUFS);
	/* no memory table: vq_memory_access_ok() fails */
	f.index = 0;
	T_IOCTL(fd, VHOST_NET_SET_BACKEND, &f, EFAULT);
	f.fd = p[0];
	T_IOCTL(fd, VHOST_NET_SET_BACKEND, &f, EFAULT);
	mt.m.nregions = 1;
	mt.m.padding = 0;
	mt.r[0] = (struct vhost_memory_region){ 0, 1 << 16, (uintptr_t)mem, 0 };
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, &mt, 0);
	T_IOCTL(fd, VHOST_SET_VRING_ADDR, &a, 0);
	/* get_socket(): neither a packet socket nor a tap */
	T_IOCTL(fd, VHOST_NET_SET_BACKEND, &f, ENOTSOCK);
	f.fd = 1000;
	T_IOCTL(fd, VHOST_NET_SET_BACKEND, &f, ENOTSOCK);
	f.fd = -1;
	T_IOCTL(fd, VHOST_NET_SET_BACKEND, &f, 0);
	/* ring addresses beyond TASK_SIZE_MAX fail access_ok() */
	a.used_user_addr = 0x7ffffffff000ULL;
	T_IOCTL(fd, VHOST_SET_VRING_ADDR, &a, 0);
	T_IOCTL(fd, VHOST_NET_SET_BACKEND, &f, EFAULT);
	close(p[0]);
	close(p[1]);
	close(fd);
	munmap(mem, 1 << 16);
	return T_PASS;
}

static int t_unknown_ioctl(void)
{
	uint32_t idx = 0;
	int fd = open_owned();

	T_ASSERT(fd >= 0);
	/* vhost_vring_ioctl() reads an index first, then gives up */
	T_IOCTL(fd, _IOW(VHOST_VIRTIO, 0x7f, int), &idx, ENOTTY);
	idx = 5;
	T_IOCTL(fd, _IOW(VHOST_VIRTIO, 0x7f, int), &idx, ENOBUFS);
	T_IOCTL(fd, _IOW(VHOST_VIRTIO, 0x7f, int), NULL, EFAULT);
	T_ASSERT(ioctl(fd, FIONBIO, &(int){ 1 }) == 0);
	close(fd);
	return T_PASS;
}

static int t_fault_injection(void)
{
	struct vhost_vring_state s = { 0, 64 };
	int fd = open_owned();

	T_ASSERT(fd >= 0);
	setenv("VHOST_MODEL_FAIL", "VHOST_SET_VRING_NUM:EBUSY,GET_FEATURES", 1);
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, EBUSY);
	T_IOCTL(fd, VHOST_GET_FEATURES, &(uint64_t){ 0 }, EIO);
	T_IOCTL(fd, VHOST_SET_VRING_BASE, &s, 0);
	setenv("VHOST_MODEL_FAIL", "OPEN:ENOENT", 1);
	T_ASSERT(open("/dev/vhost-net", O_RDWR) < 0 && errno == ENOENT);
	unsetenv("VHOST_MODEL_FAIL");
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, 0);
	close(fd);
	return T_PASS;
}

/* The log names each ioctl with its arguments and result, in order. */
static int t_log(void)
{
	const char *path = getenv("VHOST_MODEL_LOG");
	struct vhost_vring_state s = { 1, 3 };
	char buf[65536], want[256], *p;
	int fd, lf;
	ssize_t n;

	T_SKIP_IF(!path, "VHOST_MODEL_LOG not set");
	fd = open_owned();
	T_ASSERT(fd >= 0);
	T_IOCTL(fd, VHOST_SET_VRING_NUM, &s, EINVAL);
	close(fd);
	lf = open(path, O_RDONLY);
	T_ASSERT(lf >= 0);
	n = read(lf, buf, sizeof(buf) - 1);
	close(lf);
	T_ASSERT(n > 0);
	buf[n] = 0;
	snprintf(want, sizeof(want), "open /dev/vhost-net = %d\n", fd);
	p = strstr(buf, want);
	while (p && strstr(p + 1, want))
		p = strstr(p + 1, want);
	T_ASSERT(p);
	snprintf(want, sizeof(want), "ioctl fd=%d VHOST_SET_OWNER {arg=0x0} = 0\n", fd);
	T_ASSERT((p = strstr(p, want)));
	snprintf(want, sizeof(want),
		 "ioctl fd=%d VHOST_SET_VRING_NUM {index=1,num=3} = -1 EINVAL\n", fd);
	T_ASSERT((p = strstr(p, want)));
	snprintf(want, sizeof(want), "close %d\n", fd);
	T_ASSERT(strstr(p, want));
	return T_PASS;
}

/* VHOST_MODEL_STRICT=1: access_ok() also wants the range mapped. */
static int t_strict_unmapped_region(void)
{
	int fd = open_owned();
	struct vhost_vring_file f = { 0, 0 };
	void *mem = mmap(NULL, 3 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vhost_vring_addr a = { .index = 0, .desc_user_addr = (uintptr_t)mem,
				      .avail_user_addr = (uintptr_t)mem + 0x1000,
				      .used_user_addr = (uintptr_t)mem + 0x2000 };
	bool strict = getenv("VHOST_MODEL_STRICT") && *getenv("VHOST_MODEL_STRICT") == '1';

	T_ASSERT(fd >= 0 && mem != MAP_FAILED);
	munmap((char *)mem + (1 << 16), 1 << 16);
	mt.m.nregions = 1;
	mt.m.padding = 0;
	mt.r[0] = (struct vhost_memory_region){ 0, 2 << 16, (uintptr_t)mem, 0 };
	T_IOCTL(fd, VHOST_SET_MEM_TABLE, &mt, 0);
	T_IOCTL(fd, VHOST_SET_VRING_ADDR, &a, 0);
	/* fd 0 is no socket: the kernel gets that far, strict mode does not */
	T_IOCTL(fd, VHOST_NET_SET_BACKEND, &f, strict ? EFAULT : ENOTSOCK);
	close(fd);
	munmap(mem, 1 << 16);
	munmap((char *)mem + (2 << 16), 1 << 16);
	return T_PASS;
}

static const struct test control_tests[] = {
	{ "open_and_stat", t_open_and_stat },
	{ "before_owner", t_before_owner },
	{ "owner_rule", t_owner_rule },
	{ "features", t_features },
	{ "mem_table", t_mem_table },
	{ "vring_num_base", t_vring_num_base },
	{ "vring_addr", t_vring_addr },
	{ "vring_eventfds", t_vring_eventfds },
	{ "set_backend_errors", t_set_backend_errors },
	{ "unknown_ioctl", t_unknown_ioctl },
	{ "fault_injection", t_fault_injection },
	{ "log", t_log },
	{ "strict_unmapped_region", t_strict_unmapped_region },
};

static int pass, fail, skip;

static void run(const char *prefix, const struct test *t)
{
	int r;

	t_msg[0] = 0;
	r = t->fn();
	printf("%s vhost-model/%s%s%s%s\n", r == T_PASS ? "PASS" : r == T_SKIP ? "SKIP" : "FAIL",
	       prefix, t->name, t_msg[0] ? ": " : "", t_msg);
	fflush(stdout);
	if (r == T_PASS)
		pass++;
	else if (r == T_SKIP)
		skip++;
	else
		fail++;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc > 1 && !strcmp(argv[1], "strict")) {
		/* only what differs under VHOST_MODEL_STRICT=1 */
		run("strict/", &control_tests[12]);
	} else {
		for (i = 0; i < sizeof(control_tests) / sizeof(control_tests[0]); i++)
			run("", &control_tests[i]);
		for (i = 0; i < n_datapath_tests; i++)
			run("", &datapath_tests[i]);
	}
	printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
	return fail ? 1 : 0;
}
