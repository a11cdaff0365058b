#!/bin/sh
# A QMP session scripted with socat, as an administrator would drive it.
vmkemu="$VMKEMU_BUILD/vmkemu"
guest="$VMKEMU_BUILD/tests/guest/idle.bin"
if ! command -v socat >/dev/null; then echo "1..0 # SKIP socat not installed"; exit 0; fi
if "$vmkemu" -accel kvm -m 2 -bios /dev/null 2>&1 | grep -q 'not available'; then
    echo "1..0 # SKIP no accelerator runs guests here yet"; exit 0
fi
dir=$(mktemp -d)
trap 'kill $vm 2>/dev/null; rm -rf "$dir"' EXIT
"$vmkemu" -accel kvm -m 16 -bios "$guest" -qmp "unix:$dir/m.sock,server,nowait" >/dev/null 2>&1 &
vm=$!
i=0; while [ ! -S "$dir/m.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done

echo "1..4"
out=$(printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-status","id":"a"}' \
      '{"execute":"stop"}' '{"execute":"query-status","id":"b"}' |
      socat -t 2 - "UNIX-CONNECT:$dir/m.sock")
echo "$out" | grep -q '"status":"running".*"id":"a"' && echo "ok 1 - running" || echo "not ok 1 - running: $out"
echo "$out" | grep -q '"event":"STOP"' && echo "ok 2 - STOP event" || echo "not ok 2 - STOP event"
echo "$out" | grep -q '"status":"paused".*"id":"b"' && echo "ok 3 - paused" || echo "not ok 3 - paused"
printf '%s' '{"execute":"qmp_capabilities"}{"execute":"quit"}' | socat -t 2 - "UNIX-CONNECT:$dir/m.sock" >/dev/null
wait $vm; rc=$?
[ $rc = 0 ] && echo "ok 4 - quit ends vmkemu with status 0" || echo "not ok 4 - quit (rc=$rc)"
