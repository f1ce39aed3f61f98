// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "boot.h"
#include "console.h"
#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/legacy_sinks.h"
#include "devices/rtc.h"
#include "devices/net_backend.h"
#include "devices/net_slirp.h"
#include "devices/net_tap.h"
#include "devices/net_vhost.h"
#include "devices/uart.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
#include "devices/virtio_net_log.h"
#include "exitcode.h"
#include "fdcheck.h"
#include "firmware/firmware.h"
#include "incoming.h"
#include "layout.h"
#include "log.h"
#include "migrate.h"
#include "seccomp.h"
#include "vm.h"
#include "vm_api.h"

/* What every kvmini guest gets: the console on the UART, no probing of absent hardware. */
#define DEFAULT_CMDLINE "console=ttyS0 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.nopnp " \
			"i8042.dumbkbd"

void vm_request_exit(struct vm *vm, int status)
{
	uint64_t one = 1;
	bool expected = false;

	if (!__atomic_compare_exchange_n(&vm->stopping, &expected, true, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return;
	vm->exit_status = status;
	if (write(vm->exit_efd, &one, sizeof(one)) < 0)
		pr_err("cannot signal the main loop: %s", strerror(errno));
}

static void ctl_request_exit(void *opaque, enum kvmini_exit why)
{
	vm_request_exit(opaque, why);
}

static void ctl_request_exit_status(void *opaque, int status)
{
	vm_request_exit(opaque, status);
}

static void on_exit_event(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;

	if (read(vm->exit_efd, &v, sizeof(v)) < 0)
		return;
	vm->loop.stop = true;
}

static void on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	while (read(vm->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		pr_warn("%s: stopping the guest", strsignal(si.ssi_signo));
		/* The shell convention for a death by signal, but reached cleanly. */
		vm_request_exit(vm, 128 + si.ssi_signo);
	}
}

static void on_link_timer(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t ticks;
	unsigned int i;

	if (read(vm->link_timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	for (i = 0; i < vm->nr_nics; i++)
		virtio_net_check_link(vm->nics[i].net);
}

/*
 * A tap deleted under a vhost-net NIC is seen by nobody but this check
 * (the userspace data path notices it on its own, at the next read or
 * write); one ioctl per NIC a second, only when some NIC has a tap.
 */
static void setup_link_watch(struct vm *vm)
{
	struct itimerspec its = {.it_interval.tv_sec = 1, .it_value.tv_sec = 1};
	bool any = false;
	unsigned int i;

	for (i = 0; i < vm->nr_nics; i++)
		any |= virtio_net_has_link_check(vm->nics[i].net);
	if (!any)
		return;
	vm->link_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vm->link_timer_fd < 0 || timerfd_settime(vm->link_timer_fd, 0, &its, NULL) ||
	    loop_add(&vm->loop, vm->link_timer_fd, EPOLLIN, on_link_timer, vm))
		die("cannot set up the NIC link check: %s", strerror(errno));
}

static int compose_cmdline(const struct vm *vm, char **out)
{
	const struct vm_config *cfg = vm->cfg;
	char quirk_params[256] = "";
	int n;

	if (cfg->default_cmdline)
		quirks_kernel_params(&vm->quirks, quirk_params, sizeof(quirk_params));
	n = asprintf(out, "%s%s%s%s%s", cfg->default_cmdline ? DEFAULT_CMDLINE : "",
		     quirk_params[0] ? " " : "", quirk_params,
		     cfg->cmdline && cfg->default_cmdline ? " " : "", cfg->cmdline ? cfg->cmdline : "");
	return n < 0 ? -ENOMEM : 0;
}

static void setup_quirks(struct vm *vm)
{
	char what[256], params[256];
	int ret;

	switch (vm->cfg->quirks) {
	case QUIRKS_OFF:
		memset(&vm->quirks, 0, sizeof(vm->quirks));
		return;
	case QUIRKS_ON:
		quirks_all(&vm->quirks);
		break;
	case QUIRKS_AUTO:
		ret = quirks_probe(&vm->kvm, &vm->quirks);
		if (ret) {
			pr_warn("host-quirk probe failed (%s): assuming a hardware KVM",
				strerror(-ret));
			return;
		}
		break;
	}
	quirks_describe(&vm->quirks, what, sizeof(what));
	if (!what[0])
		return;
	quirks_kernel_params(&vm->quirks, params, sizeof(params));
	pr_warn("this host's KVM cannot run guest %s; working around it%s%s", what,
		params[0] && vm->cfg->default_cmdline ? " with: " : "",
		vm->cfg->default_cmdline ? params : "");
}

static void setup_pci(struct vm *vm);

/*
 * Before any thread exists: the IRQ and vhost-net watchers that setup
 * starts narrow themselves at once.
 */
static void setup_seccomp(const struct vm_config *cfg, bool fdcheck)
{
	struct seccomp_needs needs = { .fdcheck = fdcheck };
	unsigned int i;
	char err[256];

	if (!cfg->seccomp)
		return;
	for (i = 0; i < cfg->nr_nics; i++) {
		if (cfg->nics[i].kind == NET_KIND_TAP)
			needs.tap = true;
		else
			needs.slirp = true;
	}
	needs.tty = cfg->console == CONSOLE_STDIO && isatty(STDIN_FILENO);
	seccomp_on_trap(console_restore_terminal);
	if (seccomp_prepare(&needs, err, sizeof(err)))
		die("%s (--seccomp=off runs without filters)", err);
	if (getenv("LD_PRELOAD"))
		pr_warn("LD_PRELOAD is set: the seccomp filters may stop preloaded code "
			"(--seccomp=off)");
}

static void setup_devices(struct vm *vm)
{
	struct irq_line com1 = { kvm_set_irq_level, &vm->kvm, IRQ_COM1 };
	struct machine_ctl ctl = {
		.request_exit = ctl_request_exit,
		.request_exit_status = ctl_request_exit_status,
		.opaque = vm,
	};
	char err[256];

	vm->console = console_open(vm->cfg, err, sizeof(err));
	if (!vm->console)
		die("%s", err);
	vm->uart = uart_create(com1, console_output, vm->console);
	if (!vm->uart || uart_register(vm->uart, &vm->pio, PORT_COM1))
		die("cannot set up the UART");
	vm->i8042 = i8042_create(ctl);
	if (!vm->i8042 || i8042_register(vm->i8042, &vm->pio))
		die("cannot set up the i8042");
	vm->acpi_pm = acpi_pm_create(ctl);
	if (!vm->acpi_pm || acpi_pm_register(vm->acpi_pm, &vm->pio))
		die("cannot set up the ACPI PM registers");
	vm->rtc = rtc_create();
	if (!vm->rtc || rtc_register(vm->rtc, &vm->pio))
		die("cannot set up the RTC");
	if (legacy_sinks_register(&vm->pio))
		die("cannot set up the legacy I/O ports");
	if (vm->cfg->debug_exit) {
		vm->debug_exit = debug_exit_create(ctl);
		if (!vm->debug_exit || debug_exit_register(vm->debug_exit, &vm->pio))
			die("cannot set up the debug-exit port");
	}
	setup_pci(vm);
	setup_link_watch(vm);
	if (console_attach(vm->console, vm, vm->uart, &vm->loop))
		die("cannot attach the console");
}

static void read_machine_id(char *buf, size_t len)
{
	FILE *f = fopen("/etc/machine-id", "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void setup_nic(struct vm *vm, unsigned int index, const struct net_config *nc)
{
	struct virtio_pci_params vpp = { .name = "virtio-net", .ops = &virtio_net_ops,
					 .mem = &vm->mem, .kvm = &vm->glue };
	struct vm_nic *nic = &vm->nics[index];
	struct virtio_transport t;
	struct net_backend *be;
	char err[256], mid[64];
	uint8_t mac[6];

	if (nc->kind == NET_KIND_TAP) {
		char msg[512];

		/* vhost=auto|on|off is decided here; the device never learns which. */
		if (net_tap_backend_open(nc, &be, msg, sizeof(msg)))
			die("%s", msg);
		pr_info("net%u: %s", index, msg);
	} else {
		if (net_slirp_open(nc, &be, err, sizeof(err)))
			die("%s", err);
		pr_info("net%u: user-mode networking (libslirp)", index);
	}
	if (nc->has_mac) {
		memcpy(mac, nc->mac, 6);
	} else {
		read_machine_id(mid, sizeof(mid));
		net_generate_mac(mac, mid, index, nc->kind == NET_KIND_TAP ? nc->ifname : "user");
	}
	memcpy(nic->mac, mac, 6);
	nic->net = virtio_net_create(&vm->mem, be, mac);
	if (!nic->net)
		die("virtio-net: out of memory");
	snprintf(err, sizeof(err), "net%u", index);
	virtio_net_set_name(nic->net, err);
	vpp.dev = nic->net;
	nic->pci = virtio_pci_create(&vpp);
	if (!nic->pci)
		die("virtio-net: cannot create its PCI function");
	t = virtio_pci_transport(nic->pci);
	virtio_net_set_transport(nic->net, &t);
	if (virtio_pci_add(nic->pci, &vm->pci, -1) < 0)
		die("virtio-net: no free PCI slot");
	vm->nr_nics++;
}

static void setup_pci(struct vm *vm)
{
	unsigned int i;

	if (irq_routing_init(&vm->irq_routing, vm->kvm.vm_fd))
		die("KVM_SET_GSI_ROUTING: cannot set up interrupt routing");
	irq_routing_glue(&vm->irq_routing, &vm->glue);
	if (pci_bus_init(&vm->pci, &vm->pio, &vm->mmio, kvm_set_irq_level, &vm->kvm))
		die("cannot set up the PCI bus");
	/*
	 * 0xcf9 (reset control) sits inside the dword CONFIG_ADDRESS port: the
	 * PCI host takes 0xcf8-0xcfb and hands byte accesses at 0xcf9 on.
	 */
	bus_unregister(&vm->pio, PORT_RESET, vm->acpi_pm);
	if (pci_bus_register(&vm->pci, acpi_pm_reset_io, vm->acpi_pm))
		die("cannot register the PCI configuration ports");
	for (i = 0; i < vm->cfg->nr_nics; i++)
		setup_nic(vm, i, &vm->cfg->nics[i]);
}

static void fill_fw_machine(const struct vm *vm, struct fw_machine *m)
{
	unsigned int i;

	memset(m, 0, sizeof(*m));
	m->nr_cpus = vm->nr_vcpus;
	for (i = 0; i < vm->mem.nr_regions && i < FW_MAX_RAM; i++) {
		m->ram[i].gpa = vm->mem.region[i].gpa;
		m->ram[i].size = vm->mem.region[i].size;
	}
	m->nr_ram = i;
	m->pci = true;
}

/* boot: load the kernel and firmware tables; false for a guest that arrives by migration. */
static void setup_machine(struct vm *vm, bool boot)
{
	const struct vm_config *cfg = vm->cfg;
	struct boot_image img;
	struct fw_machine m;
	char err[512], *cmdline;
	unsigned int i;
	int ret;

	if (kvm_open(&vm->kvm, err, sizeof(err)))
		die("%s", err);
	if (cfg->nr_cpus > (unsigned int)vm->kvm.max_vcpus)
		die("--cpus %u: this host's KVM allows at most %d vCPUs", cfg->nr_cpus,
		    vm->kvm.max_vcpus);
	if (cfg->nr_cpus > (unsigned int)vm->kvm.nr_vcpus_recommended)
		pr_warn("--cpus %u is above the %d vCPUs this host's KVM recommends",
			cfg->nr_cpus, vm->kvm.nr_vcpus_recommended);
	vm->nr_vcpus = cfg->nr_cpus;
	setup_quirks(vm);
	if (kvm_create_vm(&vm->kvm, true, err, sizeof(err)))
		die("%s", err);

	ret = guest_memory_init(&vm->mem, cfg->mem_size, cfg->mem_shared);
	if (ret)
		die("cannot allocate %llu MiB of guest memory: %s",
		    (unsigned long long)(cfg->mem_size >> 20), strerror(-ret));
	ret = kvm_map_memory(&vm->kvm, &vm->mem);
	if (ret)
		die("KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));

	if (bus_init(&vm->pio, "pio") || bus_init(&vm->mmio, "mmio") || loop_init(&vm->loop))
		die("out of memory");
	vm->exit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_efd < 0 || loop_add(&vm->loop, vm->exit_efd, EPOLLIN, on_exit_event, vm))
		die("eventfd: %s", strerror(errno));
	setup_devices(vm);
	vm_pause_init(vm);

	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		die("out of memory");
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_create(vm, &vm->vcpus[i], i);
		if (ret)
			die("cannot create vCPU %u: %s", i, strerror(-ret));
	}
	if (vm_api_open(vm, err, sizeof(err)))
		die("--api-socket %s", err);
	if (!boot)
		return;

	ret = boot_load_kernel(&vm->mem, cfg->kernel, &img, err, sizeof(err));
	if (ret)
		die("%s", err);
	pr_info("kernel %s: %s, entry %#llx", cfg->kernel, boot_kind_name(img.kind),
		(unsigned long long)img.entry);
	fill_fw_machine(vm, &m);
	if (compose_cmdline(vm, &cmdline))
		die("out of memory");
	pr_info("kernel command line: %s", cmdline);
	ret = boot_setup(&vm->mem, &img, &m, cfg->initrd, cmdline, vm->vcpus[0].fd, err,
			 sizeof(err));
	free(cmdline);
	if (ret)
		die("%s", err);
}

static void teardown(struct vm *vm)
{
	unsigned int i;

	/* The migration thread first: it may hold the vCPUs paused or the NICs stopped. */
	migrate_cancel(vm);
	vm_api_close(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	/* Devices off the bus first, then stop them (joins their threads). */
	pci_bus_destroy(&vm->pci);
	for (i = 0; i < vm->nr_nics; i++) {
		struct virtio_net_stats st;

		virtio_net_get_stats(vm->nics[i].net, &st);
		pr_info("net%u (%s): %llu frames out, %llu in, %llu kicks, %llu interrupts handled "
			"by kvmini", i, st.vhost ? "vhost-net" : "userspace",
			(unsigned long long)st.tx_frames, (unsigned long long)st.rx_frames,
			(unsigned long long)st.kicks, (unsigned long long)st.interrupts);
		virtio_pci_destroy(vm->nics[i].pci);
		virtio_net_destroy(vm->nics[i].net);
	}
	irq_routing_destroy(&vm->irq_routing);
	console_close(vm->console);
	if (vm->debug_exit)
		debug_exit_destroy(vm->debug_exit);
	rtc_destroy(vm->rtc);
	acpi_pm_destroy(vm->acpi_pm);
	i8042_destroy(vm->i8042);
	uart_destroy(vm->uart);
	loop_destroy(&vm->loop);
	close(vm->exit_efd);
	if (vm->link_timer_fd >= 0)
		close(vm->link_timer_fd);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	kvm_close(&vm->kvm);
	guest_memory_free(&vm->mem);
}

/* A migrated guest's NICs run again where they stopped. */
static void resume_incoming(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_nics; i++)
		if (virtio_pci_resume(vm->nics[i].pci))
			pr_err("net%u: cannot restart the data path", i);
}

/*
 * Tell the network where the guest went (RARP with its MAC, as QEMU does).
 * After the guest runs: it takes ~200 ms, which must not count as downtime.
 */
static void announce_incoming(struct vm *vm)
{
	unsigned int i;

	/* A failure is logged there and changes nothing for the guest. */
	for (i = 0; i < vm->nr_nics; i++)
		virtio_net_announce(vm->nics[i].net);
}

int vm_run(const struct vm_config *cfg)
{
	struct vm vm = { .cfg = cfg, .exit_efd = -1, .link_timer_fd = -1, .signal_fd = -1 };
	bool arriving = cfg->incoming || cfg->restore;
	struct vm_config guest;
	struct incoming in;
	struct fdcheck fds;
	sigset_t sigs;
	int ret;
	unsigned int i;

	/*
	 * Before signals are blocked: waiting for a source can be interrupted
	 * as any command can, and nothing exists yet that a signal would lose.
	 */
	fdcheck_begin(&fds);
	if (arriving) {
		if (incoming_open(&in, cfg, &guest)) {
			incoming_close(&in, false);
			return EXIT_VMM_ERROR;
		}
		vm.cfg = &guest;
	}

	/*
	 * SIGINT, SIGTERM and SIGHUP end the VM cleanly through the loop; block
	 * them before any thread exists so that only the signalfd sees them.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	vcpu_signals_init();

	setup_seccomp(vm.cfg, fds.on);
	setup_machine(&vm, !arriving);
	if (arriving) {
		if (incoming_receive(&in, &vm)) {
			incoming_close(&in, false);
			vm.exit_status = EXIT_VMM_ERROR;
			teardown(&vm);
			return EXIT_VMM_ERROR;
		}
		resume_incoming(&vm);
	}
	sigdelset(&sigs, SIGUSR1);
	vm.signal_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm.signal_fd < 0)
		die("signalfd: %s", strerror(errno));
	if (loop_add(&vm.loop, vm.signal_fd, EPOLLIN, on_signal, &vm))
		die("cannot watch signals");

	for (i = 0; i < vm.nr_vcpus; i++) {
		ret = vcpu_start(&vm.vcpus[i]);
		if (ret) {
			pr_err("cannot start vCPU %u: %s", i, strerror(-ret));
			vm_request_exit(&vm, EXIT_VMM_ERROR);
			break;
		}
	}
	if (arriving) {
		pr_info("%s: the guest runs", cfg->restore ? cfg->restore : cfg->incoming);
		incoming_close(&in, true);
		announce_incoming(&vm);
	}
	seccomp_enter(SECCOMP_MAIN);
	while (!vm.loop.stop) {
		ret = loop_run_once(&vm.loop, -1);
		if (ret < 0) {
			pr_err("event loop: %s", strerror(-ret));
			vm_request_exit(&vm, EXIT_VMM_ERROR);
			break;
		}
	}
	teardown(&vm);
	close(vm.signal_fd);
	if (fdcheck_end(&fds))
		return EXIT_VMM_ERROR;
	return vm.exit_status;
}
