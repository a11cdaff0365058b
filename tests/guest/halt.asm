; halt: `cli; hlt` on the boot CPU.  Nothing can wake it (the other CPUs,
; if any, wait for a startup IPI nobody sends), so vmkemu must end with
; "guest halted with interrupts disabled" and status 0, not hang.
%include "common.inc"

main:
        PRINT   "halt: halting with interrupts off", 10
        cli
        hlt
        PRINT   "halt: woke up", 10
        EXIT    GUEST_FAIL

GUEST_END
