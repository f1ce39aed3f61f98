// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: random configuration-space, BAR and port accesses, and
 * device callbacks, against a virtio-pci transport with a mock device and a
 * fake KVM. Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     tests/fuzz/fuzz_virtio_pci.c devices/pci.c devices/msix.c devices/virtio_pci*.c \
 *     vmm/bus.c vmm/memory.c vmm/log.c -lpthread -o fuzz_virtio_pci
 * Run: ./fuzz_virtio_pci -max_total_time=20 -max_len=2048 corpus/
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "devices/virtio_pci.h"
#include "vmm/bus.h"
#include "vmm/layout.h"
#include "vmm/memory.h"

#define NQ 3
#define SLOT 2

static uint8_t dev_config[12];
static int started;
static int call_fd[NQ];

static unsigned int m_num_queues(void *dev)
{
	return NQ;
}

static uint16_t m_queue_max(void *dev, unsigned int q)
{
	return 64 << q;
}

static uint64_t m_get_features(void *dev)
{
	return (1ULL << 32) | (1ULL << 34) | 0x3;
}

static int m_set_features(void *dev, uint64_t f)
{
	return (f & 2) ? -1 : 0; /* the device refuses one combination */
}

static void m_config_read(void *dev, uint32_t off, uint8_t *buf, uint32_t len)
{
	if (off + len > sizeof(dev_config))
		abort();
	memcpy(buf, dev_config + off, len);
}

static void m_config_write(void *dev, uint32_t off, const uint8_t *buf, uint32_t len)
{
	if (off + len > sizeof(dev_config))
		abort();
	memcpy(dev_config + off, buf, len);
}

static int m_start(void *dev, const struct virtio_queue_info *q, unsigned int nq)
{
	unsigned int i;

	if (started || nq != NQ)
		abort();
	for (i = 0; i < nq; i++)
		if (q[i].enabled && (!q[i].size || q[i].size > (64 << i)))
			abort();
	for (i = 0; i < nq; i++)
		call_fd[i] = q[i].call_fd;
	started = 1;
	return 0;
}

static void m_stop(void *dev)
{
	if (!started)
		abort();
	started = 0;
}

static const struct virtio_dev_ops mock_ops = {
	.name = "fuzz",
	.device_id = 1,
	.config_size = sizeof(dev_config),
	.num_queues = m_num_queues,
	.queue_max_size = m_queue_max,
	.get_features = m_get_features,
	.set_features = m_set_features,
	.config_read = m_config_read,
	.config_write = m_config_write,
	.start = m_start,
	.stop = m_stop,
};

static int routes;

static int f_route_add(void *ctx, uint64_t addr, uint32_t data)
{
	return 24 + routes++;
}

static int f_route_update(void *ctx, uint32_t gsi, uint64_t addr, uint32_t data)
{
	return 0;
}

static void f_route_del(void *ctx, uint32_t gsi)
{
	routes--;
}

static int f_irqfd(void *ctx, int fd, uint32_t gsi, bool assign)
{
	return 0;
}

static int f_signal(void *ctx, uint64_t addr, uint32_t data)
{
	return 0;
}

static int f_ioeventfd(void *ctx, uint64_t addr, uint32_t len, bool pio, int fd, bool assign)
{
	return 0;
}

static const struct kvm_glue glue = {
	f_route_add, f_route_update, f_route_del, f_irqfd, f_signal, f_ioeventfd, NULL,
};

static void set_irq(void *opaque, uint32_t gsi, int level)
{
}

static struct guest_memory mem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct virtio_pci_params p = {
		.name = "fuzz",
		.ops = &mock_ops,
		.mem = &mem,
		.kvm = &glue,
		.manual_service = true,
	};
	struct bus pio, mmio;
	struct pci_bus pb;
	struct virtio_pci *vp;
	struct virtio_transport t;

	if (!init) {
		if (guest_memory_init(&mem, 2 << 20, false))
			abort();
		init = true;
	}
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	pci_bus_init(&pb, &pio, &mmio, set_irq, NULL);
	pci_bus_register(&pb, NULL, NULL);
	vp = virtio_pci_create(&p);
	if (!vp || virtio_pci_add(vp, &pb, SLOT) != SLOT)
		abort();
	t = virtio_pci_transport(vp);

	/* Each operation: op, 2 offset bytes, 8 value bytes. */
	while (size >= 11) {
		uint8_t op = data[0], buf[8];
		uint32_t off = data[1] | data[2] << 8, len = 1u << ((op >> 4) & 3);
		uint64_t base;

		memcpy(buf, data + 3, 8);
		data += 11;
		size -= 11;
		switch (op & 0xf) {
		case 0: /* configuration space through ECAM, extended range included */
		case 1:
			if (len <= 4)
				pci_config_access(&pb, 0, SLOT, 0, off & 0xfff, buf, len, op & 1,
						  PCI_CFG_EXT_SIZE);
			break;
		case 2: /* mostly into the virtio structures */
		case 3:
			base = pci_cfg_get(virtio_pci_pdev(vp), 0x10, 4) & ~0xfULL;
			base |= (uint64_t)pci_cfg_get(virtio_pci_pdev(vp), 0x14, 4) << 32;
			bus_access(&mmio, base + (off & 0x3fff) - (op & 0x80 ? 8 : 0), buf, len,
				   op & 1);
			break;
		case 4: /* the MSI-X BAR */
		case 5:
			base = pci_cfg_get(virtio_pci_pdev(vp), 0x18, 4) & ~0xfULL;
			bus_access(&mmio, base + (off & 0x1fff), buf, len, op & 1);
			break;
		case 6: /* the type 1 ports */
		case 7:
			bus_access(&pio, 0xcf8 + (off & 7), buf, len > 4 ? 4 : len, op & 1);
			break;
		case 8:
			virtio_pci_service(vp);
			break;
		case 9:
			t.config_changed(t.transport);
			break;
		case 10:
			t.device_error(t.transport, "fuzz");
			break;
		case 11: { /* the backend interrupts the guest on a queue */
			uint64_t one = 1;

			if (started && write(call_fd[off % NQ], &one, sizeof(one)) < 0)
				abort();
			break;
		}
		default: /* anywhere on the MMIO bus */
			bus_access(&mmio, PCI_MMIO32_BASE + (off << 4), buf, len, op & 1);
			break;
		}
	}
	pci_bus_destroy(&pb);
	virtio_pci_destroy(vp);
	if (started || routes)
		abort();
	bus_destroy(&pio);
	bus_destroy(&mmio);
	return 0;
}
