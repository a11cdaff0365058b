/*
 * System control port B at I/O port 0x61 of the PC/AT: the gate of PIT
 * channel 2, the speaker data enable, the memory refresh toggle and the
 * channel 2 OUT.  See hw/pc-port61.c.
 */
#ifndef VMKEMU_HW_PC_PORT61_H
#define VMKEMU_HW_PC_PORT61_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/i8254.h"

#define PC_PORT61               0x61
#define PC_PORT61_GATE2         0x01    /* r/w: PIT channel 2 gate */
#define PC_PORT61_SPEAKER       0x02    /* r/w: speaker data enable */
#define PC_PORT61_PARITY_OFF    0x04    /* r/w: parity check disable */
#define PC_PORT61_IOCHK_OFF     0x08    /* r/w: channel check disable */
#define PC_PORT61_REFRESH       0x10    /* r/o: toggles every refresh cycle */
#define PC_PORT61_OUT2          0x20    /* r/o: PIT channel 2 OUT */
/* One refresh cycle: 18 PIT input clocks, about 15.09 us. */
#define PC_PORT61_REFRESH_NS    15085

typedef struct PCPort61 {
    I8254 *pit;
    AddressSpace *as;
    uint8_t control;        /* bits 0-3 as last written */
    bool speaker_on;        /* gate 2 and data enable both set */
} PCPort61;

PCPort61 *pc_port61_new(AddressSpace *as, I8254 *pit);
void pc_port61_free(PCPort61 *p);
/* Bits 0-3 clear: gate 2 low, speaker off. */
void pc_port61_reset(PCPort61 *p);
/* Its state for suspend/resume (include/vmstate.h). */
extern const struct VMStateDescription pc_port61_vmstate;

#endif
