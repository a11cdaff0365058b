/*
 * GSI delivery to the userspace interrupt controllers: ISA IRQs 0-15 go to
 * the 8259 pair.  (The IOAPIC joins with the CPU emulator issue.)
 */
#include "hw/pc.h"
#include "hw/i8259.h"

void pc_irqchip_set(Machine *m, int n, int level)
{
    if (m->pc && m->pc->pic && n >= 0 && n < 16) {
        i8259_set_irq(m->pc->pic, n, level);
    }
}

int pc_irqchip_intack(Machine *m)
{
    if (!m->pc || !m->pc->pic) {
        return -1;
    }
    return i8259_intack(m->pc->pic);
}
