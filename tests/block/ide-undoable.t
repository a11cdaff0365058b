#!/usr/bin/env python3
"""Disk modes end to end through the IDE disk (include/drive.h): a tiny guest
(tests/guest/ide-write.bin) writes sector 0 of the primary master through
the PIIX3 legacy ports, and the host looks at the image and its REDO log
after vmkemu ends.  Persistent, nonpersistent, append; undoable with
on-poweroff= commit / discard / keep / ask; ask answered through the monitor
(event VMKEMU_REDO_ACTION_REQUIRED, command vmkemu-redo-action), ask with
no monitor client, with a client that leaves, and with a signal; the
answer given while the VM still runs; a REDO log left by a killed VM
reported at the next start; query-block; a .cfg with ide0:0; the drive
errors of the command line (one line, status 2)."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("VMKEMU_SRC", "."), "tests", "lib"))
from qmp import Qmp, Tap, build_paths  # noqa: E402

vmkemu, guests = build_paths()
guest = os.path.join(guests, "ide-write.bin")
PATTERN = b"IDE-GUEST-WROTE!" * 32
SIZE = 1 << 20

p = subprocess.run([vmkemu, "-accel", "emu", "-m", "2", "-bios", "/dev/null"],
                   capture_output=True, text=True, timeout=60)
if "not available" in p.stderr:
    print("1..0 # SKIP the emulator does not run guests here")
    sys.exit(0)

tap = Tap(77)
tmp = tempfile.mkdtemp()
env = dict(os.environ, VMKEMU_RUNTIME_DIR=os.path.join(tmp, "run"))
env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"


def make_disk(name, idle=False):
    """A 1 MiB image of known bytes; sector 1 says IDLE when asked."""
    path = os.path.join(tmp, name)
    data = bytearray((i * 7 + (i >> 9)) & 0xff for i in range(SIZE))
    if idle:
        data[512:516] = b"IDLE"
    with open(path, "wb") as f:
        f.write(data)
    for extra in (".REDO",):
        if os.path.exists(path + extra):
            os.unlink(path + extra)
    return path, bytes(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def run(args, timeout=60):
    p = subprocess.run([vmkemu, "-accel", "emu", "-m", "16", "-nographic",
                        "-bios", guest] + args, capture_output=True, env=env,
                       timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def written(path, orig):
    d = read(path)
    return d[:512] == PATTERN and d[512:] == orig[512:]


def sanitizer_clean(err):
    return "Sanitizer" not in err and "runtime error:" not in err


# --- modes set on the command line ------------------------------------------

disk, orig = make_disk("persistent.img")
rc, out, err = run(["-hda", disk])
tap.ok(rc == 65 and "sector 0 written" in out, "persistent: the guest writes and reads back")
tap.ok(written(disk, orig), "persistent: the write is in the image")
tap.ok(not os.path.exists(disk + ".REDO") and sanitizer_clean(err), "persistent: no REDO log")

disk, orig = make_disk("nonpersistent.img")
rc, out, err = run(["-drive", "file=%s,mode=nonpersistent" % disk])
tap.ok(rc == 65, "nonpersistent: the guest reads its own write back")
tap.ok(read(disk) == orig and not os.path.exists(disk + ".REDO"),
       "nonpersistent: the image is unchanged, no REDO log left")

disk, orig = make_disk("commit.img")
rc, out, err = run(["-drive", "file=%s,mode=undoable,on-poweroff=commit" % disk])
tap.ok(rc == 65, "undoable, on-poweroff=commit: guest passes")
tap.ok(written(disk, orig) and not os.path.exists(disk + ".REDO"),
       "undoable, on-poweroff=commit: committed into the image, REDO removed")

disk, orig = make_disk("discard.img")
rc, out, err = run(["-drive", "file=%s,mode=undoable,on-poweroff=discard" % disk])
tap.ok(rc == 65, "undoable, on-poweroff=discard: guest passes")
tap.ok(read(disk) == orig and not os.path.exists(disk + ".REDO"),
       "undoable, on-poweroff=discard: image unchanged, REDO removed")

disk, orig = make_disk("keep.img")
rc, out, err = run(["-drive", "file=%s,mode=undoable,on-poweroff=keep" % disk])
tap.ok(rc == 65 and read(disk) == orig and os.path.exists(disk + ".REDO"),
       "undoable, on-poweroff=keep: image unchanged, REDO kept")
redo_size = os.path.getsize(disk + ".REDO")
tap.ok(redo_size > 0, "undoable, keep: the REDO log holds the write (%d bytes)" % redo_size)
# The next run takes the kept log up again; then it is committed.
rc, out, err = run(["-drive", "file=%s,mode=undoable,on-poweroff=commit" % disk])
tap.ok(rc == 65 and written(disk, orig) and not os.path.exists(disk + ".REDO"),
       "undoable: a kept REDO is taken up by the next run and committed")

disk, orig = make_disk("append.img")
rc, out, err = run(["-drive", "file=%s,mode=append" % disk])
tap.ok(rc == 65 and read(disk) == orig and os.path.exists(disk + ".REDO"),
       "append: image unchanged, writes kept in the REDO log")

log = os.path.join(tmp, "ask.log")
disk, orig = make_disk("ask-nomon.img")
rc, out, err = run(["-D", log, "-drive", "file=%s,mode=undoable" % disk])
tap.ok(rc == 65 and read(disk) == orig and os.path.exists(disk + ".REDO"),
       "undoable, ask (the default) without a monitor client: REDO kept")
tap.ok("no monitor client to ask" in read(log).decode(),
       "the log says why the REDO was kept")

# --- ask, answered through the monitor ------------------------------------------


class Vm:
    """vmkemu running the idling variant of the guest, with a monitor."""

    def __init__(self, drives, cfg=None):
        if cfg:
            # A .cfg VM: the log is vmware.log beside it.
            self.sock = os.path.join(os.path.dirname(cfg), "q.sock")
            self.log = os.path.join(os.path.dirname(cfg), "vmware.log")
            argv = [vmkemu, cfg, "-nographic"]
        else:
            self.sock = os.path.join(tmp, "qmp-%d.sock" % time.monotonic_ns())
            self.log = self.sock + ".log"
            argv = [vmkemu, "-accel", "emu", "-m", "16", "-nographic", "-bios", guest,
                    "-D", self.log]
        self.p = subprocess.Popen(argv + ["-qmp", "unix:%s,server,nowait" % self.sock] + drives,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.out = []
        threading.Thread(target=lambda: self.out.extend(
            l.decode(errors="replace") for l in iter(self.p.stdout.readline, b"")),
            daemon=True).start()

    def idling(self, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any("idling" in l for l in list(self.out)):
                return True
            if self.p.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def qmp(self):
        q = Qmp(self.sock)
        q.cmd("qmp_capabilities")
        return q

    def wait(self, timeout=30):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        err = self.p.stderr.read().decode(errors="replace")
        return rc, err


disk, orig = make_disk("ask-commit.img", idle=True)
other, other_orig = make_disk("persistent2.img")
vm = Vm(["-drive", "file=%s,mode=undoable" % disk, "-hdb", other])
tap.ok(vm.idling(), "ask: the guest wrote and idles")
q = vm.qmp()
r = q.cmd("query-block")
blocks = {b["device"]: b for b in r.get("return", [])}
hd0 = blocks.get("ide0-hd0", {})
ins = hd0.get("inserted", {})
tap.ok(ins.get("file") == disk and ins.get("mode") == "undoable" and
       ins.get("redo") == disk + ".REDO" and ins.get("ro") is False and
       ins.get("on-poweroff") == "ask" and ins.get("drv") == "raw",
       "query-block: file, mode, REDO path, ro, on-poweroff of ide0-hd0")
tap.ok(blocks.get("ide0-hd1", {}).get("inserted", {}).get("mode") == "persistent" and
       "redo" not in blocks.get("ide0-hd1", {}).get("inserted", {}) and
       hd0.get("interface") == "ide" and hd0.get("bus") == 0 and hd0.get("unit") == 0,
       "query-block: the persistent ide0-hd1 has no REDO; slots reported")
r = q.cmd("vmkemu-redo-action", {"device": "nosuch", "action": "commit"})
tap.ok(r.get("error", {}).get("class") == "DeviceNotFound",
       "vmkemu-redo-action: an unknown drive is DeviceNotFound")
r = q.cmd("vmkemu-redo-action", {"device": "ide0-hd1", "action": "commit"})
tap.ok(r.get("error", {}).get("class") == "GenericError" and
       "not undoable" in r["error"]["desc"],
       "vmkemu-redo-action: a persistent drive has no choice")
r = q.cmd("vmkemu-redo-action", {"device": "ide0-hd0", "action": "later"})
tap.ok(r.get("error", {}).get("class") == "GenericError",
       "vmkemu-redo-action: an unknown action is refused")
q.cmd("quit")
try:
    ev = q.event("VMKEMU_REDO_ACTION_REQUIRED", timeout=20)
except Exception as e:  # noqa: BLE001
    ev = {"error": str(e)}
d = ev.get("data", {})
tap.ok(d.get("device") == "ide0-hd0" and d.get("redo") == disk + ".REDO" and
       d.get("file") == disk and sorted(d.get("choices", [])) == ["commit", "discard", "keep"],
       "power-off asks: VMKEMU_REDO_ACTION_REQUIRED names the drive and its REDO")
r = q.cmd("query-status")
tap.ok(r.get("return", {}).get("status") == "shutdown",
       "while it asks, the monitor is served (query-status: shutdown)")
time.sleep(0.3)
tap.ok(vm.p.poll() is None and os.path.exists(disk + ".REDO"),
       "vmkemu waits for the answer")
r = q.cmd("vmkemu-redo-action", {"device": "ide0-hd0", "action": "commit"})
tap.ok("return" in r, "the answer: commit")
rc, err = vm.wait()
tap.ok(rc == 0 and sanitizer_clean(err), "vmkemu ends with status 0 after the answer")
tap.ok(written(disk, orig) and not os.path.exists(disk + ".REDO"),
       "answered commit: the write is in the image, REDO removed")
tap.ok(read(other) == other_orig,
       "the persistent second disk was not written by the guest")
tap.ok("committed into the disk" in read(vm.log).decode(), "the log records the commit")

disk, orig = make_disk("ask-discard.img", idle=True)
vm = Vm(["-drive", "file=%s,mode=undoable" % disk])
tap.ok(vm.idling(), "ask/discard: the guest idles")
q = vm.qmp()
q.cmd("quit")
try:
    ev = q.event("VMKEMU_REDO_ACTION_REQUIRED", timeout=20)
except Exception:  # noqa: BLE001
    ev = {}
tap.ok(ev.get("data", {}).get("device") == "ide0-hd0", "ask/discard: the question comes")
r = q.cmd("vmkemu-redo-action", {"device": "ide0-hd0", "action": "discard"})
rc, err = vm.wait()
tap.ok("return" in r and rc == 0, "answered discard: vmkemu ends with status 0")
tap.ok(read(disk) == orig and not os.path.exists(disk + ".REDO"),
       "answered discard: image unchanged, REDO removed")

disk, orig = make_disk("ask-keep.img", idle=True)
vm = Vm(["-drive", "file=%s,mode=undoable" % disk])
tap.ok(vm.idling(), "ask/keep: the guest idles")
q = vm.qmp()
q.cmd("quit")
try:
    q.event("VMKEMU_REDO_ACTION_REQUIRED", timeout=20)
except Exception:  # noqa: BLE001
    pass
r = q.cmd("vmkemu-redo-action", {"device": "ide0-hd0", "action": "keep"})
rc, err = vm.wait()
tap.ok("return" in r and rc == 0 and read(disk) == orig and os.path.exists(disk + ".REDO"),
       "answered keep: image unchanged, REDO kept")

# The answer given while the VM runs: no question at power-off.
disk, orig = make_disk("early.img", idle=True)
vm = Vm(["-drive", "file=%s,mode=undoable,on-poweroff=discard" % disk])
tap.ok(vm.idling(), "early answer: the guest idles")
q = vm.qmp()
r = q.cmd("vmkemu-redo-action", {"device": "ide0-hd0", "action": "commit"})
tap.ok("return" in r, "vmkemu-redo-action while running: accepted")
r = q.cmd("query-block")
tap.ok(r["return"][0]["inserted"].get("on-poweroff") == "commit",
       "query-block shows the new power-off action")
q.cmd("quit")
rc, err = vm.wait()
asked = any(e.get("event") == "VMKEMU_REDO_ACTION_REQUIRED" for e in q.events)
tap.ok(rc == 0 and not asked, "power-off does not ask again")
tap.ok(written(disk, orig) and not os.path.exists(disk + ".REDO"),
       "the early answer (commit) overrides on-poweroff=discard")

# The client leaves without answering: keep.
disk, orig = make_disk("leave.img", idle=True)
vm = Vm(["-drive", "file=%s,mode=undoable" % disk])
tap.ok(vm.idling(), "client leaves: the guest idles")
q = vm.qmp()
q.cmd("quit")
try:
    q.event("VMKEMU_REDO_ACTION_REQUIRED", timeout=20)
    got = True
except Exception:  # noqa: BLE001
    got = False
q.close()
rc, err = vm.wait()
tap.ok(got and rc == 0, "the client saw the question and left: vmkemu ends")
tap.ok(read(disk) == orig and os.path.exists(disk + ".REDO"),
       "no answer (client left): REDO kept")
tap.ok("no client left" in read(vm.log).decode(), "the log says the client left")

# A signal while it asks: keep.
disk, orig = make_disk("signal.img", idle=True)
vm = Vm(["-drive", "file=%s,mode=undoable" % disk])
tap.ok(vm.idling(), "signal: the guest idles")
q = vm.qmp()
q.cmd("quit")
try:
    q.event("VMKEMU_REDO_ACTION_REQUIRED", timeout=20)
except Exception:  # noqa: BLE001
    pass
vm.p.send_signal(signal.SIGTERM)
rc, err = vm.wait()
tap.ok(rc == 0 and read(disk) == orig and os.path.exists(disk + ".REDO"),
       "SIGTERM while asking: vmkemu ends, REDO kept")
q.close()

# --- a REDO log left by a killed VM ------------------------------------------------

disk, orig = make_disk("crash.img", idle=True)
vm = Vm(["-drive", "file=%s,mode=undoable" % disk])
tap.ok(vm.idling(), "crash: the guest wrote and idles")
vm.p.kill()
vm.wait()
tap.ok(os.path.exists(disk + ".REDO") and read(disk) == orig,
       "killed: the REDO log stays, the image is untouched")
vm = Vm(["-drive", "file=%s,mode=undoable,on-poweroff=commit" % disk])
tap.ok(vm.idling(), "the next start runs on the recovered REDO")
q = vm.qmp()
q.cmd("quit")
rc, err = vm.wait()
tap.ok("ide0-hd0" in err and "did not power off" in err and err.count("\n") >= 1,
       "the recovered REDO is reported on stderr, naming the drive")
tap.ok("did not power off" in read(vm.log).decode(), "... and in the log")
tap.ok(rc == 0 and written(disk, orig) and not os.path.exists(disk + ".REDO"),
       "the recovered changes (the killed run's write) are committed")

# --- a .cfg with ide0:0 ---------------------------------------------------------------

cfgdir = os.path.join(tmp, "vm")
os.makedirs(cfgdir)
disk, orig = make_disk("vm/disk.dsk")
shutil.copy(guest, os.path.join(cfgdir, "guest.bin"))
cfg = os.path.join(cfgdir, "vm.cfg")
with open(cfg, "w") as f:
    f.write('displayName = "ide cfg"\nmemsize = 16\nvmkemu.bios = guest.bin\n'
            'vmkemu.accel = emu\n'
            'ide0:0.present = TRUE\nide0:0.fileName = "disk.dsk"\n'
            'ide0:0.deviceType = "ata-hardDisk"\nide0:0.mode = "undoable"\n'
            'ide1:0.present = TRUE\nide1:0.deviceType = "atapi-cdrom"\n'
            'ide1:0.startConnected = FALSE\n')
p = subprocess.run([vmkemu, cfg, "-nographic"], capture_output=True, env=env, timeout=60)
out = p.stdout.decode(errors="replace")
tap.ok(p.returncode == 65 and "sector 0 written" in out,
       ".cfg: ide0:0 (fileName beside the cfg) is the guest's disk")
tap.ok(read(disk) == orig and os.path.exists(disk + ".REDO"),
       ".cfg: mode = undoable, no monitor client answering: REDO kept")
vmlog = os.path.join(cfgdir, "vmware.log")
tap.ok(os.path.exists(vmlog) and "drive ide0-hd0: %s" % disk in read(vmlog).decode() and
       "drive ide1-cd0" not in read(vmlog).decode(),
       ".cfg: vmware.log lists the disk (the CD-ROM drive is empty)")
# The command line overrides the cfg's ide0:0.
p = subprocess.run([vmkemu, cfg, "-nographic", "-drive",
                    "file=%s,index=0,mode=undoable,on-poweroff=commit" % disk],
                   capture_output=True, env=env, timeout=60)
tap.ok(p.returncode == 65 and written(disk, orig) and not os.path.exists(disk + ".REDO"),
       ".cfg overridden by -drive index=0 on-poweroff=commit: committed (with the kept REDO)")

with open(cfg, "w") as f:
    f.write('memsize = 16\nide0:0.present = TRUE\nide0:0.fileName = disk.dsk\n'
            'ide0:0.deviceType = "rawDisk"\n')
p = subprocess.run([vmkemu, cfg], capture_output=True, env=env, timeout=60)
err = p.stderr.decode()
tap.ok(p.returncode == 2 and err.count("\n") == 1 and "vm.cfg:4: ide0:0.deviceType = rawDisk" in err,
       ".cfg: an unknown deviceType is one line naming file and line, status 2")
with open(cfg, "w") as f:
    f.write('memsize = 16\nide0:0.present = TRUE\nide0:0.fileName = nosuch.dsk\n')
p = subprocess.run([vmkemu, cfg], capture_output=True, env=env, timeout=60)
err = p.stderr.decode()
tap.ok(p.returncode == 2 and err.count("\n") == 1 and "drive ide0-hd0" in err and
       os.path.join(cfgdir, "nosuch.dsk") in err,
       ".cfg: a missing disk is one line naming the drive and the file, status 2")
with open(cfg, "w") as f:
    f.write('memsize = 16\nide0:0.present = TRUE\nide0:0.deviceType = ata-hardDisk\n')
p = subprocess.run([vmkemu, cfg], capture_output=True, env=env, timeout=60)
tap.ok(p.returncode == 2 and "without ide0:0.fileName" in p.stderr.decode(),
       ".cfg: a present disk without fileName is refused")

# Suspend keeps the REDO log without asking; the resumed VM goes on with it.
sdir = os.path.join(tmp, "susp")
os.makedirs(sdir)
disk, orig = make_disk("susp/disk.dsk", idle=True)
shutil.copy(guest, os.path.join(sdir, "guest.bin"))
cfg = os.path.join(sdir, "vm.cfg")
with open(cfg, "w") as f:
    f.write('memsize = 16\nvmkemu.bios = guest.bin\nvmkemu.accel = emu\n'
            'ide0:0.present = TRUE\nide0:0.fileName = disk.dsk\nide0:0.mode = undoable\n')
vm = Vm([], cfg=cfg)
tap.ok(vm.idling(), "suspend: the guest wrote and idles")
q = vm.qmp()
r = q.cmd("vmkemu-suspend")
rc, err = vm.wait()
asked = any(e.get("event") == "VMKEMU_REDO_ACTION_REQUIRED" for e in q.events)
tap.ok("return" in r and rc == 0 and not asked and os.path.exists(disk + ".REDO") and
       read(disk) == orig, "vmkemu-suspend: no question, REDO kept, image unchanged")
vm = Vm([], cfg=cfg)
time.sleep(0.5)
q = vm.qmp()
st = q.cmd("query-status").get("return", {}).get("status")
q.cmd("quit")
try:
    ev = q.event("VMKEMU_REDO_ACTION_REQUIRED", timeout=20)
except Exception:  # noqa: BLE001
    ev = {}
q.cmd("vmkemu-redo-action", {"device": "ide0-hd0", "action": "commit"})
rc, err = vm.wait()
tap.ok(st == "running" and not any("idling" in l for l in vm.out) and
       ev.get("data", {}).get("device") == "ide0-hd0",
       "resumed (no new boot); at power-off the question comes")
tap.ok(rc == 0 and written(disk, orig) and not os.path.exists(disk + ".REDO") and
       "did not power off" not in err,
       "the resumed VM's REDO (written before the suspend) is committed")

# --- command-line errors: one line, status 2 ------------------------------------------

disk, orig = make_disk("errors.img")
cases = [
    (["-hda", os.path.join(tmp, "nosuch.img")], "drive ide0-hd0: .*nosuch.img"),
    (["-drive", "file=%s,format=vmdk" % disk], "format=vmdk, but the file holds a raw image"),
    (["-drive", "file=%s,if=floppy" % disk], "if=floppy: unknown interface"),
    (["-drive", "file=%s,index=4" % disk], "index=4: if=ide has indexes 0 to 3"),
    (["-drive", "file=%s,bus=0,unit=2" % disk], "unit=2: if=ide has units 0 to 1"),
    (["-hda", disk, "-drive", "file=%s,index=0" % disk], "already holds"),
    (["-drive", "file=%s,on-poweroff=commit" % disk], "applies to mode=undoable only"),
    (["-drive", "file=%s,mode=undoable,readonly=on" % disk], "readonly=on with mode=undoable"),
    (["-drive", "file=%s,mode=frozen" % disk], "mode=frozen: unknown disk mode"),
    (["-drive", "file=%s,cache=none" % disk], "cache: unknown drive option"),
    (["-drive", "if=ide"], "a disk needs file="),
    (["-drive", "file=%s,if=scsi,unit=7" % disk], "unit=7: if=scsi has units 0 to 15 except 7"),
]
import re  # noqa: E402
for args, pattern in cases:
    p = subprocess.run([vmkemu, "-accel", "emu", "-m", "16", "-bios", guest] + args,
                       capture_output=True, env=env, timeout=60)
    err = p.stderr.decode()
    tap.ok(p.returncode == 2 and err.count("\n") == 1 and re.search(pattern, err),
           "%s: status 2, one line matching '%s'" % (" ".join(a.replace(tmp, "T") for a in args), pattern))

# Five drives on four IDE slots: the fifth has no unit left.
p = subprocess.run([vmkemu, "-m", "16", "-bios", guest] +
                   sum([["-drive", "file=%s" % disk] for _ in range(5)], []),
                   capture_output=True, env=env, timeout=60)
tap.ok(p.returncode == 2 and "no free if=ide unit left" in p.stderr.decode(),
       "-drive without a slot takes the first free unit; a fifth has none")
# A CD-ROM without a medium is fine; readonly disks refuse writes.
ro, ro_orig = make_disk("readonly.img")
rc, out, err = run(["-drive", "file=%s,readonly=on" % ro, "-drive", "if=ide,index=2,media=cdrom"])
tap.ok(rc == 97 and read(ro) == ro_orig and "misbehaved" in out,
       "readonly=on: the guest's write fails, the image is untouched")

shutil.rmtree(tmp, ignore_errors=True)
