/*
 * The PC machine: builds RAM, the legacy devices and the interrupt wiring,
 * loads what boots (firmware or kernel), and hands the result to the
 * accelerator.  Each device is one file under hw/; this file only wires.
 *
 * Interrupt wiring: devices raise m->gsi[n].  With a userspace irqchip the
 * line goes to our 8259 pair (and later the IOAPIC); with the accelerator's
 * own irqchip (KVM's in-kernel one) it goes to AccelOps.set_gsi.
 */
#include <errno.h>
#include <sys/mman.h>
#include "hw/pc.h"
#include "log.h"
#include "main-loop.h"

static void pc_gsi_set(void *opaque, int n, int level)
{
    Machine *m = opaque;
    if (m->accel && m->accel->set_gsi && !m->cfg->userspace_irqchip) {
        m->accel->set_gsi(m, n, level);
        return;
    }
    if (pc_hpet_owns_irq(m, n)) {
        return;     /* the PIT (IRQ0) or the RTC (IRQ8) is cut off */
    }
    pc_irqchip_set(m, n, level);
}

static void pc_cpu_intr(void *opaque, int n, int level)
{
    Machine *m = opaque;
    m->intr_pending = level;
    if (level && m->accel && m->accel->kick) {
        m->accel->kick(m, 0);
    }
}

/* Load whatever the configuration boots and set the boot CPU's state. */
static int pc_boot_load(Machine *m, GError **errp)
{
    MachineConfig *cfg = m->cfg;

    if (cfg->kernel) {
        return pc_kernel_load(m, errp);
    }
    if (cfg->bios) {
        x86_regs_reset(&m->boot_regs);
        return 0;       /* the ROM is mapped once, in machine_create */
    }
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                "nothing to boot: give -kernel FILE or -bios FILE");
    return -EINVAL;
}

Machine *machine_create(MachineConfig *cfg, GError **errp)
{
    Machine *m = g_new0(Machine, 1);
    m->cfg = cfg;
    m->ncpus = cfg->smp;
    m->a20_enabled = true;
    m->as = as_new();
    m->pc = g_new0(PCDevices, 1);
    machine_set_current(m);

    if (cfg->smp < 1 || cfg->smp > MACHINE_MAX_CPUS) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-smp: %d CPUs is out of range (1-%d)", cfg->smp, MACHINE_MAX_CPUS);
        goto fail;
    }
    if (pc_ram_init(m, errp) < 0) {
        goto fail;
    }
    for (int i = 0; i < PC_NUM_GSI; i++) {
        m->gsi[i] = irq_line_new(pc_gsi_set, m, i);
    }
    m->cpu_intr = irq_line_new(pc_cpu_intr, m, 0);

    m->accel = accel_select(cfg->accel, errp);
    if (!m->accel) {
        goto fail;
    }
    if (machine_drives_open(m, errp) < 0) {
        goto fail;
    }
    if (pc_devices_init(m, errp) < 0 || machine_drives_check(m, errp) < 0) {
        goto fail;
    }
    if (cfg->bios && pc_bios_load(m, cfg->bios, errp) < 0) {
        goto fail;
    }
    if (m->accel->init(m, errp) < 0) {
        m->accel = NULL;
        goto fail;
    }
    if (pc_boot_load(m, errp) < 0) {
        goto fail;
    }
    if (m->accel->set_regs(m, 0, &m->boot_regs) < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "-accel %s: cannot load the boot CPU state", m->accel->name);
        goto fail;
    }
    m->state = RUN_STATE_PRELAUNCH;
    return m;

fail:
    machine_destroy(m);
    return NULL;
}

int machine_start(Machine *m, GError **errp)
{
    if (m->accel->start(m, errp) < 0) {
        return -1;
    }
    m->state = RUN_STATE_RUNNING;
    return 0;
}

void machine_reset(Machine *m)
{
    GError *err = NULL;
    bool running = m->state == RUN_STATE_RUNNING;

    if (running) {
        m->accel->pause(m);
    }
    m->reset_generation++;
    machine_run_reset_hooks(m);
    if (pc_boot_load(m, &err) < 0 || m->accel->set_regs(m, 0, &m->boot_regs) < 0) {
        verror("reset: %s", err ? err->message : "cannot load the boot CPU state");
        g_clear_error(&err);
        machine_request_shutdown(m, SHUTDOWN_INTERNAL_ERROR, 1);
        return;
    }
    if (running) {
        m->accel->resume(m);
    }
}

void machine_destroy(Machine *m)
{
    if (!m) {
        return;
    }
    if (m->accel) {
        m->accel->destroy(m);
    }
    /* The disks settle while the devices their completions reach exist. */
    machine_drives_close(m);
    pc_devices_free(m);
    pc_bios_free(m);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        irq_line_free(m->gsi[i]);
    }
    irq_line_free(m->cpu_intr);
    as_free(m->as);
    if (m->ram) {
        munmap(m->ram, m->ram_size);
    }
    g_free(m->pc);
    if (current_machine() == m) {
        machine_set_current(NULL);
    }
    g_free(m);
}
