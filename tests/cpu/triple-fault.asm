; expect: triple fault
; expect-status: 0
; args: -no-reboot
; Triple fault: an IDT with limit 0 turns INT3 into #GP, the #GP into #DF
; and the #DF into a shutdown.  With -no-reboot vmkemu ends with status 0
; and says "triple fault" on stderr.
        bits 16
        org 0xf000
start:  cli
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        o32 lidt [cs:idt0]
        mov al, 'T'
        out 0xe9, al
        int3
        mov eax, 0x40                   ; not reached
        out 0xf4, eax
        hlt
idt0:   dw 0
        dd 0
        times 0xff0 - ($ - $$) db 0
        jmp 0xf000:start
        times 0x1000 - ($ - $$) db 0
