; i8042-reset: the first boot pulses the CPU reset line through the
; keyboard controller (command 0xfe to port 0x64, "pulse output port bit
; 0"; IBM PC AT Technical Reference, keyboard controller commands) and
; halts with interrupts off, as operating systems do while they wait for the
; reset; the second boot prints its banner and exits with GUEST_PASS.  Under
; -no-reboot vmkemu ends at the reset (status 0).  Skips (GUEST_SKIP)
; when no controller answers at port 0x64.
%include "common.inc"

KBC_DATA        equ 0x60
KBC_STATUS      equ 0x64
KBC_CMD         equ 0x64

main:
        PRINT   "i8042-reset: boot "
        mov     eax, [BOOT_COUNT]
        call    dbg_dec
        PRINT   10
        in      al, KBC_STATUS
        cmp     al, 0xff                ; nothing decodes the port
        jne     .present
        PRINT   "SKIP: no i8042 keyboard controller at port 0x64", 10
        EXIT    GUEST_SKIP
.present:
        cmp     dword [BOOT_COUNT], 1
        jne     .again
        ; Wait until the controller takes a command (status bit 1, input
        ; buffer full, clear), then ask for the reset pulse.
        mov     ecx, 100000
.wait:
        in      al, KBC_STATUS
        test    al, 0x02
        jz      .send
        loop    .wait
        PRINT   "i8042-reset: input buffer never empties", 10
        EXIT    GUEST_FAIL
.send:
        PRINT   "i8042-reset: sending 0xfe", 10
        mov     al, 0xfe
        out     KBC_CMD, al
        ; Wait for the reset the way operating systems often do: halted
        ; with interrupts off.  The reset must win over the halt.
        cli
        hlt
        PRINT   "i8042-reset: no reset happened", 10
        EXIT    GUEST_FAIL
.again:
        PRINT   "i8042-reset: back after the reset", 10
        EXIT    GUEST_PASS

GUEST_END
