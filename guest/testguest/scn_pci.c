// SPDX-License-Identifier: GPL-2.0
/*
 * scenario=pci: enumerate through 0xCF8 and through ECAM, print every function with
 * its BARs and capabilities, fail when the two mechanisms disagree or an expect=
 * entry is missing.
 */
#include "pci.h"
#include "testguest.h"

#define MAX_FUNCS 64

static struct pci_dev cf8_devs[MAX_FUNCS], ecam_devs[MAX_FUNCS];

static const char *bar_type_str(const struct pci_bar *b)
{
	switch (b->type) {
	case BAR_IO:
		return "io";
	case BAR_MEM32:
		return b->prefetch ? "mem32pf" : "mem32";
	case BAR_MEM64:
		return b->prefetch ? "mem64pf" : "mem64";
	default:
		return "none";
	}
}

static void print_dev(const struct pci_dev *d)
{
	char line[256], bdf[8];
	int n;

	n = snprintf(line, sizeof(line), "PCI %s %04x:%04x class=%06x hdr=%02x",
		     pci_bdf_str(d->bdf, bdf), d->vendor, d->device, d->class, d->hdr);
	if (d->irq_pin)
		n += snprintf(line + n, sizeof(line) - n, " pin=%c line=%u", 'A' + d->irq_pin - 1,
			      d->irq_line);
	for (int i = 0; i < 6 && n < (int)sizeof(line); i++) {
		const struct pci_bar *b = &d->bar[i];

		if (b->type != BAR_NONE)
			n += snprintf(line + n, sizeof(line) - n, " bar%d=%s:0x%lx/0x%lx", i,
				      bar_type_str(b), b->addr, b->size);
	}
	for (int i = 0; i < d->ncaps && n < (int)sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - n, "%s%02x",
			      i ? "," : " caps=", d->cap_id[i]);
	printf("%s\n", line);
}

/* Exactly n hex digits (IDs and locations as lspci prints them, no 0x); -1 if not. */
static int64_t hex_n(const char *p, int n)
{
	int64_t v = 0;

	for (int i = 0; i < n; i++) {
		char ch = p[i] | 0x20;

		if (p[i] >= '0' && p[i] <= '9')
			v = v * 16 + p[i] - '0';
		else if (ch >= 'a' && ch <= 'f')
			v = v * 16 + ch - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* expect=VVVV:DDDD or expect=VVVV:DDDD@BB:DD.F */
static void check_expect(const char *e, const struct pci_dev *devs, int n)
{
	int64_t vendor = hex_n(e, 4), device = hex_n(e + 5, 4), bus = 0, dev = 0, fn = 0;
	bool at = e[9] == '@';

	if (vendor < 0 || device < 0 || e[4] != ':' || (e[9] && !at))
		tg_fail("pci: bad expect=%s (want VVVV:DDDD[@BB:DD.F])", e);
	if (at) {
		bus = hex_n(e + 10, 2);
		dev = hex_n(e + 13, 2);
		fn = hex_n(e + 16, 1);
		if (bus < 0 || dev < 0 || dev > 31 || fn < 0 || fn > 7 || e[12] != ':' ||
		    e[15] != '.' || e[17])
			tg_fail("pci: bad location in expect=%s (want BB:DD.F)", e);
	}
	for (int i = 0; i < n; i++) {
		const struct pci_dev *d = &devs[i];

		if (d->vendor == vendor && d->device == device &&
		    (!at || d->bdf == PCI_BDF(bus, dev, fn))) {
			printf("PCI expect %s found\n", e);
			return;
		}
	}
	tg_fail("pci: expected device %s not found", e);
}

static void pci_scenario(struct scn_ctx *c)
{
	int n_cf8, n_ecam, pos = 0;
	const char *e;
	char bdf[8];

	pci_init(scn_opt_u64(c, "ecam", 0));
	n_cf8 = pci_scan(PCI_MECH_CF8, cf8_devs, MAX_FUNCS);
	printf("PCI cf8 functions=%d\n", n_cf8);
	if (pci_ecam_base()) {
		n_ecam = pci_scan(PCI_MECH_ECAM, ecam_devs, MAX_FUNCS);
		printf("PCI ecam base=0x%lx buses=0-%u functions=%d\n", pci_ecam_base(),
		       pci_ecam_end_bus(), n_ecam);
	} else {
		n_ecam = -1;
		printf("PCI ecam none\n");
		if (scn_opt_u64(c, "need-ecam", 0))
			tg_fail("pci: no MCFG table and no ecam= option");
	}
	if (n_cf8 > MAX_FUNCS || n_ecam > MAX_FUNCS)
		tg_fail("pci: more than %d functions", MAX_FUNCS);
	if (n_ecam >= 0 && n_cf8 && n_ecam != n_cf8)
		tg_fail("pci: 0xCF8 found %d functions, ECAM %d", n_cf8, n_ecam);
	for (int i = 0; n_ecam >= 0 && n_cf8 && i < n_cf8; i++) {
		const struct pci_dev *a = &cf8_devs[i], *b = &ecam_devs[i];

		if (a->bdf != b->bdf || a->vendor != b->vendor || a->device != b->device ||
		    a->class != b->class || a->hdr != b->hdr)
			tg_fail("pci: 0xCF8 and ECAM disagree at %s", pci_bdf_str(a->bdf, bdf));
	}

	/* ECAM-only machines (no 0xCF8) are fine too: use whichever found something. */
	struct pci_dev *devs = n_cf8 ? cf8_devs : ecam_devs;
	int n = n_cf8 ? n_cf8 : (n_ecam > 0 ? n_ecam : 0);

	for (int i = 0; i < n; i++) {
		pci_probe(&devs[i]);
		print_dev(&devs[i]);
	}
	while ((e = scn_opt_next(c, "expect", &pos)))
		check_expect(e, devs, n);
	if (!n && scn_opt_u64(c, "need-devices", 1))
		tg_fail("pci: no functions found");
}
SCENARIO("pci", pci_scenario, "enumerates via 0xCF8 and ECAM, prints BARs and capabilities");
