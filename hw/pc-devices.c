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
    /* SCSI adapters (they join the PCI bus; hw/pc-scsi.c). */
    if (pc_scsi_init(m, errp) < 0) {
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
    fw_cfg_free(pc->fw_cfg);
    acpi_pm_free(pc->acpi_pm);
    pc_serial_free(pc->serial);
    port92_free(pc->port92);
    i8042_free(pc->i8042);
    mc146818_rtc_free(pc->rtc);
    pc_port61_free(pc->port61);
    i8254_free(pc->pit);
    pc_scsi_free(m);
    piix3_ide_free(pc->ide);
    pc->ide = NULL;
    pc_pci_free(m);
    pc_irqchip_free(m);
    debug_ports_free(pc->debug_ports);
}
