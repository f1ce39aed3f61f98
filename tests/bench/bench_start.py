#!/usr/bin/env python3
"""Start-up: from exec to the first byte the test guest writes on the serial
line, and to the exit of a guest that exits at once (scenario=hello, then
isa-debug-exit), kvmini against QEMU (microvm and q35), without and with a
virtio-net-pci NIC on user networking; then VMs started and torn down per
second (a sequential loop for BENCH_LOOP_SECONDS).

kvmini's default (--quirks auto) runs its host-quirk probe first (about 0.3 s
on a host that times out a hung vmcall); --quirks on skips it. Both are shown.

Usage: tests/bench/bench_start.py   (BENCH_RUNS, BENCH_LOOP_SECONDS)
"""
import os
import subprocess
import time

import benchlib as B

LOOP_SECONDS = float(os.environ.get("BENCH_LOOP_SECONDS", "3"))
CMDLINE = "scenario=hello"


def one_start(argv):
    """(ms to the first stdout byte, ms to exit) of one run."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    fd = p.stdout.fileno()
    first = None
    out = b""
    while True:
        chunk = os.read(fd, 65536)
        if first is None:
            first = time.monotonic()
        if not chunk:
            break
        out += chunk
    rc = p.wait()
    t2 = time.monotonic()
    if rc != B.EXIT_PASS or b"TESTGUEST RESULT PASS" not in out:
        raise RuntimeError("%s: status %s, output %r" % (argv[0], rc, out[-300:]))
    return (first - t0) * 1000, (t2 - t0) * 1000


def per_second(argv):
    n = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < LOOP_SECONDS:
        rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode
        if rc != B.EXIT_PASS:
            raise RuntimeError("%s: status %s" % (argv[0], rc))
        n += 1
    return n / (time.monotonic() - t0)


def main():
    B.need(B.KVMINI, "kvmini")
    B.need(B.TG_ELF, "the test guest")
    B.header("start")
    res = B.Results("start", "Start-up (test guest, scenario=hello)")
    prefix = B.kvmini_cmdline_prefix()
    configs = {
        "kvmini": B.kvmini_argv(CMDLINE, quirks="on"),
        "kvmini --quirks auto": B.kvmini_argv(CMDLINE, quirks="auto"),
        "microvm": B.qemu_argv("microvm", CMDLINE),
        "q35": B.qemu_argv("q35", CMDLINE),
        "kvmini --net user": B.kvmini_argv(CMDLINE, quirks="on", net=["user"]),
        "microvm,pcie=on + virtio-net": B.qemu_argv("microvm,pcie=on", CMDLINE, netdev="user"),
        "q35 + virtio-net": B.qemu_argv("q35", CMDLINE, netdev="user"),
    }
    samples = {k: ([], []) for k in configs}
    for k, argv in configs.items():  # warm the page cache, and check each works
        one_start(argv)
    for i in range(B.RUNS):
        for k, argv in configs.items():  # interleaved, so drift hits all alike
            a, b = one_start(argv)
            samples[k][0].append(a)
            samples[k][1].append(b)
            B.vlog("run %d %-32s first byte %.1f ms, exit %.1f ms" % (i, k, a, b))

    def label(k):
        return k if k.startswith("kvmini ") or k != "kvmini" else "kvmini --quirks on"

    pairs = [("kvmini", "microvm"), ("kvmini --quirks auto", "microvm"), ("kvmini", "q35"),
             ("kvmini --net user", "microvm,pcie=on + virtio-net"),
             ("kvmini --net user", "q35 + virtio-net")]
    for idx, what in ((0, "exec to first serial byte"), (1, "exec to exit")):
        for kk, qk in pairs:
            res.row("vmm", "Start", what, "ms", B.side(label(kk), samples[kk][idx]),
                    B.side("QEMU " + qk, samples[qk][idx]))

    rate = {k: [] for k in ("kvmini", "kvmini --quirks auto", "microvm")}
    for i in range(B.RUNS):
        for k in rate:
            rate[k].append(per_second(configs[k]))
    for kk in ("kvmini", "kvmini --quirks auto"):
        res.row("vmm", "Start", "VMs started and torn down per second (sequential)", "VM/s",
                B.side(label(kk), rate[kk]), B.side("QEMU microvm", rate["microvm"]),
                better="higher")
    res.note("Each VM: 1 vCPU, %d MiB, the test guest's ELF through its PVH entry, "
             "scenario=hello, then isa-debug-exit; both VMMs give the guest the same "
             "command line (kvmini's: %s)." % (B.MEMORY_MB, prefix))
    res.note("kvmini --quirks auto (the default) probes the host's KVM first: about 0.3 s "
             "here, where a hung vmcall has to time out. --quirks on skips the probe.")
    res.note("q35 runs SeaBIOS (and its option ROM to load the kernel): real-mode firmware, "
             "which on this host goes through KVM's emulator; microvm boots the PVH entry "
             "directly, as kvmini does. The test guest itself runs a few thousand "
             "instructions before its first byte.")
    res.save()


if __name__ == "__main__":
    main()
