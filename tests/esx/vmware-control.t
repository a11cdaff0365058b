#!/bin/sh
# vmware-control against VMs launched from .cfg files: start, getstate,
# request_stop, reset, stop, and the errors a user meets.
build="$VMKEMU_BUILD"
ctl="$build/vmware-control"
if "$build/vmkemu" -accel kvm -m 2 -bios /dev/null 2>&1 | grep -q 'not available'; then
    echo "1..0 # SKIP no accelerator runs guests here yet"; exit 0
fi
dir=$(mktemp -d)
export VMKEMU_RUNTIME_DIR="$dir/run"
trap '"$ctl" "$dir/vm.cfg" stop >/dev/null 2>&1; rm -rf "$dir"' EXIT
cat > "$dir/vm.cfg" <<CFG
# a tiny VM
displayName = "control test"
memsize = 16
vmkemu.accel = kvm
vmkemu.bios = "$build/tests/guest/idle.bin"
CFG
n=0
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }

echo "1..11"
check "getstate of a VM that is not running: off" '[ "$("$ctl" "$dir/vm.cfg" getstate)" = "getstate() = off" ]'
out=$("$ctl" "$dir/vm.cfg" stop 2>&1); rc=$?
check "stop of a VM that is not running: one clear line" '[ $rc = 1 ] && echo "$out" | grep -q "is not running"'
check "start returns once the VM runs" '"$ctl" "$dir/vm.cfg" start'
check "getstate: on" '[ "$("$ctl" "$dir/vm.cfg" getstate)" = "getstate() = on" ]'
out=$("$ctl" "$dir/vm.cfg" start 2>&1); rc=$?
check "a second start is refused" '[ $rc = 1 ] && echo "$out" | grep -q "already running"'
check "the log goes to vmware.log beside the cfg" 'grep -q "monitor listening" "$dir/vmware.log"'
check "reset (forced)" '"$ctl" "$dir/vm.cfg" reset && sleep 0.3 && grep -q "reset: reset requested" "$dir/vmware.log"'
check "request_stop returns at once" '"$ctl" "$dir/vm.cfg" request_stop && grep -q "event POWERDOWN" "$dir/vmware.log"'
check "stop (forced)" '"$ctl" "$dir/vm.cfg" stop'
i=0; while [ -d "$dir/run" ] && [ -n "$(ls "$dir/run")" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
check "after stop: off, runtime directory gone" '[ "$("$ctl" "$dir/vm.cfg" getstate)" = "getstate() = off" ] && [ -z "$(ls "$dir/run")" ]'
printf 'memsize = lots\n' > "$dir/bad.cfg"
out=$("$ctl" "$dir/bad.cfg" start 2>&1); rc=$?
check "start of a bad cfg reports the file and line" '[ $rc = 1 ] && echo "$out" | grep -q "bad.cfg:1: memsize = lots"'
