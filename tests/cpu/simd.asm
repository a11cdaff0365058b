; expect: simd: ok
; Test guest for the x87/MMX/SSE system rules, booted with -bios.
;
; In 32-bit protected mode it checks, one numbered test at a time: the
; CPUID feature bits (FPU, CLFLUSH, MMX, FXSR, SSE, SSE2), #UD for SSE with
; CR4.OSFXSR=0 and for MMX with CR0.EM=1, #NM for SSE and FXSAVE with
; CR0.TS=1, the FXSAVE image layout (FCW, FSW with TOP, abridged tag word,
; MXCSR, MXCSR_MASK, ST0, XMM3), FXRSTOR of a changed image, #GP(0) for a
; misaligned FXSAVE and for a reserved MXCSR bit in FXRSTOR, #XM for an
; unmasked SIMD divide-by-zero (MXCSR.ZE set, destination unchanged) and
; #UD for it with CR4.OSXMMEXCPT=0, #MF from FWAIT and from an MMX
; instruction while an unmasked x87 exception is pending (CR0.NE=1), the
; tag word after MMX and after EMMS, and MOVNTI/SFENCE under CR0.TS.  It
; prints "simd: ok" on port 0xe9 and exits through port 0xf4 with 0x21
; (vmkemu exit status 67), or prints the failing test number and exits with
; 0x40 + number.
; References: Intel SDM vol. 2 (CPUID, FXSAVE table 3-53, the instruction
; pages' exception sections), vol. 3 13.1 (table 13-1), vol. 1 8.7 and 9.5.

        bits 16
        org 0xf0000

GDT_ADDR    equ 0x1000
IDT_ADDR    equ 0x2000
STACK0      equ 0x7000
FXAREA      equ 0x8000              ; 16-byte aligned, 512 bytes
FXAREA2     equ 0x8400
VARS        equ 0x500

last_vec    equ VARS + 0
last_err    equ VARS + 4
resume      equ VARS + 8
test_no     equ VARS + 12
tmp         equ VARS + 16

SEL_CODE0   equ 0x08
SEL_DATA0   equ 0x10

CR0_MP      equ 0x02
CR0_EM      equ 0x04
CR0_TS      equ 0x08
CR0_NE      equ 0x20
CR4_OSFXSR  equ 0x200
CR4_OSXMM   equ 0x400

%macro TESTNO 1                           ; test number; resume at the local label .r%1
        mov dword [test_no], %1
        mov dword [resume], .r%1
%endmacro

%macro EXPECT 2                         ; vector (-1: none), error code (-1: none)
        push %1
        push %2
        call expect
%endmacro

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
        mov eax, cr0
        and eax, ~(CR0_EM | CR0_TS)
        or eax, CR0_MP | CR0_NE
        mov cr0, eax
        fninit

        ; 1: CPUID advertises FPU, CLFLUSH, MMX, FXSR, SSE, SSE2
        mov dword [test_no], 1
        mov eax, 1
        cpuid
        and edx, (1 << 0) | (1 << 19) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26)
        cmp edx, (1 << 0) | (1 << 19) | (1 << 23) | (1 << 24) | (1 << 25) | (1 << 26)
        jne fail

        ; 2: SSE with CR4.OSFXSR=0: #UD
        TESTNO 2
        xor eax, eax
        mov cr4, eax
        addps xmm0, xmm1
.r2:    EXPECT 6, -1

        ; 3: with OSFXSR and OSXMMEXCPT it runs
        TESTNO 3
        mov eax, CR4_OSFXSR | CR4_OSXMM
        mov cr4, eax
        addps xmm0, xmm1
.r3:    EXPECT -1, -1

        ; 4: SSE with CR0.TS=1: #NM
        TESTNO 4
        mov eax, cr0
        or eax, CR0_TS
        mov cr0, eax
        addps xmm0, xmm1
.r4:    EXPECT 7, -1

        ; 5: FXSAVE with CR0.TS=1: #NM; MOVNTI and SFENCE are not affected
        TESTNO 5
        fxsave [FXAREA]
.r5:    EXPECT 7, -1
        mov eax, 0x5a5a5a5a
        movnti [tmp], eax
        sfence
        cmp dword [tmp], 0x5a5a5a5a
        jne fail
        EXPECT -1, -1
        clts

        ; 6: MMX with CR0.EM=1: #UD
        TESTNO 6
        mov eax, cr0
        or eax, CR0_EM
        mov cr0, eax
        paddb mm0, mm1
.r6:    EXPECT 6, -1
        mov eax, cr0
        and eax, ~CR0_EM
        mov cr0, eax

        ; 7: the FXSAVE image
        TESTNO 7
        fninit
        fld1                            ; ST0 = 1.0 in R7, TOP = 7
        movdqu xmm3, [pattern]
        ldmxcsr [mxcsr_rz]
        fxsave [FXAREA]
.r7:    EXPECT -1, -1
        cmp word [FXAREA + 0], 0x037f   ; FCW
        jne fail
        cmp word [FXAREA + 2], 0x3800   ; FSW: TOP = 7
        jne fail
        cmp byte [FXAREA + 4], 0x80     ; abridged FTW: R7 valid
        jne fail
        cmp dword [FXAREA + 24], 0x7f80 ; MXCSR
        jne fail
        cmp dword [FXAREA + 28], 0xffff ; MXCSR_MASK (DAZ supported)
        jne fail
        cmp dword [FXAREA + 32], 0      ; ST0 = 1.0
        jne fail
        cmp dword [FXAREA + 36], 0x80000000
        jne fail
        cmp word [FXAREA + 40], 0x3fff
        jne fail
        mov esi, pattern
        mov edi, FXAREA + 160 + 3 * 16  ; XMM3
        mov ecx, 4
        repe cmpsd
        jne fail

        ; 8: FXRSTOR of a changed image: XMM3, MXCSR, ST0
        TESTNO 8
        mov dword [FXAREA + 160 + 3 * 16], 0x11223344
        mov dword [FXAREA + 24], 0x1f80
        mov word [FXAREA + 40], 0x4000  ; ST0 = 2.0
        fxrstor [FXAREA]
.r8:    EXPECT -1, -1
        movd eax, xmm3
        cmp eax, 0x11223344
        jne fail
        stmxcsr [tmp]
        cmp dword [tmp], 0x1f80
        jne fail
        fistp dword [tmp]
        cmp dword [tmp], 2
        jne fail

        ; 9: misaligned FXSAVE: #GP(0)
        TESTNO 9
        fxsave [FXAREA + 8]
.r9:    EXPECT 13, 0

        ; 10: FXRSTOR with a reserved MXCSR bit: #GP(0), nothing loaded
        TESTNO 10
        fxsave [FXAREA2]
        mov dword [FXAREA2 + 24], 0x11f80
        mov dword [FXAREA2 + 160], 0xdeadbeef
        fxrstor [FXAREA2]
.r10:   EXPECT 13, 0
        movd eax, xmm0
        cmp eax, 0xdeadbeef
        je fail

        ; 11: unmasked SIMD divide by zero: #XM, ZE set, XMM0 unchanged
        TESTNO 11
        mov eax, 0x3f800000
        movd xmm0, eax
        xorps xmm1, xmm1
        ldmxcsr [mxcsr_zm]
        divss xmm0, xmm1
.r11:   EXPECT 19, -1
        stmxcsr [tmp]
        test dword [tmp], 4
        jz fail
        movd eax, xmm0
        cmp eax, 0x3f800000
        jne fail

        ; 12: the same with CR4.OSXMMEXCPT=0: #UD
        TESTNO 12
        ldmxcsr [mxcsr_zm]
        mov eax, CR4_OSFXSR
        mov cr4, eax
        divss xmm0, xmm1
.r12:   EXPECT 6, -1
        mov eax, CR4_OSFXSR | CR4_OSXMM
        mov cr4, eax
        ldmxcsr [mxcsr_default]

        ; 13: unmasked x87 divide by zero: pending until FWAIT, then #MF
        TESTNO 13
        fninit
        fldcw [fcw_zm]
        fldz
        fld1
        fdiv st0, st1                   ; ZE, ES set; no fault yet
        mov dword [tmp], 1
        fwait
.r13:   EXPECT 16, -1
        fnstsw ax
        test ax, 0x0084                 ; ZE and ES
        jz fail

        ; 14: an MMX instruction with the exception still pending: #MF
        TESTNO 14
        paddb mm0, mm1
.r14:   EXPECT 16, -1
        fnclex

        ; 15: MMX makes every register valid (TOP 0); EMMS empties them
        TESTNO 15
        fninit
        pxor mm2, mm2
        fxsave [FXAREA]
        cmp byte [FXAREA + 4], 0xff
        jne fail
        cmp word [FXAREA + 2 * 16 + 32 + 8], 0xffff    ; MM2's exponent field
        jne fail
        emms
        fxsave [FXAREA]
        cmp byte [FXAREA + 4], 0
        jne fail
        mov ax, [FXAREA + 2]
        and ax, 0x3800
        jnz fail
.r15:   EXPECT -1, -1

        mov esi, msg_ok
        call print
        mov eax, 0x21
        out 0xf4, eax
        hlt

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

; Exception stubs: a dummy error code where the CPU pushes none, then the
; vector; the common part records both and resumes at [resume].
%assign v 0
%rep 20
exc_ %+ v:
%if !(v == 8 || (v >= 10 && v <= 14) || v == 17)
        push dword -1
%endif
        push dword v
        jmp exc_common
%assign v v + 1
%endrep

exc_common:
        push eax
        push ds
        mov ax, SEL_DATA0
        mov ds, ax
        mov eax, [esp + 8]
        mov [last_vec], eax
        mov eax, [esp + 12]
        mov [last_err], eax
        mov eax, [resume]
        mov [esp + 16], eax             ; the return EIP
        pop ds
        pop eax
        add esp, 8
        iretd

build_idt:
        mov edi, IDT_ADDR
        mov ecx, 256 * 2
        xor eax, eax
        rep stosd
        mov esi, exc_table
        mov edi, IDT_ADDR
        mov ecx, 20
.next:  lodsd
        mov [edi], ax
        mov word [edi + 2], SEL_CODE0
        mov word [edi + 4], 0x8e00      ; 32-bit interrupt gate, DPL 0
        shr eax, 16
        mov [edi + 6], ax
        add edi, 8
        loop .next
        mov dword [last_vec], -1
        mov dword [last_err], -1
        ret

exc_table:
%assign v 0
%rep 20
        dd exc_ %+ v
%assign v v + 1
%endrep

        align 16
pattern:        dd 0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210
mxcsr_rz:       dd 0x7f80       ; all masked, round toward zero
mxcsr_zm:       dd 0x1d80       ; ZM unmasked
mxcsr_default:  dd 0x1f80
fcw_zm:         dw 0x037b       ; x87 ZM unmasked

msg_ok:   db "simd: ok", 10, 0
msg_fail: db "simd: FAILED test ", 0

        align 8
gdt_template:
        dq 0
        dq 0x00cf9a000000ffff           ; 0x08 code, DPL 0
        dq 0x00cf92000000ffff           ; 0x10 data, DPL 0
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
