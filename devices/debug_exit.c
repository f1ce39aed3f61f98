// SPDX-License-Identifier: GPL-2.0
/*
 * isa-debug-exit. Stateless, so no lock: concurrent writers each ask the
 * machine to stop, and the machine keeps whichever request it sees first.
 */
#include <stdlib.h>

#include "../vmm/bus.h"
#include "../vmm/layout.h"
#include "debug_exit.h"

#define DEBUG_EXIT_PORTS 4

struct debug_exit {
	struct machine_ctl ctl;
};

static void debug_exit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct debug_exit *de = opaque;
	uint32_t v = 0, i;

	/* Reads float (all ones, as pre-filled by the bus). */
	if (!is_write)
		return;
	/* x86 port I/O is little-endian; the bus never hands us more than 8 bytes. */
	for (i = 0; i < len && i < sizeof(v); i++)
		v |= (uint32_t)data[i] << (8 * i);
	/* An exit status is 8 bits: only the low 7 bits of v survive the shift. */
	machine_request_exit_status(&de->ctl, ((v << 1) | 1) & 0xff);
}

int debug_exit_register(struct debug_exit *de, struct bus *pio)
{
	return bus_register(pio, PORT_DEBUG_EXIT, DEBUG_EXIT_PORTS, debug_exit_io, de,
			    "debug-exit");
}

struct debug_exit *debug_exit_create(struct machine_ctl ctl)
{
	struct debug_exit *de = calloc(1, sizeof(*de));

	if (de)
		de->ctl = ctl;
	return de;
}

void debug_exit_destroy(struct debug_exit *de)
{
	free(de);
}
