; idle: prints a banner and then sleeps in hlt with interrupts on and every
; PIC input masked: the vCPU waits (in KVM, or in vmkemu with
; -userspace-irqchip) for an interrupt that never comes.  It never exits by
; itself: tests end it with a signal.
%include "common.inc"

main:
        call    pic_init                ; every input masked (if a PIC answers)
        PRINT   "idle: sleeping", 10
.forever:
        sti
        hlt
        jmp     .forever

GUEST_END
