#!/bin/sh
# How vmkemu ends when the accelerator cannot go on.  The int-gate guest
# uses int n and iretd in protected mode: they work on real KVM and under
# the emulator (the guest passes), while the software KVM of the project's
# machines cannot emulate them; there vmkemu must end with status 1 and a
# line naming the KVM exit and the guest's CS:RIP, not hang or crash.
. "$(dirname "$0")/guest-lib.sh"

errors() {
    accel=$1 label=$2
    shift 2
    run_guest int-gate -accel "$accel" -serial null "$@"
    if [ "$rc" = 1 ] && [ "$accel" = kvm ]; then
        if sanitizer_report; then
            tap_not_ok "$label: KVM cannot run int n here: clean end (sanitizer report)"
            tap_diag "$work/err"
        elif grep -q "^vmkemu: kvm: vCPU 0: KVM internal error (exit INTERNAL_ERROR, .*) at RIP 0008:" "$work/err"; then
            tap_ok "$label: KVM cannot run int n here: status 1, a line naming the exit and CS:RIP"
        else
            tap_not_ok "$label: KVM cannot run int n here, but the message is not the expected one"
            tap_diag "$work/err"
        fi
        return
    fi
    expect_status "$label: int n through an interrupt gate and iretd back" "$ST_PASS"
}

for_each_variant errors
tap_done
