; expect: v86: ok
; Virtual-8086 mode, booted with -bios: IRET from ring 0 into V86 code,
; real-mode style segment arithmetic in V86, INT n from V86 (IOPL 3) through
; a protected-mode interrupt gate to ring 0 with the V86 segment registers
; pushed and the data segments nulled, IRET back into V86, and with IOPL 0
; CLI raising #GP(0) to the ring-0 handler.  Prints "v86: ok" and exits
; through port 0xf4 with 0x21, or with 0x40 + the failing check.

        bits 16
        org 0xf0000

GDT_ADDR    equ 0x1000
IDT_ADDR    equ 0x2000
TSS_ADDR    equ 0x3000
STACK0      equ 0x7000
V86_SEG     equ 0x0800                  ; V86 code runs at 0800:0000 (0x8000)
VARS        equ 0x500
check       equ VARS + 0
int30_ds    equ VARS + 4
int30_vmseg equ VARS + 8
int30_fl    equ VARS + 12
gp_err      equ VARS + 16
phase       equ VARS + 20

SEL_CODE    equ 0x08
SEL_DATA    equ 0x10
SEL_TSS     equ 0x18

start16:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7c00
        mov si, gdt_template - $$
        mov ax, 0xf000
        mov ds, ax
        xor ax, ax
        mov es, ax
        mov di, GDT_ADDR
        mov cx, gdt_end - gdt_template
        rep movsb
        ; copy the V86 code to 0x8000
        mov si, v86_code - $$
        mov di, V86_SEG << 4
        mov cx, v86_end - v86_code
        rep movsb
        xor ax, ax
        mov ds, ax
        o32 lgdt [cs:gdt_ptr - $$]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE:start32

        bits 32
start32:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, STACK0
        mov edi, TSS_ADDR
        mov ecx, 0x68 / 4
        xor eax, eax
        rep stosd
        mov dword [TSS_ADDR + 4], STACK0
        mov word [TSS_ADDR + 8], SEL_DATA
        mov word [TSS_ADDR + 0x66], 0x68        ; no I/O bitmap: beyond the limit
        mov ax, SEL_TSS
        ltr ax
        mov edi, IDT_ADDR
        mov ecx, 256 * 2
        xor eax, eax
        rep stosd
        mov eax, gp_handler
        mov ebx, 13
        mov cl, 0x8e
        call set_gate
        mov eax, int30_handler
        mov ebx, 0x30
        mov cl, 0xee                            ; DPL 3: reachable from V86
        call set_gate
        mov eax, int31_handler
        mov ebx, 0x31
        mov cl, 0xee
        call set_gate
        lidt [idt_ptr]

        ; enter V86 with IOPL 3: frame GS FS DS ES SS ESP EFLAGS CS EIP
        mov dword [phase], 1
        push dword 0x0900                       ; GS
        push dword 0x0a00                       ; FS
        push dword 0x0b00                       ; DS
        push dword 0x0c00                       ; ES
        push dword 0x0700                       ; SS
        push dword 0x0ff0                       ; SP: 0700:0FF0 = 0x7ff0
        push dword 0x00023002                   ; VM, IOPL 3
        push dword V86_SEG                      ; CS
        push dword 0                            ; IP
        iretd

; INT 0x30 from V86: check the frame, then return into V86.
int30_handler:
        push ebp
        mov ebp, esp
        push eax
        mov ax, SEL_DATA
        mov ds, ax
        mov eax, [ebp + 4 + 8]                  ; EFLAGS of the V86 code
        mov [int30_fl], eax
        mov eax, [ebp + 4 + 24]                 ; the V86 DS from the frame
        mov [int30_vmseg], eax
        mov eax, [ebp + 4 + 4]                  ; CS
        mov dword [check], 1
        cmp eax, V86_SEG
        jne fail
        mov dword [check], 2
        test dword [int30_fl], 0x20000          ; VM was set
        jz fail
        mov dword [check], 3
        cmp dword [int30_vmseg], 0x0b00
        jne fail
        mov dword [check], 4
        mov eax, [ebp + 4 + 20]                 ; ES slot (the V86 code set 0B01)
        cmp eax, 0x0b01
        jne fail
        mov dword [check], 5
        mov eax, [ebp + 4 + 32]                 ; GS slot
        cmp eax, 0x0900
        jne fail
        mov dword [check], 6                    ; GS was nulled on entry
        mov ax, gs
        test ax, ax
        jnz fail
        pop eax
        pop ebp
        add eax, 1                              ; the V86 side checks this
        iretd

; INT 0x31 from V86 at IOPL 3: switch the V86 code to IOPL 0.
int31_handler:
        mov bx, SEL_DATA                        ; DS is null on entry from V86
        mov ds, bx
        mov dword [check], 7
        cmp ax, 0xdead                          ; the V86 side saw a bad value
        je fail
        cmp dword [phase], 1
        jne fail
        mov dword [phase], 2
        and dword [esp + 8], ~0x3000            ; IOPL 0 in the V86 EFLAGS
        iretd
.done:
        mov dword [check], 9
        cmp dword [gp_err], 0
        jne fail
        mov esi, msg_ok
        call print
        mov eax, 0x21
        out 0xf4, eax
        hlt

; #GP from V86 at IOPL 0: first from CLI (skip it), then from INT 0x31,
; which is IOPL-sensitive too -- that one ends the test.
gp_handler:
        push eax
        mov ax, SEL_DATA
        mov ds, ax
        mov eax, [esp + 4]
        mov [gp_err], eax
        mov dword [check], 8
        mov eax, [esp + 16]                     ; EFLAGS
        test eax, 0x20000
        jz fail
        inc dword [phase]
        cmp dword [phase], 4
        je int31_handler.done
        inc dword [esp + 8]                     ; past the 1-byte CLI
        pop eax
        add esp, 4                              ; error code
        iretd

set_gate:                                       ; EAX handler, EBX vector, CL type
        mov word [IDT_ADDR + ebx * 8], ax
        mov word [IDT_ADDR + ebx * 8 + 2], SEL_CODE
        mov byte [IDT_ADDR + ebx * 8 + 4], 0
        mov byte [IDT_ADDR + ebx * 8 + 5], cl
        shr eax, 16
        mov word [IDT_ADDR + ebx * 8 + 6], ax
        ret

fail:
        mov ax, SEL_DATA
        mov ds, ax
        mov esi, msg_fail
        call print
        mov eax, [check]
        add al, '0'
        out 0xe9, al
        mov al, 10
        out 0xe9, al
        mov eax, [check]
        add eax, 0x40
        out 0xf4, eax
        hlt

print:  lodsb
        test al, al
        jz .d
        out 0xe9, al
        jmp print
.d:     ret

msg_ok:   db "v86: ok", 10, 0
msg_fail: db "v86: FAILED check ", 0

; The V86 code, copied to 0800:0000.
        bits 16
v86_code:
        ; segment arithmetic: DS = 0x0b00, [0x10] is linear 0xb010
        mov word [0x10], 0x1234
        mov ax, 0x0b01                          ; 0xb010 = 0b01:0000
        mov es, ax
        cmp word [es:0], 0x1234
        jne .bad
        mov ax, 41
        int 0x30
        cmp ax, 42
        jne .bad
        int 0x31                                ; -> IOPL 0
        cli                                     ; #GP(0), skipped by the handler
        int 0x31                                ; #GP(0) too: the end
.bad:   mov ax, 0xdead
        int 0x31
v86_end:

        bits 32
        align 8
gdt_template:
        dq 0
        dq 0x00cf9a000000ffff                   ; 0x08 code
        dq 0x00cf92000000ffff                   ; 0x10 data
        dw 0x67, TSS_ADDR, 0x8900, 0             ; 0x18 TSS
gdt_end:
gdt_ptr:
        dw gdt_end - gdt_template - 1
        dd GDT_ADDR
idt_ptr:
        dw 256 * 8 - 1
        dd IDT_ADDR

        times 0xfff0 - ($ - $$) db 0
        bits 16
        jmp 0xf000:start16 - $$
        times 0x10000 - ($ - $$) db 0
