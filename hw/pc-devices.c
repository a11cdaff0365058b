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

static void pc_pit_reset(void *opaque)
{
    i8254_reset(opaque);
}

static void pc_port61_reset_hook(void *opaque)
{
    pc_port61_reset(opaque);
}

int pc_devices_init(Machine *m, GError **errp)
{
    PCDevices *pc = m->pc;

    pc->debug_ports = debug_ports_new(m);
    /* 8259 pair, local APICs, IOAPIC (hw/pc-irqchip.c). */
    if (pc_irqchip_init(m, errp) < 0) {
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
    /* Last: the tables describe the devices above. */
    return pc_firmware_init(m, errp);
}

void pc_devices_free(Machine *m)
{
    PCDevices *pc = m->pc;

    if (!pc) {
        return;
    }
    pc_firmware_free(m);
    fw_cfg_free(pc->fw_cfg);
    acpi_pm_free(pc->acpi_pm);
    pc_serial_free(pc->serial);
    port92_free(pc->port92);
    i8042_free(pc->i8042);
    mc146818_rtc_free(pc->rtc);
    pc_port61_free(pc->port61);
    i8254_free(pc->pit);
    pc_irqchip_free(m);
    debug_ports_free(pc->debug_ports);
}
