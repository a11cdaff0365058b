; serial-echo: output and input on COM1 (16550A at 0x3f8, polled).
; Prints "serial-echo: ready" on COM1, then reads bytes and sends each back
; upper-cased until a line feed; then reports the count on COM1 and on the
; debug console and exits with GUEST_PASS.  Skips when no UART answers.
%include "common.inc"

count   equ GUEST_VARS

main:
        call    com1_present
        jz      .present
        PRINT   "SKIP: no 16550 UART answers at port 0x3f8", 10
        EXIT    GUEST_SKIP
.present:
        call    com1_init
        COM1_PRINT "serial-echo: ready", 13, 10
        mov     dword [count], 0
.next:
        call    com1_getc
        cmp     al, 10
        je      .done
        inc     dword [count]
        cmp     al, 'a'
        jb      .send
        cmp     al, 'z'
        ja      .send
        sub     al, 'a' - 'A'
.send:
        call    com1_putc
        jmp     .next
.done:
        COM1_PRINT 13, 10, "serial-echo: done", 13, 10
        PRINT   "serial-echo: echoed "
        mov     eax, [count]
        call    dbg_dec
        PRINT   " bytes", 10
        ; Let the transmitter drain (LSR.TEMT) before ending.
        mov     dx, COM1 + 5
.drain:
        in      al, dx
        test    al, 0x40
        jz      .drain
        EXIT    GUEST_PASS

GUEST_END
