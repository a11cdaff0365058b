#!/bin/sh
# Timer interrupts through the 8259A PIC: the PIT on IRQ 0 (pit-irq) and
# the RTC's periodic interrupt on IRQ 8 next to the PIT (rtc-irq), taken
# while the guest sleeps in hlt.  With KVM's in-kernel irqchip KVM's PIC and
# PIT run them; with -userspace-irqchip vmkemu's own models do.
. "$(dirname "$0")/guest-lib.sh"

timers() {
    accel=$1 label=$2
    shift 2
    run_guest pit-irq -accel "$accel" -serial null "$@"
    if expect_status "$label: PIT channel 0 interrupts wake hlt and count" "$ST_PASS"; then
        expect_out "^pit-irq: [0-9]* ticks on IRQ 0" "$label: PIT ticks reported"
    fi
    run_guest rtc-irq -accel "$accel" -serial null "$@"
    if expect_status "$label: RTC periodic interrupts on IRQ 8 next to the PIT's" "$ST_PASS"; then
        expect_out "^rtc-irq: [0-9]* RTC ticks on IRQ 8" "$label: RTC ticks reported"
    fi
}

for_each_variant timers
tap_done
