/*
 * The PC's legacy devices: created in the order a PC has them, freed in
 * reverse.  One line per device; each device file registers its own ports,
 * IRQ lines and reset hook.
 */
#include "hw/pc.h"
#include "hw/serial-16550a.h"

int pc_devices_init(Machine *m, GError **errp)
{
    PCDevices *pc = m->pc;

    pc->debug_ports = debug_ports_new(m);
    if (!(pc->serial = pc_serial_new(m, errp))) {
        return -1;
    }
    return 0;
}

void pc_devices_free(Machine *m)
{
    PCDevices *pc = m->pc;

    if (!pc) {
        return;
    }
    pc_serial_free(pc->serial);
    debug_ports_free(pc->debug_ports);
}
