/*
 * PCI interrupt assignment as a PC BIOS's POST leaves it (PCI BIOS
 * Specification 2.1, "PCI IRQ routing"; Intel 82371SB PIIX3 datasheet
 * 290550, PIRQRC[A:D] and the ELCR): a machine booted with -kernel has no
 * BIOS, so vmkemu does it at power-on and after every reset:
 *
 *   - PIRQA and PIRQC go to ISA IRQ 10, PIRQB and PIRQD to IRQ 11
 *     (PIIX3 PIRQRC 0x60-0x63), two IRQs no ISA device of this PC uses;
 *   - IRQ 10 and 11 become level-triggered in the ELCR (0x4d0/0x4d1);
 *   - every function with an interrupt pin gets, in its Interrupt Line
 *     register, the IRQ its INTx reaches (slot s, pin p: PIRQ (s+p-2) mod 4).
 *
 * A guest in PIC mode then finds its PCI interrupts where an old BIOS put
 * them (Linux without ACPI IRQ routing: acpi=noirq or pci=noacpi; the
 * DSDT's _PRT describes the APIC-mode wiring only, docs/pci.md).  In APIC
 * mode the PIRQs still reach IOAPIC inputs 16-19; the ISA IRQ path is
 * unused there (IOAPIC inputs 10 and 11 stay masked).
 */
#include "hw/pc.h"
#include "hw/pci.h"
#include "hw/piix3.h"

/* ISA IRQ of PIRQA-D. */
static const uint8_t pc_pirq_irq[PCI_NUM_PIRQS] = { 10, 11, 10, 11 };

#define ELCR_PORT   0x4d0

static void pc_pci_irq_assign(void *opaque)
{
    Machine *m = opaque;
    PciBus *bus = m->pc->pci_bus;
    uint16_t level = 0;

    for (int n = 0; n < PCI_NUM_PIRQS; n++) {
        pci_bus_config_write(bus, PIIX3_DEVFN, PIIX3_PIRQRC + n, pc_pirq_irq[n], 1);
        level |= 1u << pc_pirq_irq[n];
    }
    uint16_t elcr = as_port_read(m->as, ELCR_PORT, 1) |
                    as_port_read(m->as, ELCR_PORT + 1, 1) << 8;
    elcr |= level;
    as_port_write(m->as, ELCR_PORT, elcr & 0xff, 1);
    as_port_write(m->as, ELCR_PORT + 1, elcr >> 8, 1);

    for (int devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        PciDevice *d = pci_bus_device(bus, devfn);
        int pin = d ? d->config[PCI_INTERRUPT_PIN] : 0;
        if (pin >= PCI_INTA && pin <= PCI_INTD) {
            int pirq = pci_slot_pin_to_pirq(PCI_SLOT(devfn), pin);
            pci_bus_config_write(bus, devfn, PCI_INTERRUPT_LINE, pc_pirq_irq[pirq], 1);
        }
    }
}

void pc_pci_irq_init(Machine *m)
{
    pc_pci_irq_assign(m);
    machine_add_reset_hook(m, pc_pci_irq_assign, m);
}
