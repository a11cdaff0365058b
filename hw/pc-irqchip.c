/*
 * The PC's userspace interrupt controllers and their wiring: the 8259 pair
 * (hw/i8259.c), one local APIC per CPU (hw/apic.c) and the IOAPIC
 * (hw/ioapic.c).  The routing of GSIs is described once, in include/hw/pc.h
 * (pc_isa_irq_to_gsi); the ACPI MADT describes the same to the guest.
 *
 *   device -> m->gsi[n] -> pc_irqchip_set -> 8259 input n (n < 16)
 *                                         -> IOAPIC input (ISA 0 -> 2)
 *   8259 INT -> LINT0 of every local APIC, and IOAPIC input 0
 *   IOAPIC -> APIC bus -> local APICs;   local APIC EOI -> IOAPIC
 *   local APIC n -> CPU n's INTR (CPU 0's also m->cpu_intr, m->intr_pending)
 *
 * The CPU emulator asks for interrupts per CPU (pc_cpu_*, include/hw/apic.h);
 * KVM's userspace-irqchip mode uses m->intr_pending and m->intack, which are
 * CPU 0's.  Under an in-kernel irqchip these models stay idle.
 */
#include <errno.h>
#include "hw/pc.h"
#include "hw/apic.h"
#include "hw/i8259.h"
#include "hw/ioapic.h"

void pc_irqchip_set(Machine *m, int n, int level)
{
    PCDevices *pc = m->pc;

    if (!pc || n < 0) {
        return;
    }
    if (n < 16) {
        if (pc->pic) {
            i8259_set_irq(pc->pic, n, level);
        }
        int gsi = pc_isa_irq_to_gsi(n);
        if (pc->ioapic && gsi >= 0) {
            ioapic_set_pin(pc->ioapic, gsi, level);
        }
    } else if (pc->ioapic) {
        ioapic_set_pin(pc->ioapic, n, !level);      /* PCI: active low */
    }
}

/* The 8259's INT output: LINT0 of every CPU and IOAPIC input 0. */
static void pc_pic_output(void *opaque, int n, int level)
{
    Machine *m = opaque;
    PCDevices *pc = m->pc;

    if (pc->apic_bus) {
        for (int i = 0; i < apic_bus_ncpus(pc->apic_bus); i++) {
            LocalApic *s = apic_bus_cpu(pc->apic_bus, i);
            if (s) {
                apic_set_lint(s, 0, level);
            }
        }
    } else {
        irq_set(m->cpu_intr, level);
    }
    if (pc->ioapic) {
        ioapic_set_pin(pc->ioapic, PC_IOAPIC_PIC_PIN, level);
    }
}

static int pc_pic_extint_ack(void *opaque)
{
    I8259 *pic = opaque;
    return i8259_intack(pic);
}

static void pc_cpu_kick(void *opaque, int cpu)
{
    Machine *m = opaque;
    if (m->accel && m->accel->kick) {
        m->accel->kick(m, cpu);
    }
}

LocalApic *pc_cpu_apic(Machine *m, int cpu)
{
    return m->pc && m->pc->apic_bus ? apic_bus_cpu(m->pc->apic_bus, cpu) : NULL;
}

const volatile bool *pc_cpu_intr_line(Machine *m, int cpu)
{
    LocalApic *s = pc_cpu_apic(m, cpu);
    if (s) {
        return &s->intr_level;
    }
    return cpu == 0 ? &m->intr_pending : NULL;
}

bool pc_cpu_interrupt_pending(Machine *m, int cpu)
{
    const volatile bool *line = pc_cpu_intr_line(m, cpu);
    return line && __atomic_load_n(line, __ATOMIC_ACQUIRE);
}

int pc_cpu_interrupt_ack(Machine *m, int cpu)
{
    LocalApic *s = pc_cpu_apic(m, cpu);
    if (s) {
        return apic_get_interrupt(s);
    }
    if (cpu == 0 && m->pc && m->pc->pic) {
        return i8259_intack(m->pc->pic);
    }
    return -1;
}

void pc_cpu_set_hooks(Machine *m, const ApicCpuHooks *hooks)
{
    if (m->pc && m->pc->apic_bus) {
        apic_bus_set_hooks(m->pc->apic_bus, hooks);
    }
}

int pc_irqchip_intack(Machine *m)
{
    return pc_cpu_interrupt_ack(m, 0);
}

static void pc_pic_reset(void *opaque)
{
    i8259_reset(opaque);
}

static void pc_apic_reset(void *opaque)
{
    apic_bus_reset(opaque);
}

static void pc_ioapic_reset(void *opaque)
{
    ioapic_reset(opaque);
}

int pc_irqchip_init(Machine *m, GError **errp)
{
    PCDevices *pc = m->pc;
    int ncpus = m->ncpus > 0 ? m->ncpus : 1;

    /* The 8259 pair is always there; under an in-kernel irqchip the
     * accelerator handles its ports itself and this model stays idle. */
    pc->pic_intr = irq_line_new(pc_pic_output, m, 0);
    pc->pic = i8259_new(m->as, pc->pic_intr);
    m->intack = pc_irqchip_intack;
    machine_add_reset_hook(m, pc_pic_reset, pc->pic);

    pc->apic_bus = apic_bus_new(m->as);
    apic_bus_set_extint(pc->apic_bus, pc_pic_extint_ack, pc->pic);
    apic_bus_set_hooks(pc->apic_bus, &(ApicCpuHooks){ .opaque = m, .kick = pc_cpu_kick });
    for (int i = 0; i < ncpus; i++) {
        if (!apic_new(pc->apic_bus, i, i == 0 ? m->cpu_intr : NULL)) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                        "local APIC: the page at 0x%llx is taken",
                        (unsigned long long)APIC_DEFAULT_BASE);
            return -EEXIST;
        }
    }
    machine_add_reset_hook(m, pc_apic_reset, pc->apic_bus);

    pc->ioapic = ioapic_new(m->as, IOAPIC_DEFAULT_BASE, pc->apic_bus);
    if (!pc->ioapic) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "IOAPIC: the page at 0x%llx is taken",
                    (unsigned long long)IOAPIC_DEFAULT_BASE);
        return -EEXIST;
    }
    /* The PCI inputs are active low: idle means high.  Start them from the
     * lines' levels (deasserted unless a device already drives them). */
    for (int n = 16; n < PC_NUM_GSI; n++) {
        ioapic_set_pin(pc->ioapic, n, !(m->gsi[n] && m->gsi[n]->level));
    }
    machine_add_reset_hook(m, pc_ioapic_reset, pc->ioapic);
    return 0;
}

void pc_irqchip_free(Machine *m)
{
    PCDevices *pc = m->pc;

    if (!pc) {
        return;
    }
    ioapic_free(pc->ioapic);
    pc->ioapic = NULL;
    apic_bus_free(pc->apic_bus);
    pc->apic_bus = NULL;
    i8259_free(pc->pic);
    pc->pic = NULL;
    irq_line_free(pc->pic_intr);
    pc->pic_intr = NULL;
}
