// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <libfdt.h>

#include "state.h"

static __thread char last_error[256];

int state_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	/*
	 * Node names and strings come from the peer and may hold any byte but
	 * NUL (fuzz_state found a node name with a newline).
	 */
	state_printable(last_error);
	return -EINVAL;
}

void state_printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

const char *state_error(void)
{
	return last_error;
}

/* Sequential-write errors: only running out of room is expected. */
static int fdt_errno(int err)
{
	if (err >= 0)
		return 0;
	return err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
}

int state_begin(void *buf, size_t size)
{
	int ret;

	if (size > INT32_MAX)
		return -EINVAL;
	ret = fdt_create(buf, (int)size);
	if (!ret)
		ret = fdt_finish_reservemap(buf);
	if (!ret)
		ret = fdt_begin_node(buf, "");
	return fdt_errno(ret);
}

int state_finish(void *buf)
{
	int ret = fdt_end_node(buf);

	if (!ret)
		ret = fdt_finish(buf);
	return fdt_errno(ret);
}

int state_node_begin(void *fdt, const char *name)
{
	return fdt_errno(fdt_begin_node(fdt, name));
}

int state_node_end(void *fdt)
{
	return fdt_errno(fdt_end_node(fdt));
}

int state_put_u32(void *fdt, const char *name, uint32_t v)
{
	return fdt_errno(fdt_property_u32(fdt, name, v));
}

int state_put_u64(void *fdt, const char *name, uint64_t v)
{
	return fdt_errno(fdt_property_u64(fdt, name, v));
}

int state_put_blob(void *fdt, const char *name, const void *p, size_t len)
{
	if (len > INT32_MAX)
		return -EINVAL;
	return fdt_errno(fdt_property(fdt, name, p, (int)len));
}

int state_put_str(void *fdt, const char *name, const char *s)
{
	return fdt_errno(fdt_property_string(fdt, name, s));
}

int state_check(const void *fdt, size_t len)
{
	int ret;

	if (len < sizeof(struct fdt_header))
		return state_fail("state: %zu bytes is too short for a device tree", len);
	if (fdt_totalsize(fdt) != len)
		return state_fail("state: device tree says %u bytes, %zu arrived",
				  fdt_totalsize(fdt), len);
	/*
	 * kvmini writes version 17 (libfdt's sequential writer). An older
	 * version is refused before fdt_check_full(): for versions below 16,
	 * libfdt 1.6.1's fdt_get_name() returns NULL on a root name without a
	 * '/', and fdt_check_full() dereferences that NULL (fuzz_state found it).
	 */
	if (fdt_version(fdt) != FDT_LAST_SUPPORTED_VERSION)
		return state_fail("state: device tree version %u, kvmini reads only %u",
				  fdt_version(fdt), FDT_LAST_SUPPORTED_VERSION);
	/* Walks every tag and string offset: after this, reads stay inside the blob. */
	ret = fdt_check_full(fdt, len);
	if (ret)
		return state_fail("state: damaged device tree: %s", fdt_strerror(ret));
	return 0;
}

int state_node(const void *fdt, int parent, const char *name)
{
	int off = fdt_subnode_offset(fdt, parent, name);

	if (off < 0) {
		state_fail("state: no node '%s'", name);
		return -ENOENT;
	}
	return off;
}

const void *state_get_var(const void *fdt, int node, const char *name, size_t *len)
{
	int l;
	const void *p = fdt_getprop(fdt, node, name, &l);

	if (!p) {
		state_fail("state: %s has no property '%s'", fdt_get_name(fdt, node, NULL), name);
		return NULL;
	}
	*len = (size_t)l;
	return p;
}

int state_get_blob(const void *fdt, int node, const char *name, void *out, size_t len)
{
	size_t l;
	const void *p = state_get_var(fdt, node, name, &l);

	if (!p)
		return -EINVAL;
	if (l != len)
		return state_fail("state: %s/%s is %zu bytes, expected %zu",
				  fdt_get_name(fdt, node, NULL), name, l, len);
	memcpy(out, p, len);
	return 0;
}

int state_get_u32(const void *fdt, int node, const char *name, uint32_t *v)
{
	fdt32_t be;
	int ret = state_get_blob(fdt, node, name, &be, sizeof(be));

	if (!ret)
		*v = fdt32_to_cpu(be);
	return ret;
}

int state_get_u64(const void *fdt, int node, const char *name, uint64_t *v)
{
	fdt64_t be;
	int ret = state_get_blob(fdt, node, name, &be, sizeof(be));

	if (!ret)
		*v = fdt64_to_cpu(be);
	return ret;
}

const char *state_get_str(const void *fdt, int node, const char *name)
{
	size_t l;
	const char *p = state_get_var(fdt, node, name, &l);

	if (!p)
		return NULL;
	if (!l || p[l - 1] != '\0' || strlen(p) != l - 1) {
		state_fail("state: %s/%s is not a string", fdt_get_name(fdt, node, NULL), name);
		return NULL;
	}
	return p;
}
