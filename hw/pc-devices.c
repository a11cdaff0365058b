/*
 * The PC's legacy devices: created in the order a PC has them, freed in
 * reverse.  One line per device; each device file registers its own ports,
 * IRQ lines and reset hook.
 */
#include "hw/pc.h"
#include "hw/acpi.h"
#include "hw/fw-cfg.h"
#include "hw/pc-firmware.h"

int pc_devices_init(Machine *m, GError **errp)
{
    PCDevices *pc = m->pc;

    pc->debug_ports = debug_ports_new(m);
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
    debug_ports_free(pc->debug_ports);
}
