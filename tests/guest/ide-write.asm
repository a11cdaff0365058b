; ide-write: drives the primary master ATA disk through the PIIX3 IDE legacy
; ports by polling (nIEN set; ATA/ATAPI-6 PIO data-out and data-in): checks
; the disk's signature and IDENTIFY DEVICE word 0, writes sector 0 with
; the 16-byte text "IDE-GUEST-WROTE!" 32 times, FLUSH CACHE, reads the
; sector back and compares.  The host then looks at the disk image (the
; disk modes' tests, tests/block/ide-undoable.t).  When sector 1 begins
; with "IDLE", the guest then waits forever instead of exiting, for the
; host to power the machine off through the monitor.
; Passes with GUEST_PASS; GUEST_SKIP when no IDE disk answers.
%include "common.inc"

ATA_DATA        equ 0x1f0
ATA_NSECT       equ 0x1f2
ATA_LBAL        equ 0x1f3
ATA_LBAM        equ 0x1f4
ATA_LBAH        equ 0x1f5
ATA_DEVICE      equ 0x1f6
ATA_STATUS      equ 0x1f7
ATA_CMD         equ 0x1f7
ATA_CTL         equ 0x3f6
ST_BSY          equ 0x80
ST_DRQ          equ 0x08
ST_ERR          equ 0x01

sector          equ GUEST_VARS          ; 512 bytes read back

; Wait until BSY clears (al = status); CF set on a timeout.
wait_ready:
        push    ecx
        push    edx
        mov     ecx, 10000000
        mov     dx, ATA_STATUS
.poll:
        in      al, dx
        test    al, ST_BSY
        jz      .done
        loop    .poll
        stc
        pop     edx
        pop     ecx
        ret
.done:
        clc
        pop     edx
        pop     ecx
        ret

; LBA cl (0-255), one sector, command in bl.
ata_command:
        mov     dx, ATA_DEVICE
        mov     al, 0xe0
        out     dx, al
        mov     dx, ATA_NSECT
        mov     al, 1
        out     dx, al
        mov     al, cl
        mov     dx, ATA_LBAL
        out     dx, al
        xor     al, al
        mov     dx, ATA_LBAM
        out     dx, al
        mov     dx, ATA_LBAH
        out     dx, al
        mov     dx, ATA_CMD
        mov     al, bl
        out     dx, al
        ret

main:
        mov     dx, ATA_CTL
        mov     al, 0x02                        ; nIEN: we poll
        out     dx, al
        mov     dx, ATA_DEVICE
        mov     al, 0xa0
        out     dx, al
        mov     dx, ATA_STATUS
        in      al, dx
        cmp     al, 0xff
        je      no_disk
        call    wait_ready
        jc      no_disk
        ; ATA signature: LBA mid/high 0.
        mov     dx, ATA_LBAM
        in      al, dx
        mov     ah, al
        mov     dx, ATA_LBAH
        in      al, dx
        or      al, ah
        jnz     no_disk

        ; IDENTIFY DEVICE: word 0 bit 15 clear (an ATA device).
        mov     dx, ATA_CMD
        mov     al, 0xec
        out     dx, al
        call    wait_ready
        jc      fail
        test    al, ST_DRQ
        jz      fail
        mov     dx, ATA_DATA
        in      ax, dx
        test    ax, 0x8000
        jnz     fail
        mov     ecx, 255
.skip_id:
        in      ax, dx
        loop    .skip_id

        ; WRITE SECTORS: 32 copies of the text.
        mov     bl, 0x30
        xor     cl, cl
        call    ata_command
        call    wait_ready
        jc      fail
        test    al, ST_ERR
        jnz     fail
        test    al, ST_DRQ
        jz      fail
        mov     dx, ATA_DATA
        mov     ebx, 32
.copy:
        mov     esi, text
        mov     ecx, 8
        rep     outsw
        dec     ebx
        jnz     .copy
        call    wait_ready
        jc      fail
        test    al, ST_ERR | ST_DRQ
        jnz     fail

        ; FLUSH CACHE.
        mov     dx, ATA_CMD
        mov     al, 0xe7
        out     dx, al
        call    wait_ready
        jc      fail
        test    al, ST_ERR
        jnz     fail

        ; READ SECTORS and compare.
        mov     bl, 0x20
        xor     cl, cl
        call    ata_command
        call    wait_ready
        jc      fail
        test    al, ST_DRQ
        jz      fail
        mov     dx, ATA_DATA
        mov     edi, sector
        mov     ecx, 256
        rep     insw
        mov     edi, sector
        mov     ebx, 32
.cmp:
        mov     esi, text
        mov     ecx, 16
        repe    cmpsb
        jne     fail
        dec     ebx
        jnz     .cmp

        PRINT   "ide-write: sector 0 written, flushed and read back", 10

        ; Sector 1 says whether to stay.
        mov     bl, 0x20
        mov     cl, 1
        call    ata_command
        call    wait_ready
        jc      fail
        test    al, ST_DRQ
        jz      fail
        mov     dx, ATA_DATA
        mov     edi, sector
        mov     ecx, 256
        rep     insw
        cmp     dword [sector], 'IDLE'
        jne     .done
        PRINT   "ide-write: idling", 10
        mov     al, 0xff
        out     PIC1_DATA, al
        out     PIC2_DATA, al
.wait:
        sti
        hlt
        jmp     .wait
.done:
        EXIT    GUEST_PASS

no_disk:
        PRINT   "SKIP: no ATA disk at the primary master", 10
        EXIT    GUEST_SKIP
fail:
        PRINT   "ide-write: the disk misbehaved", 10
        EXIT    GUEST_FAIL

text:   db      "IDE-GUEST-WROTE!"

GUEST_END
