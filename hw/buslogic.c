/*
 * The BusLogic BT-958 MultiMaster PCI SCSI host adapter (104b:1040): the
 * virtual SCSI adapter of ESX Server ("vmxbuslogic"/"buslogic" in a .cfg).
 *
 * Reference: BusLogic MultiMaster Ultra SCSI Host Adapters for PCI Systems,
 * Technical Reference Manual: the four registers (control/status,
 * command-parameter/data-in, interrupt, geometry), the host adapter
 * commands, 24- and 32-bit mailboxes and CCBs.  Field layouts and opcode
 * values as drivers for the board define them (Linux BusLogic.h, FreeBSD
 * btreg.h), taken as facts.  docs/scsi.md has the model's limits.
 *
 * The guest talks to the firmware through the command register: an opcode,
 * its parameter bytes, then reply bytes read from the data-in register
 * while DATA IN READY is set.  While a command runs HOST ADAPTER READY is
 * clear; when it ends (last parameter taken and no reply, or last reply
 * byte read) READY comes back and COMMAND COMPLETE raises an interrupt,
 * except for Start Mailbox Command (a doorbell) and Modify I/O Address.  A
 * bad opcode or parameter sets COMMAND INVALID with the completion.
 *
 * SCSI commands travel in CCBs named by outgoing mailboxes; the doorbell
 * (command 0x02) makes the adapter take every started outgoing mailbox (only
 * the next one in turn with strict round robin), run its CCB on the target
 * synchronously, write the statuses (and the residual, for the residual
 * CCB opcodes) back into the CCB, DMA the sense data of a CHECK CONDITION,
 * and post the CCB to the next incoming mailbox with INCOMING MAILBOX
 * LOADED.  When that incoming mailbox is still in use the adapter stops
 * and looks again 100 us later.
 *
 * Interrupts: INTx A while the interrupt register's INTERRUPT VALID bit is
 * set and interrupts are enabled (command 0x25); the interrupt reset bit of
 * the control register clears the register (and COMMAND INVALID).
 *
 * Resets: hard and soft reset run the adapter's diagnostics (DIAGNOSTIC
 * ACTIVE for the next two status reads), drop the mailbox setup (INIT
 * REQUIRED) and any command; a hard reset and the SCSI bus reset bit also
 * reset the targets, which report a unit attention afterwards.
 *
 * DMA goes to the PCI bus's address space whatever the command register's
 * bus master bit says: the board's BIOS sets it, and a guest booted with
 * -kernel has no BIOS before the driver (Linux's does not set it).
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "hw/buslogic.h"
#include "memory.h"
#include "vmstate.h"
#include "log.h"

/* What the board answers about itself: a BT-958, firmware 5.07B. */
#define BOARD_TYPE          'A'
#define BOARD_FEATURES      'A'
#define FW_DIGIT1           '5'
#define FW_DIGIT2           '0'
#define FW_DIGIT3           '7'
#define FW_LETTER           'B'
static const char board_model[5] = { '9', '5', '8', ' ', 0 };

#define ISA_PORT_DISABLED   6
#define DIAG_STATUS_READS   2
#define RETRY_NS            100000      /* look at a full inbox again */

static uint32_t le32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}
static uint32_t be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | p[1] << 8 | p[2];
}
static void put_be24(uint8_t *p, uint32_t v)
{
    p[0] = v >> 16; p[1] = v >> 8; p[2] = v;
}

static AddressSpace *dma_as(BusLogic *s)
{
    return s->pci.bus ? pci_bus_as(s->pci.bus) : NULL;
}

static void dma_read(BusLogic *s, uint32_t addr, void *buf, uint32_t len)
{
    AddressSpace *as = dma_as(s);
    if (as) {
        as_read(as, addr, buf, len);
    } else {
        memset(buf, 0xff, len);
    }
}

static void dma_write(BusLogic *s, uint32_t addr, const void *buf, uint32_t len)
{
    AddressSpace *as = dma_as(s);
    if (as) {
        as_write(as, addr, buf, len);
    }
}

/* ------------------------------------------------------------------------
 * Registers and interrupts
 * ------------------------------------------------------------------------ */

static void update_irq(BusLogic *s)
{
    if (s->pci.bus) {
        pci_set_irq(&s->pci, (s->intr & BUSLOGIC_INT_VALID) && s->int_enabled);
    }
}

static void raise_int(BusLogic *s, uint8_t bits)
{
    s->intr |= bits | BUSLOGIC_INT_VALID;
    update_irq(s);
}

uint8_t buslogic_status(const BusLogic *s)
{
    if (s->diag_reads) {
        return BUSLOGIC_STAT_DIAG_ACTIVE;
    }
    uint8_t st = 0;
    if (!s->cmd_active) {
        st |= BUSLOGIC_STAT_READY;
    } else if (s->reply_pos < s->reply_len) {
        st |= BUSLOGIC_STAT_DATA_IN_READY;
    }
    if (!s->mbox_ready) {
        st |= BUSLOGIC_STAT_INIT_REQUIRED;
    }
    if (s->cmd_invalid) {
        st |= BUSLOGIC_STAT_CMD_INVALID;
    }
    return st;
}

/* BIOS geometry code of the disk at ID `id`: 0 none, 1 64x32, 2 128x32,
 * 3 255x63, as extended translation picks it by size. */
static uint8_t geometry_code(const BusLogic *s, int id)
{
    const ScsiDisk *d = &s->target[id];
    if (!d->present || d->type != SCSI_TYPE_DISK) {
        return 0;
    }
    uint64_t blocks = scsi_disk_blocks(d);
    return blocks >= 4 * 1024 * 1024 ? 3 : blocks >= 2 * 1024 * 1024 ? 2 : 1;
}

static uint8_t geometry_register(const BusLogic *s)
{
    return BUSLOGIC_GEOM_EXT_TRANSLATION | geometry_code(s, 0) | geometry_code(s, 1) << 2;
}

static uint16_t present_mask(const BusLogic *s)
{
    uint16_t m = 0;
    for (int i = 0; i < SCSI_MAX_TARGETS; i++) {
        if (s->target[i].present) {
            m |= 1u << i;
        }
    }
    return m;
}

/* ------------------------------------------------------------------------
 * Resets
 * ------------------------------------------------------------------------ */

static void reset_targets(BusLogic *s, uint16_t asc)
{
    for (int i = 0; i < SCSI_MAX_TARGETS; i++) {
        scsi_disk_reset(&s->target[i], asc);
    }
}

/* Adapter reset: the firmware state returns to power-on. */
static void adapter_reset(BusLogic *s, bool diagnostics)
{
    s->intr = 0;
    s->cmd_invalid = false;
    s->cmd_active = false;
    s->cmd = 0;
    s->param_count = s->param_need = 0;
    s->reply_len = s->reply_pos = 0;
    s->mbox_ready = false;
    s->mbox_24bit = false;
    s->mbox_base = 0;
    s->mbox_count = 0;
    s->mbo_next = s->mbi_next = 0;
    s->strict_round_robin = false;
    s->ext_lun_ccb = false;
    s->ombr_int = false;
    s->int_enabled = true;
    s->diag_reads = diagnostics ? DIAG_STATUS_READS : 0;
    if (s->retry) {
        vtimer_del(s->retry);
    }
    update_irq(s);
}

/* The AutoSCSI settings in local RAM (bytes 64-127), as the board's
 * setup utility leaves them for a wide Ultra adapter at ID 7. */
static void local_ram_init(BusLogic *s)
{
    uint8_t *a = s->local_ram + BUSLOGIC_AUTOSCSI_OFFSET;
    memset(s->local_ram, 0, sizeof(s->local_ram));
    a[2] = 64;                              /* AutoSCSI data size */
    memcpy(a + 3, "958   ", 6);             /* adapter type */
    a[10] = 0x04;                           /* level-sensitive interrupt */
    a[14] = BUSLOGIC_SCSI_ID;
    a[15] = 0x01 | 0x02 | 0x04 | 0x10 | 0x20 | 0x80;  /* terminators, parity,
                                              fast sync, bus reset, negation */
    a[18] = 0x04;                           /* extended translation */
    for (int i = 19; i <= 28; i++) {
        a[i] = 0xff;                        /* devices, wide, fast, sync, disconnect */
    }
    a[33] = 0x10;                           /* INTA, strict round robin */
    a[34] = a[35] = 0xff;                   /* ultra permitted */
    a[41] = 7;                              /* AutoSCSI max LUN */
}

void buslogic_reset(BusLogic *s)
{
    pci_device_reset(&s->pci);
    adapter_reset(s, false);
    reset_targets(s, SCSI_ASC_POWER_ON_RESET);
}

static void control_write(BusLogic *s, uint8_t v)
{
    if (v & BUSLOGIC_CTRL_HARD_RESET) {
        adapter_reset(s, true);
        reset_targets(s, SCSI_ASC_BUS_RESET);
        return;
    }
    if (v & BUSLOGIC_CTRL_SOFT_RESET) {
        adapter_reset(s, true);
        return;
    }
    if (v & BUSLOGIC_CTRL_INT_RESET) {
        s->intr = 0;
        s->cmd_invalid = false;
        update_irq(s);
    }
    if (v & BUSLOGIC_CTRL_BUS_RESET) {
        reset_targets(s, SCSI_ASC_BUS_RESET);
    }
}

/* ------------------------------------------------------------------------
 * SCSI commands: CCBs
 * ------------------------------------------------------------------------ */

/* A CCB as read from guest memory, in either format. */
typedef struct Ccb {
    uint32_t addr;
    uint8_t opcode;
    uint8_t dir;                /* BUSLOGIC_DIR_* */
    uint8_t cdb_len;
    uint8_t sense_alloc;        /* the CCB's field: 0 = 14 bytes, 1 = none */
    uint32_t data_len;
    uint32_t data_ptr;
    uint8_t target, lun;
    uint8_t cdb[12];
    uint32_t sense_addr;
} Ccb;

/* The data buffer of a CCB: segments in guest memory. */
typedef struct Seg {
    uint32_t addr, len;
} Seg;

typedef struct Xfer {
    BusLogic *s;
    Seg *seg;
    unsigned nseg;
    uint64_t total;
    unsigned cur;               /* cursor: segment ... */
    uint64_t cur_start;         /* ... and its offset in the buffer */
} Xfer;

static uint32_t xfer_data(void *opaque, ScsiDataDir dir, uint64_t offset,
                          void *buf, uint32_t len)
{
    Xfer *x = opaque;
    uint8_t *p = buf;
    uint32_t done = 0;

    if (offset < x->cur_start) {
        x->cur = 0;
        x->cur_start = 0;
    }
    while (done < len && x->cur < x->nseg) {
        uint32_t addr = x->seg[x->cur].addr, slen = x->seg[x->cur].len;
        uint64_t at = offset + done;
        if (at >= x->cur_start + slen) {
            x->cur_start += slen;
            x->cur++;
            continue;
        }
        uint64_t in_seg = at - x->cur_start;
        uint32_t n = slen - in_seg < len - done ? slen - in_seg : len - done;
        uint32_t gpa = addr + (uint32_t)in_seg;
        if (dir == SCSI_DATA_IN) {
            dma_write(x->s, gpa, p + done, n);
        } else {
            dma_read(x->s, gpa, p + done, n);
        }
        done += n;
    }
    return done;
}

static void ccb_decode(BusLogic *s, uint32_t addr, Ccb *c)
{
    uint8_t b[BUSLOGIC_CCB32_SIZE];

    memset(c, 0, sizeof(*c));
    c->addr = addr;
    if (s->mbox_24bit) {
        dma_read(s, addr, b, 18 + 12);
        c->opcode = b[0];
        c->target = b[1] >> 5;
        c->lun = b[1] & 0x07;
        c->dir = ((b[1] >> 3) & 1 ? BUSLOGIC_DIR_IN : 0) |
                 ((b[1] >> 4) & 1 ? BUSLOGIC_DIR_OUT : 0);
        c->cdb_len = b[2];
        c->sense_alloc = b[3];
        c->data_len = be24(b + 4);
        c->data_ptr = be24(b + 7);
        memcpy(c->cdb, b + 18, 12);
        /* Sense data goes right after the CDB, inside the CCB. */
        c->sense_addr = addr + 18 + (c->cdb_len <= 12 ? c->cdb_len : 12);
    } else {
        dma_read(s, addr, b, BUSLOGIC_CCB32_SIZE);
        c->opcode = b[0];
        c->dir = (b[1] >> 3) & 3;
        c->cdb_len = b[2];
        c->sense_alloc = b[3];
        c->data_len = le32(b + 4);
        c->data_ptr = le32(b + 8);
        c->target = b[16];
        c->lun = s->ext_lun_ccb ? b[17] & 0x3f : b[17] & 0x07;
        memcpy(c->cdb, b + 18, 12);
        c->sense_addr = le32(b + 36);
    }
}

/* Build the segment list of the CCB's buffer; false when it is invalid. */
static bool xfer_setup(BusLogic *s, const Ccb *c, Xfer *x)
{
    bool sg = c->opcode == BUSLOGIC_CCB_INITIATOR_SG ||
              c->opcode == BUSLOGIC_CCB_INITIATOR_SG_RESID;

    memset(x, 0, sizeof(*x));
    x->s = s;
    if (!sg) {
        x->seg = g_new(Seg, 1);
        x->seg[0].addr = c->data_ptr;
        x->seg[0].len = c->data_len;
        x->nseg = c->data_len ? 1 : 0;
        x->total = c->data_len;
        return true;
    }
    unsigned esize = s->mbox_24bit ? 6 : 8;
    unsigned n = c->data_len / esize;
    if (n > BUSLOGIC_SG_LIMIT) {
        return false;
    }
    uint8_t *list = g_malloc(n * esize + 1);
    dma_read(s, c->data_ptr, list, n * esize);
    x->seg = g_new(Seg, n + 1);
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *e = list + i * esize;
        uint32_t len = s->mbox_24bit ? be24(e) : le32(e);
        uint32_t addr = s->mbox_24bit ? be24(e + 3) : le32(e + 4);
        x->seg[i].addr = addr;
        x->seg[i].len = len;
        x->total += len;
    }
    x->nseg = n;
    g_free(list);
    return true;
}

/* Write the statuses (and residual) back into the CCB. */
static void ccb_finish(BusLogic *s, const Ccb *c, uint8_t ha, uint8_t ts,
                       bool residual, uint32_t resid)
{
    uint8_t st[2] = { ha, ts };
    dma_write(s, c->addr + 14, st, 2);
    if (residual) {
        uint8_t b[4];
        if (s->mbox_24bit) {
            put_be24(b, resid);
            dma_write(s, c->addr + 4, b, 3);
        } else {
            put_le32(b, resid);
            dma_write(s, c->addr + 4, b, 4);
        }
    }
}

/* Run an initiator CCB on its target; the statuses through *ha and *ts. */
static void ccb_execute(BusLogic *s, const Ccb *c, uint8_t *ha, uint8_t *ts)
{
    bool residual = c->opcode == BUSLOGIC_CCB_INITIATOR_RESID ||
                    c->opcode == BUSLOGIC_CCB_INITIATOR_SG_RESID;
    unsigned max_targets = s->mbox_24bit ? 8 : SCSI_MAX_TARGETS;
    ScsiRequest req;
    Xfer x;

    *ts = SCSI_STATUS_GOOD;
    if (c->target >= max_targets || c->target == BUSLOGIC_SCSI_ID ||
        !s->target[c->target].present) {
        *ha = BUSLOGIC_HA_SEL_TIMEOUT;
        ccb_finish(s, c, *ha, *ts, false, 0);
        return;
    }
    if (c->cdb_len == 0 || c->cdb_len > 12 || !xfer_setup(s, c, &x)) {
        *ha = BUSLOGIC_HA_BAD_PARAMETER;
        ccb_finish(s, c, *ha, *ts, false, 0);
        return;
    }
    scsi_request_init(&req, c->lun, c->cdb, c->cdb_len);
    req.buffer_len = x.total;
    req.data = xfer_data;
    req.opaque = &x;
    req.autosense = c->sense_alloc != 1;
    switch (c->dir) {
    case BUSLOGIC_DIR_UNCHECKED:
        req.allowed_dirs = 1u << SCSI_DATA_IN | 1u << SCSI_DATA_OUT;
        break;
    case BUSLOGIC_DIR_IN:
        req.allowed_dirs = 1u << SCSI_DATA_IN;
        break;
    case BUSLOGIC_DIR_OUT:
        req.allowed_dirs = 1u << SCSI_DATA_OUT;
        break;
    default:
        req.allowed_dirs = 0;
        break;
    }
    scsi_disk_execute(&s->target[c->target], &req);

    *ha = req.overrun ? BUSLOGIC_HA_DATA_OVERRUN : BUSLOGIC_HA_OK;
    *ts = req.status;
    if (req.status == SCSI_STATUS_CHECK_CONDITION && req.autosense && req.sense_len) {
        uint32_t n = c->sense_alloc ? c->sense_alloc : 14;
        if (n > req.sense_len) {
            n = req.sense_len;
        }
        dma_write(s, c->sense_addr, req.sense, n);
    }
    uint64_t resid = x.total > req.transferred ? x.total - req.transferred : 0;
    ccb_finish(s, c, *ha, *ts, residual, (uint32_t)resid);
    g_free(x.seg);
}

/* ------------------------------------------------------------------------
 * Mailboxes
 * ------------------------------------------------------------------------ */

static uint32_t mbo_addr(BusLogic *s, unsigned i)
{
    return s->mbox_base + i * (s->mbox_24bit ? 4 : 8);
}

static uint32_t mbi_addr(BusLogic *s, unsigned i)
{
    return s->mbox_base + (s->mbox_count + i) * (s->mbox_24bit ? 4 : 8);
}

static bool mbi_free(BusLogic *s)
{
    uint8_t code;
    dma_read(s, mbi_addr(s, s->mbi_next) + (s->mbox_24bit ? 0 : 7), &code, 1);
    return code == BUSLOGIC_MBI_FREE;
}

/* Complete a CCB into the next incoming mailbox (checked to be free). */
static void mbi_post(BusLogic *s, uint32_t ccb, uint8_t ha, uint8_t ts, uint8_t code)
{
    uint32_t at = mbi_addr(s, s->mbi_next);
    uint8_t b[8];

    if (s->mbox_24bit) {
        put_be24(b, ccb);
        dma_write(s, at + 1, b, 3);
        dma_write(s, at, &code, 1);
    } else {
        put_le32(b, ccb);
        b[4] = ha;
        b[5] = ts;
        b[6] = 0;
        dma_write(s, at, b, 7);
        dma_write(s, at + 7, &code, 1);    /* the completion code last */
    }
    s->mbi_next = (s->mbi_next + 1) % s->mbox_count;
    raise_int(s, BUSLOGIC_INT_MBIN_LOADED);
}

/* Read outgoing mailbox i: its action code and CCB address. */
static uint8_t mbo_read(BusLogic *s, unsigned i, uint32_t *ccb)
{
    uint8_t b[8];
    if (s->mbox_24bit) {
        dma_read(s, mbo_addr(s, i), b, 4);
        *ccb = be24(b + 1);
        return b[0];
    }
    dma_read(s, mbo_addr(s, i), b, 8);
    *ccb = le32(b);
    return b[7];
}

static void mbo_release(BusLogic *s, unsigned i)
{
    uint8_t free_code = BUSLOGIC_MBO_FREE;
    dma_write(s, mbo_addr(s, i) + (s->mbox_24bit ? 0 : 7), &free_code, 1);
    if (s->ombr_int) {
        raise_int(s, BUSLOGIC_INT_MBOUT_AVAIL);
    }
}

static void run_mailbox(BusLogic *s, uint8_t action, uint32_t ccb_addr)
{
    uint8_t ha, ts = 0;
    Ccb c;

    if (action == BUSLOGIC_MBO_ABORT) {
        /* CCBs run to completion when started: none is left to abort. */
        mbi_post(s, ccb_addr, BUSLOGIC_HA_OK, 0, BUSLOGIC_MBI_NOT_FOUND);
        return;
    }
    if (action != BUSLOGIC_MBO_START) {
        mbi_post(s, ccb_addr, BUSLOGIC_HA_BAD_MBO_ACTION, 0, BUSLOGIC_MBI_ERROR);
        return;
    }
    ccb_decode(s, ccb_addr, &c);
    switch (c.opcode) {
    case BUSLOGIC_CCB_INITIATOR:
    case BUSLOGIC_CCB_INITIATOR_SG:
    case BUSLOGIC_CCB_INITIATOR_RESID:
    case BUSLOGIC_CCB_INITIATOR_SG_RESID:
        ccb_execute(s, &c, &ha, &ts);
        break;
    case BUSLOGIC_CCB_BUS_DEVICE_RESET:
        if (c.target < SCSI_MAX_TARGETS && c.target != BUSLOGIC_SCSI_ID &&
            s->target[c.target].present) {
            scsi_disk_reset(&s->target[c.target], SCSI_ASC_BUS_DEVICE_RESET);
            ha = BUSLOGIC_HA_OK;
        } else {
            ha = BUSLOGIC_HA_SEL_TIMEOUT;
        }
        ccb_finish(s, &c, ha, 0, false, 0);
        break;
    default:                            /* target mode and the unknown */
        ha = BUSLOGIC_HA_BAD_CCB_OPCODE;
        ccb_finish(s, &c, ha, 0, false, 0);
        break;
    }
    mbi_post(s, ccb_addr, ha, ts,
             ha == BUSLOGIC_HA_OK && ts == SCSI_STATUS_GOOD ? BUSLOGIC_MBI_OK
                                                            : BUSLOGIC_MBI_ERROR);
}

/* Take started outgoing mailboxes: with strict round robin the ones in
 * turn until a free one, otherwise any, scanning once around. */
static void process_mailboxes(BusLogic *s)
{
    unsigned idle = 0, work = 0;

    if (!s->mbox_ready || !s->mbox_count) {
        return;
    }
    while (idle < s->mbox_count) {
        unsigned i = s->mbo_next;
        uint32_t ccb;
        uint8_t action = mbo_read(s, i, &ccb);
        if (action == BUSLOGIC_MBO_FREE) {
            if (s->strict_round_robin) {
                return;
            }
            s->mbo_next = (i + 1) % s->mbox_count;
            idle++;
            continue;
        }
        /* Another vCPU may keep filling mailboxes: bound the work done
         * per doorbell and come back for the rest. */
        if (!mbi_free(s) || ++work > 2u * s->mbox_count) {
            vtimer_mod(s->retry, vclock_ns() + RETRY_NS);
            return;
        }
        mbo_release(s, i);
        s->mbo_next = (i + 1) % s->mbox_count;
        idle = 0;
        run_mailbox(s, action, ccb);
    }
}

static void retry_timer(void *opaque)
{
    process_mailboxes(opaque);
}

/* ------------------------------------------------------------------------
 * Host adapter commands
 * ------------------------------------------------------------------------ */

/* Parameter bytes the current command takes, given those received so far;
 * -1 for an opcode the firmware rejects. */
static int command_params(const BusLogic *s)
{
    switch (s->cmd) {
    case BUSLOGIC_CMD_TEST_CMDC_INT:
    case BUSLOGIC_CMD_INQUIRE_BOARD_ID:
    case BUSLOGIC_CMD_INQUIRE_DEVICES_0_7:
    case BUSLOGIC_CMD_INQUIRE_CONFIG:
    case BUSLOGIC_CMD_DIAGNOSTIC:
    case BUSLOGIC_CMD_INQUIRE_DEVICES_8_15:
    case BUSLOGIC_CMD_INQUIRE_TARGETS:
    case BUSLOGIC_CMD_INQUIRE_FW_DIGIT3:
    case BUSLOGIC_CMD_INQUIRE_FW_LETTER:
    case BUSLOGIC_CMD_INQUIRE_PCI_INFO:
        return 0;
    case BUSLOGIC_CMD_ENABLE_OMBR_INT:
    case BUSLOGIC_CMD_SET_TIME_ON_BUS:
    case BUSLOGIC_CMD_SET_TIME_OFF_BUS:
    case BUSLOGIC_CMD_SET_TRANSFER_RATE:
    case BUSLOGIC_CMD_INQUIRE_SETUP:
    case BUSLOGIC_CMD_ECHO:
    case BUSLOGIC_CMD_DISABLE_INT:
    case BUSLOGIC_CMD_INQUIRE_MODEL:
    case BUSLOGIC_CMD_INQUIRE_SYNC_PERIOD:
    case BUSLOGIC_CMD_INQUIRE_EXT_SETUP:
    case BUSLOGIC_CMD_STRICT_ROUND_ROBIN:
    case BUSLOGIC_CMD_MODIFY_IO_ADDRESS:
    case BUSLOGIC_CMD_SET_CCB_FORMAT:
        return 1;
    case BUSLOGIC_CMD_FETCH_LOCAL_RAM:
        return 2;
    case BUSLOGIC_CMD_INIT_MAILBOX:
    case BUSLOGIC_CMD_SET_SEL_TIMEOUT:
        return 4;
    case BUSLOGIC_CMD_INIT_EXT_MAILBOX:
        return 5;
    case BUSLOGIC_CMD_SET_OPTIONS:       /* a length, then that many bytes */
        return s->param_count < 1 ? 1 : 1 + s->params[0];
    case BUSLOGIC_CMD_STORE_LOCAL_RAM:   /* offset, count, then the data */
        return s->param_count < 2 ? 2 : 2 + s->params[1];
    default:
        return -1;
    }
}

static void reply_bytes(BusLogic *s, const void *data, unsigned len)
{
    memcpy(s->reply + s->reply_len, data, len);
    s->reply_len += len;
}

/* The command is over: READY again and, but for two commands, an
 * interrupt. */
static void command_complete(BusLogic *s, bool invalid)
{
    uint8_t cmd = s->cmd;
    s->cmd_active = false;
    s->reply_len = s->reply_pos = 0;
    s->param_count = s->param_need = 0;
    s->cmd_invalid = invalid;
    if (cmd != BUSLOGIC_CMD_MODIFY_IO_ADDRESS || invalid) {
        raise_int(s, BUSLOGIC_INT_CMD_COMPLETE);
    }
}

static void inquire_setup(BusLogic *s, uint8_t *r)
{
    memset(r, 0, 34);
    r[0] = 0x01 | 0x02;                 /* sync negotiation, parity */
    r[1] = s->transfer_rate;
    r[2] = s->time_on_bus;
    r[3] = s->time_off_bus;
    r[4] = s->mbox_count > 255 ? 255 : s->mbox_count;
    put_be24(r + 5, s->mbox_base);
    r[16] = 0xff;                       /* disconnect permitted, IDs 0-7 */
    r[17] = 'B';                        /* customer signature */
    r[18] = 'D';
    r[19] = 'F';                        /* bus type: PCI */
    r[20] = 0xff;                       /* wide permitted, IDs 0-7 */
    uint16_t present = present_mask(s);
    r[21] = present & 0xff;             /* wide active */
    r[30] = 0xff;
    r[32] = 0xff;
    r[33] = present >> 8;
}

static void inquire_ext_setup(BusLogic *s, uint8_t *r)
{
    memset(r, 0, 14);
    r[0] = 'E';                         /* 32-bit bus (EISA/PCI) */
    r[1] = 0;                           /* no adapter BIOS */
    r[2] = BUSLOGIC_SG_LIMIT & 0xff;
    r[3] = BUSLOGIC_SG_LIMIT >> 8;
    r[4] = s->mbox_count > 255 ? 255 : s->mbox_count;
    put_le32(r + 5, s->mbox_base);
    r[9] = 0x40;                        /* level-sensitive interrupts */
    r[10] = FW_DIGIT2;
    r[11] = FW_DIGIT3;
    r[12] = FW_LETTER;
    r[13] = 0x01 | 0x08 | 0x10;         /* wide, ultra, automatic termination */
}

/* IRQ bits of Inquire Configuration (9-12, 14, 15) for the IRQ line. */
static uint8_t config_irq_bits(const BusLogic *s)
{
    switch (s->pci.config[PCI_INTERRUPT_LINE]) {
    case 9: return 0x01;
    case 10: return 0x02;
    case 11: return 0x04;
    case 12: return 0x08;
    case 14: return 0x20;
    case 15: return 0x40;
    default: return 0;
    }
}

/* Run the command once its parameters are in.  Returns false when they
 * are invalid. */
static bool command_run(BusLogic *s)
{
    const uint8_t *p = s->params;
    uint8_t r[256];

    switch (s->cmd) {
    case BUSLOGIC_CMD_TEST_CMDC_INT:
    case BUSLOGIC_CMD_DIAGNOSTIC:
    case BUSLOGIC_CMD_SET_SEL_TIMEOUT:
    case BUSLOGIC_CMD_SET_OPTIONS:
        return true;
    case BUSLOGIC_CMD_INIT_MAILBOX:
    case BUSLOGIC_CMD_INIT_EXT_MAILBOX: {
        bool legacy = s->cmd == BUSLOGIC_CMD_INIT_MAILBOX;
        if (!p[0]) {
            return false;
        }
        s->mbox_24bit = legacy;
        s->mbox_count = p[0];
        s->mbox_base = legacy ? be24(p + 1) : le32(p + 1);
        s->mbo_next = s->mbi_next = 0;
        s->mbox_ready = true;
        vtimer_del(s->retry);
        return true;
    }
    case BUSLOGIC_CMD_INQUIRE_BOARD_ID:
        r[0] = BOARD_TYPE;
        r[1] = BOARD_FEATURES;
        r[2] = FW_DIGIT1;
        r[3] = FW_DIGIT2;
        reply_bytes(s, r, 4);
        return true;
    case BUSLOGIC_CMD_ENABLE_OMBR_INT:
        if (p[0] > 1) {
            return false;
        }
        s->ombr_int = p[0];
        return true;
    case BUSLOGIC_CMD_SET_TIME_ON_BUS:
        s->time_on_bus = p[0];
        return true;
    case BUSLOGIC_CMD_SET_TIME_OFF_BUS:
        s->time_off_bus = p[0];
        return true;
    case BUSLOGIC_CMD_SET_TRANSFER_RATE:
        s->transfer_rate = p[0];
        return true;
    case BUSLOGIC_CMD_INQUIRE_DEVICES_0_7:
    case BUSLOGIC_CMD_INQUIRE_DEVICES_8_15: {
        int base = s->cmd == BUSLOGIC_CMD_INQUIRE_DEVICES_0_7 ? 0 : 8;
        for (int i = 0; i < 8; i++) {
            r[i] = s->target[base + i].present ? 0x01 : 0x00;   /* LUN 0 */
        }
        reply_bytes(s, r, 8);
        return true;
    }
    case BUSLOGIC_CMD_INQUIRE_TARGETS: {
        uint16_t m = present_mask(s);
        r[0] = m;
        r[1] = m >> 8;
        reply_bytes(s, r, 2);
        return true;
    }
    case BUSLOGIC_CMD_INQUIRE_CONFIG:
        r[0] = 0;                       /* no ISA DMA channel */
        r[1] = config_irq_bits(s);
        r[2] = BUSLOGIC_SCSI_ID;
        reply_bytes(s, r, 3);
        return true;
    case BUSLOGIC_CMD_INQUIRE_SETUP:
    case BUSLOGIC_CMD_INQUIRE_EXT_SETUP:
    case BUSLOGIC_CMD_INQUIRE_MODEL:
    case BUSLOGIC_CMD_INQUIRE_SYNC_PERIOD: {
        /* Replies as long as asked, zero-padded. */
        memset(r, 0, sizeof(r));
        if (s->cmd == BUSLOGIC_CMD_INQUIRE_SETUP) {
            inquire_setup(s, r);
        } else if (s->cmd == BUSLOGIC_CMD_INQUIRE_EXT_SETUP) {
            inquire_ext_setup(s, r);
        } else if (s->cmd == BUSLOGIC_CMD_INQUIRE_MODEL) {
            memcpy(r, board_model, sizeof(board_model));
        }
        reply_bytes(s, r, p[0]);
        return true;
    }
    case BUSLOGIC_CMD_ECHO:
        reply_bytes(s, p, 1);
        return true;
    case BUSLOGIC_CMD_DISABLE_INT:
        if (p[0] > 1) {
            return false;
        }
        s->int_enabled = p[0];
        update_irq(s);
        return true;
    case BUSLOGIC_CMD_INQUIRE_FW_DIGIT3:
        r[0] = FW_DIGIT3;
        reply_bytes(s, r, 1);
        return true;
    case BUSLOGIC_CMD_INQUIRE_FW_LETTER:
        r[0] = FW_LETTER;
        reply_bytes(s, r, 1);
        return true;
    case BUSLOGIC_CMD_INQUIRE_PCI_INFO:
        r[0] = s->isa_port;
        r[1] = s->pci.config[PCI_INTERRUPT_LINE];
        r[2] = 0x01 | 0x02 | 0x80;      /* low and high terminated, valid */
        r[3] = 0;
        reply_bytes(s, r, 4);
        return true;
    case BUSLOGIC_CMD_STRICT_ROUND_ROBIN:
        if (p[0] > 1) {
            return false;
        }
        s->strict_round_robin = p[0];
        return true;
    case BUSLOGIC_CMD_STORE_LOCAL_RAM:
        return true;                    /* stored as the bytes came */
    case BUSLOGIC_CMD_FETCH_LOCAL_RAM:
        for (unsigned i = 0; i < p[1]; i++) {
            unsigned at = p[0] + i;
            r[i] = at < BUSLOGIC_LOCAL_RAM_SIZE ? s->local_ram[at] : 0;
        }
        reply_bytes(s, r, p[1]);
        return true;
    case BUSLOGIC_CMD_MODIFY_IO_ADDRESS:
        if (p[0] > 7) {
            return false;
        }
        s->isa_port = p[0];             /* recorded; no ISA decoding */
        return true;
    case BUSLOGIC_CMD_SET_CCB_FORMAT:
        if (p[0] > 1) {
            return false;
        }
        s->ext_lun_ccb = p[0];
        return true;
    default:
        return false;
    }
}

static void command_start(BusLogic *s)
{
    if (!command_run(s)) {
        command_complete(s, true);
    } else if (s->reply_len == 0) {
        command_complete(s, false);
    }
}

static void command_write(BusLogic *s, uint8_t v)
{
    if (s->diag_reads) {
        return;                         /* busy with diagnostics */
    }
    if (s->cmd_active && s->param_count < s->param_need) {
        if (s->cmd == BUSLOGIC_CMD_STORE_LOCAL_RAM && s->param_count >= 2) {
            unsigned at = s->params[0] + (s->param_count - 2);
            if (at < BUSLOGIC_LOCAL_RAM_SIZE) {
                s->local_ram[at] = v;
            }
        } else if (s->param_count < BUSLOGIC_MAX_PARAMS) {
            s->params[s->param_count] = v;
        }
        s->param_count++;
        s->param_need = command_params(s);
        if (s->param_count >= s->param_need) {
            command_start(s);
        }
        return;
    }
    if (v == BUSLOGIC_CMD_START_MAILBOX) {
        /* The doorbell: no parameters, no completion interrupt, and a
         * pending reply is left alone. */
        if (!s->mbox_ready) {
            s->cmd_invalid = true;
            raise_int(s, BUSLOGIC_INT_CMD_COMPLETE);
            return;
        }
        process_mailboxes(s);
        return;
    }
    s->cmd_active = true;
    s->cmd = v;
    s->cmd_invalid = false;
    s->param_count = 0;
    s->reply_len = s->reply_pos = 0;
    int need = command_params(s);
    if (need < 0) {
        command_complete(s, true);
        return;
    }
    s->param_need = need;
    if (need == 0) {
        command_start(s);
    }
}

static uint8_t data_in_read(BusLogic *s)
{
    if (!s->cmd_active || s->reply_pos >= s->reply_len) {
        return 0;
    }
    uint8_t v = s->reply[s->reply_pos++];
    if (s->reply_pos == s->reply_len) {
        command_complete(s, false);
    }
    return v;
}

/* ------------------------------------------------------------------------
 * Register access (the I/O BAR and the memory BAR alike)
 * ------------------------------------------------------------------------ */

static uint64_t buslogic_read(void *opaque, uint64_t offset, unsigned size)
{
    BusLogic *s = opaque;
    (void)size;
    switch (offset) {
    case BUSLOGIC_REG_STATUS: {
        uint8_t st = buslogic_status(s);
        if (s->diag_reads) {
            s->diag_reads--;
        }
        return st;
    }
    case BUSLOGIC_REG_DATA_IN:
        return data_in_read(s);
    case BUSLOGIC_REG_INTERRUPT:
        return s->intr;
    case BUSLOGIC_REG_GEOMETRY:
        return geometry_register(s);
    default:
        return 0;
    }
}

static void buslogic_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    BusLogic *s = opaque;
    (void)size;
    switch (offset) {
    case BUSLOGIC_REG_CONTROL:
        control_write(s, value);
        break;
    case BUSLOGIC_REG_COMMAND:
        command_write(s, value);
        break;
    default:
        break;                          /* interrupt and geometry: read-only */
    }
}

static const IoOps buslogic_ops = {
    .read = buslogic_read,
    .write = buslogic_write,
    .max_access = 1,
};

/* ------------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------------ */

BusLogic *buslogic_new(int index)
{
    BusLogic *s = g_new0(BusLogic, 1);
    pci_device_init(&s->pci, "buslogic", BUSLOGIC_VENDOR_ID, BUSLOGIC_DEVICE_ID,
                    PCI_CLASS_STORAGE_SCSI, BUSLOGIC_REVISION);
    pci_config_set_subsystem(&s->pci, BUSLOGIC_VENDOR_ID, BUSLOGIC_DEVICE_ID);
    pci_config_set_interrupt_pin(&s->pci, PCI_INTA);
    pci_register_bar(&s->pci, 0, PCI_BAR_IO, BUSLOGIC_IO_SIZE, &buslogic_ops, s);
    pci_register_bar(&s->pci, 1, PCI_BAR_MEM32, BUSLOGIC_MMIO_SIZE, &buslogic_ops, s);
    s->pci.opaque = s;
    s->index = index;
    s->retry = vtimer_new(retry_timer, s);
    s->isa_port = ISA_PORT_DISABLED;
    local_ram_init(s);
    adapter_reset(s, false);
    return s;
}

int buslogic_attach(BusLogic *s, int id, BlockBackend *blk, const ScsiDiskConfig *cfg)
{
    if (id < 0 || id >= SCSI_MAX_TARGETS || id == BUSLOGIC_SCSI_ID) {
        return -EINVAL;
    }
    if (s->target[id].present) {
        return -EEXIST;
    }
    scsi_disk_init(&s->target[id], blk, cfg);
    return 0;
}

int buslogic_plug(BusLogic *s, PciBus *bus, int devfn)
{
    return pci_bus_add_device(bus, &s->pci, devfn);
}

void buslogic_free(BusLogic *s)
{
    if (!s) {
        return;
    }
    if (s->pci.bus) {
        pci_bus_remove_device(&s->pci);
    }
    vtimer_free(s->retry);
    for (int i = 0; i < SCSI_MAX_TARGETS; i++) {
        scsi_disk_clear(&s->target[i]);
    }
    g_free(s);
}

/* ------------------------------------------------------------------------
 * Suspend
 * ------------------------------------------------------------------------ */

static int buslogic_pre_save(void *opaque, GError **errp)
{
    BusLogic *s = opaque;
    (void)errp;
    s->target_mask = present_mask(s);
    return 0;
}

static int buslogic_post_load(void *opaque, uint32_t version, GError **errp)
{
    BusLogic *s = opaque;
    (void)version;
    uint16_t configured = present_mask(s);

    if (s->target_mask != configured) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "scsi%d: the saved adapter had SCSI targets 0x%04x, this one "
                    "has 0x%04x", s->index, s->target_mask, configured);
        return -EINVAL;
    }
    if (s->param_need > 2 + 255 || s->param_count > s->param_need ||
        s->reply_len > BUSLOGIC_MAX_REPLY || s->reply_pos > s->reply_len ||
        (s->mbox_ready && (!s->mbox_count || s->mbox_count > 255 ||
                           s->mbo_next >= s->mbox_count ||
                           s->mbi_next >= s->mbox_count)) ||
        s->diag_reads > DIAG_STATUS_READS) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "scsi%d: inconsistent BusLogic state in the saved file", s->index);
        return -EINVAL;
    }
    /* The PCI section (pci_device_vmstate, loaded after this one) brings
     * the configuration bytes, the BAR mappings and the INTx level. */
    return 0;
}

static const VMStateField buslogic_fields[] = {
    VMSTATE_UINT8(BusLogic, intr),
    VMSTATE_UINT8(BusLogic, diag_reads),
    VMSTATE_BOOL(BusLogic, cmd_invalid),
    VMSTATE_BOOL(BusLogic, mbox_ready),
    VMSTATE_BOOL(BusLogic, cmd_active),
    VMSTATE_UINT8(BusLogic, cmd),
    VMSTATE_UINT8_ARRAY(BusLogic, params, BUSLOGIC_MAX_PARAMS),
    VMSTATE_UINT16(BusLogic, param_count),
    VMSTATE_UINT16(BusLogic, param_need),
    VMSTATE_UINT8_ARRAY(BusLogic, reply, BUSLOGIC_MAX_REPLY),
    VMSTATE_UINT16(BusLogic, reply_len),
    VMSTATE_UINT16(BusLogic, reply_pos),
    VMSTATE_BOOL(BusLogic, mbox_24bit),
    VMSTATE_UINT32(BusLogic, mbox_base),
    VMSTATE_UINT16(BusLogic, mbox_count),
    VMSTATE_UINT16(BusLogic, mbo_next),
    VMSTATE_UINT16(BusLogic, mbi_next),
    VMSTATE_BOOL(BusLogic, strict_round_robin),
    VMSTATE_BOOL(BusLogic, ext_lun_ccb),
    VMSTATE_BOOL(BusLogic, ombr_int),
    VMSTATE_BOOL(BusLogic, int_enabled),
    VMSTATE_UINT8(BusLogic, isa_port),
    VMSTATE_UINT8(BusLogic, time_on_bus),
    VMSTATE_UINT8(BusLogic, time_off_bus),
    VMSTATE_UINT8(BusLogic, transfer_rate),
    VMSTATE_UINT8_ARRAY(BusLogic, local_ram, BUSLOGIC_LOCAL_RAM_SIZE),
    VMSTATE_UINT16(BusLogic, target_mask),
    VMSTATE_VTIMER(BusLogic, retry),
    VMSTATE_STRUCT_ARRAY(BusLogic, target, SCSI_MAX_TARGETS, scsi_disk_vmstate, ScsiDisk),
    VMSTATE_END,
};

const VMStateDescription buslogic_vmstate = {
    .name = "buslogic",
    .version = 1,
    .pre_save = buslogic_pre_save,
    .post_load = buslogic_post_load,
    .fields = buslogic_fields,
};
