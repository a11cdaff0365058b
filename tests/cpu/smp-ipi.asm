; expect: smp-ipi: ok
; args: -smp 2
; Two CPUs under the emulator, booted with -bios (Intel SDM vol. 3: 9.4
; multiple-processor initialization, 10.4.4 IA32_APIC_BASE, 10.6 IPIs).
; The boot CPU checks CPUID (APIC, HTT, initial APIC ID 0 of 2 logical
; processors) and IA32_APIC_BASE (enabled, BSP, 0xfee00000), moves its APIC
; page to 0xfe000000 and back, and takes a #GP for a reserved bit.  The
; application processor must not run before its startup IPI; INIT and
; SIPI (vector 0xf8: real mode at 0xf8000) start it.  Then:
;   1. the AP reports its APIC ID from its own APIC page (1) and CPUID;
;   2. both CPUs LOCK INC one counter 200000 times: the total is exact;
;   3. the AP runs a function in RAM until the BSP rewrites its immediate:
;      code decoded and run by one CPU, written by the other;
;   4. the AP sends a fixed IPI (0x60) to the BSP, which waits in HLT;
;   5. the BSP sends a fixed IPI (0x61) to the AP, which waits in HLT,
;      then halts with interrupts off; the AP wakes it with an NMI.
; It prints "smp-ipi: ok" on port 0xe9 and exits through port 0xf4 with
; 0x21 (status 67); 0x40 + n on failure n, 0x7f on an unexpected vector.

        bits 16
        org 0xf0000

GDT_ADDR    equ 0x1000
IDT_ADDR    equ 0x2000
FUNC        equ 0x3000                  ; the function the AP runs, in RAM
VARS        equ 0x500
ap_alive    equ VARS
ap_id       equ VARS + 4
ap_cpuid    equ VARS + 8
go          equ VARS + 12
counter     equ VARS + 16
inc_done    equ VARS + 20
ap_saw1     equ VARS + 24
ap_saw2     equ VARS + 28
bsp_ipi     equ VARS + 32
ap_ipi      equ VARS + 36
bsp_halting equ VARS + 40
bsp_nmi     equ VARS + 44
ap_done     equ VARS + 48
gp_seen     equ VARS + 52
VARS_END    equ VARS + 56
LAPIC       equ 0xfee00000
LAPIC_MOVED equ 0xfe000000
ICR_LO      equ LAPIC + 0x300
ICR_HI      equ LAPIC + 0x310
N           equ 200000
PATIENCE    equ 2000000                 ; spins before giving up

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
        mov edi, IDT_ADDR + 2 * 8
        mov eax, isr_nmi
        call set_gate
        mov edi, IDT_ADDR + 13 * 8
        mov eax, isr_gp
        call set_gate
        mov edi, IDT_ADDR + 0x60 * 8
        mov eax, isr60
        call set_gate
        mov edi, IDT_ADDR + 0x61 * 8
        mov eax, isr61
        call set_gate
        lidt [idt_ptr]
        mov edi, VARS
        xor eax, eax
        mov ecx, (VARS_END - VARS) / 4
        rep stosd
        mov dword [FUNC], 0x000001b8    ; mov eax, 1
        mov word [FUNC + 4], 0xc300     ; ret

        ; --- CPUID and IA32_APIC_BASE
        mov ebp, 1
        mov eax, 1
        cpuid
        bt edx, 9                       ; APIC
        jnc fail
        bt edx, 28                      ; HTT: EBX[23:16] is valid
        jnc fail
        shr ebx, 16
        cmp bx, 0x0002                  ; initial APIC ID 0, 2 logical CPUs
        jne fail
        mov ebp, 2
        mov ecx, 0x1b
        rdmsr
        and eax, 0xfffff900
        cmp eax, 0xfee00900             ; base, enabled, BSP
        jne fail
        test edx, edx
        jnz fail

        ; --- the APIC page moves with the MSR, for this CPU only
        mov ebp, 3
        mov ecx, 0x1b
        xor edx, edx
        mov eax, LAPIC_MOVED | 0x900
        wrmsr
        cmp dword [LAPIC_MOVED + 0x30], 0x00050014
        jne fail
        cmp dword [LAPIC + 0x30], 0xffffffff    ; not ours any more
        jne fail
        mov eax, LAPIC | 0x900
        wrmsr
        cmp dword [LAPIC + 0x30], 0x00050014
        jne fail
        mov ebp, 4
        mov eax, LAPIC | 0xd00          ; bit 10 (x2APIC): reserved here
        wrmsr                           ; #GP: isr_gp skips it
        cmp dword [gp_seen], 1
        jne fail
        rdmsr
        and eax, 0xfffff900
        cmp eax, 0xfee00900
        jne fail

        mov dword [LAPIC + 0xf0], 0x1ff ; APIC software-enabled

        ; --- the AP waits for its startup IPI
        mov ebp, 5
        mov ecx, 10000
.idle:  pause
        loop .idle
        cmp dword [ap_alive], 0
        jne fail
        mov dword [ICR_HI], 1 << 24     ; APIC ID 1
        mov dword [ICR_LO], 0x00004500  ; INIT, assert, edge
        mov dword [ICR_LO], 0x00004600 | ((ap_entry - $$ + 0xf0000) >> 12)
        mov dword [ICR_LO], 0x00004600 | ((ap_entry - $$ + 0xf0000) >> 12)
        mov ebp, 6
        mov esi, ap_alive
        call wait_set
        cmp dword [ap_id], 1
        jne fail
        cmp dword [ap_cpuid], 0x0102    ; its CPUID: ID 1, 2 logical CPUs
        jne fail

        ; --- LOCK INC on both CPUs
        mov ebp, 7
        ; A store into the function's page before the AP decodes it: this
        ; CPU's TLB now maps the page for fast writes, which the AP's
        ; decoding must take back (step 3).
        mov dword [FUNC + 0x800], 1
        mov dword [go], 1
        mov ecx, N
.inc:   lock inc dword [counter]
        loop .inc
        lock inc dword [inc_done]
        mov ecx, PATIENCE
.incw:  cmp dword [inc_done], 2
        je .incd
        pause
        loop .incw
        jmp fail
.incd:  cmp dword [counter], 2 * N
        jne fail

        ; --- code written by this CPU, decoded and run by the other
        mov ebp, 8
        mov esi, ap_saw1
        call wait_set
        mov byte [FUNC + 1], 2          ; mov eax, 2
        mov esi, ap_saw2
        call wait_set

        ; --- a fixed IPI from the AP wakes this CPU from HLT
        mov ebp, 9
        mov ecx, PATIENCE
.hlt:   cmp dword [bsp_ipi], 0          ; interrupts off while looking
        jne .woke
        sti                             ; the STI shadow covers the HLT
        hlt
        cli
        loop .hlt
        jmp fail
.woke:

        ; --- a fixed IPI to the halted AP; then an NMI back to this CPU,
        ; halted with interrupts off
        mov ebp, 10
        mov dword [ICR_HI], 1 << 24
        mov dword [ICR_LO], 0x00004061
        mov dword [bsp_halting], 1
        hlt
        cmp dword [bsp_nmi], 1
        jne fail
        mov ebp, 11
        mov esi, ap_done
        call wait_set

        mov esi, msg_ok
.p:     lodsb
        test al, al
        jz .done
        out 0xe9, al
        jmp .p
.done:  mov eax, 0x21
        out 0xf4, eax
        hlt
fail:   lea eax, [ebp + 0x40]
        out 0xf4, eax
        hlt

; Wait (PAUSE: the other CPU runs) until the dword at [esi] is not 0.
wait_set:
        mov ecx, PATIENCE
.w:     cmp dword [esi], 0
        jne .ok
        pause
        loop .w
        jmp fail
.ok:    ret

set_gate:                               ; edi = gate, eax = handler
        mov [edi], ax
        mov word [edi + 2], 0x08
        mov word [edi + 4], 0x8e00      ; present, DPL 0, 32-bit interrupt gate
        shr eax, 16
        mov [edi + 6], ax
        ret

isr_gp: mov dword [gp_seen], 1
        add esp, 4                      ; error code
        add dword [esp], 2              ; past the 2-byte WRMSR
        iret
isr_nmi:
        mov dword [bsp_nmi], 1
        iret
isr60:  mov dword [bsp_ipi], 1
        mov dword [LAPIC + 0xb0], 0
        iret
isr61:  mov dword [ap_ipi], 1
        mov dword [LAPIC + 0xb0], 0
        iret
isr_other:
        mov eax, 0x7f
        out 0xf4, eax
        hlt

msg_ok: db "smp-ipi: ok", 10, 0

; --- the application processor -------------------------------------------
        times 0x8000 - ($ - $$) db 0
        bits 16
ap_entry:                               ; CS = 0xf800, IP = 0, real mode
        cli
        xor ax, ax
        mov ds, ax
        o32 lgdt [cs:gdt_ptr - ap_entry]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword 0x08:ap32

        bits 32
ap32:   mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 0x6000
        lidt [idt_ptr]
        mov dword [LAPIC + 0xf0], 0x1ff
        mov eax, [LAPIC + 0x20]         ; its own APIC page
        shr eax, 24
        mov [ap_id], eax
        mov eax, 1
        cpuid
        shr ebx, 16
        mov [ap_cpuid], ebx
        mov dword [ap_alive], 1
.go:    pause
        cmp dword [go], 0
        je .go
        mov ecx, N
.inc:   lock inc dword [counter]
        loop .inc
        lock inc dword [inc_done]
.smc:   mov eax, FUNC
        call eax
        cmp eax, 1
        jne .two
        mov dword [ap_saw1], 1
        pause
        jmp .smc
.two:   cmp eax, 2
        jne ap_fail
        mov dword [ap_saw2], 1
        mov dword [ICR_HI], 0           ; fixed IPI 0x60 to APIC ID 0
        mov dword [ICR_LO], 0x00004060
.w:     cmp dword [ap_ipi], 0
        jne .got
        sti
        hlt
        cli
        jmp .w
.got:
.h:     pause
        cmp dword [bsp_halting], 0
        je .h
        mov ecx, 20000                  ; the BSP reaches its HLT meanwhile
.d:     pause
        loop .d
        mov dword [ICR_HI], 0
        mov dword [ICR_LO], 0x00004400  ; NMI
        mov dword [ap_done], 1
.stop:  cli
        hlt
        jmp .stop
ap_fail:
        mov eax, 0x60
        out 0xf4, eax
        hlt

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
