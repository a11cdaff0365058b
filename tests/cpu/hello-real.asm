; expect: hello from real mode
; Real-mode smoke test: prints through the 0xe9 debug console, does some
; arithmetic and string work, and exits through port 0xf4 with 0x21 when
; every check passed (vmkemu exit status (0x21 << 1) | 1 = 67).
        bits 16
        org 0xf000                      ; the 4 KiB ROM seen at 0xff000

start:
        cli
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov ds, ax
        mov es, ax
        mov si, msg
        mov ax, cs
        mov ds, ax
.print: lodsb
        test al, al
        jz .done
        out 0xe9, al
        jmp .print
.done:
        xor ax, ax
        mov ds, ax
        ; checks
        mov bx, 0                       ; failure count
        mov ax, 1234
        mov cx, 5678
        add ax, cx
        cmp ax, 6912
        je .ok1
        inc bx
.ok1:   mov al, 0x99
        add al, 1
        daa
        jc .ok2                         ; 0x99 + 1 = 0x100 in BCD: CF=1, AL=0
        inc bx
.ok2:   cmp al, 0
        je .ok3
        inc bx
.ok3:   mov di, 0x1000
        mov al, 0x5a
        mov cx, 100
        cld
        rep stosb
        mov di, 0x1000
        mov cx, 100
        repe scasb
        je .ok4
        inc bx
.ok4:   mov eax, 0x12345678
        bswap eax
        cmp eax, 0x78563412
        je .ok5
        inc bx
.ok5:   mov ax, 100
        mov dx, 0
        mov cx, 7
        div cx
        cmp ax, 14
        jne .bad6
        cmp dx, 2
        je .ok6
.bad6:  inc bx
.ok6:   push word 0x1111
        push word 0x2222
        pop ax
        pop cx
        cmp ax, 0x2222
        jne .bad7
        cmp cx, 0x1111
        je .ok7
.bad7:  inc bx
.ok7:   ; call/ret
        call sub1
        cmp ax, 0xbeef
        je .ok8
        inc bx
.ok8:   mov al, bl
        add al, '0'
        out 0xe9, al
        mov al, 10
        out 0xe9, al
        test bx, bx
        jnz .fail
        mov eax, 0x21
        out 0xf4, eax
.fail:  mov eax, 0x40
        add eax, ebx
        out 0xf4, eax
        hlt

sub1:   mov ax, 0xbeef
        ret

msg:    db "hello from real mode", 10, 0

        times 0xff0 - ($ - $$) db 0
reset:  jmp 0xf000:start               ; at 0xffff0
        times 0x1000 - ($ - $$) db 0
