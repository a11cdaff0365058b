; smp: the boot CPU starts the others with INIT and two startup IPIs
; through its local APIC (Intel SDM vol. 3, 9.4 "Multiple-Processor (MP)
; Initialization": INIT-SIPI-SIPI; 11.6.1 the interrupt command register).
; Each application processor starts in real mode at the 4 KiB page the SIPI
; names (ap_entry, in this ROM), reads its initial APIC ID from CPUID leaf 1
; (EBX[31:24]), sets its bit in a shared mask and then spins (it stays busy
; in guest code).  The boot CPU takes the number of CPUs from CPUID leaf 1
; (EBX[23:16]), waits for every AP and checks the mask.  On the first boot
; it then triple-faults: the reset must stop the spinning APs and put them
; back to waiting for a SIPI, so the second boot starts them again the same
; way and exits with GUEST_PASS.  Needs an in-kernel (or emulated) local
; APIC.
%include "common.inc"

APIC_BASE       equ 0xfee00000
APIC_ICR_LOW    equ APIC_BASE + 0x300
ICR_INIT        equ 0x000c4500          ; all excluding self, INIT, assert
ICR_STARTUP     equ 0x000c4600          ; all excluding self, start-up

ap_mask         equ GUEST_VARS          ; bit n: the AP with APIC ID n ran
ap_count        equ GUEST_VARS + 4

main:
        mov     dword [ap_mask], 0
        mov     dword [ap_count], 0
        mov     eax, 1
        cpuid
        shr     ebx, 16
        movzx   esi, bl                 ; CPUs in the package
        cmp     esi, 1
        ja      .smp
        mov     esi, 1
.smp:
        PRINT   "smp: "
        mov     eax, esi
        call    dbg_dec
        PRINT   " CPU(s); starting the others", 10
        mov     dword [APIC_ICR_LOW], ICR_INIT
        call    short_delay
        mov     dword [APIC_ICR_LOW], ICR_STARTUP | ((ap_entry - $$ + IMAGE_BASE) >> 12)
        call    short_delay
        mov     dword [APIC_ICR_LOW], ICR_STARTUP | ((ap_entry - $$ + IMAGE_BASE) >> 12)

        lea     edi, [esi - 1]          ; APs expected
        mov     ecx, 200000             ; patience: that many port reads
.wait:
        cmp     [ap_count], edi
        jae     .came
        in      al, 0x80
        loop    .wait
        PRINT   "smp: only "
        mov     eax, [ap_count]
        call    dbg_dec
        PRINT   " AP(s) started", 10
        EXIT    GUEST_FAIL
.came:
        ; Give a late AP (if the count were wrong) a moment to show up.
        call    short_delay
        PRINT   "smp: "
        mov     eax, [ap_count]
        call    dbg_dec
        PRINT   " AP(s) started, APIC ID mask "
        mov     eax, [ap_mask]
        call    dbg_hex
        PRINT   10
        cmp     [ap_count], edi
        jne     .bad
        ; Every ID from 1 to n-1, once: mask == (1 << n) - 2.
        mov     ecx, esi
        mov     eax, 1
        shl     eax, cl
        sub     eax, 2
        cmp     [ap_mask], eax
        jne     .bad
        cmp     dword [BOOT_COUNT], 1
        ja      .pass
        PRINT   "smp: boot 1 done; resetting with the APs running", 10
        lidt    [empty_idt]
        ud2                             ; triple fault: machine reset
.pass:
        PRINT   "smp: boot "
        mov     eax, [BOOT_COUNT]
        call    dbg_dec
        PRINT   " done", 10
        EXIT    GUEST_PASS
.bad:
        PRINT   "smp: wrong set of APs", 10
        EXIT    GUEST_FAIL

empty_idt:
        dw      0
        dd      0

short_delay:
        push    ecx
        mov     ecx, 200
.d:
        in      al, 0x80
        loop    .d
        pop     ecx
        ret

; --- application processors: real mode, CS = ap_entry >> 4, IP = 0 --------
        align   4096
        bits    16
ap_entry:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     eax, 1
        cpuid
        shr     ebx, 24                 ; initial APIC ID
        lock bts dword [ap_mask], ebx
        lock inc dword [ap_count]
.spin:
        pause
        jmp     .spin
        bits    32

GUEST_END
