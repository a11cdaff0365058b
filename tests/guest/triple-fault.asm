; triple-fault: the first boot loads an empty IDT and executes ud2; the
; CPU cannot deliver the #UD, nor the #GP and double fault that follow, and
; shuts down (Intel SDM vol. 3, 6.15 "Interrupt 8 - Double Fault Exception":
; a fault while delivering #DF is a triple fault).  vmkemu resets the
; machine, so the second boot prints its banner and exits with GUEST_PASS;
; under -no-reboot vmkemu ends at the triple fault instead.
%include "common.inc"

main:
        PRINT   "triple-fault: boot "
        mov     eax, [BOOT_COUNT]
        call    dbg_dec
        PRINT   10
        cmp     dword [BOOT_COUNT], 1
        jne     .again
        PRINT   "triple-fault: faulting with an empty IDT", 10
        lidt    [empty_idt]
        ud2                             ; #UD, #GP (beyond the IDT limit), #DF, shutdown
        PRINT   "triple-fault: still running after the fault", 10
        EXIT    GUEST_FAIL
.again:
        PRINT   "triple-fault: back after the reset", 10
        EXIT    GUEST_PASS

empty_idt:
        dw      0
        dd      0

GUEST_END
