/*
 * System control port B (I/O port 0x61) of the PC/AT.
 *
 * Reference: IBM PC/AT Technical Reference, system board I/O port 0x61;
 * Intel PIIX/PIIX3 datasheet, NMI status and control register (NMISC).
 * Writes: bit 0 gates PIT channel 2, bit 1 enables the speaker data (the
 * speaker sounds channel 2's OUT when both are set), bits 2-3 disable the
 * parity and channel-check NMIs.  Reads: bits 0-3 as written, bit 4 the
 * refresh-request toggle (flips every refresh cycle of ~15 us of virtual
 * time), bit 5 channel 2's OUT, bits 6-7 (channel check / parity error
 * status) read 0: no such errors are modelled.
 */
#include <glib.h>
#include "hw/pc-port61.h"
#include "log.h"
#include "timer.h"
#include "vmstate.h"

static void port61_update_speaker(PCPort61 *p)
{
    bool on = (p->control & (PC_PORT61_GATE2 | PC_PORT61_SPEAKER)) ==
              (PC_PORT61_GATE2 | PC_PORT61_SPEAKER);
    if (on == p->speaker_on) {
        return;
    }
    p->speaker_on = on;
    if (on) {
        double hz = i8254_get_frequency(p->pit, 2);
        if (hz > 0) {
            vlog("pc speaker: on, %.0f Hz", hz);
        } else {
            vlog("pc speaker: on (no tone programmed on PIT channel 2)");
        }
    } else {
        vlog("pc speaker: off");
    }
}

static uint64_t port61_read(void *opaque, uint64_t off, unsigned size)
{
    PCPort61 *p = opaque;
    uint8_t v = p->control & 0x0f;

    if ((vclock_ns() / PC_PORT61_REFRESH_NS) & 1) {
        v |= PC_PORT61_REFRESH;
    }
    if (i8254_get_out(p->pit, 2)) {
        v |= PC_PORT61_OUT2;
    }
    return v;
}

static void port61_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    PCPort61 *p = opaque;

    p->control = v & 0x0f;
    i8254_set_gate(p->pit, 2, v & PC_PORT61_GATE2);
    port61_update_speaker(p);
}

static const IoOps port61_ops = { port61_read, port61_write, 1 };

void pc_port61_reset(PCPort61 *p)
{
    port61_write(p, 0, 0, 1);
}

/* Gate 2 itself is part of the PIT's state. */
const VMStateDescription pc_port61_vmstate = {
    .name = "port61",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8(PCPort61, control),
        VMSTATE_BOOL(PCPort61, speaker_on),
        VMSTATE_END
    },
};

PCPort61 *pc_port61_new(AddressSpace *as, I8254 *pit)
{
    PCPort61 *p = g_new0(PCPort61, 1);
    p->as = as;
    p->pit = pit;
    pc_port61_reset(p);
    as_add_ports(as, "port61", PC_PORT61, 1, &port61_ops, p);
    return p;
}

void pc_port61_free(PCPort61 *p)
{
    if (!p) {
        return;
    }
    as_remove_ports(p->as, PC_PORT61);
    g_free(p);
}
