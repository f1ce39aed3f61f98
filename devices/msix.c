// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/pci_regs.h>

#include "../vmm/state.h"
#include "msix.h"
#include "pci.h"

#define ENTRY_ADDR_LO 0
#define ENTRY_ADDR_HI 1
#define ENTRY_DATA 2
#define ENTRY_CTRL 3

uint32_t msix_table_size(unsigned int nr)
{
	return nr * MSIX_ENTRY_SIZE;
}

uint32_t msix_pba_size(unsigned int nr)
{
	return (nr + 63) / 64 * 8;
}

int msix_init(struct msix *m, struct pci_device *pdev, unsigned int nr, int table_bar,
	      uint32_t table_off, int pba_bar, uint32_t pba_off, const struct msix_ops *ops,
	      void *opaque)
{
	unsigned int i;
	int pos;

	memset(m, 0, sizeof(*m));
	if (!nr || nr > MSIX_MAX_VECTORS || table_bar < 0 || table_bar >= PCI_NR_BARS ||
	    pba_bar < 0 || pba_bar >= PCI_NR_BARS || (table_off & 7) || (pba_off & 7))
		return -EINVAL;
	m->table = calloc(nr, sizeof(*m->table));
	m->pba = calloc(msix_pba_size(nr) / 8, sizeof(*m->pba));
	if (!m->table || !m->pba)
		goto err;
	pos = pci_add_capability(pdev, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
	if (pos < 0)
		goto err;
	m->pdev = pdev;
	m->cap = pos;
	m->nr = nr;
	m->ops = ops;
	m->opaque = opaque;
	/* Every vector starts masked (PCI 3.0, 6.8.2.9). */
	for (i = 0; i < nr; i++)
		m->table[i][ENTRY_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	pci_cfg_set16(pdev, pos + PCI_MSIX_FLAGS, nr - 1);
	pci_wmask_set(pdev, pos + PCI_MSIX_FLAGS, 2,
		      PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_cfg_set32(pdev, pos + PCI_MSIX_TABLE, table_off | table_bar);
	pci_cfg_set32(pdev, pos + PCI_MSIX_PBA, pba_off | pba_bar);
	return 0;
err:
	free(m->table);
	free(m->pba);
	m->table = NULL;
	m->pba = NULL;
	return -ENOMEM;
}

void msix_destroy(struct msix *m)
{
	free(m->table);
	free(m->pba);
	m->table = NULL;
	m->pba = NULL;
}

bool msix_vector_masked(const struct msix *m, unsigned int vector)
{
	if (vector >= m->nr)
		return true;
	return m->fmask || (m->table[vector][ENTRY_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

void msix_vector_msg(const struct msix *m, unsigned int vector, uint64_t *addr, uint32_t *data)
{
	if (vector >= m->nr) {
		*addr = 0;
		*data = 0;
		return;
	}
	*addr = m->table[vector][ENTRY_ADDR_LO] | (uint64_t)m->table[vector][ENTRY_ADDR_HI] << 32;
	*data = m->table[vector][ENTRY_DATA];
}

bool msix_pending(const struct msix *m, unsigned int vector)
{
	return vector < m->nr && (m->pba[vector / 64] >> (vector % 64)) & 1;
}

static void send(struct msix *m, unsigned int vector)
{
	uint64_t addr;
	uint32_t data;

	msix_vector_msg(m, vector, &addr, &data);
	if (m->ops && m->ops->send)
		m->ops->send(m->opaque, vector, addr, data);
}

bool msix_notify(struct msix *m, unsigned int vector)
{
	if (!m->enabled || vector >= m->nr)
		return false;
	if (msix_vector_masked(m, vector))
		m->pba[vector / 64] |= 1ULL << (vector % 64);
	else
		send(m, vector);
	return true;
}

/* A vector just became deliverable: its pending message goes out, once (PCI 3.0, 6.8.2.9). */
static void flush_pending(struct msix *m, unsigned int vector)
{
	if (!m->enabled || msix_vector_masked(m, vector) || !msix_pending(m, vector))
		return;
	m->pba[vector / 64] &= ~(1ULL << (vector % 64));
	send(m, vector);
}

static void changed(struct msix *m, unsigned int vector)
{
	if (m->ops && m->ops->changed)
		m->ops->changed(m->opaque, vector);
}

void msix_config_write(struct msix *m, uint32_t off, uint32_t len)
{
	uint32_t reg = m->cap + PCI_MSIX_FLAGS;
	uint16_t ctrl;
	bool enabled, fmask;
	unsigned int i;

	if (!m->table || off >= reg + 2 || off + len <= reg)
		return;
	ctrl = pci_cfg_get(m->pdev, reg, 2);
	enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
	fmask = ctrl & PCI_MSIX_FLAGS_MASKALL;
	if (enabled == m->enabled && fmask == m->fmask)
		return;
	m->enabled = enabled;
	m->fmask = fmask;
	changed(m, MSIX_ALL_VECTORS);
	for (i = 0; i < m->nr; i++)
		flush_pending(m, i);
}

void msix_table_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	unsigned int vector = off / MSIX_ENTRY_SIZE, word = (off % MSIX_ENTRY_SIZE) / 4;
	uint32_t v[2] = {0, 0};
	bool was_masked;
	unsigned int i;

	/* Dword or aligned qword accesses only (PCI 3.0, 6.8.2): others are dropped. */
	if ((len != 4 && len != 8) || (off & (len - 1)) || off >= msix_table_size(m->nr)) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write) {
		for (i = 0; i < len / 4; i++)
			v[i] = m->table[vector][word + i];
		memcpy(data, v, len);
		return;
	}
	memcpy(v, data, len);
	was_masked = msix_vector_masked(m, vector);
	for (i = 0; i < len / 4; i++) {
		uint32_t *w = &m->table[vector][word + i];

		switch (word + i) {
		case ENTRY_ADDR_LO:
			*w = v[i] & ~3u; /* dword-aligned messages */
			break;
		case ENTRY_CTRL:
			*w = v[i] & PCI_MSIX_ENTRY_CTRL_MASKBIT;
			break;
		default:
			*w = v[i];
		}
	}
	changed(m, vector);
	if (was_masked)
		flush_pending(m, vector);
}

void msix_pba_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	uint64_t q;

	/* Read-only; writes are ignored (PCI 3.0, 6.8.2.10). */
	if (is_write)
		return;
	if ((len != 4 && len != 8) || (off & (len - 1)) || off >= msix_pba_size(m->nr)) {
		memset(data, 0, len);
		return;
	}
	q = m->pba[off / 8] >> (8 * (off % 8));
	memcpy(data, &q, len);
}

void msix_reset(struct msix *m)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++) {
		memset(m->table[i], 0, sizeof(m->table[i]));
		m->table[i][ENTRY_CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	memset(m->pba, 0, msix_pba_size(m->nr));
	pci_cfg_set16(m->pdev, m->cap + PCI_MSIX_FLAGS, m->nr - 1);
	m->enabled = false;
	m->fmask = false;
	changed(m, MSIX_ALL_VECTORS);
}

int msix_save(const struct msix *m, void *fdt)
{
	int ret = state_put_blob(fdt, "msix-table", m->table, msix_table_size(m->nr));

	if (!ret)
		ret = state_put_blob(fdt, "msix-pba", m->pba, msix_pba_size(m->nr));
	return ret;
}

int msix_check_state(const struct msix *m, const void *fdt, int node)
{
	const uint8_t *t, *p;
	size_t tlen, plen;
	uint32_t e[4];
	uint64_t last;
	unsigned int i;

	t = state_get_var(fdt, node, "msix-table", &tlen);
	if (!t)
		return -EINVAL;
	p = state_get_var(fdt, node, "msix-pba", &plen);
	if (!p)
		return -EINVAL;
	if (tlen != msix_table_size(m->nr) || plen != msix_pba_size(m->nr))
		return state_fail("msix: %zu-byte table, %zu-byte PBA: this device has %u vectors",
				  tlen, plen, m->nr);
	for (i = 0; i < m->nr; i++) {
		memcpy(e, t + i * MSIX_ENTRY_SIZE, sizeof(e));
		/* Bits msix_table_io() never stores: not something a guest could have written. */
		if ((e[ENTRY_ADDR_LO] & 3) || (e[ENTRY_CTRL] & ~PCI_MSIX_ENTRY_CTRL_MASKBIT))
			return state_fail("msix: vector %u has reserved bits set", i);
	}
	memcpy(&last, p + plen - 8, 8);
	if (m->nr % 64 && last >> (m->nr % 64))
		return state_fail("msix: pending bits past vector %u", m->nr - 1);
	return 0;
}

void msix_load_state(struct msix *m, const void *fdt, int node)
{
	uint16_t ctrl;

	/* Checked by msix_check_state(): cannot fail here. */
	state_get_blob(fdt, node, "msix-table", m->table, msix_table_size(m->nr));
	state_get_blob(fdt, node, "msix-pba", m->pba, msix_pba_size(m->nr));
	ctrl = pci_cfg_get(m->pdev, m->cap + PCI_MSIX_FLAGS, 2);
	m->enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
	m->fmask = ctrl & PCI_MSIX_FLAGS_MASKALL;
	changed(m, MSIX_ALL_VECTORS);
}
