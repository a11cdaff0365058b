#!/usr/bin/env python3
"""QMP send-key reaches the guest's keyboard controller (Ctrl-Alt-Del as
scan code set 1 after the i8042's translation, pressed then released), and
vmware-control request_reset sends exactly that."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.environ.get("VMKEMU_SRC", "."), "tests", "lib"))
from qmp import Qmp, Tap, build_paths  # noqa: E402

vmkemu, guests = build_paths()
ctl = os.path.join(os.environ.get("VMKEMU_BUILD", "."), "vmware-control")
guest = os.path.join(guests, "keyboard.bin")
CAD = "1d 38 e0 53 e0 d3 b8 9d"      # ctrl, alt, delete down; then up in reverse
tap = Tap(6)


def wait_ready(vm):
    line = vm.stdout.readline().decode()
    return "keyboard: ready" in line


tmp = tempfile.mkdtemp()
sock = os.path.join(tmp, "qmp.sock")
vm = subprocess.Popen([vmkemu, "-accel", "emu", "-m", "16", "-bios", guest,
                       "-qmp", "unix:%s,server,nowait" % sock],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
try:
    tap.ok(wait_ready(vm), "guest ready")
    q = Qmp(sock)
    q.cmd("qmp_capabilities")
    r = q.cmd("send-key", {"keys": [{"type": "qcode", "data": "nosuchkey"}]})
    tap.ok("error" in r and "element 0" in r["error"]["desc"], "an unknown key is refused by position")
    r = q.cmd("send-key", {"keys": [{"type": "qcode", "data": k} for k in ("ctrl", "alt", "delete")],
                           "hold-time": 50})
    tap.ok(r == {"return": {}}, "send-key ctrl-alt-del")
    out, err = vm.communicate(timeout=30)
    tap.ok(vm.returncode == 65 and out.decode().strip() == CAD,
           "the guest read %s (got %r, status %s)" % (CAD, out.decode().strip(), vm.returncode))
finally:
    if vm.poll() is None:
        vm.kill()
        vm.wait()

# vmware-control request_reset on a .cfg VM types the same keys.
os.environ["VMKEMU_RUNTIME_DIR"] = os.path.join(tmp, "run")
cfg = os.path.join(tmp, "kbd.cfg")
with open(cfg, "w") as f:
    f.write('memsize = 16\nvmkemu.accel = emu\nvmkemu.bios = "%s"\n' % guest)
log = os.path.join(tmp, "vmware.log")
rc = subprocess.run([ctl, cfg, "start"]).returncode
ok = rc == 0
if ok:
    # The guest prints its bytes on the debug console, which vmware-control
    # sends to /dev/null; the log shows the exit instead.
    ok = subprocess.run([ctl, cfg, "request_reset"]).returncode == 0
tap.ok(ok, "vmware-control start and request_reset return at once")
deadline = time.time() + 30
ended = False
while time.time() < deadline and not ended:
    ended = os.path.exists(log) and "exit status 65" in open(log).read()
    time.sleep(0.1)
tap.ok(ended, "the guest received the keys and ended (status 65 in vmware.log)")
subprocess.run([ctl, cfg, "stop"], capture_output=True)
