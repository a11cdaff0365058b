#!/bin/sh
# The hello guest under every accelerator: it reaches protected mode from
# the reset vector, prints on the debug console (port 0xe9) and ends vmkemu
# through the test-exit port with its own status.
. "$(dirname "$0")/guest-lib.sh"

hello() {
    accel=$1 label=$2
    shift 2
    run_guest hello -accel "$accel" -serial null "$@"
    expect_status "$label: hello ends with status $ST_HELLO (exit code 0x2a)" "$ST_HELLO" || return
    expect_out "^Hello from a vmkemu test guest$" "$label: hello's greeting on the debug console"
    expect_out "^boot 1$" "$label: hello booted once"
}

for_each_variant hello
tap_done
