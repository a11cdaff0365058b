; expect: a20: ok
; The A20 gate (port 0x92 bit 1 and the i8042 output port bit 1, which the
; PC ORs): with A20 off, FFFF:0010 (linear 0x100000) wraps to 0x000000 as
; on an 8086; with A20 on it is the second megabyte.
; Exits through port 0xf4 with 0x21, or 0x40 + the failing check.
        bits 16
        org 0xf000
start:  cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7000
        mov ax, 0xffff
        mov es, ax
        mov dword [0x0000], 0x11111111
        ; A20 on: FFFF:0010 is 0x100000, distinct from 0
        in al, 0x92
        or al, 2
        out 0x92, al
        mov dword [es:0x0010], 0x22222222
        mov bx, 1
        cmp dword [0x0000], 0x11111111
        jne fail
        ; A20 off through both gates: the same address is 0
        in al, 0x92
        and al, ~2
        out 0x92, al
        mov ah, 0xdd                    ; output port: A20 off, no reset
        call kbc_write_outport
        mov bx, 2
        cmp dword [es:0x0010], 0x11111111
        jne fail
        mov dword [es:0x0010], 0x33333333
        mov bx, 3
        cmp dword [0x0000], 0x33333333
        jne fail
        ; and on again (the i8042 alone): the second megabyte is still there
        mov ah, 0xdf
        call kbc_write_outport
        mov bx, 4
        cmp dword [es:0x0010], 0x22222222
        jne fail
        mov si, msg
        mov ax, cs
        mov ds, ax
.p:     lodsb
        test al, al
        jz .d
        out 0xe9, al
        jmp .p
.d:     mov eax, 0x21
        out 0xf4, eax
        hlt
fail:   movzx eax, bx
        add eax, 0x40
        out 0xf4, eax
        hlt
; i8042 command 0xD1 (write output port) with AH.
kbc_write_outport:
        call kbc_wait
        mov al, 0xd1
        out 0x64, al
        call kbc_wait
        mov al, ah
        out 0x60, al
        call kbc_wait
        ret
kbc_wait:
        in al, 0x64
        test al, 2
        jnz kbc_wait
        ret
msg:    db "a20: ok", 10, 0
        times 0xff0 - ($ - $$) db 0
        jmp 0xf000:start
        times 0x1000 - ($ - $$) db 0
