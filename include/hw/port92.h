/*
 * System control port A (0x92) of PS/2-class PCs: bit 0 fast CPU reset
 * (on its 0 -> 1 edge), bit 1 A20 gate (ORed with the i8042's output port).
 * Reference: IBM PS/2 Hardware Interface Technical Reference, "System
 * Control Port A".
 */
#ifndef VMKEMU_HW_PORT92_H
#define VMKEMU_HW_PORT92_H

#include "machine.h"
#include "hw/i8042.h"

#define PORT92_FAST_RESET   0x01
#define PORT92_A20          0x02

typedef struct Port92 Port92;

/* Port 0x92 of machine `m`, feeding the A20 gate of `kbc`; a reset hook
 * clears it.  NULL with *errp set if the port is taken. */
Port92 *port92_new(Machine *m, I8042 *kbc, GError **errp);
void port92_free(Port92 *p);
/* Its state for suspend/resume (include/vmstate.h). */
extern const struct VMStateDescription port92_vmstate;

#endif
