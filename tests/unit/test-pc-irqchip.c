/*
 * The PC's interrupt wiring with the userspace irqchip (hw/pc-devices.c,
 * hw/pc-irqchip.c): PIT channel 0 -> GSI 0 -> 8259 master IR0 -> the CPU's
 * INTR -> m->intack, on the manual virtual clock, plus the reset hooks.
 * The machine is assembled by hand (no accelerator), the way hw/pc.c wires
 * GSIs when the userspace irqchip is in use.
 */
#include <sys/mman.h>
#include <glib.h>
#include "hw/pc.h"
#include "hw/i8254.h"
#include "hw/i8259.h"
#include "timer.h"

static int intr_rises;

static void test_gsi(void *opaque, int n, int level)
{
    pc_irqchip_set(opaque, n, level);
}

static void test_cpu_intr(void *opaque, int n, int level)
{
    Machine *m = opaque;
    if (level && !m->intr_pending) {
        intr_rises++;
    }
    m->intr_pending = level;
}

static void outb(Machine *m, uint16_t port, uint8_t v)
{
    as_port_write(m->as, port, v, 1);
}

static uint8_t inb(Machine *m, uint16_t port)
{
    return as_port_read(m->as, port, 1);
}

static Machine *machine_new_bare(void)
{
    Machine *m = g_new0(Machine, 1);
    m->cfg = g_new0(MachineConfig, 1);
    machine_config_init(m->cfg);            /* no serial ports */
    m->as = as_new();
    m->pc = g_new0(PCDevices, 1);
    machine_set_current(m);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        m->gsi[i] = irq_line_new(test_gsi, m, i);
    }
    m->cpu_intr = irq_line_new(test_cpu_intr, m, 0);
    m->cfg->ram_size = 16 << 20;            /* the firmware tables live in RAM */
    g_assert_cmpint(pc_ram_init(m, NULL), ==, 0);
    g_assert_cmpint(pc_devices_init(m, NULL), ==, 0);
    return m;
}

static void machine_free_bare(Machine *m)
{
    pc_devices_free(m);
    /* The PIC, ELCR, PIT and port 0x61 gave their ports back. */
    static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1,
                                      0x40, 0x43, 0x61 };
    for (size_t i = 0; i < G_N_ELEMENTS(ports); i++) {
        g_assert_cmpint(as_port_read(m->as, ports[i], 1), ==, 0xff);
    }
    for (int i = 0; i < PC_NUM_GSI; i++) {
        irq_line_free(m->gsi[i]);
    }
    irq_line_free(m->cpu_intr);
    as_free(m->as);
    munmap(m->ram, m->ram_size);
    g_free(m->pc);
    machine_config_clear(m->cfg);
    g_free(m->cfg);
    machine_set_current(NULL);
    g_free(m);
}

static void test_timer_interrupt_path(void)
{
    vclock_set_manual(0);
    intr_rises = 0;
    Machine *m = machine_new_bare();
    g_assert_nonnull(m->pc->pic);
    g_assert_nonnull(m->pc->pit);
    g_assert_nonnull(m->pc->port61);
    g_assert_true(m->intack == pc_irqchip_intack);

    /* BIOS-style: PIC vectors 0x08/0x70, IRQ0 only; PIT 1 kHz rate. */
    outb(m, 0x20, 0x11);
    outb(m, 0x21, 0x08);
    outb(m, 0x21, 0x04);
    outb(m, 0x21, 0x01);
    outb(m, 0xa0, 0x11);
    outb(m, 0xa1, 0x70);
    outb(m, 0xa1, 0x02);
    outb(m, 0xa1, 0x01);
    outb(m, 0x21, 0xfe);
    outb(m, 0xa1, 0xff);
    outb(m, 0x43, 0x34);
    outb(m, 0x40, 1193 & 0xff);
    outb(m, 0x40, 1193 >> 8);

    /* The control word raised OUT (a rising edge on IR0): take it. */
    g_assert_true(m->intr_pending);
    g_assert_cmpint(m->intack(m), ==, 0x08);
    outb(m, 0x20, 0x20);
    g_assert_false(m->intr_pending);

    /* Ten periods of 1193 pulses: ten interrupts, each acknowledged. */
    int taken = 0;
    for (int64_t period = 1; period <= 10; period++) {
        int64_t rise = (period * 1193 + 1) * NS_PER_SEC / I8254_CLOCK_HZ + 1;
        vclock_advance(rise - vclock_ns());
        g_assert_true(m->intr_pending);
        g_assert_cmpint(m->intack(m), ==, 0x08);
        g_assert_false(m->intr_pending);
        outb(m, 0x20, 0x20);
        taken++;
    }
    g_assert_cmpint(taken, ==, 10);
    g_assert_cmpint(intr_rises, ==, 11);

    /* Masked at the PIC: the requests stay in the IRR, INTR stays low. */
    outb(m, 0x21, 0xff);
    vclock_advance(5 * NS_PER_SEC / 1000);
    g_assert_false(m->intr_pending);
    outb(m, 0x20, 0x0a);
    g_assert_cmpint(inb(m, 0x20) & 0x01, ==, 0x01);

    /* A slave IRQ through GSI 12 arrives with the slave's vector. */
    outb(m, 0xa1, 0xef);
    outb(m, 0x21, 0xfb);
    irq_raise(m->gsi[12]);
    g_assert_true(m->intr_pending);
    g_assert_cmpint(m->intack(m), ==, 0x74);

    /* Machine reset: the reset hooks put PIC, PIT and port 0x61 back. */
    outb(m, 0x61, 0x03);
    machine_run_reset_hooks(m);
    g_assert_false(m->intr_pending);
    g_assert_cmpint(inb(m, 0x21), ==, 0x00);
    g_assert_cmpint(inb(m, 0x61) & 0x0f, ==, 0x00);
    outb(m, 0x43, 0xc2);
    g_assert_cmpint(inb(m, 0x40), ==, 0x70);        /* status after reset */
    machine_free_bare(m);
}

static void test_gsi_beyond_isa(void)
{
    vclock_set_manual(0);
    Machine *m = machine_new_bare();
    outb(m, 0x20, 0x11);
    outb(m, 0x21, 0x20);
    outb(m, 0x21, 0x04);
    outb(m, 0x21, 0x01);
    /* GSIs 16-23 belong to the IOAPIC: the PIC does not see them. */
    irq_raise(m->gsi[16]);
    irq_raise(m->gsi[23]);
    g_assert_false(m->intr_pending);
    g_assert_cmpint(m->intack(m), ==, 0x27);
    machine_free_bare(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pc-irqchip/timer-interrupt-path", test_timer_interrupt_path);
    g_test_add_func("/pc-irqchip/gsi-beyond-isa", test_gsi_beyond_isa);
    return g_test_run();
}
