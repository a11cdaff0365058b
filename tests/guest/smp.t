#!/bin/sh
# Several vCPUs: the boot CPU starts the others with INIT and startup IPIs;
# every application processor must run, once, with its own APIC ID.  Then a
# triple fault resets the machine while the APs spin, and the second boot
# must find them waiting for a SIPI again.
# (KVM's -userspace-irqchip mode runs one CPU and refuses -smp > 1: see
# accel.t.)
. "$(dirname "$0")/guest-lib.sh"

smp() {
    accel=$1 label=$2
    shift 2
    case " $* " in
    *" -userspace-irqchip "*) return ;;
    esac
    for n in 1 2 4; do
        run_guest smp -accel "$accel" -serial null -smp $n "$@"
        # An accelerator that says it runs the boot CPU only is skipped.
        limit=$(grep -m1 "only the boot CPU runs" "$work/err" | sed 's/^vmkemu: //')
        if [ $n -gt 1 ] && [ -n "$limit" ]; then
            tap_skip "$label -smp $n: $limit"
            continue
        fi
        if expect_status "$label -smp $n: every AP starts with its own APIC ID" "$ST_PASS"; then
            expect_out "^smp: $((n - 1)) AP(s) started" "$label -smp $n: $((n - 1)) AP(s) reported"
            expect_out "^smp: boot 2 done" "$label -smp $n: the APs started again after a reset"
        fi
    done
}

for_each_variant smp
tap_done
