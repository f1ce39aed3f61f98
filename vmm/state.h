/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Machine state as a flattened device tree (libfdt), the format snapshots
 * and migration streams carry: one node per vCPU, the irqchip, the PIT, the
 * clock and every device, the guest configuration at the top. dtc reads it
 * (`dtc -I dtb -O dts`), and so does `kvmini state show`.
 *
 * Saving uses libfdt's sequential-write API: whoever owns a node opens it
 * with state_node_begin(), a component adds its properties (and subnodes)
 * with state_put_*(), the owner closes it. Restoring reads properties by name
 * from a node offset with state_get_*(), which fail with -EINVAL and record
 * one line for state_error() when a property is missing or has another size,
 * so a damaged or foreign blob gives a clear error and is never half-applied
 * silently.
 *
 * Integers are big-endian FDT cells (u32, u64). Blobs hold KVM's structs as
 * the kernel defines them (x86_64, little-endian): the source and the
 * destination are both x86_64 Linux hosts.
 */
#ifndef KVMINI_STATE_H
#define KVMINI_STATE_H

#include <stddef.h>
#include <stdint.h>

/* Bumped on any incompatible change of node or property layout. */
#define STATE_VERSION 1

/* Start a blob in buf (size bytes) with its root node open. 0 or -errno. */
int state_begin(void *buf, size_t size);
/* Close the root node and finish the blob; its size is then fdt_totalsize(). */
int state_finish(void *buf);

int state_node_begin(void *fdt, const char *name);
int state_node_end(void *fdt);
int state_put_u32(void *fdt, const char *name, uint32_t v);
int state_put_u64(void *fdt, const char *name, uint64_t v);
int state_put_blob(void *fdt, const char *name, const void *p, size_t len);
int state_put_str(void *fdt, const char *name, const char *s);

/* Check a received blob before any other call: 0, or -EINVAL with state_error() set. */
int state_check(const void *fdt, size_t len);
/* Offset of the subnode name of parent (0 is the root), or -ENOENT with state_error() set. */
int state_node(const void *fdt, int parent, const char *name);
int state_get_u32(const void *fdt, int node, const char *name, uint32_t *v);
int state_get_u64(const void *fdt, int node, const char *name, uint64_t *v);
/* The property must be exactly len bytes. */
int state_get_blob(const void *fdt, int node, const char *name, void *p, size_t len);
/* Any length: the property's bytes and their count, or NULL with state_error() set. */
const void *state_get_var(const void *fdt, int node, const char *name, size_t *len);
/* A NUL-terminated string property, or NULL with state_error() set. */
const char *state_get_str(const void *fdt, int node, const char *name);

/*
 * Record why a restore fails (one line, printf style) and return -EINVAL,
 * for restore code that finds a value it cannot accept:
 *	return state_fail("uart: divisor latch %u out of range", dl);
 */
int state_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Control characters in s become '?': an error line that quotes a peer's
 * bytes stays one line and carries no terminal escape sequences.
 */
void state_printable(char *s);
/* The last failure recorded on this thread ("" when none). */
const char *state_error(void);

#endif
