#!/usr/bin/env python3
"""Suspend and resume of a VM launched from a .cfg (ESX Server 1.0 manual,
"Suspending and Resuming Virtual Machines"), under each accelerator that
runs guests here.  The counter guest counts PIT ticks in RAM and prints
"count N" on the debug console; a resumed guest must go on from the count
it was suspended at, without booting again.  Checked: vmware-control
suspend ends the VM and leaves <name>.std beside the cfg (or in
suspend.directory), getstate says suspended, the next launch resumes and
deletes the .std, resume.repeatable = TRUE keeps it and resumes the same
state every time (and refuses a new suspend), the QMP command and its
events, and the refusals: a changed .cfg, a damaged or truncated .std."""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("VMKEMU_SRC", "."), "tests", "lib"))
from qmp import Qmp, Tap, accels, build_paths  # noqa: E402

vmkemu, guests = build_paths()
ctl = os.path.join(os.environ.get("VMKEMU_BUILD", "."), "vmware-control")
counter = os.path.join(guests, "counter.bin")
CHECKS = 19

usable = accels(vmkemu)
if not usable:
    print("1..0 # SKIP no accelerator runs guests here yet")
    sys.exit(0)
tap = Tap(CHECKS * len(usable))
running = []


class Vm:
    """vmkemu CFG -nographic, its debug console collected as it comes."""

    def __init__(self, cfg):
        self.p = subprocess.Popen([vmkemu, cfg, "-nographic"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = bytearray()
        self.err = bytearray()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._pump, args=(self.p.stdout, self.out)),
                        threading.Thread(target=self._pump, args=(self.p.stderr, self.err))]
        for t in self.threads:
            t.daemon = True
            t.start()
        running.append(self)

    def _pump(self, f, buf):
        while True:
            data = os.read(f.fileno(), 4096)
            if not data:
                return
            with self.lock:
                buf.extend(data)

    def text(self):
        with self.lock:
            return self.out.decode(errors="replace")

    def stderr(self):
        with self.lock:
            return self.err.decode(errors="replace")

    def counts(self):
        return counts_in(self.text())

    def wait_counts(self, n, timeout=30):
        """Wait until the guest printed at least n counts in this run."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.counts()) >= n or self.p.poll() is not None:
                break
            time.sleep(0.05)
        return len(self.counts()) >= n

    def wait(self, timeout=30):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self.threads:
            t.join(5)
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def counts_in(text):
    """The numbers of the complete "count N" lines."""
    out = []
    for line in text.split("\n")[:-1]:
        if line.startswith("count "):
            try:
                out.append(int(line[6:]))
            except ValueError:
                out.append(-1)
    return out


def consecutive(before, after):
    """The guest's console across a suspend: one run of counts 1, 2, 3 ...
    (a line cut by the suspend is completed by the resumed guest)."""
    c = counts_in(before + after)
    return len(c) > len(counts_in(before)) and c == list(range(1, len(c) + 1)) and \
        "counter guest up" not in after and "mismatch" not in before + after


def control(cfg, cmd):
    return subprocess.run([ctl, cfg, cmd], capture_output=True, text=True, timeout=60)


def getstate(cfg):
    return control(cfg, "getstate").stdout.strip()


def write_cfg(path, accel, extra=""):
    with open(path, "w") as f:
        f.write('displayName = "suspend test"\nmemsize = 16\n'
                'vmkemu.accel = %s\nvmkemu.bios = "%s"\n%s' % (accel, counter, extra))


def stop(cfg, vm):
    control(cfg, "stop")
    if vm.wait(20) is None:
        vm.kill()


def refused(cfg, std, what):
    """Launching `cfg` fails with status 1 and one line naming `std` and
    `what`; the .std stays."""
    vm = Vm(cfg)
    rc = vm.wait(30)
    err = vm.stderr().strip()
    ok = rc == 1 and len(err.splitlines()) == 1 and std in err and what in err and \
        os.path.exists(std) and "count" not in vm.text()
    if not ok:
        print("# status %s, stderr: %r" % (rc, err))
    return ok


def run(accel):
    tmp = tempfile.mkdtemp()
    os.environ["VMKEMU_RUNTIME_DIR"] = os.path.join(tmp, "run")
    cfg = os.path.join(tmp, "vm.cfg")
    std = os.path.join(tmp, "vm.std")
    write_cfg(cfg, accel)
    try:
        # --- suspend with vmware-control, resume, .std removed ---------------
        vm1 = Vm(cfg)
        tap.ok(vm1.wait_counts(10), "%s: the counter guest boots and counts" % accel)
        r = control(cfg, "suspend")
        tap.ok(r.returncode == 0, "%s: vmware-control suspend succeeds" % accel)
        if r.returncode:
            print("# " + r.stderr.strip())
        tap.ok(vm1.wait(30) == 0, "%s: the VM process ended with status 0" % accel)
        tap.ok(os.path.isfile(std), "%s: vm.std written beside the cfg" % accel)
        tap.ok(getstate(cfg) == "getstate() = suspended", "%s: getstate says suspended" % accel)
        vm2 = Vm(cfg)
        vm2.wait_counts(10)
        tap.ok(consecutive(vm1.text(), vm2.text()),
               "%s: the next launch resumes: the count goes on from %s, no boot" %
               (accel, (vm1.counts() or ["?"])[-1]))
        tap.ok(not os.path.exists(std), "%s: the .std is deleted after the resume" % accel)
        tap.ok(getstate(cfg) == "getstate() = on", "%s: getstate says on while it runs" % accel)
        stop(cfg, vm2)

        # --- suspend through QMP: answer and events --------------------------
        vm3 = Vm(cfg)
        vm3.wait_counts(5)
        real = os.path.realpath(cfg)
        sock = os.path.join(tmp, "run", "vm-" + hashlib.sha256(real.encode()).hexdigest()[:16],
                            "qmp.sock")
        q = Qmp(sock)
        q.cmd("qmp_capabilities")
        r = q.cmd("vmkemu-suspend", id=7)
        events = []
        try:
            for name in ("STOP", "SUSPEND", "SHUTDOWN"):
                events.append(q.event(name, timeout=10))
        except Exception:
            pass
        q.close()
        tap.ok(r.get("return") == {"file": std} and r.get("id") == 7 and len(events) == 3 and
               events[1].get("data", {}).get("file") == std and vm3.wait(30) == 0,
               "%s: QMP vmkemu-suspend answers the file; events STOP, SUSPEND, SHUTDOWN" % accel)
        good = os.path.join(tmp, "good.std")
        shutil.copy(std, good)

        # --- refusals -------------------------------------------------------------
        with open(cfg) as f:
            original = f.read()
        with open(cfg, "a") as f:
            f.write("# edited after the suspend\n")
        tap.ok(refused(cfg, std, "configuration file changed since the suspend"),
               "%s: a changed .cfg is refused, the .std kept" % accel)
        with open(cfg, "w") as f:
            f.write(original)
        data = bytearray(open(good, "rb").read())
        data[len(data) // 2] ^= 0x40
        open(std, "wb").write(data)
        tap.ok(refused(cfg, std, "checksum mismatch"), "%s: a damaged .std is refused" % accel)
        open(std, "wb").write(open(good, "rb").read()[:len(data) // 3])
        tap.ok(refused(cfg, std, "truncated"), "%s: a truncated .std is refused" % accel)
        open(std, "wb").write(b"")
        tap.ok(refused(cfg, std, "truncated (0 bytes)"), "%s: an empty .std is refused" % accel)
        shutil.copy(good, std)
        vm4 = Vm(cfg)
        vm4.wait_counts(5)
        tap.ok(consecutive(vm3.text(), vm4.text()) and not os.path.exists(std),
               "%s: after the refusals the restored .std resumes" % accel)
        stop(cfg, vm4)

        # --- resume.repeatable = TRUE, suspend.directory ----------------------------
        rep = os.path.join(tmp, "rep.cfg")
        os.mkdir(os.path.join(tmp, "states"))
        write_cfg(rep, accel, "suspend.directory = states\nresume.repeatable = TRUE\n")
        rstd = os.path.join(tmp, "states", "rep.std")
        vm5 = Vm(rep)
        vm5.wait_counts(10)
        r = control(rep, "suspend")
        tap.ok(r.returncode == 0 and vm5.wait(30) == 0 and os.path.isfile(rstd) and
               not os.path.exists(os.path.join(tmp, "rep.std")),
               "%s: suspend.directory: the .std goes there" % accel)
        vm6 = Vm(rep)
        vm6.wait_counts(10)
        tap.ok(consecutive(vm5.text(), vm6.text()) and os.path.isfile(rstd),
               "%s: resume.repeatable: resumes and keeps the .std" % accel)
        r = control(rep, "suspend")
        tap.ok(r.returncode == 1 and "resume.repeatable" in r.stderr and
               getstate(rep) == "getstate() = on",
               "%s: resume.repeatable: a new suspend is refused, the VM runs on" % accel)
        stop(rep, vm6)
        vm7 = Vm(rep)
        vm7.wait_counts(10)
        tap.ok(consecutive(vm5.text(), vm7.text()),
               "%s: resume.repeatable: the next launch resumes the same state again" % accel)
        stop(rep, vm7)
        tap.ok(getstate(rep) == "getstate() = suspended",
               "%s: resume.repeatable: powered off, it is still suspended" % accel)
    finally:
        for vm in running:
            vm.kill()
        running.clear()
        shutil.rmtree(tmp, ignore_errors=True)


for a in usable:
    run(a)
