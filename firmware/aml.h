/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small AML byte-code writer (ACPI 6.4 chapter 20) for the DSDT, and
 * resource descriptors (ACPI 6.4 section 6.4) for _CRS buffers.
 *
 * Everything appends to one caller-supplied buffer. Objects that carry a
 * PkgLength (Scope, Device, Method, Package, Buffer) are opened with an
 * aml_*_begin() call and closed with aml_end(): the body is written first
 * and the PkgLength (1 to 4 bytes) is inserted in front of it when its size
 * is known. Errors are sticky: the first one (-ENOSPC, -EINVAL, -E2BIG) is
 * kept in a->err and every later call does nothing, so a table is built
 * without checking each step and checked once at the end.
 */
#ifndef KVMINI_FIRMWARE_AML_H
#define KVMINI_FIRMWARE_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err;
};

/* An open object: where its body starts and whether it is a Buffer. */
struct aml_pkg {
	size_t start;
	bool buffer;
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);

/*
 * PkgLength for a body of body_len bytes (ACPI 6.4 section 20.2.4): the
 * encoded value counts the PkgLength bytes themselves. Writes 1 to 4 bytes
 * to out and returns how many, or -E2BIG past 2^28 - 1.
 */
int aml_pkglength_encode(uint8_t out[4], size_t body_len);

void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/*
 * NameString: "\\_SB.PCI0", "^FOO", "_S5". Segments shorter than four
 * characters are padded with '_'. Invalid characters set -EINVAL.
 */
void aml_name_string(struct aml *a, const char *path);

/* Integer in the shortest encoding: ZeroOp, OneOp, Byte/Word/DWord/QWord const. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0A03"): the compressed 32-bit EISA ID as a DWordConst. */
void aml_eisaid(struct aml *a, const char *id);
/* Buffer holding exactly n bytes. */
void aml_buffer(struct aml *a, const void *p, size_t n);

/* NameOp and the name; the caller writes the object next. */
void aml_name(struct aml *a, const char *name);
/* Shorthands: Name (name, Integer), Name (name, EISAID (id)), Name (name, "str"). */
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);
void aml_name_str(struct aml *a, const char *name, const char *s);

/* ReturnOp; the caller writes the operand next. */
void aml_return(struct aml *a);

struct aml_pkg aml_scope_begin(struct aml *a, const char *path);
struct aml_pkg aml_device_begin(struct aml *a, const char *path);
struct aml_pkg aml_method_begin(struct aml *a, const char *path, unsigned int nargs,
				bool serialized);
/* Package of nelem (at most 255) elements; the caller writes them next. */
struct aml_pkg aml_package_begin(struct aml *a, unsigned int nelem);
/* Buffer whose contents follow; aml_end() prefixes the BufferSize. */
struct aml_pkg aml_buffer_begin(struct aml *a);
void aml_end(struct aml *a, struct aml_pkg pkg);

/*
 * Resource templates: a Buffer of descriptors closed by an EndTag.
 * aml_restemplate_end() writes the EndTag and closes the Buffer.
 */
struct aml_pkg aml_restemplate_begin(struct aml *a);
void aml_restemplate_end(struct aml *a, struct aml_pkg pkg);

/* Resource descriptors, ACPI 6.4 section 6.4.2 (small) and 6.4.3 (large). */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_res_irq_noflags(struct aml *a, uint16_t mask);

/* Address space descriptors, general flags (ACPI 6.4 section 6.4.3.5, byte 4). */
#define AML_ADDR_CONSUMER (1 << 0)	/* else ResourceProducer */
#define AML_ADDR_SUB_DECODE (1 << 1)	/* else PosDecode */
#define AML_ADDR_MIN_FIXED (1 << 2)
#define AML_ADDR_MAX_FIXED (1 << 3)
#define AML_ADDR_FIXED (AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED)
/* Type-specific flags (ACPI 6.4 section 6.4.3.5.5). */
#define AML_IO_ENTIRE_RANGE 0x03
#define AML_MEM_READ_WRITE (1 << 0)
#define AML_MEM_NON_CACHEABLE (0 << 1)
#define AML_MEM_CACHEABLE (1 << 1)

/* Fixed-size windows: min and max are inclusive, length = max - min + 1. */
void aml_res_word_bus(struct aml *a, uint8_t flags, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint8_t flags, uint8_t io_flags, uint16_t min,
		     uint16_t max);
void aml_res_dword_mem(struct aml *a, uint8_t flags, uint8_t mem_flags, uint32_t min,
		       uint32_t max);
void aml_res_qword_mem(struct aml *a, uint8_t flags, uint8_t mem_flags, uint64_t min,
		       uint64_t max);
void aml_res_end_tag(struct aml *a);

#endif
