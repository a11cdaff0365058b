; spin: prints a banner and then runs guest code forever with interrupts
; off, so that vmkemu has to pull the vCPU out of guest mode to end.  It
; never exits by itself: tests end it with a signal.
%include "common.inc"

main:
        PRINT   "spin: running", 10
        cli
.forever:
        pause
        jmp     .forever

GUEST_END
