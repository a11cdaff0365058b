; fuzz: a guest that pokes everything.  With interrupts off throughout it
;   1. writes a pseudo-random value of a random size (1, 2 or 4 bytes) to
;      every I/O port 0-0xffff and reads every port back at a random size;
;   2. runs string I/O (rep outs/ins, random port, size and count);
;   3. makes one random access (read or write, 1/2/4 bytes, random offset)
;      to every 4 KiB page of the legacy hole 0xa0000-0xeffff and of the top
;      32 MiB of the PCI hole, 0xfe000000-0xffffffff (where a PC's fixed
;      MMIO devices and its firmware ROM sit; this ROM included), and to one
;      random page of every 256 KiB block of the rest of the PCI hole,
;      0xc0000000-0xfdffffff (every page there would take minutes on the
;      slow software KVM of the project's machines: a first touch of an
;      unmapped page costs tens of microseconds there);
; then checks that its ROM is unchanged (guest writes to ROM are dropped)
; and that its variables in RAM survived, and exits with GUEST_PASS.  What
; the test asserts is that vmkemu neither crashes nor hangs and that the
; guest ends with its own exit code.
;
; Left alone, because a guest writing them ends or corrupts itself by
; design rather than through a fault of vmkemu's:
;   0xf4-0xf7    the test-exit port;
;   0x64         i8042 commands 0xd1 (write output port: bit 0 is the CPU
;                reset line) and 0xf0-0xff (pulse output lines; 0xfe
;                resets); other commands are sent;
;   0x92         bit 0 (fast reset) is kept clear;
;   0xcf9        bit 2 (reset) is kept clear;
;   0x605        the high byte of the ACPI PM1a control register (the PM
;                block at 0x600, include/hw/acpi.h): bit 5 of that byte,
;                SLP_EN, is kept clear (with SLP_TYP S5 it powers off);
;   0x514-0x51b  the fw_cfg DMA address: a random address makes the device
;                copy data over random guest memory;
;   0xfec00000   the IOAPIC page and 0xfee00000, the local APIC page: these
;                can send INIT or SMI to the CPU itself.
%include "common.inc"

rng_state       equ GUEST_VARS          ; xorshift32 state
hash            equ GUEST_VARS + 4      ; mixes every value read
canary          equ GUEST_VARS + 8
rom_sum         equ GUEST_VARS + 12
port_count      equ GUEST_VARS + 16
mmio_count      equ GUEST_VARS + 20
buffer          equ 0x10000             ; string I/O buffer, 64 KiB
CANARY          equ 0x5afec0de
SEED            equ 0x2545f491

main:
        PRINT   "fuzz: seed "
        mov     eax, SEED
        call    dbg_hex
        PRINT   10
        mov     dword [rng_state], SEED
        mov     dword [hash], 0
        mov     dword [canary], CANARY
        mov     dword [port_count], 0
        mov     dword [mmio_count], 0
        call    rom_checksum
        mov     [rom_sum], eax

        call    fuzz_ports
        PRINT   "fuzz: ports done", 10
        call    fuzz_string_io
        PRINT   "fuzz: string I/O done", 10
        call    fuzz_mmio
        PRINT   10, "fuzz: MMIO done", 10

        call    rom_checksum
        cmp     eax, [rom_sum]
        jne     .rom_changed
        cmp     dword [canary], CANARY
        jne     .ram_changed
        PRINT   "fuzz: "
        mov     eax, [port_count]
        call    dbg_dec
        PRINT   " port writes, "
        mov     eax, [mmio_count]
        call    dbg_dec
        PRINT   " pages, hash "
        mov     eax, [hash]
        call    dbg_hex
        PRINT   10, "fuzz: survived", 10
        EXIT    GUEST_PASS
.rom_changed:
        PRINT   10, "fuzz: the ROM changed under guest writes", 10
        EXIT    GUEST_FAIL
.ram_changed:
        PRINT   10, "fuzz: guest RAM was overwritten", 10
        EXIT    GUEST_FAIL

; RAND reg: next xorshift32 value (Marsaglia, "Xorshift RNGs", 2003) in
; eax; the state lives in esi during the port sweep and in memory otherwise.
; Clobbers `reg` (a scratch register other than eax).
%macro RAND 1
        mov     eax, [rng_state]
        mov     %1, eax
        shl     %1, 13
        xor     eax, %1
        mov     %1, eax
        shr     %1, 17
        xor     eax, %1
        mov     %1, eax
        shl     %1, 5
        xor     eax, %1
        mov     [rng_state], eax
%endmacro

rand:
        push    edx
        RAND    edx
        pop     edx
        ret

; mix: fold eax into the hash of what was read.
mix:
        push    edx
        mov     edx, [hash]
        rol     edx, 5
        xor     edx, eax
        mov     [hash], edx
        pop     edx
        ret

; rom_checksum: sum of the dwords of the ROM's top copy -> eax.
rom_checksum:
        push    ecx
        push    esi
        xor     eax, eax
        mov     esi, 0x100000000 - GUEST_IMAGE_SIZE
        mov     ecx, GUEST_IMAGE_SIZE / 4
.add:
        add     eax, [esi]
        rol     eax, 1
        add     esi, 4
        loop    .add
        pop     esi
        pop     ecx
        ret

;  Port classes, one byte per port in port_class (plus 4 spare bytes so a
; dword read at 0xffff stays in the table): 0 plain, 1 left alone,
; 2 sensitive (value tamed, byte accesses only).
CLASS_PLAIN     equ 0
CLASS_ALONE     equ 1
CLASS_TAME      equ 2

build_port_classes:
        mov     edi, port_class
        mov     ecx, 0x10000 + 4
        xor     eax, eax
        rep stosb
        mov     edi, port_class
        mov     dword [edi + 0xf4], 0x01010101          ; test exit
        mov     dword [edi + 0x514], 0x01010101         ; fw_cfg DMA address
        mov     dword [edi + 0x518], 0x01010101
        mov     byte [edi + 0x64], CLASS_TAME
        mov     byte [edi + 0x92], CLASS_TAME
        mov     byte [edi + 0xcf9], CLASS_TAME
        mov     byte [edi + 0x605], CLASS_TAME
        ret

; tame: make byte al safe for port dx (see the list at the top).
tame:
        cmp     dx, 0x64
        jne     .p92
        cmp     al, 0xd1
        je      .harmless
        cmp     al, 0xf0
        jb      .done
.harmless:
        mov     al, 0x20                ; read the command byte
        ret
.p92:
        cmp     dx, 0x92
        jne     .pcf9
        and     al, ~0x01
        ret
.pcf9:
        cmp     dx, 0xcf9
        jne     .p605
        and     al, ~0x04
        ret
.p605:
        cmp     dx, 0x605
        jne     .done
        and     al, ~0x20
.done:
        ret

; The sweep: edx the port, ebx the random word.  Bits 0-1 of the random
; word pick the write size, bits 2-3 the read size; the value is the word
; rotated by 8.
fuzz_ports:
        call    build_port_classes
        xor     edx, edx
.port:
        mov     ecx, [port_class + edx] ; classes of ports dx..dx+3
        test    cl, CLASS_ALONE
        jnz     .next
        RAND    ebx
        mov     ebx, eax
        ror     eax, 8                  ; the value
        test    ecx, ecx
        jnz     .byte_write             ; near a special port: one byte
        test    bl, 2
        jnz     .dword_write
        test    bl, 1
        jnz     .word_write
        out     dx, al
        jmp     .written
.byte_write:
        test    cl, CLASS_TAME
        jz      .plain
        call    tame
.plain:
        out     dx, al
        jmp     .written
.word_write:
        out     dx, ax
        jmp     .written
.dword_write:
        out     dx, eax
.written:
        xor     eax, eax
        test    bl, 8
        jnz     .dword_read
        test    bl, 4
        jnz     .word_read
        in      al, dx
        jmp     .read
.word_read:
        in      ax, dx
        jmp     .read
.dword_read:
        in      eax, dx
.read:
        xor     [hash], eax
        rol     dword [hash], 5
        inc     dword [port_count]
.next:
        inc     dx
        jnz     .port
        ret

; 256 rounds of rep outs / rep ins at random ports, sizes and counts.
fuzz_string_io:
        ; Random bytes to send.
        mov     edi, buffer
        mov     ecx, 1024
.fill:
        call    rand
        stosd
        loop    .fill
        mov     ebp, 256
.round:
        call    rand
        mov     edx, eax
        and     edx, 0xffff
        cmp     dword [port_class + edx], 0
        jne     .skip
        call    rand
        mov     ecx, eax
        and     ecx, 63
        inc     ecx                     ; count 1-64
        mov     ebx, eax
        shr     ebx, 8                  ; size and direction
        mov     esi, buffer
        mov     edi, buffer + 0x8000
        test    bl, 4
        jnz     .in
        test    bl, 2
        jnz     .outsd
        test    bl, 1
        jnz     .outsw
        rep outsb
        jmp     .skip
.outsw:
        rep outsw
        jmp     .skip
.outsd:
        rep outsd
        jmp     .skip
.in:
        test    bl, 2
        jnz     .insd
        test    bl, 1
        jnz     .insw
        rep insb
        jmp     .read
.insw:
        rep insw
        jmp     .read
.insd:
        rep insd
.read:
        mov     eax, [buffer + 0x8000]
        call    mix
.skip:
        dec     ebp
        jnz     .round
        ret

; fuzz_page: one random access in the page at edi.
fuzz_page:
        inc     dword [mmio_count]
        call    rand
        mov     ebx, eax
        and     ebx, 0xffc              ; offset, aligned for every size
        add     ebx, edi
        call    rand
        mov     ecx, eax                ; what to do, in bits 0-2
        call    rand                    ; the value
        test    cl, 4
        jnz     .read
        test    cl, 2
        jnz     .wdword
        test    cl, 1
        jnz     .wword
        mov     [ebx], al
        ret
.wword:
        mov     [ebx], ax
        ret
.wdword:
        mov     [ebx], eax
        ret
.read:
        xor     eax, eax
        test    cl, 2
        jnz     .rdword
        test    cl, 1
        jnz     .rword
        mov     al, [ebx]
        jmp     .mix
.rword:
        mov     ax, [ebx]
        jmp     .mix
.rdword:
        mov     eax, [ebx]
.mix:
        call    mix
        ret

fuzz_mmio:
        ; The legacy hole below 1 MiB, up to this ROM: every page.
        mov     edi, 0xa0000
.legacy:
        call    fuzz_page
        add     edi, 0x1000
        cmp     edi, IMAGE_BASE
        jb      .legacy
        ; 0xc0000000-0xfdffffff: a random page of every 256 KiB.
        mov     ebp, 0xc0000000
.sparse:
        call    rand
        and     eax, 0x3f000
        lea     edi, [ebp + eax]
        call    fuzz_page
        test    ebp, 0x0fffffff         ; progress: a dot every 256 MiB
        jnz     .sparse_next
        PRINT   "."
.sparse_next:
        add     ebp, 0x40000
        cmp     ebp, 0xfe000000
        jb      .sparse
        ; 0xfe000000-0xffffffff: every page.
        mov     edi, 0xfe000000
.dense:
        cmp     edi, 0xfec00000         ; IOAPIC
        je      .dense_next
        cmp     edi, 0xfee00000         ; local APIC
        je      .dense_next
        call    fuzz_page
.dense_next:
        add     edi, 0x1000
        jnz     .dense
        ret

port_class      equ 0x30000             ; 64 KiB + 4 (see build_port_classes)

GUEST_END
