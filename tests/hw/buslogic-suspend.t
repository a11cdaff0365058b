#!/usr/bin/env python3
"""Suspend and resume of a VM with a BusLogic adapter (ESX Server 1.0
manual, "Suspending and Resuming Virtual Machines"): a .cfg with scsi0, a
disk at scsi0:3 and an empty CD-ROM drive at scsi0:4, running the counter
guest under the emulator.  vmware-control suspends it; the .std holds the
adapter's section (buslogic.0) and its PCI function's (pci.10.0); the next
launch resumes (the count goes on, no new boot) and stops cleanly."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.environ.get("VMKEMU_BUILD", ".")
VMKEMU = os.path.join(BUILD, "vmkemu")
CTL = os.path.join(BUILD, "vmware-control")
COUNTER = os.path.join(BUILD, "tests", "guest", "counter.bin")
count = 0


def ok(cond, desc, detail=""):
    global count
    count += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (count, desc))
    if not cond and detail:
        for line in str(detail).splitlines()[-15:]:
            print("#   " + line)
    sys.stdout.flush()


class Vm:
    def __init__(self, cfg, env):
        self.p = subprocess.Popen([VMKEMU, cfg, "-nographic"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.out = bytearray()
        self.err = b""
        self.t = threading.Thread(target=self._pump, daemon=True)
        self.t.start()

    def _pump(self):
        while True:
            data = os.read(self.p.stdout.fileno(), 4096)
            if not data:
                return
            self.out.extend(data)

    def counts(self):
        return [int(n) for n in re.findall(rb"count (\d+)", bytes(self.out))]

    def wait_counts(self, n, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline and len(self.counts()) < n and self.p.poll() is None:
            time.sleep(0.05)
        return len(self.counts()) >= n

    def wait(self, timeout=30):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        self.t.join(5)
        self.err = self.p.stderr.read()
        return rc


def main():
    if not os.path.exists(COUNTER):
        print("1..0 # SKIP %s not built" % COUNTER)
        return 0
    print("1..7")
    tmp = tempfile.mkdtemp(prefix="vmkemu-buslogic-susp-")
    env = dict(os.environ, VMKEMU_RUNTIME_DIR=os.path.join(tmp, "run"))
    try:
        with open(os.path.join(tmp, "d.img"), "wb") as f:
            f.truncate(8 << 20)
        cfg = os.path.join(tmp, "vm.cfg")
        with open(cfg, "w") as f:
            f.write('displayName = "buslogic suspend"\nmemsize = 16\n'
                    'vmkemu.bios = %s\nvmkemu.accel = emu\n'
                    'scsi0.present = TRUE\nscsi0.virtualDev = vmxbuslogic\n'
                    'scsi0:3.present = TRUE\nscsi0:3.fileName = d.img\n'
                    'scsi0:4.present = TRUE\nscsi0:4.deviceType = cdrom-image\n'
                    'scsi0:4.startConnected = FALSE\n' % COUNTER)
        vm1 = Vm(cfg, env)
        ok(vm1.wait_counts(5), "the counter guest runs with the SCSI adapter present")
        r = subprocess.run([CTL, cfg, "suspend"], capture_output=True, text=True, env=env,
                           timeout=60)
        rc = vm1.wait()
        ok(r.returncode == 0 and rc == 0, "vmware-control suspend; vmkemu ends with status 0",
           r.stderr + vm1.err.decode(errors="replace"))
        std = os.path.join(tmp, "vm.std")
        data = open(std, "rb").read() if os.path.exists(std) else b""
        ok(b"buslogic.0" in data and b"pci.10.0" in data,
           "the .std holds the adapter's section and its PCI function's")
        last = (vm1.counts() or [0])[-1]
        vm2 = Vm(cfg, env)
        vm2.wait_counts(5)
        first = (vm2.counts() or [0])[0]
        ok(first == last + 1, "the next launch resumes: the count goes on (%d after %d)" %
           (first, last), bytes(vm2.out[:300]).decode(errors="replace"))
        ok(not os.path.exists(std), "the .std is gone after the resume")
        r = subprocess.run([CTL, cfg, "stop"], capture_output=True, text=True, env=env,
                           timeout=60)
        rc = vm2.wait()
        ok(r.returncode == 0 and rc == 0, "vmware-control stop ends the resumed VM",
           r.stderr + vm2.err.decode(errors="replace"))
        err = vm2.err.decode(errors="replace")
        ok("AddressSanitizer" not in err and "runtime error" not in err,
           "no sanitizer report", err)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
