; debug-ports: the three debugging ports seen from a guest.  Writes POST
; codes 0x12 and 0x34 to port 0x80 and reads the last one back, checks
; that port 0xe9 reads 0xe9 (how guests detect the debug console), then
; ends through the test-exit port with a 32-bit write of 0x7f, which
; vmkemu turns into status (0x7f << 1) | 1 = 255.
%include "common.inc"

main:
        mov     al, 0x12
        out     0x80, al
        mov     al, 0x34
        out     0x80, al
        in      al, 0x80
        cmp     al, 0x34
        jne     .fail
        in      al, DEBUGCON
        cmp     al, 0xe9
        jne     .fail
        PRINT   "debug-ports: POST code reads back, 0xe9 answers", 10
        mov     eax, 0x7f
        out     EXIT_PORT, eax
        EXIT    GUEST_FAIL              ; not reached
.fail:
        PRINT   "debug-ports: a port did not answer as expected", 10
        EXIT    GUEST_FAIL

GUEST_END
