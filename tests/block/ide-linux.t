#!/usr/bin/env python3
"""Debian's i686 Linux on the PIIX3 IDE (one boot under -accel emu, launched
from a .cfg): ata_piix, sd_mod, sr_mod and isofs find

  ide0:0  (.cfg, persistent)  8 MiB of random data: the guest's md5sum of
          /dev/sdX equals the host's; it writes a 64 KiB pattern at 1 MiB
          (conv=fsync), reads it back after dropping the caches, and after
          power-off the host finds exactly that change in the image;
  ide1:0  (.cfg, cdrom-image) an ISO 9660 image made with genisoimage:
          the raw device's md5sum equals the image's, and a file read
          through isofs has the host file's md5sum;
  ide0:1  (-drive, mode=undoable,on-poweroff=discard): written by the
          guest, unchanged after power-off, REDO removed;
  ide1:1  (-drive, mode=undoable, ask): written by the guest; at power-off
          the monitor gets VMKEMU_REDO_ACTION_REQUIRED and answers commit:
          the pattern is in the image, REDO removed.

Skips when the guest assets cannot be built here.  Under ASan the boot takes
minutes (VMKEMU_LINUX_TIMEOUT, default 1200 s)."""
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("VMKEMU_SRC", "."), "tests", "lib"))
from qmp import Qmp, Tap, build_paths  # noqa: E402

src = os.environ.get("VMKEMU_SRC", ".")
vmkemu, _ = build_paths()
timeout = int(os.environ.get("VMKEMU_LINUX_TIMEOUT", "1200"))
tmp = tempfile.mkdtemp()

GUEST_SCRIPT = r"""# tests/block/ide-linux.t, in the guest
dev() { ls /sys/bus/scsi/devices/$1/block 2>/dev/null; }
a=$(dev 0:0:0:0); b=$(dev 0:0:1:0); c=$(dev 1:0:0:0); d=$(dev 1:0:1:0)
echo "DEVS a=$a b=$b c=$c d=$d"
echo "MD5-A $(md5sum < /dev/$a)"
echo "MD5-CDRAW $(md5sum < /dev/$c)"
mkdir -p /mnt/cd
if mount -t iso9660 -o ro /dev/$c /mnt/cd; then
    echo "MD5-CDFILE $(md5sum < /mnt/cd/data.bin)"
    echo "CDLS $(ls /mnt/cd | tr '\n' ' ')"
    umount /mnt/cd
fi
yes VMKEMU-IDE-LINUX-PATTERN | head -c 65536 > /tmp/pat
dd if=/tmp/pat of=/dev/$a bs=4096 seek=256 conv=fsync 2>/dev/null && echo WROTE-A
dd if=/tmp/pat of=/dev/$b bs=4096 conv=fsync 2>/dev/null && echo WROTE-B
dd if=/tmp/pat of=/dev/$d bs=4096 conv=fsync 2>/dev/null && echo WROTE-D
sync
echo 3 > /proc/sys/vm/drop_caches
echo "MD5-BACK $(dd if=/dev/$a bs=4096 skip=256 count=16 2>/dev/null | md5sum)"
"""

PATTERN = (b"VMKEMU-IDE-LINUX-PATTERN\n" * 3000)[:65536]


def md5(data):
    return hashlib.md5(data).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


script = os.path.join(tmp, "ide-check")
with open(script, "w") as f:
    f.write(GUEST_SCRIPT)
p = subprocess.run([os.path.join(src, "scripts", "guest-assets"), "--arch", "i386", "-q",
                    "--add-script", script], capture_output=True, text=True)
if p.returncode != 0 or not p.stdout.split():
    why = (p.stderr.strip().splitlines() or ["no output"])[0]
    print("1..0 # SKIP i386 guest assets unavailable: %s" % why)
    sys.exit(0)
_, kernel, initrd = p.stdout.split()[:3]

tap = Tap(14)
rnd = os.urandom
disk_a = rnd(8 << 20)
disk_b = rnd(2 << 20)
disk_d = rnd(2 << 20)
for name, data in (("disk.img", disk_a), ("b.img", disk_b), ("d.img", disk_d)):
    with open(os.path.join(tmp, name), "wb") as f:
        f.write(data)

have_iso = False
isodir = os.path.join(tmp, "iso")
os.makedirs(isodir)
cd_file = rnd(300 * 1024)
with open(os.path.join(isodir, "data.bin"), "wb") as f:
    f.write(cd_file)
with open(os.path.join(isodir, "readme.txt"), "w") as f:
    f.write("vmkemu IDE CD-ROM test\n")
iso = os.path.join(tmp, "test.iso")
try:
    g = subprocess.run(["genisoimage", "-quiet", "-R", "-J", "-V", "VMKEMU", "-o", iso, isodir],
                       capture_output=True, text=True)
    have_iso = g.returncode == 0
except FileNotFoundError:
    pass

cfg = os.path.join(tmp, "vm.cfg")
with open(cfg, "w") as f:
    f.write('displayName = "ide-linux"\nmemsize = 256\n'
            'vmkemu.kernel = "%s"\nvmkemu.initrd = "%s"\n'
            'vmkemu.cmdline = "console=ttyS0 panic=-1 quiet '
            'vmkemu.modules=ata_piix,sd_mod,sr_mod,isofs vmkemu.script=ide-check"\n'
            'vmkemu.accel = emu\n'
            'ide0:0.present = TRUE\nide0:0.fileName = disk.img\n'
            'ide0:0.deviceType = "ata-hardDisk"\nide0:0.mode = "persistent"\n'
            'ide1:0.present = TRUE\nide1:0.deviceType = "cdrom-image"\n' % (kernel, initrd))
    if have_iso:
        f.write('ide1:0.fileName = test.iso\n')
    else:
        f.write('ide1:0.startConnected = FALSE\n')

env = dict(os.environ, VMKEMU_RUNTIME_DIR=os.path.join(tmp, "run"))
env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
sock = os.path.join(tmp, "qmp.sock")
start = time.time()
vm = subprocess.Popen([vmkemu, cfg, "-nographic", "-qmp", "unix:%s,server,nowait" % sock,
                       "-drive", "file=%s,index=1,mode=undoable,on-poweroff=discard"
                       % os.path.join(tmp, "b.img"),
                       "-drive", "file=%s,index=3,mode=undoable" % os.path.join(tmp, "d.img")],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
out_lines = []
reader = threading.Thread(target=lambda: out_lines.extend(
    l.decode(errors="replace").rstrip("\r\n") for l in iter(vm.stdout.readline, b"")),
    daemon=True)
reader.start()

answered = None
try:
    q = Qmp(sock, timeout=60)
    q.cmd("qmp_capabilities")
    blocks = {b["device"]: b for b in q.cmd("query-block").get("return", [])}
    q.sock.settimeout(timeout)
    ev = q.event("VMKEMU_REDO_ACTION_REQUIRED", timeout=timeout)
    answered = ev.get("data", {})
    q.cmd("vmkemu-redo-action", {"device": answered.get("device", ""), "action": "commit"})
except Exception as e:  # noqa: BLE001
    blocks = {}
    print("# monitor: %s" % e)
try:
    rc = vm.wait(timeout=timeout)
except subprocess.TimeoutExpired:
    vm.kill()
    rc = vm.wait()
reader.join(timeout=10)
err = vm.stderr.read().decode(errors="replace")
print("# vmkemu: status %d after %d s" % (rc, time.time() - start))


def line(prefix):
    for l in out_lines:
        if l.startswith(prefix):
            return l[len(prefix):].strip()
    return ""


tap.ok(any(l.startswith("BOOT-OK") for l in out_lines), "Linux boots to BOOT-OK")
tap.ok(set(blocks) == {"ide0-hd0", "ide0-hd1", "ide1-cd0", "ide1-hd1"} and
       blocks["ide1-cd0"].get("removable") is True and
       blocks["ide0-hd0"].get("inserted", {}).get("mode") == "persistent",
       "query-block lists the .cfg's and the command line's drives")
devs = line("DEVS")
tap.ok("a=sd" in devs and "b=sd" in devs and "c=sr" in devs and "d=sd" in devs,
       "ata_piix finds three disks and the CD-ROM (%s)" % devs)
tap.ok(line("MD5-A").split()[:1] == [md5(disk_a)],
       "the guest's md5sum of the disk equals the host's (%s)" % md5(disk_a))
if have_iso:
    tap.ok(line("MD5-CDRAW").split()[:1] == [md5(read(iso))],
           "the guest's md5sum of the raw CD-ROM equals the ISO image's")
    tap.ok(line("MD5-CDFILE").split()[:1] == [md5(cd_file)],
           "a file read through isofs on the CD-ROM has the host file's md5sum")
else:
    tap.ok(True, "# SKIP genisoimage not installed")
    tap.ok(True, "# SKIP genisoimage not installed")
tap.ok(all(("WROTE-%s" % x) in out_lines for x in "ABD"), "the guest writes the three disks")
tap.ok(line("MD5-BACK").split()[:1] == [md5(PATTERN)],
       "the guest reads its write back from the disk after dropping its caches")
tap.ok("VMKEMU-END status=0" in out_lines and rc == 0,
       "the script ends with status 0 and vmkemu with status 0")
a = read(os.path.join(tmp, "disk.img"))
tap.ok(a[1 << 20:(1 << 20) + 65536] == PATTERN and a[:1 << 20] == disk_a[:1 << 20] and
       a[(1 << 20) + 65536:] == disk_a[(1 << 20) + 65536:],
       "after power-off the image holds the pattern at 1 MiB and nothing else changed")
b = read(os.path.join(tmp, "b.img"))
tap.ok(b == disk_b and not os.path.exists(os.path.join(tmp, "b.img.REDO")),
       "undoable, on-poweroff=discard: image unchanged, REDO removed")
tap.ok(answered is not None and answered.get("device") == "ide1-hd1" and
       answered.get("redo") == os.path.join(tmp, "d.img") + ".REDO",
       "power-off asks about ide1-hd1 (undoable, ask) through the monitor")
d = read(os.path.join(tmp, "d.img"))
tap.ok(d[:65536] == PATTERN and d[65536:] == disk_d[65536:] and
       not os.path.exists(os.path.join(tmp, "d.img.REDO")),
       "the monitor's answer (commit): the guest's write is in the image, REDO removed")
tap.ok("Sanitizer" not in err and "runtime error:" not in err and
       "did not power off" not in err,
       "no sanitizer report, no REDO recovery on stderr")
if rc != 0 or not line("MD5-A"):
    for l in (out_lines[-25:] + err.splitlines()[-10:]):
        print("# " + "".join(c if c.isprintable() else "?" for c in l))

import shutil  # noqa: E402
shutil.rmtree(tmp, ignore_errors=True)
