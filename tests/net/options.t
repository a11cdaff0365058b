#!/bin/sh
# The network options on vmkemu's command line (docs/net.md): each bad value
# is refused before the machine is built with one line naming the option
# (exit status 2), a bad link between adapters and backends when the
# machine is built (exit status 1), and a machine with adapters on both
# backends starts and ends normally (the halt guest).
vmkemu="${VMKEMU_BUILD:-.}/vmkemu"
halt="${VMKEMU_BUILD:-.}/tests/guest/halt.bin"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
tmp=$(mktemp -d) || { echo "Bail out! mktemp -d failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
n=0

# expect STATUS 'TEXT' ARGS...: vmkemu exits with STATUS and its stderr is
# one line containing TEXT.
expect() {
    want=$1 text=$2
    shift 2
    timeout 60 "$vmkemu" "$@" -bios "$halt" -nographic -accel emu </dev/null \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    n=$((n + 1))
    if [ "$rc" = "$want" ] && [ "$(wc -l < "$tmp/err")" = 1 ] && grep -qF -- "$text" "$tmp/err"; then
        echo "ok $n - $* -> $want: $(cat "$tmp/err")"
    else
        echo "not ok $n - $* -> status $rc, wanted $want and '$text'"
        sed 's/^/# /' "$tmp/err"
    fi
}

if "$vmkemu" -netdev user,id=probe -version >/dev/null 2>&1; then
    user=yes
else
    user=no
fi
echo "1..12"
expect 2 "vmkemu: -netdev: tap,ifname=tap0: id= is missing" -netdev tap,ifname=tap0
expect 2 "vmkemu: -netdev: 'vde': unknown network backend (user or tap)" -netdev vde,id=v
expect 2 "vmkemu: -device: 'ne2k_pci': unknown device (this vmkemu has: pcnet)" -device ne2k_pci
expect 2 "vmkemu: -device: mac=00:50:56:zz:00:01: not a MAC address" -device pcnet,mac=00:50:56:zz:00:01
expect 2 "vmkemu: -nic: model=e1000: unknown adapter model (this vmkemu has: pcnet)" -nic tap,model=e1000
expect 2 "vmkemu: -netdev: script=/etc/qemu-ifup: only script=no is supported" -netdev tap,id=t,script=/etc/qemu-ifup
expect 1 "-device pcnet,netdev=nope: there is no -netdev with id=nope" -device pcnet,netdev=nope
expect 1 "-netdev id=t: connected to two network adapters (one each)" \
    -netdev tap,id=t -device pcnet,netdev=t -device pcnet,netdev=t
expect 1 "-netdev id=t: the id is used twice" -netdev tap,id=t -netdev tap,id=t
if [ "$user" = yes ]; then
    expect 2 "vmkemu: -netdev: hostfwd=tcp::70000-:22: bad host address or port" \
        -netdev user,id=u,hostfwd=tcp::70000-:22
    # A port someone holds: refused when the machine is built.
    python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); print(s.getsockname()[1]); sys.stdout.flush(); time.sleep(30)' >"$tmp/port" &
    holder=$!
    while [ ! -s "$tmp/port" ]; do sleep 0.1; done
    port=$(cat "$tmp/port")
    expect 1 "netdev u: hostfwd=tcp:127.0.0.1:$port-:22: cannot listen on host port $port" \
        -netdev user,id=u,hostfwd=tcp:127.0.0.1:$port-:22 -device pcnet,netdev=u
    kill "$holder" 2>/dev/null
    # Two adapters, user-mode and unconnected, on a guest that halts.
    timeout 60 "$vmkemu" -nic user,mac=02:00:00:00:00:07 -device pcnet -bios "$halt" \
        -nographic -accel emu -D "$tmp/log" </dev/null >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 0 ] && grep -q "nic0: pcnet (AMD PCnet-PCI II) at PCI 00:14.0, MAC 02:00:00:00:00:07, user-mode networking" "$tmp/log" &&
       grep -q "nic1: pcnet (AMD PCnet-PCI II) at PCI 00:15.0, MAC 52:54:00:12:34:57, not connected" "$tmp/log"; then
        echo "ok 12 - -nic user plus an unconnected -device pcnet: both in the log, normal end"
    else
        echo "not ok 12 - -nic user plus an unconnected -device pcnet (status $rc)"
        sed 's/^/# /' "$tmp/err" "$tmp/log"
    fi
else
    expect 2 "vmkemu: -netdev: user: user-mode networking is not available: this vmkemu was built without libslirp" \
        -netdev user,id=u
    echo "ok 11 # skip no user-mode networking in this build"
    echo "ok 12 # skip no user-mode networking in this build"
fi
