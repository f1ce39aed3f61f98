// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-model: the split virtqueue as drivers/vhost/vhost.c (6.1) walks it.
 * Rings are little endian and x86 is too, so no vhost16_to_cpu() here.
 * Barriers: smp_rmb/smp_wmb/smp_mb map to acquire/release/seq_cst fences.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/vhost-model/vhost_model.h"

#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

/* Ring field addresses (struct vring_avail / vring_used) */
#define AVAIL_FLAGS(vq) ((vq)->avail)
#define AVAIL_IDX(vq) ((vq)->avail + 2)
#define AVAIL_RING(vq, i) ((vq)->avail + 4 + 2 * (uint64_t)(i))
#define USED_FLAGS(vq) ((vq)->used)
#define USED_IDX(vq) ((vq)->used + 2)
#define USED_RING(vq, i) ((vq)->used + 4 + 8 * (uint64_t)(i))
/* vhost_used_event() and vhost_avail_event() */
#define USED_EVENT(vq) AVAIL_RING(vq, (vq)->num)
#define AVAIL_EVENT(vq) USED_RING(vq, (vq)->num)

bool vm_has_feature(const struct vm_vq *vq, int bit)
{
	return vq->acked_features & (1ULL << bit);
}

/* vhost_get_avail_size() */
size_t vm_avail_size(const struct vm_vq *vq, unsigned int num)
{
	return 4 + 2 * (size_t)num + (vm_has_feature(vq, VIRTIO_RING_F_EVENT_IDX) ? 2 : 0);
}

/* vhost_get_used_size() */
size_t vm_used_size(const struct vm_vq *vq, unsigned int num)
{
	return 4 + 8 * (size_t)num + (vm_has_feature(vq, VIRTIO_RING_F_EVENT_IDX) ? 2 : 0);
}

/* vq_err(): the message is pr_debug, the eventfd is what userspace sees */
void vm_vq_err(struct vm_vq *vq, const char *what)
{
	vm_logf("vq_err vq=%u %s", vq->index, what);
	vm_eventfd_signal(vq->err_fd);
}

/* vq_access_ok() without an IOTLB */
bool vm_ring_access_ok(struct vm_vq *vq, unsigned int num, uint64_t d, uint64_t a, uint64_t u)
{
	if (vq->iotlb)
		return true;
	return vm_access_ok(d, 16ULL * num) && vm_access_ok(a, vm_avail_size(vq, num)) &&
	       vm_access_ok(u, vm_used_size(vq, num));
}

/* log_access_ok() */
static bool log_access_ok(uint64_t log_base, uint64_t addr, uint64_t sz)
{
	uint64_t a = addr / VM_PAGE_SIZE / 8;

	if (a > UINT64_MAX - log_base)
		return false;
	return vm_access_ok(log_base + a, (sz + VM_PAGE_SIZE * 8 - 1) / VM_PAGE_SIZE / 8);
}

/* vhost_overflow() */
static bool vhost_overflow(uint64_t uaddr, uint64_t size)
{
	if (!size)
		return false;
	return uaddr > UINT64_MAX - size + 1;
}

/* vq_memory_access_ok() */
static bool vq_memory_access_ok(uint64_t log_base, struct vm_umem *umem, bool log_all)
{
	unsigned int i;

	if (!umem)
		return false;
	for (i = 0; i < umem->nmaps; i++) {
		const struct vm_map *m = &umem->maps[i];

		if (vhost_overflow(m->addr, m->size))
			return false;
		if (!vm_access_ok(m->addr, m->size))
			return false;
		if (log_all && !log_access_ok(log_base, m->start, m->size))
			return false;
	}
	return true;
}

/* memory_access_ok(): only rings with a backend are checked */
bool vm_memory_access_ok(struct vm_dev *d, struct vm_umem *umem, bool log_all)
{
	int i;

	for (i = 0; i < VM_NVQS; i++) {
		struct vm_vq *vq = &d->vqs[i];
		bool ok = true;

		pthread_mutex_lock(&vq->mutex);
		if (vq->backend_fd >= 0)
			ok = vq_memory_access_ok(vq->log_base, umem,
						 log_all || vm_has_feature(vq, VHOST_F_LOG_ALL));
		pthread_mutex_unlock(&vq->mutex);
		if (!ok)
			return false;
	}
	return true;
}

/* vq_log_used_access_ok() */
bool vm_log_used_access_ok(struct vm_vq *vq, uint64_t log_base, bool log_used, uint64_t addr)
{
	if (vq->iotlb)
		return true;
	return !log_used || log_access_ok(log_base, addr, vm_used_size(vq, vq->num));
}

/* vq_log_access_ok() */
bool vm_vq_log_access_ok(struct vm_vq *vq, uint64_t log_base)
{
	return vq_memory_access_ok(log_base, vq->umem, vm_has_feature(vq, VHOST_F_LOG_ALL)) &&
	       vm_log_used_access_ok(vq, log_base, vq->log_used, vq->log_addr);
}

/* vhost_vq_access_ok() */
bool vm_vq_access_ok(struct vm_vq *vq)
{
	if (!vm_vq_log_access_ok(vq, vq->log_base))
		return false;
	return vm_ring_access_ok(vq, vq->num, vq->desc, vq->avail, vq->used);
}

/* log_used(): used ring writes are logged at log_guest_addr + offset */
static void log_used(struct vm_vq *vq, uint64_t off, uint64_t len)
{
	vm_log_write(vq->log_base, vq->log_addr + off, len);
}

/* vhost_update_used_flags() */
static int update_used_flags(struct vm_vq *vq)
{
	if (vm_put_user16(vq->used_flags, USED_FLAGS(vq)))
		return -EFAULT;
	if (vq->log_used) {
		smp_wmb();
		log_used(vq, 0, 2);
		vm_eventfd_signal(vq->log_fd);
	}
	return 0;
}

/* vhost_update_avail_event() */
static int update_avail_event(struct vm_vq *vq)
{
	if (vm_put_user16(vq->avail_idx, AVAIL_EVENT(vq)))
		return -EFAULT;
	if (vq->log_used) {
		smp_wmb();
		log_used(vq, AVAIL_EVENT(vq) - vq->used, 2);
		vm_eventfd_signal(vq->log_fd);
	}
	return 0;
}

/* vhost_vq_init_access(): runs when a backend is attached */
int vm_vq_init_access(struct vm_vq *vq)
{
	uint16_t idx;
	int r;

	if (vq->backend_fd < 0)
		return 0;
	r = update_used_flags(vq);
	if (r)
		return r;
	vq->signalled_used_valid = false;
	if (!vq->iotlb && !vm_access_ok(USED_IDX(vq), 2))
		return -EFAULT;
	if (vm_get_user16(&idx, USED_IDX(vq))) {
		vm_vq_err(vq, "Can't access used idx");
		return -EFAULT;
	}
	vq->last_used_idx = idx;
	return 0;
}

/* vhost_get_avail_idx(): 1 if there is something new, 0 if not, -errno */
static int get_avail_idx(struct vm_vq *vq)
{
	uint16_t idx;

	if (vm_get_user16(&idx, AVAIL_IDX(vq))) {
		vm_vq_err(vq, "Failed to access available index");
		return -EFAULT;
	}
	if ((uint16_t)(idx - vq->last_avail_idx) > vq->num) {
		vm_vq_err(vq, "Invalid available index change");
		return -EINVAL;
	}
	if (idx == vq->avail_idx)
		return 0;
	vq->avail_idx = idx;
	/* order the index read before reading ring entries */
	smp_rmb();
	return 1;
}

static int get_desc_at(struct vring_desc *desc, uint64_t uaddr)
{
	return vm_copy_from_user(desc, uaddr, sizeof(*desc));
}

/* next_desc() */
static unsigned int next_desc(const struct vring_desc *desc)
{
	if (!(desc->flags & VRING_DESC_F_NEXT))
		return -1U;
	return desc->next;
}

static int add_bufs(struct vm_vq *vq, const struct vring_desc *desc, struct iovec *iov,
		    unsigned int iov_size, unsigned int *out_num, unsigned int *in_num,
		    struct vm_log *log, unsigned int *log_num)
{
	unsigned int iov_count = *in_num + *out_num;
	bool wo = desc->flags & VRING_DESC_F_WRITE;
	int ret;

	ret = vm_translate_desc(vq, desc->addr, desc->len, iov + iov_count,
				iov_size - iov_count);
	if (ret < 0) {
		vm_vq_err(vq, "Translation failure");
		return ret;
	}
	if (wo) {
		*in_num += ret;
		if (log && ret) {
			log[*log_num].addr = desc->addr;
			log[*log_num].len = desc->len;
			++*log_num;
		}
	} else {
		/* output descriptors must come before input ones */
		if (*in_num) {
			vm_vq_err(vq, "Descriptor has out after in");
			return -EINVAL;
		}
		*out_num += ret;
	}
	return 0;
}

/* Read descriptor i of an indirect table that translated to iov[0..cnt). */
static int read_indirect(struct vring_desc *desc, const struct iovec *iov, int cnt, size_t off)
{
	uint8_t *p = (uint8_t *)desc;
	size_t len = sizeof(*desc);
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
		if (vm_copy_from_user(p, (uintptr_t)iov[i].iov_base + off, n))
			return -EFAULT;
		p += n;
		len -= n;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

/* get_indirect() */
static int get_indirect(struct vm_vq *vq, struct iovec *iov, unsigned int iov_size,
			unsigned int *out_num, unsigned int *in_num,
			struct vm_log *log, unsigned int *log_num,
			const struct vring_desc *indirect)
{
	static __thread struct iovec ind[VM_UIO_MAXIOV];
	unsigned int i = 0, count, found = 0;
	struct vring_desc desc;
	uint32_t len = indirect->len;
	int ret, cnt;

	if (len % sizeof(desc)) {
		vm_vq_err(vq, "Invalid length in indirect descriptor");
		return -EINVAL;
	}
	cnt = vm_translate_desc(vq, indirect->addr, len, ind, VM_UIO_MAXIOV);
	if (cnt < 0) {
		vm_vq_err(vq, "Translation failure in indirect");
		return cnt;
	}
	count = len / sizeof(desc);
	if (count > 0xffff + 1) {
		vm_vq_err(vq, "Indirect buffer length too big");
		return -E2BIG;
	}
	do {
		if (++found > count) {
			vm_vq_err(vq, "Loop detected in indirect");
			return -EINVAL;
		}
		/* copy_from_iter_full() walks the table sequentially */
		if (read_indirect(&desc, ind, cnt, (size_t)(found - 1) * sizeof(desc))) {
			vm_vq_err(vq, "Failed indirect descriptor");
			return -EINVAL;
		}
		if (desc.flags & VRING_DESC_F_INDIRECT) {
			vm_vq_err(vq, "Nested indirect descriptor");
			return -EINVAL;
		}
		ret = add_bufs(vq, &desc, iov, iov_size, out_num, in_num, log, log_num);
		if (ret < 0)
			return ret;
	} while ((i = next_desc(&desc)) != -1U);
	return 0;
}

/*
 * vhost_get_vq_desc(): the head of the next available chain, vq->num when
 * there is none, -errno on a malformed ring (after vq_err()).
 */
int vm_get_vq_desc(struct vm_vq *vq, struct iovec *iov, unsigned int iov_size,
		   unsigned int *out_num, unsigned int *in_num,
		   struct vm_log *log, unsigned int *log_num)
{
	uint16_t last_avail_idx = vq->last_avail_idx, ring_head;
	unsigned int i, head, found = 0;
	struct vring_desc desc;
	int ret;

	if (vq->avail_idx == vq->last_avail_idx) {
		ret = get_avail_idx(vq);
		if (ret < 0)
			return ret;
		if (!ret)
			return vq->num;
	}
	if (vm_get_user16(&ring_head, AVAIL_RING(vq, last_avail_idx & (vq->num - 1)))) {
		vm_vq_err(vq, "Failed to read head");
		return -EFAULT;
	}
	head = ring_head;
	if (head >= vq->num) {
		vm_vq_err(vq, "Guest says index is available beyond the ring");
		return -EINVAL;
	}
	*out_num = *in_num = 0;
	if (log)
		*log_num = 0;
	i = head;
	do {
		if (i >= vq->num) {
			vm_vq_err(vq, "Desc index beyond the ring");
			return -EINVAL;
		}
		if (++found > vq->num) {
			vm_vq_err(vq, "Loop detected");
			return -EINVAL;
		}
		if (get_desc_at(&desc, vq->desc + 16ULL * i)) {
			vm_vq_err(vq, "Failed to get descriptor");
			return -EFAULT;
		}
		if (desc.flags & VRING_DESC_F_INDIRECT) {
			ret = get_indirect(vq, iov, iov_size, out_num, in_num, log, log_num, &desc);
			if (ret < 0)
				return ret;
			continue;
		}
		ret = add_bufs(vq, &desc, iov, iov_size, out_num, in_num, log, log_num);
		if (ret < 0)
			return ret;
	} while ((i = next_desc(&desc)) != -1U);
	vq->last_avail_idx++;
	return head;
}

/* vhost_discard_vq_desc() */
void vm_discard_vq_desc(struct vm_vq *vq, int n)
{
	vq->last_avail_idx -= n;
}

/* vhost_vq_avail_empty() */
bool vm_vq_avail_empty(struct vm_vq *vq)
{
	if (vq->avail_idx != vq->last_avail_idx)
		return false;
	return get_avail_idx(vq) == 0;
}

/* __vhost_add_used_n() */
static int add_used_n_chunk(struct vm_vq *vq, struct vring_used_elem *heads, unsigned int count)
{
	unsigned int start = vq->last_used_idx & (vq->num - 1);
	uint16_t old, new;

	if (vm_copy_to_user(USED_RING(vq, start), heads, count * sizeof(*heads))) {
		vm_vq_err(vq, "Failed to write used");
		return -EFAULT;
	}
	if (vq->log_used) {
		smp_wmb();
		log_used(vq, USED_RING(vq, start) - vq->used, count * sizeof(*heads));
	}
	old = vq->last_used_idx;
	new = (vq->last_used_idx += count);
	if ((uint16_t)(new - vq->signalled_used) < (uint16_t)(new - old))
		vq->signalled_used_valid = false;
	return 0;
}

/* vhost_add_used_n() */
int vm_add_used_n(struct vm_vq *vq, struct vring_used_elem *heads, unsigned int count)
{
	unsigned int start = vq->last_used_idx & (vq->num - 1), n = vq->num - start;
	int r;

	if (n < count) {
		r = add_used_n_chunk(vq, heads, n);
		if (r < 0)
			return r;
		heads += n;
		count -= n;
	}
	r = add_used_n_chunk(vq, heads, count);
	if (r < 0)
		return r;
	/* the buffers are written before the index that publishes them */
	smp_wmb();
	if (vm_put_user16(vq->last_used_idx, USED_IDX(vq))) {
		vm_vq_err(vq, "Failed to increment used idx");
		return -EFAULT;
	}
	if (vq->log_used) {
		smp_wmb();
		log_used(vq, 2, 2);
		vm_eventfd_signal(vq->log_fd);
	}
	return r;
}

/* vring_need_event() from include/uapi/linux/virtio_ring.h */
static bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

/* vhost_notify() */
static bool vhost_notify(struct vm_vq *vq)
{
	uint16_t old, new, event, flags;
	bool v;

	/* pairs with the barrier the guest executes when enabling interrupts */
	smp_mb();
	if (vm_has_feature(vq, VIRTIO_F_NOTIFY_ON_EMPTY) && vq->avail_idx == vq->last_avail_idx)
		return true;
	if (!vm_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		if (vm_get_user16(&flags, AVAIL_FLAGS(vq))) {
			vm_vq_err(vq, "Failed to get flags");
			return true;
		}
		return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
	}
	old = vq->signalled_used;
	v = vq->signalled_used_valid;
	new = vq->signalled_used = vq->last_used_idx;
	vq->signalled_used_valid = true;
	if (!v)
		return true;
	if (vm_get_user16(&event, USED_EVENT(vq))) {
		vm_vq_err(vq, "Failed to get used event idx");
		return true;
	}
	return need_event(event, new, old);
}

/* vhost_signal() */
void vm_signal(struct vm_vq *vq)
{
	if (vq->call_fd >= 0 && vhost_notify(vq))
		vm_eventfd_signal(vq->call_fd);
}

/* vhost_enable_notify(): true if buffers were added meanwhile */
bool vm_enable_notify(struct vm_vq *vq)
{
	int r;

	if (!(vq->used_flags & VRING_USED_F_NO_NOTIFY))
		return false;
	vq->used_flags &= ~VRING_USED_F_NO_NOTIFY;
	if (!vm_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		if (update_used_flags(vq)) {
			vm_vq_err(vq, "Failed to enable notification");
			return false;
		}
	} else if (update_avail_event(vq)) {
		vm_vq_err(vq, "Failed to update avail event index");
		return false;
	}
	/* the guest could have added one as we did that: check again */
	smp_mb();
	r = get_avail_idx(vq);
	if (r < 0)
		return false;
	return r;
}

/* vhost_disable_notify() */
void vm_disable_notify(struct vm_vq *vq)
{
	if (vq->used_flags & VRING_USED_F_NO_NOTIFY)
		return;
	vq->used_flags |= VRING_USED_F_NO_NOTIFY;
	if (!vm_has_feature(vq, VIRTIO_RING_F_EVENT_IDX) && update_used_flags(vq))
		vm_vq_err(vq, "Failed to disable notification");
}

/* vhost_log_write() without an IOTLB: the written descriptors' pages */
void vm_log_desc_write(struct vm_vq *vq, struct vm_log *log, unsigned int log_num, uint64_t len)
{
	unsigned int i;

	/* the data is seen before the log */
	smp_wmb();
	for (i = 0; i < log_num; i++) {
		uint64_t l = log[i].len < len ? log[i].len : len;

		if (vm_log_write(vq->log_base, log[i].addr, l) < 0)
			return;
		len -= l;
		if (!len) {
			vm_eventfd_signal(vq->log_fd);
			return;
		}
	}
}
