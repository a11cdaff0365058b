#!/bin/sh
# Debian's i686 Linux on two emulated CPUs: `vmkemu -accel emu -smp 2`
# boots linux-image-686 with the busybox initramfs of scripts/guest-assets
# plus tests/cpu/linux-smp.sh, which reports what Linux made of the
# machine and runs two md5sum pipelines at once.  Checked: BOOT-OK; both
# CPUs online (nproc, /proc/cpuinfo) with the APIC flag; interrupts
# through the IO-APIC and local APIC timer interrupts counting on both
# CPUs; the HPET found at 0xfed00000 and the clocksource a precise one
# (tsc or hpet, not jiffies or acpi_pm); both digests right; both CPUs
# busy during the work; ACPI power-off ends vmkemu with status 0.  Which
# clocksource Linux chose and whether it kept the TSC are printed as
# comments.  Skips when the guest assets cannot be built here.
src=${VMKEMU_SRC:-.}
vmkemu="${VMKEMU_BUILD:-.}/vmkemu"
# Under ASan on a loaded 2-core machine the boot takes minutes.
boot_timeout=${VMKEMU_LINUX_TIMEOUT:-1500}
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

tmp=$(mktemp -d) || { echo "Bail out! mktemp -d failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT

if ! assets=$("$src/scripts/guest-assets" --arch i386 -q \
              --add-script "$src/tests/cpu/linux-smp.sh" 2>"$tmp/assets-err"); then
    echo "1..0 # SKIP i386 guest assets unavailable: $(head -n1 "$tmp/assets-err")"
    exit 0
fi
set -- $assets
kernel=$2 initrd=$3
echo "1..7"

start=$(date +%s)
timeout "$boot_timeout" "$vmkemu" -accel emu -smp 2 -m 256 -nographic -serial stdio \
    -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 quiet vmkemu.script=linux-smp.sh" >"$tmp/out" 2>"$tmp/err"
rc=$?
end=$(date +%s)
echo "# vmkemu -accel emu -smp 2: status $rc after $((end - start)) s"

# value KEY: the rest of the guest's "KEY value" line.
value() {
    sed -n "s/^$1 //p" "$tmp/out" | head -n1 | tr -d '\r'
}
# field LINE NAME: NAME=N out of a "cpu0=N cpu1=M" list.
field() {
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}
ok() { echo "ok $1 - $2"; }
not_ok() {
    echo "not ok $1 - $2"
    tail -n 15 "$tmp/out" "$tmp/err" | sed 's/^/# /'
}

if grep -q '^BOOT-OK ' "$tmp/out"; then
    ok 1 "boots to BOOT-OK with two CPUs ($(grep '^BOOT-OK ' "$tmp/out" | tr -d '\r'))"
else
    not_ok 1 "boots to BOOT-OK with two CPUs"
fi

if [ "$(value nproc)" = 2 ] && [ "$(value cpuinfo-processors)" = 2 ] &&
   [ "$(value cpuinfo-apic)" = 1 ]; then
    ok 2 "Linux runs on 2 CPUs (nproc, /proc/cpuinfo) with the local APIC"
else
    not_ok 2 "Linux runs on 2 CPUs (nproc '$(value nproc)', cpuinfo '$(value cpuinfo-processors)', apic flag '$(value cpuinfo-apic)')"
fi

lb=$(value loc-before) la=$(value loc-after)
ioapic=$(value ioapic-lines)
if [ "${ioapic:-0}" -ge 1 ] &&
   [ "$(field "$la" cpu0)" -gt "$(field "$lb" cpu0)" ] 2>/dev/null &&
   [ "$(field "$la" cpu1)" -gt "$(field "$lb" cpu1)" ] 2>/dev/null; then
    ok 3 "IO-APIC interrupts ($ioapic lines); local timer interrupts count on both CPUs ($lb-> $la)"
else
    not_ok 3 "IO-APIC interrupts (${ioapic:-none}); local timer interrupts on both CPUs ('$lb' -> '$la')"
fi

cs=$(value clocksource)
echo "# clocksource: $cs; available: $(value clocksources); TSC marked unstable: $(value tsc-unstable) time(s)"
if grep -q 'hpet0: at MMIO 0xfed00000' "$tmp/out" &&
   printf '%s\n' "$(value clocksources)" | grep -qw hpet &&
   { [ "$cs" = tsc ] || [ "$cs" = hpet ]; }; then
    ok 4 "the HPET is found at 0xfed00000; clocksource $cs"
else
    not_ok 4 "the HPET is found at 0xfed00000; clocksource tsc or hpet (got '$cs')"
fi

if [ "$(value md5-zero)" = 77377273b0a4b61febdbf7bbf52b9db9 ] &&
   [ "$(value md5-yes)" = 40767814a87dd7db633edea84d001b3f ] &&
   grep -q 'VMKEMU-END status=0' "$tmp/out"; then
    ok 5 "two md5sum pipelines at once give the right digests"
else
    not_ok 5 "two md5sum pipelines at once give the right digests ('$(value md5-zero)', '$(value md5-yes)')"
fi

bb=$(value busy-before) ba=$(value busy-after)
if [ "$(field "$ba" cpu0)" -gt "$(field "$bb" cpu0)" ] 2>/dev/null &&
   [ "$(field "$ba" cpu1)" -gt "$(field "$bb" cpu1)" ] 2>/dev/null; then
    ok 6 "both CPUs were busy during the work (/proc/stat: $bb-> $ba)"
else
    not_ok 6 "both CPUs were busy during the work ('$bb' -> '$ba')"
fi

if [ "$rc" = 0 ] && grep -q 'reboot: Power down' "$tmp/out"; then
    ok 7 "ACPI power-off ends vmkemu with status 0"
else
    not_ok 7 "ACPI power-off ends vmkemu with status 0 (status $rc)"
fi
