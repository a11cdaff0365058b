; serial-irq: COM1 interrupts on IRQ 4 through the 8259A (PC16550D
; datasheet 8.5-8.6: IER, IIR; the PC gates the UART's INTR with MCR OUT2).
; Enables the THR-empty interrupt and waits in hlt for it, then takes
; received bytes by the received-data interrupt only (the handler drains
; the FIFO while LSR.DR), until a line feed; echoes the line upper-cased
; (polled) and reports the counts.  The UART's line is one of vmkemu's
; own devices, so this is the path of a userspace device's interrupt into
; KVM's in-kernel PIC (KVM_IRQ_LINE) or into vmkemu's PIC model.
; Exits with GUEST_PASS; skips when no UART or no PIC answers.
%include "common.inc"

rx_len          equ GUEST_VARS
rx_irqs         equ GUEST_VARS + 4
thre_irqs       equ GUEST_VARS + 8
rx_done         equ GUEST_VARS + 12
rx_buf          equ GUEST_VARS + 0x100  ; up to 0x400 bytes
RX_MAX          equ 0x400

main:
        call    com1_present
        jz      .uart
        PRINT   "SKIP: no 16550 UART answers at port 0x3f8", 10
        EXIT    GUEST_SKIP
.uart:
        call    pic_init
        jz      .pic
        PRINT   "SKIP: no 8259A PIC answers at port 0x21", 10
        EXIT    GUEST_SKIP
.pic:
        mov     dword [rx_len], 0
        mov     dword [rx_irqs], 0
        mov     dword [thre_irqs], 0
        mov     dword [rx_done], 0
        SET_INT PIC_VECTOR_BASE + 4, uart_isr
        call    com1_init               ; MCR.OUT2 on: INTR reaches IRQ 4
        mov     cl, 4
        call    pic_unmask

        ; THR empty: enabling ETBEI while the THR is empty interrupts.
        mov     dx, COM1 + 1
        mov     al, 0x02
        out     dx, al
.wait_thre:
        cli
        cmp     dword [thre_irqs], 0
        jne     .thre_seen
        sti
        hlt
        jmp     .wait_thre
.thre_seen:
        ; From now on received data only (the handler turned ETBEI off).
        COM1_PRINT "serial-irq: ready", 13, 10
.wait_line:
        cli
        cmp     dword [rx_done], 0
        jne     .line
        sti
        hlt
        jmp     .wait_line
.line:
        mov     esi, rx_buf
        mov     ecx, [rx_len]
        jecxz   .echoed
.echo:
        lodsb
        cmp     al, 'a'
        jb      .send
        cmp     al, 'z'
        ja      .send
        sub     al, 'a' - 'A'
.send:
        call    com1_putc
        loop    .echo
.echoed:
        COM1_PRINT 13, 10, "serial-irq: done", 13, 10
        mov     dx, COM1 + 5
.drain:
        in      al, dx
        test    al, 0x40                ; TEMT
        jz      .drain
        PRINT   "serial-irq: echoed "
        mov     eax, [rx_len]
        call    dbg_dec
        PRINT   " bytes; "
        mov     eax, [rx_irqs]
        call    dbg_dec
        PRINT   " receive interrupt(s), "
        mov     eax, [thre_irqs]
        call    dbg_dec
        PRINT   " THR-empty interrupt(s)", 10
        cmp     dword [rx_irqs], 0
        je      .no_rx
        EXIT    GUEST_PASS
.no_rx:
        PRINT   "serial-irq: no receive interrupt", 10
        EXIT    GUEST_FAIL

; IRQ 4: serve every source the IIR shows, then EOI.
uart_isr:
        pushad
.source:
        mov     dx, COM1 + 2
        in      al, dx                  ; IIR
        test    al, 0x01
        jnz     .none                   ; nothing (more) pending
        and     al, 0x0e
        cmp     al, 0x02
        je      .thre
        cmp     al, 0x04
        je      .rx
        cmp     al, 0x0c
        je      .rx                     ; character timeout
        cmp     al, 0x06
        je      .line_status
        mov     dx, COM1 + 6            ; modem status: read MSR
        in      al, dx
        jmp     .source
.line_status:
        mov     dx, COM1 + 5
        in      al, dx
        jmp     .source
.thre:
        inc     dword [thre_irqs]       ; reading IIR cleared it
        mov     dx, COM1 + 1            ; received data only from now on
        mov     al, 0x01
        out     dx, al
        jmp     .source
.rx:
        inc     dword [rx_irqs]
.byte:
        mov     dx, COM1 + 5
        in      al, dx
        test    al, 0x01                ; LSR.DR
        jz      .source
        mov     dx, COM1
        in      al, dx
        cmp     al, 10
        jne     .store
        mov     dword [rx_done], 1
        jmp     .byte
.store:
        mov     ebx, [rx_len]
        cmp     ebx, RX_MAX
        jae     .byte
        mov     [rx_buf + ebx], al
        inc     dword [rx_len]
        jmp     .byte
.none:
        mov     cl, 4
        call    pic_eoi
        popad
        INT_RETURN

GUEST_END
