/*
 * The PC/AT pair of Intel 8259A programmable interrupt controllers: the
 * master at ports 0x20-0x21 driving the CPU's INTR pin, the slave at
 * 0xa0-0xa1 cascaded on the master's IR2, and the edge/level control
 * registers (ELCR) of the PC chipsets at 0x4d0-0x4d1.
 * Reference: Intel 8259A datasheet (order 231468); PIIX/PIIX3 datasheet
 * for the ELCR.  See hw/i8259.c for the model and its choices.
 */
#ifndef VMKEMU_HW_I8259_H
#define VMKEMU_HW_I8259_H

#include <stdbool.h>
#include <stdint.h>
#include "irq.h"
#include "memory.h"

#define I8259_MASTER_BASE   0x20
#define I8259_SLAVE_BASE    0xa0
#define I8259_ELCR_BASE     0x4d0
#define I8259_CASCADE_IRQ   2       /* master input the slave's INT drives */

/* One 8259A.  Plain fields so that saving the state is a table. */
typedef struct I8259Chip {
    uint8_t irr;            /* interrupt request register */
    uint8_t isr;            /* in-service register */
    uint8_t imr;            /* interrupt mask register (OCW1) */
    uint8_t lines;          /* current level of the IR0-7 inputs */
    uint8_t lowest;         /* level with the lowest priority (7 after ICW1) */
    uint8_t icw1, icw2, icw3, icw4;
    uint8_t init_step;      /* 0: operating; 2, 3, 4: next write is ICWn */
    uint8_t elcr;           /* edge/level control: 1 = level triggered */
    uint8_t elcr_mask;      /* ELCR bits that exist (the others read 0) */
    bool read_isr;          /* OCW3 RR/RIS: reads at A0=0 return ISR */
    bool poll;              /* OCW3 P: the next read is a poll */
    bool special_mask;      /* OCW3 SMM */
    bool rotate_aeoi;       /* OCW2 rotate in automatic EOI mode */
    bool int_out;           /* level of the INT pin */
    bool wired_master;      /* SP/EN strapping: master when not buffered */
} I8259Chip;

typedef struct I8259 {
    I8259Chip chip[2];      /* [0] master, [1] slave */
    IrqLine *intr;          /* the master's INT: the CPU's INTR pin */
    AddressSpace *as;
} I8259;

/* Create the pair on `as` (ports 0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1) with
 * the master's INT driving `intr`.  The state is as after i8259_reset. */
I8259 *i8259_new(AddressSpace *as, IrqLine *intr);
/* Remove the ports and free the state. */
void i8259_free(I8259 *pic);
/* Power-on state: not initialised, nothing masked, nothing pending,
 * vector base 0, ELCR all edge.  The input levels are kept. */
void i8259_reset(I8259 *pic);

/* Set the level of ISA interrupt input `irq` (0-7 master, 8-15 slave).
 * IRQ 2 is the cascade input, driven only by the slave: setting it from
 * outside does nothing. */
void i8259_set_irq(I8259 *pic, int irq, int level);

/* The INTA cycle the CPU runs when it takes INTR: returns the vector
 * (0-255), the slave supplying it when the master's request came from the
 * cascade.  With nothing to acknowledge the answer is the spurious IR7 of
 * the master (or of the slave, when the master acknowledged the cascade
 * and the slave had nothing). */
int i8259_intack(I8259 *pic);

/* Level of the master's INT output (the CPU's INTR). */
bool i8259_intr_level(const I8259 *pic);

/* The pair's state for suspend/resume (include/vmstate.h). */
extern const struct VMStateDescription i8259_vmstate;

#endif
