#!/usr/bin/env python3
"""Debian's i686 Linux on the AMD PCnet-PCI II (hw/pcnet.c, the pcnet32
driver) with user-mode networking (net/slirp.c), under -accel emu:

  vmkemu -netdev user,id=n0,hostfwd=tcp:127.0.0.1:P-:7777
         -device pcnet,netdev=n0,mac=02:00:00:5e:7a:01

The guest (tests/net/guest-net.sh) takes an address with busybox udhcpc,
pings the gateway 10.0.2.2, fetches a file from an HTTP server on the
host's 127.0.0.1 through 10.0.2.2 and checks its md5, then answers a
connection the host makes to the forwarded port P: the host sends a line,
the guest sends it back prefixed.  The guest routes the adapter's INTA
through the DSDT's _PRT to an IOAPIC input (APIC mode).  One Linux boot (about 3 minutes under ASan).  Skips when the guest assets
cannot be built here or vmkemu has no user-mode networking."""
import atexit
import hashlib
import http.server
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

src = os.environ.get("VMKEMU_SRC", ".")
build = os.environ.get("VMKEMU_BUILD", ".")
vmkemu = os.path.join(build, "vmkemu")
timeout = int(os.environ.get("VMKEMU_LINUX_TIMEOUT", "1200"))
MAC = "02:00:00:5e:7a:01"
os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")

n = 0


def ok(cond, desc):
    global n
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, desc), flush=True)
    return cond


def diag(text, lines=25):
    for line in text.splitlines()[-lines:]:
        print("# " + "".join(c if c.isprintable() else "?" for c in line))


probe = subprocess.run([vmkemu, "-netdev", "user,id=probe", "-version"],
                       capture_output=True, text=True)
if probe.returncode != 0:
    print("1..0 # SKIP %s" % (probe.stderr.strip() or "vmkemu -netdev user refused"))
    sys.exit(0)
assets = subprocess.run([os.path.join(src, "scripts", "guest-assets"), "--arch", "i386", "-q",
                         "--add-script", os.path.join(src, "tests", "net", "guest-net.sh")],
                        capture_output=True, text=True)
if assets.returncode != 0 or len(assets.stdout.split()) != 3:
    print("1..0 # SKIP i386 guest assets unavailable: %s" %
          (assets.stderr.strip().splitlines() or ["?"])[0])
    sys.exit(0)
_, kernel, initrd = assets.stdout.split()
print("1..9", flush=True)

tmp = tempfile.mkdtemp()
atexit.register(shutil.rmtree, tmp, True)
payload = random.Random(5).randbytes(300000)
with open(os.path.join(tmp, "file"), "wb") as f:
    f.write(payload)
md5 = hashlib.md5(payload).hexdigest()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=tmp, **kw)

    def log_message(self, *a):
        pass


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
threading.Thread(target=httpd.serve_forever, daemon=True).start()
http_port = httpd.server_address[1]

s = socket.socket()
s.bind(("127.0.0.1", 0))
fwd_port = s.getsockname()[1]
s.close()

log = os.path.join(tmp, "vmware.log")
cmd = [vmkemu, "-accel", "emu", "-m", "256", "-nographic", "-no-reboot",
       "-kernel", kernel, "-initrd", initrd,
       "-append", "console=ttyS0 panic=-1 quiet vmkemu.modules=pcnet32 "
                  "vmkemu.script=guest-net.sh nettest_port=%d" % http_port,
       "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:7777" % fwd_port,
       "-device", "pcnet,netdev=n0,mac=" + MAC, "-D", log]
start = time.time()
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
out = bytearray()
err = bytearray()
lock = threading.Lock()


def pump(f, buf):
    while True:
        data = os.read(f.fileno(), 4096)
        if not data:
            return
        with lock:
            buf.extend(data)


threads = [threading.Thread(target=pump, args=(p.stdout, out), daemon=True),
           threading.Thread(target=pump, args=(p.stderr, err), daemon=True)]
for t in threads:
    t.start()


def text():
    with lock:
        return out.decode(errors="replace")


# The guest listens on 7777 once it printed NC-LISTEN: talk to it through
# the forwarded host port (retrying while its listener comes up).
host_got = b""
deadline = start + timeout
while time.time() < deadline and p.poll() is None and "NC-LISTEN" not in text():
    time.sleep(0.5)
while time.time() < deadline and p.poll() is None and not host_got:
    try:
        c = socket.create_connection(("127.0.0.1", fwd_port), timeout=60)
        c.sendall(b"host-hello\n")
        while True:
            data = c.recv(4096)
            if not data:
                break
            host_got += data
        c.close()
    except OSError:
        pass
    if not host_got:
        time.sleep(2)
try:
    rc = p.wait(timeout=max(1, deadline - time.time()))
except subprocess.TimeoutExpired:
    p.kill()
    rc = p.wait()
for t in threads:
    t.join(5)
httpd.shutdown()
console = text()
print("# vmkemu -accel emu: status %s after %d s" % (rc, time.time() - start))


def line(prefix):
    for l in console.splitlines():
        if l.startswith(prefix):
            return l
    return ""


if not ok("BOOT-OK" in console and "VMKEMU-BEGIN script=guest-net.sh" in console,
          "Linux boots and runs the network script"):
    diag(console + err.decode(errors="replace"))
ok(line("MAC ") == "MAC " + MAC,
   "eth0 (pcnet32) has the address -device pcnet,mac= gave: %s" % line("MAC ")[4:])
ok(line("DHCP-BOUND ").startswith("DHCP-BOUND 10.0.2.15 router 10.0.2.2"),
   "udhcpc gets 10.0.2.15 and the gateway 10.0.2.2 from user-mode DHCP")
ok("3 packets transmitted, 3 packets received" in line("PING-OK"),
   "ping 10.0.2.2: 3 of 3 answered")
ok(line("WGET-MD5 ") == "WGET-MD5 %s %d" % (md5, len(payload)),
   "wget of a 300000-byte file from the host's HTTP server: md5 %s" % md5)
ok(host_got == b"guest-got:host-hello\n" and "NC-DONE 0" in console,
   "hostfwd tcp:127.0.0.1:%d-:7777: the host's line reaches the guest and its answer "
   "comes back" % fwd_port)
counters = line("RX packets")
ok("errors:0" in counters and "RX packets:0 " not in counters,
   "the driver counts no errors: %s" % " ".join(counters.split()[:2] + counters.split()[6:8]))
logtext = open(log).read() if os.path.exists(log) else ""
ok("nic0: pcnet (AMD PCnet-PCI II) at PCI 00:14.0, MAC %s, user-mode networking" % MAC
   in logtext, "the log names the adapter, its slot, address and backend")
if not ok(rc == 0 and "VMKEMU-END status=0" in console and "reboot: Power down" in console,
          "the script ends with status 0 and ACPI power-off ends vmkemu with 0 (status %s)"
          % rc):
    diag(console + err.decode(errors="replace"))
