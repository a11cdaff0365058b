#!/usr/bin/env python3
"""Virtual Ethernet adapters of a VM launched from a .cfg (ESX Server 1.0
manual, "Using VMkernel Devices: Ethernet" and "Setting the MAC Address
Manually for a Virtual Machine"), with the host's MAC registry in a
temporary file (VMKEMU_MAC_REGISTRY) and the host address of the manual's
example (VMKEMU_HOST_IP=192.34.14.81, so generated addresses are
00:50:56:0e:51:HH, HH the 8-bit hash of the cfg's path).

Part 1, one Linux boot under -accel emu: ethernet0.virtualDev = vlance
(connectionType monitor_dev, devName vmnic0: user-mode networking here,
with vmkemu.ethernet0.hostfwd).  The guest's /sys/class/net/eth0/address
is the manual's generated address; the registry holds it while the VM
runs; vmware.log names it; a second VM asking for the same address by
ethernet0.address is refused as the registry module does; the adapter
works (DHCP, ping, a forwarded connection); at power-off the registry
forgets the VM.

Part 2, tiny guests: a manual address outside 00:50:56:00:00:00-3F:FF:FF
and vmxnet are refused with their cfg line; a suspended VM keeps its
registry entry, resumes with the same address, and loses it when stopped."""
import atexit
import os
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
ctl = os.path.join(build, "vmware-control")
counter = os.path.join(build, "tests", "guest", "counter.bin")
timeout = int(os.environ.get("VMKEMU_LINUX_TIMEOUT", "1200"))
os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")

tmp = os.path.realpath(tempfile.mkdtemp())
atexit.register(shutil.rmtree, tmp, True)
registry = os.path.join(tmp, "mac-registry")
os.environ["VMKEMU_MAC_REGISTRY"] = registry
os.environ["VMKEMU_HOST_IP"] = "192.34.14.81"
os.environ["VMKEMU_RUNTIME_DIR"] = os.path.join(tmp, "run")

n = 0


def ok(cond, desc):
    global n
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, desc), flush=True)
    return cond


def diag(text, lines=25):
    for line in text.splitlines()[-lines:]:
        print("# " + "".join(c if c.isprintable() else "?" for c in line))


def cfg_hash(path):
    """The registry module's hash of a cfg path: FNV-1a, XOR-folded to 8 bits."""
    h = 2166136261
    for b in path.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return (h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24)) & 0xff


def generated_mac(cfg):
    return "00:50:56:0e:51:%02x" % cfg_hash(os.path.realpath(cfg))


def registry_entries():
    try:
        with open(registry) as f:
            return [l.split(" ", 2) for l in f.read().splitlines() if l]
    except FileNotFoundError:
        return []


def write_cfg(name, body):
    path = os.path.join(tmp, name, name + ".cfg")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write('displayName = "%s"\nvmkemu.accel = emu\n%s' % (name, body))
    return path


class Vm:
    def __init__(self, cfg):
        self.p = subprocess.Popen([vmkemu, cfg, "-nographic"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out, self.err = bytearray(), bytearray()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._pump, args=(f, b), daemon=True)
                        for f, b in ((self.p.stdout, self.out), (self.p.stderr, self.err))]
        for t in self.threads:
            t.start()

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

    def wait_for(self, what, secs):
        end = time.time() + secs
        while time.time() < end and self.p.poll() is None and what not in self.text():
            time.sleep(0.2)
        return what in self.text()

    def wait(self, secs):
        try:
            rc = self.p.wait(timeout=secs)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = None
            self.p.wait()
        for t in self.threads:
            t.join(5)
        return rc


def line(text, prefix):
    for l in text.splitlines():
        if l.startswith(prefix):
            return l
    return ""


def control(cfg, cmd):
    return subprocess.run([ctl, cfg, cmd], capture_output=True, text=True, timeout=60)


def launch_fails(cfg):
    r = subprocess.run([vmkemu, cfg, "-nographic"], capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    return r.returncode, r.stderr.strip()


assets = subprocess.run([os.path.join(src, "scripts", "guest-assets"), "--arch", "i386", "-q",
                         "--add-script", os.path.join(src, "tests", "net", "guest-net.sh")],
                        capture_output=True, text=True)
have_linux = assets.returncode == 0 and len(assets.stdout.split()) == 3
probe = subprocess.run([vmkemu, "-netdev", "user,id=probe", "-version"],
                       capture_output=True, text=True)
if probe.returncode != 0:
    print("1..0 # SKIP %s" % (probe.stderr.strip() or "vmkemu -netdev user refused"))
    sys.exit(0)
print("1..16", flush=True)

# --- part 1: Linux from a .cfg ---------------------------------------------------------
s = socket.socket()
s.bind(("127.0.0.1", 0))
fwd_port = s.getsockname()[1]
s.close()
if have_linux:
    _, kernel, initrd = assets.stdout.split()
    cfg1 = write_cfg("linux", 'memsize = 256\n'
                     'ethernet0.present = TRUE\n'
                     'ethernet0.connectionType = monitor_dev\n'
                     'ethernet0.virtualDev = "vlance"\n'
                     'ethernet0.devName = vmnic0\n'
                     'vmkemu.ethernet0.hostfwd = "tcp:127.0.0.1:%d-:7777"\n'
                     'vmkemu.kernel = "%s"\nvmkemu.initrd = "%s"\n'
                     'vmkemu.cmdline = "console=ttyS0 panic=-1 quiet '
                     'vmkemu.modules=pcnet32 vmkemu.script=guest-net.sh"\n'
                     % (fwd_port, kernel, initrd))
    mac1 = generated_mac(cfg1)
    start = time.time()
    vm = Vm(cfg1)
    up = vm.wait_for("NC-LISTEN", timeout)
    console = vm.text()
    ok(line(console, "MAC ") == "MAC " + mac1,
       "the guest's eth0 has the manual's generated address %s (00:50:56, host "
       "192.34.14.81's last 16 bits, the cfg path's hash)" % mac1)
    if not up:
        diag(console + vm.stderr())
    entries = registry_entries()
    ok([mac1, "0", cfg1] in entries and len(entries) == 1,
       "while the VM runs the registry holds '%s 0 %s'" % (mac1, cfg1))
    with open(os.path.join(tmp, "linux", "vmware.log")) as f:
        logtext = f.read()
    ok("ethernet0: vlance (AMD PCnet-PCI II) at PCI 00:14.0, MAC %s (generated), "
       "user-mode networking" % mac1 in logtext, "vmware.log names ethernet0 and its address")
    # Another VM asking for this address by hand is refused.
    cfg2 = write_cfg("clash", 'memsize = 16\nvmkemu.bios = "%s"\n'
                     'ethernet0.present = TRUE\nethernet0.address = %s\n' % (counter, mac1))
    rc, err = launch_fails(cfg2)
    ok(rc == 1 and len(err.splitlines()) == 1 and
       "ethernet0.address = %s: already used by %s" % (mac1, cfg1) in err,
       "a second VM with ethernet0.address = %s is refused: %s" % (mac1, err))
    ok(line(console, "DHCP-BOUND ").startswith("DHCP-BOUND 10.0.2.15") and
       "3 packets received" in line(console, "PING-OK"),
       "the adapter works: DHCP lease 10.0.2.15, ping 10.0.2.2")
    got = b""
    end = time.time() + 300
    while up and not got and time.time() < end:
        try:
            c = socket.create_connection(("127.0.0.1", fwd_port), timeout=60)
            c.sendall(b"host-hello\n")
            while True:
                d = c.recv(4096)
                if not d:
                    break
                got += d
            c.close()
        except OSError:
            pass
        if not got:
            time.sleep(2)
    ok(got == b"guest-got:host-hello\n",
       "vmkemu.ethernet0.hostfwd forwards host port %d to the guest's 7777" % fwd_port)
    rc = vm.wait(max(1, timeout - (time.time() - start)))
    console = vm.text()
    if not ok(rc == 0 and "reboot: Power down" in console,
              "the guest powers off; vmkemu ends with 0 (status %s)" % rc):
        diag(console + vm.stderr())
    ok(all(e[2] != cfg1 for e in registry_entries()),
       "at power-off the registry forgets the VM's address")
else:
    why = (assets.stderr.strip().splitlines() or ["?"])[0]
    for i in range(8):
        print("ok %d # skip i386 guest assets unavailable: %s" % (n + 1, why))
        n += 1

# --- part 2: tiny guests -----------------------------------------------------------------
bad = write_cfg("badaddr", 'memsize = 16\nvmkemu.bios = "%s"\nethernet0.present = TRUE\n'
                'ethernet0.address = 00:50:56:40:00:01\n' % counter)
rc, err = launch_fails(bad)
ok(rc == 2 and err == "vmkemu: %s:6: ethernet0.address = 00:50:56:40:00:01: a manual MAC "
   "address must lie in 00:50:56:00:00:00-00:50:56:3F:FF:FF" % bad,
   "a manual address above 00:50:56:3F:FF:FF is refused with its line")
vmx = write_cfg("vmxnet", 'memsize = 16\nvmkemu.bios = "%s"\nethernet0.present = TRUE\n'
                'ethernet0.virtualDev = vmxnet\n' % counter)
rc, err = launch_fails(vmx)
ok(rc == 2 and err.endswith("%s:6: ethernet0.virtualDev = vmxnet: not available yet" % vmx),
   "ethernet0.virtualDev = vmxnet is refused by name")
static = write_cfg("static", 'memsize = 16\nvmkemu.bios = "%s"\nethernet0.present = TRUE\n'
                   'ethernet0.addressType = static\n' % counter)
rc, err = launch_fails(static)
ok(rc == 2 and "ethernet0.addressType = static: a static address needs ethernet0.address"
   in err, "addressType = static without an address is refused")

cfg3 = write_cfg("suspend", 'memsize = 16\nvmkemu.bios = "%s"\nethernet0.present = TRUE\n'
                 % counter)
mac3 = generated_mac(cfg3)
std = os.path.join(tmp, "suspend", "suspend.std")
vm = Vm(cfg3)
vm.wait_for("count 5", 60)
ok([mac3, "0", cfg3] in registry_entries(),
   "a running tiny guest's adapter is registered: %s" % mac3)
r = control(cfg3, "suspend")
rc = vm.wait(60)
ok(r.returncode == 0 and rc == 0 and os.path.isfile(std) and
   [mac3, "0", cfg3] in registry_entries(),
   "suspended (vmware-control suspend): the .std is written and the address stays registered")
vm = Vm(cfg3)
resumed = vm.wait_for("count ", 60) and "counter guest up" not in vm.text()
with open(os.path.join(tmp, "suspend", "vmware.log")) as f:
    log3 = f.read()
ok(resumed and not os.path.exists(std) and [mac3, "0", cfg3] in registry_entries() and
   log3.count("ethernet0: vlance") >= 2 and "MAC %s (generated)" % mac3 in log3,
   "the next launch resumes with the same registered address %s" % mac3)
control(cfg3, "stop")
rc = vm.wait(60)
ok(rc is not None and all(e[2] != cfg3 for e in registry_entries()),
   "stopped (powered off): the registry forgets it")
leftover = [e for e in registry_entries()]
ok(leftover == [], "nothing is left in the registry (%d entries)" % len(leftover))
