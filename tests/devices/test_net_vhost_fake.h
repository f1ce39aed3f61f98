/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fake /dev/vhost-net for the vhost backend's tests (test_net_vhost*.c):
 * the system call table of net_vhost is replaced by one that records every
 * ioctl and keeps the state the kernel keeps (owner, features, memory
 * table, per vq num/base/addr/kick/call/backend), refusing what
 * drivers/vhost/vhost.c and net.c refuse and counting ordering violations.
 * The tap fds are eventfds (the fake answers the tap ioctls). The dirty
 * log is checked as vhost.c would need it: a vq may only log (LOG_ALL, or
 * VHOST_VRING_F_LOG) while attached once SET_LOG_BASE gave it a bitmap, and
 * its log_guest_addr must be guest RAM. Included by
 * each test file: every test binary is one translation unit.
 */
#ifndef KVMINI_TEST_NET_VHOST_FAKE_H
#define KVMINI_TEST_NET_VHOST_FAKE_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/net_backend.h"
#include "devices/net_tap.h"
#include "devices/net_vhost.h"
#include "devices/virtio_net.h"
#include "devices/virtq.h"
#include "vmm/memory.h"

#define BIT(n) (1ULL << (n))
#define MEM (2 << 20)
#define QSZ 16
#define NQMAX 5
#define FAKE_FD 900
#define MAX_REC 1024
#define CTRL_BUF 0x100000

/* What the 6.1 kernel offers (net.c VHOST_NET_FEATURES). */
#define KERNEL_FEATURES                                                                            \
	(BIT(24) | BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_F_EVENT_IDX) | BIT(26) | BIT(27) |     \
	 BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(33))

struct rec {
	int fd;
	unsigned long req;
	unsigned int index;
	unsigned int num; /* state.num, or file.fd */
	uint64_t u64;	  /* features, log base, or a ring's log_guest_addr */
	uint32_t flags;	  /* SET_VRING_ADDR */
};

struct fvq {
	bool num, base, addr, kick, call;
	int kick_fd, call_fd, err_fd;
	unsigned int base_val;
	bool attached;
	bool log; /* VHOST_VRING_F_LOG */
	uint64_t log_addr;
};

struct fdev {
	bool owner, features, memtab;
	uint64_t feat;
	uint64_t log_base;
	struct fvq vq[2];
};

static struct rec recs[MAX_REC];
static int nrec;
static struct fdev devs[16];
static int nopen, nclosed;
static int open_errno;
static unsigned long fail_req;
static int fail_errno;
static bool fail_once; /* fail_req fails only the next time */
static uint64_t offered = KERNEL_FEATURES;
static unsigned int progress; /* the "worker" moves each ring by this while attached */
static int violations;
static char violation[256];

static struct guest_memory mem;
static struct virtio_queue_info qi[NQMAX];
static int tapfd[4];
static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x01, 0x02, 0x03};

static void violate(const char *what)
{
	violations++;
	snprintf(violation, sizeof(violation), "%s", what);
}

static int fake_open(const char *path, int flags)
{
	cr_assert_str_eq(path, "/dev/vhost-net");
	cr_assert(flags & O_RDWR);
	if (open_errno) {
		errno = open_errno;
		return -1;
	}
	memset(&devs[nopen], 0, sizeof(devs[nopen]));
	return FAKE_FD + nopen++;
}

static int fake_close(int fd)
{
	cr_assert_geq(fd, FAKE_FD);
	nclosed++;
	return 0;
}

static bool in_ram(uint64_t hva, uint64_t len)
{
	uint64_t base = (uintptr_t)mem.region[0].hva;

	return hva >= base && hva + len <= base + mem.region[0].size;
}

/* A vq that logs now: the kernel dereferences log_base for its writes. */
static void check_log(const struct fdev *d, const struct fvq *vq)
{
	if (vq->attached && (vq->log || d->feat & BIT(VHOST_F_LOG_ALL)) && !d->log_base)
		violate("a running vq logs without SET_LOG_BASE");
	if (vq->log && vq->log_addr + 6 + 8 * QSZ > MEM)
		violate("log_guest_addr outside guest RAM");
}

static int vring_ioctl(struct fdev *d, struct fvq *vq, unsigned long req, void *arg)
{
	struct vhost_vring_state *s = arg;
	struct vhost_vring_file *f = arg;
	struct vhost_vring_addr *a = arg;

	switch (req) {
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
		if (vq->attached) {
			violate("NUM/BASE while a backend is attached");
			return -EBUSY;
		}
		if (req == VHOST_SET_VRING_NUM) {
			vq->num = s->num && !(s->num & (s->num - 1));
			return vq->num ? 0 : -EINVAL;
		}
		vq->base = true;
		vq->base_val = s->num;
		return s->num > 0xffff ? -EINVAL : 0;
	case VHOST_GET_VRING_BASE:
		s->num = vq->base_val;
		return 0;
	case VHOST_SET_VRING_ADDR:
		if (a->flags & ~(1u << VHOST_VRING_F_LOG))
			return -EOPNOTSUPP;
		if (a->avail_user_addr & 1 || a->used_user_addr & 3 || a->log_guest_addr & 3)
			return -EINVAL;
		vq->log = a->flags & (1u << VHOST_VRING_F_LOG);
		vq->log_addr = a->log_guest_addr;
		check_log(d, vq);
		if (!in_ram(a->desc_user_addr, 16 * QSZ) ||
		    !in_ram(a->avail_user_addr, 6 + 2 * QSZ) ||
		    !in_ram(a->used_user_addr, 6 + 8 * QSZ))
			violate("ring address outside guest RAM reached the kernel");
		vq->addr = true;
		return 0;
	case VHOST_SET_VRING_KICK:
		vq->kick = true;
		vq->kick_fd = f->fd;
		return 0;
	case VHOST_SET_VRING_CALL:
		vq->call = true;
		vq->call_fd = f->fd;
		return 0;
	case VHOST_SET_VRING_ERR:
		vq->err_fd = f->fd;
		return 0;
	}
	return -ENOTTY;
}

static int set_backend(struct fdev *d, struct vhost_vring_file *f)
{
	struct fvq *vq = &d->vq[f->index];

	/* vhost_vq_access_ok() needs a memory table even to detach. */
	if (!d->memtab)
		return -EFAULT;
	if (f->fd == -1) {
		if (vq->attached)
			vq->base_val += progress;
		vq->attached = false;
		return 0;
	}
	if (!d->features || !vq->num || !vq->base || !vq->addr || !vq->kick || !vq->call)
		violate("SET_BACKEND before the vq or the device was set up");
	vq->attached = true;
	check_log(d, vq);
	return 0;
}

static int fake_dev_ioctl(struct fdev *d, unsigned long req, void *arg)
{
	struct vhost_vring_state *s = arg;

	if (req == VHOST_SET_OWNER) {
		if (d->owner)
			return -EBUSY;
		d->owner = true;
		return 0;
	}
	if (!d->owner) {
		violate("ioctl before VHOST_SET_OWNER");
		return -EPERM;
	}
	switch (req) {
	case VHOST_GET_FEATURES:
		*(uint64_t *)arg = offered;
		return 0;
	case VHOST_SET_FEATURES:
		if (*(uint64_t *)arg & ~offered)
			return -EOPNOTSUPP;
		d->features = true;
		d->feat = *(uint64_t *)arg;
		check_log(d, &d->vq[0]);
		check_log(d, &d->vq[1]);
		return 0;
	case VHOST_SET_LOG_BASE:
		d->log_base = *(uint64_t *)arg;
		return 0;
	case VHOST_SET_MEM_TABLE: {
		struct vhost_memory *m = arg;

		cr_assert_eq(m->nregions, mem.nr_regions);
		cr_assert_eq(m->regions[0].guest_phys_addr, mem.region[0].gpa);
		cr_assert_eq(m->regions[0].memory_size, mem.region[0].size);
		cr_assert_eq(m->regions[0].userspace_addr, (uintptr_t)mem.region[0].hva);
		d->memtab = true;
		return 0;
	}
	case VHOST_NET_SET_BACKEND:
		if (s->index > 1)
			return -ENOBUFS;
		return set_backend(d, arg);
	case VHOST_RESET_OWNER:
		violate("VHOST_RESET_OWNER");
		return 0;
	}
	if (s->index > 1)
		return -ENOBUFS;
	return vring_ioctl(d, &d->vq[s->index], req, arg);
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct rec *r = &recs[nrec < MAX_REC ? nrec++ : MAX_REC - 1];
	int ret;

	*r = (struct rec){.fd = fd, .req = req};
	if (fd >= FAKE_FD && arg && req != VHOST_SET_MEM_TABLE && req != VHOST_SET_FEATURES &&
	    req != VHOST_GET_FEATURES && req != VHOST_SET_LOG_BASE) {
		r->index = ((struct vhost_vring_state *)arg)->index;
		r->num = ((struct vhost_vring_state *)arg)->num;
	}
	if (req == VHOST_SET_FEATURES || req == VHOST_SET_LOG_BASE)
		r->u64 = *(uint64_t *)arg;
	if (req == VHOST_SET_VRING_ADDR) {
		r->flags = ((struct vhost_vring_addr *)arg)->flags;
		r->u64 = ((struct vhost_vring_addr *)arg)->log_guest_addr;
	}
	if (req == TUNSETOFFLOAD)
		r->u64 = (uintptr_t)arg;
	if (req == TUNSETQUEUE)
		r->num = ((struct ifreq *)arg)->ifr_flags;
	if (req == fail_req) {
		if (fail_once)
			fail_req = 0;
		errno = fail_errno;
		return -1;
	}
	if (fd < FAKE_FD) /* a tap fd */
		return 0;
	cr_assert_lt(fd - FAKE_FD, nopen);
	ret = fake_dev_ioctl(&devs[fd - FAKE_FD], req, arg);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return ret;
}

static const struct net_vhost_sys fake_sys = {
	.open = fake_open,
	.ioctl = fake_ioctl,
	.close = fake_close,
};

static void setup(void)
{
	cr_assert_eq(guest_memory_init(&mem, MEM, false), 0);
	for (int q = 0; q < NQMAX; q++) {
		uint64_t base = 0x10000ULL * (q + 1);

		qi[q] = (struct virtio_queue_info){.size = QSZ, .enabled = true, .desc = base,
						   .avail = base + 0x1000, .used = base + 0x2000};
		qi[q].kick_fd = eventfd(0, EFD_NONBLOCK);
		qi[q].call_fd = eventfd(0, EFD_NONBLOCK);
	}
	nrec = nopen = nclosed = violations = 0;
	open_errno = fail_errno = 0;
	fail_req = 0;
	fail_once = false;
	progress = 0;
	offered = KERNEL_FEATURES;
	net_vhost_set_sys(&fake_sys);
}

static void teardown(void)
{
	for (int q = 0; q < NQMAX; q++) {
		close(qi[q].kick_fd);
		close(qi[q].call_fd);
	}
	net_vhost_set_sys(NULL);
	guest_memory_free(&mem);
}

static const uint32_t tap_caps = NET_CAP_VNET_HDR | NET_CAP_CSUM | NET_CAP_TSO4 | NET_CAP_TSO6 |
				 NET_CAP_GUEST_CSUM | NET_CAP_GUEST_TSO4;

static struct net_backend *open_vhost(unsigned int pairs)
{
	struct net_backend *be = NULL;
	char err[256] = "";

	for (unsigned int k = 0; k < pairs; k++)
		tapfd[k] = eventfd(0, 0);
	cr_assert_eq(net_vhost_open(tapfd, pairs, tap_caps, "tapt0", &be, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert(net_vhost_is(be));
	return be;
}

static __attribute__((unused)) struct net_backend_rings
rings(unsigned int nq, unsigned int pairs, const uint16_t *last)
{
	return (struct net_backend_rings){
		.mem = &mem,
		.features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) |
			    BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_MAC) |
			    BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM),
		.offloads = NET_OFFLOAD_CSUM,
		.q = qi,
		.nq = nq,
		.pairs = pairs,
		.last_avail = last,
	};
}

/* Index of the first record of req on fd at or after from (fd -1: any), or -1. */
static int find(int from, int fd, unsigned long req, int index)
{
	for (int i = from; i < nrec; i++)
		if ((fd < 0 || recs[i].fd == fd) && recs[i].req == req &&
		    (index < 0 || recs[i].index == (unsigned int)index))
			return i;
	return -1;
}

static __attribute__((unused)) int count(int fd, unsigned long req)
{
	int n = 0;

	for (int i = 0; i < nrec; i++)
		n += recs[i].fd == fd && recs[i].req == req;
	return n;
}

/* Every SET_BACKEND with a tap fd came after what the kernel needs before it. */
static void check_attach_order(int fd)
{
	static const unsigned long per_vq[] = {VHOST_SET_VRING_NUM, VHOST_SET_VRING_BASE,
					       VHOST_SET_VRING_ADDR, VHOST_SET_VRING_KICK,
					       VHOST_SET_VRING_CALL};

	for (int i = 0; i < nrec; i++) {
		int f, m;

		if (recs[i].fd != fd || recs[i].req != VHOST_NET_SET_BACKEND ||
		    (int)recs[i].num < 0)
			continue;
		f = find(0, fd, VHOST_SET_FEATURES, -1);
		m = find(0, fd, VHOST_SET_MEM_TABLE, -1);

		cr_assert(f >= 0 && f < i, "SET_FEATURES before SET_BACKEND");
		cr_assert(m >= 0 && m < i, "SET_MEM_TABLE before SET_BACKEND");
		for (size_t j = 0; j < sizeof(per_vq) / sizeof(per_vq[0]); j++) {
			int at = find(0, fd, per_vq[j], recs[i].index);

			cr_assert(at >= 0 && at < i, "vq %u: ioctl %#lx before its SET_BACKEND",
				  recs[i].index, per_vq[j]);
		}
	}
}
#endif
