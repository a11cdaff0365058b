#!/bin/sh
# hlt with interrupts off: nothing can wake the CPU, so vmkemu ends (status
# 0, "guest halted with interrupts disabled" on stderr) instead of hanging.
# With -smp 2 the other CPU waits for a startup IPI that never comes, which
# cannot wake anything either.
. "$(dirname "$0")/guest-lib.sh"

halts() {
    accel=$1 label=$2
    shift 2
    run_guest halt -accel "$accel" -serial null "$@"
    if expect_status "$label: cli; hlt ends vmkemu with status 0" 0; then
        expect_err "guest halted with interrupts disabled" "$label: the halt is reported on stderr"
        expect_no_out "^halt: woke up" "$label: the guest did not go on"
    fi
    case " $* " in
    *" -userspace-irqchip "*) return ;;         # one CPU only
    esac
    run_guest halt -accel "$accel" -serial null -smp 2 "$@"
    if expect_status "$label -smp 2: cli; hlt with the AP waiting for SIPI ends vmkemu" 0; then
        expect_err "guest halted with interrupts disabled" "$label -smp 2: the halt is reported on stderr"
    fi
}

for_each_variant halts
tap_done
