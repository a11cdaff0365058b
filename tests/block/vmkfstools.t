#!/usr/bin/env python3
# vmkfstools end to end, on image files bound through a device map
# ($VMKEMU_DEVMAP): -C/-b/-n and partition types, -S, -N, -c, -i/-d, -I,
# -E, -e, -l, -r, -m/--commit/--commitfile, --fsck; every error is one line
# naming the device, file or option, with a non-zero exit.  A REDO log is
# written here from docs/redo-format.md and committed by the tool.
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

BUILD = os.environ.get("VMKEMU_BUILD", ".")
VMKFS = os.path.join(BUILD, "vmkfstools")
MB = 1 << 20
count = 0
failed = 0


def ok(cond, desc, detail=""):
    global count, failed
    count += 1
    if cond:
        print(f"ok {count} - {desc}")
    else:
        failed += 1
        print(f"not ok {count} - {desc}")
        for line in str(detail).splitlines():
            print(f"#   {line}")


def run(*args, env=None):
    e = dict(os.environ)
    e.update(ENV)
    if env:
        e.update(env)
    p = subprocess.run([VMKFS, *args], capture_output=True, text=True, env=e)
    return p.returncode, p.stdout, p.stderr


def expect_ok(desc, *args):
    rc, out, err = run(*args)
    ok(rc == 0 and err == "", desc, f"rc={rc} stderr={err}")
    return out


def expect_error(desc, patterns, *args, rc_want=None, env=None):
    """One line on stderr, non-zero (or rc_want), containing all patterns."""
    rc, out, err = run(*args, env=env)
    lines = err.splitlines()
    good = (rc != 0 and (rc_want is None or rc == rc_want) and len(lines) == 1
            and lines[0].startswith("vmkfstools: ")
            and all(p in lines[0] for p in patterns))
    ok(good, desc, f"rc={rc} stderr={err!r}")


def mbr(entries):
    sec = bytearray(512)
    for i, (ptype, start, count_) in enumerate(entries):
        struct.pack_into("<B3sB3sII", sec, 0x1BE + 16 * i, 0, b"\0\0\0",
                         ptype, b"\0\0\0", start, count_)
    sec[510:512] = b"\x55\xaa"
    return bytes(sec)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def make_redo(parent_size, grain, grains):
    """A REDO log per docs/redo-format.md; grains: {index: bytes}."""
    entries = (parent_size + grain - 1) // grain
    data_off = (4096 + 4 * entries + 4095) // 4096 * 4096
    emap = [0] * entries
    body = b""
    for n, (gi, data) in enumerate(sorted(grains.items())):
        assert len(data) == grain
        emap[gi] = n + 1
        body += data
    hdr = struct.pack("<8sIIIIQQQQQQ", b"VMKREDO\0", 1, 512, grain, 0,
                      parent_size, entries, 4096, data_off,
                      data_off + len(grains) * grain, len(grains))
    hdr = hdr.ljust(508, b"\0")
    hdr += struct.pack("<I", zlib.crc32(hdr))
    out = hdr.ljust(4096, b"\0") + b"".join(struct.pack("<I", e) for e in emap)
    return out.ljust(data_off, b"\0") + body


tmp = tempfile.mkdtemp(prefix="vmkemu-vmkfstools-")
disk = os.path.join(tmp, "disk0.img")
disk2 = os.path.join(tmp, "disk1.img")
with open(disk, "wb") as f:
    f.write(mbr([(0x83, 2048, 16384), (0xFB, 18432, 81920),
                 (0xFF, 100352, 40960)]))
    f.truncate(96 * MB)
with open(disk2, "wb") as f:
    f.truncate(16 * MB)
devmap = os.path.join(tmp, "devices.map")
with open(devmap, "w") as f:
    f.write("# test disks\nvmhba0:0:0 disk0.img\nvmhba1:2:0 disk1.img\n")
ENV = {"VMKEMU_DEVMAP": devmap}

# --- -C, partition types, -S, -l -------------------------------------------
expect_error("-C refuses a partition of type 0x83",
             ["vmhba0:0:0:1", "0x83", "0xfb"], "-C", "vmhba0:0:0:1")
expect_ok("-C -b 1m -n 32 on a 0xfb partition", "-C", "-b", "1m", "-n", "32",
          "vmhba0:0:0:2")
out = expect_ok("-l on the new VMFS", "-l", "vmhba0:0:0:2")
ok("block size 1M, 0 of 32 files" in out.replace("1.0M", "1M")
   and "0 of 32 files" in out, "-l shows block size and file count", out)
expect_ok("-C on a 0xff partition (the FAQ's type)", "--createfs",
          "--blocksize", "512k", "vmhba0:0:0:3")
expect_ok("-C on a whole disk (partition 0)", "-C", "vmhba1:2:0:0")
out = expect_ok("-l of the whole-disk VMFS", "--list", "vmhba1:2:0")
ok("0 of 64 files" in out and "block size 1.0M" in out,
   "defaults: 1 MB blocks, 64 files", out)
expect_ok("-S names the file system", "-S", "mydisk", "vmhba0:0:0:2")
expect_ok("--setfsname names another", "--setfsname", "other", "vmhba0:0:0:3")
out = expect_ok("-l by file system name", "-l", "mydisk")
ok("VMFS name 'mydisk'" in out and out.startswith("vmhba0:0:0:2"),
   "-l mydisk lists vmhba0:0:0:2", out)
expect_error("-S refuses a name that looks like an adapter", ["vmhba7"],
             "-S", "vmhba7", "vmhba0:0:0:2")
expect_error("-l on a partition without a VMFS",
             ["vmhba0:0:0:1", "no VMFS"], "-l", "vmhba0:0:0:1")
expect_error("-l on a partition that does not exist",
             ["vmhba0:0:0:7", "no partition 7"], "-l", "vmhba0:0:0:7")
expect_error("-l on an unmapped device", ["vmhba3:0:0", devmap],
             "-l", "vmhba3:0:0:0")

# --- -c ---------------------------------------------------------------------
expect_ok("-c 10m mydisk:a.dsk", "-c", "10m", "mydisk:a.dsk")
out = expect_ok("-l after -c", "-l", "mydisk")
line = [l for l in out.splitlines() if l.endswith(" a.dsk")]
ok(len(line) == 1 and line[0].split()[:2] == ["disk", str(10 * MB + 512)],
   "a disk file is 512 bytes longer than its disk (the manual)", out)
expect_ok("-c with a k suffix, vmhba name", "--createfile", "512k",
          "vmhba0:0:0:2:b.dsk")
expect_error("-c with a bad size", ["-c", "10q"], "-c", "10q", "mydisk:x.dsk",
             rc_want=2)
expect_error("-c larger than the free space",
             ["vmhba0:0:0:2", "big.dsk", "free"], "-c", "100m",
             "mydisk:big.dsk")
expect_error("-c of an existing name", ["a.dsk", "exists"], "-c", "1m",
             "mydisk:a.dsk")
expect_error("-c of a name longer than 128 bytes", ["128"], "-c", "1m",
             "mydisk:" + "n" * 129)
expect_ok("-c of a name of exactly 128 bytes", "-c", "512", "mydisk:" + "n" * 128)
expect_error("-c on a device, not a file", ["vmhba0:0:0:2", "file"], "-c",
             "1m", "vmhba0:0:0:2")
expect_error("-c in a file system that does not exist", ["nosuchfs"], "-c",
             "1m", "nosuchfs:x.dsk")

# --- -i / -d / -E / -I --------------------------------------------------------
rng = random.Random(4)
src = bytearray(6 * MB)
for start in (0, 2 * MB + 4096, 5 * MB - 1000):
    n = 700 * 1024
    src[start:start + n] = bytes(rng.getrandbits(8) for _ in range(n))
src_path = os.path.join(tmp, "src.raw")
with open(src_path, "wb") as f:
    f.write(src)
expect_ok("-i imports a raw disk", "-i", src_path, "mydisk:c.dsk")
exp_path = os.path.join(tmp, "c.out")
expect_ok("-E exports it raw", "-E", exp_path, "mydisk:c.dsk")
with open(exp_path, "rb") as f:
    got = f.read()
ok(sha(got) == sha(src), "import then raw export gives the same bytes")
ok(os.stat(exp_path).st_blocks * 512 < len(src),
   "the raw export skipped zero ranges (sparse)")
expect_error("-E will not overwrite a host file", [exp_path, "exists"], "-E",
             exp_path, "mydisk:c.dsk")
expect_ok("-d is -i (copyfile)", "--copyfile", src_path, "vmhba0:0:0:2:d.dsk")
os.unlink(exp_path)
expect_ok("-E of the copy", "--exportraw", exp_path, "mydisk:d.dsk")
with open(exp_path, "rb") as f:
    ok(sha(f.read()) == sha(src), "-d copy has the same bytes")
os.unlink(exp_path)
expect_error("-i of a missing source", ["nope.raw"], "-i",
             os.path.join(tmp, "nope.raw"), "mydisk:e.dsk")
note = os.path.join(tmp, "note.txt")
with open(note, "wb") as f:
    f.write(b"hello vmfs\n" * 91)
expect_ok("-I imports a host file exactly", "--importraw", note, "mydisk:note")
out = expect_ok("-l shows it as a plain file", "-l", "mydisk")
ok(any(l.split()[:2] == ["file", "1001"] and l.endswith(" note")
       for l in out.splitlines()), "plain file of 1001 bytes listed", out)
expect_ok("-E exports it exactly", "-E", exp_path, "mydisk:note")
with open(exp_path, "rb") as f:
    ok(f.read() == b"hello vmfs\n" * 91, "-I then -E round trip")
os.unlink(exp_path)

# --- -r ----------------------------------------------------------------------
expect_ok("-r removes a file", "-r", "mydisk:a.dsk")
out = expect_ok("-l after -r", "-l", "mydisk")
ok(" a.dsk" not in out, "a.dsk is gone", out)
expect_error("-r of a missing file", ["a.dsk", "no such file"], "-r",
             "vmhba0:0:0:2:a.dsk")

# --- REDO logs: -I of a log, -m / --commit / --commitfile --------------------
grain = 4096
changes = {0: bytes([0xA1]) * grain, 5: bytes([0xB2]) * grain,
           (6 * MB) // grain - 1: bytes([0xC3]) * grain}
redo = os.path.join(tmp, "c.dsk.REDO")
with open(redo, "wb") as f:
    f.write(make_redo(6 * MB, grain, changes))
expect_ok("-I brings a REDO log in", "-I", redo, "mydisk:c.dsk.REDO")
out = expect_ok("--fsck with a REDO log", "--fsck", "mydisk")
ok("consistent" in out and "REDO" not in out.replace("consistent", ""),
   "the REDO log passes fsck", out)
expect_ok("-m commits it", "-m", "mydisk:c.dsk")
out = expect_ok("-l after the commit", "-l", "mydisk")
ok("c.dsk.REDO" not in out, "the REDO log is gone after the commit", out)
expect_ok("-E after the commit", "-E", exp_path, "mydisk:c.dsk")
want = bytearray(src)
for gi, data in changes.items():
    want[gi * grain:(gi + 1) * grain] = data
with open(exp_path, "rb") as f:
    ok(sha(f.read()) == sha(want), "the disk holds the committed changes")
os.unlink(exp_path)
with open(redo, "wb") as f:
    f.write(make_redo(6 * MB, grain, {3: bytes([0xD4]) * grain}))
expect_ok("-I another log", "-I", redo, "mydisk:d.dsk.REDO")
expect_ok("--commitfile (the troubleshooting section's spelling)",
          "--commitfile", "mydisk:d.dsk")
expect_ok("-E after --commitfile", "-E", exp_path, "mydisk:d.dsk")
with open(exp_path, "rb") as f:
    got = f.read()
ok(got[3 * grain:4 * grain] == bytes([0xD4]) * grain
   and got[:3 * grain] == bytes(src[:3 * grain]), "--commitfile merged it")
os.unlink(exp_path)
expect_error("-m without a REDO log", ["d.dsk", "no REDO log"], "--commit",
             "mydisk:d.dsk")
with open(redo, "wb") as f:
    f.write(make_redo(2 * MB, grain, {}))
expect_ok("-I a log for a disk of another size", "-I", redo,
          "mydisk:b.dsk.REDO")
expect_error("-m of a log for another size", ["REDO log is for a disk"],
             "-m", "mydisk:b.dsk")
rc, out, err = run("--fsck", "vmhba0:0:0:2")
ok(rc != 0 and "b.dsk.REDO" in out, "--fsck reports the mismatched log", out)
expect_ok("-r removes the stray log", "-r", "mydisk:b.dsk.REDO")

# --- -N -----------------------------------------------------------------------
rc, out, err = run("-N", "vmhba0:0:0:0")
ok(rc == 0 and out.strip() == disk, "-N prints the disk's host path", out)
rc, out, err = run("--consolename", "vmhba0:0:0:2")
ok(rc == 0 and out.strip() == f"{disk} offset={18432 * 512} size={81920 * 512}",
   "-N of a partition of an image file gives its byte range", out)

# --- --fsck and damage ----------------------------------------------------------
rc, out, err = run("--fsck", "vmhba0:0:0:2")
ok(rc == 0 and "vmhba0:0:0:2: VMFS is consistent" in out, "--fsck clean", out)
shutil.copyfile(disk, disk + ".bak")
part = 18432 * 512


def current_layout(img):
    sb = [img[part + 0x10000 + i * 0x1000:part + 0x10000 + i * 0x1000 + 512]
          for i in (0, 1)]
    gens = [struct.unpack_from("<Q", s, 16)[0] for s in sb]
    k = 1 if gens[1] > gens[0] else 0
    s = sb[k]
    meta_off = struct.unpack_from("<Q", s, 80 + 8 * k)[0]
    meta_len = struct.unpack_from("<Q", s, 104)[0]
    max_files = struct.unpack_from("<I", s, 44)[0]
    return k, meta_off, meta_len, max_files


with open(disk, "r+b") as f:
    img = bytearray(f.read())
    k, meta_off, meta_len, max_files = current_layout(img)
    nblocks = struct.unpack_from("<Q", img, part + 0x10000 + k * 0x1000 + 64)[0]
    bitmap = part + meta_off + 64 + 256 * max_files
    last = nblocks - 1
    img[bitmap + last // 8] |= 1 << (last % 8)          # a lost block
    m = part + meta_off
    sbo = part + 0x10000 + k * 0x1000
    struct.pack_into("<I", img, sbo + 112, zlib.crc32(img[m:m + meta_len]))
    struct.pack_into("<I", img, sbo + 508, zlib.crc32(img[sbo:sbo + 508]))
    f.seek(0)
    f.write(img)
rc, out, err = run("--fsck", "vmhba0:0:0:2")
ok(rc == 1 and "lost block" in out and err.count("\n") == 1
   and "inconsistent" in err, "--fsck finds a lost block", out + err)
expect_error("a changing operation refuses the damaged volume",
             ["--fsck"], "-c", "1m", "mydisk:z.dsk")
shutil.copyfile(disk + ".bak", disk)
os.unlink(disk + ".bak")
rc, out, err = run("--fsck", "mydisk")
ok(rc == 0, "restored volume is consistent again", out + err)

# --- -e (VMware sparse export) ---------------------------------------------------
vmdk = os.path.join(tmp, "c.vmdk")
rc, out, err = run("-e", vmdk, "mydisk:c.dsk")
if rc == 0:
    ok(True, "-e exports a VMware sparse disk")
    ok(os.path.getsize(vmdk) < len(src) // 2, "the export skips zero sectors",
       os.path.getsize(vmdk))
    if shutil.which("qemu-img"):
        p = subprocess.run(["qemu-img", "check", vmdk], capture_output=True,
                           text=True)
        ok(p.returncode == 0, "qemu-img check passes", p.stdout + p.stderr)
        raw = os.path.join(tmp, "c.cmp.raw")
        with open(raw, "wb") as f:
            f.write(want)
        p = subprocess.run(["qemu-img", "compare", "-f", "vmdk", "-F", "raw",
                            vmdk, raw], capture_output=True, text=True)
        ok(p.returncode == 0, "qemu-img compare: the export equals the disk",
           p.stdout + p.stderr)
        expect_ok("-i imports the exported vmdk", "-i", vmdk, "mydisk:e.dsk")
        expect_ok("-E of the re-import", "-E", exp_path, "mydisk:e.dsk")
        with open(exp_path, "rb") as f:
            ok(sha(f.read()) == sha(want), "vmdk round trip is lossless")
        os.unlink(exp_path)
    else:
        print("ok {} # skip qemu-img not installed".format(count + 1))
        count += 1
else:
    ok(False, "-e exports a VMware sparse disk", err)

# --- progress on a terminal ----------------------------------------------------
if shutil.which("script"):
    cmd = " ".join([VMKFS, "-i", src_path, "mydisk:tty.dsk"])
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                       capture_output=True, text=True,
                       env=dict(os.environ, **ENV))
    ok(p.returncode == 0 and "importing:" in p.stdout and "100%" in p.stdout,
       "-i shows progress on a terminal", p.stdout + p.stderr)
    rc, out, err = run("-i", src_path, "mydisk:notty.dsk")
    ok(rc == 0 and err == "", "and none when stderr is not a terminal", err)
else:
    print(f"ok {count + 1} # skip no script(1) for a pseudo-terminal")
    count += 1

# --- usage errors ---------------------------------------------------------------
expect_error("no operation", ["no operation"], "vmhba0:0:0:2", rc_want=2)
expect_error("two operations", ["-l", "-r"], "-l", "-r", "mydisk:x",
             rc_want=2)
expect_error("an unknown option", ["--frobnicate"], "--frobnicate", "x",
             rc_want=2)
expect_error("-b without -C", ["-b", "-C"], "-b", "1m", "-l", "mydisk",
             rc_want=2)
expect_error("a bad block size", ["-b", "3x"], "-C", "-b", "3x",
             "vmhba1:2:0:0", rc_want=2)
expect_error("a block size that is not a power of two", ["-b"], "-C", "-b",
             "3k", "vmhba1:2:0:0")
expect_error("no device", ["-l", "no device"], "-l", rc_want=2)
expect_error("a missing device map", ["/nonexistent/devices.map"], "-l",
             "vmhba0:0:0:2", env={"VMKEMU_DEVMAP": "/nonexistent/devices.map"})
with open(os.path.join(tmp, "bad.map"), "w") as f:
    f.write("vmhba0:0:0 disk0.img\nthis is not a line\n")
expect_error("a malformed device map line", ["bad.map:2"], "-l",
             "vmhba0:0:0:2",
             env={"VMKEMU_DEVMAP": os.path.join(tmp, "bad.map")})
rc, out, err = run("--help")
ok(rc == 0 and "--createfs" in out and "--commitfile" in out, "--help")

shutil.rmtree(tmp)
print(f"1..{count}")
sys.exit(1 if failed else 0)
