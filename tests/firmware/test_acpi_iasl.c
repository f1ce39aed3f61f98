// SPDX-License-Identifier: GPL-2.0
/*
 * The tables as ACPICA sees them: each one is written to a temporary
 * directory and disassembled with `iasl -d`, which must succeed and show
 * what we meant. acpica-tools is a required dependency: without iasl these
 * tests fail, loudly.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "firmware/aml.h"
#include "firmware/firmware.h"
#include "tests/firmware/acpi_walk.h"
#include "vmm/layout.h"

#define IASL_MISSING 127

static char dir[] = "/tmp/kvmini-iasl-XXXXXX";
static uint8_t buf[ACPI_BUF_SIZE];
static long len;

/* Run iasl in dir with its output in dir/iasl.log; its exit status, or IASL_MISSING. */
static int iasl(const char *const *args)
{
	const char *argv[16] = { "iasl" };
	int status, fd, i;
	pid_t pid;

	for (i = 0; args[i]; i++)
		argv[i + 1] = args[i];
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (chdir(dir))
			_exit(126);
		fd = open("iasl.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp("iasl", (char *const *)argv);
		_exit(IASL_MISSING);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "iasl died");
	cr_assert_neq(WEXITSTATUS(status), IASL_MISSING,
		      "iasl not found in PATH: install acpica-tools, a required dependency");
	return WEXITSTATUS(status);
}

static char *slurp(const char *name)
{
	char path[256];
	char *text;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s missing", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = malloc(n + 1);
	cr_assert_eq(fread(text, 1, n, f), (size_t)n);
	text[n] = 0;
	fclose(f);
	return text;
}

static void spill(const char *name, const void *p, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

static unsigned int count(const char *text, const char *needle)
{
	unsigned int n = 0;

	for (text = strstr(text, needle); text; text = strstr(text + 1, needle))
		n++;
	return n;
}

/* Disassemble name.dat; returns the .dsl text after the checks every table must pass. */
static char *disassemble(const char *name)
{
	char dat[64], dsl[64];
	const char *args[] = { "-d", dat, NULL };
	char *text;

	snprintf(dat, sizeof(dat), "%s.dat", name);
	snprintf(dsl, sizeof(dsl), "%s.dsl", name);
	cr_assert_eq(iasl(args), 0, "iasl -d %s failed:\n%s", dat, slurp("iasl.log"));
	text = slurp(dsl);
	cr_assert_null(strstr(text, "Incorrect checksum"), "%s: bad checksum", name);
	cr_assert_null(strstr(text, "**** "), "%s: iasl complains:\n%s", name, text);
	return text;
}

static void build(unsigned int nr_cpus, bool pci)
{
	struct fw_machine m = { .nr_cpus = nr_cpus, .nr_ram = 1, .pci = pci };
	const char *sigs[] = { "FACP", "APIC", "MCFG" };
	const uint8_t *t;
	unsigned int i;

	m.ram[0].size = 256ULL << 20;
	len = fw_acpi_build(&m, buf, sizeof(buf));
	cr_assert_gt(len, 0);
	t = acpi_xsdt(buf, len);
	cr_assert_not_null(t);
	spill("xsdt.dat", t, rd32(t + 4));
	for (i = 0; i < 3; i++) {
		char name[16];

		t = acpi_find(buf, len, sigs[i]);
		if (!t)
			continue;
		snprintf(name, sizeof(name), "%.4s.dat", sigs[i]);
		spill(name, t, rd32(t + 4));
	}
	t = acpi_dsdt(buf, len);
	cr_assert_not_null(t);
	spill("DSDT.dat", t, rd32(t + 4));
	t = acpi_find(buf, len, "FACP");
	t = acpi_at(buf, len, rd64(t + FADT_X_FIRMWARE_CTRL));
	cr_assert_not_null(t);
	spill("FACS.dat", t, 64);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(iasl, .init = setup, .fini = teardown);

Test(iasl, every_table_disassembles)
{
	char *t;

	build(2, true);
	t = disassemble("FACP");
	cr_assert(strstr(t, "Value to cause reset : 06"), "%s", t);
	cr_assert(strstr(t, "Address : 0000000000000CF9"), "reset register");
	cr_assert(strstr(t, "Space ID : 01 [SystemIO]"));
	cr_assert(strstr(t, "Reset Register Supported (V2) : 1"));
	cr_assert(strstr(t, "Hardware Reduced (V5) : 0"));
	cr_assert(strstr(t, "8042 Present on ports 60/64 (V2) : 0"));
	cr_assert(strstr(t, "SCI Interrupt : 0009"));
	cr_assert(strstr(t, "PM1A Control Block Address : 00000604"));
	free(t);

	t = disassemble("APIC");
	cr_assert_eq(count(t, "[Processor Local APIC]"), 2);
	cr_assert_eq(count(t, "[Interrupt Source Override]"), 2);
	cr_assert(strstr(t, "Address : FEC00000"), "IOAPIC");
	free(t);

	t = disassemble("MCFG");
	cr_assert(strstr(t, "Base Address : 00000000E0000000"), "%s", t);
	free(t);

	t = disassemble("xsdt");
	cr_assert_eq(count(t, "ACPI Table Address"), 3);
	free(t);

	t = disassemble("FACS");
	cr_assert(strstr(t, "Signature : \"FACS\""), "%s", t);
	free(t);

	t = disassemble("DSDT");
	cr_assert(strstr(t, "_S5_"), "%s", t);
	/* A malformed template would show as a plain byte Buffer instead. */
	cr_assert_eq(count(t, "ResourceTemplate ()"), 3, "COM1, PCI0 and MBRD _CRS");
	cr_assert(strstr(t, "IRQNoFlags ()\n                    {4}"), "COM1 on IRQ4");
	cr_assert(strstr(t, "Device (PCI0)"));
	cr_assert(strstr(t, "EisaId (\"PNP0A08\")"));
	cr_assert(strstr(t, "EisaId (\"PNP0A03\")"));
	cr_assert(strstr(t, "EisaId (\"PNP0C02\")"));
	cr_assert(strstr(t, "EisaId (\"PNP0501\")"));
	cr_assert(strstr(t, "WordBusNumber (ResourceProducer"));
	cr_assert(strstr(t, "0xDFFFFFFF"), "MMIO window end");
	cr_assert(strstr(t, "0xE00FFFFF"), "ECAM reserved by MBRD");
	cr_assert(strstr(t, "Name (_PRT, Package (0x7C)"), "31 slots x 4 pins");
	cr_assert(strstr(t, "0x001FFFFF"), "slot 31");
	free(t);
}

Test(iasl, without_pci)
{
	char *t;

	build(1, false);
	t = disassemble("DSDT");
	cr_assert(strstr(t, "_S5_"));
	cr_assert(strstr(t, "Device (COM1)"));
	cr_assert_null(strstr(t, "PCI0"));
	free(t);
	t = disassemble("xsdt");
	cr_assert_eq(count(t, "ACPI Table Address"), 2);
	free(t);
}

ParameterizedTestParameters(iasl, madt_processor_entries)
{
	static unsigned int n[] = { 1, 64, 255, 300 };

	return cr_make_param_array(unsigned int, n, sizeof(n) / sizeof(n[0]));
}

ParameterizedTest(unsigned int *n, iasl, madt_processor_entries)
{
	char *t;

	build(*n, true);
	t = disassemble("APIC");
	cr_assert_eq(count(t, "[Processor Local APIC]"), *n < 255 ? *n : 255);
	cr_assert_eq(count(t, "[Processor Local x2APIC]"), *n > 255 ? *n - 255 : 0);
	cr_assert_eq(count(t, "[Local x2APIC NMI]"), *n > 255 ? 1 : 0);
	cr_assert_eq(count(t, "[Local APIC NMI]"), 1);
	free(t);
}

/* The DSDT with the other tables loaded for external resolution, as a tool would. */
Test(iasl, dsdt_with_other_tables_as_externals)
{
	const char *args[] = { "-e", "FACP.dat", "-e", "APIC.dat", "-e", "MCFG.dat",
			       "-e", "xsdt.dat", "-d", "DSDT.dat", NULL };
	char *t;

	build(4, true);
	cr_assert_eq(iasl(args), 0, "%s", slurp("iasl.log"));
	t = slurp("DSDT.dsl");
	cr_assert(strstr(t, "Device (PCI0)"));
	cr_assert(strstr(t, "_S5_"));
	free(t);
}

/* What iasl disassembled, it must compile back without errors or warnings. */
Test(iasl, dsdt_recompiles_cleanly)
{
	const char *args[] = { "-p", "recompiled", "DSDT.dsl", NULL };
	char *log;

	build(2, true);
	free(disassemble("DSDT"));
	cr_assert_eq(iasl(args), 0, "%s", slurp("iasl.log"));
	log = slurp("iasl.log");
	cr_assert(strstr(log, "0 Errors, 0 Warnings"), "%s", log);
	free(log);
}

/* Three-byte PkgLengths (bodies past 4095 bytes) as ACPICA's parser reads them. */
Test(iasl, large_bodies_parse)
{
	static uint8_t aml_buf[16384], big[5000];
	struct acpi_header h;
	struct aml_pkg sb, dev;
	struct aml a;
	char *t;

	aml_init(&a, aml_buf + sizeof(h), sizeof(aml_buf) - sizeof(h));
	sb = aml_scope_begin(&a, "\\_SB");
	dev = aml_device_begin(&a, "BIG0");
	aml_name_str(&a, "_HID", "KVMI0001");
	memset(big, 0x5a, sizeof(big));
	aml_name(&a, "DATA");
	aml_buffer(&a, big, sizeof(big));
	aml_name_integer(&a, "LAST", 0x12345678);
	aml_end(&a, dev);
	aml_end(&a, sb);
	cr_assert_eq(a.err, 0);
	acpi_header_init(&h, "DSDT", 2);
	memcpy(aml_buf, &h, sizeof(h));
	acpi_finish(aml_buf, sizeof(h) + a.len);
	spill("big.dat", aml_buf, sizeof(h) + a.len);

	t = disassemble("big");
	cr_assert(strstr(t, "Device (BIG0)"));
	cr_assert(strstr(t, "Buffer (0x1388)"), "5000-byte buffer");
	cr_assert(strstr(t, "Name (LAST, 0x12345678)"), "what follows the buffer is intact");
	free(t);
}
