#!/usr/bin/env python3
# The serial ports end to end: vmkemu runs tests/guest/serial-echo.bin under
# KVM, the guest talks to COM1 through each -serial backend (stdio with
# -nographic, a UNIX socket server vmkemu waits on, a UNIX socket client),
# writes to COM2 on a file, and receives its input through the FIFO
# character-timeout indication, with IRQ4 reaching the 8259A (in-kernel,
# and our own with -userspace-irqchip).  Also: a -serial backend that cannot be
# opened is one line naming the option.  TAP; skips where KVM is unusable.
import os
import socket
import subprocess
import sys
import tempfile
import time

build = os.environ.get("VMKEMU_BUILD", ".")
vmkemu = os.path.join(build, "vmkemu")
guest = os.path.join(build, "tests", "guest", "serial-echo.bin")
GUEST_PASS = (0x20 << 1) | 1
n = 0
failed = 0


def ok(cond, name, diag=""):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, name))
    if not cond:
        failed += 1
        for line in str(diag).splitlines():
            print("# " + line)
    sys.stdout.flush()


def read_until(read, marker, timeout=20):
    """Read through read() until marker appears; everything read."""
    data = b""
    end = time.time() + timeout
    while marker not in data and time.time() < end:
        chunk = read()
        if not chunk:
            break
        data += chunk
    return data


def kvm_usable():
    hello = os.path.join(build, "tests", "guest", "hello.bin")
    r = subprocess.run([vmkemu, "-accel", "kvm", "-bios", hello],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)
    return b"-accel kvm" not in r.stderr


print("1..10")
if not os.path.exists(guest) or not kvm_usable():
    for i in range(10):
        print("ok %d # SKIP KVM not usable here" % (i + 1))
    sys.exit(0)

tmp = tempfile.mkdtemp(prefix="vmkemu-serial-")
com2_log = os.path.join(tmp, "com2.log")

# 1-3: -nographic puts COM1 on stdio; COM2 goes to a file.
p = subprocess.Popen([vmkemu, "-accel", "kvm", "-bios", guest, "-nographic",
                      "-serial", "stdio", "-serial", "file:" + com2_log],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
out = read_until(lambda: os.read(p.stdout.fileno(), 4096), b"ready\r\n")
ok(b"serial-echo ready\r\n" in out, "COM1 output on stdout", out)
p.stdin.write(b"hi, serial\n")
p.stdin.flush()
try:
    rest, err = p.communicate(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    rest, err = p.communicate()
out += rest
ok(b"ECHO:HI, SERIAL timeout irq4\r\n" in out and p.returncode == GUEST_PASS,
   "COM1 input from stdin: FIFO timeout indication, IRQ4 at the PIC",
   "status %s\nstdout %r\nstderr %r" % (p.returncode, out, err))
with open(com2_log, "rb") as f:
    com2 = f.read()
ok(com2 == b"COM2 ready\r\n", "COM2 output appended to -serial file:", com2)

# 4: the same with vmkemu's own 8259A model instead of KVM's.
p = subprocess.Popen([vmkemu, "-accel", "kvm", "-userspace-irqchip", "-bios",
                      guest, "-serial", "stdio"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
out = read_until(lambda: os.read(p.stdout.fileno(), 4096), b"ready\r\n")
p.stdin.write(b"pic\n")
p.stdin.flush()
try:
    rest, err = p.communicate(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    rest, err = p.communicate()
out += rest
ok(out == b"serial-echo ready\r\nECHO:PIC timeout irq4\r\n" and
   p.returncode == GUEST_PASS, "COM1 with -userspace-irqchip",
   "status %s\nstdout %r\nstderr %r" % (p.returncode, out, err))

# 5-6: unix:PATH,server: vmkemu waits for the client before the VM starts.
sock_path = os.path.join(tmp, "com1.sock")
p = subprocess.Popen([vmkemu, "-accel", "kvm", "-bios", guest,
                      "-serial", "unix:%s,server" % sock_path],
                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
c = None
end = time.time() + 20
while time.time() < end and c is None:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sock_path)
        c = s
    except OSError:
        s.close()
        time.sleep(0.05)
if c is None:
    p.kill()
c.settimeout(20)
out = read_until(lambda: c.recv(4096), b"ready\r\n")
ok(out == b"serial-echo ready\r\n",
   "unix server: nothing is lost waiting for the first client", out)
c.sendall(b"via socket\r")
out = read_until(lambda: c.recv(4096), b"irq\r\n")
c.close()
try:
    p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
ok(out == b"ECHO:VIA SOCKET timeout irq4\r\n" and p.returncode == GUEST_PASS,
   "unix server: input and output", "status %s, %r" % (p.returncode, out))

# 7-8: unix:PATH: vmkemu connects to a listening peer.
srv_path = os.path.join(tmp, "peer.sock")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(srv_path)
srv.listen(1)
srv.settimeout(20)
p = subprocess.Popen([vmkemu, "-accel", "kvm", "-bios", guest,
                      "-serial", "unix:" + srv_path],
                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
try:
    c, _ = srv.accept()
    c.settimeout(20)
    out = read_until(lambda: c.recv(4096), b"ready\r\n")
    c.sendall(b"client mode\n")
    out += read_until(lambda: c.recv(4096), b"irq\r\n")
    c.close()
except OSError as e:
    out = repr(e).encode()
try:
    p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
ok(out.startswith(b"serial-echo ready\r\n"), "unix client: output", out)
ok(out.endswith(b"ECHO:CLIENT MODE timeout irq4\r\n") and p.returncode == GUEST_PASS,
   "unix client: input", "status %s, %r" % (p.returncode, out))
srv.close()

# 9-10: a backend that cannot be opened: one line naming the option, status 1.
r = subprocess.run([vmkemu, "-accel", "kvm", "-bios", guest, "-serial", "null",
                    "-serial", "unix:" + os.path.join(tmp, "nobody")],
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
want = ("vmkemu: -serial unix:%s: No such file or directory\n"
        % os.path.join(tmp, "nobody")).encode()
ok(r.returncode == 1 and r.stderr == want, "unix client with no peer",
   "status %s, %r" % (r.returncode, r.stderr))
r = subprocess.run([vmkemu, "-accel", "kvm", "-bios", guest,
                    "-serial", "file:" + os.path.join(tmp, "no", "such", "f")],
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
want = ("vmkemu: -serial file:%s: No such file or directory\n"
        % os.path.join(tmp, "no", "such", "f")).encode()
ok(r.returncode == 1 and r.stderr == want, "file in a missing directory",
   "status %s, %r" % (r.returncode, r.stderr))

for name in os.listdir(tmp):
    os.unlink(os.path.join(tmp, name))
os.rmdir(tmp)
sys.exit(1 if failed else 0)
