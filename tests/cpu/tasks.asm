; expect: tasks: ok
; Hardware task switches, booted with -bios: JMP to a TSS and back, CALL
; through a task gate and IRET back (NT, back link, busy bits, CR0.TS), INT
; through an IDT task gate, and a double fault delivered to a #DF task whose
; stack holds the error code 0.  Prints "tasks: ok" and exits through port
; 0xf4 with 0x21, or the failing test number with 0x40 + n.

        bits 16
        org 0xf0000

GDT_ADDR    equ 0x1000
IDT_ADDR    equ 0x2000
TSS_A       equ 0x3000
TSS_B       equ 0x3100
TSS_C       equ 0x3200
VARS        equ 0x500
test_no     equ VARS + 0
b_runs      equ VARS + 4
b_nt        equ VARS + 8
b_link      equ VARS + 12
c_err       equ VARS + 16
c_link      equ VARS + 20

SEL_CODE    equ 0x08
SEL_DATA    equ 0x10
SEL_TSS_A   equ 0x18
SEL_TSS_B   equ 0x20
SEL_TSS_C   equ 0x28
SEL_GATE_B  equ 0x30

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
        mov esp, 0x7000
        ; three TSSes: A is us; B and C start at their entry points
        mov edi, TSS_A
        mov ecx, 0x300 / 4
        xor eax, eax
        rep stosd
        mov ebx, TSS_B
        mov dword [ebx + 0x20], task_b
        mov dword [ebx + 0x38], 0x6000          ; ESP
        call init_tss_segs
        mov ebx, TSS_C
        mov dword [ebx + 0x20], task_c
        mov dword [ebx + 0x38], 0x5000
        call init_tss_segs
        mov ax, SEL_TSS_A
        ltr ax
        ; IDT: #DF (8) and vector 0x40 are task gates; #GP (13) not present
        mov edi, IDT_ADDR
        mov ecx, 256 * 2
        xor eax, eax
        rep stosd
        mov word [IDT_ADDR + 8 * 8 + 2], SEL_TSS_C
        mov byte [IDT_ADDR + 8 * 8 + 5], 0x85           ; present task gate
        mov word [IDT_ADDR + 0x40 * 8 + 2], SEL_TSS_B
        mov byte [IDT_ADDR + 0x40 * 8 + 5], 0x85
        lidt [idt_ptr]

        ; 1: JMP to TSS B; B jumps back to A
        mov dword [test_no], 1
        mov eax, 0x1111
        jmp SEL_TSS_B:0
back_from_jmp:
        cmp dword [b_runs], 1
        jne fail
        cmp eax, 0x1111                 ; our registers came back from TSS A
        jne fail
        cmp dword [b_nt], 0             ; a JMP does not nest
        jne fail
        ; 2: CR0.TS was set by the switch
        mov dword [test_no], 2
        mov eax, cr0
        test al, 8
        jz fail
        clts
        ; 3: the busy bits: A busy, B free again
        mov dword [test_no], 3
        test byte [GDT_ADDR + SEL_TSS_A + 5], 2
        jz fail
        test byte [GDT_ADDR + SEL_TSS_B + 5], 2
        jnz fail
        ; 4: CALL through the task gate; B returns with IRET (NT = 1)
        mov dword [test_no], 4
        call SEL_GATE_B:0
        cmp dword [b_runs], 2
        jne fail
        cmp dword [b_nt], 1
        jne fail
        cmp dword [b_link], SEL_TSS_A
        jne fail
        test byte [GDT_ADDR + SEL_TSS_B + 5], 2   ; IRET freed B
        jnz fail
        ; 5: INT 0x40 through the IDT task gate
        mov dword [test_no], 5
        int 0x40
        cmp dword [b_runs], 3
        jne fail
        cmp dword [b_nt], 1
        jne fail
        ; 6: #GP with a not-present IDT entry -> #NP while delivering ->
        ; double fault -> task C through the task gate
        mov dword [test_no], 6
        mov ax, 0x2f8                   ; beyond the GDT: #GP
        mov ds, ax
        jmp fail                        ; not reached: task C ends the test

; Task B: counts its runs, notes NT and its back link, then returns: with
; JMP the first time (run 1), with IRET after CALL/INT.
task_b:
        mov ax, SEL_DATA
        mov ds, ax
        inc dword [b_runs]
        pushfd
        pop eax
        shr eax, 14
        and eax, 1
        mov [b_nt], eax
        movzx eax, word [TSS_B]
        mov [b_link], eax
        cmp dword [b_runs], 1
        jne .ret
        jmp SEL_TSS_A:0                 ; resumes A at back_from_jmp
        jmp task_b                      ; the next switch into B resumes here
.ret:   iretd
        jmp task_b                      ; ... or here after an IRET

; Task C: the double-fault task.
task_c:
        mov ax, SEL_DATA
        mov ds, ax
        pop eax                         ; the #DF error code
        mov [c_err], eax
        movzx eax, word [TSS_C]
        mov [c_link], eax
        mov dword [test_no], 7
        cmp dword [c_err], 0
        jne fail
        cmp dword [c_link], SEL_TSS_A
        jne fail
        mov esi, msg_ok
        call print
        mov eax, 0x21
        out 0xf4, eax
        hlt

; EBX = TSS: flat segments, IF clear, no LDT.
init_tss_segs:
        mov dword [ebx + 0x24], 0x2     ; EFLAGS
        mov word [ebx + 0x4c], SEL_CODE
        mov word [ebx + 0x48], SEL_DATA
        mov word [ebx + 0x50], SEL_DATA
        mov word [ebx + 0x54], SEL_DATA
        mov word [ebx + 0x58], SEL_DATA
        mov word [ebx + 0x5c], SEL_DATA
        ret

fail:
        mov ax, SEL_DATA
        mov ds, ax
        mov esi, msg_fail
        call print
        mov eax, [test_no]
        add al, '0'
        out 0xe9, al
        mov al, 10
        out 0xe9, al
        mov eax, [test_no]
        add eax, 0x40
        out 0xf4, eax
        hlt

print:  lodsb
        test al, al
        jz .d
        out 0xe9, al
        jmp print
.d:     ret

msg_ok:   db "tasks: ok", 10, 0
msg_fail: db "tasks: FAILED test ", 0

        align 8
gdt_template:
        dq 0
        dq 0x00cf9a000000ffff                   ; 0x08 code
        dq 0x00cf92000000ffff                   ; 0x10 data
        dw 0x67, TSS_A, 0x8900, 0                ; 0x18 TSS A
        dw 0x67, TSS_B, 0x8900, 0                ; 0x20 TSS B
        dw 0x67, TSS_C, 0x8900, 0                ; 0x28 TSS C
        dw 0, SEL_TSS_B, 0x8500, 0               ; 0x30 task gate to B
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
