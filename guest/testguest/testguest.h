/* SPDX-License-Identifier: GPL-2.0 */
/* What scenarios see: boot information, their command-line words, registration. */
#ifndef TG_TESTGUEST_H
#define TG_TESTGUEST_H

#include "lib.h"

struct memrange {
	uint64_t base;
	uint64_t size;
	uint32_t type; /* E820 type: 1 = RAM */
};

#define BOOT_MEM_MAX 64

struct bootinfo {
	int kind; /* BOOT_* from boot.h */
	const char *cmdline;
	uint64_t rsdp; /* 0 when the loader did not say */
	int nmem;
	struct memrange mem[BOOT_MEM_MAX];
};

extern struct bootinfo boot;

/* True when [base, base + size) lies inside one RAM range of the memory map. */
bool boot_is_ram(uint64_t base, uint64_t size);

/* The words of one scenario: those after its scenario= up to the next one. */
#define SCN_MAX_WORDS 32

struct scn_ctx {
	const char *name;
	int nwords;
	char *words[SCN_MAX_WORDS];
};

/* Value of key=value in the scenario's words, else in the words before the first
 * scenario=; NULL if absent. *pos (start at 0) walks repeated keys. */
const char *scn_opt_next(struct scn_ctx *c, const char *key, int *pos);
const char *scn_opt(struct scn_ctx *c, const char *key);
uint64_t scn_opt_u64(struct scn_ctx *c, const char *key, uint64_t def);

struct scenario {
	const char *name;
	void (*run)(struct scn_ctx *c); /* returns on PASS; tg_fail() otherwise */
	const char *summary;
};

/* The linker script gathers every SCENARIO() between these. */
extern const struct scenario __scenarios_start[], __scenarios_end[];

/* One line registers a scenario: SCENARIO("name", function, "what it checks"). */
#define SCENARIO(_name, _fn, _summary)                \
	static const struct scenario __scenario_##_fn \
		__attribute__((used, section(".scenarios"), aligned(8))) = {_name, _fn, _summary}

#endif
