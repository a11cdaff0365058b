#!/usr/bin/env python3
"""Debian's i686 Linux on the BusLogic BT-958 under -accel emu.

Two boots of the guest of scripts/guest-assets with
`vmkemu.modules=BusLogic,sd_mod` and the script tests/hw/scsi-check.sh:

1. QEMU style: `-drive file=disk.img,if=scsi,bus=0,unit=0` with 64 MiB of
   random bytes.  The guest must see a VMware Virtual disk of 131072
   sectors whose md5 is the host file's, and its 1 MiB pattern written at
   4 MiB (dd conv=fsync) must read back after dropping the caches and be in
   the host file after power-off, every other byte unchanged.  An ISO image
   at unit 4 (media=cdrom) is mounted by sr_mod/isofs and its file read.
2. ESX style: a .cfg with `scsi0.virtualDev = vmxbuslogic` and
   `scsi0:0.name = vmhba1:3:0:0:data.dsk`, persistent mode, where the VMFS
   was made by tools/vmkfstools -C and the 32 MiB file by -c.  The guest
   sees 65536 sectors of zeroes; after power-off `vmkfstools -E` shows the
   pattern in the file and no REDO log exists.  The ISO again as
   `scsi0:4.deviceType = cdrom-image`.

Both interrupt paths are covered: boot 1 runs in APIC mode (the DSDT's
_PRT: GSI 19 on the IOAPIC), boot 2 in PIC mode (`noapic acpi=noirq`: the
Interrupt Line register as hw/pc-pci-irq.c sets it, IRQ 11 on the 8259).
Skips when the guest assets cannot be built here.  Under ASan each boot
takes a few minutes of CPU.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ.get("VMKEMU_BUILD", ".")
SRC = os.environ.get("VMKEMU_SRC", ".")
VMKEMU = os.path.join(BUILD, "vmkemu")
VMKFSTOOLS = os.path.join(BUILD, "vmkfstools")
TIMEOUT = int(os.environ.get("VMKEMU_LINUX_TIMEOUT", "1200"))
MB = 1 << 20
PATTERN_OFF = 4 * MB
MD5_ZERO_32M = "58f06dd588d8ffb3beb46ada6309436b"
CMDLINE = ("console=ttyS0 panic=-1 quiet "
           "vmkemu.modules=BusLogic,sd_mod,sr_mod,isofs vmkemu.script=scsi-check.sh")
PIC_MODE = "noapic acpi=noirq"
CD_TEXT = "hello from a SCSI CD-ROM"

count = 0


def ok(cond, desc, detail=""):
    global count
    count += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (count, desc))
    if not cond and detail:
        for line in str(detail).splitlines()[-25:]:
            print("#   " + line)
    sys.stdout.flush()
    return cond


def pattern():
    unit = b"vmkemu-scsi-pattern\n"
    return (unit * (MB // len(unit) + 1))[:MB]


def field(out, name):
    m = re.search(r"^%s (.*)$" % name, out, re.M)
    return m.group(1).strip() if m else None


def guest_checks(what, out, sectors, md5, iso, irq):
    ok("BOOT-OK" in out and "VMKEMU-END status=0" in out,
       "%s: the guest boots and the script ends with status 0" % what, out)
    ok(" ".join((field(out, "SCSI-MODEL") or "").split()) == "VMware Virtual disk",
       "%s: sd sees a VMware Virtual disk behind the BT-958" % what, out)
    line = re.search(r"^SCSI-IRQ\s+(\d+):\s+(\d+)\s.*BusLogic", out, re.M)
    ok(line is not None and line.group(1) == irq and int(line.group(2)) > 0,
       "%s: the adapter's completions arrive as interrupts on IRQ %s" % (what, irq),
       out)
    ok(field(out, "SCSI-SIZE") == str(sectors),
       "%s: the disk has %d sectors" % (what, sectors), field(out, "SCSI-SIZE"))
    ok(field(out, "SCSI-MD5") == md5,
       "%s: the guest's md5 of the whole disk is the host's (%s)" % (what, md5),
       field(out, "SCSI-MD5"))
    want = hashlib.md5(pattern()).hexdigest()
    ok(field(out, "SCSI-WRITE") == "status=0" and field(out, "SCSI-READBACK") == want,
       "%s: the pattern written with fsync reads back from the disk" % what,
       "%s %s" % (field(out, "SCSI-WRITE"), field(out, "SCSI-READBACK")))
    if iso:
        ok(field(out, "SCSI-CD") == CD_TEXT,
           "%s: the SCSI CD-ROM mounts (sr_mod, isofs) and its file reads" % what, out)
    else:
        print("ok %d - %s: CD-ROM # SKIP genisoimage not found" % (count + 1, what))
        globals()["count"] += 1
    ok("reboot: Power down" in out, "%s: ACPI power-off" % what)
    ok("AddressSanitizer" not in out and "runtime error" not in out,
       "%s: no sanitizer report" % what, out)


def expected_after(before):
    return before[:PATTERN_OFF] + pattern() + before[PATTERN_OFF + MB:]


def main():
    tmp = tempfile.mkdtemp(prefix="vmkemu-buslogic-")
    try:
        p = subprocess.run([os.path.join(SRC, "scripts", "guest-assets"), "--arch", "i386",
                            "-q", "--add-script", os.path.join(SRC, "tests", "hw",
                                                               "scsi-check.sh")],
                           capture_output=True, text=True)
        if p.returncode != 0 or not p.stdout.split():
            print("1..0 # SKIP i386 guest assets unavailable: %s" %
                  (p.stderr.strip().splitlines() or ["?"])[0])
            return 0
        _, kernel, initrd = p.stdout.split()[:3]
        print("1..22")
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
        env["VMKEMU_RUNTIME_DIR"] = os.path.join(tmp, "run")

        # An ISO image for the CD-ROM, when genisoimage is there.
        iso = None
        isodir = os.path.join(tmp, "isodir")
        os.makedirs(isodir)
        with open(os.path.join(isodir, "hello.txt"), "w") as f:
            f.write(CD_TEXT + "\n")
        if shutil.which("genisoimage"):
            iso = os.path.join(tmp, "cd.iso")
            if subprocess.run(["genisoimage", "-quiet", "-R", "-o", iso, isodir]).returncode:
                iso = None

        # --- 1: -drive if=scsi ------------------------------------------------
        disk = os.path.join(tmp, "disk.img")
        before = os.urandom(64 * MB)
        with open(disk, "wb") as f:
            f.write(before)
        r = subprocess.run([VMKEMU, "-accel", "emu", "-m", "256", "-nographic",
                            "-serial", "stdio", "-kernel", kernel, "-initrd", initrd,
                            "-drive", "file=%s,if=scsi,bus=0,unit=0" % disk] +
                           (["-drive", "file=%s,if=scsi,unit=4,media=cdrom" % iso] if iso else []) +
                           ["-append", CMDLINE],
                           capture_output=True, text=True, env=env, timeout=TIMEOUT)
        out = r.stdout + r.stderr
        guest_checks("-drive if=scsi, APIC mode", out, 131072,
                     hashlib.md5(before).hexdigest(), iso, "19")
        with open(disk, "rb") as f:
            after = f.read()
        ok(r.returncode == 0 and after == expected_after(before),
           "-drive if=scsi, APIC mode: after power-off the host file holds the pattern at 4 MiB "
           "and nothing else changed", "status %d" % r.returncode)

        # --- 2: a .cfg with a VMFS file --------------------------------------
        vmdir = os.path.join(tmp, "vm")
        os.makedirs(vmdir)
        vol = os.path.join(vmdir, "vmfs.img")
        with open(vol, "wb") as f:
            f.truncate(48 * MB)
        devmap = os.path.join(vmdir, "devices.map")
        with open(devmap, "w") as f:
            f.write("vmhba1:3:0 vmfs.img\n")
        env["VMKEMU_DEVMAP"] = devmap
        c = subprocess.run([VMKFSTOOLS, "-C", "vmhba1:3:0:0"], capture_output=True,
                           text=True, env=env)
        d = subprocess.run([VMKFSTOOLS, "-c", "32m", "vmhba1:3:0:0:data.dsk"],
                           capture_output=True, text=True, env=env)
        ok(c.returncode == 0 and d.returncode == 0,
           "vmkfstools -C vmhba1:3:0:0 and -c 32m vmhba1:3:0:0:data.dsk", c.stderr + d.stderr)
        cfg = os.path.join(vmdir, "vm.cfg")
        with open(cfg, "w") as f:
            f.write('displayName = "buslogic linux"\nmemsize = 256\n'
                    'scsi0.present = TRUE\nscsi0.virtualDev = vmxbuslogic\n'
                    'scsi0:0.present = TRUE\nscsi0:0.name = vmhba1:3:0:0:data.dsk\n'
                    'scsi0:0.mode = persistent\n' +
                    ('scsi0:4.present = TRUE\nscsi0:4.deviceType = cdrom-image\n'
                     'scsi0:4.fileName = %s\n' % iso if iso else '') +
                    'vmkemu.accel = emu\nvmkemu.kernel = %s\nvmkemu.initrd = %s\n'
                    'vmkemu.cmdline = "%s %s"\n' % (kernel, initrd, PIC_MODE, CMDLINE))
        r = subprocess.run([VMKEMU, cfg, "-nographic", "-serial", "stdio"],
                           capture_output=True, text=True, env=env, timeout=TIMEOUT)
        out = r.stdout + r.stderr
        guest_checks(".cfg vmxbuslogic on VMFS, PIC mode", out, 65536, MD5_ZERO_32M, iso,
                     "11")
        raw = os.path.join(tmp, "data.raw")
        e = subprocess.run([VMKFSTOOLS, "-E", raw, "vmhba1:3:0:0:data.dsk"],
                           capture_output=True, text=True, env=env)
        after = open(raw, "rb").read() if e.returncode == 0 else b""
        ok(r.returncode == 0 and after == expected_after(bytes(32 * MB)),
           ".cfg vmxbuslogic on VMFS, PIC mode: after power-off vmkfstools -E shows the pattern "
           "in data.dsk, zeroes elsewhere", "status %d, %s" % (r.returncode, e.stderr))
        lst = subprocess.run([VMKFSTOOLS, "-l", "vmhba1:3:0:0"], capture_output=True,
                             text=True, env=env)
        ok(lst.returncode == 0 and "data.dsk" in lst.stdout and "REDO" not in lst.stdout,
           ".cfg vmxbuslogic on VMFS, PIC mode: persistent mode left no REDO log", lst.stdout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
