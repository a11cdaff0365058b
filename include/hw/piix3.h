/*
 * The Intel 82371SB PIIX3 function 0: the PCI-to-ISA bridge with the PCI
 * interrupt router (PIRQRC[A:D]) and the reset control register at 0xcf9.
 * Reference: Intel 82371FB (PIIX) and 82371SB (PIIX3) PCI ISA IDE
 * Xcelerator datasheet (order 290550), sections 2.2 (PCI-to-ISA bridge
 * configuration registers) and 4.1.2 / 2.3.x (reset control register).
 */
#ifndef VMKEMU_HW_PIIX3_H
#define VMKEMU_HW_PIIX3_H

#include "hw/pci.h"
#include "irq.h"

#define PIIX3_DEVICE_ID     0x7000
#define PIIX3_REVISION      0x00
#define PIIX3_DEVFN         PCI_DEVFN(1, 0)

#define PIIX3_IORT          0x4c    /* ISA I/O recovery timer, default 0x4d */
#define PIIX3_XBCS          0x4e    /* 16: X-bus chip select, default 0x0003 */
#define PIIX3_PIRQRC        0x60    /* PIRQRC[A:D]: 0x60-0x63 */
#define PIIX3_TOM           0x69    /* top of memory (ISA/DMA forwarding) */
#define PIIX3_MBIRQ0        0x70    /* motherboard IRQ routing 0-1 */
#define PIIX3_APICBASE      0x80    /* IOAPIC base address relocation */

#define PIIX3_PIRQRC_DISABLE 0x80   /* bit 7: not routed to the ISA IRQ */
#define PIIX3_PIRQRC_IRQ     0x0f   /* bits 3:0: the ISA IRQ */
/* ISA IRQs a PIRQ may be routed to: 3-7, 9-12, 14, 15. */
#define PIIX3_PIRQ_ISA_MASK  0xdef8

/* Reset control register (I/O 0xcf9). */
#define PIIX3_RC_PORT       0xcf9
#define PIIX3_RC_SRST       0x02    /* system (hard) reset with RCPU */
#define PIIX3_RC_RCPU       0x04    /* 0 -> 1: reset */

/* The IOAPIC inputs the PIRQs drive directly (APIC mode). */
#define PIIX3_PIRQ_GSI_BASE 16

typedef struct Piix3 {
    PciDevice pci;
    uint8_t pirq_level[PCI_NUM_PIRQS];  /* PIRQA-D as the bus drives them */
    uint16_t isa_levels;    /* ISA IRQs this bridge drives high now */
    uint8_t rc;             /* reset control register */
    IrqLine *isa_irq[16];   /* the ISA IRQ lines (the 8259 path) */
    IrqLine *apic_irq[PCI_NUM_PIRQS];   /* IOAPIC inputs 16-19 */
    void (*request_reset)(void *opaque);
    void *reset_opaque;
} Piix3;

/* Function 0 at 00:01.0 on `bus`, routing PIRQs to `gsi[0..15]` through
 * PIRQRC and to `gsi[16..19]` always (gsi is an array of 24 lines, e.g.
 * m->gsi).  `request_reset` is called on a 0xcf9 reset.  NULL if the
 * slot is taken. */
Piix3 *piix3_new(PciBus *bus, IrqLine *const *gsi,
                 void (*request_reset)(void *opaque), void *reset_opaque);
void piix3_free(Piix3 *s);
void piix3_reset(Piix3 *s);

#endif
