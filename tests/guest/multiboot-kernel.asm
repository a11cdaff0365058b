; multiboot-kernel: a Multiboot v1 kernel (a.out kludge: header flag 16)
; that checks what vmkemu's loader hands it (Multiboot Specification
; 0.6.96, 3.2 machine state and 3.3 boot information), then the firmware
; interfaces of a directly booted PC (fw_cfg, the ACPI PM timer, the ACPI
; tables) and powers off through ACPI S5.
;
; Run by tests/guest/boot-paths.t as
;   vmkemu -m 32 -kernel multiboot-kernel.bin -append mbtest-arg \
;          -initrd "MOD1FILE one,MOD2FILE"
; where MOD1FILE starts with "MOD1" and MOD2FILE with "MOD2".

%define KNAME "multiboot"
%include "kernel.inc"

        bits    32
        org     0x100000

MB_MAGIC        equ 0x1badb002
MB_FLAGS        equ 0x00010003          ; align modules, memory info, addresses
RAM_MIB         equ 32

header:
        dd      MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
        dd      header                  ; header_addr
        dd      header                  ; load_addr: the file's first byte
        dd      load_end                ; load_end_addr
        dd      bss_end                 ; bss_end_addr
        dd      start                   ; entry_addr

start:
        mov     esp, stack_top
        mov     ebp, ebx                ; the information structure
        cmp     eax, 0x2badb002
        CHECK   e, "EAX magic"
        pushfd
        pop     eax
        test    eax, 1 << 9
        CHECK   z, "interrupts off"
        mov     eax, cr0
        and     eax, 0x80000001
        cmp     eax, 1
        CHECK   e, "protected mode, paging off"
        cmp     dword [bss_canary], 0
        CHECK   e, "bss zeroed"

        mov     eax, [ebp]              ; flags
        and     eax, 0x24d              ; mem, cmdline, mods, mmap, loader name
        cmp     eax, 0x24d
        CHECK   e, "info flags"
        cmp     dword [ebp + 4], 639
        CHECK   e, "mem_lower"
        cmp     dword [ebp + 8], (RAM_MIB - 1) * 1024
        CHECK   e, "mem_upper"

        ; cmdline: "<kernel path> mbtest-arg" -- compare the tail.
        mov     edi, [ebp + 16]
        xor     ecx, ecx
.len:   cmp     byte [edi + ecx], 0
        je      .lend
        inc     ecx
        jmp     .len
.lend:  sub     ecx, arg_len
        jb      .badarg
        add     edi, ecx
        STREQ   edi, arg_text, "command line"
        jmp     .mods
.badarg:
        KFAIL   "command line too short"

.mods:  cmp     dword [ebp + 20], 2
        CHECK   e, "two modules"
        mov     esi, [ebp + 24]
        mov     eax, [esi]              ; module 1
        test    eax, 0xfff
        CHECK   z, "module 1 page aligned"
        mov     eax, [esi]
        cmp     eax, bss_end
        CHECK   ae, "module 1 after the kernel"
        mov     eax, [esi]
        cmp     dword [eax], 'MOD1'
        CHECK   e, "module 1 contents"
        mov     eax, [esi + 16]         ; module 2
        cmp     dword [eax], 'MOD2'
        CHECK   e, "module 2 contents"
        mov     eax, [esi + 16]
        cmp     eax, [esi + 4]
        CHECK   ae, "modules do not overlap"
        ; module 1's string ends with " one"
        mov     edi, [esi + 8]
        xor     ecx, ecx
.mlen:  cmp     byte [edi + ecx], 0
        je      .mlend
        inc     ecx
        jmp     .mlen
.mlend: cmp     dword [edi + ecx - 4], ' one'
        CHECK   e, "module 1 string"

        ; mmap: an available entry at 1 MiB up to the end of RAM.
        mov     esi, [ebp + 48]
        mov     ebx, esi
        add     ebx, [ebp + 44]         ; end
.mm:    cmp     esi, ebx
        jae     .mmbad
        cmp     dword [esi + 4], 0x100000
        jne     .mmnext
        cmp     dword [esi + 12], (RAM_MIB - 1) << 20
        jne     .mmnext
        cmp     dword [esi + 20], 1
        je      .mmok
.mmnext:
        add     esi, [esi]
        add     esi, 4
        jmp     .mm
.mmbad: KFAIL   "memory map"
.mmok:  KPRINT  KNAME, ": memory map ok", 10

        mov     edi, [ebp + 64]
        STREQ   edi, loader_name, "boot loader name"

        FW_CFG_CHECK dma_desc, dma_buf
        PM_TIMER_CHECK
        ACPI_CHECK_AND_POWEROFF

arg_text:       db " mbtest-arg", 0
arg_len         equ $ - arg_text - 1
loader_name:    db "vmkemu", 0

        align   16
load_end:

        absolute load_end
        alignb  16
dma_desc:       resb 16
dma_buf:        resb 16
bss_canary:     resd 1
        alignb  16
stack:          resb 4096
stack_top:
bss_end:
