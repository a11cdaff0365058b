/*
 * The 16550A UART (National Semiconductor / TI PC16550D) and the PC's four
 * COM ports built from it.  See hw/serial-16550a.c for the model.
 */
#ifndef VMKEMU_HW_SERIAL_16550A_H
#define VMKEMU_HW_SERIAL_16550A_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "chardev.h"
#include "irq.h"
#include "memory.h"
#include "timer.h"

/* Register offsets from the base port. */
#define UART_RBR 0      /* read, DLAB=0 */
#define UART_THR 0      /* write, DLAB=0 */
#define UART_DLL 0      /* DLAB=1 */
#define UART_IER 1      /* DLAB=0 */
#define UART_DLM 1      /* DLAB=1 */
#define UART_IIR 2      /* read */
#define UART_FCR 2      /* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_ERBFI  0x01    /* received data available (and timeout) */
#define UART_IER_ETBEI  0x02    /* transmitter holding register empty */
#define UART_IER_ELSI   0x04    /* receiver line status */
#define UART_IER_EDSSI  0x08    /* modem status */

#define UART_IIR_NO_INT 0x01
#define UART_IIR_ID     0x0e
#define UART_IIR_MSI    0x00    /* modem status, priority 4 */
#define UART_IIR_THRI   0x02    /* THR empty, priority 3 */
#define UART_IIR_RDI    0x04    /* received data, priority 2 */
#define UART_IIR_CTI    0x0c    /* character timeout, priority 2 */
#define UART_IIR_RLSI   0x06    /* receiver line status, priority 1 */
#define UART_IIR_FIFO64 0x20    /* 16750: 64-byte FIFOs enabled */
#define UART_IIR_FIFOS  0xc0    /* FIFOs enabled */

#define UART_FCR_ENABLE     0x01
#define UART_FCR_RX_RESET   0x02
#define UART_FCR_TX_RESET   0x04
#define UART_FCR_DMA        0x08
#define UART_FCR_FIFO64     0x20    /* 16750, writable only with DLAB set */
#define UART_FCR_TRIGGER    0xc0

#define UART_LCR_WLS    0x03    /* word length - 5 */
#define UART_LCR_STB    0x04    /* 2 stop bits (1.5 with 5-bit words) */
#define UART_LCR_PEN    0x08
#define UART_LCR_EPS    0x10
#define UART_LCR_SPAR   0x20
#define UART_LCR_SBC    0x40    /* set break */
#define UART_LCR_DLAB   0x80

#define UART_MCR_DTR    0x01
#define UART_MCR_RTS    0x02
#define UART_MCR_OUT1   0x04
#define UART_MCR_OUT2   0x08
#define UART_MCR_LOOP   0x10

#define UART_LSR_DR     0x01
#define UART_LSR_OE     0x02
#define UART_LSR_PE     0x04
#define UART_LSR_FE     0x08
#define UART_LSR_BI     0x10
#define UART_LSR_THRE   0x20
#define UART_LSR_TEMT   0x40
#define UART_LSR_FIFOE  0x80    /* error in receiver FIFO */

#define UART_MSR_DCTS   0x01
#define UART_MSR_DDSR   0x02
#define UART_MSR_TERI   0x04
#define UART_MSR_DDCD   0x08
#define UART_MSR_CTS    0x10
#define UART_MSR_DSR    0x20
#define UART_MSR_RI     0x40
#define UART_MSR_DCD    0x80

#define UART_FIFO_MAX   64      /* 16 in 16550A mode, 64 in 16750 mode */
#define UART_CLOCK_HZ   1843200 /* the PC's 1.8432 MHz crystal */

/* Guest-visible state, plain fields (saving it is a table of these). */
typedef struct Serial16550ARegs {
    uint8_t ier, fcr, lcr, mcr, scr;
    uint8_t lsr;                /* latched OE/PE/FE/BI; the rest is computed */
    uint8_t msr;                /* delta bits 0-3 and the lines in bits 4-7 */
    uint8_t msr_ext;            /* the modem inputs from the cable, bits 4-7 */
    uint16_t divisor;
    uint8_t rbr_last;           /* what an empty RBR reads as */

    uint8_t rx_fifo[UART_FIFO_MAX];
    uint8_t rx_err[UART_FIFO_MAX];  /* PE/FE/BI of each received byte */
    uint8_t rx_head, rx_count;
    bool rx_fifo_error;         /* LSR bit 7 latch */
    bool timeout_pending;       /* character timeout indication */
    int64_t timeout_deadline;   /* -1 when the timeout timer is idle */

    uint8_t tx_fifo[UART_FIFO_MAX];
    uint8_t tx_head, tx_count;
    bool tsr_busy;              /* a character is being shifted out */
    uint8_t tsr;
    int64_t tx_deadline;        /* end of the current character, or -1 */
    bool thr_pending;           /* THRE interrupt latch */
} Serial16550ARegs;

typedef struct Serial16550A {
    Serial16550ARegs r;
    /* Wiring, not state. */
    AddressSpace *as;
    uint16_t base;
    bool ports_mapped;
    IrqLine *irq;
    Chardev *chr;
    VTimer *timeout_timer;
    VTimer *tx_timer;
    bool paced;                 /* transmit at the programmed baud rate */
} Serial16550A;

/* A UART at `base` (8 ports) driving `irq` (already gated by OUT2, as on a
 * PC), talking to `chr` (may be NULL: nothing connected). */
Serial16550A *serial16550a_new(AddressSpace *as, uint16_t base, IrqLine *irq,
                               Chardev *chr);
void serial16550a_free(Serial16550A *s);
/* Master reset (the MR pin): registers to their datasheet reset values,
 * FIFOs emptied; the divisor and scratch registers are kept. */
void serial16550a_reset(Serial16550A *s);
/* Transmit at the programmed rate on the virtual clock (true), or hand each
 * character to the backend at once (false, the default). */
void serial16550a_set_paced(Serial16550A *s, bool paced);
/* The line side: the modem inputs from the cable (UART_MSR_CTS | DSR | RI |
 * DCD; default CTS, DSR and DCD asserted), and one character arriving with
 * line errors (UART_LSR_PE / FE / BI; a break is 0 with BI). */
void serial16550a_set_modem_inputs(Serial16550A *s, uint8_t msr_lines);
void serial16550a_receive(Serial16550A *s, uint8_t c, uint8_t lsr_errors);
/* Nanoseconds one character takes at the current divisor and LCR. */
int64_t serial16550a_char_time_ns(const Serial16550A *s);
/* Re-arm the timers from the deadlines in `r` (after restoring state). */
void serial16550a_post_load(Serial16550A *s);
/* The UART's registers and FIFOs for suspend/resume (include/vmstate.h);
 * loading runs serial16550a_post_load. */
extern const struct VMStateDescription serial16550a_vmstate;

/* --- the PC's COM ports (hw/pc-serial.c) --------------------------------
 * COM1 0x3f8 IRQ4, COM2 0x2f8 IRQ3, COM3 0x3e8 IRQ4, COM4 0x2e8 IRQ3; one
 * per -serial given.  Ports sharing an IRQ drive it together (the line is
 * the OR of their OUT2-gated outputs). */
#define PC_SERIAL_PORTS 4

typedef struct PCSerial {
    Serial16550A *port[PC_SERIAL_PORTS];
    Chardev *chr[PC_SERIAL_PORTS];
    IrqLine *out[PC_SERIAL_PORTS];  /* each UART's own output */
    IrqLine *gsi[PC_SERIAL_PORTS];  /* the machine line each one shares */
} PCSerial;

typedef struct Machine Machine;
/* Open each cfg->serial[i] and build COM(i+1) on it; errors name the
 * option ("-serial unix:/x: Connection refused"). */
PCSerial *pc_serial_new(Machine *m, GError **errp);
void pc_serial_free(PCSerial *ps);
extern const uint16_t pc_serial_base[PC_SERIAL_PORTS];
extern const int pc_serial_irq[PC_SERIAL_PORTS];

#endif
