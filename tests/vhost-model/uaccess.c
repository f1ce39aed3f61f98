// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-model: user memory as vhost sees it. The kernel reaches the VMM's
 * memory with copy_{from,to}_user(), which return -EFAULT on an unmapped
 * address instead of crashing; process_vm_readv()/process_vm_writev() on our
 * own pid give the model the same semantics. 16-bit ring fields are probed
 * that way and then accessed with one atomic load/store, as __get_user() and
 * __put_user() do, so the guest never sees a torn index.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tests/vhost-model/vhost_model.h"

static int strict_mode = -1;

/*
 * VHOST_MODEL_STRICT=1: access_ok() also requires the range to be mapped
 * (from /proc/self/maps). The kernel's access_ok() only checks that the range
 * is below TASK_SIZE_MAX; strict mode reports unmapped rings and regions at
 * ioctl time instead of as faults in the datapath.
 */
static bool range_mapped(uint64_t addr, uint64_t size)
{
	uint64_t end = addr + size, lo, hi;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return true;
	while (addr < end && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (lo <= addr && addr < hi)
			addr = hi;
	}
	fclose(f);
	return addr >= end;
}

/* __access_ok() in include/asm-generic/access_ok.h */
bool vm_access_ok(uint64_t addr, uint64_t size)
{
	uint64_t limit = VM_TASK_SIZE_MAX;

	if (!(size <= limit && addr <= limit - size))
		return false;
	if (strict_mode < 0) {
		const char *s = getenv("VHOST_MODEL_STRICT");

		strict_mode = s && *s == '1';
	}
	if (strict_mode && size && !range_mapped(addr, size))
		return false;
	return true;
}

int vm_copy_from_user(void *dst, uint64_t src, size_t len)
{
	struct iovec l = { dst, len }, r = { (void *)(uintptr_t)src, len };

	if (!len)
		return 0;
	if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

int vm_copy_to_user(uint64_t dst, const void *src, size_t len)
{
	struct iovec l = { (void *)src, len }, r = { (void *)(uintptr_t)dst, len };

	if (!len)
		return 0;
	if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

/* __get_user() of a __virtio16: one load, after making sure it cannot fault */
int vm_get_user16(uint16_t *v, uint64_t uaddr)
{
	uint16_t tmp;

	if (vm_copy_from_user(&tmp, uaddr, sizeof(tmp)))
		return -EFAULT;
	if (uaddr & 1)
		*v = tmp;
	else
		*v = __atomic_load_n((uint16_t *)(uintptr_t)uaddr, __ATOMIC_RELAXED);
	return 0;
}

/*
 * A direct store must not fault: readable is not enough (process_vm_readv()
 * succeeds on read-only mappings), so writable ranges are looked up in
 * /proc/self/maps and remembered. The cache is dropped whenever the VMM
 * changes what the model writes to (memory table, ring addresses, log base).
 */
#define WCACHE 16
static struct { uint64_t lo, hi; } wcache[WCACHE];
static unsigned int wcache_n;
static pthread_mutex_t wcache_lock = PTHREAD_MUTEX_INITIALIZER;

void vm_writable_forget(void)
{
	pthread_mutex_lock(&wcache_lock);
	wcache_n = 0;
	pthread_mutex_unlock(&wcache_lock);
}

static bool writable(uint64_t addr, uint64_t len)
{
	uint64_t lo, hi;
	char line[512], perm[8];
	bool ok = false;
	unsigned int i;
	FILE *f;

	pthread_mutex_lock(&wcache_lock);
	for (i = 0; i < wcache_n; i++)
		if (wcache[i].lo <= addr && addr + len <= wcache[i].hi)
			goto out_ok;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		goto out;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) != 3)
			continue;
		if (lo <= addr && addr + len <= hi && perm[1] == 'w') {
			wcache[wcache_n % WCACHE].lo = lo;
			wcache[wcache_n % WCACHE].hi = hi;
			wcache_n = wcache_n < WCACHE ? wcache_n + 1 : 1;
			fclose(f);
			goto out_ok;
		}
	}
	fclose(f);
	goto out;
out_ok:
	ok = true;
out:
	pthread_mutex_unlock(&wcache_lock);
	return ok;
}

/* __put_user() of a __virtio16 */
int vm_put_user16(uint16_t v, uint64_t uaddr)
{
	uint16_t tmp;

	if (vm_copy_from_user(&tmp, uaddr, sizeof(tmp)) || !writable(uaddr, sizeof(tmp)))
		return -EFAULT;
	if (uaddr & 1)
		return vm_copy_to_user(uaddr, &v, sizeof(v));
	__atomic_store_n((uint16_t *)(uintptr_t)uaddr, v, __ATOMIC_RELAXED);
	return 0;
}

/* copy_to_iter() into an iovec of user addresses, starting at byte off */
int vm_copy_to_iov(const struct iovec *iov, int cnt, size_t off, const void *src, size_t len)
{
	const uint8_t *p = src;
	int i;

	for (i = 0; i < cnt && len; i++) {
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len)
			n = len;
		if (vm_copy_to_user((uintptr_t)iov[i].iov_base + off, p, n))
			return -EFAULT;
		p += n;
		len -= n;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

/*
 * eventfd_ctx_fdget()/eventfd_fget(): EBADF for a closed fd, EINVAL for an fd
 * that is not an eventfd. Returns our own duplicate (the kernel keeps a
 * reference, so the caller may close its fd) or -errno.
 */
int vm_eventfd_check(int fd)
{
	char path[64], target[64];
	ssize_t n;
	int dup;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -EBADF;
	target[n] = 0;
	if (strcmp(target, "anon_inode:[eventfd]"))
		return -EINVAL;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return dup < 0 ? -errno : dup;
}

/* eventfd_signal(ctx, 1) */
void vm_eventfd_signal(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		return;
}

/*
 * translate_desc() without a device IOTLB: the first map (lowest start) that
 * overlaps [addr, addr + len - 1] must start at or below addr, as
 * vhost_iotlb_itree_first() finds it; each map gives one iovec.
 */
int vm_translate_desc(struct vm_vq *vq, uint64_t addr, uint32_t len,
		      struct iovec *iov, int iov_size)
{
	struct vm_umem *umem = vq->umem;
	uint64_t s = 0, last = addr + len - 1;
	int ret = 0;

	while ((uint64_t)len > s) {
		const struct vm_map *map = NULL;
		uint64_t size;
		unsigned int i;

		if (ret >= iov_size)
			return -ENOBUFS;
		for (i = 0; umem && i < umem->nmaps; i++) {
			const struct vm_map *m = &umem->maps[i];

			if (m->start <= last && m->last >= addr &&
			    (!map || m->start < map->start))
				map = m;
		}
		if (!map || map->start > addr)
			return -EFAULT;
		size = map->size - addr + map->start;
		iov[ret].iov_len = ((uint64_t)len - s) < size ? (uint64_t)len - s : size;
		iov[ret].iov_base = (void *)(uintptr_t)(map->addr + addr - map->start);
		s += size;
		addr += size;
		++ret;
	}
	return ret;
}

/* set_bit_to_user(): an atomic OR into the caller's bitmap */
static int set_bit_to_user(int bit, uint64_t uaddr)
{
	uint8_t tmp;

	if (vm_copy_from_user(&tmp, uaddr, 1) || !writable(uaddr, 1))
		return -EFAULT;
	__atomic_fetch_or((uint8_t *)(uintptr_t)uaddr, (uint8_t)(1u << bit), __ATOMIC_SEQ_CST);
	return 0;
}

/* log_write(): one bit per VHOST_PAGE_SIZE page of guest physical memory */
int vm_log_write(uint64_t log_base, uint64_t write_address, uint64_t write_length)
{
	uint64_t write_page = write_address / VM_PAGE_SIZE;
	int r;

	if (!write_length)
		return 0;
	write_length += write_address % VM_PAGE_SIZE;
	for (;;) {
		r = set_bit_to_user(write_page % 8, log_base + write_page / 8);
		if (r < 0)
			return r;
		if (write_length <= VM_PAGE_SIZE)
			break;
		write_length -= VM_PAGE_SIZE;
		write_page += 1;
	}
	return 0;
}
