; expect: vectors: ok
; The exception and interrupt vectors that the other CPU test guests do not
; raise, booted with -bios under the emulator: NMI (2) sent by the local
; APIC to itself, #BP (3) from INT3 and from INT 3, #OF (4) from INTO,
; #TS (10) from a JMP to a TSS whose limit is too small, and the priority of
; an instruction breakpoint (#DB) over a fault fetching its instruction (a
; code-segment limit violation, #GP).  Traps (#BP, #OF)
; push the address after the instruction, faults (#TS) the instruction's
; own.  Together with pmode.asm (#DE #UD #NP #SS #GP #BR #PF), simd.asm
; (#NM #MF #XM), tasks.asm (#DF), debug.asm (#DB) and align.asm (#AC) every
; vector the CPU can raise is exercised; #MC cannot be (CPUID advertises no
; machine check).  References: Intel SDM vol. 3, 6.15 (exception and
; interrupt reference), 6.9 and table 6-2 (priorities: code breakpoint
; before code fetch faults), 7.3 (task switching: TSS limit checks, table
; 7-1), 10.6.1 (the ICR).

%define GUEST_NAME "vectors"

SEL_TSS_SHORT equ SEL_FREE
SEL_CODE_SHORT equ SEL_FREE + 8

; A 32-bit TSS descriptor whose limit (0x20) is below the 0x67 minimum, and
; a 32-bit ring-0 code segment at base 0 that ends just before ibp_edge.
%macro GUEST_GDT 0
        dw      0x0020, TSS_B_ADDR, 0x8900, 0
        dw      (ibp_edge - $$ + 0xf0000 - 1) & 0xffff, 0, 0x9a00
        dw      0x0040 | (((ibp_edge - $$ + 0xf0000 - 1) >> 16) & 0xf)
%endmacro

%include "pmode.inc"

APIC_BASE   equ 0xfee00000
APIC_SVR    equ APIC_BASE + 0xf0
APIC_ICR_LO equ APIC_BASE + 0x300
APIC_ICR_HI equ APIC_BASE + 0x310
back_to     equ VARS + 0xc0         ; where flat_back continues

main:
        ; 1: INT3 (0xCC) is a trap: #BP, no error code, the pushed EIP is
        ; the next instruction
        TEST 1
        call    clear_counts
        mov     dword [resume], .after_int3
        int3
.after_int3:
        EXPECT 3, -1
        cmp     dword [last_eip], .after_int3
        CHECK e
        COUNT 3, 1

        ; 2: INT 3 (0xCD 0x03) from ring 0 reaches the same vector
        TEST 2
        mov     dword [resume], .after_int_3
        int     3
.after_int_3:
        EXPECT 3, -1
        cmp     dword [last_eip], .after_int_3
        CHECK e
        COUNT 3, 2

        ; 3: INTO with OF clear does nothing
        TEST 3
        xor     eax, eax                ; OF = 0
        into
        COUNT 4, 0

        ; 4: INTO with OF set: #OF, a trap after INTO
        TEST 4
        mov     al, 0x7f
        add     al, 1                   ; OF = 1
        mov     dword [resume], .after_into
        into
.after_into:
        EXPECT 4, -1
        cmp     dword [last_eip], .after_into
        CHECK e
        COUNT 4, 1

        ; 5: JMP to a TSS with limit 0x20: #TS with the TSS selector, a
        ; fault in the old task (EIP of the JMP, still the old TR)
        TEST 5
        mov     dword [resume], .after_ts
.jmp_ts:
        jmp     SEL_TSS_SHORT:0
.after_ts:
        EXPECT 10, SEL_TSS_SHORT
        cmp     dword [last_eip], .jmp_ts
        CHECK e
        str     ax
        cmp     ax, SEL_TSS
        CHECK e
        COUNT 10, 1

        ; 6: NMI from the local APIC to itself (physical destination 0,
        ; delivery mode NMI): vector 2, no error code, taken even with IF 0
        TEST 6
        mov     eax, 1
        cpuid
        test    edx, 1 << 9             ; APIC advertised
        CHECK nz
        or      dword [APIC_SVR], 0x100 ; software enable
        mov     dword [resume], .after_nmi
        cli
        mov     dword [APIC_ICR_HI], 0
        mov     dword [APIC_ICR_LO], 0x4400
        ; the NMI arrives at an instruction boundary soon after the write
        mov     ecx, 100000
.wait:  cmp     dword [exc_count + 4 * 2], 0
        jne     .after_nmi
        loop    .wait
        jmp     fail
.after_nmi:
        EXPECT 2, -1
        COUNT 2, 1

        ; 7: an instruction breakpoint on the first byte past the CS limit
        ; is a #DB before the fetch's #GP (DR6.B0, EIP past the limit)
        TEST 7
        call    clear_counts
        mov     eax, ibp_edge
        mov     dr0, eax
        mov     eax, 0x401              ; L0, execute, one byte
        mov     dr7, eax
        mov     dword [back_to], .db_done
        mov     dword [resume], short_back
        jmp     SEL_CODE_SHORT:short_entry
.db_done:
        EXPECT 1, -1
        cmp     dword [last_eip], ibp_edge
        CHECK e
        cmp     dword [last_cs], SEL_CODE_SHORT
        CHECK e
        test    dword [last_dr6], 1
        CHECK nz
        COUNT 13, 0

        ; 8: without the breakpoint the same fetch is #GP(0)
        TEST 8
        xor     eax, eax
        mov     dr7, eax
        mov     dword [back_to], .gp_done
        mov     dword [resume], short_back
        jmp     SEL_CODE_SHORT:short_entry
.gp_done:
        EXPECT 13, 0
        cmp     dword [last_eip], ibp_edge
        CHECK e
        COUNT 1, 1

        jmp     pass

flat_back:
        jmp     [back_to]

; Code run through SEL_CODE_SHORT, whose limit ends at ibp_edge - 1.
short_back:
        jmp     SEL_CODE0:flat_back
short_entry:
        nop
ibp_edge:
        nop                             ; past the limit: never executed

        PMODE_TAIL
