#!/bin/sh
# Machine resets seen from a guest: a triple fault and the i8042's reset
# pulse (command 0xfe, followed by cli; hlt) reboot the machine (the guest,
# counting its boots in RAM, exits on the second one); under -no-reboot
# they end vmkemu with status 0 instead (a triple fault also says so on
# stderr).
. "$(dirname "$0")/guest-lib.sh"

resets() {
    accel=$1 label=$2
    shift 2
    run_guest triple-fault -accel "$accel" -serial null "$@"
    if expect_status "$label: triple fault reboots; the second boot passes" "$ST_PASS"; then
        expect_out "^triple-fault: back after the reset" "$label: second banner after the triple fault"
    fi
    run_guest triple-fault -accel "$accel" -serial null -no-reboot "$@"
    if expect_status "$label: -no-reboot: a triple fault ends vmkemu with status 0" 0; then
        expect_err "triple fault" "$label: -no-reboot: the triple fault is reported on stderr"
        expect_no_out "^triple-fault: boot 2" "$label: -no-reboot: no second boot"
    fi

    run_guest i8042-reset -accel "$accel" -serial null "$@"
    if expect_status "$label: i8042 0xfe reboots; the second boot passes" "$ST_PASS"; then
        expect_out "^i8042-reset: back after the reset" "$label: second banner after the i8042 reset"
        run_guest i8042-reset -accel "$accel" -serial null -no-reboot "$@"
        if expect_status "$label: -no-reboot: the i8042 reset ends vmkemu with status 0" 0; then
            expect_no_out "^i8042-reset: boot 2" "$label: -no-reboot: no second boot"
            expect_no_err "halted" "$label: -no-reboot: the reset, not the hlt after it, ended vmkemu"
        fi
    fi
}

for_each_variant resets
tap_done
