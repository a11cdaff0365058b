#!/bin/sh
# COM1 output and input: the guest announces itself on COM1, echoes a line
# back upper-cased and reports the byte count.  serial-echo polls the
# 16550A; serial-irq takes THR-empty and received-data interrupts on IRQ 4.
# Input comes from a pipe with -serial stdio, and (serial-echo) from a
# client of -serial unix:PATH,server.
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

# serial_pipe ACCEL LABEL GUEST [ARGS...]: GUEST (serial-echo or
# serial-irq) on -serial stdio echoes a line typed into a pipe.
serial_pipe() {
    accel=$1 label=$2 guest=$3
    shift 3
    # Type the line once the guest is listening, as a person would: a line
    # sent earlier may land before the guest resets its FIFOs.
    {
        i=0
        while ! grep -a -q -e "$guest: ready" -e "^SKIP: " "$work/out" 2>/dev/null &&
              [ $i -lt 200 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        printf 'Hello, vmkemu\n'
    } | timeout -k 5 "$GUEST_TIMEOUT" "$VMKEMU" -bios "$GUEST_DIR/$guest.bin" \
            -nographic -accel "$accel" -serial stdio "$@" >"$work/out" 2>"$work/err"
    rc=$?
    if expect_status "$label: $guest on -serial stdio echoes a line from a pipe" "$ST_PASS"; then
        expect_out "$guest: ready" "$label: $guest: COM1 output on stdout"
        expect_out "HELLO, VMKEMU" "$label: $guest: the input came back upper-cased"
        expect_out "^$guest: echoed 13 bytes" "$label: $guest: 13 bytes received"
    fi
}

serial() {
    accel=$1 label=$2
    shift 2
    serial_pipe "$accel" "$label" serial-echo "$@"
    serial_pipe "$accel" "$label" serial-irq "$@"

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
