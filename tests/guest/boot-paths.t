#!/bin/sh
# Direct kernel boot end to end: vmkemu -kernel with the test kernels of
# tests/guest (multiboot-kernel.asm, linux-kernel.asm).  Each kernel checks
# the machine state and boot information its protocol promises, talks to
# fw_cfg and the ACPI PM timer, and powers off through ACPI S5, so a pass
# is exit status 0 with no "FAIL:" line.  Runs under KVM where it works
# (VMKEMU_TEST_ACCEL picks another accelerator); skips where it does not.
build=${VMKEMU_BUILD:?}
vmkemu="$build/vmkemu"
accel=${VMKEMU_TEST_ACCEL:-kvm}
guests="$build/tests/guest"
n=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
notok() { n=$((n+1)); echo "not ok $n - $1"; }

tmp=$(mktemp -d) || { echo "Bail out! mktemp -d failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT

timeout 30 "$vmkemu" -accel "$accel" -m 16 -bios "$guests/hello.bin" >/dev/null 2>"$tmp/probe"
if [ $? != 85 ]; then
    echo "1..0 # SKIP -accel $accel cannot run test guests here: $(head -n1 "$tmp/probe")"
    exit 0
fi
echo "1..7"

printf 'MOD1 first module' >"$tmp/mod1"
printf 'MOD2 second module' >"$tmp/mod2"
printf 'INITRD!!' >"$tmp/initrd"

# run NAME EXPECT-LINE ARGS...: boot, expect status 0, EXPECT-LINE, no FAIL.
run() {
    name=$1 expect=$2
    shift 2
    timeout 60 "$vmkemu" -accel "$accel" -m 32 "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc = 0 ] && grep -qx -- "$expect" "$tmp/out" && ! grep -q '^FAIL' "$tmp/out"; then
        ok "$name"
    else
        notok "$name (status $rc)"
        sed 's/^/# /' "$tmp/out" "$tmp/err" | tail -n 20
    fi
}

run "Multiboot kernel with two modules: info, mmap, fw_cfg, ACPI S5" \
    "multiboot: powering off" \
    -kernel "$guests/multiboot-kernel.bin" -append mbtest-arg \
    -initrd "$tmp/mod1 one,$tmp/mod2"
run "bzImage, 32-bit boot protocol: boot_params, GDT, fw_cfg, ACPI S5" \
    "linux: 32-bit entry: EBX zero ok" \
    -kernel "$guests/linux-kernel.bin" -initrd "$tmp/initrd" -append lxtest-cmdline
run "bzImage, 64-bit boot protocol: long mode, identity map, boot_params" \
    "linux: 64-bit entry: 4 GiB identity map ok" \
    -kernel "$guests/linux-kernel.bin" -initrd "$tmp/initrd" -append lxtest-cmdline \
    -linux-entry 64
run "bzImage on 2 CPUs still boots the BSP" \
    "linux: powering off" \
    -smp 2 -kernel "$guests/linux-kernel.bin" -initrd "$tmp/initrd" -append lxtest-cmdline

# expect_error NAME PATTERN ARGS...: status 1 and one line naming the culprit.
expect_error() {
    name=$1 pattern=$2
    shift 2
    out=$(timeout 30 "$vmkemu" -accel "$accel" "$@" 2>&1 >/dev/null); rc=$?
    if [ $rc = 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
        printf '%s' "$out" | grep -q -- "$pattern"; then
        ok "$name"
    else
        notok "$name (status $rc: $out)"
    fi
}

head -c 9000 /dev/zero >"$tmp/zeros"
expect_error "a file that is no kernel: one line" \
    "-kernel $tmp/zeros: not a Multiboot kernel or Linux bzImage" -m 16 -kernel "$tmp/zeros"
head -c 20000000 /dev/zero >"$tmp/big-initrd"
expect_error "an initrd that does not fit: one line naming -initrd and -m" \
    "^vmkemu: -initrd: .*give more memory with -m" \
    -m 16 -kernel "$guests/linux-kernel.bin" -initrd "$tmp/big-initrd"
long=$(head -c 300 /dev/zero | tr '\0' x)
expect_error "a command line longer than cmdline_size: one line" \
    "^vmkemu: -append: the command line is 300 bytes; this kernel takes at most 255" \
    -m 16 -kernel "$guests/linux-kernel.bin" -append "$long"
