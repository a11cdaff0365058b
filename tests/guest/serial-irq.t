#!/bin/sh
# COM1 interrupts end to end (serial-irq guest): the guest takes the UART's
# THR-empty and received-data interrupts on IRQ 4 through the 8259A
# (KVM's in-kernel PIC via KVM_IRQ_LINE, or vmkemu's own with
# -userspace-irqchip), echoes a line typed into a pipe (-serial stdio)
# upper-cased and reports the byte count.  (serial.t covers the polled
# serial-echo guest and the other -serial backends.)
. "$(dirname "$0")/guest-lib.sh"

# serial_pipe ACCEL LABEL GUEST [ARGS...]: GUEST on -serial stdio echoes a
# line typed into a pipe.
serial_pipe() {
    accel=$1 label=$2 guest=$3
    shift 3
    # Type the line once the guest is listening, as a person would: a line
    # sent earlier may land before the guest resets its FIFOs.  (Empty the
    # output first: the typist must not see the previous run's prompt.)
    : >"$work/out"
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

serial_irq() {
    accel=$1 label=$2
    shift 2
    serial_pipe "$accel" "$label" serial-irq "$@"
}

for_each_variant serial_irq
tap_done
