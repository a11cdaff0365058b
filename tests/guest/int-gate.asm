; int-gate: a software interrupt (int 0x30) through a 32-bit interrupt gate
; and back with iretd, in protected mode; exits with GUEST_PASS.  On real
; KVM and under the emulator this just works.  The software KVM of the
; project's machines runs such instructions through KVM's instruction
; emulator, which cannot do them in protected mode: there vmkemu must end
; with status 1 and one line naming the KVM exit and the guest's RIP.
%include "common.inc"

hits    equ GUEST_VARS

main:
        mov     dword [hits], 0
        SET_INT 0x30, handler
        PRINT   "int-gate: int 0x30", 10
        int     0x30
        cmp     dword [hits], 1
        jne     .bad
        PRINT   "int-gate: back from the handler", 10
        EXIT    GUEST_PASS
.bad:
        EXIT    GUEST_FAIL

handler:
        inc     dword [hits]
        iretd

GUEST_END
