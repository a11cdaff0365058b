; idle: prints a banner with its boot count on the debug console, then
; waits with interrupts enabled forever.  Used where the host side does the
; work: monitor (QMP) sessions, vmware-control, reset and pause tests.
%include "common.inc"

main:
        PRINT   "idle guest up, boot "
        mov     eax, [BOOT_COUNT]
        call    dbg_dec
        PRINT   10
        ; Mask every 8259 input so nothing but the host can end the wait.
        mov     al, 0xff
        out     PIC1_DATA, al
        out     PIC2_DATA, al
.wait:
        sti
        hlt
        jmp     .wait

GUEST_END
