#!/bin/sh
# The demo guest (vmkemu's own tiny OS) under every accelerator usable here.
vmkemu="$VMKEMU_BUILD/vmkemu"
guest="$VMKEMU_BUILD/tests/guest/demo.bin"
accels=""
for a in emu kvm; do
    "$vmkemu" -accel $a -m 2 -bios /dev/null 2>&1 | grep -q 'not available' || accels="$accels $a"
done
set -- $accels
echo "1..$(( $# * 4 ))"
n=0
for a in $accels; do
    day1=$(date -u +%Y-%m-%d)
    out=$(timeout 60 "$vmkemu" -accel $a -m 256 -bios "$guest" -nographic 2>&1); rc=$?
    day2=$(date -u +%Y-%m-%d)
    n=$((n+1)); echo "$out" | grep -q '^CPU      : GenuineIntel\|^CPU      : AuthenticAMD' &&
        echo "ok $n - $a: CPUID vendor" || echo "not ok $n - $a: CPUID vendor ($out)"
    n=$((n+1)); echo "$out" | grep -q '^Memory   : 256 MiB' &&
        echo "ok $n - $a: memory size from the CMOS" || echo "not ok $n - $a: memory size"
    n=$((n+1)); echo "$out" | grep -q -e "^RTC      : $day1" -e "^RTC      : $day2" &&
        echo "ok $n - $a: RTC date is today's (UTC)" || echo "not ok $n - $a: RTC date"
    # Under this host's software KVM, iret cannot be emulated: the interrupt
    # part is the emulator's to show here.
    if [ $a = kvm ] && [ $rc != 0 ] && echo "$out" | grep -q 'emulation failure\|internal error'; then
        n=$((n+1)); echo "ok $n - $a: interrupts # SKIP this host's KVM cannot emulate iret"
    else
        n=$((n+1)); [ $rc = 0 ] && echo "$out" | grep -q 'through the 8259 ... 100 ticks' &&
            echo "ok $n - $a: 100 PIT interrupts, ACPI power-off, exit 0" ||
            echo "not ok $n - $a: interrupts and power-off (rc=$rc)"
    fi
done
