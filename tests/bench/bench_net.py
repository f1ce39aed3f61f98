#!/usr/bin/env python3
"""Networking, per backend (libslirp, tap with the userspace backend, tap with
vhost-net where /dev/vhost-net exists), kvmini against QEMU microvm
(pcie=on, virtio-net-pci) with the same guest and backend.

The traffic source is the test guest: scenario=virtio-net frames=N len=L,
with loop=1 through a tap in a network namespace whose echo peer
(tests/integration/frame_echo.py) sends every frame back (so each frame
crosses the VMM twice: guest->host, then host->guest), or loop=0 (frames
only leave the guest; the only way through libslirp, which drops them).
A wait-input scenario in front holds the guest until the host is ready:
the measured phase starts when the guest says its device is up
(VIRTIO-NET features=) and ends at its run line (VIRTIO-NET run=0).

Guest-side rows: frames and bytes per second, round-trip times: on a host
whose KVM emulates guest ring 0 these measure the emulator. VMM-side rows:
CPU time of the VMM's threads other than vCPUs and vhost-* workers (the
scheduler's sum_exec_runtime), and their system calls (strace -c, in
separate runs: BENCH_STRACE_RUNS, default 2), per frame the guest sent: a
run with frames=1 is the baseline subtracted (device set-up, the guest's
console lines), so per frame = (run - baseline) / (frames - 1).

Needs root. Usage: tests/bench/bench_net.py  (BENCH_RUNS, BENCH_NET_FRAMES for 60-byte frames,
BENCH_NET_BULK_FRAMES for 1514-byte ones, BENCH_NET_LAT_FRAMES, BENCH_NET_PINGS)
"""
import os
import re
import statistics
import time

import benchlib as B

FRAMES = int(os.environ.get("BENCH_NET_FRAMES", "1000"))
BULK_FRAMES = int(os.environ.get("BENCH_NET_BULK_FRAMES", "300"))
LAT_FRAMES = int(os.environ.get("BENCH_NET_LAT_FRAMES", "200"))
PINGS = int(os.environ.get("BENCH_NET_PINGS", "20"))
STRACE_RUNS = int(os.environ.get("BENCH_STRACE_RUNS", "2"))
GATE = "scenario=wait-input count=1 timeout-ms=600000 every-ms=600000"
WAIT = "scenario=wait-input timeout-ms=600000 every-ms=600000"


def phase(argv, name, frames, expect_rx, use_strace=False):
    """Runs one guest; returns dict(seconds, io_cpu, syscalls, per)."""
    g = B.Guest(argv, name)
    try:
        _, _, i = g.wait_line(r"^WAIT-INPUT ready", timeout=600)
        st = B.Strace(g.pid) if use_strace else None
        t_before = B.thread_times(g.pid)
        g.send(b"x")
        t0, _, i = g.wait_line(r"^VIRTIO-NET features=", timeout=600, start=i)
        t1, m, i = g.wait_line(r"^VIRTIO-NET run=0 tx=(\d+) rx=(\d+)", timeout=600, start=i)
        t_after = B.thread_times(g.pid)
        if st:
            st.stop()
        if int(m.group(1)) != frames or int(m.group(2)) != expect_rx:
            raise RuntimeError("%s: %s (wanted tx=%d rx=%d)" % (name, m.group(0), frames,
                                                                expect_rx))
        g.wait_line(r"^WAIT-INPUT ready", timeout=600, start=i)
        vcpus = B.vcpu_tids(g.pid)
        if not vcpus:
            raise RuntimeError("%s: no thread found in KVM_RUN" % name)
        out = {"seconds": t1 - t0, "io_cpu": B.cpu_delta(t_before, t_after, vcpus),
               "threads": {t: c for t, (c, _) in t_after.items()}, "vcpus": sorted(vcpus)}
        if st:
            out["syscalls"], out["per"] = st.count(vcpus)
        g.send(b"\n")
        g.wait_line(r"^TESTGUEST RESULT PASS", timeout=60, start=i)
        g.finish()
        return out
    finally:
        g.kill()


def pings(argv, name):
    g = B.Guest(argv, name)
    try:
        g.wait_line(r"^TESTGUEST RESULT PASS", timeout=600)
        g.finish()
        us = [int(m.group(1)) for _, l in g.lines if l
              for m in [re.search(r"^PING reply .* us=(\d+)", l)] if m]
        if len(us) != PINGS:
            raise RuntimeError("%s: %d ping replies of %d" % (name, len(us), PINGS))
        return statistics.median(us)
    finally:
        g.kill()


def backends(tap):
    """(name, kvmini --net, QEMU -netdev, reason it cannot run or None)"""
    b = [("user (libslirp)", "user", "user", None)]
    if tap:
        b.append(("tap, vhost=off", "tap,ifname=%s,vhost=off" % tap,
                  "tap,ifname=%s,script=no,downscript=no,vhost=off" % tap, None))
        b.append(("tap, vhost-net", "tap,ifname=%s,vhost=on" % tap,
                  "tap,ifname=%s,script=no,downscript=no,vhost=on" % tap,
                  None if B.have_vhost_net() else "no /dev/vhost-net on this host"))
    return b


def main():
    B.need(B.KVMINI, "kvmini")
    B.need(B.TG_ELF, "the test guest")
    B.header("net")
    res = B.Results("net", "Networking (test guest as the traffic source)")
    with B.TapEcho() as t:
        t.start_echo()
        for bname, knet, qnet, na in backends(t.tap):
            slirp = knet == "user"
            loads = [("guest->host, 1514-byte frames", 1514, 0, BULK_FRAMES)]
            if not slirp:
                loads.append(("echo guest->host->guest, 1514-byte frames", 1514, 1,
                              BULK_FRAMES))
            loads.append(("guest->host, 60-byte frames", 60, 0, FRAMES))
            if not slirp:
                loads.append(("echo, 60-byte frames", 60, 1, FRAMES))
            for lname, length, loop, frames in loads:
                group = "Net %s" % bname
                if na:
                    for metric, unit in (("frames/s, " + lname, "frame/s"),
                                         ("VMM CPU per frame, " + lname, "us")):
                        res.row("guest" if unit == "frame/s" else "vmm", group, metric, unit,
                                B.side("kvmini", na=na), B.side("QEMU", na=na),
                                better="higher" if unit == "frame/s" else "lower")
                    continue
                if loop:
                    t.start_echo()
                else:
                    t.stop_echo()

                def argvs(n):
                    cmd = " ".join((GATE, "scenario=virtio-net frames=%d len=%d loop=%d "
                                    "restarts=0 timeout-ms=600000" % (n, length, loop), WAIT))
                    return {"kvmini": t.wrap(B.kvmini_argv(cmd, net=[knet])),
                            "qemu": t.wrap(B.qemu_argv("microvm,pcie=on", cmd, netdev=qnet))}
                full, base = argvs(frames), argvs(1)
                r, s, br, bs = ({k: [] for k in full} for _ in range(4))

                def go(d, av, n, use_strace=False):
                    for k, argv in av.items():
                        d[k].append(phase(argv, k, n, n if loop else 0, use_strace))
                        B.vlog("%s %s %s frames=%d: %s" % (bname, lname, k, n, d[k][-1]))
                for i in range(B.RUNS):
                    go(r, full, frames)
                nb = min(STRACE_RUNS, B.RUNS)
                for i in range(nb):
                    go(br, base, 1)
                    go(bs, base, 1, True)
                    go(s, full, frames, True)
                kl, ql = "kvmini --net " + knet.split(",ifname")[0], "QEMU " + qnet.split(",")[0]

                def col(d, label, f):
                    return B.side(label, [f(x) for x in d])

                def per_frame(d, b, key, label, scale=1):
                    b0 = statistics.median(x[key] for x in b)
                    return col(d, label, lambda x: (x[key] - b0) / (frames - 1) * scale)
                res.row("guest", group, "frames/s, " + lname, "frame/s",
                        col(r["kvmini"], kl, lambda x: frames / x["seconds"]),
                        col(r["qemu"], ql, lambda x: frames / x["seconds"]), better="higher")
                if length > 100:
                    res.row("guest", group, "MB/s (frame bytes, each way), " + lname, "MB/s",
                            col(r["kvmini"], kl, lambda x: frames * length / x["seconds"] / 1e6),
                            col(r["qemu"], ql, lambda x: frames * length / x["seconds"] / 1e6),
                            better="higher")
                res.row("vmm", group, "VMM CPU per frame (non-vCPU threads), " + lname, "us",
                        per_frame(r["kvmini"], br["kvmini"], "io_cpu", kl, 1e6),
                        per_frame(r["qemu"], br["qemu"], "io_cpu", ql, 1e6))
                res.row("vmm", group, "syscalls per frame (non-vCPU threads), " + lname, "calls",
                        per_frame(s["kvmini"], bs["kvmini"], "syscalls", kl),
                        per_frame(s["qemu"], bs["qemu"], "syscalls", ql))
                for k in s:
                    per = {n: c - bs[k][-1]["per"].get(n, 0) for n, c in s[k][-1]["per"].items()}
                    top = sorted(per.items(), key=lambda kv: -kv[1])[:4]
                    res.note("%s, %s, %s: system calls per frame by name: %s" % (
                        bname, lname, k, ", ".join("%s %.2f" % (n, c / (frames - 1))
                                                   for n, c in top)))
            # Round-trip latency.
            group = "Net %s" % bname
            if na:
                res.row("guest", group, "round trip", "us", B.side("kvmini", na=na),
                        B.side("QEMU", na=na))
                continue
            if slirp:
                cmd = ("scenario=virtio-net loop=0 frames=1 restarts=0 ping=10.0.2.2 pings=%d"
                       % PINGS)
                argvs = {"kvmini": B.kvmini_argv(cmd, net=[knet]),
                         "qemu": B.qemu_argv("microvm,pcie=on", cmd, netdev=qnet)}
                lat = {k: [pings(a, k) for _ in range(B.RUNS)] for k, a in argvs.items()}
                res.row("guest", group, "round trip, ICMP echo to 10.0.2.2 (guest-timed, "
                        "median of %d)" % PINGS, "us",
                        B.side("kvmini", lat["kvmini"]), B.side("QEMU", lat["qemu"]))
            else:
                t.start_echo()
                traffic = ("scenario=virtio-net frames=%d len=60 loop=1 window=1 restarts=0 "
                           "timeout-ms=600000" % LAT_FRAMES)
                cmd = " ".join((GATE, traffic, WAIT))
                argvs = {"kvmini": t.wrap(B.kvmini_argv(cmd, net=[knet])),
                         "qemu": t.wrap(B.qemu_argv("microvm,pcie=on", cmd, netdev=qnet))}
                lat = {k: [] for k in argvs}
                for i in range(B.RUNS):
                    for k, a in argvs.items():
                        x = phase(a, k, LAT_FRAMES, LAT_FRAMES)
                        lat[k].append(x["seconds"] / LAT_FRAMES * 1e6)
                res.row("guest", group, "round trip, one 60-byte frame at a time through the "
                        "echo peer", "us", B.side("kvmini", lat["kvmini"]),
                        B.side("QEMU", lat["qemu"]))
    res.note("Per frame = per frame the guest sent; with echo it also came back, so it crossed "
             "the VMM twice. Host->guest alone is the second half of the echo: the test guest "
             "has no TCP/IP stack to receive a host stream (iperf3 needs the Linux guest).")
    res.note("QEMU: -M microvm,pcie=on, virtio-net-pci (disable-legacy=on), its main loop "
             "thread carries the userspace data path; kvmini: a backend thread per NIC. "
             "vCPU threads are those found in ioctl(KVM_RUN) while the guest idles (a thread a vCPU creates inherits its name: kvmini's backend thread is called vcpu0).")
    res.note("syscalls: strace -f attached to every thread just before the traffic phase, "
             "counted for the threads other than vCPUs; strace slows the VMM, so those "
             "runs are not timed.")
    res.save()


if __name__ == "__main__":
    main()
