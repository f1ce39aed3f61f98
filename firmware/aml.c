// SPDX-License-Identifier: GPL-2.0
/*
 * AML writer. Encodings are from ACPI 6.4 chapter 20 (AML grammar) and
 * section 6.4 (resource data types).
 */
#include <errno.h>
#include <string.h>

#include "firmware/aml.h"

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82	/* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR '\\'
#define AML_PARENT_PREFIX_CHAR '^'
#define AML_RETURN_OP 0xa4

/* Resource descriptor tags: small items are 0b0nnnnlll, large items 0x80 | n. */
#define RES_IRQ_NOFLAGS 0x22	/* IRQ, length 2 (no information byte) */
#define RES_IO 0x47		/* I/O port, length 7 */
#define RES_END_TAG 0x79	/* End tag, length 1 */
#define RES_DWORD_ADDR 0x87
#define RES_WORD_ADDR 0x88
#define RES_QWORD_ADDR 0x8a

#define RES_TYPE_MEM 0
#define RES_TYPE_IO 1
#define RES_TYPE_BUS 2

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->len = 0;
	a->cap = cap;
	a->err = 0;
}

static void set_err(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err || !n)
		return;
	if (n > a->cap - a->len) {
		set_err(a, -ENOSPC);
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void put_le(struct aml *a, uint64_t v, unsigned int bytes)
{
	uint8_t b[8];
	unsigned int i;

	for (i = 0; i < bytes; i++)
		b[i] = v >> (8 * i);
	aml_bytes(a, b, bytes);
}

/* Insert n bytes at pos, moving what follows; used to prefix a finished body. */
static void insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
	if (a->err)
		return;
	if (pos > a->len) {
		set_err(a, -EINVAL);
		return;
	}
	if (n > a->cap - a->len) {
		set_err(a, -ENOSPC);
		return;
	}
	memmove(a->buf + pos + n, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, p, n);
	a->len += n;
}

int aml_pkglength_encode(uint8_t out[4], size_t body_len)
{
	/* Largest value each size can hold: 6 bits, then 4 + 8, 4 + 16, 4 + 24. */
	static const size_t max[4] = { 0x3f, 0xfff, 0xfffff, 0xfffffff };
	size_t total;
	int n, i;

	for (n = 1; n <= 4; n++) {
		total = body_len + n;
		if (total <= max[n - 1])
			break;
	}
	if (n > 4)
		return -E2BIG;
	if (n == 1) {
		out[0] = total;
		return 1;
	}
	/* Bits 7:6 of the lead byte count the bytes that follow; bits 3:0 are the low nibble. */
	out[0] = ((n - 1) << 6) | (total & 0x0f);
	for (i = 1; i < n; i++)
		out[i] = total >> (4 + 8 * (i - 1));
	return n;
}

/* ComputationalData integer encoding (ACPI 6.4 section 20.2.3); returns its length. */
static size_t integer_encode(uint8_t out[9], uint64_t v)
{
	unsigned int bytes, i;

	if (v == 0 || v == 1) {
		out[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	if (v <= 0xff) {
		out[0] = AML_BYTE_PREFIX;
		bytes = 1;
	} else if (v <= 0xffff) {
		out[0] = AML_WORD_PREFIX;
		bytes = 2;
	} else if (v <= 0xffffffff) {
		out[0] = AML_DWORD_PREFIX;
		bytes = 4;
	} else {
		/* QWordConst needs a DSDT of revision 2 or later (64-bit integers). */
		out[0] = AML_QWORD_PREFIX;
		bytes = 8;
	}
	for (i = 0; i < bytes; i++)
		out[1 + i] = v >> (8 * i);
	return 1 + bytes;
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];

	aml_bytes(a, b, integer_encode(b, v));
}

void aml_string(struct aml *a, const char *s)
{
	const char *c;

	/* AsciiCharList is 0x01-0x7f (ACPI 6.4 section 20.2.3). */
	for (c = s; *c; c++) {
		if ((unsigned char)*c > 0x7f) {
			set_err(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static bool is_lead_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_lead_name_char(c) || (c >= '0' && c <= '9');
}

/* One NameSeg from *p (up to '.' or the end), padded with '_'. */
static int name_seg(const char **p, uint8_t seg[4])
{
	const char *s = *p;
	int n = 0;

	if (!is_lead_name_char(*s))
		return -EINVAL;
	while (*s && *s != '.') {
		if (n == 4 || !is_name_char(*s))
			return -EINVAL;
		seg[n++] = *s++;
	}
	while (n < 4)
		seg[n++] = '_';
	if (*s == '.') {
		s++;
		if (!*s)
			return -EINVAL;
	}
	*p = s;
	return 0;
}

void aml_name_string(struct aml *a, const char *path)
{
	uint8_t segs[255][4];
	const char *p = path;
	unsigned int nsegs = 0;
	int ret;

	if (*p == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == AML_PARENT_PREFIX_CHAR) {
			aml_byte(a, AML_PARENT_PREFIX_CHAR);
			p++;
		}
	}
	while (*p) {
		if (nsegs == 255) {
			set_err(a, -EINVAL);
			return;
		}
		ret = name_seg(&p, segs[nsegs++]);
		if (ret) {
			set_err(a, ret);
			return;
		}
	}
	if (nsegs == 0) {
		/* NullName: only meaningful after a prefix, as in "\\" for the root. */
		aml_byte(a, 0x00);
		return;
	}
	if (nsegs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, nsegs);
	}
	aml_bytes(a, segs, 4 * nsegs);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint16_t vendor = 0, product = 0;
	uint8_t b[4];
	int i, d;

	if (strlen(id) != 7) {
		set_err(a, -EINVAL);
		return;
	}
	/* Three letters in 5 bits each ('A' is 1), then four hex digits. */
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			set_err(a, -EINVAL);
			return;
		}
		vendor = (vendor << 5) | (id[i] - 0x40);
	}
	for (i = 3; i < 7; i++) {
		d = hex_digit(id[i]);
		if (d < 0) {
			set_err(a, -EINVAL);
			return;
		}
		product = (product << 4) | d;
	}
	/* The compressed ID is big-endian within the little-endian DWord. */
	b[0] = vendor >> 8;
	b[1] = vendor;
	b[2] = product >> 8;
	b[3] = product;
	aml_byte(a, AML_DWORD_PREFIX);
	aml_bytes(a, b, 4);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_name_string(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_name(a, name);
	aml_eisaid(a, id);
}

void aml_name_str(struct aml *a, const char *name, const char *s)
{
	aml_name(a, name);
	aml_string(a, s);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

static struct aml_pkg pkg_begin(struct aml *a, bool buffer)
{
	return (struct aml_pkg){ .start = a->len, .buffer = buffer };
}

struct aml_pkg aml_scope_begin(struct aml *a, const char *path)
{
	struct aml_pkg pkg;

	aml_byte(a, AML_SCOPE_OP);
	pkg = pkg_begin(a, false);
	aml_name_string(a, path);
	return pkg;
}

struct aml_pkg aml_device_begin(struct aml *a, const char *path)
{
	struct aml_pkg pkg;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	pkg = pkg_begin(a, false);
	aml_name_string(a, path);
	return pkg;
}

struct aml_pkg aml_method_begin(struct aml *a, const char *path, unsigned int nargs,
				bool serialized)
{
	struct aml_pkg pkg;

	aml_byte(a, AML_METHOD_OP);
	pkg = pkg_begin(a, false);
	aml_name_string(a, path);
	if (nargs > 7)
		set_err(a, -EINVAL);
	/* MethodFlags: bits 2:0 ArgCount, bit 3 SerializeFlag, bits 7:4 SyncLevel 0. */
	aml_byte(a, (nargs & 7) | (serialized ? 1 << 3 : 0));
	return pkg;
}

struct aml_pkg aml_package_begin(struct aml *a, unsigned int nelem)
{
	struct aml_pkg pkg;

	aml_byte(a, AML_PACKAGE_OP);
	pkg = pkg_begin(a, false);
	/* NumElements is one byte; larger lists need VarPackage, unused so far. */
	if (nelem > 255)
		set_err(a, -EINVAL);
	aml_byte(a, nelem);
	return pkg;
}

struct aml_pkg aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	return pkg_begin(a, true);
}

void aml_end(struct aml *a, struct aml_pkg pkg)
{
	uint8_t hdr[4 + 9];
	size_t body, nsize = 0;
	int npkg;

	if (a->err)
		return;
	if (pkg.start > a->len) {
		set_err(a, -EINVAL);
		return;
	}
	body = a->len - pkg.start;
	/* DefBuffer: PkgLength BufferSize ByteList; the PkgLength covers BufferSize. */
	if (pkg.buffer)
		nsize = integer_encode(hdr + 4, body);
	npkg = aml_pkglength_encode(hdr, body + nsize);
	if (npkg < 0) {
		set_err(a, npkg);
		return;
	}
	memmove(hdr + npkg, hdr + 4, nsize);
	insert(a, pkg.start, hdr, npkg + nsize);
}

void aml_buffer(struct aml *a, const void *p, size_t n)
{
	struct aml_pkg pkg = aml_buffer_begin(a);

	aml_bytes(a, p, n);
	aml_end(a, pkg);
}

struct aml_pkg aml_restemplate_begin(struct aml *a)
{
	return aml_buffer_begin(a);
}

void aml_restemplate_end(struct aml *a, struct aml_pkg pkg)
{
	aml_res_end_tag(a);
	aml_end(a, pkg);
}

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_byte(a, RES_IO);
	aml_byte(a, 0x01);	/* decodes 16 address lines */
	put_le(a, min, 2);
	put_le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_res_irq_noflags(struct aml *a, uint16_t mask)
{
	/* Without the information byte the IRQs are edge, active-high (section 6.4.2.1). */
	aml_byte(a, RES_IRQ_NOFLAGS);
	put_le(a, mask, 2);
}

/*
 * Word, DWord and QWord address space descriptors share one layout with
 * fields of 2, 4 or 8 bytes: type, general flags, type-specific flags,
 * granularity, min, max, translation offset, length. With both MinFixed and
 * MaxFixed set the granularity must be 0 and the length max - min + 1
 * (ACPI 6.4 section 6.4.3.5, table of valid combinations).
 */
static void res_addr(struct aml *a, uint8_t tag, unsigned int width, uint8_t type, uint8_t flags,
		     uint8_t tflags, uint64_t min, uint64_t max)
{
	uint64_t limit = width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1;

	if (min > max || max > limit || max - min == limit) {
		set_err(a, -EINVAL);
		return;
	}
	aml_byte(a, tag);
	put_le(a, 3 + 5 * width, 2);	/* bytes after the length field */
	aml_byte(a, type);
	aml_byte(a, flags);
	aml_byte(a, tflags);
	put_le(a, 0, width);
	put_le(a, min, width);
	put_le(a, max, width);
	put_le(a, 0, width);
	put_le(a, max - min + 1, width);
}

void aml_res_word_bus(struct aml *a, uint8_t flags, uint16_t min, uint16_t max)
{
	res_addr(a, RES_WORD_ADDR, 2, RES_TYPE_BUS, flags, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint8_t flags, uint8_t io_flags, uint16_t min, uint16_t max)
{
	res_addr(a, RES_WORD_ADDR, 2, RES_TYPE_IO, flags, io_flags, min, max);
}

void aml_res_dword_mem(struct aml *a, uint8_t flags, uint8_t mem_flags, uint32_t min, uint32_t max)
{
	res_addr(a, RES_DWORD_ADDR, 4, RES_TYPE_MEM, flags, mem_flags, min, max);
}

void aml_res_qword_mem(struct aml *a, uint8_t flags, uint8_t mem_flags, uint64_t min, uint64_t max)
{
	res_addr(a, RES_QWORD_ADDR, 8, RES_TYPE_MEM, flags, mem_flags, min, max);
}

void aml_res_end_tag(struct aml *a)
{
	/* A zero checksum means "treat as valid" (section 6.4.2.9). */
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0x00);
}
