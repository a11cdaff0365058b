; keyboard: prints every byte the i8042 delivers from the keyboard (polled
; through the status port, as scan code set 1 after the controller's
; translation), eight of them, then exits.  The host types with QMP
; send-key; see tests/esx/send-key.t.
%include "common.inc"

KBD_DATA        equ 0x60
KBD_STATUS      equ 0x64

main:
        PRINT   "keyboard: ready", 10
        mov     ecx, 8
.next:
        in      al, KBD_STATUS
        test    al, 1                   ; output buffer full
        jz      .next
        in      al, KBD_DATA
        call    print_byte
        loop    .next
        PRINT   10
        EXIT    GUEST_PASS

; print_byte: al as two hex digits and a space on the debug console.
print_byte:
        push    eax
        push    eax
        shr     al, 4
        call    .digit
        pop     eax
        call    .digit
        mov     al, ' '
        out     DEBUGCON, al
        pop     eax
        ret
.digit:
        and     al, 0x0f
        add     al, '0'
        cmp     al, '9'
        jbe     .out
        add     al, 'a' - '0' - 10
.out:
        out     DEBUGCON, al
        ret

GUEST_END
