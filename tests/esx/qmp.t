#!/usr/bin/env python3
"""The QMP monitor against a running VM: greeting, negotiation, commands,
errors, events, several clients, and a client that sends garbage."""
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.environ.get("VMKEMU_SRC", "."), "tests", "lib"))
from qmp import Qmp, Tap, accels, build_paths  # noqa: E402

vmkemu, guests = build_paths()
usable = accels(vmkemu)
tap = Tap(24 * len(usable)) if usable else None
if not usable:
    print("1..0 # SKIP no accelerator runs guests here yet")
    sys.exit(0)

for accel in usable:
    tmp = tempfile.mkdtemp()
    sock = os.path.join(tmp, "qmp.sock")
    logf = os.path.join(tmp, "vm.log")
    vm = subprocess.Popen([vmkemu, "-accel", accel, "-m", "16", "-name", "qmp-test", "-D", logf,
                           "-bios", os.path.join(guests, "idle.bin"),
                           "-qmp", "unix:%s,server,nowait" % sock],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_lines = []
    reader = threading.Thread(target=lambda: out_lines.extend(
        l.decode(errors="replace") for l in iter(vm.stdout.readline, b"")), daemon=True)
    reader.start()

    def banners(n, timeout=20.0):
        """Wait until the guest has printed its banner n times."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if sum("idle guest up" in l for l in list(out_lines)) >= n:
                return True
            time.sleep(0.05)
        return False

    try:
        q = Qmp(sock)
        # Let the guest boot first: this test is about the monitor.  (A
        # reset a few milliseconds into the first boot can leave this
        # host's software KVM without a second boot: see docs/kvm.md.)
        banners(1)
        g = q.greeting
        tap.ok("QMP" in g and g["QMP"]["capabilities"] == [] and
               "qemu" in g["QMP"]["version"], "%s: greeting" % accel)
        r = q.cmd("query-status", id=1)
        tap.ok(r.get("error", {}).get("class") == "CommandNotFound" and r.get("id") == 1,
               "%s: commands before negotiation are refused" % accel)
        tap.ok(q.cmd("qmp_capabilities") == {"return": {}}, "%s: qmp_capabilities" % accel)
        r = q.cmd("query-status", id="s1")
        tap.ok(r == {"return": {"running": True, "singlestep": False, "status": "running"},
                     "id": "s1"}, "%s: query-status running, id echoed" % accel)
        r = q.cmd("query-name")
        tap.ok(r == {"return": {"name": "qmp-test"}}, "%s: query-name" % accel)
        r = q.cmd("query-commands")
        names = {c["name"] for c in r["return"]}
        tap.ok({"query-status", "stop", "cont", "system_reset", "system_powerdown", "quit",
                "query-version", "query-commands", "query-block",
                "query-cpus-fast"} <= names, "%s: query-commands lists the schema" % accel)
        r = q.cmd("query-cpus-fast")
        tap.ok(len(r["return"]) == 1 and r["return"][0]["cpu-index"] == 0,
               "%s: query-cpus-fast" % accel)
        tap.ok(q.cmd("query-block") == {"return": []}, "%s: query-block" % accel)
        r = q.cmd("query-version")
        tap.ok("qemu" in r["return"] and r["return"]["package"].startswith("vmkemu"),
               "%s: query-version" % accel)
        r = q.cmd("no-such-command", id=[1])
        tap.ok(r["error"]["class"] == "CommandNotFound" and r["id"] == [1],
               "%s: unknown command" % accel)
        r = q.cmd("stop", {"bogus": 1})
        tap.ok(r["error"]["class"] == "GenericError" and "bogus" in r["error"]["desc"],
               "%s: unexpected argument named" % accel)
        q.send_raw('{"execute": "query-status", oops}\n')
        r = q.response()
        tap.ok(r["error"]["class"] == "GenericError" and "JSON parse error" in r["error"]["desc"],
               "%s: malformed JSON answered, connection kept" % accel)
        q.send_raw('[1, 2]')
        r = q.response()
        tap.ok("error" in r, "%s: a non-object is refused" % accel)

        # A second client sees events too, once negotiated.
        q2 = Qmp(sock)
        q2.cmd("qmp_capabilities")
        tap.ok(q.cmd("stop") == {"return": {}}, "%s: stop" % accel)
        tap.ok(q.event("STOP")["event"] == "STOP" and q2.event("STOP")["event"] == "STOP",
               "%s: STOP event to both clients" % accel)
        r = q.cmd("query-status")
        tap.ok(r["return"]["status"] == "paused" and not r["return"]["running"],
               "%s: paused" % accel)
        tap.ok(q.cmd("cont") == {"return": {}} and q.event("RESUME")["event"] == "RESUME",
               "%s: cont and RESUME" % accel)
        tap.ok(q.cmd("system_reset") == {"return": {}}, "%s: system_reset" % accel)
        ev = q.event("RESET")
        if not tap.ok(ev["data"] == {"guest": False, "reason": "host-qmp-system-reset"} and
                      "seconds" in ev["timestamp"] and banners(2), "%s: RESET event with reason, "
                      "the guest boots again" % accel):
            print("# guest output: %r" % out_lines)
            print("# log: %r" % open(logf).read()[-2000:])
        tap.ok(q.cmd("system_powerdown") == {"return": {}} and
               q.event("POWERDOWN")["event"] == "POWERDOWN", "%s: POWERDOWN event" % accel)
        # Garbage from a third client does not disturb the VM.
        q3 = Qmp(sock)
        q3.send_raw(b"\x00\xff}{]]" * 1000)
        q3.close()
        tap.ok(q.cmd("query-status")["return"]["status"] == "running",
               "%s: VM unharmed by a garbage client" % accel)
        tap.ok(q.cmd("quit") == {"return": {}}, "%s: quit" % accel)
        ev = q.event("SHUTDOWN")
        tap.ok(ev["data"] == {"guest": False, "reason": "host-qmp-quit"},
               "%s: SHUTDOWN event" % accel)
        rc = vm.wait(timeout=20)
        reader.join(timeout=5)
        boots = sum("idle guest up" in l for l in out_lines)
        tap.ok(rc == 0 and boots == 2 and not os.path.exists(sock),
               "%s: exit 0, guest booted twice (reset), socket removed" % accel)
    except Exception as e:  # a hang or protocol break fails what is left
        print("# %s: %r" % (accel, e))
        while tap.n < 24 * (usable.index(accel) + 1):
            tap.ok(False, "%s: not reached" % accel)
    finally:
        if vm.poll() is None:
            vm.kill()
            vm.wait()
