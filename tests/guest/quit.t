#!/bin/sh
# Ending vmkemu from the host: SIGTERM or SIGINT while the guest spins in
# guest code (spin) or sleeps in hlt with interrupts on (idle) ends it
# promptly with status 0 and a clean teardown (the vCPU threads are pulled
# out of the guest and joined; no sanitizer report).
. "$(dirname "$0")/guest-lib.sh"

# quit_guest ACCEL LABEL GUEST BANNER SIGNAL [ARGS...]: signal vmkemu once
# GUEST printed BANNER.
quit_guest() {
    accel=$1 label=$2 guest=$3 banner=$4 sig=$5
    shift 5
    timeout -k 5 "$GUEST_TIMEOUT" "$VMKEMU" -bios "$GUEST_DIR/$guest.bin" -nographic \
        -accel "$accel" -serial null "$@" </dev/null >"$work/out" 2>"$work/err" &
    pid=$!
    i=0
    while ! grep -a -q "$banner" "$work/out" && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    sleep 0.3
    # timeout runs vmkemu as its child: signal vmkemu itself.
    vm=$(pgrep -P "$pid" -x vmkemu)
    kill -"$sig" "${vm:-$pid}" 2>/dev/null
    wait "$pid"
    rc=$?
    expect_status "$label: SIG$sig ends vmkemu (guest $guest) with status 0" 0
}

quits() {
    accel=$1 label=$2
    shift 2
    quit_guest "$accel" "$label" spin "^spin: running" TERM "$@"
    quit_guest "$accel" "$label" idle "^idle guest up" TERM "$@"
    quit_guest "$accel" "$label" spin "^spin: running" INT "$@"
    case " $* " in
    *" -userspace-irqchip "*) ;;
    *) quit_guest "$accel" "$label -smp 2" spin "^spin: running" TERM -smp 2 "$@" ;;
    esac
}

for_each_variant quits
tap_done
