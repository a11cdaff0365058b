#!/bin/sh
# Ports 0x80 (POST codes, logged), 0xe9 (debug console) and 0xf4 (test
# exit: a 32-bit write of N ends vmkemu with status (N << 1) | 1).
. "$(dirname "$0")/guest-lib.sh"

debug_ports() {
    accel=$1 label=$2
    shift 2
    run_guest debug-ports -accel "$accel" -serial null -D "$work/log" "$@"
    expect_status "$label: a 32-bit write of 0x7f to port 0xf4 ends with status 255" 255 || return
    expect_out "^debug-ports: POST code reads back, 0xe9 answers$" "$label: 0x80 reads back, 0xe9 reads 0xe9"
    if grep -q "POST code 0x12" "$work/log" && grep -q "POST code 0x34" "$work/log"; then
        tap_ok "$label: POST codes in the -D log"
    else
        tap_not_ok "$label: POST codes in the -D log"
        tap_diag "$work/log"
    fi
    rm -f "$work/log"
}

for_each_variant debug_ports
tap_done
