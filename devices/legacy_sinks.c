// SPDX-License-Identifier: GPL-2.0
/*
 * Silent I/O ports. Writes are dropped and reads float (all ones, as the bus
 * pre-fills them), which is also what a PC with nothing decoding them does.
 *
 *  0x80  POST code port. Linux's outb_p()/inb_p() write it as an I/O delay
 *        (arch/x86/kernel/io_delay.c), e.g. on every CMOS_READ and PIC access.
 *  0xed  The alternative delay port (io_delay=0xed, and a DMI quirk).
 *
 * Deliberately not claimed:
 *  - 0x81-0x8f, DMA page registers: Linux's i8237A_init_ops() reads 0x87 and
 *    must see 0xff to conclude there is no ISA DMA controller.
 *  - 0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1 (PICs, ELCR), 0x40-0x43 (PIT) and 0x61
 *    (port B: speaker, PIT channel 2 gate): KVM's in-kernel irqchip and PIT
 *    handle them, 0x61 only when KVM_CREATE_PIT2 is given KVM_PIT_SPEAKER_DUMMY
 *    (arch/x86/kvm/i8254.c, kvm_create_pit()).
 *  - 0x92 (port A, fast A20 and fast reset): unused by a directly booted
 *    Linux; unclaimed it reads 0xff, and writes are dropped.
 *
 * Stateless, so no lock.
 */
#include <stddef.h>

#include "../vmm/bus.h"
#include "../vmm/layout.h"
#include "legacy_sinks.h"

#define PORT_DELAY_ALT 0xed

static void sink_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
}

static const struct {
	uint16_t port;
	const char *name;
} sinks[] = {
	{ PORT_POST, "post-code" },
	{ PORT_DELAY_ALT, "io-delay" },
};

int legacy_sinks_register(struct bus *pio)
{
	size_t i;
	int ret;

	for (i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++) {
		ret = bus_register(pio, sinks[i].port, 1, sink_io, NULL, sinks[i].name);
		if (ret)
			goto err;
	}
	return 0;

err:
	while (i--)
		bus_unregister(pio, sinks[i].port, NULL);
	return ret;
}
