; rtc-irq: MC146818 RTC periodic interrupts through the slave 8259A
; (Motorola MC146818A datasheet: register A rate select, register B PIE,
; register C flags, read to acknowledge).  Runs the RTC at 64 Hz on IRQ 8
; and the PIT at 100 Hz on IRQ 0, sleeps in `hlt` until 16 RTC ticks have
; come (each with PF set in register C), and checks that the PIT counted a
; plausible number of ticks meanwhile (1/3 to 3 times 100/64 per RTC tick:
; both run on the host's clock, so only a loose ratio is asked for).
; Exits with GUEST_PASS; skips when no PIC or no RTC answers.
%include "common.inc"

PIT_CH0         equ 0x40
PIT_CMD         equ 0x43
PIT_DIVISOR     equ 11932
CMOS_INDEX      equ 0x70
CMOS_DATA       equ 0x71
WANT_RTC_TICKS  equ 16

rtc_ticks       equ GUEST_VARS
pit_ticks       equ GUEST_VARS + 4
bad_flags       equ GUEST_VARS + 8

; cmos_read: register al -> al.  cmos_write: register al <- ah.
%macro CMOS_READ 1
        mov     al, %1
        out     CMOS_INDEX, al
        in      al, CMOS_DATA
%endmacro

main:
        PRINT   "rtc-irq: start", 10
        call    pic_init
        jz      .pic_ok
        PRINT   "SKIP: no 8259A PIC answers at port 0x21", 10
        EXIT    GUEST_SKIP
.pic_ok:
        CMOS_READ 0x0a
        cmp     al, 0xff
        jne     .rtc_ok
        PRINT   "SKIP: no MC146818 RTC answers at ports 0x70/0x71", 10
        EXIT    GUEST_SKIP
.rtc_ok:
        mov     dword [rtc_ticks], 0
        mov     dword [pit_ticks], 0
        mov     dword [bad_flags], 0
        SET_INT PIC_VECTOR_BASE + 0, pit_tick
        SET_INT PIC_VECTOR_BASE + 8, rtc_tick

        mov     al, 0x0a                ; register A: 32.768 kHz base, 64 Hz
        out     CMOS_INDEX, al
        mov     al, 0x2a
        out     CMOS_DATA, al
        ; Clear old flags while the interrupt is still off, then turn it on.
        ; (Reading C after PIE is on could take back a request whose edge
        ; the 8259 has already latched: an IRQ 8 with nothing in C.)
        CMOS_READ 0x0c
        CMOS_READ 0x0b                  ; register B: periodic interrupt on
        or      al, 0x40
        mov     ah, al
        mov     al, 0x0b
        out     CMOS_INDEX, al
        mov     al, ah
        out     CMOS_DATA, al

        mov     al, 0x34                ; PIT channel 0, mode 2, 100 Hz
        out     PIT_CMD, al
        mov     al, PIT_DIVISOR & 0xff
        out     PIT_CH0, al
        mov     al, PIT_DIVISOR >> 8
        out     PIT_CH0, al

        mov     cl, 0
        call    pic_unmask
        mov     cl, 8
        call    pic_unmask
        sti
.sleep:
        hlt
        cmp     dword [rtc_ticks], WANT_RTC_TICKS
        jb      .sleep
        cli
        CMOS_READ 0x0b                  ; periodic interrupt off again
        and     al, ~0x40
        mov     ah, al
        mov     al, 0x0b
        out     CMOS_INDEX, al
        mov     al, ah
        out     CMOS_DATA, al

        PRINT   "rtc-irq: "
        mov     eax, [rtc_ticks]
        call    dbg_dec
        PRINT   " RTC ticks on IRQ 8, "
        mov     eax, [pit_ticks]
        call    dbg_dec
        PRINT   " PIT ticks on IRQ 0", 10
        cmp     dword [bad_flags], 0
        jne     .flags
        ; 16 RTC ticks at 64 Hz = 250 ms = 25 PIT ticks; accept 8..75.
        mov     eax, [pit_ticks]
        cmp     eax, 8
        jb      .ratio
        cmp     eax, 75
        ja      .ratio
        EXIT    GUEST_PASS
.flags:
        PRINT   "rtc-irq: an IRQ 8 came without PF in register C", 10
        EXIT    GUEST_FAIL
.ratio:
        PRINT   "rtc-irq: PIT and RTC tick counts do not agree", 10
        EXIT    GUEST_FAIL

pit_tick:
        push    eax
        push    ecx
        inc     dword [pit_ticks]
        mov     cl, 0
        call    pic_eoi
        pop     ecx
        pop     eax
        INT_RETURN

rtc_tick:
        push    eax
        push    ecx
        CMOS_READ 0x0c                  ; acknowledge: read register C
        test    al, 0x40                ; PF
        jnz     .pf
        inc     dword [bad_flags]
.pf:
        inc     dword [rtc_ticks]
        mov     cl, 8
        call    pic_eoi
        pop     ecx
        pop     eax
        INT_RETURN

GUEST_END
