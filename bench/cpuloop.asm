; CPU-bound benchmark guest for -bios: enters 32-bit protected mode with
; paging on (4 MiB pages), then runs fixed kernels and exits through port
; 0xf4 (value 0x21).  Runs unchanged under vmkemu and qemu-system-i386
; (-device isa-debug-exit,iobase=0xf4,iosize=4), so wall times compare the
; two emulators on the same instruction stream.
;
; Kernels (instruction counts per iteration in brackets):
;   alu      register arithmetic and a conditional branch            [8]
;   mem      array load/modify/store through [base + index*4]        [8]
;   call     call/ret with stack traffic                              [7]
;   string   rep movsd of 4 KiB                                      [1 + 1024 iterations]
; ITER sets the scale; total guest instructions are printed by bench/boot32.

        bits 16
        org 0xf0000

%ifndef ITER
%define ITER 20000000
%endif

start16:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7c00
        o32 lgdt [cs:gdt_ptr - $$]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword 0x08:start32

        bits 32
start32:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x90000
        ; identity map the first 16 MiB with 4 MiB pages
        mov edi, 0x100000
        mov ecx, 1024
        xor eax, eax
        rep stosd
        mov dword [0x100000], 0x00000083
        mov dword [0x100004], 0x00400083
        mov dword [0x100008], 0x00800083
        mov dword [0x10000c], 0x00c00083
        mov dword [0x100000 + 0x3c0 * 4], 0x00000083    ; 0xf0000000 alias
        mov eax, cr4
        or eax, 0x10
        mov cr4, eax
        mov eax, 0x100000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax

        ; alu
        mov ebp, ITER
        xor eax, eax
        mov ebx, 0x12345
        xor edx, edx
.alu:   add eax, ebx
        xor edx, eax
        shl ebx, 1
        adc ebx, 0
        sub eax, edx
        test eax, 1
        dec ebp
        jnz .alu

        ; mem
        mov ebp, ITER
        mov esi, 0x200000
        mov edi, 0x210000
        xor ecx, ecx
.mem:   mov eax, [esi + ecx * 4]
        add eax, ebp
        mov [edi + ecx * 4], eax
        add [esi + ecx * 4], eax
        inc ecx
        and ecx, 1023
        dec ebp
        jnz .mem

        ; call
        mov ebp, ITER / 2
.call:  push ebp
        call leaf
        pop ebp
        dec ebp
        jnz .call

        ; string
        mov ebp, ITER / 2000
.str:   mov esi, 0x300000
        mov edi, 0x310000
        mov ecx, 1024
        rep movsd
        dec ebp
        jnz .str

        mov al, 'B'
        out 0xe9, al
        mov al, 10
        out 0xe9, al
        mov eax, 0x21
        out 0xf4, eax
        hlt

leaf:   mov eax, [esp + 4]
        add eax, 3
        ret

        align 8
gdt:    dq 0
        dq 0x00cf9a000000ffff
        dq 0x00cf92000000ffff
gdt_ptr:
        dw gdt_ptr - gdt - 1
        dd gdt

        times 0xfff0 - ($ - $$) db 0
        bits 16
        jmp 0xf000:start16 - $$
        times 0x10000 - ($ - $$) db 0
