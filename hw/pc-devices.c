/*
 * The PC's legacy devices: created in the order a PC has them, freed in
 * reverse.  One line per device; each device file registers its own ports,
 * IRQ lines and reset hook.
 */
#include "hw/pc.h"

int pc_devices_init(Machine *m, GError **errp)
{
    PCDevices *pc = m->pc;

    pc->debug_ports = debug_ports_new(m);
    return 0;
}

void pc_devices_free(Machine *m)
{
    PCDevices *pc = m->pc;

    if (!pc) {
        return;
    }
    debug_ports_free(pc->debug_ports);
}
