/*
 * System control port A (0x92) of PS/2-class PCs.
 * Reference: IBM PS/2 Hardware Interface Technical Reference, "System
 * Control Port A": bit 0 alternate hot reset (a 0 -> 1 change resets the
 * CPU), bit 1 alternate gate A20, bit 3 CMOS security lock, bits 7-6 fixed
 * disk activity light; the other bits are reserved and read 0.
 */
#include <glib.h>
#include "hw/port92.h"
#include "hw/pc.h"
#include "log.h"
#include "vmstate.h"

#define PORT92_WRITABLE     0xcb

struct Port92 {
    Machine *m;
    I8042 *kbc;
    uint8_t value;
};

static uint64_t port92_read(void *opaque, uint64_t off, unsigned size)
{
    Port92 *p = opaque;
    return p->value;
}

static void port92_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    Port92 *p = opaque;
    uint8_t old = p->value;

    p->value = v & PORT92_WRITABLE;
    i8042_set_a20_port92(p->kbc, p->value & PORT92_A20);
    if ((p->value & PORT92_FAST_RESET) && !(old & PORT92_FAST_RESET)) {
        vlog("port 0x92: fast reset");
        machine_request_reset(p->m, SHUTDOWN_GUEST_RESET);
    }
}

static const IoOps port92_ops = { port92_read, port92_write, 1 };

static void port92_reset(void *opaque)
{
    Port92 *p = opaque;
    p->value = 0;
    i8042_set_a20_port92(p->kbc, false);
}

/* Its A20 input is also held by the i8042, whose state restores the gate. */
const VMStateDescription port92_vmstate = {
    .name = "port92",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8(Port92, value),
        VMSTATE_END
    },
};

Port92 *port92_new(Machine *m, I8042 *kbc, GError **errp)
{
    Port92 *p = g_new0(Port92, 1);

    p->m = m;
    p->kbc = kbc;
    if (as_add_ports(m->as, "port92", 0x92, 1, &port92_ops, p) < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "port 0x92 is already taken");
        g_free(p);
        return NULL;
    }
    machine_add_reset_hook(m, port92_reset, p);
    return p;
}

void port92_free(Port92 *p)
{
    if (!p) {
        return;
    }
    as_remove_ports(p->m->as, 0x92);
    g_free(p);
}
