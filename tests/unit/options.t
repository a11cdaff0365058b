#!/bin/sh
# The command line: every bad value is one line naming the option, status 2.
vmkemu="$VMKEMU_BUILD/vmkemu"
n=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
notok() { n=$((n+1)); echo "not ok $n - $1"; }

# expect_usage_error "description" "pattern" args...
expect_usage_error() {
    desc=$1; pattern=$2; shift 2
    out=$("$vmkemu" "$@" 2>&1 >/dev/null); rc=$?
    lines=$(printf '%s\n' "$out" | wc -l)
    if [ "$rc" = 2 ] && [ "$lines" = 1 ] && printf '%s' "$out" | grep -q -- "$pattern"; then
        ok "$desc"
    else
        notok "$desc (rc=$rc, stderr: $out)"
    fi
}

echo "1..16"
expect_usage_error "-m with junk" "^vmkemu: -m: invalid size 'abc'" -m abc
expect_usage_error "-m zero" "^vmkemu: -m: invalid size '0'" -m 0
expect_usage_error "-m bad suffix" "-m: invalid size '12Q'" -m 12Q
expect_usage_error "-smp out of range" "^vmkemu: -smp: invalid CPU count '0'" -smp 0
expect_usage_error "-accel unknown" "^vmkemu: -accel: unknown accelerator 'xen'" -accel xen
expect_usage_error "-serial bad device" "^vmkemu: -serial: invalid device 'pty'" -serial pty
expect_usage_error "fifth -serial" "at most 4 serial ports" -serial null -serial null -serial null -serial null -serial null
expect_usage_error "unknown option" "^vmkemu: -frobnicate: unknown option" -frobnicate
expect_usage_error "missing value" "^vmkemu: -kernel: missing value" -kernel
expect_usage_error "stray argument" "^vmkemu: foo: unexpected argument" -m 64 foo
expect_usage_error "missing .cfg" "^vmkemu: /nonexistent/vm.cfg: no such configuration file" /nonexistent/vm.cfg
expect_usage_error "-linux-entry not 32 or 64" "^vmkemu: -linux-entry: invalid entry '48'" -linux-entry 48

"$vmkemu" -h | grep -q -- '-serial DEV' && ok "-h prints usage" || notok "-h prints usage"
"$vmkemu" --version | grep -q '^vmkemu [0-9]' && ok "--version" || notok "--version"

out=$("$vmkemu" -m 16 2>&1); rc=$?
[ "$rc" = 1 ] && printf '%s' "$out" | grep -q 'nothing to boot\|not available' &&
    ok "no kernel or bios: clear error, status 1" || notok "no kernel or bios (rc=$rc: $out)"
out=$("$vmkemu" -bios /nonexistent/rom.bin -accel kvm 2>&1); rc=$?
[ "$rc" != 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] &&
    ok "missing -bios file: one line" || notok "missing -bios file (rc=$rc: $out)"
