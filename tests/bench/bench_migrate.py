#!/usr/bin/env python3
"""Live migration on one machine, kvmini against QEMU, over a unix socket:
total time, downtime, bytes sent and bytes per second, against a plain copy
of the same number of bytes through a unix socket (the limit here); for an
idle test guest (scenario=wait-input) and for one rewriting a fixed set of
pages without pause (scenario=dirty), at each size in BENCH_MIG_SIZES. Also
kvmini's dirty-log harvesting time per GiB of guest RAM (KVM's, kvmini's own
and vhost's logs read and merged; from its migrate summary).

The destination checks the guest: after the switch the test guest must finish
on it (wait-input gets its newline, dirty verifies every page) and exit
through isa-debug-exit with the pass status.

Without /dev/kvm, run-all.sh runs this in tools/kvm-in-qemu (a QEMU TCG VM
with nested SVM): set BENCH_VM to say how, report.py prints it.

Usage: tests/bench/bench_migrate.py   (BENCH_RUNS, BENCH_MIG_SIZES,
       BENCH_MIG_DIRTY_PAGES, BENCH_MIG_DOWNTIME_MS, BENCH_MIG_TIMEOUT)
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import benchlib as B

SIZES = os.environ.get("BENCH_MIG_SIZES", "256M 2G").split()
DIRTY_PAGES = int(os.environ.get("BENCH_MIG_DIRTY_PAGES", "2048"))
DOWNTIME_MS = int(os.environ.get("BENCH_MIG_DOWNTIME_MS", "300"))
TIMEOUT = float(os.environ.get("BENCH_MIG_TIMEOUT", "900"))
VM_DESC = os.environ.get("BENCH_VM", "")
# every= only sets how often the guest prints a round: rarely, so that the
# serial line (a VM exit per byte) does not slow the writing.
WORKLOADS = {
    "idle": ("scenario=wait-input timeout-ms=3600000 every-ms=3600000", r"^WAIT-INPUT ready",
             b"\n", r"^WAIT-INPUT done"),
    "dirty": ("scenario=dirty pages=%d rounds=0 every=1000000" % DIRTY_PAGES,
              r"^DIRTY start", b"x", r"^DIRTY verify ok pages=\d+ rounds=(\d+)"),
}


def mib(size):
    m = re.fullmatch(r"(\d+)([MG])", size)
    if not m:
        sys.exit("BENCH_MIG_SIZES: %r is not N[M|G]" % size)
    return int(m.group(1)) << (10 if m.group(2) == "G" else 0)


def with_memory(argv, flag, value):
    a = list(argv)
    a[a.index(flag) + 1] = value
    return a


def wait_socket(path, proc, timeout=120):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise RuntimeError("%s ended (status %s) before listening on %s"
                               % (proc.args[0], proc.returncode, path))
        if time.monotonic() > end:
            raise RuntimeError("nothing listens on %s after %ds" % (path, timeout))
        time.sleep(0.05)


def finish_on(dst, wl, t_start):
    """Let the guest finish on the destination; (rounds it reports, seconds since
    the workload started) for the dirty rate."""
    _, _, key, done = WORKLOADS[wl]
    dst.send(key)
    t, m, _ = dst.wait_line(done, timeout=TIMEOUT)
    dst.wait_line(r"^TESTGUEST RESULT PASS", timeout=120)
    rc = dst.finish(60)
    if rc != B.EXIT_PASS:
        raise RuntimeError("destination exit status %s, want %d%s" % (rc, B.EXIT_PASS, dst.tail()))
    return (int(m.group(1)) if m.groups() else 0), t - t_start


# ---------------------------------------------------------------- kvmini
def run_kvmini(size, wl, tmp):
    cmd, ready, _, _ = WORKLOADS[wl]
    api, mig = os.path.join(tmp, "src.sock"), os.path.join(tmp, "mig.sock")
    for p in (api, mig):
        if os.path.exists(p):
            os.unlink(p)
    src = B.Guest(with_memory(B.kvmini_argv(cmd, extra=["--api-socket", api]), "--memory", size),
                  "kvmini source")
    dst = None
    try:
        t0, _, _ = src.wait_line(ready, timeout=TIMEOUT)
        dst = B.Guest([B.KVMINI, "run", "-v", "--incoming", "unix:" + mig], "kvmini destination")
        wait_socket(mig, dst.p)
        wait_socket(api, src.p)
        time.sleep(1)  # the workload settles into its loop
        p = subprocess.run([B.KVMINI, "ctl", api, "migrate", "unix:" + mig,
                            "downtime=%d" % DOWNTIME_MS], capture_output=True, text=True,
                           timeout=TIMEOUT)
        B.vlog("kvmini migrate: " + p.stdout.strip())
        s = json.loads(p.stdout or "{}")
        if not s.get("ok"):
            raise RuntimeError("kvmini migrate failed: %s %s" % (p.stdout, p.stderr))
        src.finish(60)
        rounds, secs = finish_on(dst, wl, t0)
        return {"total_ms": s["total_ms"], "downtime_ms": s["downtime_ms"], "bytes": s["bytes"],
                "rounds": s["rounds"], "round_pages": s.get("round_pages"),
                "harvest_ms_per_gib": s["harvest_ms_per_gib"],
                "harvest_max_ms": s["harvest_max_ms"], "guest_rounds": rounds,
                "guest_seconds": secs}
    finally:
        src.kill()
        if dst:
            dst.kill()


# ---------------------------------------------------------------- QEMU
class QMP:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        self._read()  # the greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.f.readline()
        if not line:
            raise RuntimeError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        while True:
            m = self._read()
            if "return" in m:
                return m["return"]
            if "error" in m:
                raise RuntimeError("QMP %s: %s" % (name, m["error"]))

    def close(self):
        self.s.close()


def run_qemu(size, wl, tmp):
    cmd, ready, _, _ = WORKLOADS[wl]
    qs, qd, mig = (os.path.join(tmp, n) for n in ("qsrc.qmp", "qdst.qmp", "qmig.sock"))
    for p in (qs, qd, mig):
        if os.path.exists(p):
            os.unlink(p)
    base = with_memory(B.qemu_argv("microvm", cmd), "-m", size)
    src = B.Guest(base + ["-qmp", "unix:%s,server=on,wait=off" % qs], "QEMU source")
    dst = None
    try:
        t0, _, _ = src.wait_line(ready, timeout=TIMEOUT)
        dst = B.Guest(base + ["-qmp", "unix:%s,server=on,wait=off" % qd,
                              "-incoming", "unix:" + mig], "QEMU destination")
        wait_socket(mig, dst.p)
        wait_socket(qs, src.p)
        time.sleep(1)
        q = QMP(qs)
        q.cmd("migrate-set-parameters", **{"downtime-limit": DOWNTIME_MS})
        q.cmd("migrate", uri="unix:" + mig)
        end = time.monotonic() + TIMEOUT
        while True:
            st = q.cmd("query-migrate")
            if st.get("status") in ("completed", "failed", "cancelled"):
                break
            if time.monotonic() > end:
                raise RuntimeError("QEMU migration still %s after %ds" % (st.get("status"), TIMEOUT))
            time.sleep(0.05)
        B.vlog("QEMU query-migrate: " + json.dumps(st))
        if st["status"] != "completed":
            raise RuntimeError("QEMU migration %s: %s" % (st["status"], st.get("error-desc")))
        try:
            q.cmd("quit")
        except RuntimeError:
            pass
        q.close()
        src.finish(60)
        rounds, secs = finish_on(dst, wl, t0)
        ram = st["ram"]
        return {"total_ms": st["total-time"], "downtime_ms": st["downtime"],
                "setup_ms": st.get("setup-time"), "bytes": ram["transferred"],
                "rounds": ram.get("dirty-sync-count"), "guest_rounds": rounds,
                "guest_seconds": secs}
    finally:
        src.kill()
        if dst:
            dst.kill()


# ---------------------------------------------------------------- the limit
RECEIVER = r"""
import socket, sys
n = int(sys.argv[2])
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
buf = memoryview(bytearray(1 << 22))
while n > 0:
    k = c.recv_into(buf, min(n, len(buf)))
    if not k:
        sys.exit("short stream")
    n -= k
c.sendall(b"k")
"""


def plain_copy(nbytes, tmp):
    """MB/s of nbytes through a unix stream socket between two processes:
    4 MiB sendall() calls, recv_into() a reused 4 MiB buffer, no other work;
    timed from the first write to the receiver's one-byte acknowledgement."""
    path = os.path.join(tmp, "copy.sock")
    if os.path.exists(path):
        os.unlink(path)
    rx = subprocess.Popen([sys.executable, "-c", RECEIVER, path, str(nbytes)])
    try:
        wait_socket(path, rx, 30)
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        chunk = memoryview(os.urandom(1 << 22))
        left = nbytes
        t0 = time.monotonic()
        while left > 0:
            k = min(left, len(chunk))
            s.sendall(chunk[:k])
            left -= k
        if s.recv(1) != b"k":
            raise RuntimeError("the copy receiver did not acknowledge")
        secs = time.monotonic() - t0
        s.close()
        rx.wait(30)
        return nbytes / secs / 1e6
    finally:
        if rx.poll() is None:
            rx.kill()
            rx.wait()


# ---------------------------------------------------------------- rows
def main():
    B.need(B.KVMINI, "kvmini")
    B.need(B.TG_ELF, "the test guest")
    B.header("migrate")
    res = B.Results("migrate", "Live migration (test guest, unix socket, one machine)")
    tmp = tempfile.mkdtemp(prefix="kvmini-bench-mig.", dir=os.environ.get("TEST_TMP"))
    B.kvmini_cmdline_prefix()
    for size in SIZES:
        for wl in WORKLOADS:
            got = {"kvmini": [], "qemu": []}
            fails = {}
            for i in range(B.RUNS):
                for who, fn in (("kvmini", run_kvmini), ("qemu", run_qemu)):
                    try:
                        r = fn(size, wl, tmp)
                    except (RuntimeError, subprocess.TimeoutExpired, OSError, KeyError) as e:
                        # A failed run is a result too: counted, and its first
                        # lines (the guest's FAIL line among them) in the notes.
                        B.log("%s %s %s: %s" % (who, size, wl, e))
                        fails.setdefault(who, []).append(
                            " / ".join(line.strip() for line in str(e).splitlines()[:3])[:300])
                        continue
                    r["copy_mbs"] = plain_copy(r["bytes"], tmp)
                    B.vlog("run %d %s %s %s: %s" % (i, size, wl, who, r))
                    got[who].append(r)
            emit(res, size, wl, got, fails)
            for who, msgs in fails.items():
                for m in msgs:
                    res.note("%s %s %s: a run failed (its figures are left out): %s"
                             % (who, size, wl, m))
    res.note("Both VMMs: 1 vCPU, the test guest's ELF through its PVH entry, source and "
             "destination on the same machine, the stream through a unix socket; "
             "downtime limit %d ms on both (kvmini's downtime=, QEMU's "
             "migrate-set-parameters downtime-limit). QEMU: -M microvm, QMP migrate, figures "
             "from query-migrate (total-time, downtime, ram.transferred, dirty-sync-count as "
             "rounds). kvmini: kvmini ctl migrate's summary." % DOWNTIME_MS)
    res.note("idle: scenario=wait-input (the vCPU halts between timer ticks). dirty: "
             "scenario=dirty pages=%d ring=3: the guest rewrites the same %d MiB "
             "(first and last word of each page) over and over without pause, so the rate "
             "is as fast as the vCPU runs; the guest-side row gives it as measured (rounds "
             "the guest reports at its verify x %d MiB / seconds from its start to the "
             "verify, migration included). On the destination every page is verified."
             % (DIRTY_PAGES, DIRTY_PAGES * 4096 >> 20, DIRTY_PAGES * 4096 >> 20))
    res.note("Plain copy: the same number of bytes as the VMM sent, from this Python "
             "process to a second one through a unix stream socket, 4 MiB sendall() "
             "calls and recv_into() a reused buffer, no per-byte work: the socket's limit "
             "on this machine. Bytes sent are mostly non-zero pages: both VMMs send an "
             "all-zero page as a short record.")
    res.note("Harvest per GiB is kvmini's harvest_ms_per_gib: the mean time of one "
             "harvest (KVM_GET_DIRTY_LOG + KVM_CLEAR_DIRTY_LOG per slot, kvmini's own "
             "bitmap and vhost's log merged into one) over the migration's harvests, "
             "divided by the guest's RAM in GiB; the longest single harvest is the row "
             "after it. QEMU does not report its own.")
    if VM_DESC:
        res.note("Ran inside %s: kvmini, QEMU and the plain copy all ran in that VM, whose "
                 "CPU is emulated by QEMU's TCG: every figure is slow and only comparable "
                 "with the others in this table (kvmini against QEMU against the plain "
                 "copy), not with other hosts." % VM_DESC)
    # The report's machine is the one this ran on: inside the VM, that VM.
    res.machine = ([("ran in", VM_DESC)] if VM_DESC else []) + __import__("report").machine()
    res.save()
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    os.rmdir(tmp)


def emit(res, size, wl, got, fails):
    group = "Migration %s, %s guest" % (size, wl)

    def col(who, key, scale=1.0, fn=None):
        label = "kvmini" if who == "kvmini" else "QEMU microvm"
        if not got[who]:
            return B.side(label, na=fails.get(who, ["no run"])[0][:160])
        vals = [fn(r[key]) if fn else r[key] * scale for r in got[who] if r.get(key) is not None]
        return B.side(label, vals) if vals else B.side(label, na="not reported")

    def rate(who, key_bytes="bytes"):
        label = "kvmini" if who == "kvmini" else "QEMU microvm"
        if not got[who]:
            return B.side(label, na=fails.get(who, ["no run"])[0][:160])
        return B.side(label, [r[key_bytes] / (r["total_ms"] / 1000) / 1e6 for r in got[who]])

    def share(who):
        label = "kvmini" if who == "kvmini" else "QEMU microvm"
        if not got[who]:
            return B.side(label, na=fails.get(who, ["no run"])[0][:160])
        return B.side(label, [100 * r["bytes"] / (r["total_ms"] / 1000) / 1e6 / r["copy_mbs"]
                              for r in got[who]])

    def ok(who):
        label = "kvmini" if who == "kvmini" else "QEMU microvm"
        n = len(got[who]) + len(fails.get(who, []))
        return B.side(label, [100.0 * len(got[who]) / n])

    res.row("vmm", group, "runs that completed, guest verified on the destination", "%",
            ok("kvmini"), ok("qemu"), better="higher")
    res.row("vmm", group, "total time", "ms", col("kvmini", "total_ms"), col("qemu", "total_ms"))
    res.row("vmm", group, "downtime", "ms", col("kvmini", "downtime_ms"),
            col("qemu", "downtime_ms"))
    res.row("vmm", group, "bytes sent", "MiB", col("kvmini", "bytes", 1 / 1048576),
            col("qemu", "bytes", 1 / 1048576))
    res.row("vmm", group, "rounds (QEMU: dirty-sync-count)", "rounds", col("kvmini", "rounds"),
            col("qemu", "rounds"))
    res.row("vmm", group, "bytes sent / total time", "MB/s", rate("kvmini"), rate("qemu"),
            better="higher")
    res.row("vmm", group, "plain unix-socket copy of the same bytes (the limit)", "MB/s",
            col("kvmini", "copy_mbs"), col("qemu", "copy_mbs"), better="higher",
            note="each column copies the bytes its VMM sent", compare=False)
    res.row("vmm", group, "transfer rate as a share of the plain copy", "%", share("kvmini"),
            share("qemu"), better="higher")
    ram_mb = mib(size) * 1048576 / 1e6
    res.row("vmm", group, "guest RAM / total time (zero pages included)", "MB/s",
            col("kvmini", "total_ms", None, lambda v: ram_mb / (v / 1000)),
            col("qemu", "total_ms", None, lambda v: ram_mb / (v / 1000)), better="higher")
    res.row("vmm", group, "dirty-log harvest per GiB of guest RAM", "ms/GiB",
            col("kvmini", "harvest_ms_per_gib"),
            B.side("QEMU microvm", na="QEMU does not report it"))
    res.row("vmm", group, "longest single dirty-log harvest", "ms", col("kvmini", "harvest_max_ms"),
            B.side("QEMU microvm", na="QEMU does not report it"))
    if wl == "dirty":
        def dirty_rate(who):
            label = "kvmini" if who == "kvmini" else "QEMU microvm"
            if not got[who]:
                return B.side(label, na=fails.get(who, ["no run"])[0][:160])
            return B.side(label, [r["guest_rounds"] * DIRTY_PAGES * 4096 / 1048576
                                  / r["guest_seconds"] for r in got[who]])
        res.row("guest", group, "dirtying rate the guest kept up (start to verify)", "MiB/s",
                dirty_rate("kvmini"), dirty_rate("qemu"), better="higher")


if __name__ == "__main__":
    main()
