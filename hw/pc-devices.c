/*
 * The PC's legacy devices: created in the order a PC has them, freed in
 * reverse.  One line per device; each device file registers its own ports,
 * IRQ lines and reset hook.
 */
#include "hw/pc.h"
#include "hw/i8042.h"
#include "hw/acpi.h"
#include "hw/fw-cfg.h"
#include "hw/pc-firmware.h"
#include "hw/i8254.h"
#include "hw/mc146818-rtc.h"
#include "hw/pc-port61.h"
#include "hw/port92.h"
#include "hw/serial-16550a.h"
#include "hw/ps2.h"
#include "hw/apic.h"
#include "hw/i8259.h"
#include "hw/ioapic.h"
#include "vmstate.h"
#include "hw/pci.h"
#include "hw/i440fx.h"
#include "hw/piix3.h"
#include "hw/hpet.h"
#include "hw/ide.h"

static void pc_pit_reset(void *opaque)
{
    i8254_reset(opaque);
}

static void pc_port61_reset_hook(void *opaque)
{
    pc_port61_reset(opaque);
}

static void pc_pci_reset(void *opaque)
{
    PCDevices *pc = opaque;
    pci_bus_reset(pc->pci_bus);
    i440fx_reset(pc->i440fx);
    piix3_reset(pc->piix3);
}

static void pc_pci_request_reset(void *opaque)
{
    machine_request_reset(opaque, SHUTDOWN_GUEST_RESET);
}

/* The PCI bus with the host bridge and the ISA bridge (docs/pci.md). */
static int pc_pci_init(Machine *m, GError **errp)
{
    PCDevices *pc = m->pc;

    pc->pci_bus = pci_bus_new(m->as);
    if (pc->pci_bus) {
        pc->i440fx = i440fx_new(pc->pci_bus, m->below_4g);
        pc->piix3 = piix3_new(pc->pci_bus, m->gsi, pc_pci_request_reset, m);
    }
    if (!pc->pci_bus || !pc->i440fx || !pc->piix3) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "PCI: the configuration ports 0xcf8-0xcff are taken");
        return -1;
    }
    machine_add_reset_hook(m, pc_pci_reset, pc);
    return 0;
}

static void pc_pci_free(Machine *m)
{
    PCDevices *pc = m->pc;

    piix3_free(pc->piix3);
    pc->piix3 = NULL;
    i440fx_free(pc->i440fx);
    pc->i440fx = NULL;
    pci_bus_free(pc->pci_bus);
    pc->pci_bus = NULL;
}

/* --- the HPET (hw/hpet.c) ----------------------------------------------------
 * Outputs: IOAPIC inputs 20-23 (its route capability) and the legacy
 * replacement routes to ISA IRQ0 and IRQ8 (8259 and IOAPIC, as the PIT and
 * the RTC reach them).  While the legacy route is on, the PIT's and the
 * RTC's own interrupts are cut off (IA-PC HPET 1.0a, 2.3.10.1). */

bool pc_hpet_owns_irq(Machine *m, int n)
{
    PCDevices *pc = m->pc;
    return (n == 0 || n == 8) && pc && pc->hpet && hpet_legacy_replacement(pc->hpet);
}

static void pc_hpet_out(void *opaque, int out, int level)
{
    Machine *m = opaque;
    int irq = out == HPET_OUT_LEGACY_IRQ0 ? 0 : out == HPET_OUT_LEGACY_IRQ8 ? 8 : out;
    pc_irqchip_set(m, irq, level);
}

static void pc_hpet_legacy_changed(void *opaque, bool on)
{
    Machine *m = opaque;
    PCDevices *pc = m->pc;
    /* Hand IRQ0 and IRQ8 over at the level their new owner drives. */
    uint64_t out = pc->hpet->out_level;
    pc_irqchip_set(m, 0, on ? (int)((out >> HPET_OUT_LEGACY_IRQ0) & 1) : m->gsi[0]->level);
    pc_irqchip_set(m, 8, on ? (int)((out >> HPET_OUT_LEGACY_IRQ8) & 1) : m->gsi[8]->level);
}

static void pc_hpet_reset(void *opaque)
{
    hpet_reset(opaque);
}

/* The HPET needs the userspace interrupt controllers: not with an
 * accelerator's in-kernel irqchip (KVM's default), whose machine stays as
 * it was. */
static int pc_hpet_init(Machine *m, GError **errp)
{
    PCDevices *pc = m->pc;

    if (m->accel && m->accel->set_gsi && !m->cfg->userspace_irqchip) {
        return 0;
    }
    pc->hpet = hpet_new(m->as, HPET_DEFAULT_BASE);
    if (!pc->hpet) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "HPET: the page at 0x%llx is taken", (unsigned long long)HPET_DEFAULT_BASE);
        return -1;
    }
    pc->hpet_out = irq_lines_new(pc_hpet_out, m, HPET_NUM_OUTPUTS);
    for (int n = 0; n < 32; n++) {
        if (HPET_ROUTE_CAP & (1u << n)) {
            hpet_connect(pc->hpet, HPET_OUT_IOAPIC(n), pc->hpet_out[n]);
        }
    }
    hpet_connect(pc->hpet, HPET_OUT_LEGACY_IRQ0, pc->hpet_out[HPET_OUT_LEGACY_IRQ0]);
    hpet_connect(pc->hpet, HPET_OUT_LEGACY_IRQ8, pc->hpet_out[HPET_OUT_LEGACY_IRQ8]);
    hpet_set_legacy_hook(pc->hpet, pc_hpet_legacy_changed, m);
    machine_add_reset_hook(m, pc_hpet_reset, pc->hpet);
    return 0;
}

static void pc_hpet_free(Machine *m)
{
    PCDevices *pc = m->pc;

    hpet_free(pc->hpet);
    pc->hpet = NULL;
    if (pc->hpet_out) {
        irq_lines_free(pc->hpet_out, HPET_NUM_OUTPUTS);
        pc->hpet_out = NULL;
    }
}

int pc_devices_init(Machine *m, GError **errp)
{
    PCDevices *pc = m->pc;

    pc->debug_ports = debug_ports_new(m);
    /* 8259 pair, local APICs, IOAPIC (hw/pc-irqchip.c). */
    if (pc_irqchip_init(m, errp) < 0) {
        return -1;
    }
    if (pc_pci_init(m, errp) < 0) {
        return -1;
    }
    if (!(pc->ide = pc_ide_init(m, errp))) {
        return -1;
    }
    pc->pit = i8254_new(m->as, m->gsi[0]);
    machine_add_reset_hook(m, pc_pit_reset, pc->pit);
    pc->port61 = pc_port61_new(m->as, pc->pit);
    machine_add_reset_hook(m, pc_port61_reset_hook, pc->port61);
    if (!(pc->rtc = mc146818_rtc_pc_new(m, errp))) {
        return -1;
    }
    if (!(pc->i8042 = i8042_new(m, errp))) {
        return -1;
    }
    if (!(pc->port92 = port92_new(m, pc->i8042, errp))) {
        return -1;
    }
    if (!(pc->serial = pc_serial_new(m, errp))) {
        return -1;
    }
    pc->acpi_pm = acpi_pm_new(m);
    pc->fw_cfg = fw_cfg_new(m->as);
    if (pc_hpet_init(m, errp) < 0) {
        return -1;
    }

    /* What suspend saves, one section per device. */
    for (int i = 0; i < PC_SERIAL_PORTS; i++) {
        if (pc->serial->port[i]) {
            gchar *id = g_strdup_printf("serial.%d", i);
            machine_add_vmstate(m, id, &serial16550a_vmstate, pc->serial->port[i]);
            g_free(id);
        }
    }
    machine_add_vmstate(m, "debug-ports", &debug_ports_vmstate, pc->debug_ports);
    machine_add_vmstate(m, "i8259", &i8259_vmstate, pc->pic);
    for (int i = 0; pc->apic_bus && i < apic_bus_ncpus(pc->apic_bus); i++) {
        gchar *id = g_strdup_printf("apic.%d", i);
        machine_add_vmstate(m, id, &apic_vmstate, apic_bus_cpu(pc->apic_bus, i));
        g_free(id);
    }
    machine_add_vmstate(m, "ioapic", &ioapic_vmstate, pc->ioapic);
    machine_add_vmstate(m, "i8254", &i8254_vmstate, pc->pit);
    machine_add_vmstate(m, "port61", &pc_port61_vmstate, pc->port61);
    machine_add_vmstate(m, "mc146818-rtc", &mc146818_rtc_vmstate, pc->rtc);
    machine_add_vmstate(m, "i8042", &i8042_vmstate, pc->i8042);
    machine_add_vmstate(m, "ps2-kbd", &ps2_kbd_vmstate, i8042_keyboard(pc->i8042));
    machine_add_vmstate(m, "ps2-mouse", &ps2_mouse_vmstate, i8042_mouse(pc->i8042));
    machine_add_vmstate(m, "port92", &port92_vmstate, pc->port92);
    machine_add_vmstate(m, "acpi-pm", &acpi_pm_vmstate, pc->acpi_pm);
    machine_add_vmstate(m, "fw-cfg", &fw_cfg_vmstate, pc->fw_cfg);
    if (pc->hpet) {
        machine_add_vmstate(m, "hpet", &hpet_vmstate, pc->hpet);
    }
    /* SCSI adapters (they join the PCI bus; hw/pc-scsi.c). */
    if (pc_scsi_init(m, errp) < 0) {
        return -1;
    }
    /* Network adapters on the PCI bus, with their own state sections. */
    if (pc_net_init(m, errp) < 0) {
        return -1;
    }
    /* Every PCI function's configuration bytes, in devfn order so that the
     * bridges' PIRQ routing is back before the functions re-drive their
     * INTx; keep this after every device that joins the bus. */
    machine_add_vmstate(m, "pci-bus", &pci_bus_vmstate, pc->pci_bus);
    for (int devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
        PciDevice *d = pci_bus_device(pc->pci_bus, devfn);
        if (d) {
            gchar *id = g_strdup_printf("pci.%02x.%d", PCI_SLOT(devfn), PCI_FUNC(devfn));
            machine_add_vmstate(m, id, &pci_device_vmstate, d);
            g_free(id);
        }
    }
    /* PCI interrupt routing as a BIOS leaves it (hw/pc-pci-irq.c). */
    pc_pci_irq_init(m);
    /* Last: the tables describe the devices above. */
    return pc_firmware_init(m, errp);
}

void pc_devices_free(Machine *m)
{
    PCDevices *pc = m->pc;

    if (!pc) {
        return;
    }
    vmstate_list_free(m->vmstate);
    m->vmstate = NULL;
    pc_firmware_free(m);
    pc_hpet_free(m);
    fw_cfg_free(pc->fw_cfg);
    acpi_pm_free(pc->acpi_pm);
    pc_serial_free(pc->serial);
    port92_free(pc->port92);
    i8042_free(pc->i8042);
    mc146818_rtc_free(pc->rtc);
    pc_port61_free(pc->port61);
    i8254_free(pc->pit);
    pc_net_free(m);
    pc_scsi_free(m);
    piix3_ide_free(pc->ide);
    pc->ide = NULL;
    pc_pci_free(m);
    pc_irqchip_free(m);
    debug_ports_free(pc->debug_ports);
}
