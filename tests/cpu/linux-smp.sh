# Run inside the i386 test guest by tests/cpu/linux-smp.t (added to the
# initramfs with scripts/guest-assets --add-script, run as
# vmkemu.script=linux-smp.sh under busybox sh).  Prints "key value" lines
# the test checks; the exit status is 0 when the work gave the right
# digests.

# Busy time (user + nice + system) of each CPU, from /proc/stat.
busy() {
    awk '/^cpu[0-9]/ { printf "%s=%d ", $1, $2 + $3 + $4 }' /proc/stat
}
# Local APIC timer interrupts of each CPU ("LOC:" row of /proc/interrupts).
loc() {
    awk '/^ *LOC:/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) printf "cpu%d=%s ", i - 2, $i }' \
        /proc/interrupts
}

echo "nproc $(nproc)"
echo "cpuinfo-processors $(grep -c '^processor' /proc/cpuinfo)"
echo "cpuinfo-apic $(grep -m1 '^flags' /proc/cpuinfo | grep -c -w apic)"
echo "ioapic-lines $(grep -c 'IO-APIC' /proc/interrupts)"
echo "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo "clocksources $(cat /sys/devices/system/clocksource/clocksource0/available_clocksource)"
echo "tsc-unstable $(dmesg | grep -c 'Marking TSC unstable')"
dmesg | grep -i -E 'hpet|clocksource|tsc:|smpboot|smp:|APIC|IOAPIC' | sed 's/^/dmesg /'
echo "loc-before $(loc)"
echo "busy-before $(busy)"

# Two pipelines at once: the scheduler puts them on both CPUs.
(dd if=/dev/zero bs=1M count=24 2>/dev/null | md5sum > /tmp/zero.md5) &
(yes vmkemu | head -c 16777216 | md5sum > /tmp/yes.md5) &
wait
echo "md5-zero $(cut -d' ' -f1 /tmp/zero.md5)"
echo "md5-yes $(cut -d' ' -f1 /tmp/yes.md5)"

echo "loc-after $(loc)"
echo "busy-after $(busy)"
cat /proc/interrupts | sed 's/^/interrupts /'
[ "$(cut -d' ' -f1 /tmp/zero.md5)" = 77377273b0a4b61febdbf7bbf52b9db9 ] &&
    [ "$(cut -d' ' -f1 /tmp/yes.md5)" = 40767814a87dd7db633edea84d001b3f ]
