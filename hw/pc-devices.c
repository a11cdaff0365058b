/*
 * The PC's legacy devices: created in the order a PC has them, freed in
 * reverse.  One line per device; each device file registers its own ports,
 * IRQ lines and reset hook.
 */
#include "hw/pc.h"
#include "hw/i8042.h"
#include "hw/mc146818-rtc.h"
#include "hw/port92.h"

int pc_devices_init(Machine *m, GError **errp)
{
    PCDevices *pc = m->pc;

    pc->debug_ports = debug_ports_new(m);
    if (!(pc->rtc = mc146818_rtc_pc_new(m, errp))) return -1;
    if (!(pc->i8042 = i8042_new(m, errp))) return -1;
    if (!(pc->port92 = port92_new(m, pc->i8042, errp))) return -1;
    return 0;
}

void pc_devices_free(Machine *m)
{
    PCDevices *pc = m->pc;

    if (!pc) {
        return;
    }
    port92_free(pc->port92);
    i8042_free(pc->i8042);
    mc146818_rtc_free(pc->rtc);
    debug_ports_free(pc->debug_ports);
}
