; hello: the smallest test guest.  Prints a greeting on the debug console
; (port 0xe9), reports which boot this is, and exits through the test-exit
; port with GUEST_HELLO (vmkemu's status (0x2a << 1) | 1 = 85).
%include "common.inc"

main:
        PRINT   "Hello from a vmkemu test guest", 10
        PRINT   "boot "
        mov     eax, [BOOT_COUNT]
        call    dbg_dec
        PRINT   10
        EXIT    GUEST_HELLO

GUEST_END
