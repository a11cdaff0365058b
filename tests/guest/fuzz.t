#!/bin/sh
# The port and MMIO fuzzer guest (fuzz.asm): random writes and reads of
# every I/O port, string I/O, and random accesses across the PCI hole.
# vmkemu must neither crash nor hang, and the guest must end with its own
# exit code after checking that its ROM and RAM survived.
. "$(dirname "$0")/guest-lib.sh"

fuzz() {
    accel=$1 label=$2
    shift 2
    run_guest fuzz -accel "$accel" -serial null "$@"
    if expect_status "$label: the fuzzer guest ends with its own exit code" "$ST_PASS"; then
        expect_out "fuzz: survived" "$label: ROM unchanged and guest RAM intact"
    fi
}

for_each_variant fuzz
tap_done
