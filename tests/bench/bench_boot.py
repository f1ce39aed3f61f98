#!/usr/bin/env python3
"""Linux boot: from exec to the busybox init's KVMINI-READY marker, and to the
power-off that follows (kvmini.end=poweroff), kvmini against QEMU microvm
booting the same PVH vmlinux, initramfs and command line (kvmini's defaults
and host workarounds). QEMU gets the -cpu flags that hide the hypercall-based
paravirt features, as kvmini's probe does. Where QEMU stops the guest with a
KVM emulation failure (int3 or fwait on a host whose KVM emulates ring 0:
kvmini completes those itself, QEMU cannot), its column says n/a and why.

A boot takes minutes on such a host: BENCH_BOOT_RUNS (default 1) runs each,
BENCH_BOOT_TIMEOUT (default 900) seconds at most.

Usage: tests/bench/bench_boot.py   (needs make guest)
"""
import os
import re
import time

import benchlib as B

RUNS = int(os.environ.get("BENCH_BOOT_RUNS", "1"))
TIMEOUT = float(os.environ.get("BENCH_BOOT_TIMEOUT", "900"))
STOP_RE = re.compile(r"KVM internal error|emulation failure|KVM: entry failed")


def boot(argv, name):
    """(seconds to KVMINI-READY, seconds to exit) or raises RuntimeError(reason)."""
    g = B.Guest(argv, name)
    try:
        end = time.monotonic() + TIMEOUT
        ready = None
        while time.monotonic() < end:
            m = STOP_RE.search(g.stderr())
            if m:
                line = [x for x in g.stderr().splitlines() if STOP_RE.search(x)][0]
                raise RuntimeError("stopped by KVM after %.0f s: %s" % (
                    time.monotonic() - g.t0, line.strip()[:90]))
            try:
                if ready is None:
                    t, _, _ = g.wait_line(r"KVMINI-READY", timeout=1)
                    ready = t - g.t0
                    B.vlog("%s: KVMINI-READY at %.1f s" % (name, ready))
                rc = g.p.wait(timeout=1)
                done = time.monotonic() - g.t0
                if rc != 0:
                    raise RuntimeError("exit status %d after %.0f s" % (rc, done))
                return ready, done
            except RuntimeError as e:
                if "ended" in str(e):
                    raise RuntimeError("ended (status %s) before KVMINI-READY" % g.p.wait())
                if "within" not in str(e):
                    raise
            except Exception as e:  # subprocess.TimeoutExpired
                if type(e).__name__ != "TimeoutExpired":
                    raise
        raise RuntimeError("no KVMINI-READY within %.0f s" % TIMEOUT)
    finally:
        g.kill()


def main():
    B.need(B.KVMINI, "kvmini")
    res = B.Results("boot", "Linux boot (PVH vmlinux + busybox initramfs)", runs=RUNS)
    B.log("== boot (BENCH_BOOT_RUNS=%d)" % RUNS)
    if not (os.path.exists(B.VMLINUX) and os.path.exists(B.INITRD)):
        why = "no guest/out/vmlinux: run make guest"
        for m in ("exec to KVMINI-READY", "exec to power-off"):
            res.row("guest", "Boot", m, "s", B.side("kvmini", na=why), B.side("QEMU", na=why))
        res.save()
        return
    cmd = "kvmini.end=poweroff"
    argvs = {
        "kvmini": B.kvmini_argv(cmd, kernel=B.VMLINUX, quirks="on",
                                extra=["--initrd", B.INITRD]),
        "qemu": B.qemu_argv("microvm", cmd, kernel=B.VMLINUX, initrd=B.INITRD,
                            cpu=B.QEMU_CPU_NO_PV_HC),
    }
    out = {k: {"ready": [], "done": [], "na": None} for k in argvs}
    for i in range(RUNS):
        for k, argv in argvs.items():
            if out[k]["na"]:
                continue
            try:
                r, d = boot(argv, k)
                out[k]["ready"].append(r)
                out[k]["done"].append(d)
            except RuntimeError as e:
                out[k]["na"] = str(e)
                B.log("%s: %s" % (k, e))
    labels = {"kvmini": "kvmini --quirks on", "qemu": "QEMU microvm"}
    for key, metric in (("ready", "exec to KVMINI-READY"), ("done", "exec to power-off")):
        res.row("guest", "Boot", metric, "s",
                *[B.side(labels[k], out[k][key], na=out[k]["na"]) for k in argvs])
    res.note("Boot: 1 vCPU, %d MiB, guest/out/vmlinux through its PVH entry with "
             "guest/out/initramfs.cpio.gz, the same command line on both (kvmini's defaults and "
             "host workarounds, then kvmini.end=poweroff). QEMU: -M microvm -cpu %s. Nearly all "
             "of a boot is guest kernel code, so this is a guest-side figure." % (
                 B.MEMORY_MB, B.QEMU_CPU_NO_PV_HC))
    res.save()


if __name__ == "__main__":
    main()
