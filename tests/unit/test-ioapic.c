/*
 * Register-level tests of the IOAPIC (hw/ioapic.c) delivering to two local
 * APICs (hw/apic.c), driven through IOREGSEL/IOWIN at 0xfec00000 and the
 * APIC page at 0xfee00000; and of the PC's interrupt wiring
 * (hw/pc-irqchip.c).  Expected values follow the 82093AA datasheet.
 */
#include <glib.h>
#include "hw/apic.h"
#include "hw/i8259.h"
#include "hw/ioapic.h"
#include "hw/pc.h"

#define IOBASE  IOAPIC_DEFAULT_BASE
#define LBASE   APIC_DEFAULT_BASE

static AddressSpace *as;
static ApicBus *bus;
static LocalApic *apic[2];
static IOApic *io;
static int inits[2];
static int extint_acks;

static void hook_init(void *opaque, int cpu)
{
    inits[cpu]++;
}

static int fake_extint_ack(void *opaque)
{
    extint_acks++;
    return 0x77;
}

static void lwr(int cpu, uint32_t reg, uint32_t v)
{
    apic_set_current_cpu(cpu);
    as_mmio_write(as, LBASE + reg, v, 4);
}

static uint32_t lrd(int cpu, uint32_t reg)
{
    apic_set_current_cpu(cpu);
    return as_mmio_read(as, LBASE + reg, 4);
}

static bool irr(int cpu, int v)
{
    return (lrd(cpu, APIC_REG_IRR + (v / 32) * 0x10) >> (v % 32)) & 1;
}

static bool tmr(int cpu, int v)
{
    return (lrd(cpu, APIC_REG_TMR + (v / 32) * 0x10) >> (v % 32)) & 1;
}

static uint32_t ioread(uint8_t reg)
{
    as_mmio_write(as, IOBASE + IOAPIC_IOREGSEL, reg, 4);
    return as_mmio_read(as, IOBASE + IOAPIC_IOWIN, 4);
}

static void iowrite(uint8_t reg, uint32_t v)
{
    as_mmio_write(as, IOBASE + IOAPIC_IOREGSEL, reg, 4);
    as_mmio_write(as, IOBASE + IOAPIC_IOWIN, v, 4);
}

static void rte(int pin, uint32_t lo, uint8_t dest)
{
    iowrite(IOAPIC_REG_REDTBL + 2 * pin + 1, (uint32_t)dest << 24);
    iowrite(IOAPIC_REG_REDTBL + 2 * pin, lo);
}

static uint32_t rte_lo(int pin)
{
    return ioread(IOAPIC_REG_REDTBL + 2 * pin);
}

/* Acknowledge `vector` at `cpu` and write its EOI. */
static void ack_eoi(int cpu, int vector)
{
    g_assert_cmpint(apic_get_interrupt(apic[cpu]), ==, vector);
    lwr(cpu, APIC_REG_EOI, 0);
}

static void setup(void)
{
    vclock_set_manual(0);
    inits[0] = inits[1] = 0;
    extint_acks = 0;
    as = as_new();
    bus = apic_bus_new(as);
    apic_bus_set_hooks(bus, &(ApicCpuHooks){ .init = hook_init });
    apic_bus_set_extint(bus, fake_extint_ack, NULL);
    apic[0] = apic_new(bus, 0, NULL);
    apic[1] = apic_new(bus, 1, NULL);
    io = ioapic_new(as, IOBASE, bus);
    g_assert_nonnull(io);
    lwr(0, APIC_REG_SVR, 0x1ff);
    lwr(1, APIC_REG_SVR, 0x1ff);
}

static void teardown(void)
{
    ioapic_free(io);
    apic_bus_free(bus);
    as_free(as);
    apic_set_current_cpu(0);
}

static void test_registers(void)
{
    setup();
    g_assert_cmphex(ioread(IOAPIC_REG_ID), ==, 0);
    g_assert_cmphex(ioread(IOAPIC_REG_VERSION), ==, 0x00170011);
    g_assert_cmphex(ioread(IOAPIC_REG_ARB), ==, 0);
    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        g_assert_cmphex(rte_lo(pin), ==, 0x00010000);
        g_assert_cmphex(ioread(IOAPIC_REG_REDTBL + 2 * pin + 1), ==, 0);
    }
    /* ID: 4 bits at 27:24; the arbitration ID follows it. */
    iowrite(IOAPIC_REG_ID, 0xffffffff);
    g_assert_cmphex(ioread(IOAPIC_REG_ID), ==, 0x0f000000);
    g_assert_cmphex(ioread(IOAPIC_REG_ARB), ==, 0x0f000000);
    iowrite(IOAPIC_REG_ID, 0x02000000);
    g_assert_cmphex(ioread(IOAPIC_REG_ID), ==, 0x02000000);
    g_assert_cmphex(ioread(IOAPIC_REG_ARB), ==, 0x02000000);
    iowrite(IOAPIC_REG_ARB, 0x05000000);        /* read-only */
    g_assert_cmphex(ioread(IOAPIC_REG_ARB), ==, 0x02000000);
    iowrite(IOAPIC_REG_VERSION, 0);
    g_assert_cmphex(ioread(IOAPIC_REG_VERSION), ==, 0x00170011);
    /* Redirection entries: delivery status and Remote IRR are read-only,
     * bits 55:32 reserved. */
    iowrite(IOAPIC_REG_REDTBL + 2 * 23, 0xffffffff);
    g_assert_cmphex(rte_lo(23), ==, 0x0001afff);
    iowrite(IOAPIC_REG_REDTBL + 2 * 23 + 1, 0xffffffff);
    g_assert_cmphex(ioread(IOAPIC_REG_REDTBL + 2 * 23 + 1), ==, 0xff000000);
    g_assert_cmphex(ioread(IOAPIC_REG_REDTBL + 2 * 24), ==, 0);   /* no pin 24 */
    /* IOREGSEL reads back; narrow IOWIN accesses see bytes. */
    as_mmio_write(as, IOBASE, IOAPIC_REG_VERSION, 4);
    g_assert_cmphex(as_mmio_read(as, IOBASE, 4), ==, IOAPIC_REG_VERSION);
    g_assert_cmphex(as_mmio_read(as, IOBASE + IOAPIC_IOWIN + 2, 1), ==, 0x17);
    g_assert_cmphex(as_mmio_read(as, IOBASE + IOAPIC_IOWIN, 2), ==, 0x0011);
    as_mmio_write(as, IOBASE, IOAPIC_REG_REDTBL + 2 * 5, 4);
    as_mmio_write(as, IOBASE + IOAPIC_IOWIN, 0x45, 1);
    g_assert_cmphex(rte_lo(5), ==, 0x00010045);
    /* Reset. */
    ioapic_reset(io);
    g_assert_cmphex(ioread(IOAPIC_REG_ID), ==, 0);
    g_assert_cmphex(rte_lo(23), ==, 0x00010000);
    g_assert_cmphex(ioread(IOAPIC_REG_REDTBL + 2 * 23 + 1), ==, 0);
    teardown();
}

static void test_edge(void)
{
    setup();
    rte(4, 0x34, 1);                            /* fixed, physical, CPU 1 */
    ioapic_set_pin(io, 4, 1);
    g_assert_true(irr(1, 0x34));
    g_assert_false(irr(0, 0x34));
    g_assert_false(tmr(1, 0x34));
    ack_eoi(1, 0x34);
    ioapic_set_pin(io, 4, 1);                   /* no new edge */
    g_assert_false(irr(1, 0x34));
    ioapic_set_pin(io, 4, 0);
    g_assert_false(irr(1, 0x34));
    ioapic_set_pin(io, 4, 1);
    g_assert_true(irr(1, 0x34));
    ack_eoi(1, 0x34);
    ioapic_set_pin(io, 4, 0);
    /* An edge on a masked pin is lost, also once unmasked. */
    rte(4, IOAPIC_RTE_MASKED | 0x34, 1);
    ioapic_set_pin(io, 4, 1);
    rte(4, 0x34, 1);
    g_assert_false(irr(1, 0x34));
    ioapic_set_pin(io, 4, 0);
    /* The destination byte: physical ID 0, broadcast 0xff. */
    rte(4, 0x35, 0);
    ioapic_set_pin(io, 4, 1);
    g_assert_true(irr(0, 0x35));
    g_assert_false(irr(1, 0x35));
    ioapic_set_pin(io, 4, 0);
    rte(4, 0x36, 0xff);
    ioapic_set_pin(io, 4, 1);
    g_assert_true(irr(0, 0x36) && irr(1, 0x36));
    g_assert_cmphex(rte_lo(4) & (IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR), ==, 0);
    teardown();
}

static void test_level_remote_irr(void)
{
    setup();
    rte(9, IOAPIC_RTE_LEVEL | 0x39, 0);
    ioapic_set_pin(io, 9, 1);
    g_assert_true(irr(0, 0x39) && tmr(0, 0x39));
    g_assert_cmphex(rte_lo(9), ==, 0xc039);             /* Remote IRR */
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x39);
    /* While Remote IRR is set nothing more is sent. */
    ioapic_set_pin(io, 9, 0);
    ioapic_set_pin(io, 9, 1);
    g_assert_false(irr(0, 0x39));
    /* EOI with the pin still asserted: sent again. */
    lwr(0, APIC_REG_EOI, 0);
    g_assert_true(irr(0, 0x39));
    g_assert_cmphex(rte_lo(9), ==, 0xc039);
    /* The device lets go; the EOI clears Remote IRR, nothing is resent. */
    ioapic_set_pin(io, 9, 0);
    ack_eoi(0, 0x39);
    g_assert_false(irr(0, 0x39));
    g_assert_cmphex(rte_lo(9), ==, 0x8039);
    ioapic_set_pin(io, 9, 1);
    g_assert_true(irr(0, 0x39));
    ack_eoi(0, 0x39);                           /* resent at once... */
    g_assert_true(irr(0, 0x39));
    ioapic_set_pin(io, 9, 0);
    ack_eoi(0, 0x39);
    g_assert_cmphex(rte_lo(9), ==, 0x8039);

    /* An EOI for another vector leaves the entry alone. */
    ioapic_set_pin(io, 9, 1);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x39);
    ioapic_eoi(io, 0x3a);
    g_assert_cmphex(rte_lo(9), ==, 0xc039);
    /* Switching the entry to edge clears Remote IRR (the 82093AA idiom). */
    rte(9, 0x39, 0);
    g_assert_cmphex(rte_lo(9), ==, 0x0039);
    lwr(0, APIC_REG_EOI, 0);
    ioapic_set_pin(io, 9, 0);

    /* Masked level pin: nothing; unmasking an asserted pin sends it. */
    rte(9, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x39, 0);
    ioapic_set_pin(io, 9, 1);
    g_assert_false(irr(0, 0x39));
    rte(9, IOAPIC_RTE_LEVEL | 0x39, 0);
    g_assert_true(irr(0, 0x39));
    g_assert_cmphex(rte_lo(9), ==, 0xc039);
    /* Masking after acceptance does not cancel it (datasheet, bit 16). */
    rte(9, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x39, 0);
    g_assert_true(irr(0, 0x39));
    ack_eoi(0, 0x39);
    g_assert_false(irr(0, 0x39));               /* masked: not resent */
    g_assert_cmphex(rte_lo(9), ==, 0x18039);

    /* No local APIC takes it (destination 5): Remote IRR stays clear. */
    rte(10, IOAPIC_RTE_LEVEL | 0x3b, 5);
    ioapic_set_pin(io, 10, 1);
    g_assert_cmphex(rte_lo(10), ==, 0x803b);
    teardown();
}

static void test_polarity(void)
{
    setup();
    /* Active-low level: the idle-low pin asserts once unmasked. */
    rte(16, IOAPIC_RTE_LEVEL | IOAPIC_RTE_POLARITY_LOW | 0x50, 1);
    g_assert_true(irr(1, 0x50));
    g_assert_cmphex(rte_lo(16), ==, 0xe050);
    ioapic_set_pin(io, 16, 1);                  /* released */
    ack_eoi(1, 0x50);
    g_assert_false(irr(1, 0x50));
    g_assert_cmphex(rte_lo(16), ==, 0xa050);
    ioapic_set_pin(io, 16, 0);                  /* asserted */
    g_assert_true(irr(1, 0x50));
    ioapic_set_pin(io, 16, 1);
    ack_eoi(1, 0x50);

    /* Active-low edge: the falling edge counts. */
    ioapic_set_pin(io, 6, 1);
    rte(6, IOAPIC_RTE_POLARITY_LOW | 0x51, 1);
    g_assert_false(irr(1, 0x51));
    ioapic_set_pin(io, 6, 0);
    g_assert_true(irr(1, 0x51));
    ack_eoi(1, 0x51);
    ioapic_set_pin(io, 6, 1);
    g_assert_false(irr(1, 0x51));
    /* Active-high level with a high pin. */
    ioapic_set_pin(io, 7, 1);
    rte(7, IOAPIC_RTE_LEVEL | 0x52, 1);
    g_assert_true(irr(1, 0x52));
    teardown();
}

static void test_delivery_modes(void)
{
    setup();
    /* Logical flat destinations. */
    lwr(0, APIC_REG_LDR, 0x01000000);
    lwr(1, APIC_REG_LDR, 0x02000000);
    rte(3, APIC_ICR_LOGICAL | 0x60, 0x02);
    ioapic_set_pin(io, 3, 1);
    g_assert_false(irr(0, 0x60));
    g_assert_true(irr(1, 0x60));
    ioapic_set_pin(io, 3, 0);
    rte(3, APIC_ICR_LOGICAL | 0x61, 0x03);
    ioapic_set_pin(io, 3, 1);
    g_assert_true(irr(0, 0x61) && irr(1, 0x61));
    ioapic_set_pin(io, 3, 0);
    ack_eoi(0, 0x61);
    ack_eoi(1, 0x61);
    ack_eoi(1, 0x60);
    /* Lowest priority: the CPU with the lower TPR. */
    lwr(0, APIC_REG_TPR, 0x40);
    lwr(1, APIC_REG_TPR, 0x10);
    rte(11, APIC_ICR_LOGICAL | IOAPIC_RTE_LEVEL | APIC_DM_LOWEST << 8 | 0x70, 0x03);
    ioapic_set_pin(io, 11, 1);
    g_assert_false(irr(0, 0x70));
    g_assert_true(irr(1, 0x70) && tmr(1, 0x70));
    g_assert_cmphex(rte_lo(11) & IOAPIC_RTE_REMOTE_IRR, !=, 0);
    ioapic_set_pin(io, 11, 0);
    ack_eoi(1, 0x70);
    g_assert_cmphex(rte_lo(11) & IOAPIC_RTE_REMOTE_IRR, ==, 0);
    /* NMI. */
    rte(12, APIC_DM_NMI << 8, 0);
    ioapic_set_pin(io, 12, 1);
    g_assert_cmphex(apic_pending_events(apic[0]), ==, APIC_EVENT_NMI);
    g_assert_cmphex(apic_pending_events(apic[1]), ==, 0);
    g_assert_true(apic_take_nmi(apic[0]));
    ioapic_set_pin(io, 12, 0);
    /* INIT. */
    rte(13, APIC_DM_INIT << 8, 1);
    ioapic_set_pin(io, 13, 1);
    g_assert_cmpint(inits[1], ==, 1);
    g_assert_cmphex(lrd(1, APIC_REG_TPR), ==, 0);
    g_assert_true(apic_take_init(apic[1]));
    /* ExtINT: the CPU's INTA goes to the 8259. */
    rte(0, APIC_DM_EXTINT << 8, 0);
    ioapic_set_pin(io, 0, 1);
    g_assert_true(apic[0]->intr_level);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x77);
    g_assert_cmpint(extint_acks, ==, 1);
    g_assert_false(apic[0]->intr_level);
    /* SMI: ignored. */
    rte(14, APIC_DM_SMI << 8, 0);
    ioapic_set_pin(io, 14, 1);
    g_assert_cmphex(apic_pending_events(apic[0]), ==, 0);
    g_assert_false(apic[0]->intr_level);
    teardown();
}

/* --- the PC's wiring ---------------------------------------------------------- */

typedef struct Probe {
    int level;
} Probe;

static void probe_set(void *opaque, int n, int level)
{
    ((Probe *)opaque)->level = level;
}

static void test_pc_wiring(void)
{
    Probe intr = {0};
    Machine *m = g_new0(Machine, 1);
    GError *err = NULL;

    vclock_set_manual(0);
    m->as = as_new();
    m->pc = g_new0(PCDevices, 1);
    m->ncpus = 2;
    m->cpu_intr = irq_line_new(probe_set, &intr, 0);
    g_assert_cmpint(pc_irqchip_init(m, &err), ==, 0);
    g_assert_no_error(err);
    IOApic *pio = m->pc->ioapic;
    I8259 *pic = m->pc->pic;
    as = m->as;

    /* ISA IRQ 0 goes to 8259 input 0 and IOAPIC input 2.  (IOAPIC input 0
     * follows the 8259's INT, checked below.) */
    g_assert_cmpint(pc_isa_irq_to_gsi(0), ==, 2);
    /* The PCI inputs 16-23 start idle: high, as they are active low. */
    g_assert_cmphex(pio->pin_level >> 16, ==, 0xff);
    pc_irqchip_set(m, 0, 1);
    g_assert_cmphex(pic->chip[0].lines, ==, 0x01);
    g_assert_cmphex(pio->pin_level & 0xfffe, ==, 1u << 2);
    pc_irqchip_set(m, 0, 0);
    /* IRQ 2 (cascade) reaches no IOAPIC input; IRQ 9 is GSI 9. */
    pc_irqchip_set(m, 2, 1);
    g_assert_cmphex(pio->pin_level & 0xfffe, ==, 0);
    pc_irqchip_set(m, 9, 1);
    g_assert_cmphex(pio->pin_level & 0xfffe, ==, 1u << 9);
    g_assert_cmphex(pic->chip[1].lines, ==, 0x02);
    pc_irqchip_set(m, 9, 0);
    /* PCI lines are active low at the IOAPIC and miss the 8259. */
    pc_irqchip_set(m, 16, 1);
    g_assert_cmphex(pio->pin_level & ~1u, ==, 0xfe0000);
    pc_irqchip_set(m, 16, 0);
    g_assert_cmphex(pio->pin_level & ~1u, ==, 0xff0000);
    pc_irqchip_set(m, 16, 1);

    /* 8259 -> LINT0 (virtual wire) -> CPU 0 after reset. */
    static const struct { uint16_t port; uint8_t v; } icw[] = {
        {0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04}, {0x21, 0x01},
        {0xa0, 0x11}, {0xa1, 0x28}, {0xa1, 0x02}, {0xa1, 0x01},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(icw); i++) {
        as_port_write(m->as, icw[i].port, icw[i].v, 1);
    }
    pc_irqchip_set(m, 1, 1);
    g_assert_cmpint(intr.level, ==, 1);
    g_assert_true(pc_cpu_interrupt_pending(m, 0));
    g_assert_false(pc_cpu_interrupt_pending(m, 1));
    g_assert_true(pio->pin_level & (1u << PC_IOAPIC_PIC_PIN));
    g_assert_cmpint(m->intack(m), ==, 0x21);
    g_assert_cmpint(intr.level, ==, 0);
    g_assert_false(pc_cpu_interrupt_pending(m, 0));
    as_port_write(m->as, 0x20, 0x20, 1);
    pc_irqchip_set(m, 1, 0);

    /* The OS moves to the IOAPIC: LINT0 masked, the PIT's IRQ 0 on
     * IOAPIC input 2 to CPU 1. */
    g_assert_true(pc_cpu_intr_line(m, 1) == &pc_cpu_apic(m, 1)->intr_level);
    apic_set_current_cpu(0);
    as_mmio_write(m->as, LBASE + APIC_REG_SVR, 0x1ff, 4);
    as_mmio_write(m->as, LBASE + APIC_REG_LVT_LINT0, 0x10700, 4);
    apic_set_current_cpu(1);
    as_mmio_write(m->as, LBASE + APIC_REG_SVR, 0x1ff, 4);
    as = m->as;
    rte(2, 0x30, 1);
    pc_irqchip_set(m, 0, 1);
    g_assert_false(pc_cpu_interrupt_pending(m, 0));
    g_assert_true(pc_cpu_interrupt_pending(m, 1));
    g_assert_cmpint(pc_cpu_interrupt_ack(m, 1), ==, 0x30);
    g_assert_false(pc_cpu_interrupt_pending(m, 1));
    apic_set_current_cpu(1);
    as_mmio_write(m->as, LBASE + APIC_REG_EOI, 0, 4);
    /* The 8259 saw IRQ 0 too, but its INTR no longer reaches CPU 0. */
    g_assert_cmpint(intr.level, ==, 0);
    /* A level-triggered EOI from CPU 1 reaches the IOAPIC. */
    rte(9, IOAPIC_RTE_LEVEL | 0x39, 1);
    pc_irqchip_set(m, 9, 1);
    g_assert_cmpint(pc_cpu_interrupt_ack(m, 1), ==, 0x39);
    g_assert_cmphex(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR, !=, 0);
    pc_irqchip_set(m, 9, 0);
    apic_set_current_cpu(1);
    as_mmio_write(m->as, LBASE + APIC_REG_EOI, 0, 4);
    g_assert_cmphex(rte_lo(9) & IOAPIC_RTE_REMOTE_IRR, ==, 0);

    /* Reset puts the virtual wire back. */
    machine_run_reset_hooks(m);
    g_assert_cmphex(pc_cpu_apic(m, 0)->lvt[APIC_LVT_LINT0], ==, 0x700);
    g_assert_cmphex(rte_lo(2), ==, 0x00010000);

    pc_irqchip_free(m);
    g_assert_null(m->pc->ioapic);
    irq_line_free(m->cpu_intr);
    as_free(m->as);
    g_free(m->pc);
    g_free(m);
    as = NULL;
    apic_set_current_cpu(0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ioapic/registers", test_registers);
    g_test_add_func("/ioapic/edge", test_edge);
    g_test_add_func("/ioapic/level-remote-irr", test_level_remote_irr);
    g_test_add_func("/ioapic/polarity", test_polarity);
    g_test_add_func("/ioapic/delivery-modes", test_delivery_modes);
    g_test_add_func("/ioapic/pc-wiring", test_pc_wiring);
    return g_test_run();
}
