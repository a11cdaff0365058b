; expect: debug: ok
; Debug registers and the debug exception under the emulator, booted with
; -bios: DR6/DR7 reserved bits; instruction breakpoints (a fault before the
; instruction, pushed RF = 0, RF set by the handler or by IRET lets the
; instruction run once); data write and data read/write breakpoints (traps
; after the instruction, B0-B3, any byte of the access overlapping the
; range, two at once); a REP MOVSB stopping after the iteration that hit
; (EIP at the instruction, pushed RF = 1); I/O breakpoints with CR4.DE and
; DR4/DR5 #UD; DR7.GD (a #DB fault on MOV DR, BD, GD cleared); single-step
; traps with BS, and BS together with a data breakpoint; MOV SS holding a
; single-step and a data-breakpoint trap for one instruction; the TSS T bit
; (BT, before the new task's first instruction); ICEBP (DR6 unchanged);
; a matching breakpoint that is not enabled reported with an enabled one;
; single-stepping a REP string one iteration at a time.
; Reference: Intel SDM vol. 3, 17.2-17.3, 6.8.3.

%define GUEST_NAME "debug"
%include "pmode.inc"

var_w       equ SCRATCH + 0x100         ; DR1: writes, 4 bytes
var_rw      equ SCRATCH + 0x104         ; DR2: reads and writes, 2 bytes
var_ss      equ SCRATCH + 0x200
buf         equ SCRATCH + 0x300
src         equ SCRATCH + 0x400

; DR7 fields
L0          equ 1 << 0
G1          equ 1 << 3
L2          equ 1 << 4
L3          equ 1 << 6
GD          equ 1 << 13
%define RW(n, v)  ((v) << (16 + 4 * (n)))
%define LEN(n, v) ((v) << (18 + 4 * (n)))

DR6_BD      equ 0x2000
DR6_BS      equ 0x4000
DR6_BT      equ 0x8000

; SET_DR7 value
%macro SET_DR7 1
        mov     eax, %1
        mov     dr7, eax
%endmacro

main:
        ; 1: reset values and fixed bits of DR6 and DR7
        TEST 1
        mov     eax, dr6
        cmp     eax, 0xffff0ff0
        CHECK e
        mov     eax, dr7
        cmp     eax, 0x400
        CHECK e
        mov     eax, 0xffffffff
        mov     dr6, eax
        mov     eax, dr6
        cmp     eax, 0xffffefff                 ; bit 12 reads 0
        CHECK e
        xor     eax, eax
        mov     dr6, eax
        mov     eax, dr6
        cmp     eax, 0xffff0ff0
        CHECK e
        SET_DR7 0xffffd800                      ; R/W, LEN and reserved bits, nothing enabled
        mov     eax, dr7
        cmp     eax, 0xffff0400
        CHECK e
        SET_DR7 0

        ; 2: an instruction breakpoint inside a loop: #DB before the
        ; instruction every time round; the handler sets RF so it then runs
        TEST 2
        call    clear_counts
        mov     eax, ibp_target
        mov     dr0, eax
        SET_DR7 L0
        mov     dword [fl_or], FL_RF
        xor     edx, edx
        mov     ecx, 3
ibp_loop:
        nop
ibp_target:
        inc     edx
        dec     ecx
        jnz     ibp_loop
        COUNT 1, 3
        cmp     edx, 3
        CHECK e
        EXPECT 1, -1
        cmp     dword [last_eip], ibp_target
        CHECK e
        test    dword [last_efl], FL_RF         ; not set for an instruction breakpoint
        CHECK z
        mov     eax, [last_dr6]
        and     eax, 0xe00f
        cmp     eax, 1
        CHECK e
        mov     dword [fl_or], 0
        ; disabled (L0 = 0): nothing
        SET_DR7 0
        mov     ecx, 2
        call    clear_counts
.loop2: nop
        inc     edx
        dec     ecx
        jnz     .loop2
        COUNT 1, 0

        ; 3: RF from IRET suppresses the breakpoint once; a call then faults
        TEST 3
        call    clear_counts
        mov     eax, ibp_sub
        mov     dr0, eax
        SET_DR7 L0
        xor     edx, edx
        push    dword .ret1
        pushfd
        or      dword [esp], FL_RF
        push    dword SEL_CODE0
        push    dword ibp_sub
        iretd
.ret1:  COUNT 1, 0
        cmp     edx, 1
        CHECK e
        mov     dword [fl_or], FL_RF
        call    ibp_sub
        mov     dword [fl_or], 0
        COUNT 1, 1
        cmp     edx, 2
        CHECK e
        cmp     dword [last_eip], ibp_sub
        CHECK e
        SET_DR7 0

        ; 4: a data write breakpoint, 4 bytes (address bits under LEN ignored)
        TEST 4
        call    clear_counts
        mov     dword [var_w], 0
        mov     eax, var_w + 1
        mov     dr1, eax
        SET_DR7 G1 | RW(1, 1) | LEN(1, 3)
        mov     eax, [var_w]                    ; a read: nothing
        mov     byte [var_w + 4], 1             ; outside: nothing
        mov     byte [var_w - 1], 1
        COUNT 1, 0
        mov     word [var_w + 2], 0x1234
.w1:    COUNT 1, 1
        cmp     dword [last_eip], .w1           ; a trap: after the instruction
        CHECK e
        cmp     word [var_w + 2], 0x1234        ; the write happened
        CHECK e
        mov     eax, [last_dr6]
        and     eax, 0xe00f
        cmp     eax, 2
        CHECK e
        test    dword [last_efl], FL_RF
        CHECK z
        mov     dword [var_w - 2], 0            ; overlaps the first two bytes
        COUNT 1, 2

        ; 5: read/write breakpoint, 2 bytes; a read traps with the value
        ; loaded; a read-modify-write traps once; two breakpoints at once
        TEST 5
        call    clear_counts
        mov     word [var_rw], 0x5a5a
        mov     eax, var_rw
        mov     dr2, eax
        SET_DR7 L2 | RW(2, 3) | LEN(2, 1)
        mov     eax, [var_rw]
        COUNT 1, 1
        cmp     ax, 0x5a5a
        CHECK e
        mov     eax, [last_dr6]
        and     eax, 0xf
        cmp     eax, 4
        CHECK e
        add     [var_rw + 1], al
        COUNT 1, 2
        mov     al, [var_rw + 2]                ; outside
        COUNT 1, 2
        SET_DR7 G1 | RW(1, 1) | LEN(1, 3) | L2 | RW(2, 3) | LEN(2, 1)
        mov     dword [var_w + 2], 0            ; bytes of both ranges
        COUNT 1, 3
        mov     eax, [last_dr6]
        and     eax, 0xf
        cmp     eax, 6
        CHECK e
        SET_DR7 0

        ; 6: REP MOVSB stops after the iteration that wrote the watched byte
        TEST 6
        call    clear_counts
        mov     edi, src
        mov     ecx, 16
        mov     al, 0x77
        rep stosb
        mov     eax, buf + 5
        mov     dr3, eax
        SET_DR7 L3 | RW(3, 1)
        mov     esi, src
        mov     edi, buf
        mov     ecx, 16
        cld
rep_insn:
        rep movsb
        COUNT 1, 1                              ; then it finished, once
        test    ecx, ecx
        CHECK z
        cmp     byte [buf + 15], 0x77
        CHECK e
        cmp     dword [last_eip], rep_insn
        CHECK e
        test    dword [last_efl], FL_RF         ; not the last iteration
        CHECK nz
        cmp     dword [last_ecx], 10
        CHECK e
        cmp     dword [last_edi], buf + 6
        CHECK e

        ; 7: I/O breakpoints need CR4.DE; DR4/DR5 are #UD with it
        TEST 7
        mov     eax, cr4
        or      eax, 8
        mov     cr4, eax
        call    clear_counts
        mov     eax, 0x80
        mov     dr0, eax
        SET_DR7 L0 | RW(0, 2)
        out     0x81, al                        ; another port: nothing
        COUNT 1, 0
        out     0x80, al
.io1:   COUNT 1, 1
        cmp     dword [last_eip], .io1
        CHECK e
        mov     eax, [last_dr6]
        and     eax, 0xf
        cmp     eax, 1
        CHECK e
        mov     dx, 0x7f
        out     dx, ax                          ; ports 0x7f-0x80
        COUNT 1, 2
        mov     dword [resume], .ud
        mov     eax, dr4
        jmp     fail
.ud:    EXPECT 6, -1
        mov     eax, cr4
        and     eax, ~8
        mov     cr4, eax
        out     0x80, al                        ; R/W = 10 without DE: undefined, ignored
        COUNT 1, 2
        mov     eax, dr5                        ; DR7 without DE
        mov     ebx, dr7
        cmp     eax, ebx
        CHECK e
        SET_DR7 0

        ; 8: DR7.GD: MOV DR faults with BD; GD is cleared for the handler
        TEST 8
        call    clear_counts
        SET_DR7 GD
        mov     dword [resume], gd_after
gd_insn:
        mov     eax, dr0
        jmp     fail
gd_after:
        COUNT 1, 1
        cmp     dword [last_eip], gd_insn
        CHECK e
        test    dword [last_dr6], DR6_BD
        CHECK nz
        test    dword [last_efl], FL_RF         ; a fault: RF = 1 pushed
        CHECK nz
        mov     eax, dr7
        cmp     eax, 0x400
        CHECK e

        ; 9: single-step traps with BS after each instruction with TF set
        TEST 9
        call    clear_counts
        pushfd
        or      dword [esp], FL_TF
        popfd                                   ; sets TF: no trap after it
        nop                                     ; 1
        nop                                     ; 2
        pushfd                                  ; 3
        and     dword [esp], ~FL_TF             ; 4
        popfd                                   ; 5: TF was set as it began
.ss_end:
        COUNT 1, 5
        cmp     dword [last_eip], .ss_end
        CHECK e
        mov     eax, [last_dr6]
        and     eax, 0xe00f
        cmp     eax, DR6_BS
        CHECK e

        ; 10: single step and a data breakpoint in one #DB
        TEST 10
        call    clear_counts
        mov     eax, var_w
        mov     dr1, eax
        SET_DR7 G1 | RW(1, 1) | LEN(1, 3)
        mov     dword [fl_and], ~FL_TF          ; the handler stops stepping
        pushfd
        or      dword [esp], FL_TF
        popfd
        mov     [var_w], eax
.both:  COUNT 1, 1
        cmp     dword [last_eip], .both
        CHECK e
        mov     eax, [last_dr6]
        and     eax, 0xe00f
        cmp     eax, DR6_BS | 2
        CHECK e

        ; 11: MOV SS holds the single-step trap until after the next instruction
        TEST 11
        call    clear_counts
        mov     ax, ss
        pushfd
        or      dword [esp], FL_TF
        popfd
        mov     ss, ax
        inc     ecx
.ss1:   COUNT 1, 1
        cmp     dword [last_eip], .ss1
        CHECK e

        ; 12: ... and a data breakpoint on MOV SS's operand
        TEST 12
        call    clear_counts
        mov     word [var_ss], SEL_DATA0
        mov     eax, var_ss
        mov     dr2, eax
        SET_DR7 L2 | RW(2, 3) | LEN(2, 1)
        mov     ss, [var_ss]
        inc     ecx
.ss2:   COUNT 1, 1
        cmp     dword [last_eip], .ss2
        CHECK e
        mov     eax, [last_dr6]
        and     eax, 0xf
        cmp     eax, 4
        CHECK e
        SET_DR7 0
        mov     dword [fl_and], -1

        ; 13: a task switch into a TSS with T = 1: #DB with BT before the
        ; new task's first instruction
        TEST 13
        call    clear_counts
        mov     edi, TSS_B_ADDR
        mov     ecx, 0x68 / 4
        xor     eax, eax
        rep stosd
        mov     dword [TSS_B_ADDR + 0x20], task_b       ; EIP
        mov     dword [TSS_B_ADDR + 0x24], 0x2          ; EFLAGS
        mov     dword [TSS_B_ADDR + 0x38], 0x6000       ; ESP
        mov     word [TSS_B_ADDR + 0x48], SEL_DATA0     ; ES
        mov     word [TSS_B_ADDR + 0x4c], SEL_CODE0     ; CS
        mov     word [TSS_B_ADDR + 0x50], SEL_DATA0     ; SS
        mov     word [TSS_B_ADDR + 0x54], SEL_DATA0     ; DS
        mov     word [TSS_B_ADDR + 0x58], SEL_DATA0     ; FS
        mov     word [TSS_B_ADDR + 0x5c], SEL_DATA0     ; GS
        mov     word [TSS_B_ADDR + 0x64], 1             ; T
        mov     word [TSS_B_ADDR + 0x66], 0x68
        jmp     SEL_TSS_B:0
        COUNT 1, 1
        cmp     dword [last_eip], task_b
        CHECK e
        test    dword [last_dr6], DR6_BT
        CHECK nz

        ; 14: ICEBP: #DB trap after it, DR6 as it was
        TEST 14
        call    clear_counts
        db      0xf1
.ice:   COUNT 1, 1
        cmp     dword [last_eip], .ice
        CHECK e
        cmp     dword [last_dr6], 0xffff0ff0
        CHECK e

        ; 15: other faults push RF = 1
        TEST 15
        mov     dword [resume], .ud2
        ud2
.ud2:   EXPECT 6, -1
        test    dword [last_efl], FL_RF
        CHECK nz

        ; 16: a breakpoint that matches but is not enabled is reported in
        ; B0-B3 along with the enabled one that made the trap
        TEST 16
        call    clear_counts
        mov     eax, var_w
        mov     dr0, eax                        ; DR0: R/W 01, L0 = G0 = 0
        mov     dr1, eax
        SET_DR7 RW(0, 1) | G1 | RW(1, 1)
        mov     byte [var_w], 1
        COUNT 1, 1
        mov     eax, [last_dr6]
        and     eax, 0xf
        cmp     eax, 3
        CHECK e
        SET_DR7 RW(0, 1)                        ; only the disabled one: nothing
        mov     byte [var_w], 2
        COUNT 1, 1
        SET_DR7 0

        ; 17: under TF a REP string traps after each iteration
        TEST 17
        call    clear_counts
        mov     edi, buf
        mov     ecx, 3
        xor     eax, eax
        pushfd
        or      dword [esp], FL_TF
        popfd
        rep stosb                               ; 1, 2, 3
        pushfd                                  ; 4
        and     dword [esp], ~FL_TF             ; 5
        popfd                                   ; 6
        COUNT 1, 6
        test    ecx, ecx
        CHECK z

        jmp     pass

ibp_sub:
        inc     edx
        ret

; Task B (entered with T = 1): straight back to the first task.
task_b:
        jmp     SEL_TSS:0

        PMODE_TAIL
