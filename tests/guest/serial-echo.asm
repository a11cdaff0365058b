; serial-echo: serial output and input on the 16550A UARTs (National
; Semiconductor PC16550D datasheet), polled with interrupts off.
;
; COM1 is set to 115200 8N1 with FIFOs at the 14-byte trigger level and the
; received-data interrupt enabled, so a short line is announced only by the
; FIFO character-timeout indication (IIR 0xcc) after 4 character times of
; silence; the guest polls IIR for it, checks that the UART's line (IRQ4,
; gated by OUT2) reached the 8259A by reading its IRR (the input stays
; masked), and drains the FIFO.  It prints "serial-echo ready" on COM1 (and
; "COM2 ready" on COM2 when present), waits for one line on COM1, answers
; "ECHO:<line upper-cased>" followed by " timeout" and " irq4" when it saw
; those, and exits with GUEST_PASS.  Without a UART at COM1: GUEST_SKIP.
%include "common.inc"

COM2                    equ 0x2f8
LINE_BUF                equ GUEST_VARS          ; 256 bytes
LINE_LEN                equ GUEST_VARS + 0x100
LINE_DONE               equ GUEST_VARS + 0x104
SEEN_IRQ4               equ GUEST_VARS + 0x108  ; IRQ4 seen in the IRR
SEEN_CTI                equ GUEST_VARS + 0x10c  ; IIR 0xcc seen

main:
        call    com1_present
        jz      .have_com1
        PRINT   "serial-echo: no UART at COM1", 10
        EXIT    GUEST_SKIP
.have_com1:
        call    com1_init
        mov     dx, COM1 + 2            ; FCR: FIFOs, clear, trigger 14
        mov     al, 0xc7
        out     dx, al
        xor     eax, eax
        mov     [LINE_LEN], eax
        mov     [LINE_DONE], eax
        mov     [SEEN_IRQ4], eax
        mov     [SEEN_CTI], eax

        call    com2_hello

        call    pic_init                ; every input masked
        mov     dx, COM1 + 1            ; IER: received data (and timeout)
        mov     al, 0x01
        out     dx, al

        COM1_PRINT "serial-echo ready", 13, 10
.poll:
        mov     dx, COM1 + 2            ; IIR
        in      al, dx
        test    al, 0x01
        jnz     .poll
        and     al, 0x0f
        cmp     al, 0x0c
        jne     .not_cti
        mov     dword [SEEN_CTI], 1
.not_cti:
        cmp     al, 0x04
        je      .data
        cmp     al, 0x0c
        jne     .poll
.data:
        mov     al, 0x0a                ; OCW3: read IRR
        out     PIC1_CMD, al
        in      al, PIC1_CMD
        test    al, 0x10
        jz      .rx
        mov     dword [SEEN_IRQ4], 1
.rx:
        mov     dx, COM1 + 5            ; LSR
        in      al, dx
        test    al, 0x01
        jz      .drained
        mov     dx, COM1
        in      al, dx
        cmp     al, 10
        je      .eol
        cmp     al, 13
        je      .eol
        mov     ebx, [LINE_LEN]
        cmp     ebx, 255
        jae     .rx
        mov     [LINE_BUF + ebx], al
        inc     dword [LINE_LEN]
        jmp     .rx
.eol:
        mov     dword [LINE_DONE], 1
        jmp     .rx
.drained:
        cmp     dword [LINE_DONE], 0
        je      .poll

        COM1_PRINT "ECHO:"
        xor     ebx, ebx
.echo:
        cmp     ebx, [LINE_LEN]
        jae     .echoed
        mov     al, [LINE_BUF + ebx]
        cmp     al, 'a'
        jb      .put
        cmp     al, 'z'
        ja      .put
        sub     al, 'a' - 'A'
.put:
        call    com1_putc
        inc     ebx
        jmp     .echo
.echoed:
        cmp     dword [SEEN_CTI], 0
        je      .no_cti
        COM1_PRINT " timeout"
.no_cti:
        cmp     dword [SEEN_IRQ4], 0
        je      .no_irq
        COM1_PRINT " irq4"
.no_irq:
        COM1_PRINT 13, 10
        ; Wait until the last byte has left the shift register (LSR.TEMT).
        mov     dx, COM1 + 5
.drain:
        in      al, dx
        test    al, 0x40
        jz      .drain
        EXIT    GUEST_PASS

; com2_hello: "COM2 ready" on COM2 when a UART answers there.
com2_hello:
        pushad
        mov     dx, COM2 + 7
        mov     al, 0x3c
        out     dx, al
        in      al, dx
        cmp     al, 0x3c
        jne     .done
        mov     dx, COM2 + 3            ; DLAB, divisor 1, 8N1
        mov     al, 0x80
        out     dx, al
        mov     dx, COM2
        mov     al, 1
        out     dx, al
        mov     dx, COM2 + 1
        xor     al, al
        out     dx, al
        mov     dx, COM2 + 3
        mov     al, 0x03
        out     dx, al
        mov     esi, com2_text
.next:
        lodsb
        test    al, al
        jz      .done
        mov     ah, al
        mov     dx, COM2 + 5
.thre:
        in      al, dx
        test    al, 0x20
        jz      .thre
        mov     al, ah
        mov     dx, COM2
        out     dx, al
        jmp     .next
.done:
        popad
        ret
com2_text:
        db      "COM2 ready", 13, 10, 0

GUEST_END
