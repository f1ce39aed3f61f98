#!/usr/bin/env python3
"""Gathers the benchmarks' results ($BENCH_OUT/*.json) into one Markdown
report (default tests/bench/results.md), with the machine it ran on, VMM-side
figures apart from guest-side ones, and prints it.

A benchmark that ran on another machine than this one (bench_migrate.py in the
VM of tests/in-kvm) records that machine in its JSON and gets a section of its
own at the end, with that machine. When out/ holds only such results, the
report keeps what OUTPUT.md already says about the others and replaces only
those sections.

Usage: tests/bench/report.py [OUTPUT.md]
"""
import json
import os
import platform
import re
import subprocess
import sys
import time

import benchlib as B

ORDER = ["start", "memory", "net", "boot", "migrate"]
# The heading each separate section starts with: what comes before it in an
# existing report is kept when only separate results are at hand.
SEPARATE = "## Separate run: "


def machine():
    cpu = "unknown"
    flags = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    failing = B.quirks_reported()
    if failing == "none":
        kvm = "hardware KVM (%s)" % ("VMX" if " vmx" in flags else "SVM" if " svm" in flags
                                     else "no vmx/svm flag seen")
    else:
        kvm = "PVM, guest ring 0 emulated (kvmini probe: failing %s)" % failing
    try:
        qemu = subprocess.run([B.QEMU, "--version"], capture_output=True,
                              text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        qemu = "not installed"
    rev = subprocess.run(["git", "-C", B.ROOT, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip() or "unknown"
    with open("/proc/meminfo") as f:
        mem = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1)) // (1 << 20)
    return [("CPU", "%s, %d CPUs online" % (cpu, os.cpu_count())),
            ("memory", "%d GiB" % mem),
            ("host kernel", platform.release()),
            ("KVM", kvm),
            ("/dev/vhost-net", "yes" if B.have_vhost_net() else "no"),
            ("QEMU", qemu),
            ("kvmini", rev),
            ("load average when the report was made", os.getloadavg().__repr__())]


def md_table(rows):
    out = ["| benchmark | metric | unit | kvmini: median (min-max) | QEMU: median (min-max) "
           "| kvmini/QEMU |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        x = B.ratio(r)
        flag = " **(kvmini worse)**" if B.worse(r) else ""
        out.append("| %s | %s | %s | %s: %s | %s: %s | %s%s |" % (
            r["group"], r["metric"], r["unit"], r["kvmini"]["label"], B.cell(r["kvmini"]),
            r["qemu"]["label"], B.cell(r["qemu"]), "-" if x is None else "%.2f" % x, flag))
    return out


def main_report(docs, measured):
    rows = [r for d in docs for r in d["rows"]]
    vmm = [r for r in rows if r["section"] == "vmm"]
    guest = [r for r in rows if r["section"] == "guest"]
    emulated = "emulated" in dict(machine())["KVM"]
    L = ["# kvmini benchmarks", "",
         "Made by `make bench` (tests/bench/, see tests/bench/README.md) on %s. "
         "Each figure is the median of BENCH_RUNS runs (%s) with the smallest and largest "
         "in brackets; kvmini/QEMU is the ratio of the medians. Nothing here passes or "
         "fails." % (time.strftime("%Y-%m-%d"),
                     ", ".join("%s %s" % (d["bench"], d["runs"])
                               for d in docs)), "",
         "## The machine", "", "| | |", "| --- | --- |"]
    L += ["| %s | %s |" % kv for kv in machine()]
    L += ["", "## VMM-side figures", "",
          "What the VMM process itself costs: start-up, memory, CPU time and system calls "
          "per frame. These carry over to other hosts.", ""]
    L += md_table(vmm)
    L += ["", "## Guest-side figures", ""]
    if emulated:
        L += ["**On this host these measure KVM's instruction emulator, not the VMM.** "
              "Its KVM (PVM) runs guest ring-0 code through the instruction emulator at "
              "about 3.7 million instructions per second (../../../shared/CI-MACHINE.md), so "
              "a test guest building a 1514-byte frame byte by byte, or a Linux boot, is "
              "bound by that, alike under both VMMs: the figures compare the two VMMs on "
              "this host only and say nothing about hardware KVM, where the same guest "
              "runs one to two orders of magnitude faster.", ""]
    L += md_table(guest)
    L.append("")
    if "migrate" not in measured:
        L += ["## Not measured yet", "",
              "| benchmark | status |", "| --- | --- |",
              "| live migration and dirty-log harvesting | not in this run "
              "(`make bench BENCH_ONLY=migrate`) |", ""]
    L += ["## Where kvmini is worse than QEMU on a VMM-side figure", ""] + worse_lines(vmm)
    L += ["", "## Notes", ""]
    for d in docs:
        for n in d["notes"]:
            L.append("- %s: %s" % (d["bench"], n))
    return L


def worse_lines(vmm):
    """One line per VMM-side figure where kvmini is worse than QEMU, or one
    line saying there is none."""
    bad = [r for r in vmm if B.worse(r)]
    if not bad:
        return ["Nowhere by more than 10%."]
    return ["- %s: %s: kvmini %s %s, QEMU %s %s" % (
        r["group"], r["metric"], B.fmt(r["kvmini"]["median"]), r["unit"],
        B.fmt(r["qemu"]["median"]), r["unit"]) for r in bad]


def kept_report(dest):
    """The lines of an existing report before its separate sections, without its
    "Not measured yet" table (the separate sections that follow measure it)."""
    with open(dest) as f:
        text = f.read()
    text = text.split("\n" + SEPARATE, 1)[0]
    text = re.sub(r"## Not measured yet\n.*?(?=^## )", "", text, flags=re.S | re.M)
    return text.rstrip("\n").split("\n") + [""]


def separate_section(d):
    """A benchmark run on its own machine (the JSON says which): its own heading,
    machine, tables, worse list and notes."""
    vmm = [r for r in d["rows"] if r["section"] == "vmm"]
    guest = [r for r in d["rows"] if r["section"] == "guest"]
    L = [SEPARATE + d["title"], "",
         "Made by `make bench BENCH_ONLY=%s` at %s, BENCH_RUNS=%d, on the machine below, "
         "which is not the one above: compare these figures only with each other."
         % (d["bench"], d["time"], d["runs"]), "",
         "| | |", "| --- | --- |"]
    L += ["| %s | %s |" % tuple(kv) for kv in d["machine"]]
    L += ["", "### VMM-side figures", ""] + md_table(vmm)
    if guest:
        L += ["", "### Guest-side figures", ""] + md_table(guest)
    L += ["", "### Where kvmini is worse than QEMU on a VMM-side figure", ""]
    L += worse_lines(vmm)
    L += ["", "### Notes", ""] + ["- %s" % n for n in d["notes"]] + [""]
    return L


def main():
    dest = sys.argv[1] if len(sys.argv) > 1 else os.path.join(B.HERE, "results.md")
    docs = []
    for name in ORDER + sorted(set(os.listdir(B.OUT_DIR)) - {n + ".json" for n in ORDER}):
        p = os.path.join(B.OUT_DIR, name if name.endswith(".json") else name + ".json")
        if os.path.exists(p):
            with open(p) as f:
                docs.append(json.load(f))
    if not docs:
        B.log("no results in %s: run the benchmarks first" % B.OUT_DIR)
        sys.exit(1)
    main_docs = [d for d in docs if not d.get("machine")]
    separate = [d for d in docs if d.get("machine")]
    if main_docs:
        L = main_report(main_docs, {d["bench"] for d in docs})
    elif os.path.exists(dest):
        L = kept_report(dest)
    else:
        L = []
    for d in separate:
        L += separate_section(d)
    text = "\n".join(L) + "\n"
    with open(dest, "w") as f:
        f.write(text)
    print(text)
    B.log("wrote " + os.path.relpath(dest))


if __name__ == "__main__":
    main()
