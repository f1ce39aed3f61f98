#!/usr/bin/env python3
"""VMM memory overhead: resident memory excluding guest RAM (Firecracker's
method: the Rss of every mapping in /proc/PID/smaps but the guest memory),
kvmini against QEMU microvm, with the test guest idle (scenario=wait-input)
and after 1000 network round trips (scenario=virtio-net frames=1000 loop=1
through a tap in a network namespace whose echo peer returns every frame).
Also the private part (Private_Clean + Private_Dirty, no shared libraries'
pages), the same way.

Needs root (network namespace, tap). Usage: tests/bench/bench_memory.py
"""
import os
import time

import benchlib as B

FRAMES = int(os.environ.get("BENCH_MEM_FRAMES", "1000"))
WAIT = "scenario=wait-input timeout-ms=600000 every-ms=600000"


def measure(argv, name, settle=0.5):
    g = B.Guest(argv, name)
    try:
        g.wait_line(r"^WAIT-INPUT ready", timeout=600)
        time.sleep(settle)
        rss, priv, excluded = B.smaps_rss(g.pid, B.MEMORY_MB << 20)
        if len(excluded) != 1:
            raise RuntimeError("%s: expected one guest RAM mapping, found %s" % (name, excluded))
        B.vlog("%s: Rss %d KiB, private %d KiB; excluded %s" % (name, rss, priv, excluded))
        g.send(b"\n")
        g.wait_line(r"^TESTGUEST RESULT PASS", timeout=60)
        g.finish()
        return rss / 1024.0, priv / 1024.0
    finally:
        g.kill()


def main():
    B.need(B.KVMINI, "kvmini")
    B.need(B.TG_ELF, "the test guest")
    B.header("memory")
    res = B.Results("memory", "VMM memory overhead")
    idle = {"kvmini": ([], []), "qemu": ([], [])}
    net = {"kvmini": ([], []), "qemu": ([], [])}
    traffic = "scenario=virtio-net frames=%d loop=1 restarts=0 timeout-ms=600000 " % FRAMES
    for i in range(B.RUNS):
        for k, argv in (("kvmini", B.kvmini_argv(WAIT)), ("qemu", B.qemu_argv("microvm", WAIT))):
            r, p = measure(argv, k)
            idle[k][0].append(r)
            idle[k][1].append(p)
    with B.TapEcho() as t:
        t.start_echo()
        tapk = "tap,ifname=%s,vhost=off" % t.tap
        tapq = "tap,ifname=%s,script=no,downscript=no,vhost=off" % t.tap
        for i in range(B.RUNS):
            for k, argv in (("kvmini", B.kvmini_argv(traffic + WAIT, net=[tapk])),
                            ("qemu", B.qemu_argv("microvm,pcie=on", traffic + WAIT,
                                                 netdev=tapq))):
                r, p = measure(t.wrap(argv), k)
                net[k][0].append(r)
                net[k][1].append(p)
    for what, d, kl, ql in (
            ("idle test guest", idle, "kvmini", "QEMU microvm"),
            ("after %d echoed frames (tap)" % FRAMES, net, "kvmini --net tap,vhost=off",
             "QEMU microvm,pcie=on virtio-net tap,vhost=off")):
        res.row("vmm", "Memory", "Rss excluding guest RAM, " + what, "MiB",
                B.side(kl, d["kvmini"][0]), B.side(ql, d["qemu"][0]))
        res.row("vmm", "Memory", "private (no shared pages) excluding guest RAM, " + what,
                "MiB", B.side(kl, d["kvmini"][1]), B.side(ql, d["qemu"][1]))
    res.note("Guest RAM (%d MiB) is the one mapping of that size (+ up to 8 MiB of "
             "alignment): kvmini's anonymous or memfd mapping, QEMU's RAM block. "
             "Everything else counts, shared libraries included (their Rss in the first "
             "rows, not in the private rows)." % B.MEMORY_MB)
    res.save()


if __name__ == "__main__":
    main()
