/*
 * GSI delivery to the userspace interrupt controllers: ISA IRQs 0-15 go to
 * the 8259 pair.  (The IOAPIC joins with the CPU emulator issue.)
 */
#include "hw/pc.h"

void pc_irqchip_set(Machine *m, int n, int level)
{
    /* No userspace interrupt controller is modelled yet. */
}
