// SPDX-License-Identifier: GPL-2.0
/*
 * i8042 keyboard controller, controller side only: no keyboard and no AUX
 * (mouse) port are connected, so nothing ever arrives unasked and there is
 * no interrupt to raise. What Linux needs (drivers/input/serio/i8042.c and
 * i8042-acpipnpio.h, booted with i8042.noaux i8042.nomux i8042.dumbkbd):
 *  - a status register that is not all ones, with OBF clear when idle, or
 *    i8042_controller_check() finds no controller;
 *  - commands answered at once: every command Linux waits on gets its reply
 *    byte, since a missing reply costs it a 500 ms timeout;
 *  - 0xd1 with a parameter (platform init writes the output port to turn A20
 *    on) and the null command 0xff;
 *  - self-test 0xaa -> 0x55, read/write the command byte (0x20 / 0x60);
 *  - without i8042.noaux / i8042.nomux, AUX probes that fail fast (0xd3).
 * Writes to the data port that are not a command's parameter would go to the
 * keyboard; with dumbkbd Linux sends none, and they are dropped.
 *
 * Locking: vCPU threads only; kbc->lock guards the state.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../vmm/bus.h"
#include "../vmm/layout.h"
#include "../vmm/log.h"
#include "../vmm/state.h"
#include "i8042.h"

/* Status register */
#define STR_OBF 0x01
#define STR_SYS 0x04		/* copy of the command byte's system flag */
#define STR_CMD 0x08		/* last write went to the command port */
#define STR_KEYLOCK 0x10	/* 1: keyboard not inhibited by the key lock */
#define STR_AUXDATA 0x20

/* Command byte (CTR) */
#define CTR_KBDINT 0x01
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40

/* Output port */
#define OUT_RESET 0x01		/* active low: 0 holds the CPU in reset */
#define OUT_A20 0x02

#define CMD_READ_CTR 0x20
#define CMD_READ_RAM_END 0x3f
#define CMD_WRITE_CTR 0x60
#define CMD_WRITE_RAM_END 0x7f
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_INPUT 0xc0
#define CMD_READ_OUTPUT 0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_WRITE_KBD_OBUF 0xd2
#define CMD_WRITE_AUX_OBUF 0xd3
#define CMD_WRITE_AUX 0xd4
#define CMD_PULSE_FIRST 0xf0

#define SELF_TEST_OK 0x55
#define PORT_TEST_OK 0x00
#define PORT_TEST_CLOCK_HIGH 0x02	/* what a controller with nothing attached may say */
#define INPUT_PORT_NOT_INHIBITED 0x80

struct i8042 {
	pthread_mutex_t lock;
	struct machine_ctl ctl;
	uint8_t ctr, outport;
	uint8_t obuf;
	bool obf, obuf_aux, last_was_cmd;
	uint8_t ram[CMD_READ_RAM_END - CMD_READ_CTR];	/* bytes 1-31 of controller RAM */
	uint8_t param_cmd;				/* command awaiting its data byte, or 0 */
};

static void kbc_reply(struct i8042 *kbc, uint8_t val, bool aux)
{
	kbc->obuf = val;
	kbc->obuf_aux = aux;
	kbc->obf = true;
}

static void kbc_reset_cpu(struct i8042 *kbc)
{
	machine_request_exit(&kbc->ctl, EXIT_REBOOT);
}

static void kbc_command(struct i8042 *kbc, uint8_t cmd)
{
	kbc->param_cmd = 0;
	if (cmd == CMD_READ_CTR) {
		kbc_reply(kbc, kbc->ctr, false);
	} else if (cmd > CMD_READ_CTR && cmd <= CMD_READ_RAM_END) {
		kbc_reply(kbc, kbc->ram[cmd - CMD_READ_CTR - 1], false);
	} else if (cmd >= CMD_WRITE_CTR && cmd <= CMD_WRITE_RAM_END) {
		kbc->param_cmd = cmd;
	} else if (cmd >= CMD_PULSE_FIRST) {
		/* Pulse output port bits 0-3 whose mask bit is 0: bit 0 is the reset line. */
		if (!(cmd & OUT_RESET))
			kbc_reset_cpu(kbc);
	} else {
		switch (cmd) {
		case CMD_AUX_DISABLE:
			kbc->ctr |= CTR_AUXDIS;
			break;
		case CMD_AUX_ENABLE:
			kbc->ctr &= ~CTR_AUXDIS;
			break;
		case CMD_AUX_TEST:
			/* Nothing on the AUX port: fail its test so no mouse is expected. */
			kbc_reply(kbc, PORT_TEST_CLOCK_HIGH, false);
			break;
		case CMD_SELF_TEST:
			kbc_reply(kbc, SELF_TEST_OK, false);
			break;
		case CMD_KBD_TEST:
			kbc_reply(kbc, PORT_TEST_OK, false);
			break;
		case CMD_KBD_DISABLE:
			kbc->ctr |= CTR_KBDDIS;
			break;
		case CMD_KBD_ENABLE:
			kbc->ctr &= ~CTR_KBDDIS;
			break;
		case CMD_READ_INPUT:
			kbc_reply(kbc, INPUT_PORT_NOT_INHIBITED, false);
			break;
		case CMD_READ_OUTPUT:
			kbc_reply(kbc, kbc->outport, false);
			break;
		case CMD_WRITE_OUTPUT:
		case CMD_WRITE_KBD_OBUF:
		case CMD_WRITE_AUX_OBUF:
		case CMD_WRITE_AUX:
			kbc->param_cmd = cmd;
			break;
		default:
			pr_debug("i8042: unhandled command %#x", cmd);
			break;
		}
	}
}

static void kbc_data(struct i8042 *kbc, uint8_t val)
{
	uint8_t cmd = kbc->param_cmd;

	kbc->param_cmd = 0;
	if (cmd == CMD_WRITE_CTR) {
		kbc->ctr = val;
	} else if (cmd > CMD_WRITE_CTR && cmd <= CMD_WRITE_RAM_END) {
		kbc->ram[cmd - CMD_WRITE_CTR - 1] = val;
	} else if (cmd == CMD_WRITE_OUTPUT) {
		/* A20 cannot be turned off under KVM; only the reset line matters. */
		kbc->outport = val | OUT_RESET;
		if (!(val & OUT_RESET))
			kbc_reset_cpu(kbc);
	} else if (cmd == CMD_WRITE_KBD_OBUF) {
		kbc_reply(kbc, val, false);
	} else if (cmd == CMD_WRITE_AUX_OBUF) {
		/*
		 * Reply at once but without STR_AUXDATA: Linux's AUX and MUX
		 * probes (i8042_check_aux(), i8042_set_mux_mode()) then fail
		 * immediately instead of waiting 500 ms for a reply.
		 */
		kbc_reply(kbc, val, false);
	} else if (cmd == CMD_WRITE_AUX) {
		/* No AUX device: the byte goes nowhere. */
	} else {
		pr_debug("i8042: keyboard byte %#x dropped: no keyboard", val);
	}
}

static uint8_t kbc_status(const struct i8042 *kbc)
{
	uint8_t s = STR_KEYLOCK;

	if (kbc->obf)
		s |= STR_OBF | (kbc->obuf_aux ? STR_AUXDATA : 0);
	if (kbc->ctr & CTR_SYS)
		s |= STR_SYS;
	if (kbc->last_was_cmd)
		s |= STR_CMD;
	/* IBF is never set: every write is handled before the guest can look. */
	return s;
}

static void kbc_io(struct i8042 *kbc, bool cmd_port, uint8_t *data, uint32_t len, bool is_write)
{
	/* Both registers are one byte; a wider access touches only the first. */
	if (len < 1)
		return;
	pthread_mutex_lock(&kbc->lock);
	if (is_write) {
		kbc->last_was_cmd = cmd_port;
		if (cmd_port)
			kbc_command(kbc, data[0]);
		else
			kbc_data(kbc, data[0]);
	} else if (cmd_port) {
		data[0] = kbc_status(kbc);
	} else {
		/* With OBF clear a real 8042 returns its last byte again. */
		data[0] = kbc->obuf;
		kbc->obf = false;
	}
	pthread_mutex_unlock(&kbc->lock);
}

static void kbc_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	kbc_io(opaque, false, data, len, is_write);
}

static void kbc_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	kbc_io(opaque, true, data, len, is_write);
}

/*
 * State node: command-byte, output-port, output-buffer, status (the status
 * register as the guest reads it: OBF, AUXDATA and the command/data flag
 * are kept there), pending-command (0 when none) and ram (bytes 1-31).
 */
int i8042_save(struct i8042 *kbc, void *fdt)
{
	int ret;

	pthread_mutex_lock(&kbc->lock);
	ret = state_put_u32(fdt, "command-byte", kbc->ctr);
	if (!ret)
		ret = state_put_u32(fdt, "output-port", kbc->outport);
	if (!ret)
		ret = state_put_u32(fdt, "output-buffer", kbc->obuf);
	if (!ret)
		ret = state_put_u32(fdt, "status", kbc_status(kbc));
	if (!ret)
		ret = state_put_u32(fdt, "pending-command", kbc->param_cmd);
	if (!ret)
		ret = state_put_blob(fdt, "ram", kbc->ram, sizeof(kbc->ram));
	pthread_mutex_unlock(&kbc->lock);
	return ret;
}

/* Commands whose data byte kbc_command() waits for. */
static bool takes_parameter(uint32_t cmd)
{
	return (cmd >= CMD_WRITE_CTR && cmd <= CMD_WRITE_RAM_END) ||
	       (cmd >= CMD_WRITE_OUTPUT && cmd <= CMD_WRITE_AUX);
}

static int get_byte(const void *fdt, int node, const char *name, uint32_t *v)
{
	int ret = state_get_u32(fdt, node, name, v);

	if (ret)
		return ret;
	if (*v > 0xff)
		return state_fail("i8042/%s: %#x is not a byte", name, *v);
	return 0;
}

int i8042_restore(struct i8042 *kbc, const void *fdt, int node)
{
	const uint32_t str_bits = STR_OBF | STR_SYS | STR_CMD | STR_KEYLOCK | STR_AUXDATA;
	uint8_t ram[sizeof(kbc->ram)];
	uint32_t ctr, outport, obuf, str, cmd;
	int ret;

	ret = get_byte(fdt, node, "command-byte", &ctr);
	if (!ret)
		ret = get_byte(fdt, node, "output-port", &outport);
	if (!ret)
		ret = get_byte(fdt, node, "output-buffer", &obuf);
	if (!ret)
		ret = get_byte(fdt, node, "status", &str);
	if (!ret)
		ret = get_byte(fdt, node, "pending-command", &cmd);
	if (!ret)
		ret = state_get_blob(fdt, node, "ram", ram, sizeof(ram));
	if (ret)
		return ret;
	/* The reset line is forced high on every output port write (kbc_data()). */
	if (!(outport & OUT_RESET))
		return state_fail("i8042/output-port: %#x holds the CPU in reset", outport);
	/* kbc_status() derives SYS from the command byte and always sets KEYLOCK. */
	if ((str & ~str_bits) || !(str & STR_KEYLOCK) ||
	    !(str & STR_SYS) != !(ctr & CTR_SYS) ||
	    ((str & STR_AUXDATA) && !(str & STR_OBF)))
		return state_fail("i8042/status: %#x is not a status this controller shows "
				  "with command byte %#x", str, ctr);
	if (cmd && !takes_parameter(cmd))
		return state_fail("i8042/pending-command: %#x takes no data byte", cmd);

	pthread_mutex_lock(&kbc->lock);
	kbc->ctr = ctr;
	kbc->outport = outport;
	kbc->obuf = obuf;
	kbc->obf = str & STR_OBF;
	kbc->obuf_aux = str & STR_AUXDATA;
	kbc->last_was_cmd = str & STR_CMD;
	kbc->param_cmd = cmd;
	memcpy(kbc->ram, ram, sizeof(ram));
	pthread_mutex_unlock(&kbc->lock);
	return 0;
}

int i8042_register(struct i8042 *kbc, struct bus *pio)
{
	int ret;

	ret = bus_register(pio, PORT_I8042_DATA, 1, kbc_data_io, kbc, "i8042-data");
	if (ret)
		return ret;
	ret = bus_register(pio, PORT_I8042_CMD, 1, kbc_cmd_io, kbc, "i8042-cmd");
	if (ret)
		bus_unregister(pio, PORT_I8042_DATA, kbc);
	return ret;
}

struct i8042 *i8042_create(struct machine_ctl ctl)
{
	struct i8042 *kbc = calloc(1, sizeof(*kbc));

	if (!kbc)
		return NULL;
	if (pthread_mutex_init(&kbc->lock, NULL)) {
		free(kbc);
		return NULL;
	}
	kbc->ctl = ctl;
	/* What a BIOS leaves after POST: translated keyboard interrupt, system flag set. */
	kbc->ctr = CTR_KBDINT | CTR_SYS | CTR_XLATE | CTR_AUXDIS;
	kbc->outport = OUT_RESET | OUT_A20;
	return kbc;
}

void i8042_destroy(struct i8042 *kbc)
{
	if (!kbc)
		return;
	pthread_mutex_destroy(&kbc->lock);
	free(kbc);
}
