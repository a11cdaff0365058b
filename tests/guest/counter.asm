; counter: counts PIT ticks in RAM and prints each count on the debug
; console ("count N").  Used by the suspend/resume tests: a resumed guest
; goes on counting from where it was suspended instead of booting again.
; EBX shadows the counter from tick to tick, so a CPU state that did not
; survive the resume shows as "register mismatch" (exit GUEST_FAIL).
%include "common.inc"

COUNTER                 equ GUEST_VARS
PIT_CH0                 equ 0x40
PIT_CMD                 equ 0x43
PIT_DIVISOR             equ 23864       ; 1193182 Hz / 23864 = 50 Hz

main:
        PRINT   "counter guest up, boot "
        mov     eax, [BOOT_COUNT]
        call    dbg_dec
        PRINT   10
        call    pic_init
        SET_INT PIC_VECTOR_BASE + 0, tick
        mov     dword [COUNTER], 0
        xor     ebx, ebx
        ; PIT channel 0: mode 2 (rate generator), LSB then MSB, binary.
        mov     al, 0x34
        out     PIT_CMD, al
        mov     ax, PIT_DIVISOR
        out     PIT_CH0, al
        mov     al, ah
        out     PIT_CH0, al
        mov     cl, 0
        call    pic_unmask
.wait:
        sti
        hlt
        jmp     .wait

tick:
        push    eax
        inc     dword [COUNTER]
        inc     ebx
        cmp     ebx, [COUNTER]
        jne     .mismatch
        PRINT   "count "
        mov     eax, [COUNTER]
        call    dbg_dec
        PRINT   10
        mov     al, 0x20                ; non-specific EOI
        out     PIC1_CMD, al
        pop     eax
        INT_RETURN                      ; iretd, which the software KVM lacks
.mismatch:
        PRINT   "register mismatch: counter "
        mov     eax, [COUNTER]
        call    dbg_dec
        PRINT   ", ebx "
        mov     eax, ebx
        call    dbg_dec
        PRINT   10
        EXIT    GUEST_FAIL

GUEST_END
