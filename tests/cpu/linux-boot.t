#!/bin/sh
# Debian's i686 Linux kernel on the CPU emulator (issue 3, acceptance 4):
# `vmkemu -accel emu` boots linux-image-686 with the i386 busybox initramfs
# of scripts/guest-assets through the Linux boot protocol to BOOT-OK, runs
# `dd if=/dev/zero bs=1M count=32 | md5sum` (vmkemu.cmd=md5), and powers off
# through ACPI, so vmkemu exits 0.  Skips when the guest assets cannot be
# built here (no apt, no network and no cache).
src=${VMKEMU_SRC:-.}
vmkemu="${VMKEMU_BUILD:-.}/vmkemu"
md5_zero32m=58f06dd588d8ffb3beb46ada6309436b
# Under ASan on a loaded 2-core machine the boot takes minutes.
boot_timeout=${VMKEMU_LINUX_TIMEOUT:-1200}
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

tmp=$(mktemp -d) || { echo "Bail out! mktemp -d failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT

if ! assets=$("$src/scripts/guest-assets" --arch i386 -q 2>"$tmp/assets-err"); then
    echo "1..0 # SKIP i386 guest assets unavailable: $(head -n1 "$tmp/assets-err")"
    exit 0
fi
set -- $assets
kernel=$2 initrd=$3
echo "1..4"

start=$(date +%s)
timeout "$boot_timeout" "$vmkemu" -accel emu -m 256 -nographic -serial stdio \
    -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 quiet vmkemu.cmd=md5" >"$tmp/out" 2>"$tmp/err"
rc=$?
end=$(date +%s)
echo "# vmkemu -accel emu: status $rc after $((end - start)) s"

if grep -q '^BOOT-OK ' "$tmp/out"; then
    echo "ok 1 - boots to BOOT-OK ($(grep '^BOOT-OK ' "$tmp/out"))"
else
    echo "not ok 1 - boots to BOOT-OK"
    tail -n 20 "$tmp/out" "$tmp/err" | sed 's/^/# /'
fi
if grep -q "^$md5_zero32m  -" "$tmp/out"; then
    echo "ok 2 - dd | md5sum gives $md5_zero32m"
else
    echo "not ok 2 - dd | md5sum gives $md5_zero32m"
fi
if grep -q 'VMKEMU-END status=0' "$tmp/out"; then
    echo "ok 3 - the command ends with status 0"
else
    echo "not ok 3 - the command ends with status 0"
fi
if [ "$rc" = 0 ] && grep -q 'reboot: Power down' "$tmp/out"; then
    echo "ok 4 - ACPI power-off ends vmkemu with status 0"
else
    echo "not ok 4 - ACPI power-off ends vmkemu with status 0 (status $rc)"
fi
