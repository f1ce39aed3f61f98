// SPDX-License-Identifier: GPL-2.0
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <linux/pci_regs.h>

#include "devices/msix.h"
#include "devices/pci.h"

#define NVEC 70 /* more than 64: the PBA spans two qwords */

static struct pci_device pdev;
static struct msix m;
static int sends, changes;
static unsigned int last_vector, last_changed;
static uint64_t last_addr;
static uint32_t last_data;

static void on_send(void *opaque, unsigned int v, uint64_t addr, uint32_t data)
{
	sends++;
	last_vector = v;
	last_addr = addr;
	last_data = data;
}

static void on_changed(void *opaque, unsigned int v)
{
	changes++;
	last_changed = v;
}

static const struct msix_ops ops = {.send = on_send, .changed = on_changed};

static void setup(void)
{
	struct pci_id id = {.vendor = 1, .device = 2};

	sends = changes = 0;
	pci_device_init(&pdev, "msix", &id, NULL, NULL);
	cr_assert_eq(msix_init(&m, &pdev, NVEC, 1, 0x0, 1, 0x800, &ops, NULL), 0);
}

static void teardown(void)
{
	msix_destroy(&m);
	pci_device_destroy(&pdev);
}

TestSuite(msix, .init = setup, .fini = teardown);

static void ctrl_write(uint16_t v)
{
	/* What pci.c stores for a guest write: the table size is read-only. */
	pci_cfg_set16(&pdev, m.cap + PCI_MSIX_FLAGS, (NVEC - 1) | v);
	msix_config_write(&m, m.cap + PCI_MSIX_FLAGS, 2);
}

static void entry_write(unsigned int v, unsigned int word, uint32_t val)
{
	msix_table_io(&m, v * 16 + word * 4, (uint8_t *)&val, 4, true);
}

static uint64_t pba_read(unsigned int q)
{
	uint64_t v = ~0ULL;

	msix_pba_io(&m, q * 8, (uint8_t *)&v, 8, false);
	return v;
}

static void program(unsigned int v, uint64_t addr, uint32_t data)
{
	uint64_t a = addr;

	msix_table_io(&m, v * 16, (uint8_t *)&a, 8, true);
	entry_write(v, 2, data);
}

Test(msix, capability_layout)
{
	cr_assert_eq(pci_find_capability(&pdev, PCI_CAP_ID_MSIX), m.cap);
	cr_assert_eq(pci_cfg_get(&pdev, m.cap + PCI_MSIX_FLAGS, 2), NVEC - 1);
	cr_assert_eq(pci_cfg_get(&pdev, m.cap + PCI_MSIX_TABLE, 4), 0x0 | 1);
	cr_assert_eq(pci_cfg_get(&pdev, m.cap + PCI_MSIX_PBA, 4), 0x800 | 1);
	cr_assert_eq(msix_pba_size(NVEC), 16);
	cr_assert_eq(msix_table_size(NVEC), NVEC * 16);
	/* Only enable and function mask are writable. */
	cr_assert_eq(pci_cfg_get(&pdev, m.cap + PCI_MSIX_FLAGS, 2) | 0xc000,
		     (unsigned)((pdev.wmask[m.cap + 3] << 8) | (NVEC - 1)));
}

Test(msix, vectors_start_masked_and_disabled_drops)
{
	uint32_t ctrl = 0;
	unsigned int i;

	for (i = 0; i < NVEC; i++)
		cr_assert(msix_vector_masked(&m, i));
	msix_table_io(&m, 5 * 16 + 12, (uint8_t *)&ctrl, 4, false);
	cr_assert_eq(ctrl, PCI_MSIX_ENTRY_CTRL_MASKBIT);
	entry_write(0, 3, 0);
	cr_assert(!msix_notify(&m, 0));
	cr_assert_eq(sends, 0);
	cr_assert_eq(pba_read(0), 0);
}

Test(msix, unmasked_vector_sends)
{
	ctrl_write(PCI_MSIX_FLAGS_ENABLE);
	cr_assert(m.enabled);
	cr_assert_eq(last_changed, MSIX_ALL_VECTORS);
	program(3, 0xfee01000, 0x4041);
	entry_write(3, 3, 0);
	cr_assert(msix_notify(&m, 3));
	cr_assert_eq(sends, 1);
	cr_assert_eq(last_vector, 3);
	cr_assert_eq(last_addr, 0xfee01000);
	cr_assert_eq(last_data, 0x4041);
	cr_assert(!msix_notify(&m, NVEC));
	cr_assert(!msix_notify(&m, 0xffff));
	cr_assert_eq(sends, 1);
}

Test(msix, masked_vector_pends_and_unmask_delivers_once)
{
	ctrl_write(PCI_MSIX_FLAGS_ENABLE);
	program(66, 0xfee00000, 0x31);
	cr_assert(msix_notify(&m, 66));
	cr_assert(msix_notify(&m, 66));
	cr_assert_eq(sends, 0);
	cr_assert_eq(pba_read(1), 1ULL << 2);
	cr_assert(msix_pending(&m, 66));
	entry_write(66, 3, 0);
	cr_assert_eq(sends, 1);
	cr_assert_eq(last_vector, 66);
	cr_assert_eq(last_data, 0x31);
	cr_assert_eq(pba_read(1), 0);
	/* Unmasking again (already unmasked) sends nothing more. */
	entry_write(66, 3, 0);
	entry_write(66, 3, 1);
	entry_write(66, 3, 0);
	cr_assert_eq(sends, 1);
}

Test(msix, function_mask)
{
	ctrl_write(PCI_MSIX_FLAGS_ENABLE);
	program(1, 0xfee00000, 0x22);
	entry_write(1, 3, 0);
	ctrl_write(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	cr_assert(msix_vector_masked(&m, 1));
	cr_assert(msix_notify(&m, 1));
	cr_assert_eq(sends, 0);
	cr_assert_eq(pba_read(0), 2);
	ctrl_write(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(sends, 1);
	cr_assert_eq(pba_read(0), 0);
	/* A vector still masked on its own stays pending after the function mask lifts. */
	ctrl_write(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	msix_notify(&m, 2);
	ctrl_write(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(sends, 1);
	cr_assert(msix_pending(&m, 2));
}

Test(msix, message_changes_are_reported)
{
	int before = changes;

	program(7, 0xfee00000, 0x55);
	cr_assert(changes > before);
	cr_assert_eq(last_changed, 7);
	/* The low two address bits are not stored. */
	entry_write(7, 0, 0xfee00003);
	{
		uint64_t a;
		uint32_t d;

		msix_vector_msg(&m, 7, &a, &d);
		cr_assert_eq(a, 0xfee00000);
		cr_assert_eq(d, 0x55);
	}
}

Test(msix, malformed_accesses)
{
	uint8_t buf[8];
	uint16_t w = 0;
	uint64_t q = ~0ULL;

	memset(buf, 0xaa, sizeof(buf));
	/* Byte and word accesses do nothing; reads give 0. */
	msix_table_io(&m, 12, buf, 1, true);
	msix_table_io(&m, 12, (uint8_t *)&w, 2, false);
	cr_assert_eq(w, 0);
	cr_assert(msix_vector_masked(&m, 0));
	/* Misaligned qword, past the table. */
	msix_table_io(&m, 4, buf, 8, true);
	msix_table_io(&m, NVEC * 16, buf, 4, true);
	msix_table_io(&m, ~0ULL - 3, buf, 4, true);
	/* The PBA is read-only. */
	msix_pba_io(&m, 0, (uint8_t *)&q, 8, true);
	cr_assert_eq(pba_read(0), 0);
	msix_pba_io(&m, 4096, (uint8_t *)&q, 8, false);
	cr_assert_eq(q, 0);
	cr_assert_eq(sends, 0);
	msix_destroy(&m);
	cr_assert_eq(msix_init(&m, &pdev, 0, 1, 0, 1, 0, &ops, NULL), -EINVAL);
	cr_assert_eq(msix_init(&m, &pdev, 4, 1, 4, 1, 0, &ops, NULL), -EINVAL);
	/* msix_init failed and left m empty; give teardown something valid. */
	cr_assert_eq(msix_init(&m, &pdev, 1, 1, 0, 1, 0x800, &ops, NULL), 0);
}

Test(msix, reset_masks_everything)
{
	ctrl_write(PCI_MSIX_FLAGS_ENABLE);
	entry_write(4, 3, 0);
	msix_reset(&m);
	cr_assert(!m.enabled);
	cr_assert(msix_vector_masked(&m, 4));
	cr_assert_eq(pci_cfg_get(&pdev, m.cap + PCI_MSIX_FLAGS, 2), NVEC - 1);
}
