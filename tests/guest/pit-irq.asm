; pit-irq: 8254 PIT channel 0 interrupts through the 8259A PIC (Intel 8254
; and 8259A datasheets).  Programs channel 0 as a rate generator (mode 2)
; at about 100 Hz, unmasks IRQ 0, and sleeps in `hlt` until 10 ticks have
; come in on vector 0x20 (each acknowledged with a non-specific EOI).  Also
; checks that the counter counts: two latched reads of channel 0 differ and
; lie within the divisor.  Exits with GUEST_PASS; skips when no PIC answers.
%include "common.inc"

PIT_CH0         equ 0x40
PIT_CMD         equ 0x43
PIT_DIVISOR     equ 11932               ; 1193182 Hz / 11932 = 100 Hz
WANT_TICKS      equ 10

ticks           equ GUEST_VARS

main:
        PRINT   "pit-irq: start", 10
        call    pic_init
        jz      .pic_ok
        PRINT   "SKIP: no 8259A PIC answers at port 0x21", 10
        EXIT    GUEST_SKIP
.pic_ok:
        mov     dword [ticks], 0
        SET_INT PIC_VECTOR_BASE + 0, pit_tick
        mov     al, 0x34                ; channel 0, lobyte/hibyte, mode 2, binary
        out     PIT_CMD, al
        mov     al, PIT_DIVISOR & 0xff
        out     PIT_CH0, al
        mov     al, PIT_DIVISOR >> 8
        out     PIT_CH0, al

        ; The counter runs: two latched reads differ and stay in range.
        call    pit_read
        mov     ebx, eax
        mov     ecx, 2000
.delay:
        in      al, 0x80                ; time passes (an exit each)
        loop    .delay
        call    pit_read
        cmp     eax, ebx
        je      .frozen
        cmp     eax, PIT_DIVISOR
        ja      .range
        cmp     ebx, PIT_DIVISOR
        ja      .range

        mov     cl, 0
        call    pic_unmask
        sti
.sleep:
        hlt
        cmp     dword [ticks], WANT_TICKS
        jb      .sleep
        cli
        PRINT   "pit-irq: "
        mov     eax, [ticks]
        call    dbg_dec
        PRINT   " ticks on IRQ 0", 10
        EXIT    GUEST_PASS

.frozen:
        PRINT   "pit-irq: counter does not count: "
        call    dbg_hex
        PRINT   10
        EXIT    GUEST_FAIL
.range:
        PRINT   "pit-irq: counter out of range: "
        call    dbg_hex
        PRINT   " "
        mov     eax, ebx
        call    dbg_hex
        PRINT   10
        EXIT    GUEST_FAIL

; pit_read: latch channel 0 and read its count into eax.
pit_read:
        xor     eax, eax
        out     PIT_CMD, al             ; counter latch, channel 0
        in      al, PIT_CH0
        mov     ah, al
        in      al, PIT_CH0
        xchg    al, ah
        ret

pit_tick:
        push    eax
        push    ecx
        inc     dword [ticks]
        mov     cl, 0
        call    pic_eoi
        pop     ecx
        pop     eax
        INT_RETURN

GUEST_END
