; demo: the guest the README's main job boots until the emulator runs Linux.
; It shows, on COM1, what the machine gives a guest: the CPU (CPUID), the
; memory size and the date from the RTC's CMOS, a one-second count of PIT
; interrupts delivered through the 8259 (so the CPU, the interrupt path and
; the timers all take part), and then it powers off through ACPI S5, as an
; operating system does, so vmkemu exits 0.
%include "common.inc"

PM1A_CNT        equ 0x604               ; FADT PM1a control block (hw/acpi-pm.c)
SLP_TYP_S5      equ 7 << 10
SLP_EN          equ 1 << 13
PIT_HZ          equ 100
TICKS           equ GUEST_VARS

main:
        call    com1_init
        COM1_PRINT 13, 10, "vmkemu demo guest: a tiny operating system of our own", 13, 10
        COM1_PRINT "---------------------------------------------------------", 13, 10

        ; CPU vendor and signature.
        COM1_PRINT "CPU      : "
        xor     eax, eax
        cpuid
        mov     [GUEST_VARS + 0x10], ebx
        mov     [GUEST_VARS + 0x14], edx
        mov     [GUEST_VARS + 0x18], ecx
        mov     byte [GUEST_VARS + 0x1c], 0
        mov     esi, GUEST_VARS + 0x10
        call    com1_puts
        COM1_PRINT ", family "
        mov     eax, 1
        cpuid
        shr     eax, 8
        and     eax, 0xf
        call    com1_dec
        COM1_PRINT 13, 10

        ; Memory from the CMOS (0x34/0x35: 64 KiB units above 16 MiB).
        COM1_PRINT "Memory   : "
        mov     al, 0x35
        call    cmos_read
        mov     ah, al
        mov     al, 0x34
        call    cmos_read
        movzx   eax, ax
        shr     eax, 4                  ; 64 KiB units -> MiB
        add     eax, 16
        call    com1_dec
        COM1_PRINT " MiB", 13, 10

        ; Date and time from the RTC (BCD, as a PC's CMOS keeps it).
        COM1_PRINT "RTC      : "
        call    rtc_wait_update
        mov     al, 0x32                ; century
        call    cmos_read
        call    com1_bcd
        mov     al, 0x09
        call    cmos_read
        call    com1_bcd
        COM1_PRINT "-"
        mov     al, 0x08
        call    cmos_read
        call    com1_bcd
        COM1_PRINT "-"
        mov     al, 0x07
        call    cmos_read
        call    com1_bcd
        COM1_PRINT " "
        mov     al, 0x04
        call    cmos_read
        call    com1_bcd
        COM1_PRINT ":"
        mov     al, 0x02
        call    cmos_read
        call    com1_bcd
        COM1_PRINT ":"
        mov     al, 0x00
        call    cmos_read
        call    com1_bcd
        COM1_PRINT " UTC", 13, 10

        ; One second of PIT interrupts at 100 Hz through the 8259.
        COM1_PRINT "Timer    : PIT at 100 Hz through the 8259 ..."
        call    pic_init
        SET_INT PIC_VECTOR_BASE + 0, timer_irq
        mov     dword [TICKS], 0
        mov     al, 0x34                ; channel 0, lo/hi, mode 2
        out     0x43, al
        mov     ax, 1193182 / PIT_HZ
        out     0x40, al
        mov     al, ah
        out     0x40, al
        mov     cl, 0
        call    pic_unmask
        sti
.wait:
        hlt
        cmp     dword [TICKS], PIT_HZ
        jb      .wait
        cli
        COM1_PRINT " "
        mov     eax, [TICKS]
        call    com1_dec
        COM1_PRINT " ticks", 13, 10

        COM1_PRINT "Goodbye  : powering off through ACPI S5", 13, 10
        mov     dx, PM1A_CNT
        mov     ax, SLP_TYP_S5 | SLP_EN
        out     dx, ax
        ; Only reached without ACPI: use the test-exit port instead.
        EXIT    GUEST_FAIL

timer_irq:
        inc     dword [TICKS]
        push    ecx
        mov     cl, 0
        call    pic_eoi
        pop     ecx
        iretd

; cmos_read: al = CMOS index -> al = value.
cmos_read:
        out     0x70, al
        in      al, 0x71
        ret

; rtc_wait_update: wait until no update is in progress (register A UIP).
rtc_wait_update:
        mov     al, 0x0a
        call    cmos_read
        test    al, 0x80
        jnz     rtc_wait_update
        ret

; com1_bcd: al as two BCD digits.
com1_bcd:
        push    eax
        push    eax
        shr     al, 4
        add     al, '0'
        call    com1_putc
        pop     eax
        and     al, 0x0f
        add     al, '0'
        call    com1_putc
        pop     eax
        ret

; com1_dec: eax as an unsigned decimal number on COM1.
com1_dec:
        pushad
        mov     ebx, 10
        xor     ecx, ecx
.divide:
        xor     edx, edx
        div     ebx
        push    edx
        inc     ecx
        test    eax, eax
        jnz     .divide
.emit:
        pop     eax
        add     al, '0'
        call    com1_putc
        loop    .emit
        popad
        ret

GUEST_END
