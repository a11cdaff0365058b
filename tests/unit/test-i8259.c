/*
 * Register-level tests of the 8259A PIC pair and the ELCR (hw/i8259.c),
 * driven through the port-I/O space like a guest, with the INTR line
 * observed by a probe.  Expected values follow the Intel 8259A datasheet.
 */
#include <glib.h>
#include "hw/i8259.h"

typedef struct Probe {
    int level;
    int rises;
} Probe;

static AddressSpace *as;
static I8259 *pic;
static IrqLine *intr;
static Probe cpu;

static void probe_set(void *opaque, int n, int level)
{
    Probe *p = opaque;
    if (level && !p->level) {
        p->rises++;
    }
    p->level = level;
}

static void outb(uint16_t port, uint8_t v)
{
    as_port_write(as, port, v, 1);
}

static uint8_t inb(uint16_t port)
{
    return as_port_read(as, port, 1);
}

static void setup(void)
{
    cpu = (Probe){0};
    as = as_new();
    intr = irq_line_new(probe_set, &cpu, 0);
    pic = i8259_new(as, intr);
}

static void teardown(void)
{
    i8259_free(pic);
    irq_line_free(intr);
    as_free(as);
}

/* The PC/AT initialisation: vectors 0x20 and 0x28, slave on IR2. */
static void init_pair(uint8_t icw1, uint8_t master_icw4, uint8_t slave_icw4)
{
    outb(0x20, icw1);
    outb(0x21, 0x20);
    outb(0x21, 0x04);
    outb(0x21, master_icw4);
    outb(0xa0, icw1);
    outb(0xa1, 0x28);
    outb(0xa1, 0x02);
    outb(0xa1, slave_icw4);
}

static void init_pc(void)
{
    init_pair(0x11, 0x01, 0x01);
}

static uint8_t read_isr(uint16_t base)
{
    outb(base, 0x0b);
    return inb(base);
}

static uint8_t read_irr(uint16_t base)
{
    outb(base, 0x0a);
    return inb(base);
}

static void pulse(int irq)
{
    i8259_set_irq(pic, irq, 1);
    i8259_set_irq(pic, irq, 0);
}

/* --- initialisation ------------------------------------------------------- */

static void test_icw_sequence(void)
{
    setup();
    /* ICW1 + ICW2 + ICW3 + ICW4: the write after ICW4 is OCW1. */
    outb(0x20, 0x11);
    outb(0x21, 0x20);
    i8259_set_irq(pic, 1, 1);
    g_assert_cmpint(cpu.level, ==, 0);      /* INT stays low mid-sequence */
    outb(0x21, 0x04);
    g_assert_cmpint(cpu.level, ==, 0);
    outb(0x21, 0x01);
    g_assert_cmpint(inb(0x21), ==, 0x00);   /* ICWs did not land in the IMR */
    g_assert_cmpint(cpu.level, ==, 1);      /* the edge after ICW1 was latched */
    g_assert_cmpint(i8259_intack(pic), ==, 0x21);
    g_assert_cmpint(cpu.level, ==, 0);
    g_assert_cmpint(read_isr(0x20), ==, 0x02);
    outb(0x21, 0xb8);
    g_assert_cmpint(inb(0x21), ==, 0xb8);

    /* ICW1 without IC4 and in single mode: only ICW2 follows. */
    outb(0xa0, 0x12);
    outb(0xa1, 0x70);
    outb(0xa1, 0x5a);
    g_assert_cmpint(inb(0xa1), ==, 0x5a);
    teardown();
}

static void test_single_mode(void)
{
    setup();
    /* Master single (ICW1.SNGL, IC4): no ICW3; IR2 is a plain input. */
    outb(0x20, 0x13);
    outb(0x21, 0x50);
    outb(0x21, 0x01);
    outb(0x21, 0x00);
    g_assert_cmpint(inb(0x21), ==, 0x00);
    outb(0xa0, 0x11);
    outb(0xa1, 0x28);
    outb(0xa1, 0x02);
    outb(0xa1, 0x01);
    i8259_set_irq(pic, 9, 1);
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x52);  /* the master's own vector */
    g_assert_cmpint(read_isr(0xa0), ==, 0x00);     /* the slave saw no INTA */
    g_assert_cmpint(read_isr(0x20), ==, 0x04);
    teardown();
}

static void test_reinit_and_reset(void)
{
    setup();
    init_pc();
    i8259_set_irq(pic, 4, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x24);
    outb(0x21, 0x81);
    outb(0x20, 0x0b);                       /* select ISR for reads */
    /* ICW1 again: IMR and ISR cleared, reads back to IRR, edges reset. */
    init_pc();
    g_assert_cmpint(inb(0x21), ==, 0x00);
    g_assert_cmpint(inb(0x20), ==, 0x00);   /* IRR, not ISR */
    g_assert_cmpint(read_isr(0x20), ==, 0x00);
    g_assert_cmpint(cpu.level, ==, 0);      /* IRQ4 held high needs a new edge */
    i8259_set_irq(pic, 4, 0);
    i8259_set_irq(pic, 4, 1);
    g_assert_cmpint(cpu.level, ==, 1);

    i8259_reset(pic);
    g_assert_cmpint(cpu.level, ==, 0);
    g_assert_cmpint(inb(0x21), ==, 0x00);
    g_assert_cmpint(inb(0x4d0), ==, 0x00);
    g_assert_cmpint(i8259_intack(pic), ==, 0x07);   /* vector base 0 after reset */
    teardown();
}

/* --- masks, priority, EOI -------------------------------------------------- */

static void test_mask(void)
{
    setup();
    init_pc();
    outb(0x21, 0x08);
    i8259_set_irq(pic, 3, 1);
    g_assert_cmpint(cpu.level, ==, 0);
    g_assert_cmpint(read_irr(0x20), ==, 0x08);     /* masked requests still latch */
    outb(0x21, 0x00);
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x23);
    /* Masking the cascade input masks the whole slave. */
    outb(0x21, 0x04);
    i8259_set_irq(pic, 11, 1);
    g_assert_cmpint(read_irr(0xa0), ==, 0x08);
    g_assert_cmpint(read_irr(0x20), ==, 0x04);
    g_assert_cmpint(cpu.level, ==, 0);
    teardown();
}

static void test_priority_and_eoi(void)
{
    setup();
    init_pc();
    i8259_set_irq(pic, 5, 1);
    i8259_set_irq(pic, 3, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x23);
    g_assert_cmpint(cpu.level, ==, 0);             /* IRQ5 is below IRQ3 */
    g_assert_cmpint(read_irr(0x20), ==, 0x20);
    outb(0x20, 0x20);                               /* non-specific EOI */
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x25);
    /* A higher level nests over IRQ5. */
    i8259_set_irq(pic, 1, 1);
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x21);
    g_assert_cmpint(read_isr(0x20), ==, 0x22);
    outb(0x20, 0x20);                               /* ends the highest: IRQ1 */
    g_assert_cmpint(read_isr(0x20), ==, 0x20);
    i8259_set_irq(pic, 1, 0);
    i8259_set_irq(pic, 1, 1);
    i8259_set_irq(pic, 1, 0);
    g_assert_cmpint(i8259_intack(pic), ==, 0x21);
    g_assert_cmpint(read_isr(0x20), ==, 0x22);
    outb(0x20, 0x65);                               /* specific EOI, level 5 */
    g_assert_cmpint(read_isr(0x20), ==, 0x02);
    outb(0x20, 0x40);                               /* no operation */
    g_assert_cmpint(read_isr(0x20), ==, 0x02);
    outb(0x20, 0x61);
    g_assert_cmpint(read_isr(0x20), ==, 0x00);
    teardown();
}

static void test_read_register_select(void)
{
    setup();
    init_pc();
    i8259_set_irq(pic, 6, 1);
    i8259_set_irq(pic, 7, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x26);
    outb(0x20, 0x0b);
    g_assert_cmpint(inb(0x20), ==, 0x40);
    g_assert_cmpint(inb(0x20), ==, 0x40);   /* the selection sticks */
    outb(0x20, 0x08);                       /* OCW3 with RR = 0: no change */
    g_assert_cmpint(inb(0x20), ==, 0x40);
    outb(0x20, 0x0a);
    g_assert_cmpint(inb(0x20), ==, 0x80);
    teardown();
}

static void test_rotation(void)
{
    setup();
    init_pc();
    /* Rotate on non-specific EOI: the level ended becomes the lowest. */
    i8259_set_irq(pic, 0, 1);
    i8259_set_irq(pic, 4, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x20);
    outb(0x20, 0xa0);
    i8259_set_irq(pic, 0, 0);
    i8259_set_irq(pic, 0, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x24);  /* IRQ0 is now the lowest */
    g_assert_cmpint(cpu.level, ==, 0);             /* IRQ0 below in-service 4 */
    outb(0x20, 0x20);
    g_assert_cmpint(i8259_intack(pic), ==, 0x20);
    outb(0x20, 0x20);

    /* Set priority: lowest = 4, so 5 is the highest. */
    outb(0x20, 0xc4);
    i8259_set_irq(pic, 3, 1);
    i8259_set_irq(pic, 6, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x26);
    g_assert_cmpint(cpu.level, ==, 0);             /* 3 ranks below 6 now */
    /* Rotate on specific EOI 6: 6 becomes lowest, 7 the highest. */
    outb(0x20, 0xe6);
    g_assert_cmpint(read_isr(0x20), ==, 0x00);
    i8259_set_irq(pic, 7, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x27);
    outb(0x20, 0x67);
    g_assert_cmpint(i8259_intack(pic), ==, 0x23);
    teardown();
}

static void test_aeoi(void)
{
    setup();
    init_pair(0x11, 0x03, 0x03);                    /* 8086 mode, AEOI */
    i8259_set_irq(pic, 3, 1);
    i8259_set_irq(pic, 5, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x23);
    g_assert_cmpint(read_isr(0x20), ==, 0x00);     /* ended at INTA */
    g_assert_cmpint(cpu.level, ==, 1);             /* IRQ5 not held back */
    g_assert_cmpint(i8259_intack(pic), ==, 0x25);
    /* The slave in AEOI too. */
    i8259_set_irq(pic, 12, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x2c);
    g_assert_cmpint(read_isr(0xa0), ==, 0x00);
    g_assert_cmpint(read_isr(0x20), ==, 0x00);
    i8259_set_irq(pic, 3, 0);
    i8259_set_irq(pic, 5, 0);
    i8259_set_irq(pic, 12, 0);
    /* Two slave requests at once: after the first INTA the slave's INT
     * stays up, and the master must see it again. */
    i8259_set_irq(pic, 9, 1);
    i8259_set_irq(pic, 12, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x29);
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x2c);
    g_assert_cmpint(cpu.level, ==, 0);
    g_assert_cmpint(i8259_intack(pic), ==, 0x27);
    i8259_set_irq(pic, 9, 0);
    i8259_set_irq(pic, 12, 0);

    /* Rotate in AEOI mode: the acknowledged level becomes the lowest. */
    outb(0x20, 0x80);
    pulse(1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x21);
    pulse(0);
    pulse(3);
    g_assert_cmpint(i8259_intack(pic), ==, 0x23);  /* 2..7 rank above 0 now */
    g_assert_cmpint(i8259_intack(pic), ==, 0x20);
    /* Clear rotate-in-AEOI: priorities stay where they are (lowest 0). */
    outb(0x20, 0x00);
    pulse(3);
    pulse(1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x21);
    pulse(1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x21);  /* 1 is still the highest */
    g_assert_cmpint(i8259_intack(pic), ==, 0x23);
    teardown();
}

/* --- poll and special mask --------------------------------------------------- */

static void test_poll(void)
{
    setup();
    init_pc();
    outb(0x21, 0xff);                               /* polling with INT masked */
    i8259_set_irq(pic, 3, 1);
    i8259_set_irq(pic, 6, 1);
    g_assert_cmpint(cpu.level, ==, 0);
    outb(0x21, 0xb3);                               /* open 2, 3 and 6 */
    g_assert_cmpint(cpu.level, ==, 1);
    outb(0x20, 0x0c);                               /* poll */
    g_assert_cmpint(inb(0x20), ==, 0x83);
    g_assert_cmpint(read_isr(0x20), ==, 0x08);     /* poll acknowledged */
    g_assert_cmpint(read_irr(0x20), ==, 0x40);
    g_assert_cmpint(inb(0x20), ==, 0x40);          /* one read only */
    outb(0x20, 0x20);
    /* Poll overrides a read-register command and answers at A0 = 1 too. */
    outb(0x20, 0x0f);
    g_assert_cmpint(inb(0x21), ==, 0x86);
    g_assert_cmpint(inb(0x21), ==, 0xb3);          /* IMR again */
    g_assert_cmpint(inb(0x20), ==, 0x40);          /* RR/RIS took ISR */
    outb(0x20, 0x20);
    /* Nothing pending: bit 7 clear. */
    outb(0x20, 0x0c);
    g_assert_cmpint(inb(0x20), ==, 0x00);
    g_assert_cmpint(read_isr(0x20), ==, 0x00);
    /* Polling the master on a slave request gives the cascade level. */
    i8259_set_irq(pic, 13, 1);
    outb(0x20, 0x0c);
    g_assert_cmpint(inb(0x20), ==, 0x82);
    outb(0xa0, 0x0c);
    g_assert_cmpint(inb(0xa0), ==, 0x85);
    g_assert_cmpint(read_isr(0xa0), ==, 0x20);
    teardown();
}

static void test_special_mask(void)
{
    setup();
    init_pc();
    i8259_set_irq(pic, 3, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x23);
    i8259_set_irq(pic, 5, 1);
    g_assert_cmpint(cpu.level, ==, 0);             /* held back by ISR 3 */
    outb(0x20, 0x68);                               /* set special mask */
    g_assert_cmpint(cpu.level, ==, 0);             /* 3 not masked: still blocks */
    outb(0x21, 0x08);                               /* mask the in-service level */
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x25);
    g_assert_cmpint(read_isr(0x20), ==, 0x28);
    /* A non-specific EOI skips the masked in-service level. */
    outb(0x20, 0x20);
    g_assert_cmpint(read_isr(0x20), ==, 0x08);
    i8259_set_irq(pic, 6, 1);
    g_assert_cmpint(cpu.level, ==, 1);
    outb(0x20, 0x48);                               /* reset special mask */
    g_assert_cmpint(cpu.level, ==, 0);
    outb(0x20, 0x28);                               /* ESMM = 0: SMM untouched */
    g_assert_cmpint(cpu.level, ==, 0);
    outb(0x20, 0x63);
    g_assert_cmpint(cpu.level, ==, 1);
    teardown();
}

/* --- triggering and the ELCR ----------------------------------------------- */

static void test_edge(void)
{
    setup();
    init_pc();
    i8259_set_irq(pic, 4, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x24);
    outb(0x20, 0x20);
    g_assert_cmpint(cpu.level, ==, 0);             /* still high: no new edge */
    g_assert_cmpint(read_irr(0x20), ==, 0x00);
    i8259_set_irq(pic, 4, 0);
    i8259_set_irq(pic, 4, 1);
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x24);
    outb(0x20, 0x20);
    /* A pulse is latched until acknowledged. */
    i8259_set_irq(pic, 4, 0);
    pulse(7);
    g_assert_cmpint(read_irr(0x20), ==, 0x80);
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x27);
    g_assert_cmpint(read_isr(0x20), ==, 0x80);     /* a real IRQ7, not spurious */
    teardown();
}

static void test_level_ltim(void)
{
    setup();
    init_pair(0x19, 0x01, 0x01);                    /* LTIM: all level */
    i8259_set_irq(pic, 4, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x24);
    g_assert_cmpint(read_irr(0x20), ==, 0x10);     /* IRR follows the line */
    g_assert_cmpint(cpu.level, ==, 0);
    outb(0x20, 0x20);
    g_assert_cmpint(cpu.level, ==, 1);             /* re-asserted while high */
    g_assert_cmpint(i8259_intack(pic), ==, 0x24);
    outb(0x20, 0x20);
    i8259_set_irq(pic, 4, 0);
    g_assert_cmpint(cpu.level, ==, 0);
    g_assert_cmpint(read_irr(0x20), ==, 0x00);
    /* Withdrawn before INTA: the acknowledge is a spurious IRQ7. */
    i8259_set_irq(pic, 5, 1);
    g_assert_cmpint(cpu.level, ==, 1);
    i8259_set_irq(pic, 5, 0);
    g_assert_cmpint(cpu.level, ==, 0);
    g_assert_cmpint(i8259_intack(pic), ==, 0x27);
    g_assert_cmpint(read_isr(0x20), ==, 0x00);
    teardown();
}

static void test_elcr(void)
{
    setup();
    init_pc();
    outb(0x4d0, 0xff);
    outb(0x4d1, 0xff);
    g_assert_cmpint(inb(0x4d0), ==, 0xf8);         /* IRQ 0, 1, 2 fixed edge */
    g_assert_cmpint(inb(0x4d1), ==, 0xde);         /* IRQ 8, 13 fixed edge */
    outb(0x4d0, 0x20);                              /* IRQ5 level */
    outb(0x4d1, 0x04);                              /* IRQ10 level */
    g_assert_cmpint(inb(0x4d0), ==, 0x20);
    g_assert_cmpint(inb(0x4d1), ==, 0x04);

    /* IRQ5 level: re-asserts after EOI while high. */
    i8259_set_irq(pic, 5, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x25);
    outb(0x20, 0x20);
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x25);
    i8259_set_irq(pic, 5, 0);
    outb(0x20, 0x20);
    g_assert_cmpint(cpu.level, ==, 0);
    /* IRQ3 stays edge. */
    i8259_set_irq(pic, 3, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x23);
    outb(0x20, 0x20);
    g_assert_cmpint(cpu.level, ==, 0);
    /* IRQ1's ELCR bit cannot be set: edge. */
    outb(0x4d0, 0x02);
    g_assert_cmpint(inb(0x4d0), ==, 0x00);
    i8259_set_irq(pic, 1, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x21);
    outb(0x20, 0x20);
    g_assert_cmpint(cpu.level, ==, 0);

    /* IRQ10 level on the slave. */
    i8259_set_irq(pic, 10, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x2a);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x2a);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    /* Turning level off leaves a latched edge request only on a new edge. */
    outb(0x4d1, 0x00);
    g_assert_cmpint(read_irr(0xa0), ==, 0x04);
    g_assert_cmpint(i8259_intack(pic), ==, 0x2a);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    g_assert_cmpint(cpu.level, ==, 0);
    /* A level line already high shows at once when its ELCR bit is set. */
    outb(0x4d1, 0x04);
    g_assert_cmpint(cpu.level, ==, 1);
    teardown();
}

/* --- cascade, SFNM, spurious ------------------------------------------------ */

static void test_cascade(void)
{
    setup();
    init_pc();
    for (int irq = 8; irq < 16; irq++) {
        i8259_set_irq(pic, irq, 1);
        g_assert_cmpint(cpu.level, ==, 1);
        g_assert_cmpint(i8259_intack(pic), ==, 0x20 + irq);
        g_assert_cmpint(read_isr(0x20), ==, 0x04);
        g_assert_cmpint(read_isr(0xa0), ==, 1 << (irq - 8));
        outb(0xa0, 0x20);
        outb(0x20, 0x20);
        i8259_set_irq(pic, irq, 0);
    }
    /* Slave requests rank at the master's IR2: above IRQ3, below IRQ1. */
    i8259_set_irq(pic, 3, 1);
    i8259_set_irq(pic, 12, 1);
    i8259_set_irq(pic, 1, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x21);
    outb(0x20, 0x20);
    g_assert_cmpint(i8259_intack(pic), ==, 0x2c);
    g_assert_cmpint(cpu.level, ==, 0);             /* IRQ3 below in-service IR2 */
    /* Fully nested: a higher slave request waits while IR2 is in service. */
    i8259_set_irq(pic, 9, 1);
    g_assert_cmpint(cpu.level, ==, 0);
    g_assert_cmpint(read_irr(0xa0), ==, 0x02);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x29);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    g_assert_cmpint(i8259_intack(pic), ==, 0x23);
    teardown();
}

static void test_sfnm(void)
{
    setup();
    init_pair(0x11, 0x11, 0x01);                    /* master SFNM */
    i8259_set_irq(pic, 12, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x2c);
    i8259_set_irq(pic, 9, 1);                       /* higher, same slave */
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x29);
    g_assert_cmpint(read_isr(0xa0), ==, 0x12);
    g_assert_cmpint(read_isr(0x20), ==, 0x04);
    /* A lower slave request is still held back by the slave's own ISR. */
    i8259_set_irq(pic, 14, 1);
    g_assert_cmpint(cpu.level, ==, 0);
    outb(0xa0, 0x20);                               /* ends 9 */
    g_assert_cmpint(cpu.level, ==, 0);              /* 12 still in service */
    outb(0xa0, 0x20);                               /* ends 12 */
    g_assert_cmpint(cpu.level, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x2e);
    /* Master in SFNM still blocks its ordinary lower inputs. */
    i8259_set_irq(pic, 5, 1);
    g_assert_cmpint(cpu.level, ==, 0);
    teardown();
}

static void test_buffered_master_slave_bit(void)
{
    setup();
    /* Buffered mode: ICW4.M/S decides.  A master told it is a slave no
     * longer treats IR2 as a cascade input. */
    init_pair(0x11, 0x09, 0x01);
    i8259_set_irq(pic, 10, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x22);
    g_assert_cmpint(read_isr(0xa0), ==, 0x00);
    teardown();

    setup();
    init_pair(0x11, 0x0d, 0x09);                    /* buffered master/slave */
    i8259_set_irq(pic, 10, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x2a);
    g_assert_cmpint(read_isr(0xa0), ==, 0x04);
    teardown();

    setup();
    /* A slave with another ID does not answer: the bus floats. */
    init_pc();
    outb(0xa0, 0x11);
    outb(0xa1, 0x28);
    outb(0xa1, 0x03);
    outb(0xa1, 0x01);
    i8259_set_irq(pic, 10, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0xff);
    teardown();
}

static void test_spurious(void)
{
    setup();
    init_pc();
    /* Nothing pending: master IR7, nothing put in service. */
    g_assert_cmpint(i8259_intack(pic), ==, 0x27);
    g_assert_cmpint(read_isr(0x20), ==, 0x00);
    /* A slave level request withdrawn before INTA: spurious IRQ15; the
     * master's IR2 is in service, the slave's ISR stays empty. */
    outb(0x4d1, 0x04);
    i8259_set_irq(pic, 10, 1);
    g_assert_cmpint(cpu.level, ==, 1);
    i8259_set_irq(pic, 10, 0);
    g_assert_cmpint(i8259_intack(pic), ==, 0x2f);
    g_assert_cmpint(read_isr(0x20), ==, 0x04);
    g_assert_cmpint(read_isr(0xa0), ==, 0x00);
    outb(0x20, 0x20);
    g_assert_cmpint(read_isr(0x20), ==, 0x00);
    /* A masked request gives a spurious vector too. */
    i8259_set_irq(pic, 6, 1);
    outb(0x21, 0x40);
    g_assert_cmpint(cpu.level, ==, 0);
    g_assert_cmpint(i8259_intack(pic), ==, 0x27);
    g_assert_cmpint(read_isr(0x20), ==, 0x00);
    teardown();
}

static void test_cascade_input_not_external(void)
{
    setup();
    init_pc();
    i8259_set_irq(pic, 2, 1);
    g_assert_cmpint(read_irr(0x20), ==, 0x00);
    g_assert_cmpint(cpu.level, ==, 0);
    i8259_set_irq(pic, 16, 1);
    i8259_set_irq(pic, -1, 1);
    g_assert_cmpint(cpu.level, ==, 0);
    g_assert_cmpint(i8259_intr_level(pic), ==, 0);
    teardown();
}

static void test_intr_edges(void)
{
    setup();
    init_pc();
    int before = cpu.rises;
    i8259_set_irq(pic, 0, 1);
    i8259_set_irq(pic, 3, 1);                       /* INT already high */
    g_assert_cmpint(cpu.rises - before, ==, 1);
    g_assert_cmpint(i8259_intack(pic), ==, 0x20);
    outb(0x20, 0x20);
    g_assert_cmpint(cpu.rises - before, ==, 2);
    g_assert_true(i8259_intr_level(pic));
    teardown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i8259/init/icw-sequence", test_icw_sequence);
    g_test_add_func("/i8259/init/single-mode", test_single_mode);
    g_test_add_func("/i8259/init/reinit-and-reset", test_reinit_and_reset);
    g_test_add_func("/i8259/mask", test_mask);
    g_test_add_func("/i8259/priority-and-eoi", test_priority_and_eoi);
    g_test_add_func("/i8259/read-register-select", test_read_register_select);
    g_test_add_func("/i8259/rotation", test_rotation);
    g_test_add_func("/i8259/aeoi", test_aeoi);
    g_test_add_func("/i8259/poll", test_poll);
    g_test_add_func("/i8259/special-mask", test_special_mask);
    g_test_add_func("/i8259/trigger/edge", test_edge);
    g_test_add_func("/i8259/trigger/level-ltim", test_level_ltim);
    g_test_add_func("/i8259/trigger/elcr", test_elcr);
    g_test_add_func("/i8259/cascade/vectors-and-nesting", test_cascade);
    g_test_add_func("/i8259/cascade/sfnm", test_sfnm);
    g_test_add_func("/i8259/cascade/buffered-and-ids", test_buffered_master_slave_bit);
    g_test_add_func("/i8259/spurious", test_spurious);
    g_test_add_func("/i8259/cascade/irq2-not-external", test_cascade_input_not_external);
    g_test_add_func("/i8259/intr-edges", test_intr_edges);
    return g_test_run();
}
