/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A structure-aware mutator for fuzz targets whose input is a flattened
 * device tree (fuzz_state): fdt_mutate() has LLVMFuzzerCustomMutator()'s
 * signature.
 */
#ifndef KVMINI_FUZZ_FDT_MUTATOR_H
#define KVMINI_FUZZ_FDT_MUTATOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libfdt.h>

#include "vmm/state.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

/*
 * Byte mutations almost always break the tree, and state_check() then
 * stops the input before any reader. Three mutations in four change one
 * property of a tree that holds together instead: its value mutated, set
 * to a boundary value, resized or deleted. The fourth is libFuzzer's own,
 * for state_check() itself.
 */
static uint32_t next_rand(uint32_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 17;
	*r ^= *r << 5;
	return *r;
}

static int pick_property(const void *fdt, uint32_t *r)
{
	int node, prop, n = 0, want;

	fdt_for_each_property_offset(prop, fdt, 0) n++;
	for (node = fdt_next_node(fdt, 0, NULL); node >= 0; node = fdt_next_node(fdt, node, NULL))
		fdt_for_each_property_offset(prop, fdt, node) n++;
	if (!n)
		return -1;
	want = (int)(next_rand(r) % (uint32_t)n);
	for (node = 0; node >= 0; node = fdt_next_node(fdt, node, NULL))
		fdt_for_each_property_offset(prop, fdt, node) if (!want--) return prop;
	return -1;
}

static bool mutate_property(void *fdt, uint32_t r)
{
	static const uint32_t edges[] = {0,	  1,	      2,	  0x7f,
					 0x80,	  0xff,	      0x100,	  0xffff,
					 0x10000, 0x7fffffff, 0x80000000, 0xffffffff};
	uint8_t val[4096 + 64];
	const char *name;
	const void *p;
	int prop, len, node;
	char pname[64];

	prop = pick_property(fdt, &r);
	if (prop < 0 || !(p = fdt_getprop_by_offset(fdt, prop, &name, &len)) || len > 4096 ||
	    strlen(name) >= sizeof(pname))
		return false;
	strcpy(pname, name);
	/* The node holding the property: the last node that starts before it. */
	for (node = 0;
	     fdt_next_node(fdt, node, NULL) >= 0 && fdt_next_node(fdt, node, NULL) < prop;)
		node = fdt_next_node(fdt, node, NULL);
	memcpy(val, p, len);
	switch (next_rand(&r) % 5) {
	case 0:
		len = (int)LLVMFuzzerMutate(val, len, len + 64);
		break;
	case 1:
	case 2: {
		uint32_t e = edges[next_rand(&r) % (sizeof(edges) / sizeof(edges[0]))];
		fdt32_t be = cpu_to_fdt32(e);

		if (len >= 4)
			memcpy(val + (len == 8 ? 4 : 0), &be, 4);
		break;
	}
	case 3:
		len = (int)(next_rand(&r) % (len + 9));
		break;
	default:
		return !fdt_delprop(fdt, node, pname);
	}
	return !fdt_setprop(fdt, node, pname, val, len);
}

static size_t fdt_mutate(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	uint32_t r = seed | 1;
	void *fdt;
	size_t out;

	if (!(seed % 4) || size < sizeof(struct fdt_header) || max < size)
		return LLVMFuzzerMutate(data, size, max);
	fdt = malloc(max + 4096);
	if (!fdt)
		return LLVMFuzzerMutate(data, size, max);
	memcpy(fdt, data, size);
	/*
	 * state_check(), not fdt_check_full() alone: libfdt 1.6.1's
	 * fdt_check_full() dereferences NULL on old-version trees (vmm/state.c).
	 */
	if (state_check(fdt, size) || fdt_open_into(fdt, fdt, (int)max + 4096) ||
	    !mutate_property(fdt, r) || fdt_pack(fdt) || fdt_totalsize(fdt) > max) {
		free(fdt);
		return LLVMFuzzerMutate(data, size, max);
	}
	out = fdt_totalsize(fdt);
	memcpy(data, fdt, out);
	free(fdt);
	return out;
}

#endif
