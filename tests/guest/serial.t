#!/bin/sh
# COM1 output and input (serial-echo guest, polled 16550A): the guest
# announces itself on COM1, echoes a line back upper-cased and reports the
# byte count.  Input comes (1) from a pipe with -serial stdio and (2) from
# a client of -serial unix:PATH,server.
. "$(dirname "$0")/guest-lib.sh"

# The client side of the UNIX socket: argv = socket path, transcript file,
# then vmkemu's command line.  Exits with vmkemu's status (200 when the
# conversation failed, with the reason on stderr).
socket_client='
import os, socket, subprocess, sys, time
path, transcript, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
out, err = open(transcript + ".out", "wb"), open(transcript + ".err", "wb")
vm = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
got = b""
def fail(why):
    sys.stderr.write("serial.t client: %s\n" % why)
    vm.kill()
    vm.wait()
    sys.exit(200)
deadline = time.time() + 20
while not os.path.exists(path):
    if vm.poll() is not None:
        sys.exit(vm.returncode)         # e.g. the guest found no UART
    if time.time() > deadline:
        fail("vmkemu never created %s" % path)
    time.sleep(0.02)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.settimeout(20)
def read_until(marker):
    global got
    while marker not in got:
        try:
            data = s.recv(4096)
        except socket.timeout:
            fail("no %r from the guest" % marker)
        if not data:
            fail("connection closed before %r" % marker)
        got += data
read_until(b"serial-echo: ready")
s.sendall(b"Over a socket\n")
read_until(b"serial-echo: done")
open(transcript, "wb").write(got)
try:
    sys.exit(vm.wait(timeout=20))
except subprocess.TimeoutExpired:
    fail("vmkemu did not end after the guest was done")
'

serial() {
    accel=$1 label=$2
    shift 2
    printf 'Hello, vmkemu\n' |
        timeout -k 5 "$GUEST_TIMEOUT" "$VMKEMU" -bios "$GUEST_DIR/serial-echo.bin" \
            -nographic -accel "$accel" -serial stdio "$@" >"$work/out" 2>"$work/err"
    rc=$?
    if expect_status "$label: -serial stdio: the guest echoes a line from a pipe" "$ST_PASS"; then
        expect_out "serial-echo: ready" "$label: -serial stdio: COM1 output on stdout"
        expect_out "HELLO, VMKEMU" "$label: -serial stdio: the input came back upper-cased"
        expect_out "^serial-echo: echoed 13 bytes" "$label: -serial stdio: 13 bytes received"
    fi

    if ! command -v python3 >/dev/null; then
        tap_skip "$label: -serial unix: python3 is needed for the client"
        return
    fi
    sock="$work/com1.sock"
    rm -f "$sock"
    python3 -c "$socket_client" "$sock" "$work/sock" \
        "$VMKEMU" -bios "$GUEST_DIR/serial-echo.bin" -nographic -accel "$accel" \
        -serial "unix:$sock,server" "$@" 2>"$work/client.err"
    rc=$?
    cp "$work/sock.out" "$work/out" 2>/dev/null
    cat "$work/sock.err" "$work/client.err" >"$work/err" 2>/dev/null
    if expect_status "$label: -serial unix:PATH,server: the guest echoes a client's line" "$ST_PASS"; then
        if grep -a -q "OVER A SOCKET" "$work/sock"; then
            tap_ok "$label: -serial unix: the client got its line back upper-cased"
        else
            tap_not_ok "$label: -serial unix: the client got its line back upper-cased"
            tap_diag "$work/sock"
        fi
    fi
}

for_each_variant serial
tap_done
