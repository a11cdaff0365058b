"""A QMP client for vmkemu's tests, with Python's standard library only."""
import json
import os
import socket
import subprocess
import time


class QmpError(Exception):
    pass


class Qmp:
    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        deadline = time.time() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.buf = b""
        self.events = []
        self.greeting = self.read()

    def read(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("monitor closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def response(self):
        """The next response, keeping the events that arrive before it."""
        while True:
            msg = self.read()
            if "event" in msg:
                self.events.append(msg)
            else:
                return msg

    def cmd(self, name, args=None, id=None):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        if id is not None:
            req["id"] = id
        self.send_raw(json.dumps(req))
        return self.response()

    def event(self, name, timeout=10.0):
        """Wait for the event `name` (already received ones count)."""
        deadline = time.time() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name:
                    return self.events.pop(i)
            self.sock.settimeout(max(0.01, deadline - time.time()))
            msg = self.read()
            if "event" in msg:
                self.events.append(msg)

    def close(self):
        self.sock.close()


class Tap:
    def __init__(self, plan):
        self.n = 0
        print("1..%d" % plan, flush=True)

    def ok(self, cond, desc):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc), flush=True)
        return cond

    def skip_all(self, why):
        print("1..0 # SKIP %s" % why, flush=True)
        raise SystemExit(0)


def kvm_usable(vmkemu):
    """vmkemu's own answer: does -accel kvm start at all?"""
    p = subprocess.run([vmkemu, "-accel", "kvm", "-m", "2", "-bios", "/dev/null"],
                       capture_output=True, text=True, timeout=30)
    return "not available" not in p.stderr and "/dev/kvm" not in p.stderr


def accels(vmkemu):
    """The accelerators the guest tests run under here."""
    out = []
    if kvm_usable(vmkemu):
        out.append("kvm")
    p = subprocess.run([vmkemu, "-accel", "emu", "-m", "2", "-bios", "/dev/null"],
                       capture_output=True, text=True, timeout=30)
    if "not available" not in p.stderr:
        out.append("emu")
    return out


def build_paths():
    build = os.environ.get("VMKEMU_BUILD", ".")
    return os.path.join(build, "vmkemu"), os.path.join(build, "tests", "guest")
