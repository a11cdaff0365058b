/*
 * The PC's COM ports: up to four 16550A UARTs at the addresses and IRQs
 * every PC BIOS and OS assumes (COM1 0x3f8 IRQ4, COM2 0x2f8 IRQ3, COM3
 * 0x3e8 IRQ4, COM4 0x2e8 IRQ3), one per -serial option, each on the
 * character backend that option names.
 *
 * COM1/COM3 and COM2/COM4 share an ISA line.  On a PC a UART whose OUT2 is
 * off leaves the line alone, so the shared line is the OR of the OUT2-gated
 * outputs of the UARTs on it; each UART gets its own output line and this
 * file combines them.
 */
#include <errno.h>
#include "hw/pc.h"
#include "hw/serial-16550a.h"

const uint16_t pc_serial_base[PC_SERIAL_PORTS] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
const int pc_serial_irq[PC_SERIAL_PORTS] = { 4, 3, 4, 3 };

static void pc_serial_output(void *opaque, int n, int level)
{
    PCSerial *ps = opaque;
    int shared = 0;

    for (int i = 0; i < PC_SERIAL_PORTS; i++) {
        if (ps->out[i] && ps->gsi[i] == ps->gsi[n]) {
            shared |= ps->out[i]->level;
        }
    }
    irq_set(ps->gsi[n], shared);
}

static void pc_serial_reset(void *opaque)
{
    Serial16550A *s = opaque;
    serial16550a_reset(s);
}

PCSerial *pc_serial_new(Machine *m, GError **errp)
{
    PCSerial *ps = g_new0(PCSerial, 1);
    MachineConfig *cfg = m->cfg;

    for (int i = 0; i < cfg->nserial && i < PC_SERIAL_PORTS; i++) {
        if (!cfg->serial[i]) {
            continue;
        }
        ps->chr[i] = chardev_open(cfg->serial[i], errp);
        if (!ps->chr[i]) {
            g_prefix_error(errp, "-serial ");
            pc_serial_free(ps);
            return NULL;
        }
        ps->gsi[i] = m->gsi[pc_serial_irq[i]];
        ps->out[i] = irq_line_new(pc_serial_output, ps, i);
        ps->port[i] = serial16550a_new(m->as, pc_serial_base[i], ps->out[i],
                                       ps->chr[i]);
        if (!ps->port[i]) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                        "-serial %s: COM%d ports 0x%x-0x%x are already taken",
                        cfg->serial[i], i + 1, pc_serial_base[i],
                        pc_serial_base[i] + 7);
            pc_serial_free(ps);
            return NULL;
        }
        machine_add_reset_hook(m, pc_serial_reset, ps->port[i]);
    }
    return ps;
}

void pc_serial_free(PCSerial *ps)
{
    if (!ps) {
        return;
    }
    for (int i = PC_SERIAL_PORTS - 1; i >= 0; i--) {
        serial16550a_free(ps->port[i]);
        chardev_close(ps->chr[i]);
        irq_line_free(ps->out[i]);
    }
    g_free(ps);
}
