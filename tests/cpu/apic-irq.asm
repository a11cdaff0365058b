; expect: apic: ok
; Interrupt controllers under the CPU emulator, booted with -bios: from the
; reset vector into 32-bit protected mode, then three ways for an interrupt
; to arrive, each counted to three in its IDT handler:
;   A. the PIT through the 8259 and the BSP's LINT0, which comes out of
;      reset in ExtINT mode (the virtual wire; no APIC programming);
;   B. the local APIC timer, periodic, 1 ms, with EOIs to the APIC page;
;   C. the PIT through IOAPIC input 2 (ISA IRQ 0, as the MADT says), with
;      the 8259 masked and LINT0 masked.
; It also reads the APIC and IOAPIC version registers and checks that the
; ISR is empty at the end.  It prints "apic: ok" on port 0xe9 and exits
; through port 0xf4 with 0x21 (status 67); 0x40 + n on failure n.

        bits 16
        org 0xf0000

GDT_ADDR    equ 0x1000
IDT_ADDR    equ 0x2000
VARS        equ 0x500
cnt20       equ VARS
cnt40       equ VARS + 4
cnt50       equ VARS + 8
LAPIC       equ 0xfee00000
IOAPIC      equ 0xfec00000

start16:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7c00
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
        jmp dword 0x08:start32

        bits 32
start32:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x7000
        mov edi, IDT_ADDR               ; every vector: unexpected
        mov ecx, 256
.fill:  mov eax, isr_other
        call set_gate
        add edi, 8
        loop .fill
        mov edi, IDT_ADDR + 0x20 * 8
        mov eax, isr20
        call set_gate
        mov edi, IDT_ADDR + 0x40 * 8
        mov eax, isr40
        call set_gate
        mov edi, IDT_ADDR + 0x50 * 8
        mov eax, isr50
        call set_gate
        lidt [idt_ptr]
        mov dword [cnt20], 0
        mov dword [cnt40], 0
        mov dword [cnt50], 0

        mov bl, 1                       ; versions
        cmp dword [LAPIC + 0x30], 0x00050014
        jne fail
        mov dword [IOAPIC], 1
        cmp dword [IOAPIC + 0x10], 0x00170011
        jne fail

        ; --- A: 8259 vectors 0x20/0x28, IRQ 0 only; PIT channel 0 at 1 kHz
        mov al, 0x11
        out 0x20, al
        mov al, 0x20
        out 0x21, al
        mov al, 0x04
        out 0x21, al
        mov al, 0x01
        out 0x21, al
        mov al, 0xfe
        out 0x21, al
        mov al, 0x34
        out 0x43, al
        mov al, 1193 & 0xff
        out 0x40, al
        mov al, 1193 >> 8
        out 0x40, al
        sti
.a:     hlt
        cmp dword [cnt20], 3
        jb .a
        cli
        mov al, 0xff                    ; 8259: everything masked
        out 0x21, al

        ; --- B: APIC timer, periodic, divide 1, 100000 bus ticks (1 ms)
        mov dword [LAPIC + 0xf0], 0x1ff
        mov dword [LAPIC + 0x3e0], 0xb
        mov dword [LAPIC + 0x320], 0x20040
        mov dword [LAPIC + 0x380], 100000
        mov bl, 2                       ; it counts down from the initial count
        cmp dword [LAPIC + 0x390], 100000
        ja fail
        sti
.b:     hlt
        cmp dword [cnt40], 3
        jb .b
        cli
        mov dword [LAPIC + 0x320], 0x10040

        ; --- C: LINT0 masked; IOAPIC input 2 -> vector 0x50, APIC 0, edge
        mov dword [LAPIC + 0x350], 0x10700
        mov dword [IOAPIC], 0x15
        mov dword [IOAPIC + 0x10], 0
        mov dword [IOAPIC], 0x14
        mov dword [IOAPIC + 0x10], 0x50
        sti
.c:     hlt
        cmp dword [cnt50], 3
        jb .c
        cli

        mov bl, 3                       ; nothing left in service
        mov eax, [LAPIC + 0x120]
        or eax, [LAPIC + 0x140]
        or eax, [LAPIC + 0x150]
        jnz fail
        mov esi, msg_ok
.p:     lodsb
        test al, al
        jz .done
        out 0xe9, al
        jmp .p
.done:  mov eax, 0x21
        out 0xf4, eax
        hlt
fail:   movzx eax, bl
        add eax, 0x40
        out 0xf4, eax
        hlt

set_gate:                               ; edi = gate, eax = handler
        mov [edi], ax
        mov word [edi + 2], 0x08
        mov word [edi + 4], 0x8e00      ; present, DPL 0, 32-bit interrupt gate
        shr eax, 16
        mov [edi + 6], ax
        ret

isr20:  inc dword [cnt20]
        push eax
        mov al, 0x20                    ; 8259 EOI
        out 0x20, al
        pop eax
        iret
isr40:  inc dword [cnt40]
        mov dword [LAPIC + 0xb0], 0     ; APIC EOI
        iret
isr50:  inc dword [cnt50]
        mov dword [LAPIC + 0xb0], 0
        iret
isr_other:
        mov bl, 4
        jmp fail

msg_ok: db "apic: ok", 10, 0

        align 8
gdt_template:
        dq 0
        dq 0x00cf9a000000ffff           ; 0x08 code
        dq 0x00cf92000000ffff           ; 0x10 data
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
