// SPDX-License-Identifier: GPL-2.0
/* The AML writer: encodings checked byte for byte against ACPI 6.4 chapter 20. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "firmware/aml.h"

static uint8_t out[1 << 21];
static struct aml a;

static void setup(void)
{
	memset(out, 0xee, sizeof(out));
	aml_init(&a, out, sizeof(out));
}

TestSuite(aml, .init = setup);

#define assert_bytes(...)                                                                  \
	do {                                                                               \
		const uint8_t want[] = { __VA_ARGS__ };                                    \
		cr_assert_eq(a.err, 0, "err %d", a.err);                                   \
		cr_assert_eq(a.len, sizeof(want), "len %zu, want %zu", a.len, sizeof(want)); \
		cr_assert_arr_eq(out, want, sizeof(want));                                 \
	} while (0)

/* Decode a PkgLength independently of the encoder; returns its byte count. */
static size_t pkglength_decode(const uint8_t *p, size_t *value)
{
	size_t n = (p[0] >> 6) + 1, i;

	if (n == 1) {
		*value = p[0] & 0x3f;
		return 1;
	}
	cr_assert_eq(p[0] & 0x30, 0, "bits 5:4 of a multi-byte lead must be zero");
	*value = p[0] & 0x0f;
	for (i = 1; i < n; i++)
		*value |= (size_t)p[i] << (4 + 8 * (i - 1));
	return n;
}

Test(aml, pkglength_boundaries)
{
	static const struct {
		size_t body;
		int n;
		uint8_t bytes[4];
	} cases[] = {
		{ 0, 1, { 0x01 } },
		{ 62, 1, { 0x3f } },			/* 63: the largest one-byte value */
		{ 63, 2, { 0x41, 0x04 } },		/* 64 does not fit: 2 bytes, 65 */
		{ 4093, 2, { 0x4f, 0xff } },		/* 4095 */
		{ 4094, 3, { 0x81, 0x00, 0x01 } },	/* 4097 */
		{ 0xfffff - 3, 3, { 0x8f, 0xff, 0xff } },
		{ 0xfffff - 2, 4, { 0xc1, 0x00, 0x00, 0x01 } },
		{ 0xfffffff - 4, 4, { 0xcf, 0xff, 0xff, 0xff } },
	};
	uint8_t b[4];
	size_t i, v;
	int n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = aml_pkglength_encode(b, cases[i].body);
		cr_assert_eq(n, cases[i].n, "body %zu: %d bytes", cases[i].body, n);
		cr_assert_arr_eq(b, cases[i].bytes, n, "body %zu", cases[i].body);
		cr_assert_eq(pkglength_decode(b, &v), (size_t)n);
		cr_assert_eq(v, cases[i].body + n, "the length counts its own bytes");
	}
	cr_assert_eq(aml_pkglength_encode(b, 0xfffffff - 3), -E2BIG);
}

/* A Scope whose body grows across each PkgLength size keeps a consistent length. */
Test(aml, scope_body_across_pkglength_sizes)
{
	static const size_t bodies[] = { 10, 58, 59, 60, 4000, 4089, 4090, 4091, 70000 };
	struct aml_pkg pkg;
	size_t i, v, n, extra;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		setup();
		pkg = aml_scope_begin(&a, "\\_SB");
		/* Name string is 5 bytes: '\' + "_SB_". */
		for (extra = 0; extra < bodies[i] - 5; extra++)
			aml_byte(&a, 0xa3);	/* Noop */
		aml_end(&a, pkg);
		cr_assert_eq(a.err, 0);
		cr_assert_eq(out[0], 0x10, "ScopeOp");
		n = pkglength_decode(out + 1, &v);
		cr_assert_eq(v, a.len - 1, "body %zu: PkgLength covers all after the opcode",
			     bodies[i]);
		cr_assert_eq(out[1 + n], '\\', "name right after the PkgLength");
		cr_assert_eq(memcmp(out + 2 + n, "_SB_", 4), 0);
		cr_assert_eq(out[a.len - 1], 0xa3, "body moved intact");
	}
}

Test(aml, integers_use_the_shortest_encoding)
{
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0xffff);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0xffffffff);
	aml_integer(&a, 0x100000000ULL);
	assert_bytes(0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff, 0x0b, 0x00, 0x01, 0x0b, 0xff, 0xff, 0x0c,
		     0x00, 0x00, 0x01, 0x00, 0x0c, 0xff, 0xff, 0xff, 0xff, 0x0e, 0x00, 0x00, 0x00,
		     0x00, 0x01, 0x00, 0x00, 0x00);
}

Test(aml, name_strings)
{
	aml_name_string(&a, "_S5");
	aml_name_string(&a, "\\_SB.PCI0");
	aml_name_string(&a, "\\_SB.PCI0.S08");
	aml_name_string(&a, "^^FOO");
	aml_name_string(&a, "\\");
	assert_bytes('_', 'S', '5', '_', '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', '\\',
		     0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S', '0', '8', '_', '^', '^',
		     'F', 'O', 'O', '_', '\\', 0x00);
}

Test(aml, bad_names_are_rejected)
{
	static const char *bad[] = { "1ABC", "ABCDE", "A..B", "AB.", "ab", "\\.X", "A-B" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup();
		aml_name_string(&a, bad[i]);
		cr_assert_eq(a.err, -EINVAL, "\"%s\" accepted", bad[i]);
	}
}

Test(aml, strings_and_eisaid)
{
	aml_string(&a, "ab");
	aml_eisaid(&a, "PNP0A03");
	aml_eisaid(&a, "PNP0501");
	assert_bytes(0x0d, 'a', 'b', 0x00, 0x0c, 0x41, 0xd0, 0x0a, 0x03, 0x0c, 0x41, 0xd0, 0x05,
		     0x01);
	aml_eisaid(&a, "PNP0A0G");
	cr_assert_eq(a.err, -EINVAL);
}

Test(aml, name_package)
{
	struct aml_pkg pkg;

	aml_name(&a, "_S5");
	pkg = aml_package_begin(&a, 2);
	aml_integer(&a, 5);
	aml_integer(&a, 0);
	aml_end(&a, pkg);
	assert_bytes(0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00);
}

Test(aml, buffer_size_is_inside_the_pkglength)
{
	const uint8_t data[3] = { 1, 2, 3 };

	aml_buffer(&a, data, 3);
	aml_buffer(&a, NULL, 0);
	assert_bytes(0x11, 0x06, 0x0a, 0x03, 1, 2, 3, 0x11, 0x02, 0x00);
}

/* 61 data bytes + a 2-byte BufferSize = 63: the BufferSize pushes the PkgLength to 2 bytes. */
Test(aml, buffer_size_crosses_the_one_byte_limit)
{
	uint8_t data[61];
	size_t v;

	memset(data, 0x5a, sizeof(data));
	aml_buffer(&a, data, sizeof(data));
	cr_assert_eq(a.err, 0);
	cr_assert_eq(pkglength_decode(out + 1, &v), 2);
	cr_assert_eq(v, a.len - 1);
	cr_assert_eq(out[3], 0x0a);
	cr_assert_eq(out[4], 61);
	cr_assert_eq(out[5], 0x5a);
}

Test(aml, method_and_device)
{
	struct aml_pkg dev, m;

	dev = aml_device_begin(&a, "DEV0");
	m = aml_method_begin(&a, "_STA", 0, false);
	aml_return(&a);
	aml_integer(&a, 0x0f);
	aml_end(&a, m);
	aml_end(&a, dev);
	assert_bytes(0x5b, 0x82, 0x0f, 'D', 'E', 'V', '0', 0x14, 0x09, '_', 'S', 'T', 'A', 0x00,
		     0xa4, 0x0a, 0x0f);

	setup();
	m = aml_method_begin(&a, "FOO", 3, true);
	aml_end(&a, m);
	assert_bytes(0x14, 0x06, 'F', 'O', 'O', '_', 0x0b);
	aml_method_begin(&a, "BAR", 8, false);
	cr_assert_eq(a.err, -EINVAL, "8 arguments");
}

Test(aml, resource_template)
{
	struct aml_pkg crs = aml_restemplate_begin(&a);

	aml_res_io(&a, 0x3f8, 0x3f8, 1, 8);
	aml_res_irq_noflags(&a, 1 << 4);
	aml_restemplate_end(&a, crs);
	assert_bytes(0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22,
		     0x10, 0x00, 0x79, 0x00);
}

Test(aml, address_descriptors)
{
	aml_res_word_bus(&a, AML_ADDR_FIXED, 0, 0xff);
	assert_bytes(0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00,
		     0x00, 0x00, 0x01);

	setup();
	aml_res_dword_mem(&a, AML_ADDR_CONSUMER | AML_ADDR_FIXED, AML_MEM_READ_WRITE, 0xe0000000,
			  0xe00fffff);
	assert_bytes(0x87, 0x17, 0x00, 0x00, 0x0d, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xe0, 0xff,
		     0xff, 0x0f, 0xe0, 0, 0, 0, 0, 0x00, 0x00, 0x10, 0x00);

	setup();
	aml_res_qword_mem(&a, AML_ADDR_FIXED, AML_MEM_READ_WRITE, 0x100000000ULL, 0x1ffffffffULL);
	cr_assert_eq(a.len, 46);
	cr_assert_eq(out[1], 0x2b);
	cr_assert_eq(out[0], 0x8a);
	/* Length field, last 8 bytes: 4 GiB. */
	cr_assert_eq(out[38 + 4], 1);

	setup();
	aml_res_word_io(&a, AML_ADDR_FIXED, AML_IO_ENTIRE_RANGE, 0x100, 0xff);
	cr_assert_eq(a.err, -EINVAL, "min > max");
	setup();
	aml_res_word_io(&a, AML_ADDR_FIXED, AML_IO_ENTIRE_RANGE, 0, 0xffff);
	cr_assert_eq(a.err, -EINVAL, "length 0x10000 does not fit a word");
}

Test(aml, out_of_space_is_sticky)
{
	struct aml_pkg pkg;
	uint8_t small[8];

	aml_init(&a, small, sizeof(small));
	pkg = aml_scope_begin(&a, "\\_SB");
	aml_integer(&a, 0x12345678);
	aml_end(&a, pkg);
	cr_assert_eq(a.err, -ENOSPC);
	cr_assert_leq(a.len, sizeof(small));
	aml_byte(&a, 0);
	cr_assert_eq(a.err, -ENOSPC, "the first error stays");

	/* Room for the body but not for the PkgLength inserted in front of it. */
	aml_init(&a, small, 6);
	pkg = aml_scope_begin(&a, "\\_SB");
	aml_end(&a, pkg);
	cr_assert_eq(a.err, -ENOSPC);
	cr_assert_leq(a.len, 6);
}

Test(aml, package_element_limit)
{
	aml_package_begin(&a, 256);
	cr_assert_eq(a.err, -EINVAL);
}
