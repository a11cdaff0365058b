; pci-enum: enumerates PCI bus 0 with configuration mechanism #1 (PCI Local
; Bus Specification 3.0, 3.2.2.3.2) and prints every function it finds on
; the debug console:  "pci 00:SS.F VVVV:DDDD class CCCCCC hdr HH".
; Checks that CONFIG_ADDRESS reads back, that a byte write to 0xcf8 leaves
; it alone, that the i440FX host bridge (8086:1237) is at 00:00.0, the
; PIIX3 (8086:7000) at 00:01.0 and its IDE function (8086:7010) at 00:01.1,
; that PIRQRC[A:D] hold what the firmware routes (10, 11, 10, 11:
; hw/pc-pci-irq.c) and take a byte write, and that the functions found are
; exactly those three.
; Passes with GUEST_PASS.
%include "common.inc"

CONFIG_ADDRESS  equ 0xcf8
CONFIG_DATA     equ 0xcfc
found           equ GUEST_VARS          ; functions found

; ecx = bus/dev/fn/reg address without the enable bit -> eax = dword
cfg_read32:
        push    edx
        mov     eax, ecx
        or      eax, 0x80000000
        mov     dx, CONFIG_ADDRESS
        out     dx, eax
        mov     dx, CONFIG_DATA
        in      eax, dx
        pop     edx
        ret

main:
        ; CONFIG_ADDRESS is a dword register; reserved bits read 0.
        mov     dx, CONFIG_ADDRESS
        mov     eax, 0x80000000
        out     dx, eax
        mov     al, 0x55
        out     dx, al                          ; byte: not CONFIG_ADDRESS
        in      eax, dx
        cmp     eax, 0x80000000
        jne     fail_addr

        mov     dword [found], 0
        xor     ebx, ebx                        ; devfn
.next:
        mov     ecx, ebx
        shl     ecx, 8
        call    cfg_read32
        cmp     ax, 0xffff
        je      .skip
        mov     esi, eax                        ; device:vendor
        inc     dword [found]
        PRINT   "pci 00:"
        mov     eax, ebx
        shr     eax, 3
        call    print_hex2
        PRINT   "."
        mov     eax, ebx
        and     eax, 7
        add     al, '0'
        out     DEBUGCON, al
        PRINT   " "
        mov     eax, esi
        call    print_hex4
        PRINT   ":"
        mov     eax, esi
        shr     eax, 16
        call    print_hex4
        PRINT   " class "
        mov     ecx, ebx
        shl     ecx, 8
        or      ecx, 0x08
        call    cfg_read32
        shr     eax, 8
        call    print_hex6
        PRINT   " hdr "
        mov     ecx, ebx
        shl     ecx, 8
        or      ecx, 0x0c
        call    cfg_read32
        shr     eax, 16
        call    print_hex2
        PRINT   10
        ; Check the two chipset functions where they must be.
        cmp     ebx, 0x00
        jne     .not_host
        cmp     esi, 0x12378086
        jne     fail_ids
.not_host:
        cmp     ebx, 0x08
        jne     .not_isa
        cmp     esi, 0x70008086
        jne     fail_ids
.not_isa:
        cmp     ebx, 0x09
        jne     .skip
        cmp     esi, 0x70108086
        jne     fail_ids
.skip:
        inc     ebx
        cmp     ebx, 256
        jb      .next

        cmp     dword [found], 3
        jne     fail_count
        ; Both bridges present (the loop checked their IDs if there).
        mov     ecx, 0x0000
        call    cfg_read32
        cmp     eax, 0x12378086
        jne     fail_ids
        mov     ecx, 0x0800
        call    cfg_read32
        cmp     eax, 0x70008086
        jne     fail_ids

        ; PIIX3 PIRQRC[A:D] (00:01.0 registers 0x60-0x63): IRQ 10, 11, 10,
        ; 11 as the firmware routed them, then a byte write.
        mov     ecx, 0x0860
        call    cfg_read32
        cmp     eax, 0x0b0a0b0a
        jne     fail_pirq
        mov     dx, CONFIG_DATA
        mov     al, 0x05
        out     dx, al
        mov     ecx, 0x0860
        call    cfg_read32
        cmp     eax, 0x0b0a0b05
        jne     fail_pirq

        ; Enable bit clear: reads all ones.
        mov     dx, CONFIG_ADDRESS
        xor     eax, eax
        out     dx, eax
        mov     dx, CONFIG_DATA
        in      eax, dx
        cmp     eax, 0xffffffff
        jne     fail_addr

        PRINT   "pci-enum: 3 functions, host bridge, PIIX3 and its IDE as expected", 10
        EXIT    GUEST_PASS

fail_addr:
        PRINT   "pci-enum: CONFIG_ADDRESS misbehaves", 10
        EXIT    GUEST_FAIL
fail_ids:
        PRINT   "pci-enum: wrong IDs at 00:00.0, 00:01.0 or 00:01.1", 10
        EXIT    GUEST_FAIL
fail_count:
        PRINT   "pci-enum: unexpected number of functions", 10
        EXIT    GUEST_FAIL
fail_pirq:
        PRINT   "pci-enum: PIRQRC misbehaves", 10
        EXIT    GUEST_FAIL

; print_hex2/4/6: the low 2/4/6 hex digits of eax.
print_hex2:
        push    ecx
        mov     ecx, 2
        jmp     print_hexn
print_hex4:
        push    ecx
        mov     ecx, 4
        jmp     print_hexn
print_hex6:
        push    ecx
        mov     ecx, 6
print_hexn:
        pushad
        mov     edx, ecx
        shl     ecx, 2
        neg     ecx
        add     ecx, 32
        shl     eax, cl                         ; the digits to print at the top
        mov     ecx, edx
.digit:
        rol     eax, 4
        mov     ebx, eax
        and     ebx, 0xf
        push    eax
        mov     al, [hex_digits + ebx]
        out     DEBUGCON, al
        pop     eax
        loop    .digit
        popad
        pop     ecx
        ret

GUEST_END
