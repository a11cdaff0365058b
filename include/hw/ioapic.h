/*
 * The I/O APIC: 24 interrupt inputs, each routed by a redirection table
 * entry as a message on the APIC bus (include/hw/apic.h).
 * Reference: Intel 82093AA I/O Advanced Programmable Interrupt Controller
 * (IOAPIC) datasheet, order 290566 (registers: 3.1-3.2); Intel SDM vol. 3A
 * "Advanced Programmable Interrupt Controller" for the messages.  See
 * hw/ioapic.c for the model and its choices.
 */
#ifndef VMKEMU_HW_IOAPIC_H
#define VMKEMU_HW_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/apic.h"
#include "memory.h"

#define IOAPIC_DEFAULT_BASE     0xfec00000ULL
#define IOAPIC_MMIO_SIZE        0x1000
#define IOAPIC_NUM_PINS         24
#define IOAPIC_VERSION          0x11

/* Memory-mapped registers. */
#define IOAPIC_IOREGSEL         0x00
#define IOAPIC_IOWIN            0x10

/* Indirect registers (IOREGSEL values). */
#define IOAPIC_REG_ID           0x00
#define IOAPIC_REG_VERSION      0x01
#define IOAPIC_REG_ARB          0x02
#define IOAPIC_REG_REDTBL       0x10    /* entry n: 0x10 + 2n (low), +1 (high) */

/* Redirection entry fields (low dword; the destination is bits 63:56). */
#define IOAPIC_RTE_DELIVS       (1u << 12)
#define IOAPIC_RTE_POLARITY_LOW (1u << 13)
#define IOAPIC_RTE_REMOTE_IRR   (1u << 14)
#define IOAPIC_RTE_LEVEL        (1u << 15)
#define IOAPIC_RTE_MASKED       (1u << 16)

typedef struct IOApic {
    /* Guest-visible state. */
    uint8_t regsel;             /* IOREGSEL */
    uint8_t id;                 /* IOAPIC ID (register bits 27:24) */
    uint8_t arb_id;             /* arbitration ID, loaded with the ID */
    uint32_t pin_level;         /* electrical level of INTIN0-23, bit n */
    uint64_t redir[IOAPIC_NUM_PINS];

    /* Wiring. */
    ApicBus *bus;
    AddressSpace *as;
    uint64_t base;
} IOApic;

/* Create the IOAPIC at `base` on `as`, sending to `bus`, and register it
 * as the bus's EOI receiver.  NULL when the page is taken. */
IOApic *ioapic_new(AddressSpace *as, uint64_t base, ApicBus *bus);
void ioapic_free(IOApic *s);
/* Reset: ID 0, every entry masked; the pin levels are kept. */
void ioapic_reset(IOApic *s);
/* Electrical level of input `pin` (polarity is applied by the entry). */
void ioapic_set_pin(IOApic *s, int pin, int level);
/* An EOI for `vector` from a local APIC (level-triggered interrupts). */
void ioapic_eoi(IOApic *s, uint8_t vector);

/* Indirect register access without the address space (tests, monitor). */
uint32_t ioapic_reg_read(IOApic *s, uint8_t reg);
void ioapic_reg_write(IOApic *s, uint8_t reg, uint32_t value);

/* The IOAPIC's state for suspend/resume (include/vmstate.h). */
extern const struct VMStateDescription ioapic_vmstate;

#endif
