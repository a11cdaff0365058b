/*
 * The 82371SB PIIX3 function 0 at 00:01.0 (8086:7000, class 0x060100): the
 * PCI-to-ISA bridge, its PCI interrupt router and the reset control
 * register.  Reference: Intel 82371FB (PIIX) / 82371SB (PIIX3) datasheet
 * (order 290550), 2.2: PCI-to-ISA bridge configuration registers (PIRQRC
 * 0x60-0x63, TOM 0x69, XBCS 0x4e, APICBASE 0x80); the reset control
 * register at I/O 0xcf9.
 *
 * Interrupt routing.  The bus wires INTx of slot s, pin p to PIRQ
 * (s + p - 2) mod 4 (hw/core/pci.c).  Each PIRQ
 *   - drives IOAPIC input 16 + n (active low, level: m->gsi[16 + n], whose
 *     polarity hw/pc-irqchip.c applies) whatever PIRQRC says: the APIC-mode
 *     path the DSDT's _PRT describes;
 *   - drives the ISA IRQ PIRQRC[n] bits 3:0 name when bit 7 is clear and the
 *     IRQ is one of 3-7, 9-12, 14, 15: the PIC-mode path.  PIRQs routed to
 *     the same IRQ are ORed here (wire-OR of the active-low lines).  The
 *     8259 sees the request as a level only when firmware/OS set that IRQ's
 *     ELCR bit (0x4d0-0x4d1, hw/i8259.c), which PCI interrupts require.
 *     An ISA IRQ line is not shared with the ISA devices on it: routing a
 *     PIRQ to an IRQ an ISA device drives gives whichever set it last.
 *
 * Recorded but not acted on: TOM (ISA master/DMA forwarding), XBCS,
 * APICBASE (the IOAPIC stays at 0xfec00000), IORT, MBIRQ0-1.
 * Reset control: a write with RCPU (bit 2) going from 0 to 1 resets the
 * machine (SRST, hard versus soft, makes no difference here).
 */
#include "hw/piix3.h"

static bool pirq_isa_target(uint8_t rc, int *irq)
{
    *irq = rc & PIIX3_PIRQRC_IRQ;
    return !(rc & PIIX3_PIRQRC_DISABLE) && (PIIX3_PIRQ_ISA_MASK >> *irq) & 1;
}

/* Drive each ISA IRQ with the OR of the PIRQs routed to it. */
static void piix3_route_isa(Piix3 *s)
{
    uint16_t levels = 0;
    for (int n = 0; n < PCI_NUM_PIRQS; n++) {
        int irq;
        if (s->pirq_level[n] && pirq_isa_target(s->pci.config[PIIX3_PIRQRC + n], &irq)) {
            levels |= 1u << irq;
        }
    }
    uint16_t changed = levels ^ s->isa_levels;
    s->isa_levels = levels;
    for (int irq = 0; irq < 16; irq++) {
        if ((changed >> irq) & 1) {
            irq_set(s->isa_irq[irq], (levels >> irq) & 1);
        }
    }
}

static void piix3_set_pirq(void *opaque, int pirq, int level)
{
    Piix3 *s = opaque;
    s->pirq_level[pirq] = level != 0;
    irq_set(s->apic_irq[pirq], level != 0);
    piix3_route_isa(s);
}

static void piix3_config_write(PciDevice *d, uint32_t addr, uint32_t val,
                               unsigned len, const uint8_t *old)
{
    (void)val;
    (void)old;
    if (addr < PIIX3_PIRQRC + PCI_NUM_PIRQS && addr + len > PIIX3_PIRQRC) {
        piix3_route_isa(d->opaque);
    }
}

static uint8_t piix3_rc_read(void *opaque)
{
    Piix3 *s = opaque;
    return s->rc;
}

static void piix3_rc_write(void *opaque, uint8_t value)
{
    Piix3 *s = opaque;
    bool start = (value & PIIX3_RC_RCPU) && !(s->rc & PIIX3_RC_RCPU);
    s->rc = value & (PIIX3_RC_SRST | PIIX3_RC_RCPU);
    if (start && s->request_reset) {
        s->request_reset(s->reset_opaque);
    }
}

void piix3_reset(Piix3 *s)
{
    PciDevice *d = &s->pci;
    pci_device_reset(d);
    pci_set_word(d->config + PCI_COMMAND,
                 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    d->config[PIIX3_IORT] = 0x4d;
    pci_set_word(d->config + PIIX3_XBCS, 0x0003);
    for (int n = 0; n < PCI_NUM_PIRQS; n++) {
        d->config[PIIX3_PIRQRC + n] = PIIX3_PIRQRC_DISABLE;
    }
    d->config[PIIX3_TOM] = 0x02;
    d->config[PIIX3_MBIRQ0] = 0x80;
    d->config[PIIX3_MBIRQ0 + 1] = 0x80;
    d->config[PIIX3_APICBASE] = 0x00;
    s->rc = 0;
    piix3_route_isa(s);
}

Piix3 *piix3_new(PciBus *bus, IrqLine *const *gsi,
                 void (*request_reset)(void *opaque), void *reset_opaque)
{
    Piix3 *s = g_new0(Piix3, 1);
    PciDevice *d = &s->pci;

    pci_device_init(d, "piix3", PCI_VENDOR_INTEL, PIIX3_DEVICE_ID,
                    PCI_CLASS_BRIDGE_ISA, PIIX3_REVISION);
    d->opaque = s;
    d->config_write = piix3_config_write;
    for (int i = 0; i < 16; i++) {
        s->isa_irq[i] = gsi[i];
    }
    for (int n = 0; n < PCI_NUM_PIRQS; n++) {
        s->apic_irq[n] = gsi[PIIX3_PIRQ_GSI_BASE + n];
        d->wmask[PIIX3_PIRQRC + n] = PIIX3_PIRQRC_DISABLE | PIIX3_PIRQRC_IRQ;
    }
    d->wmask[PIIX3_IORT] = 0x7f;
    pci_set_word(d->wmask + PIIX3_XBCS, 0x07ff);
    d->wmask[PIIX3_TOM] = 0xfe;
    d->wmask[PIIX3_MBIRQ0] = 0xcf;
    d->wmask[PIIX3_MBIRQ0 + 1] = 0xcf;
    d->wmask[PIIX3_APICBASE] = 0x7f;
    s->request_reset = request_reset;
    s->reset_opaque = reset_opaque;
    piix3_reset(s);
    if (pci_bus_add_device(bus, d, PIIX3_DEVFN) < 0) {
        g_free(s);
        return NULL;
    }
    pci_bus_set_pirq_handler(bus, piix3_set_pirq, s);
    pci_bus_set_port_cf9(bus, &(PciPortHook){ piix3_rc_read, piix3_rc_write, s });
    return s;
}

void piix3_free(Piix3 *s)
{
    if (!s) {
        return;
    }
    PciBus *bus = s->pci.bus;
    if (bus) {
        pci_bus_set_pirq_handler(bus, NULL, NULL);
        pci_bus_set_port_cf9(bus, NULL);
    }
    /* Let go of the lines this bridge holds. */
    for (int irq = 0; irq < 16; irq++) {
        if ((s->isa_levels >> irq) & 1) {
            irq_set(s->isa_irq[irq], 0);
        }
    }
    for (int n = 0; n < PCI_NUM_PIRQS; n++) {
        if (s->pirq_level[n]) {
            irq_set(s->apic_irq[n], 0);
        }
    }
    pci_bus_remove_device(&s->pci);
    g_free(s);
}
