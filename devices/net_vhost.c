// SPDX-License-Identifier: GPL-2.0
/*
 * The vhost-net backend: hands the guest's rings to the host kernel.
 *
 * Ordering rules of the kernel this code keeps (drivers/vhost/vhost.c, net.c):
 * - VHOST_SET_OWNER before anything else (vhost_dev_check_owner(): -EPERM);
 *   the owner is the process (mm), so any kvmini thread may issue the rest.
 * - VHOST_SET_FEATURES and VHOST_SET_MEM_TABLE before VHOST_NET_SET_BACKEND:
 *   attaching runs vhost_vq_access_ok(), which fails (-EFAULT) without a
 *   memory table, and the header lengths come from the acked features.
 * - VHOST_SET_VRING_NUM and VHOST_SET_VRING_BASE only while no backend is
 *   attached to the vq (-EBUSY otherwise), so a pair is always detached
 *   (VHOST_NET_SET_BACKEND with fd -1) before it is set up again.
 * - VHOST_NET_SET_BACKEND reads used->idx from the guest (vhost_vq_init_access)
 *   and flushes the worker when it replaces or removes a socket, so after
 *   SET_BACKEND -1 returns the kernel no longer touches that ring, and
 *   VHOST_GET_VRING_BASE gives where it stopped.
 * - The ring addresses are host virtual addresses that the kernel
 *   dereferences as they are (only access_ok(), i.e. "is user memory"), so
 *   each ring is checked here to lie inside one guest RAM region: a guest
 *   value must never point the kernel at kvmini's own memory.
 *
 * - Dirty logging (migration) may be switched on and off while the rings
 *   run: VHOST_SET_LOG_BASE, VHOST_SET_FEATURES and VHOST_SET_VRING_ADDR
 *   are all legal with a backend attached (vhost.c vhost_vring_set_addr()
 *   only re-checks the addresses then, vq_log_used_access_ok()), and each
 *   takes the vq mutex the worker holds while it handles a ring, so a
 *   change applies between two batches (QEMU vhost_dev_set_log() does the
 *   same). The base goes first: SET_FEATURES with VHOST_F_LOG_ALL fails
 *   (-EFAULT, vhost_log_access_ok()) unless the log covers every region.
 *
 * Nothing is torn down with VHOST_RESET_OWNER: a reset only detaches the
 * rings, so the device can be started again any number of times (a guest
 * unbinding and rebinding its driver gets a working NIC).
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/memory.h"
#include "net_vhost_priv.h"
#include "virtio_net_log.h"

/* One ioctl; on failure logs it by name and returns -errno. */
static int do_ioctl(struct vhost_be *v, unsigned int pair, int fd, unsigned long req,
		    const char *name, void *arg)
{
	int ret;

	if (v->sys->ioctl(fd, req, arg) >= 0)
		return 0;
	ret = -errno;
	pr_err("net %s: vhost-net pair %u: %s: %s", v->ifname, pair, name, strerror(-ret));
	return ret;
}

#define VIOC(v, k, fd, req, arg) do_ioctl(v, k, fd, req, #req, arg)

/*
 * Host address of one ring of queue q, or NULL when the ring is not
 * aligned or not wholly inside one RAM region. Sizes include the event
 * fields whatever was negotiated, as the transport checks them (2.7).
 */
static void *ring_hva(const struct guest_memory *mem, uint64_t gpa, uint64_t len, uint64_t align)
{
	if (gpa & (align - 1))
		return NULL;
	return guest_ptr(mem, gpa, len);
}

static int check_rings(const struct guest_memory *mem, const struct virtio_queue_info *q,
		       uint64_t hva[3])
{
	void *d, *a, *u;

	if (!q->enabled || !q->size || q->size & (q->size - 1))
		return -EINVAL;
	/* 16-byte descriptors, 2-aligned avail, 4-aligned used (2.7; vhost.c set_addr). */
	d = ring_hva(mem, q->desc, virtq_desc_bytes(q->size), 16);
	a = ring_hva(mem, q->avail, virtq_avail_bytes(q->size), 2);
	u = ring_hva(mem, q->used, virtq_used_bytes(q->size), 4);
	if (!d || !a || !u)
		return -EFAULT;
	hva[0] = (uintptr_t)d;
	hva[1] = (uintptr_t)a;
	hva[2] = (uintptr_t)u;
	return 0;
}

/* Both rings of pair k, checked before the kernel sees any of their addresses. */
static int check_pair(struct vhost_be *v, const struct guest_memory *mem, unsigned int k,
		      uint64_t hva[2][3])
{
	unsigned int i;
	int ret;

	for (i = 0; i < 2; i++) {
		ret = check_rings(mem, &v->q[2 * k + i], hva[i]);
		if (ret) {
			pr_err("net %s: vhost-net pair %u: queue %u %s: refused", v->ifname, k,
			       2 * k + i,
			       ret == -EFAULT ? "rings outside guest RAM or misaligned"
					      : "not enabled");
			return ret;
		}
	}
	return 0;
}

static struct vhost_memory *build_mem_table(const struct vhost_be *v,
					    const struct guest_memory *mem)
{
	struct vhost_memory *mt;
	unsigned int i;

	mt = calloc(1, sizeof(*mt) + mem->nr_regions * sizeof(mt->regions[0]));
	if (!mt)
		return NULL;
	for (i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->region[i];

		/* vhost keeps page-granular maps (VHOST_PAGE_SIZE); kvmini's regions are. */
		if ((r->gpa | r->size | (uintptr_t)r->hva) & (VHOST_PAGE_SIZE - 1)) {
			pr_err("net %s: vhost-net: guest RAM region %u is not 4 KiB aligned",
			       v->ifname, i);
			free(mt);
			return NULL;
		}
		mt->regions[i] = (struct vhost_memory_region){
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};
	}
	mt->nregions = mem->nr_regions;
	return mt;
}

static int tap_queue(struct vhost_be *v, unsigned int k, bool attach)
{
	struct ifreq ifr = {.ifr_flags = attach ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE};
	struct vhost_pair *p = &v->pair[k];
	int ret;

	/* A single-queue tap has nothing to detach (tun.c tun_set_queue(): -EINVAL). */
	if (v->npairs == 1 || p->tap_detached == !attach)
		return 0;
	ret = VIOC(v, k, p->tap_fd, TUNSETQUEUE, &ifr);
	if (!ret)
		p->tap_detached = !attach;
	return ret;
}

/*
 * Detach both vqs of pair k and keep where they stopped. Once SET_BACKEND
 * -1 returns, the kernel has flushed its worker (net.c
 * vhost_net_set_backend(): vhost_dev_flush() after replacing the socket)
 * and touches the rings no more.
 */
static void pair_stop(struct vhost_be *v, unsigned int k)
{
	struct vhost_pair *p = &v->pair[k];
	struct vhost_vring_file f = {.fd = -1};
	struct vhost_vring_state s;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (!p->attached[i])
			continue;
		f.index = i;
		/* Only -EFAULT from vhost_vq_access_ok() is possible, never for a live vq. */
		if (VIOC(v, k, p->vfd, VHOST_NET_SET_BACKEND, &f))
			continue;
		p->attached[i] = false;
		s = (struct vhost_vring_state){.index = i};
		if (!VIOC(v, k, p->vfd, VHOST_GET_VRING_BASE, &s))
			p->last_avail[i] = s.num;
	}
}

static int vring_setup(struct vhost_be *v, unsigned int k, unsigned int i, const uint64_t hva[3])
{
	const struct virtio_queue_info *q = &v->q[2 * k + i];
	struct vhost_pair *p = &v->pair[k];
	struct vhost_vring_state s = {.index = i, .num = q->size};
	struct vhost_vring_addr a = {
		.index = i,
		.desc_user_addr = hva[0],
		.avail_user_addr = hva[1],
		.used_user_addr = hva[2],
		/* log_used() logs used-ring writes at this GPA plus their offset. */
		.log_guest_addr = q->used,
		.flags = v->logging ? 1u << VHOST_VRING_F_LOG : 0,
	};
	struct vhost_vring_file kick = {.index = i, .fd = q->kick_fd};
	struct vhost_vring_file call = {.index = i, .fd = q->call_fd};
	struct vhost_vring_file err = {.index = i, .fd = p->err_fd};
	int ret;

	ret = VIOC(v, k, p->vfd, VHOST_SET_VRING_NUM, &s);
	if (ret)
		return ret;
	s.num = p->last_avail[i];
	ret = VIOC(v, k, p->vfd, VHOST_SET_VRING_BASE, &s);
	if (ret)
		return ret;
	ret = VIOC(v, k, p->vfd, VHOST_SET_VRING_ADDR, &a);
	if (ret)
		return ret;
	/* Re-sending the same eventfd is a no-op in vhost_vring_ioctl(). */
	ret = VIOC(v, k, p->vfd, VHOST_SET_VRING_KICK, &kick);
	if (ret)
		return ret;
	ret = VIOC(v, k, p->vfd, VHOST_SET_VRING_CALL, &call);
	if (ret)
		return ret;
	return VIOC(v, k, p->vfd, VHOST_SET_VRING_ERR, &err);
}

/* The features every vhost fd is given: the ring bits, and LOG_ALL while logging. */
static uint64_t acked_features(const struct vhost_be *v)
{
	uint64_t feat = v->features & v->vhost_features & VHOST_RING_BITS;

	return v->logging ? feat | VHOST_BIT(VHOST_F_LOG_ALL) : feat;
}

/*
 * Program pair k from scratch and attach it to its tap queue: every ioctl
 * is re-sent on each start, so nothing depends on what the fd held before.
 */
static int pair_start(struct vhost_be *v, unsigned int k)
{
	struct vhost_pair *p = &v->pair[k];
	uint64_t feat = acked_features(v), base = (uintptr_t)v->log;
	struct vhost_vring_file b = {.fd = p->tap_fd};
	uint64_t hva[2][3];
	unsigned int i;
	int ret;

	ret = check_pair(v, v->mem, k, hva);
	if (ret)
		return ret;
	/* Never NUM/BASE on an attached vq (vhost.c: -EBUSY). */
	pair_stop(v, k);
	ret = VIOC(v, k, p->vfd, VHOST_SET_FEATURES, &feat);
	if (ret)
		return ret;
	ret = VIOC(v, k, p->vfd, VHOST_SET_MEM_TABLE, v->mt);
	if (ret)
		return ret;
	/* Before SET_BACKEND, whose vhost_vq_access_ok() checks the log with LOG_ALL. */
	if (v->logging) {
		ret = VIOC(v, k, p->vfd, VHOST_SET_LOG_BASE, &base);
		if (ret)
			return ret;
	}
	for (i = 0; i < 2; i++) {
		ret = vring_setup(v, k, i, hva[i]);
		if (ret)
			goto err;
	}
	ret = tap_queue(v, k, true);
	if (ret)
		goto err;
	for (i = 0; i < 2; i++) {
		b.index = i;
		ret = VIOC(v, k, p->vfd, VHOST_NET_SET_BACKEND, &b);
		if (ret)
			goto err;
		p->attached[i] = true;
	}
	return 0;
err:
	pair_stop(v, k);
	return ret;
}

static void stop_all(struct vhost_be *v)
{
	unsigned int k;

	for (k = 0; k < v->npairs; k++)
		pair_stop(v, k);
	v->started = false;
}

static void stop_rings_locked(struct vhost_be *v, uint16_t *last_avail, unsigned int nq)
{
	unsigned int i;

	stop_all(v);
	for (i = 0; i < nq && i < 2 * v->npairs; i++)
		last_avail[i] = v->pair[i / 2].last_avail[i % 2];
	free(v->mt);
	v->mt = NULL;
}

void net_vhost_stop_rings(struct net_backend *be, uint16_t *last_avail, unsigned int nq)
{
	struct vhost_be *v = to_vhost(be);

	pthread_mutex_lock(&v->lock);
	stop_rings_locked(v, last_avail, nq);
	pthread_mutex_unlock(&v->lock);
}

/*
 * Whether the log covers every guest page vhost may write: the memory
 * table is exactly guest RAM, and a used ring (log_guest_addr) lies inside
 * it (check_rings()). The kernel takes the base alone and trusts it.
 */
static bool log_fits(const struct vhost_be *v, const struct guest_memory *mem, size_t bytes)
{
	if (net_log_covers(mem, bytes))
		return true;
	pr_err("net %s: vhost-net: the dirty log (%zu bytes) does not cover guest RAM", v->ifname,
	       bytes);
	return false;
}

static int start_rings_locked(struct vhost_be *v, const struct net_backend_rings *r)
{
	unsigned int flags = net_tap_offload_flags(r->offloads);
	uint64_t hva[2][3];
	unsigned int k;
	int ret;

	if (v->started)
		stop_rings_locked(v, NULL, 0);
	if (v->logging && !log_fits(v, r->mem, v->log_bytes))
		return -EINVAL;
	if (r->nq < 2 || r->nq > 2 * v->npairs || r->nq & 1 || !r->pairs ||
	    r->pairs > r->nq / 2) {
		pr_err("net %s: vhost-net: %u queues, %u pairs: not what was set up (%u pairs)",
		       v->ifname, r->nq, r->pairs, v->npairs);
		return -EINVAL;
	}
	memset(v->q, 0, sizeof(v->q));
	memcpy(v->q, r->q, r->nq * sizeof(r->q[0]));
	v->nq = r->nq;
	v->mem = r->mem;
	v->features = r->features;
	__atomic_store_n(&v->ring_error_opaque, r->ring_error_opaque, __ATOMIC_RELAXED);
	__atomic_store_n(&v->ring_error, r->ring_error, __ATOMIC_RELEASE);
	/* Every ring the kernel will see now is checked before the first ioctl. */
	for (k = 0; k < r->pairs; k++) {
		ret = check_pair(v, r->mem, k, hva);
		if (ret)
			return ret;
	}
	v->mt = build_mem_table(v, r->mem);
	if (!v->mt)
		return -ENOMEM;
	for (k = 0; k < v->npairs; k++) {
		struct vhost_pair *p = &v->pair[k];

		p->last_avail[0] = r->last_avail && 2 * k < r->nq ? r->last_avail[2 * k] : 0;
		p->last_avail[1] = r->last_avail && 2 * k < r->nq ? r->last_avail[2 * k + 1] : 0;
		__atomic_store_n(&p->err_logged, false, __ATOMIC_RELAXED);
	}
	/*
	 * The offloads the guest accepted bound what the tap may hand vhost
	 * (tun.c set_offload() is per device: pair 0's fd is always attached).
	 */
	ret = VIOC(v, 0, v->pair[0].tap_fd, TUNSETOFFLOAD, (void *)(uintptr_t)flags);
	if (ret)
		goto err;
	v->started = true;
	for (k = 0; k < v->npairs; k++) {
		if (k < r->pairs)
			ret = pair_start(v, k);
		else
			ret = tap_queue(v, k, false); /* no flow may land where nobody reads */
		if (ret)
			goto err;
	}
	v->active = r->pairs;
	return 0;
err:
	stop_rings_locked(v, NULL, 0);
	return ret;
}

static int vhost_start_rings(struct net_backend *be, const struct net_backend_rings *r)
{
	struct vhost_be *v = to_vhost(be);
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = start_rings_locked(v, r);
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static int set_queue_pairs_locked(struct vhost_be *v, unsigned int pairs)
{
	uint64_t hva[2][3];
	unsigned int k;
	int ret;

	if (!v->started || !pairs || 2 * pairs > v->nq)
		return -EINVAL;
	for (k = v->active; k < pairs; k++) {
		ret = check_pair(v, v->mem, k, hva);
		if (ret)
			return ret;
	}
	/* Stop first: a pair going away takes its tap queue out of the flow spread. */
	for (k = pairs; k < v->active; k++) {
		pair_stop(v, k);
		tap_queue(v, k, false);
	}
	for (k = v->active; k < pairs; k++) {
		/* Resumes where the pair stopped (its rings were not reset). */
		ret = pair_start(v, k);
		if (ret) {
			for (; k > v->active; k--) {
				pair_stop(v, k - 1);
				tap_queue(v, k - 1, false);
			}
			v->active = v->active < pairs ? v->active : pairs;
			return ret;
		}
	}
	v->active = pairs;
	return 0;
}

static int vhost_set_queue_pairs(struct net_backend *be, unsigned int pairs)
{
	struct vhost_be *v = to_vhost(be);
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = set_queue_pairs_locked(v, pairs);
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static bool pair_running(const struct vhost_pair *p)
{
	return p->attached[0] || p->attached[1];
}

/*
 * Switch running pair k to v->logging: the base (checked against by the
 * rest), LOG_ALL (received frames, vhost_log_write()), each ring's
 * VHOST_VRING_F_LOG (used-ring writes, log_used()); off, the base last.
 */
static int pair_set_log(struct vhost_be *v, unsigned int k)
{
	struct vhost_pair *p = &v->pair[k];
	uint64_t feat = acked_features(v), base = (uintptr_t)v->log, hva[2][3];
	unsigned int i;
	int ret;

	ret = check_pair(v, v->mem, k, hva);
	if (ret)
		return ret;
	if (v->logging) {
		ret = VIOC(v, k, p->vfd, VHOST_SET_LOG_BASE, &base);
		if (ret)
			return ret;
	}
	ret = VIOC(v, k, p->vfd, VHOST_SET_FEATURES, &feat);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++) {
		const struct virtio_queue_info *q = &v->q[2 * k + i];
		struct vhost_vring_addr a = {
			.index = i,
			.flags = v->logging ? 1u << VHOST_VRING_F_LOG : 0,
			.desc_user_addr = hva[i][0],
			.avail_user_addr = hva[i][1],
			.used_user_addr = hva[i][2],
			.log_guest_addr = q->used,
		};

		ret = VIOC(v, k, p->vfd, VHOST_SET_VRING_ADDR, &a);
		if (ret)
			return ret;
	}
	if (!v->logging) {
		base = 0;
		ret = VIOC(v, k, p->vfd, VHOST_SET_LOG_BASE, &base);
	}
	return ret;
}

/*
 * Logging off on every running pair. A pair the kernel would not switch
 * off is stopped instead (SET_BACKEND -1 flushes its worker), because the
 * caller frees the bitmap next; the device then fails and the driver's
 * reset starts it again without the log.
 */
static void log_off_all(struct vhost_be *v)
{
	uint64_t one = 1;
	unsigned int k;

	v->logging = false;
	for (k = 0; k < v->npairs; k++) {
		if (!pair_running(&v->pair[k]) || !pair_set_log(v, k))
			continue;
		pr_err("net %s: vhost-net pair %u: cannot stop dirty logging: pair stopped",
		       v->ifname, k);
		pair_stop(v, k);
		/*
		 * The error watcher fails the device from its own thread: the
		 * callback must not run here, under virtio-net's lock.
		 */
		if (write(v->pair[k].err_fd, &one, sizeof(one)) < 0)
			pr_err("net %s: vhost-net pair %u: cannot report it: %m", v->ifname, k);
	}
	v->log = NULL;
	v->log_bytes = 0;
}

static int vhost_log_start(struct net_backend *be, uint64_t *bitmap, size_t bytes)
{
	struct vhost_be *v = to_vhost(be);
	unsigned int k;
	int ret = 0;

	if (!(v->vhost_features & VHOST_BIT(VHOST_F_LOG_ALL))) {
		pr_err("net %s: vhost-net: the kernel offers no VHOST_F_LOG_ALL", v->ifname);
		return -EOPNOTSUPP;
	}
	if (!bitmap)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	/* Not started yet: start_rings() checks the RAM it is given. */
	if (v->mem && !log_fits(v, v->mem, bytes)) {
		ret = -EINVAL;
		goto out;
	}
	if (v->logging)
		log_off_all(v);
	v->log = bitmap;
	v->log_bytes = bytes;
	v->logging = true;
	for (k = 0; k < v->npairs; k++) {
		if (!pair_running(&v->pair[k]))
			continue; /* pair_start() logs it when it runs */
		ret = pair_set_log(v, k);
		if (ret) {
			log_off_all(v);
			break;
		}
	}
out:
	pthread_mutex_unlock(&v->lock);
	return ret;
}

static void vhost_log_stop(struct net_backend *be)
{
	struct vhost_be *v = to_vhost(be);

	pthread_mutex_lock(&v->lock);
	if (v->logging)
		log_off_all(v);
	pthread_mutex_unlock(&v->lock);
}

static uint32_t vhost_caps(struct net_backend *be)
{
	return to_vhost(be)->caps;
}

static unsigned int vhost_max_queue_pairs(struct net_backend *be)
{
	return to_vhost(be)->npairs;
}

static uint64_t vhost_ring_features(struct net_backend *be)
{
	return to_vhost(be)->vhost_features & VHOST_RING_BITS;
}

const struct net_backend_ops net_vhost_ops = {
	.name = "vhost-net",
	.mode = NET_BACKEND_RINGS,
	.destroy = net_vhost_destroy,
	.caps = vhost_caps,
	.max_queue_pairs = vhost_max_queue_pairs,
	.start_rings = vhost_start_rings,
	.stop_rings = net_vhost_stop_rings,
	.ring_features = vhost_ring_features,
	.set_queue_pairs = vhost_set_queue_pairs,
	.log_start = vhost_log_start,
	.log_stop = vhost_log_stop,
	.announce = net_vhost_announce,
	.link_check = net_vhost_link_check,
	.host_name = net_vhost_host_name,
};
