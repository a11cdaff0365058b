#!/usr/bin/env python3
# VMware disk interop with qemu-img (Debian's qemu-utils): every vmdk
# subformat qemu-img writes imports bit-exactly with vmkfstools -i, and
# every export made with vmkfstools -e passes `qemu-img check` and compares
# equal to its source with `qemu-img compare`, including a disk over 2 GB
# that is split into sparse extents of at most 2 GB.
import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ.get("VMKEMU_BUILD", ".")
VMKFS = os.path.join(BUILD, "vmkfstools")
MB = 1 << 20
GB = 1 << 30
count = 0
failed = 0

if not shutil.which("qemu-img"):
    print("1..0 # SKIP qemu-img not installed (apt-get install qemu-utils)")
    sys.exit(0)


def ok(cond, desc, detail=""):
    global count, failed
    count += 1
    if cond:
        print(f"ok {count} - {desc}")
    else:
        failed += 1
        print(f"not ok {count} - {desc}")
        for line in str(detail).splitlines()[:15]:
            print(f"#   {line}")


def vmk(*args):
    p = subprocess.run([VMKFS, *args], capture_output=True, text=True, env=ENV)
    return p.returncode, p.stdout + p.stderr


def qemu(*args):
    p = subprocess.run(["qemu-img", *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def sha_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


tmp = tempfile.mkdtemp(prefix="vmkemu-vmdk-")
vol = os.path.join(tmp, "vol.img")
with open(vol, "wb") as f:
    f.truncate(3 * GB + 64 * MB)
devmap = os.path.join(tmp, "devices.map")
with open(devmap, "w") as f:
    f.write("vmhba0:0:0 vol.img\n")
ENV = dict(os.environ, VMKEMU_DEVMAP=devmap)
rc, out = vmk("-C", "vmhba0:0:0:0")
assert rc == 0, out
rc, out = vmk("-S", "vol", "vmhba0:0:0:0")
assert rc == 0, out

rng = random.Random(11)
src = os.path.join(tmp, "src.raw")
with open(src, "wb") as f:
    f.truncate(24 * MB)
    for start in (0, 3 * MB + 12345 // 512 * 512, 13 * MB, 24 * MB - 70000):
        f.seek(start)
        f.write(bytes(rng.getrandbits(8) for _ in range(70000)))
src_sha = sha_file(src)

variants = [
    ("monolithicSparse", []),
    ("monolithicSparse", ["zeroed_grain=on"]),
    ("monolithicSparse", ["compat6=on"]),
    ("monolithicFlat", []),
    ("twoGbMaxExtentSparse", []),
    ("twoGbMaxExtentFlat", []),
    ("streamOptimized", []),
]
for n, (sub, opts) in enumerate(variants):
    name = f"q{n}.vmdk"
    qpath = os.path.join(tmp, name)
    o = ",".join([f"subformat={sub}"] + opts)
    rc, out = qemu("convert", "-f", "raw", "-O", "vmdk", "-o", o, src, qpath)
    if rc != 0:
        ok(True, f"# skip qemu-img cannot write {o}: {out.strip()}")
        continue
    rc, out = vmk("-i", qpath, f"vol:{name}.dsk")
    exp = os.path.join(tmp, f"{name}.raw")
    if rc == 0:
        rc, out = vmk("-E", exp, f"vol:{name}.dsk")
    ok(rc == 0 and sha_file(exp) == src_sha,
       f"-i of qemu-img's {o} is bit-exact", out)
    if rc == 0:
        rc2, out2 = qemu("compare", "-f", "vmdk", "-F", "raw", qpath, exp)
        ok(rc2 == 0, f"qemu-img compare agrees for {o}", out2)
    vmk("-r", f"vol:{name}.dsk")
    for fn in os.listdir(tmp):
        if fn.startswith(f"q{n}") or fn == f"{name}.raw":
            os.unlink(os.path.join(tmp, fn))

# Export: monolithicSparse for a small disk.
rc, out = vmk("-i", src, "vol:disk.dsk")
assert rc == 0, out
e1 = os.path.join(tmp, "e1.vmdk")
rc, out = vmk("-e", e1, "vol:disk.dsk")
ok(rc == 0, "-e writes a VMware sparse disk", out)
rc, out = qemu("check", e1)
ok(rc == 0 and "No errors" in out, "qemu-img check passes on the export", out)
rc, out = qemu("info", e1)
ok("monolithicSparse" in out, "qemu-img sees a monolithicSparse disk", out)
rc, out = qemu("compare", "-f", "vmdk", "-F", "raw", e1, src)
ok(rc == 0, "qemu-img compare: the export equals its source", out)
ok(os.path.getsize(e1) < 2 * MB, "zero sectors are not stored",
   os.path.getsize(e1))
back = os.path.join(tmp, "back.raw")
rc, out = qemu("convert", "-f", "vmdk", "-O", "raw", e1, back)
ok(rc == 0 and sha_file(back) == src_sha, "qemu-img convert of the export "
   "gives the source back", out)
os.unlink(back)

# A disk over 2 GB: split into sparse extents of at most 2 GB.
big = os.path.join(tmp, "big.raw")
with open(big, "wb") as f:
    f.truncate(2 * GB + 300 * MB)
    for start in (0, 2 * GB - 4096, 2 * GB + 300 * MB - 65536):
        f.seek(start)
        f.write(bytes(rng.getrandbits(8) for _ in range(65536)))
rc, out = vmk("-i", big, "vol:big.dsk")
ok(rc == 0, "-i of a 2.3 GB raw disk", out)
e2 = os.path.join(tmp, "e2.vmdk")
rc, out = vmk("-e", e2, "vol:big.dsk")
ok(rc == 0, "-e of the 2.3 GB disk", out)
with open(e2) as f:
    desc = f.read()
extents = re.findall(r'^RW (\d+) SPARSE "([^"]+)"', desc, re.M)
ok(len(extents) == 2 and all(int(s) * 512 <= 2 * GB for s, _ in extents)
   and 'createType="twoGbMaxExtentSparse"' in desc,
   "the export is twoGbMaxExtentSparse with extents of at most 2 GB", desc)
ok(all(os.path.getsize(os.path.join(tmp, fn)) < 4 * MB for _, fn in extents),
   "the extents hold only the data")
rc, out = qemu("check", e2)
ok(rc == 0, "qemu-img check passes on the split export", out)
rc, out = qemu("compare", "-f", "vmdk", "-F", "raw", e2, big)
ok(rc == 0, "qemu-img compare: the split export equals its source", out)
vmk("-r", "vol:big.dsk")
rc, out = vmk("-i", e2, "vol:big2.dsk")
ok(rc == 0, "the split export imports again", out)
e3 = os.path.join(tmp, "big2.raw")
rc, out = vmk("-E", e3, "vol:big2.dsk")
rc2, out2 = qemu("compare", "-f", "raw", "-F", "raw", e3, big)
ok(rc == 0 and rc2 == 0, "and holds the same 2.3 GB", out + out2)

shutil.rmtree(tmp)
print(f"1..{count}")
sys.exit(1 if failed else 0)
