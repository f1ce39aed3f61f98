// SPDX-License-Identifier: GPL-2.0
/*
 * tg_main: reads what the loader passed (PVH start info or Linux boot_params), then
 * runs the scenarios the command line names, in order, and reports PASS or FAIL.
 */
#include "boot.h"
#include "testguest.h"
#include "trap.h"

/* struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h). */
#define PVH_MAGIC 0x336ec578
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* struct boot_params offsets (Documentation/arch/x86/zero-page.rst). */
#define BP_ACPI_RSDP 0x070
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

struct bootinfo boot;

#define CMDLINE_MAX 1024
static char cmdline_copy[CMDLINE_MAX];
static char *words[64];
static int nwords;

static void add_mem(uint64_t base, uint64_t size, uint32_t type)
{
	if (boot.nmem < BOOT_MEM_MAX)
		boot.mem[boot.nmem++] = (struct memrange){base, size, type};
}

static void boot_from_pvh(uint64_t ptr)
{
	const struct hvm_start_info *si = (const void *)ptr;

	if (si->magic != PVH_MAGIC)
		tg_fail("bad PVH start info magic 0x%x", si->magic);
	boot.cmdline = (const char *)si->cmdline_paddr;
	boot.rsdp = si->rsdp_paddr;
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *e = (const void *)si->memmap_paddr;

		for (uint32_t i = 0; i < si->memmap_entries; i++)
			add_mem(e[i].addr, e[i].size, e[i].type);
	}
}

static void boot_from_bzimage(uint64_t ptr)
{
	const uint8_t *bp = (const void *)ptr;
	uint64_t cmd = *(const uint32_t *)(bp + BP_CMD_LINE_PTR) |
		       (uint64_t) * (const uint32_t *)(bp + BP_EXT_CMD_LINE_PTR) << 32;
	const struct e820_entry *e = (const void *)(bp + BP_E820_TABLE);
	unsigned int n = bp[BP_E820_ENTRIES];

	boot.cmdline = (const char *)cmd;
	boot.rsdp = *(const uint64_t *)(bp + BP_ACPI_RSDP);
	for (unsigned int i = 0; i < n && i < BP_E820_MAX; i++)
		add_mem(e[i].addr, e[i].size, e[i].type);
}

bool boot_is_ram(uint64_t base, uint64_t size)
{
	for (int i = 0; i < boot.nmem; i++) {
		const struct memrange *m = &boot.mem[i];

		if (m->type == 1 && base >= m->base && base + size <= m->base + m->size)
			return true;
	}
	return false;
}

static void split_cmdline(void)
{
	char *p = cmdline_copy;
	size_t n = boot.cmdline ? strlen(boot.cmdline) : 0;

	if (n >= CMDLINE_MAX)
		tg_fail("command line longer than %d bytes", CMDLINE_MAX - 1);
	memcpy(cmdline_copy, boot.cmdline ? boot.cmdline : "", n + 1);
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			*p++ = '\0';
		if (!*p)
			break;
		if (nwords == (int)ARRAY_SIZE(words))
			tg_fail("more than %d words on the command line", (int)ARRAY_SIZE(words));
		words[nwords++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
	}
}

static const char *word_value(const char *w, const char *key)
{
	size_t n = strlen(key);

	return strncmp(w, key, n) == 0 && w[n] == '=' ? w + n + 1 : NULL;
}

/* Words before the first scenario= are options for every scenario. */
static int nglobal;

const char *scn_opt_next(struct scn_ctx *c, const char *key, int *pos)
{
	const char *v;

	for (; *pos < c->nwords; (*pos)++) {
		v = word_value(c->words[*pos], key);
		if (v) {
			(*pos)++;
			return v;
		}
	}
	for (; *pos < c->nwords + nglobal; (*pos)++) {
		v = word_value(words[*pos - c->nwords], key);
		if (v) {
			(*pos)++;
			return v;
		}
	}
	return NULL;
}

const char *scn_opt(struct scn_ctx *c, const char *key)
{
	int pos = 0;

	return scn_opt_next(c, key, &pos);
}

uint64_t scn_opt_u64(struct scn_ctx *c, const char *key, uint64_t def)
{
	const char *v = scn_opt(c, key), *end;
	uint64_t n;

	if (!v)
		return def;
	n = parse_u64(v, &end);
	if (end == v || *end)
		tg_fail("%s: %s=%s is not a number", c->name, key, v);
	return n;
}

static const struct scenario *find_scenario(const char *name)
{
	for (const struct scenario *s = __scenarios_start; s < __scenarios_end; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static const char *boot_kind_name(int kind)
{
	switch (kind) {
	case BOOT_PVH:
		return "pvh";
	case BOOT_BZ32:
		return "bzimage32";
	case BOOT_BZ64:
		return "bzimage64";
	}
	return "unknown";
}

void tg_main(int kind, uint64_t ptr);

void tg_main(int kind, uint64_t ptr)
{
	int ran = 0;

	console_init();
	boot.kind = kind;
	if (kind == BOOT_PVH)
		boot_from_pvh(ptr);
	else
		boot_from_bzimage(ptr);
	time_init();
	trap_init();
	printf("TESTGUEST start boot=%s cmdline=\"%s\"\n", boot_kind_name(kind),
	       boot.cmdline ? boot.cmdline : "");

	split_cmdline();
	while (nglobal < nwords && !word_value(words[nglobal], "scenario"))
		nglobal++;
	for (int i = nglobal; i < nwords;) {
		struct scn_ctx c = {.name = word_value(words[i], "scenario")};
		const struct scenario *s = find_scenario(c.name);

		if (!s)
			tg_fail("unknown scenario '%s'", c.name);
		for (i++; i < nwords && !word_value(words[i], "scenario"); i++) {
			if (c.nwords == SCN_MAX_WORDS)
				tg_fail("%s: more than %d options", c.name, SCN_MAX_WORDS);
			c.words[c.nwords++] = words[i];
		}
		printf("TESTGUEST scenario=%s begin\n", c.name);
		s->run(&c);
		printf("TESTGUEST scenario=%s pass\n", c.name);
		ran++;
	}
	if (!ran)
		tg_fail("no scenario= on the command line");
	tg_exit(true, NULL);
}
