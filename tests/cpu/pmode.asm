; expect: pmode: ok
; Protected-mode test guest for the CPU emulator, booted with -bios.
;
; From the reset vector it builds a GDT, IDT and TSS in RAM, enters 32-bit
; protected mode and checks, one numbered test at a time: exceptions with
; their vectors and error codes (#DE, #UD, #GP, #NP, #SS, #BR, #PF with CR2),
; INT n through an IDT trap gate, a return to ring 3 with IRET, INT from
; ring 3 with the stack switch from the TSS, the I/O permission bitmap, HLT
; at CPL 3, a call gate to ring 0 with a far return to ring 3, 4 KiB and
; 4 MiB paging with INVLPG and the accessed/dirty bits, and self-modifying
; code.  It prints "pmode: ok" on port 0xe9 and exits through port 0xf4
; with 0x21 (vmkemu exit status 67), or prints the failing test number and
; exits with 0x40 + number.

        bits 16
        org 0xf0000

GDT_ADDR    equ 0x1000
IDT_ADDR    equ 0x2000
TSS_ADDR    equ 0x3000
IOMAP_OFF   equ 0x68
STACK0      equ 0x7000
STACK3      equ 0x9000
PD_ADDR     equ 0x10000
PT_ADDR     equ 0x11000
SCRATCH     equ 0x30000
VARS        equ 0x500

last_vec    equ VARS + 0
last_err    equ VARS + 4
resume      equ VARS + 8
last_cr2    equ VARS + 12
test_no     equ VARS + 16
int80_cpl   equ VARS + 20
int80_esp   equ VARS + 24
gate_cpl    equ VARS + 28

SEL_CODE0   equ 0x08
SEL_DATA0   equ 0x10
SEL_CODE3   equ 0x18 | 3
SEL_DATA3   equ 0x20 | 3
SEL_TSS     equ 0x28
SEL_NP      equ 0x30
SEL_GATE    equ 0x38 | 3
SEL_SMALL   equ 0x40

start16:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
        ; copy the GDT template to RAM
        mov si, gdt_template - $$
        mov ax, 0xf000
        mov ds, ax
        mov di, GDT_ADDR
        mov cx, gdt_end - gdt_template
        rep movsb
        xor ax, ax
        mov ds, ax
        o32 lgdt [cs:gdt_ptr - $$]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE0:start32

        bits 32
start32:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, STACK0
        call build_idt
        lidt [idt_ptr]

        ; 1: #DE
        mov dword [test_no], 1
        mov dword [resume], .t1
        xor ecx, ecx
        mov eax, 1
        xor edx, edx
        div ecx
.t1:    push 0
        push -1
        call expect

        ; 2: #UD
        mov dword [test_no], 2
        mov dword [resume], .t2
        ud2
.t2:    push 6
        push -1
        call expect

        ; 3: #GP for a selector beyond the GDT limit (error code = selector)
        mov dword [test_no], 3
        mov dword [resume], .t3
        mov ax, 0x1f8
        mov ds, ax
.t3:    push 13
        push 0x1f8
        call expect
        mov ax, SEL_DATA0
        mov ds, ax

        ; 4: #NP for a not-present data segment
        mov dword [test_no], 4
        mov dword [resume], .t4
        mov ax, SEL_NP
        mov es, ax
.t4:    push 11
        push SEL_NP
        call expect

        ; 5: #GP(0) beyond a data segment limit
        mov dword [test_no], 5
        mov dword [resume], .t5
        mov ax, SEL_SMALL
        mov es, ax
        mov eax, [es:0x1000]
.t5:    push 13
        push 0
        call expect
        mov ax, SEL_DATA0
        mov es, ax

        ; 6: #BR from BOUND
        mov dword [test_no], 6
        mov dword [resume], .t6
        mov dword [SCRATCH], 10
        mov dword [SCRATCH + 4], 20
        mov eax, 30
        bound eax, [SCRATCH]
.t6:    push 5
        push -1
        call expect

        ; 7: INT 0x80 through a trap gate from ring 0 (no stack switch)
        mov dword [test_no], 7
        mov eax, 41
        int 0x80
        cmp eax, 42
        jne fail
        cmp dword [int80_cpl], 0
        jne fail

        ; 8: #GP(0) from a far jump through a null selector
        mov dword [test_no], 8
        mov dword [resume], .t8
        jmp 0:0
.t8:    push 13
        push 0
        call expect

        ; --- ring 3 -----------------------------------------------------------
        mov dword [test_no], 9
        ; TSS: ring-0 stack, I/O bitmap allowing only ports 0xe9 and 0xf4-0xf7
        mov edi, TSS_ADDR
        mov ecx, 0x68 / 4
        xor eax, eax
        rep stosd
        mov dword [TSS_ADDR + 4], STACK0
        mov word [TSS_ADDR + 8], SEL_DATA0
        mov word [TSS_ADDR + 0x66], IOMAP_OFF
        mov edi, TSS_ADDR + IOMAP_OFF
        mov ecx, 8193
        mov al, 0xff
        rep stosb
        and byte [TSS_ADDR + IOMAP_OFF + 0xe9 / 8], ~(1 << (0xe9 & 7))
        mov byte [TSS_ADDR + IOMAP_OFF + 0xf4 / 8], 0x0f      ; ports 0xf4-0xf7 allowed
        mov ax, SEL_TSS
        ltr ax
        ; IRET to ring 3 with IOPL 0
        push dword SEL_DATA3
        push dword STACK3
        push dword 0x2
        push dword SEL_CODE3
        push dword ring3
        iretd

ring3:
        mov ax, SEL_DATA3
        mov ds, ax
        mov es, ax
        ; 9: we are at CPL 3
        mov ax, cs
        and ax, 3
        cmp ax, 3
        jne fail
        ; 10: INT 0x80 from ring 3 switches to the TSS stack
        mov dword [test_no], 10
        mov eax, 99
        int 0x80
        cmp eax, 100
        jne fail
        cmp dword [int80_cpl], 3
        jne fail
        cmp dword [int80_esp], STACK0 - 20
        jne fail
        cmp esp, STACK3
        jne fail
        ; 11: port 0xe9 is allowed by the bitmap
        mov dword [test_no], 11
        mov al, '.'
        out 0xe9, al
        ; 12: port 0x80 is not: #GP(0)
        mov dword [test_no], 12
        mov dword [resume], .t12
        out 0x80, al
.t12:   push 13
        push 0
        call expect
        ; 13: HLT at CPL 3: #GP(0)
        mov dword [test_no], 13
        mov dword [resume], .t13
        hlt
.t13:   push 13
        push 0
        call expect
        ; 14: call gate to ring 0, far return to ring 3
        mov dword [test_no], 14
        call SEL_GATE:0
        cmp dword [gate_cpl], 0
        jne fail
        mov ax, cs
        and ax, 3
        cmp ax, 3
        jne fail
        cmp esp, STACK3
        jne fail
        ; 15: loading a ring-0 data segment at CPL 3: #GP(sel)
        mov dword [test_no], 15
        mov dword [resume], .t15
        mov ax, SEL_DATA0
        mov fs, ax
.t15:   push 13
        push SEL_DATA0
        call expect
        ; back to ring 0 through INT 0x81
        int 0x81

ring0_again:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov esp, STACK0

        ; --- paging ------------------------------------------------------------
        ; 16: page directory: PDE 0 -> page table (identity 4 MiB), PDE 1 -> a
        ; 4 MiB page at 4 MiB; page SCRATCH+0x1000 not present, SCRATCH+0x2000
        ; read-only.
        mov dword [test_no], 16
        mov edi, PD_ADDR
        mov ecx, 1024
        xor eax, eax
        rep stosd
        mov dword [PD_ADDR], PT_ADDR | 7
        mov dword [PD_ADDR + 4], 0x400000 | 0x83       ; 4 MiB page, P W
        mov dword [PD_ADDR + 0x3c0 * 4], 0x00000083    ; 0xf0000000 -> 0 (4 MiB)
        mov edi, PT_ADDR
        mov eax, 0x003
        mov ecx, 1024
.pt:    stosd
        add eax, 0x1000
        loop .pt
        mov dword [PT_ADDR + ((SCRATCH + 0x1000) >> 12) * 4], 0             ; not present
        mov dword [PT_ADDR + ((SCRATCH + 0x2000) >> 12) * 4], (SCRATCH + 0x2000) | 1   ; read-only
        mov eax, cr4
        or eax, 0x10                    ; PSE
        mov cr4, eax
        mov eax, PD_ADDR
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80010000              ; PG | WP
        mov cr0, eax
        mov dword [SCRATCH], 0x12345678
        cmp dword [SCRATCH], 0x12345678
        jne fail
        ; 17: read of a not-present page: #PF, error 0, CR2
        mov dword [test_no], 17
        mov dword [resume], .t17
        mov eax, [SCRATCH + 0x1008]
.t17:   push 14
        push 0
        call expect
        cmp dword [last_cr2], SCRATCH + 0x1008
        jne fail
        ; 18: write to a read-only page with CR0.WP: #PF, error 3
        mov dword [test_no], 18
        mov dword [resume], .t18
        mov dword [SCRATCH + 0x2010], 1
.t18:   push 14
        push 3
        call expect
        cmp dword [last_cr2], SCRATCH + 0x2010
        jne fail
        ; 19: accessed and dirty bits of the written page
        mov dword [test_no], 19
        mov eax, [PT_ADDR + (SCRATCH >> 12) * 4]
        and eax, 0x60
        cmp eax, 0x60
        jne fail
        ; 20: a 4 MiB page; remap it and INVLPG
        mov dword [test_no], 20
        mov dword [0x400010], 0xcafe
        mov dword [PD_ADDR + 4], 0x800000 | 0x83
        invlpg [0x400000]
        cmp dword [0x400010], 0xcafe
        je fail
        mov dword [PD_ADDR + 4], 0x400000 | 0x83
        invlpg [0x400000]
        cmp dword [0x400010], 0xcafe
        jne fail
        ; 21: the same physical memory through a second mapping
        mov dword [test_no], 21
        cmp dword [0xf0000000 + SCRATCH], 0x12345678
        jne fail
        ; 22: self-modifying code: write "mov eax, imm32; ret", call it, patch
        ; the immediate, call it again
        mov dword [test_no], 22
        mov byte [SCRATCH + 0x100], 0xb8
        mov dword [SCRATCH + 0x101], 111
        mov byte [SCRATCH + 0x105], 0xc3
        mov ebx, SCRATCH + 0x100
        call ebx
        cmp eax, 111
        jne fail
        mov dword [SCRATCH + 0x101], 222
        call ebx
        cmp eax, 222
        jne fail
        ; 23: code that patches the very next instruction of its own block
        mov dword [test_no], 23
        mov edi, SCRATCH + 0x200
        mov esi, smc_template
        mov ecx, smc_end - smc_template
        rep movsb
        mov ebx, SCRATCH + 0x200
        call ebx
        cmp eax, 2
        jne fail
        ; 24: the same through the alias mapping (write one address, run another)
        mov dword [test_no], 24
        mov dword [0xf0000000 + SCRATCH + 0x101], 333
        call dword (SCRATCH + 0x100)
        cmp eax, 333
        jne fail
        ; paging off again
        mov eax, cr0
        and eax, 0x7fffffff
        mov cr0, eax

        ; done
        mov esi, msg_ok
        call print
        mov eax, 0x21
        out 0xf4, eax
        hlt

; Code copied to RAM for test 23: the store rewrites the immediate of the
; "mov eax, 1" that follows it in the same block.
smc_template:
        mov byte [SCRATCH + 0x200 + (smc_imm - smc_template)], 2
        db 0xb8                         ; mov eax, imm32
smc_imm:
        dd 1
        ret
smc_end:

; expect(vector, error): [esp+8] = vector, [esp+4] = error (-1: none)
expect:
        mov eax, [esp + 8]
        cmp eax, [last_vec]
        jne fail
        mov eax, [esp + 4]
        cmp eax, [last_err]
        jne fail
        mov dword [last_vec], -1
        mov dword [last_err], -1
        ret 8

fail:
        mov ax, SEL_DATA0
        mov ds, ax
        mov esi, msg_fail
        call print
        mov eax, [test_no]
        aam
        add ax, 0x3030
        xchg al, ah
        out 0xe9, al
        mov al, ah
        out 0xe9, al
        mov al, 10
        out 0xe9, al
        mov eax, [test_no]
        add eax, 0x40
        out 0xf4, eax
        hlt

print:
        lodsb
        test al, al
        jz .done
        out 0xe9, al
        jmp print
.done:  ret

; --- interrupt handlers -----------------------------------------------------

; Exception stubs: push a dummy error code where the CPU pushes none, then
; the vector.
%macro EXC_NOERR 1
exc_%1:
        push dword -1
        push dword %1
        jmp exc_common
%endmacro
%macro EXC_ERR 1
exc_%1:
        push dword %1
        jmp exc_common
%endmacro

EXC_NOERR 0
EXC_NOERR 1
EXC_NOERR 2
EXC_NOERR 3
EXC_NOERR 4
EXC_NOERR 5
EXC_NOERR 6
EXC_NOERR 7
EXC_ERR 8
EXC_NOERR 9
EXC_ERR 10
EXC_ERR 11
EXC_ERR 12
EXC_ERR 13
EXC_ERR 14
EXC_NOERR 15
EXC_NOERR 16

; Record the vector, error code and CR2, and resume at [resume].
exc_common:
        push eax
        push ds
        mov ax, SEL_DATA0
        mov ds, ax
        mov eax, [esp + 8]
        mov [last_vec], eax
        mov eax, [esp + 12]
        mov [last_err], eax
        mov eax, cr2
        mov [last_cr2], eax
        mov eax, [resume]
        mov [esp + 16], eax             ; the return EIP
        pop ds
        pop eax
        add esp, 8
        iretd

; INT 0x80: EAX + 1, and note the caller's CPL and where our frame is.
int80:
        push ds
        push ebx
        mov bx, SEL_DATA0
        mov ds, bx
        mov ebx, [esp + 12]             ; CS of the caller
        and ebx, 3
        mov [int80_cpl], ebx
        lea ebx, [esp + 8]
        mov [int80_esp], ebx
        inc eax
        pop ebx
        pop ds
        iretd

; INT 0x81 from ring 3: continue in ring 0 (the frame is dropped).
int81:
        jmp ring0_again

; The call gate's target (ring 0), returning to ring 3 with RETF.
gate_target:
        push ds
        push eax
        mov ax, SEL_DATA0
        mov ds, ax
        mov eax, cs
        and eax, 3
        mov [gate_cpl], eax
        pop eax
        pop ds
        retf

%macro IDT_SET 3                        ; vector, handler, type/DPL byte
        mov eax, %2
        mov word [IDT_ADDR + %1 * 8], ax
        mov word [IDT_ADDR + %1 * 8 + 2], SEL_CODE0
        mov byte [IDT_ADDR + %1 * 8 + 4], 0
        mov byte [IDT_ADDR + %1 * 8 + 5], %3
        shr eax, 16
        mov word [IDT_ADDR + %1 * 8 + 6], ax
%endmacro

build_idt:
        mov edi, IDT_ADDR
        mov ecx, 256 * 2
        xor eax, eax
        rep stosd
        IDT_SET 0, exc_0, 0x8e
        IDT_SET 1, exc_1, 0x8e
        IDT_SET 2, exc_2, 0x8e
        IDT_SET 3, exc_3, 0x8e
        IDT_SET 4, exc_4, 0x8e
        IDT_SET 5, exc_5, 0x8e
        IDT_SET 6, exc_6, 0x8e
        IDT_SET 7, exc_7, 0x8e
        IDT_SET 8, exc_8, 0x8e
        IDT_SET 9, exc_9, 0x8e
        IDT_SET 10, exc_10, 0x8e
        IDT_SET 11, exc_11, 0x8e
        IDT_SET 12, exc_12, 0x8e
        IDT_SET 13, exc_13, 0x8e
        IDT_SET 14, exc_14, 0x8e
        IDT_SET 15, exc_15, 0x8e
        IDT_SET 16, exc_16, 0x8e
        IDT_SET 0x80, int80, 0xef        ; 32-bit trap gate, DPL 3
        IDT_SET 0x81, int81, 0xee        ; 32-bit interrupt gate, DPL 3
        mov dword [last_vec], -1
        mov dword [last_err], -1
        ret

msg_ok:   db "pmode: ok", 10, 0
msg_fail: db "pmode: FAILED test ", 0

        align 8
gdt_template:
        dq 0
        dq 0x00cf9a000000ffff           ; 0x08 code, DPL 0
        dq 0x00cf92000000ffff           ; 0x10 data, DPL 0
        dq 0x00cffa000000ffff           ; 0x18 code, DPL 3
        dq 0x00cff2000000ffff           ; 0x20 data, DPL 3
        dw 0x2069, TSS_ADDR, 0x8900, 0   ; 0x28 32-bit TSS, limit covers the I/O map
        dq 0x00cf12000000ffff           ; 0x30 data, not present
        dw (gate_target - $$ + 0xf0000) & 0xffff, SEL_CODE0, 0xec00, (gate_target - $$ + 0xf0000) >> 16  ; 0x38 call gate, DPL 3
        dq 0x000092000000003f           ; 0x40 data, limit 0x3f bytes
gdt_end:

gdt_ptr:
        dw gdt_end - gdt_template - 1
        dd GDT_ADDR
idt_ptr:
        dw 256 * 8 - 1
        dd IDT_ADDR

        times 0xfff0 - ($ - $$) db 0
        bits 16
reset:  jmp 0xf000:start16 - $$
        times 0x10000 - ($ - $$) db 0
