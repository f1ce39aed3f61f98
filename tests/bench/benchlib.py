"""Shared helpers for kvmini's benchmarks (tests/bench/bench_*.py).

Each benchmark runs kvmini and QEMU on the same guest, BENCH_RUNS times each,
and records rows: one metric, kvmini's samples beside QEMU's. A row is either
VMM-side (what the VMM itself costs: start-up, memory, CPU time and system
calls per frame) or guest-side (what the guest sees: frames per second,
round-trip times), kept apart because on a host whose KVM emulates guest ring 0
the guest-side figures measure the emulator. Results go to
$BENCH_OUT/<bench>.json (default tests/bench/out/); report.py turns them into
tests/bench/results.md.
"""
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KVMINI = os.environ.get("KVMINI", os.path.join(ROOT, "build", "kvmini"))
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
GUEST_OUT = os.environ.get("GUEST_OUT", os.path.join(ROOT, "guest", "out"))
TG_ELF = os.path.join(GUEST_OUT, "testguest", "testguest.elf")
VMLINUX = os.path.join(GUEST_OUT, "vmlinux")
INITRD = os.path.join(GUEST_OUT, "initramfs.cpio.gz")
OUT_DIR = os.environ.get("BENCH_OUT", os.path.join(HERE, "out"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
MEMORY_MB = int(os.environ.get("BENCH_MEMORY_MB", "512"))
VERBOSE = os.environ.get("BENCH_VERBOSE", "") not in ("", "0")

# QEMU on a PVM host: MSR 0x10a (arch-capabilities) must not be exposed.
QEMU_CPU = "host,-arch-capabilities"
# The same, with every KVM paravirt feature that uses a hypercall hidden (a
# vmcall never returns on such a host): what kvmini does after its probe.
QEMU_CPU_NO_PV_HC = ("host,kvm-pv-ipi=off,kvm-pv-unhalt=off,kvm-pv-sched-yield=off,"
                     "kvm-pv-tlb-flush=off,kvm-poll-control=off,-arch-capabilities")
# microvm's PCIe host (pcie=on) has its ECAM here; the test guest finds it only
# through MCFG, which microvm does not provide, so it is passed as ecam=.
MICROVM_ECAM = "0xe0000000"
EXIT_PASS = 33


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def vlog(msg):
    if VERBOSE:
        log(msg)


# ---------------------------------------------------------------- statistics
def summary(samples):
    s = sorted(samples)
    return {"median": statistics.median(s), "min": s[0], "max": s[-1], "n": len(s)}


def side(label, samples=None, na=None):
    """One column of a row: a labelled list of samples, or n/a with a reason."""
    if na is not None or not samples:
        return {"label": label, "na": na or "no samples"}
    return {"label": label, "samples": samples, **summary(samples)}


class Results:
    """The rows one benchmark script produces."""

    def __init__(self, bench, title, runs=None):
        self.runs = RUNS if runs is None else runs
        self.bench = bench
        self.title = title
        self.rows = []
        self.notes = []
        self.machine = None  # [(what, value)] where it differs from report.py's host

    def row(self, section, group, metric, unit, kvmini, qemu, better="lower", note=None,
            compare=True):
        """compare=False: the two columns are not rivals (no ratio, never "worse")."""
        assert section in ("vmm", "guest")
        r = {"section": section, "group": group, "metric": metric, "unit": unit,
             "better": better, "kvmini": kvmini, "qemu": qemu}
        if not compare:
            r["no_ratio"] = True
        if note:
            r["note"] = note
        self.rows.append(r)
        print_rows([r])
        return r

    def note(self, text):
        self.notes.append(text)

    def save(self):
        os.makedirs(OUT_DIR, exist_ok=True)
        path = os.path.join(OUT_DIR, self.bench + ".json")
        with open(path, "w") as f:
            json.dump({"bench": self.bench, "title": self.title, "runs": self.runs,
                       "rows": self.rows, "notes": self.notes, "machine": self.machine,
                       "time": time.strftime("%Y-%m-%d %H:%M:%S %Z")}, f, indent=1)
        log("wrote " + os.path.relpath(path))
        print()
        print_rows(self.rows, header=True)
        for n in self.notes:
            print("note: " + n)


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return "%.0f" % v
    if a >= 100:
        return "%.1f" % v
    if a >= 10:
        return "%.2f" % v
    return "%.3g" % v


def cell(s):
    if "na" in s:
        return "n/a (%s)" % s["na"]
    if s["n"] == 1:
        return fmt(s["median"])
    return "%s (%s-%s)" % (fmt(s["median"]), fmt(s["min"]), fmt(s["max"]))


def ratio(r):
    k, q = r["kvmini"], r["qemu"]
    if r.get("no_ratio") or "na" in k or "na" in q or not q["median"]:
        return None
    return k["median"] / q["median"]


def worse(r, margin=0.10):
    """True when kvmini's median is worse than QEMU's by more than margin."""
    x = ratio(r)
    if x is None:
        return False
    return x > 1 + margin if r["better"] == "lower" else x < 1 / (1 + margin)


def print_rows(rows, header=False):
    if header:
        print("%-44s %-8s %-30s %-30s %s" % ("metric", "unit", "kvmini median (min-max)",
                                            "QEMU median (min-max)", "kvmini/QEMU"))
    for r in rows:
        x = ratio(r)
        print("%-44s %-8s %-30s %-30s %s%s" % (
            "%s: %s" % (r["group"], r["metric"]), r["unit"],
            "[%s] %s" % (r["kvmini"]["label"], cell(r["kvmini"])),
            "[%s] %s" % (r["qemu"]["label"], cell(r["qemu"])),
            "-" if x is None else "%.2f" % x, "  <- kvmini worse" if worse(r) else ""),
            flush=True)


# ---------------------------------------------------------------- the VMMs
def need(path, what):
    if not os.path.exists(path):
        log("%s is missing (%s): run make %s" % (path, what, "kvmini testguest"))
        sys.exit(1)


def kvmini_argv(cmdline, kernel=TG_ELF, quirks="on", net=(), extra=()):
    a = [KVMINI, "run", "--kernel", kernel, "--console", "stdio",
         "--memory", "%dM" % MEMORY_MB, "--cpus", "1", "--quirks", quirks]
    if kernel == TG_ELF:
        a.append("--debug-exit")
    for n in net:
        a += ["--net", n]
    return a + list(extra) + ["--cmdline", cmdline]


_kvmini_cmdline = None


def kvmini_cmdline_prefix():
    """The command line kvmini gives a guest before --cmdline (its defaults and
    the host workarounds), read back from the test guest's first line, so that
    QEMU's guest prints the same bytes."""
    global _kvmini_cmdline
    if _kvmini_cmdline is None:
        p = subprocess.run(kvmini_argv("scenario=hello"), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        m = re.search(r'cmdline="(.*) scenario=hello"', p.stdout)
        _kvmini_cmdline = m.group(1) if m else ""
    return _kvmini_cmdline


def qemu_argv(machine, cmdline, kernel=TG_ELF, netdev=None, cpu=QEMU_CPU, initrd=None,
              same_cmdline=True):
    """QEMU with the same guest, memory and vCPU count as kvmini_argv()."""
    if kernel == TG_ELF and machine.startswith("microvm") and "pcie=on" in machine:
        cmdline = "ecam=%s %s" % (MICROVM_ECAM, cmdline)
    if same_cmdline:
        cmdline = (kvmini_cmdline_prefix() + " " + cmdline).strip()
    a = [QEMU, "-M", machine, "-accel", "kvm", "-cpu", cpu, "-m", str(MEMORY_MB),
         "-smp", "1", "-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot",
         "-serial", "stdio", "-name", "bench,debug-threads=on", "-kernel", kernel,
         "-append", cmdline]
    if initrd:
        a += ["-initrd", initrd]
    if kernel == TG_ELF:
        a += ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    if netdev:
        a += ["-netdev", netdev + ",id=n0",
              "-device", "virtio-net-pci,netdev=n0,disable-legacy=on,romfile="]
    return a


def quirks_reported():
    p = subprocess.run([KVMINI, "probe"], capture_output=True, text=True, timeout=60)
    m = re.search(r"^failing: (.*)$", p.stdout, re.M)
    return m.group(1).strip() if m else "unknown"


# ---------------------------------------------------------------- a running guest
class Guest:
    """A VMM process whose serial output (stdout) is read line by line, with
    the time each line arrived; stdin is the guest's serial input."""

    def __init__(self, argv, name="guest"):
        self.name = name
        self.lines = []
        self.cond = threading.Condition()
        self.errf = tempfile.TemporaryFile()
        self.t0 = time.monotonic()
        vlog("+ " + " ".join(argv))
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.errf)
        self.pid = self.p.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        buf = b""
        fd = self.p.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            now = time.monotonic()
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                with self.cond:
                    self.lines.append((now, line.decode(errors="replace").rstrip("\r")))
                    self.cond.notify_all()
        with self.cond:
            if buf:
                self.lines.append((time.monotonic(), buf.decode(errors="replace")))
            self.lines.append((time.monotonic(), None))
            self.cond.notify_all()

    def wait_line(self, regex, timeout=60, start=0):
        """(time, match, index) of the first line from index start matching regex."""
        rx = re.compile(regex)
        end = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    t, line = self.lines[i]
                    if line is None:
                        raise RuntimeError("%s ended (status %s) before /%s/%s" % (
                            self.name, self.p.wait(), regex, self.tail()))
                    m = rx.search(line)
                    if m:
                        return t, m, i + 1
                    i += 1
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError("%s: no /%s/ within %ds%s" % (
                        self.name, regex, timeout, self.tail()))
                self.cond.wait(left)

    def tail(self):
        out = [line for _, line in self.lines[-8:] if line is not None]
        self.errf.seek(0)
        err = self.errf.read().decode(errors="replace").strip().splitlines()[-5:]
        return "\n  stdout: " + "\n  stdout: ".join(out) + "\n  stderr: " + "\n  stderr: ".join(err)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def finish(self, timeout=30):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def stderr(self):
        self.errf.seek(0)
        return self.errf.read().decode(errors="replace")


# ---------------------------------------------------------------- /proc accounting
CLK_TCK = os.sysconf("SC_CLK_TCK")


KVM_RUN = 0xAE80


def vcpu_tids(pid, samples=20, interval=0.01):
    """The threads seen inside ioctl(fd, KVM_RUN) (/proc/PID/task/TID/syscall)
    in any of a few samples: the vCPU threads, whatever they are called (a
    thread a vCPU creates inherits its name). Call it while the guest idles in
    hlt, where a vCPU thread sits in KVM_RUN."""
    found = set()
    for _ in range(samples):
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                    w = f.read().split()
            except OSError:
                continue
            if len(w) >= 3 and w[0] == "16" and int(w[2], 16) == KVM_RUN:
                found.add(int(tid))
        time.sleep(interval)
    return found


def thread_times(pid):
    """{tid: (comm, cpu_seconds)} for every thread but vhost-* workers. The
    CPU time is the scheduler's se.sum_exec_runtime (/proc/PID/task/TID/sched,
    microsecond resolution) where the kernel has it, else utime + stime from
    .../stat (clock ticks)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        if comm.startswith("vhost-"):
            continue
        fields = s[s.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK
        try:
            with open("/proc/%d/task/%s/sched" % (pid, tid)) as f:
                m = re.search(r"se\.sum_exec_runtime\s*:\s*([\d.]+)", f.read())
            if m:
                cpu = float(m.group(1)) / 1000
        except OSError:
            pass
        out[int(tid)] = (comm, cpu)
    return out


def cpu_delta(before, after, vcpus):
    """CPU seconds the threads other than vcpus used between two thread_times()."""
    io = 0.0
    for tid, (comm, c) in after.items():
        if tid not in vcpus:
            io += c - before.get(tid, (comm, 0.0))[1]
    return io


def smaps_rss(pid, guest_bytes):
    """Firecracker's method: the Rss of every mapping except guest RAM, in KiB.
    Guest RAM is every mapping between guest_bytes and guest_bytes + 8 MiB in
    size (kvmini's anonymous or memfd mapping, QEMU's RAM block with its
    alignment). Returns (rss_kib, private_kib, excluded mapping descriptions)."""
    rss = priv = 0
    excluded = []
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                a, b = line.split()[0].split("-")
                size = int(b, 16) - int(a, 16)
                skip = guest_bytes <= size <= guest_bytes + (8 << 20)
                cur = {"skip": skip, "desc": line.strip()}
                if skip:
                    excluded.append(cur)
                continue
            k, _, v = line.partition(":")
            if cur is None or cur["skip"]:
                if cur is not None and k == "Rss":
                    cur["rss_kib"] = int(v.split()[0])
                continue
            if k == "Rss":
                rss += int(v.split()[0])
            elif k in ("Private_Clean", "Private_Dirty"):
                priv += int(v.split()[0])
    return rss, priv, ["%s (Rss %s KiB)" % (e["desc"], e.get("rss_kib")) for e in excluded]


# ---------------------------------------------------------------- strace
class Strace:
    """strace -f on every thread of a running process (and the threads they
    create); count() then counts the system calls of all but some threads."""

    def __init__(self, pid):
        self.out = tempfile.NamedTemporaryFile(prefix="bench-strace.", delete=False).name
        argv = ["strace", "-f", "-qq", "-o", self.out]
        for t in os.listdir("/proc/%d/task" % pid):
            argv += ["-p", t]
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # let it attach

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        self.p.wait(30)

    def count(self, exclude):
        """(total, {name: calls}) of the threads not in exclude."""
        total = 0
        per = {}
        rx = re.compile(r"^(\d+)\s+([a-z_0-9]+)\(")
        with open(self.out, errors="replace") as f:
            for line in f:
                m = rx.match(line)  # "<... x resumed>" lines do not match: one per call
                if not m or int(m.group(1)) in exclude:
                    continue
                total += 1
                per[m.group(2)] = per.get(m.group(2), 0) + 1
        os.unlink(self.out)
        return total, per


# ---------------------------------------------------------------- tap + echo peer
class TapEcho:
    """A network namespace holding a tap (vnet_hdr) and an echo peer that sends
    every frame back (tests/integration/frame_echo.py); VMMs run inside it."""

    def __init__(self, echo=True):
        self.ns = "kvmini-bench-%d" % os.getpid()
        self.tap = "kvb%d" % (os.getpid() % 100000)
        self.echo = None
        self.tmp = tempfile.mkdtemp(prefix="kvmini-bench.")

    def __enter__(self):
        sh = lambda *a: subprocess.run(a, check=True)
        sh("ip", "netns", "add", self.ns)
        try:
            for k in ("default", "all"):
                sh("ip", "netns", "exec", self.ns, "sysctl", "-qw",
                   "net.ipv6.conf.%s.disable_ipv6=1" % k)
            sh("ip", "-n", self.ns, "link", "set", "lo", "up")
            sh("ip", "-n", self.ns, "tuntap", "add", "dev", self.tap, "mode", "tap", "vnet_hdr")
            sh("ip", "-n", self.ns, "link", "set", self.tap, "up")
        except Exception:
            self.__exit__()
            raise
        return self

    def start_echo(self):
        if self.echo:
            return
        ready = os.path.join(self.tmp, "echo.ready")
        self.echo = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "python3",
             os.path.join(ROOT, "tests", "integration", "frame_echo.py"), self.tap, ready])
        for _ in range(100):
            if os.path.exists(ready):
                return
            time.sleep(0.05)
        raise RuntimeError("the echo peer did not start")

    def stop_echo(self):
        if self.echo:
            self.echo.kill()
            self.echo.wait()
            self.echo = None
            if os.path.exists(os.path.join(self.tmp, "echo.ready")):
                os.unlink(os.path.join(self.tmp, "echo.ready"))

    def wrap(self, argv):
        return ["ip", "netns", "exec", self.ns] + argv

    def __exit__(self, *exc):
        self.stop_echo()
        subprocess.run(["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)


def have_vhost_net():
    return os.path.exists("/dev/vhost-net")


def header(title):
    log("== %s (BENCH_RUNS=%d)" % (title, RUNS))
