#!/bin/sh
# PCI bus 0 enumerated by a guest with configuration mechanism #1
# (tests/guest/pci-enum.asm): the host bridge at 00:00.0, the PIIX3 at
# 00:01.0 (multi-function) with its IDE function at 00:01.1, and nothing
# else.
. "$(dirname "$0")/guest-lib.sh"

pci_enum() {
    accel=$1 label=$2
    shift 2
    run_guest pci-enum -accel "$accel" -serial null "$@"
    expect_status "$label: the guest enumerates bus 0 and passes" "$ST_PASS" || return
    expect_out "^pci 00:00.0 8086:1237 class 060000 hdr 00$" "$label: host bridge listed"
    expect_out "^pci 00:01.0 8086:7000 class 060100 hdr 80$" "$label: PIIX3 listed, multi-function"
    expect_out "^pci 00:01.1 8086:7010 class 010180 hdr 00$" "$label: PIIX3 IDE listed"
}

for_each_variant pci_enum
tap_done
