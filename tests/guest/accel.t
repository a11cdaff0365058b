#!/bin/sh
# Choosing the accelerator (-accel kvm|emu|tcg|auto, DESIGN.md's rule):
# auto takes KVM only where /dev/kvm works and the CPU flags show vmx or
# svm, else the emulator; the emulator says "not available yet" until it
# lands; tcg is emu; KVM failures are one clear line.
. "$(dirname "$0")/guest-lib.sh"

if grep -q -w -E 'vmx|svm' /proc/cpuinfo; then hw_virt=yes; else hw_virt=no; fi
kvm_ok=no
accel_usable kvm && kvm_ok=yes
kvm_why=$accel_why

# What the emulator says now: available (hello runs) or a reason.
emu_ok=no
accel_usable emu && emu_ok=yes
emu_why=$accel_why

# -accel auto: which one did it take?  The log names it.
run_guest hello -accel auto -serial null -D "$work/auto.log"
if [ "$hw_virt" = yes ] && [ "$kvm_ok" = yes ]; then
    want=kvm
else
    want=emu
fi
if [ "$want" = emu ] && [ "$emu_ok" = no ]; then
    # Refused the way -accel emu is refused.
    if [ "$rc" = 1 ] && grep -q -e "-accel emu: .*not available yet" "$work/err"; then
        tap_ok "-accel auto picks the emulator here (hardware virtualization: $hw_virt), which is not available yet"
    else
        tap_not_ok "-accel auto picks the emulator here (status $rc)"
        tap_diag "$work/err"
    fi
else
    if [ "$rc" = "$ST_HELLO" ] && grep -q "accelerator $want" "$work/auto.log"; then
        tap_ok "-accel auto picks $want here (hardware virtualization: $hw_virt)"
    else
        tap_not_ok "-accel auto picks $want here (status $rc)"
        tap_diag "$work/err" "$work/auto.log"
    fi
fi

# -accel emu and its alias tcg answer alike.
run_guest hello -accel emu -serial null
emu_rc=$rc
emu_err=$(cat "$work/err")
run_guest hello -accel tcg -serial null
if [ "$rc" = "$emu_rc" ] && [ "$(sed 's/-accel tcg/-accel emu/' "$work/err")" = "$emu_err" ]; then
    tap_ok "-accel tcg behaves as -accel emu (status $rc)"
else
    tap_not_ok "-accel tcg behaves as -accel emu (tcg: $rc, emu: $emu_rc)"
    tap_diag "$work/err"
fi
if [ "$emu_ok" = no ]; then
    if [ "$(grep -c . "$work/err")" = 1 ] && grep -q "not available yet" "$work/err"; then
        tap_ok "-accel tcg: one line saying the emulator is not available yet"
    else
        tap_not_ok "-accel tcg: one line saying the emulator is not available yet"
        tap_diag "$work/err"
    fi
fi

# -accel kvm runs the guest here, or says in one line why not.
if [ "$kvm_ok" = yes ]; then
    run_guest hello -accel kvm -serial null -D "$work/kvm.log"
    if [ "$rc" = "$ST_HELLO" ] && grep -q "accelerator kvm" "$work/kvm.log"; then
        tap_ok "-accel kvm runs the hello guest"
    else
        tap_not_ok "-accel kvm runs the hello guest (status $rc)"
        tap_diag "$work/err"
    fi
else
    tap_skip "$kvm_why"
fi

# Without /dev/kvm (an empty /dev in a private mount namespace): one line.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
   unshare -m true 2>/dev/null; then
    timeout -k 5 "$GUEST_TIMEOUT" unshare -m sh -c \
        'mount -t tmpfs none /dev && exec "$0" -accel kvm -bios "$1" -nographic -serial null' \
        "$VMKEMU" "$GUEST_DIR/hello.bin" </dev/null >"$work/out" 2>"$work/err"
    rc=$?
    if [ "$rc" = 1 ] && [ "$(grep -c . "$work/err")" = 1 ] &&
       grep -q -e "^vmkemu: -accel kvm: cannot open /dev/kvm: No such file or directory" "$work/err"; then
        tap_ok "-accel kvm without /dev/kvm: one line naming /dev/kvm, status 1"
    else
        tap_not_ok "-accel kvm without /dev/kvm: one line naming /dev/kvm, status 1 (status $rc)"
        tap_diag "$work/err"
    fi
else
    tap_skip "-accel kvm without /dev/kvm: needs root and unshare -m"
fi

# KVM with -userspace-irqchip runs one CPU: -smp 2 is refused in one line.
if [ "$kvm_ok" = yes ]; then
    run_guest hello -accel kvm -userspace-irqchip -smp 2 -serial null
    if [ "$rc" = 1 ] && [ "$(grep -c . "$work/err")" = 1 ] &&
       grep -q -e "-userspace-irqchip: runs one CPU only" "$work/err"; then
        tap_ok "-userspace-irqchip -smp 2: refused in one line, status 1"
    else
        tap_not_ok "-userspace-irqchip -smp 2: refused in one line (status $rc)"
        tap_diag "$work/err"
    fi
else
    tap_skip "-userspace-irqchip -smp 2: $kvm_why"
fi

tap_done
