// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-model: how the log spells an ioctl. Arguments are read with
 * vm_copy_from_user() so a bad pointer is logged as "{?}" instead of
 * crashing the caller: the model itself returns EFAULT for it, as
 * copy_from_user() would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/vhost-model/ioctl_names.h"
#include "tests/vhost-model/vhost_model.h"

#define N(x) { x, #x }
static const struct {
	unsigned long req;
	const char *name;
} names[] = {
	N(VHOST_GET_FEATURES), N(VHOST_SET_FEATURES), N(VHOST_SET_OWNER),
	N(VHOST_RESET_OWNER), N(VHOST_SET_MEM_TABLE), N(VHOST_SET_LOG_BASE),
	N(VHOST_SET_LOG_FD), N(VHOST_SET_VRING_NUM), N(VHOST_SET_VRING_ADDR),
	N(VHOST_SET_VRING_BASE), N(VHOST_GET_VRING_BASE), N(VHOST_SET_VRING_ENDIAN),
	N(VHOST_GET_VRING_ENDIAN), N(VHOST_SET_VRING_KICK), N(VHOST_SET_VRING_CALL),
	N(VHOST_SET_VRING_ERR), N(VHOST_SET_VRING_BUSYLOOP_TIMEOUT),
	N(VHOST_GET_VRING_BUSYLOOP_TIMEOUT), N(VHOST_SET_BACKEND_FEATURES),
	N(VHOST_GET_BACKEND_FEATURES), N(VHOST_NET_SET_BACKEND),
};

static const struct {
	int e;
	const char *name;
} errnos[] = {
	N(EPERM), N(ENOENT), N(EIO), N(EBADF), N(EAGAIN), N(ENOMEM), N(EFAULT),
	N(EBUSY), N(ENODEV), N(EINVAL), N(EMFILE), N(ENOTTY), N(ENOSPC), N(E2BIG),
	N(ENOTSOCK), N(EOPNOTSUPP), N(ENOBUFS), N(EBADFD), N(EACCES), N(EEXIST),
};
#undef N

const char *vm_ioctl_name(unsigned long req)
{
	static __thread char buf[32];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].req == req)
			return names[i].name;
	snprintf(buf, sizeof(buf), "0x%lx", req);
	return buf;
}

const char *vm_errno_name(int e)
{
	static __thread char buf[16];
	size_t i;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].e == e)
			return errnos[i].name;
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

int vm_errno_parse(const char *s)
{
	size_t i;
	int e;

	for (i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (!strcmp(errnos[i].name, s))
			return errnos[i].e;
	e = atoi(s);
	return e > 0 ? e : EIO;
}

/*
 * Input arguments are logged before the call ("before"), the values a GET
 * ioctl returns after it. Output is "{field=value,...}".
 */
void vm_ioctl_format(unsigned long req, const void *arg, bool after, char *buf, size_t len)
{
	uint64_t u = (uint64_t)(uintptr_t)arg;
	struct vhost_vring_state s;
	struct vhost_vring_file f;
	struct vhost_vring_addr a;
	struct vhost_memory m;
	uint64_t v;
	int i;

	buf[0] = 0;
	switch (req) {
	case VHOST_GET_FEATURES:
	case VHOST_GET_BACKEND_FEATURES:
		if (after && !vm_copy_from_user(&v, u, sizeof(v)))
			snprintf(buf, len, "{features=0x%llx}", (unsigned long long)v);
		return;
	case VHOST_SET_FEATURES:
	case VHOST_SET_BACKEND_FEATURES:
	case VHOST_SET_LOG_BASE:
		if (after)
			return;
		if (vm_copy_from_user(&v, u, sizeof(v)))
			snprintf(buf, len, "{?}");
		else
			snprintf(buf, len, "{%s=0x%llx}", req == VHOST_SET_LOG_BASE ?
				 "log_base" : "features", (unsigned long long)v);
		return;
	case VHOST_SET_LOG_FD:
		if (after)
			return;
		if (vm_copy_from_user(&i, u, sizeof(i)))
			snprintf(buf, len, "{?}");
		else
			snprintf(buf, len, "{fd=%d}", i);
		return;
	case VHOST_SET_MEM_TABLE:
		if (after)
			return;
		if (vm_copy_from_user(&m, u, sizeof(m))) {
			snprintf(buf, len, "{?}");
			return;
		}
		i = snprintf(buf, len, "{nregions=%u,padding=%u", m.nregions, m.padding);
		for (unsigned int k = 0; k < m.nregions && k < 4 && i < (int)len; k++) {
			struct vhost_memory_region r;

			if (vm_copy_from_user(&r, u + sizeof(m) + k * sizeof(r), sizeof(r)))
				break;
			i += snprintf(buf + i, len - i, ",[gpa=0x%llx,size=0x%llx,uaddr=0x%llx]",
				      (unsigned long long)r.guest_phys_addr,
				      (unsigned long long)r.memory_size,
				      (unsigned long long)r.userspace_addr);
		}
		if (i < (int)len)
			snprintf(buf + i, len - i, "}");
		return;
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
	case VHOST_GET_VRING_BASE:
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
	case VHOST_SET_VRING_ENDIAN:
	case VHOST_GET_VRING_ENDIAN:
		if (vm_copy_from_user(&s, u, sizeof(s))) {
			if (!after)
				snprintf(buf, len, "{?}");
			return;
		}
		if (after && (req == VHOST_GET_VRING_BASE ||
			      req == VHOST_GET_VRING_BUSYLOOP_TIMEOUT))
			snprintf(buf, len, "{index=%u,num=%u}", s.index, s.num);
		else if (!after && (req == VHOST_GET_VRING_BASE ||
				    req == VHOST_GET_VRING_BUSYLOOP_TIMEOUT))
			snprintf(buf, len, "{index=%u}", s.index);
		else if (!after)
			snprintf(buf, len, "{index=%u,num=%u}", s.index, s.num);
		return;
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
	case VHOST_NET_SET_BACKEND:
		if (after)
			return;
		if (vm_copy_from_user(&f, u, sizeof(f)))
			snprintf(buf, len, "{?}");
		else
			snprintf(buf, len, "{index=%u,fd=%d}", f.index, f.fd);
		return;
	case VHOST_SET_VRING_ADDR:
		if (after)
			return;
		if (vm_copy_from_user(&a, u, sizeof(a)))
			snprintf(buf, len, "{?}");
		else
			snprintf(buf, len, "{index=%u,flags=0x%x,desc=0x%llx,used=0x%llx,"
				 "avail=0x%llx,log=0x%llx}", a.index, a.flags,
				 (unsigned long long)a.desc_user_addr,
				 (unsigned long long)a.used_user_addr,
				 (unsigned long long)a.avail_user_addr,
				 (unsigned long long)a.log_guest_addr);
		return;
	default:
		if (!after)
			snprintf(buf, len, "{arg=0x%llx}", (unsigned long long)u);
	}
}
