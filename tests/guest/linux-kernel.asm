; linux-kernel: a file shaped like a Linux bzImage (Linux
; Documentation/arch/x86/boot.rst: the setup header at 0x1f1, protocol
; 2.15, a protected-mode part after setup_sects + 1 sectors, the 64-bit
; entry point 0x200 bytes into it, XLF_KERNEL_64) whose protected-mode part
; checks the state of the 32-bit or 64-bit boot protocol and struct
; boot_params (zero-page.rst) as vmkemu's loader builds them, then the
; PC's firmware interfaces, and powers off through ACPI S5.
;
; Run by tests/guest/boot-paths.t as
;   vmkemu -m 32 -kernel linux-kernel.bin -initrd INITRD -append lxtest-cmdline
;          [-linux-entry 64]
; where INITRD is the 8 bytes "INITRD!!".  Not relocatable: it runs where
; bzImages traditionally load, at 0x100000.

%define KNAME "linux"
%include "kernel.inc"

SETUP_SECTS     equ 4
%define PM_FILE_OFFSET 0xa00            ; (SETUP_SECTS + 1) * 512
PM_ADDR         equ 0x100000

; --- the real-mode part: boot sector + setup, with the header ------------
        section setup start=0 vstart=0
        bits    16
        times   0x1f1 db 0xf4
        db      SETUP_SECTS             ; 0x1f1 setup_sects
        dw      0                       ; 0x1f2 root_flags
        dd      (pm_size + 15) / 16     ; 0x1f4 syssize
        dw      0                       ; 0x1f8 ram_size
        dw      0xffff                  ; 0x1fa vid_mode
        dw      0                       ; 0x1fc root_dev
        dw      0xaa55                  ; 0x1fe boot_flag
        db      0xeb, hdr_end - 0x202   ; 0x200 jump over the header
        db      "HdrS"                  ; 0x202
        dw      0x020f                  ; 0x206 version 2.15
        dd      0                       ; 0x208 realmode_swtch
        dw      0x1000                  ; 0x20c start_sys_seg
        dw      0                       ; 0x20e kernel_version
        db      0                       ; 0x210 type_of_loader
        db      0x01                    ; 0x211 loadflags: LOADED_HIGH
        dw      0                       ; 0x212 setup_move_size
        dd      PM_ADDR                 ; 0x214 code32_start
        dd      0, 0                    ; 0x218 ramdisk_image, ramdisk_size
        dd      0                       ; 0x220 bootsect_kludge
        dw      0                       ; 0x224 heap_end_ptr
        db      0, 0                    ; 0x226 ext_loader_ver, _type
        dd      0                       ; 0x228 cmd_line_ptr
        dd      0x37ffffff              ; 0x22c initrd_addr_max
        dd      0x200000                ; 0x230 kernel_alignment
        db      0                       ; 0x234 relocatable_kernel: no
        db      0                       ; 0x235 min_alignment
        dw      0x0001                  ; 0x236 xloadflags: XLF_KERNEL_64
        dd      255                     ; 0x238 cmdline_size
        dd      0                       ; 0x23c hardware_subarch
        dq      0                       ; 0x240 hardware_subarch_data
        dd      0, 0                    ; 0x248 payload_offset, _length
        dq      0                       ; 0x250 setup_data
        dq      PM_ADDR                 ; 0x258 pref_address
        dd      0x100000                ; 0x260 init_size
        dd      0                       ; 0x264 handover_offset
        dd      0                       ; 0x268 kernel_info_offset
hdr_end:
        times   (SETUP_SECTS + 1) * 512 - ($ - $$) db 0xf4

; --- the protected-mode part ----------------------------------------------
        section pm start=PM_FILE_OFFSET vstart=PM_ADDR

; The checks both entry points share; ebp holds boot_params.
%macro BOOT_PARAMS_CHECKS 0
        cmp     dword [ebp + 0x202], 'HdrS'
        CHECK   e, "boot_params has the setup header"
        cmp     byte [ebp + 0x210], 0xff
        CHECK   e, "type_of_loader"
        mov     al, [ebp + 0x211]
        and     al, 0x81
        cmp     al, 0x81
        CHECK   e, "loadflags LOADED_HIGH | CAN_USE_HEAP"
        cmp     dword [ebp + 0x214], PM_ADDR
        CHECK   e, "code32_start"
        mov     edi, [ebp + 0x228]
        STREQ   edi, cmdline_text, "command line"
        cmp     dword [ebp + 0x21c], 8
        CHECK   e, "ramdisk_size"
        mov     eax, [ebp + 0x218]
        test    eax, 0xfff
        CHECK   z, "ramdisk page aligned"
        mov     eax, [ebp + 0x218]
        cmp     dword [eax], 'INIT'
        CHECK   e, "ramdisk contents"
        cmp     dword [ebp + 0x70], ACPI_RSDP_LOW
        CHECK   e, "acpi_rsdp_addr"
        cmp     byte [ebp + 0x1e8], 3
        CHECK   ae, "e820_entries"
        ; an e820 entry: RAM from 1 MiB
        movzx   ecx, byte [ebp + 0x1e8]
        lea     edi, [ebp + 0x2d0]
%%e820: cmp     dword [edi], 0x100000
        jne     %%next
        cmp     dword [edi + 16], 1
        je      %%found
%%next: add     edi, 20
        dec     ecx
        jnz     %%e820
        KFAIL   "e820 RAM at 1 MiB"
%%found:
        KPRINT  KNAME, ": e820 RAM at 1 MiB ok", 10
        mov     ax, cs
        cmp     ax, 0x10
        CHECK   e, "CS = __BOOT_CS"
        mov     ax, ds
        cmp     ax, 0x18
        CHECK   e, "DS = __BOOT_DS"
        mov     ax, ss
        cmp     ax, 0x18
        CHECK   e, "SS = __BOOT_DS"
        mov     ax, es
        cmp     ax, 0x18
        CHECK   e, "ES = __BOOT_DS"
%endmacro

        bits    32
entry32:
        jmp     main32                  ; the 64-bit entry is 0x200 bytes in
        times   0x200 - ($ - $$) db 0xcc
        bits    64
entry64:
        mov     rbp, rsi
        pushfq
        pop     rax
        test    eax, 1 << 9
        CHECK   z, "interrupts off"
        mov     ecx, 0xc0000080         ; EFER
        rdmsr
        test    eax, 1 << 10
        CHECK   nz, "64-bit entry: long mode active"
        mov     rax, cr4
        test    eax, 1 << 5
        CHECK   nz, "64-bit entry: PAE"
        lea     rax, [rel entry64]
        cmp     rax, PM_ADDR + 0x200
        CHECK   e, "64-bit entry at +0x200"
        ; The page tables map the top of the first 4 GiB too.
        mov     rax, cr3
        mov     ecx, 0xfffff000
        shr     ecx, 21
        mov     rdx, [rax]              ; PML4[0] -> PDPT
        and     rdx, ~0xfff
        mov     rdx, [rdx + 3 * 8]      ; PDPT[3] -> PD of 3-4 GiB
        and     rdx, ~0xfff
        and     ecx, 511
        mov     rdx, [rdx + rcx * 8]    ; the 2 MiB page holding 0xfffff000
        mov     rbx, rdx
        test    ebx, 0x81               ; present, 2 MiB page
        CHECK   nz, "64-bit entry: top 2 MiB mapped"
        and     rbx, ~0xfff
        mov     rcx, 0xffe00000         ; identity
        cmp     rbx, rcx
        CHECK   e, "64-bit entry: 4 GiB identity map"
        BOOT_PARAMS_CHECKS
        FW_CFG_CHECK dma_desc, dma_buf
        PM_TIMER_CHECK
        ACPI_CHECK_AND_POWEROFF

        bits    32
main32:
        test    ebx, ebx
        CHECK   z, "32-bit entry: EBX zero"
        test    edi, edi
        CHECK   z, "32-bit entry: EDI zero"
        test    ebp, ebp
        CHECK   z, "32-bit entry: EBP zero"
        mov     ebp, esi
        pushfd
        pop     eax
        test    eax, 1 << 9
        CHECK   z, "interrupts off"
        mov     eax, cr0
        and     eax, 0x80000001
        cmp     eax, 1
        CHECK   e, "protected mode, paging off"
        BOOT_PARAMS_CHECKS
        FW_CFG_CHECK dma_desc, dma_buf
        PM_TIMER_CHECK
        ACPI_CHECK_AND_POWEROFF

cmdline_text:   db "lxtest-cmdline", 0
        align   16
dma_desc:       times 16 db 0
dma_buf:        times 16 db 0
pm_end:
pm_size         equ pm_end - entry32
