; expect: align: ok
; Alignment check (#AC, vector 17, error code 0) under the emulator, booted
; with -bios: with CR0.AM, EFLAGS.AC and CPL 3, misaligned word and dword
; loads and stores, a push on a misaligned stack, MOVSW, x87 m64 (8-byte
; alignment), CMPXCHG8B, SGDT (the base dword at offset 2), MOVQ from memory
; to an MMX register fault; aligned ones and byte accesses, MOVUPS (16
; bytes: not checked) do not; clearing AC with POPF in ring 3 turns the
; checks off and setting it turns them on again; CPL 0 and CR0.AM = 0 never
; fault.  Reference: Intel SDM vol. 3, 6.15 "Interrupt 17", table 6-7.

%define GUEST_NAME "align"
%include "pmode.inc"
        cpu     willamette              ; MMX and SSE below

; AC_FAULT label: the next instruction must raise #AC(0); resume at label.
%macro AC_FAULT 1
        mov     dword [resume], %1
%endmacro

main:
        ; CR0.AM on, x87/SSE usable (EM = 0, MP, NE; CR4.OSFXSR)
        mov     eax, cr0
        or      eax, (1 << 18) | 0x22
        and     eax, ~0xc
        mov     cr0, eax
        mov     eax, cr4
        or      eax, 1 << 9
        mov     cr4, eax
        fninit

        ; 1: CPL 0 with AM and AC: nothing faults
        TEST 1
        call    clear_counts
        pushfd
        or      dword [esp], FL_AC
        popfd
        mov     ax, [SCRATCH + 1]
        mov     eax, [SCRATCH + 2]
        mov     [SCRATCH + 3], eax
        COUNT 17, 0

        TO_RING3 ring3_tests
        ; back in ring 0 (INT 0x81), AC still set in EFLAGS
        ; 12: CPL 0 again: no faults
        TEST 12
        call    clear_counts
        mov     eax, [SCRATCH + 1]
        COUNT 17, 0

        ; 13: CR0.AM = 0: ring 3 with AC set does not fault
        TEST 13
        mov     eax, cr0
        and     eax, ~(1 << 18)
        mov     cr0, eax
        TO_RING3 ring3_no_am
        COUNT 17, 0
        jmp     pass

; --- ring 3 --------------------------------------------------------------------

ring3_tests:
        mov     ax, SEL_DATA3
        mov     ds, ax
        mov     es, ax
        ; 2: AC = 0 in ring 3 (IRET cleared it): nothing faults
        TEST 2
        call    clear_counts
        mov     ax, [SCRATCH + 1]
        mov     eax, [SCRATCH + 2]
        COUNT 17, 0
        ; AC = 1 from here
        pushfd
        or      dword [esp], FL_AC
        popfd

        ; 3: misaligned word load and dword store
        TEST 3
        AC_FAULT .t3a
        mov     ax, [SCRATCH + 1]
        jmp     fail
.t3a:   EXPECT 17, 0
        test    dword [last_cs], 3
        CHECK nz
        AC_FAULT .t3b
        mov     [SCRATCH + 2], eax
        jmp     fail
.t3b:   EXPECT 17, 0
        AC_FAULT .t3c
        mov     word [SCRATCH + 3], 1
        jmp     fail
.t3c:   EXPECT 17, 0

        ; 4: aligned accesses and bytes do not fault
        TEST 4
        call    clear_counts
        mov     dword [resume], 0
        mov     eax, [SCRATCH + 4]
        mov     [SCRATCH + 8], ax
        mov     al, [SCRATCH + 1]
        mov     [SCRATCH + 3], al
        add     [SCRATCH + 12], eax
        COUNT 17, 0

        ; 5: a push on a misaligned stack
        TEST 5
        sub     esp, 2
        AC_FAULT .t5
        push    eax
        jmp     fail
.t5:    add     esp, 2
        EXPECT 17, 0

        ; 6: MOVSW from an odd address
        TEST 6
        mov     esi, SCRATCH + 0x21
        mov     edi, SCRATCH + 0x40
        AC_FAULT .t6
        movsw
        jmp     fail
.t6:    EXPECT 17, 0
        cmp     esi, SCRATCH + 0x21             ; nothing moved
        CHECK e

        ; 7: x87 m64 needs 8-byte alignment; m32 4
        TEST 7
        call    clear_counts
        fld     dword [SCRATCH + 4]
        fstp    st0
        fld     qword [SCRATCH + 8]
        fstp    st0
        COUNT 17, 0
        AC_FAULT .t7
        fld     qword [SCRATCH + 4]
        jmp     fail
.t7:    EXPECT 17, 0

        ; 8: CMPXCHG8B needs 8
        TEST 8
        AC_FAULT .t8
        cmpxchg8b [SCRATCH + 4]
        jmp     fail
.t8:    EXPECT 17, 0

        ; 9: SGDT stores a word then a dword: at 4n + 2 it is aligned
        TEST 9
        call    clear_counts
        sgdt    [SCRATCH + 0x52]
        COUNT 17, 0
        AC_FAULT .t9
        sgdt    [SCRATCH + 0x50]
        jmp     fail
.t9:    EXPECT 17, 0

        ; 10: MOVQ mm, m64 faults at 4 mod 8; MOVUPS (16 bytes) is not checked
        TEST 10
        call    clear_counts
        movups  xmm0, [SCRATCH + 1]
        movq    mm0, [SCRATCH + 8]
        COUNT 17, 0
        AC_FAULT .t10
        movq    mm0, [SCRATCH + 4]
        jmp     fail
.t10:   EXPECT 17, 0
        emms

        ; 11: POPF clears AC: checks off; sets it: on again
        TEST 11
        call    clear_counts
        pushfd
        and     dword [esp], ~FL_AC
        popfd
        mov     eax, [SCRATCH + 2]
        mov     [SCRATCH + 1], ax
        COUNT 17, 0
        pushfd
        or      dword [esp], FL_AC
        popfd
        AC_FAULT .t11
        mov     eax, [SCRATCH + 2]
        jmp     fail
.t11:   EXPECT 17, 0
        int     0x81

; With CR0.AM = 0, AC set, CPL 3: no faults.
ring3_no_am:
        mov     ax, SEL_DATA3
        mov     ds, ax
        pushfd
        or      dword [esp], FL_AC
        popfd
        mov     eax, [SCRATCH + 1]
        mov     [SCRATCH + 3], ax
        fld     qword [SCRATCH + 4]
        fstp    st0
        int     0x81

        PMODE_TAIL
