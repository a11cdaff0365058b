/*
 * Intel 8259A programmable interrupt controller: the PC/AT master/slave pair
 * and the chipset's edge/level control registers (ELCR).
 *
 * Reference: Intel 8259A datasheet (order 231468): ICW1-ICW4, OCW1-OCW3,
 * the priority resolver, the INTA sequence in 8086 mode, poll, special mask
 * and special fully nested modes, automatic EOI and priority rotation.  The
 * ELCR is that of the Intel PIIX/PIIX3 (ports 0x4d0/0x4d1, one bit per IRQ,
 * 1 = level; IRQ 0, 1, 2, 8 and 13 are always edge and their bits read 0).
 *
 * Wiring on the PC: the master's INT is the CPU's INTR; the slave's INT
 * drives the master's IR2; the master is strapped as master (SP/EN high) and
 * the slave as slave, unless ICW4 selects buffered mode, where ICW4's M/S
 * bit decides.
 *
 * Modelling choices where the datasheet leaves room:
 *  - Edge mode latches a request on the rising edge and keeps it until it is
 *    acknowledged, even if the input falls first.  (The datasheet asks the
 *    device to hold IR high until INTA; device models here often pulse their
 *    line, and a pulse must not be lost.)  Level mode follows the input: a
 *    request that falls before INTA is withdrawn, and INTA then yields the
 *    spurious IR7.  Level mode is ICW1.LTIM or the input's ELCR bit.
 *  - ICW1 also clears the in-service register, so that a guest that
 *    re-initialises the PIC starts from a clean state.
 *  - While an initialisation sequence is incomplete the INT pin stays low.
 *  - 8080/8085 mode (ICW4.uPM = 0, or no ICW4) is accepted, but the INTA
 *    cycle still answers with an 8086-style vector: there is no CALL
 *    instruction to deliver to an x86.  ADI and A7-A5 of ICW1 are ignored.
 *  - When the master acknowledges a cascade input and no slave has that ID,
 *    the data bus floats: the vector is 0xff.
 *  - After an INTA that went to the slave, the slave's INT is re-sampled,
 *    so a request still deliverable on the slave reaches the master again
 *    as a new edge.
 */
#include <glib.h>
#include "hw/i8259.h"
#include "vmstate.h"

#define ICW1_IC4        0x01
#define ICW1_SNGL       0x02
#define ICW1_LTIM       0x08
#define ICW1_INIT       0x10

#define ICW4_UPM        0x01
#define ICW4_AEOI       0x02
#define ICW4_MS         0x04
#define ICW4_BUF        0x08
#define ICW4_SFNM       0x10

#define OCW3_SEL        0x08
#define OCW3_RIS        0x01
#define OCW3_RR         0x02
#define OCW3_P          0x04
#define OCW3_SMM        0x20
#define OCW3_ESMM       0x40

#define ELCR_MASTER_MASK    0xf8    /* IRQ 0, 1, 2 are edge only */
#define ELCR_SLAVE_MASK     0xde    /* IRQ 8 and 13 are edge only */

/* --- one chip ------------------------------------------------------------ */

static uint8_t chip_level_inputs(const I8259Chip *c)
{
    return (c->icw1 & ICW1_LTIM) ? 0xff : c->elcr;
}

/* 0 is the highest priority, 7 the lowest. */
static int chip_priority(const I8259Chip *c, int level)
{
    return (level - c->lowest - 1) & 7;
}

/* The highest-priority level among `bits`, or -1. */
static int chip_highest(const I8259Chip *c, uint8_t bits)
{
    for (int i = 1; i <= 8; i++) {
        int level = (c->lowest + i) & 7;
        if (bits & (1u << level)) {
            return level;
        }
    }
    return -1;
}

static bool chip_cascaded(const I8259Chip *c)
{
    return !(c->icw1 & ICW1_SNGL);
}

static bool chip_is_master(const I8259Chip *c)
{
    if (c->icw4 & ICW4_BUF) {
        return c->icw4 & ICW4_MS;
    }
    return c->wired_master;
}

/* Is input `level` of this chip a cascade input with a slave behind it? */
static bool chip_has_slave_at(const I8259Chip *c, int level)
{
    return chip_cascaded(c) && chip_is_master(c) && ((c->icw3 >> level) & 1);
}

/* The level the priority resolver would pass to the CPU now, or -1. */
static int chip_deliverable(const I8259Chip *c)
{
    if (c->init_step) {
        return -1;
    }
    int req = chip_highest(c, c->irr & ~c->imr);
    if (req < 0) {
        return -1;
    }
    uint8_t blocking = c->isr;
    if (c->special_mask) {
        /* Special mask mode: a masked in-service level holds back only
         * itself, so lower levels may interrupt too. */
        blocking &= ~c->imr;
    }
    int svc = chip_highest(c, blocking);
    if (svc < 0 || chip_priority(c, req) < chip_priority(c, svc)) {
        return req;
    }
    /* Special fully nested mode: the master takes a new request from a
     * slave whose cascade input is itself in service. */
    if (req == svc && (c->icw4 & ICW4_SFNM) && chip_has_slave_at(c, req)) {
        return req;
    }
    return -1;
}

static void chip_set_input(I8259Chip *c, int i, bool level)
{
    uint8_t bit = 1u << i;

    if (chip_level_inputs(c) & bit) {
        c->irr = level ? (c->irr | bit) : (c->irr & ~bit);
    } else if (level && !(c->lines & bit)) {
        c->irr |= bit;          /* rising edge */
    }
    c->lines = level ? (c->lines | bit) : (c->lines & ~bit);
}

/* Level-triggered inputs show their line in the IRR; edge ones keep their
 * latched request. */
static void chip_resync_level_inputs(I8259Chip *c)
{
    uint8_t lvl = chip_level_inputs(c);
    c->irr = (c->irr & ~lvl) | (c->lines & lvl);
}

/* The acknowledge half that every INTA or poll does on one chip: the
 * winning request moves from IRR to ISR (or, in AEOI mode, is ended at
 * once).  Returns the level, or -1 when nothing was deliverable. */
static int chip_acknowledge(I8259Chip *c)
{
    int level = chip_deliverable(c);
    if (level < 0) {
        return -1;
    }
    uint8_t bit = 1u << level;
    c->irr &= ~bit;
    if ((chip_level_inputs(c) & bit) && (c->lines & bit)) {
        c->irr |= bit;          /* a level request stays while the line is high */
    }
    if (c->icw4 & ICW4_AEOI) {
        if (c->rotate_aeoi) {
            c->lowest = level;
        }
    } else {
        c->isr |= bit;
    }
    return level;
}

/* The in-service level a non-specific EOI ends: the highest one, skipping
 * masked levels in special mask mode. */
static int chip_eoi_level(const I8259Chip *c)
{
    uint8_t isr = c->isr;
    if (c->special_mask) {
        isr &= ~c->imr;
    }
    return chip_highest(c, isr);
}

static void chip_icw1(I8259Chip *c, uint8_t v)
{
    c->icw1 = v;
    c->init_step = 2;
    c->imr = 0;
    c->isr = 0;
    c->irr = 0;                 /* edge sense latches reset */
    chip_resync_level_inputs(c);
    c->lowest = 7;
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->rotate_aeoi = false;
    if (!(v & ICW1_IC4)) {
        c->icw4 = 0;
    }
}

static void chip_init_word(I8259Chip *c, uint8_t v)
{
    switch (c->init_step) {
    case 2:
        c->icw2 = v;
        if (chip_cascaded(c)) {
            c->init_step = 3;
        } else {
            c->init_step = (c->icw1 & ICW1_IC4) ? 4 : 0;
        }
        break;
    case 3:
        c->icw3 = v;
        c->init_step = (c->icw1 & ICW1_IC4) ? 4 : 0;
        break;
    case 4:
        c->icw4 = v & 0x1f;
        c->init_step = 0;
        break;
    }
}

static void chip_ocw2(I8259Chip *c, uint8_t v)
{
    int l = v & 7;
    int h;

    switch (v >> 5) {
    case 1:     /* non-specific EOI */
        h = chip_eoi_level(c);
        if (h >= 0) {
            c->isr &= ~(1u << h);
        }
        break;
    case 3:     /* specific EOI */
        c->isr &= ~(1u << l);
        break;
    case 5:     /* rotate on non-specific EOI */
        h = chip_eoi_level(c);
        if (h >= 0) {
            c->isr &= ~(1u << h);
            c->lowest = h;
        }
        break;
    case 4:     /* rotate in automatic EOI mode: set */
        c->rotate_aeoi = true;
        break;
    case 0:     /* rotate in automatic EOI mode: clear */
        c->rotate_aeoi = false;
        break;
    case 7:     /* rotate on specific EOI */
        c->isr &= ~(1u << l);
        c->lowest = l;
        break;
    case 6:     /* set priority */
        c->lowest = l;
        break;
    case 2:     /* no operation */
        break;
    }
}

static void chip_ocw3(I8259Chip *c, uint8_t v)
{
    if (v & OCW3_ESMM) {
        c->special_mask = v & OCW3_SMM;
    }
    if (v & OCW3_RR) {
        c->read_isr = v & OCW3_RIS;
    }
    if (v & OCW3_P) {
        c->poll = true;
    }
}

/* --- the pair ------------------------------------------------------------ */

static I8259Chip *pic_slave_with_id(I8259 *pic, int id)
{
    I8259Chip *s = &pic->chip[1];
    /* Only the slave's INT is wired to IR2; its CAS inputs compare the ID. */
    if (id == I8259_CASCADE_IRQ && chip_cascaded(s) && !chip_is_master(s) &&
        (s->icw3 & 7) == id) {
        return s;
    }
    return NULL;
}

/* Propagate the slave's INT to the master's IR2 and the master's INT to
 * the CPU. */
static void pic_update(I8259 *pic)
{
    I8259Chip *m = &pic->chip[0], *s = &pic->chip[1];

    bool slave_int = chip_deliverable(s) >= 0;
    if (slave_int != s->int_out) {
        s->int_out = slave_int;
        chip_set_input(m, I8259_CASCADE_IRQ, slave_int);
    }
    bool master_int = chip_deliverable(m) >= 0;
    if (master_int != m->int_out) {
        m->int_out = master_int;
        irq_set(pic->intr, master_int);
    }
}

int i8259_intack(I8259 *pic)
{
    I8259Chip *m = &pic->chip[0];
    int vector;
    int level = chip_acknowledge(m);

    if (level < 0) {
        vector = (m->icw2 & 0xf8) | 7;              /* spurious IRQ 7 */
    } else if (chip_has_slave_at(m, level)) {
        I8259Chip *s = pic_slave_with_id(pic, level);
        if (s) {
            int sl = chip_acknowledge(s);
            vector = (s->icw2 & 0xf8) | (sl < 0 ? 7 : sl);  /* 7: spurious 15 */
            s->int_out = false;                     /* re-sample the slave */
            chip_set_input(m, level, false);
        } else {
            vector = 0xff;
        }
    } else {
        vector = (m->icw2 & 0xf8) | level;
    }
    pic_update(pic);
    return vector;
}

bool i8259_intr_level(const I8259 *pic)
{
    return pic->chip[0].int_out;
}

void i8259_set_irq(I8259 *pic, int irq, int level)
{
    if (irq < 0 || irq > 15 || irq == I8259_CASCADE_IRQ) {
        return;
    }
    chip_set_input(&pic->chip[irq >> 3], irq & 7, level != 0);
    pic_update(pic);
}

static uint8_t pic_read(I8259 *pic, int idx, unsigned a0)
{
    I8259Chip *c = &pic->chip[idx];

    if (c->poll) {
        /* The read after a poll command is an acknowledge; the poll word
         * answers at either address and overrides a read-register
         * command. */
        c->poll = false;
        int level = chip_acknowledge(c);
        pic_update(pic);
        return level < 0 ? 0 : 0x80 | level;
    }
    if (a0 == 0) {
        return c->read_isr ? c->isr : c->irr;
    }
    return c->imr;
}

static void pic_write(I8259 *pic, int idx, unsigned a0, uint8_t v)
{
    I8259Chip *c = &pic->chip[idx];

    if (a0 == 0) {
        if (v & ICW1_INIT) {
            chip_icw1(c, v);
        } else if (v & OCW3_SEL) {
            chip_ocw3(c, v);
        } else {
            chip_ocw2(c, v);
        }
    } else if (c->init_step) {
        chip_init_word(c, v);
    } else {
        c->imr = v;                                 /* OCW1 */
    }
    pic_update(pic);
}

static uint64_t master_read(void *opaque, uint64_t off, unsigned size)
{
    return pic_read(opaque, 0, off & 1);
}

static void master_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    pic_write(opaque, 0, off & 1, v);
}

static uint64_t slave_read(void *opaque, uint64_t off, unsigned size)
{
    return pic_read(opaque, 1, off & 1);
}

static void slave_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    pic_write(opaque, 1, off & 1, v);
}

static uint64_t elcr_read(void *opaque, uint64_t off, unsigned size)
{
    I8259 *pic = opaque;
    return pic->chip[off & 1].elcr;
}

static void elcr_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    I8259 *pic = opaque;
    I8259Chip *c = &pic->chip[off & 1];

    c->elcr = v & c->elcr_mask;
    chip_resync_level_inputs(c);
    pic_update(pic);
}

static const IoOps master_ops = { master_read, master_write, 1 };
static const IoOps slave_ops = { slave_read, slave_write, 1 };
static const IoOps elcr_ops = { elcr_read, elcr_write, 1 };

void i8259_reset(I8259 *pic)
{
    static const uint8_t elcr_masks[2] = { ELCR_MASTER_MASK, ELCR_SLAVE_MASK };

    for (int i = 0; i < 2; i++) {
        I8259Chip *c = &pic->chip[i];
        uint8_t lines = c->lines;
        if (i == 0) {
            lines &= ~(1u << I8259_CASCADE_IRQ);    /* the slave's INT is low */
        }
        *c = (I8259Chip){
            .lines = lines,
            .lowest = 7,
            .elcr_mask = elcr_masks[i],
            .wired_master = i == 0,
        };
    }
    irq_set(pic->intr, 0);
}

/* --- suspend/resume -------------------------------------------------------- */

static const VMStateDescription i8259_chip_vmstate = {
    .name = "i8259-chip",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8(I8259Chip, irr),
        VMSTATE_UINT8(I8259Chip, isr),
        VMSTATE_UINT8(I8259Chip, imr),
        VMSTATE_UINT8(I8259Chip, lines),
        VMSTATE_UINT8(I8259Chip, lowest),
        VMSTATE_UINT8(I8259Chip, icw1),
        VMSTATE_UINT8(I8259Chip, icw2),
        VMSTATE_UINT8(I8259Chip, icw3),
        VMSTATE_UINT8(I8259Chip, icw4),
        VMSTATE_UINT8(I8259Chip, init_step),
        VMSTATE_UINT8(I8259Chip, elcr),
        VMSTATE_BOOL(I8259Chip, read_isr),
        VMSTATE_BOOL(I8259Chip, poll),
        VMSTATE_BOOL(I8259Chip, special_mask),
        VMSTATE_BOOL(I8259Chip, rotate_aeoi),
        VMSTATE_BOOL(I8259Chip, int_out),
        VMSTATE_END
    },
};

/* The saved levels are those the chips had; the CPU's INTR follows the
 * master's INT pin again. */
static int i8259_post_load(void *opaque, uint32_t version, GError **errp)
{
    I8259 *pic = opaque;
    for (int i = 0; i < 2; i++) {
        I8259Chip *c = &pic->chip[i];
        if (c->lowest > 7 || c->init_step == 1 || c->init_step > 4) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "chip %d: impossible priority or initialisation step", i);
            return -1;
        }
        c->icw4 &= 0x1f;
        c->elcr &= c->elcr_mask;
    }
    irq_set(pic->intr, pic->chip[0].int_out);
    return 0;
}

const VMStateDescription i8259_vmstate = {
    .name = "i8259",
    .version = 1,
    .post_load = i8259_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_STRUCT_ARRAY(I8259, chip, 2, i8259_chip_vmstate, I8259Chip),
        VMSTATE_END
    },
};

I8259 *i8259_new(AddressSpace *as, IrqLine *intr)
{
    I8259 *pic = g_new0(I8259, 1);
    pic->as = as;
    pic->intr = intr;
    i8259_reset(pic);
    as_add_ports(as, "pic-master", I8259_MASTER_BASE, 2, &master_ops, pic);
    as_add_ports(as, "pic-slave", I8259_SLAVE_BASE, 2, &slave_ops, pic);
    as_add_ports(as, "elcr", I8259_ELCR_BASE, 2, &elcr_ops, pic);
    return pic;
}

void i8259_free(I8259 *pic)
{
    if (!pic) {
        return;
    }
    as_remove_ports(pic->as, I8259_MASTER_BASE);
    as_remove_ports(pic->as, I8259_SLAVE_BASE);
    as_remove_ports(pic->as, I8259_ELCR_BASE);
    g_free(pic);
}
