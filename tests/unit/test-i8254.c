/*
 * Register-level tests of the 8254 PIT (hw/i8254.c) and system control
 * port B (hw/pc-port61.c) on the manual virtual clock.  Channel 0's OUT is
 * watched through its IrqLine: every level change is logged with its time.
 *
 * Time: input-clock pulse k happens at ceil(k * 1e9 / 1193182) ns.  A count
 * written before pulse 1 is loaded by pulse 1, so (Intel 8254 datasheet)
 * mode 0 with count N raises OUT at pulse N+1, mode 2 pulls OUT low at
 * pulse N and raises it at N+1, mode 3 with even N falls at pulse N/2+1.
 */
#include <glib.h>
#include "hw/i8254.h"
#include "hw/pc-port61.h"
#include "timer.h"

typedef struct Edge {
    int64_t ns;
    int level;
} Edge;

static AddressSpace *as;
static I8254 *pit;
static PCPort61 *port61;
static IrqLine *irq0;
static GArray *edges;       /* Edge: every change of channel 0's OUT */
static int rises;
static int last_level;      /* of irq0, as the probe saw it */

static void irq0_set(void *opaque, int n, int level)
{
    Edge e = { vclock_ns(), level };
    if (level != last_level) {
        g_array_append_val(edges, e);
        if (level) {
            rises++;
        }
    }
    last_level = level;
}

static int64_t tick_ns(int64_t k)
{
    return (k * NS_PER_SEC + I8254_CLOCK_HZ - 1) / I8254_CLOCK_HZ;
}

static void at_ns(int64_t ns)
{
    g_assert_cmpint(ns, >=, vclock_ns());
    vclock_advance(ns - vclock_ns());
}

static void at_tick(int64_t k)
{
    at_ns(tick_ns(k));
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
    vclock_set_manual(0);
    as = as_new();
    edges = g_array_new(FALSE, FALSE, sizeof(Edge));
    rises = 0;
    last_level = 0;
    irq0 = irq_line_new(irq0_set, NULL, 0);
    pit = i8254_new(as, irq0);
    port61 = pc_port61_new(as, pit);
}

static void teardown(void)
{
    pc_port61_free(port61);
    i8254_free(pit);
    irq_line_free(irq0);
    g_array_free(edges, TRUE);
    as_free(as);
}

static void clear_edges(void)
{
    g_array_set_size(edges, 0);
}

/* Expect exactly these OUT changes (pulse numbers and levels) so far. */
static void assert_edges(const int64_t *ticks, const int *levels, int n)
{
    if (g_getenv("PIT_TEST_DEBUG")) {
        for (guint i = 0; i < edges->len; i++) {
            Edge *e = &g_array_index(edges, Edge, i);
            g_printerr("edge %u: %" G_GINT64_FORMAT " ns -> %d\n", i, e->ns, e->level);
        }
    }
    g_assert_cmpint(edges->len, ==, n);
    for (int i = 0; i < n; i++) {
        Edge *e = &g_array_index(edges, Edge, i);
        g_assert_cmpint(e->ns, ==, tick_ns(ticks[i]));
        g_assert_cmpint(e->level, ==, levels[i]);
    }
}

static void write_count(int ch, uint16_t n)
{
    outb(0x40 + ch, n & 0xff);
    outb(0x40 + ch, n >> 8);
}

/* Counter latch command, then LSB and MSB (channels in LSB/MSB mode). */
static unsigned read_count(int ch)
{
    outb(0x43, ch << 6);
    unsigned lo = inb(0x40 + ch);
    return lo | inb(0x40 + ch) << 8;
}

/* Two reads, LSB first, of whatever the port gives (latched or not). */
static unsigned read16(uint16_t port)
{
    unsigned lo = inb(port);
    return lo | inb(port) << 8;
}

static uint8_t read_status(int ch)
{
    outb(0x43, 0xe0 | (2 << ch));
    return inb(0x40 + ch);
}

static bool line(void)
{
    return irq0->level;
}

/* --- the time base ----------------------------------------------------------- */

static void test_time_base(void)
{
    /* The pulse times the other tests rely on, against hand-computed
     * values: 1e9 / 1193182 ns = 838.095 ns per pulse. */
    g_assert_cmpint(tick_ns(1), ==, 839);
    g_assert_cmpint(tick_ns(100), ==, 83810);
    g_assert_cmpint(tick_ns(101), ==, 84648);
    g_assert_cmpint(tick_ns(1193182), ==, NS_PER_SEC);
}

/* --- mode 0 ---------------------------------------------------------------- */

static void test_mode0(void)
{
    setup();
    outb(0x43, 0x30);
    g_assert_cmpint(read_status(0), ==, 0x70);     /* OUT 0, null count */
    write_count(0, 100);
    g_assert_cmpint(read_status(0), ==, 0x70);     /* loaded by the next pulse */
    at_tick(1);
    g_assert_cmpint(read_status(0), ==, 0x30);
    g_assert_cmpint(read_count(0), ==, 100);
    at_tick(50);
    g_assert_cmpint(read_count(0), ==, 51);
    at_tick(100);
    g_assert_cmpint(read_count(0), ==, 1);
    at_ns(tick_ns(101) - 1);
    g_assert_false(line());
    at_tick(101);
    g_assert_true(line());
    g_assert_cmpint(read_count(0), ==, 0);
    g_assert_cmpint(read_status(0), ==, 0xb0);
    at_tick(102);
    g_assert_cmpint(read_count(0), ==, 0xffff);    /* counting goes on */
    at_tick(200000);
    g_assert_true(line());
    {
        int64_t t[] = { 101 };
        int l[] = { 1 };
        assert_edges(t, l, 1);
    }
    /* A two-byte rewrite: the LSB stops counting and drops OUT at once. */
    at_tick(200100);
    unsigned held = read_count(0);
    outb(0x40, 10);
    g_assert_false(line());
    at_tick(200200);
    g_assert_cmpint(read_count(0), ==, held);
    outb(0x40, 0);                                  /* MSB: count 10 */
    at_tick(200210);
    g_assert_false(line());
    at_tick(200211);
    g_assert_true(line());
    /* A new control word puts OUT to its initial level. */
    outb(0x43, 0x30);
    g_assert_false(line());
    teardown();
}

static void test_mode0_gate(void)
{
    setup();
    outb(0x61, 0x00);                               /* gate 2 low */
    outb(0x43, 0xb0);
    write_count(2, 20);
    at_tick(1);
    g_assert_cmpint(read_count(2), ==, 20);        /* loaded although gated */
    at_tick(30);
    g_assert_cmpint(read_count(2), ==, 20);
    g_assert_cmpint(inb(0x61) & 0x20, ==, 0);
    outb(0x61, 0x01);                               /* counting resumes */
    at_tick(40);
    g_assert_cmpint(read_count(2), ==, 10);
    outb(0x61, 0x00);
    at_tick(45);
    g_assert_cmpint(read_count(2), ==, 10);        /* held, OUT unchanged */
    g_assert_cmpint(inb(0x61) & 0x20, ==, 0);
    outb(0x61, 0x01);
    at_tick(54);
    g_assert_cmpint(read_count(2), ==, 1);
    g_assert_cmpint(inb(0x61) & 0x20, ==, 0);
    at_tick(55);
    g_assert_cmpint(inb(0x61) & 0x20, ==, 0x20);
    teardown();
}

/* --- mode 1 ---------------------------------------------------------------- */

static void test_mode1(void)
{
    setup();
    outb(0x43, 0x32);
    write_count(0, 50);
    at_tick(5);
    g_assert_true(line());
    g_assert_cmpint(read_status(0), ==, 0xf2);     /* waits for a trigger */
    at_tick(10);
    i8254_set_gate(pit, 0, false);
    at_tick(20);
    clear_edges();
    i8254_set_gate(pit, 0, true);                   /* trigger */
    g_assert_true(line());                          /* low from the next pulse */
    at_tick(21);
    g_assert_false(line());
    g_assert_cmpint(read_count(0), ==, 50);
    g_assert_cmpint(read_status(0), ==, 0x32);
    at_tick(70);
    g_assert_cmpint(read_count(0), ==, 1);
    at_tick(100);
    /* Retrigger in the middle of a one-shot: it starts over. */
    i8254_set_gate(pit, 0, false);
    at_tick(110);
    i8254_set_gate(pit, 0, true);
    at_tick(120);
    i8254_set_gate(pit, 0, false);                  /* a low gate does nothing */
    at_tick(130);
    i8254_set_gate(pit, 0, true);
    at_tick(140);
    write_count(0, 10);                             /* waits for the next trigger */
    g_assert_cmpint(read_status(0) & 0x40, ==, 0x40);
    at_tick(300);
    {
        int64_t t[] = { 21, 71, 111, 181 };
        int l[] = { 0, 1, 0, 1 };
        assert_edges(t, l, 4);
    }
    teardown();
}

/* --- mode 2 ---------------------------------------------------------------- */

static void test_mode2(void)
{
    setup();
    outb(0x43, 0x34);
    g_assert_true(line());                          /* OUT high on the control word */
    clear_edges();
    write_count(0, 100);
    at_tick(1);
    g_assert_cmpint(read_count(0), ==, 100);
    at_tick(50);
    g_assert_cmpint(read_count(0), ==, 51);
    at_tick(100);
    g_assert_cmpint(read_count(0), ==, 1);
    g_assert_false(line());
    at_tick(101);
    g_assert_cmpint(read_count(0), ==, 100);
    g_assert_true(line());
    /* A new count waits for the end of the current period. */
    at_tick(150);
    write_count(0, 200);
    g_assert_cmpint(read_status(0), ==, 0xf4);     /* null count until loaded */
    at_tick(199);
    g_assert_cmpint(read_count(0), ==, 2);
    at_tick(201);
    g_assert_cmpint(read_count(0), ==, 200);
    g_assert_cmpint(read_status(0), ==, 0xb4);
    at_tick(500);
    {
        int64_t t[] = { 100, 101, 200, 201, 400, 401 };
        int l[] = { 0, 1, 0, 1, 0, 1 };
        assert_edges(t, l, 6);
    }
    teardown();
}

static void test_mode2_gate(void)
{
    setup();
    outb(0x43, 0x34);
    write_count(0, 100);
    clear_edges();
    at_tick(100);
    g_assert_false(line());
    i8254_set_gate(pit, 0, false);                  /* OUT high at once */
    g_assert_true(line());
    at_tick(150);
    g_assert_cmpint(read_count(0), ==, 1);         /* counting stopped */
    i8254_set_gate(pit, 0, true);                   /* reload on the next pulse */
    at_tick(151);
    g_assert_cmpint(read_count(0), ==, 100);
    at_tick(400);
    {
        int64_t t[] = { 100, 100, 250, 251, 350, 351 };
        int l[] = { 0, 1, 0, 1, 0, 1 };
        assert_edges(t, l, 6);
    }
    teardown();
}

static void test_mode2_irq_rate(void)
{
    setup();
    /* The PC's 1 kHz tick: 1193 pulses.  One second of virtual time gives
     * one rising edge per period and nothing more. */
    outb(0x43, 0x34);
    write_count(0, 1193);
    clear_edges();
    rises = 0;
    at_ns(NS_PER_SEC);
    g_assert_cmpint(rises, ==, 1000);
    g_assert_cmpint(edges->len, ==, 2000);
    Edge *last = &g_array_index(edges, Edge, edges->len - 1);
    g_assert_cmpint(last->ns, ==, tick_ns(1 + 1000 * 1193));
    teardown();
}

static void test_fast_rate_coalesced(void)
{
    setup();
    /* Count 2: a 597 kHz wave.  The line gets one rising edge per 50 us
     * instead of one timer per pulse. */
    outb(0x43, 0x34);
    write_count(0, 2);
    rises = 0;
    at_ns(1000000);
    g_assert_cmpint(rises, ==, 19);
    g_assert_cmpint(edges->len, <=, 40);
    /* The count itself still follows every pulse. */
    at_tick(1194);
    g_assert_cmpint(read_count(0), ==, 1);
    at_tick(1195);
    g_assert_cmpint(read_count(0), ==, 2);
    teardown();
}

/* --- mode 3 ---------------------------------------------------------------- */

static void test_mode3(void)
{
    setup();
    outb(0x43, 0x36);
    clear_edges();
    write_count(0, 100);                            /* even */
    at_tick(1);
    g_assert_cmpint(read_count(0), ==, 100);
    at_tick(2);
    g_assert_cmpint(read_count(0), ==, 98);
    at_tick(50);
    g_assert_cmpint(read_count(0), ==, 2);
    g_assert_true(line());
    at_tick(51);
    g_assert_cmpint(read_count(0), ==, 100);
    g_assert_false(line());
    at_tick(100);
    g_assert_cmpint(read_count(0), ==, 2);
    at_tick(210);
    {
        int64_t t[] = { 51, 101, 151, 201 };
        int l[] = { 0, 1, 0, 1 };
        assert_edges(t, l, 4);
    }
    teardown();

    setup();
    outb(0x43, 0x36);
    clear_edges();
    write_count(0, 101);                            /* odd: high 51, low 50 */
    at_tick(1);
    g_assert_cmpint(read_count(0), ==, 100);
    at_tick(51);
    g_assert_cmpint(read_count(0), ==, 0);
    g_assert_true(line());
    at_tick(52);
    g_assert_cmpint(read_count(0), ==, 100);
    g_assert_false(line());
    at_tick(101);
    g_assert_cmpint(read_count(0), ==, 2);
    at_tick(102);
    g_assert_cmpint(read_count(0), ==, 100);
    at_tick(210);
    {
        int64_t t[] = { 52, 102, 153, 203 };
        int l[] = { 0, 1, 0, 1 };
        assert_edges(t, l, 4);
    }
    teardown();
}

static void test_mode3_new_count_and_gate(void)
{
    setup();
    outb(0x43, 0x36);
    clear_edges();
    write_count(0, 1000);
    at_tick(200);
    write_count(0, 400);        /* loaded as this high half ends, at 501 */
    at_tick(500);
    g_assert_cmpint(read_count(0), ==, 2);
    g_assert_cmpint(read_status(0), ==, 0xf6);     /* null count: not loaded */
    at_tick(501);
    g_assert_cmpint(read_count(0), ==, 400);       /* the low half of 400 */
    g_assert_cmpint(read_status(0), ==, 0x36);
    at_tick(1350);
    g_assert_false(line());
    i8254_set_gate(pit, 0, false);                  /* OUT high at once */
    g_assert_true(line());
    at_tick(1400);
    g_assert_cmpint(read_count(0), ==, 400 - 2 * 49);  /* held */
    i8254_set_gate(pit, 0, true);                   /* reload on pulse 1401 */
    at_tick(1401);
    g_assert_cmpint(read_count(0), ==, 400);
    at_tick(2000);
    {
        int64_t t[] = { 501, 701, 901, 1101, 1301, 1350, 1601, 1801 };
        int l[] = { 0, 1, 0, 1, 0, 1, 0, 1 };
        assert_edges(t, l, 8);
    }
    teardown();
}

/* --- modes 4 and 5 ------------------------------------------------------------ */

static void test_mode4(void)
{
    setup();
    outb(0x43, 0x38);
    clear_edges();
    write_count(0, 10);
    at_tick(10);
    g_assert_cmpint(read_count(0), ==, 1);
    g_assert_true(line());
    at_tick(11);
    g_assert_false(line());
    g_assert_cmpint(read_status(0) & 0x80, ==, 0);
    at_tick(12);
    g_assert_true(line());
    g_assert_cmpint(read_count(0), ==, 0xffff);
    at_tick(300000);                                /* one strobe only */
    {
        int64_t t[] = { 11, 12 };
        int l[] = { 0, 1 };
        assert_edges(t, l, 2);
    }
    /* A new count restarts on the next pulse. */
    clear_edges();
    write_count(0, 10);
    at_tick(300005);
    write_count(0, 20);
    at_tick(300100);
    {
        int64_t t[] = { 300026, 300027 };
        int l[] = { 0, 1 };
        assert_edges(t, l, 2);
    }
    /* GATE low stops counting; OUT is not affected. */
    clear_edges();
    write_count(0, 10);                             /* loaded at 300101 */
    at_tick(300105);
    i8254_set_gate(pit, 0, false);
    at_tick(300200);
    g_assert_cmpint(read_count(0), ==, 6);
    g_assert_true(line());
    i8254_set_gate(pit, 0, true);
    at_tick(300300);
    {
        int64_t t[] = { 300206, 300207 };
        int l[] = { 0, 1 };
        assert_edges(t, l, 2);
    }
    teardown();
}

static void test_mode5(void)
{
    setup();
    outb(0x43, 0x3a);
    clear_edges();
    write_count(0, 5);
    at_tick(100);
    g_assert_cmpint(edges->len, ==, 0);            /* no trigger, no strobe */
    i8254_set_gate(pit, 0, false);
    at_tick(110);
    i8254_set_gate(pit, 0, true);
    at_tick(111);
    g_assert_cmpint(read_count(0), ==, 5);
    at_tick(113);
    i8254_set_gate(pit, 0, false);                  /* level: no effect */
    at_tick(114);
    g_assert_cmpint(read_count(0), ==, 2);
    i8254_set_gate(pit, 0, true);                   /* retrigger */
    at_tick(200);
    {
        int64_t t[] = { 120, 121 };
        int l[] = { 0, 1 };
        assert_edges(t, l, 2);
    }
    teardown();
}

static void test_mode_aliases(void)
{
    setup();
    outb(0x43, 0x3c);                               /* mode 6 = mode 2 */
    g_assert_cmpint(read_status(0), ==, 0xfc);     /* status keeps M2-M0 as written */
    clear_edges();
    write_count(0, 100);
    at_tick(102);
    {
        int64_t t[] = { 100, 101 };
        int l[] = { 0, 1 };
        assert_edges(t, l, 2);
    }
    outb(0x43, 0x3e);                               /* mode 7 = mode 3 */
    clear_edges();
    write_count(0, 100);                            /* at pulse 102 */
    at_tick(205);
    {
        int64_t t[] = { 153, 203 };
        int l[] = { 0, 1 };
        assert_edges(t, l, 2);
    }
    g_assert_cmpint(read_status(0) & 0x3f, ==, 0x3e);
    teardown();
}

/* --- counting formats, latches, read-back ------------------------------------- */

static void test_bcd(void)
{
    setup();
    outb(0x43, 0x31);                               /* mode 0, BCD */
    clear_edges();
    write_count(0, 0x0100);                         /* 100 decimal */
    at_tick(2);
    g_assert_cmpint(read_count(0), ==, 0x0099);
    at_tick(91);
    g_assert_cmpint(read_count(0), ==, 0x0010);
    at_tick(102);
    g_assert_cmpint(read_count(0), ==, 0x9999);    /* wraps in decimal */
    {
        int64_t t[] = { 101 };
        int l[] = { 1 };
        assert_edges(t, l, 1);
    }
    g_assert_cmpint(read_status(0), ==, 0xb1);
    teardown();

    setup();
    outb(0x43, 0x35);                               /* mode 2, BCD, count 0 */
    clear_edges();
    write_count(0, 0);                              /* = 10000 */
    at_tick(1);
    g_assert_cmpint(read_count(0), ==, 0x0000);
    at_tick(2);
    g_assert_cmpint(read_count(0), ==, 0x9999);
    at_tick(10002);
    {
        int64_t t[] = { 10000, 10001 };
        int l[] = { 0, 1 };
        assert_edges(t, l, 2);
    }
    teardown();

    setup();
    outb(0x43, 0x34);                               /* binary count 0 = 65536 */
    clear_edges();
    write_count(0, 0);
    at_tick(65537);
    {
        int64_t t[] = { 65536, 65537 };
        int l[] = { 0, 1 };
        assert_edges(t, l, 2);
    }
    teardown();
}

static void test_access_modes(void)
{
    setup();
    outb(0x43, 0x10);                               /* LSB only, mode 0 */
    g_assert_cmpint(read_status(0), ==, 0x50);
    clear_edges();
    outb(0x40, 0x80);                               /* count 128 at once */
    at_tick(1);
    g_assert_cmpint(inb(0x40), ==, 0x80);
    g_assert_cmpint(inb(0x40), ==, 0x80);          /* no byte flip-flop */
    at_tick(129);
    g_assert_true(line());

    outb(0x43, 0x20);                               /* MSB only */
    outb(0x40, 0x01);                               /* count 256 */
    at_tick(130);
    g_assert_cmpint(inb(0x40), ==, 0x01);
    at_tick(131);
    g_assert_cmpint(inb(0x40), ==, 0x00);          /* 255 */
    at_tick(386);
    g_assert_true(line());
    g_assert_true(i8254_get_out(pit, 0));

    /* LSB then MSB, unlatched: the two reads straddle a pulse. */
    outb(0x43, 0x30);
    write_count(0, 0x0100);                         /* at 386, loaded 387 */
    at_tick(387);
    g_assert_cmpint(inb(0x40), ==, 0x00);
    at_tick(388);
    g_assert_cmpint(inb(0x40), ==, 0x00);          /* MSB of 0x00ff */
    g_assert_cmpint(inb(0x40), ==, 0xff);          /* LSB again */
    /* Reading the control port gives nothing meaningful. */
    g_assert_cmpint(inb(0x43), ==, 0xff);
    teardown();
}

static void test_latch(void)
{
    setup();
    outb(0x43, 0x34);
    write_count(0, 1000);
    at_tick(11);
    outb(0x43, 0x00);                               /* latch: 990 */
    at_tick(500);
    g_assert_cmpint(inb(0x40), ==, 990 & 0xff);
    at_tick(501);
    g_assert_cmpint(inb(0x40), ==, 990 >> 8);
    at_tick(600);
    outb(0x43, 0x00);                               /* 401 */
    at_tick(700);
    outb(0x43, 0x00);                               /* ignored until read */
    g_assert_cmpint(read16(0x40), ==, 401);
    at_tick(800);
    g_assert_cmpint(read16(0x40), ==, 201);  /* follows the CE again */
    /* Reprogramming drops a latch. */
    at_tick(850);
    outb(0x43, 0x00);                               /* 151 */
    at_tick(900);
    outb(0x43, 0x34);                               /* CE holds 101 */
    g_assert_cmpint(read16(0x40), ==, 101);
    teardown();
}

static void test_read_back(void)
{
    setup();
    outb(0x61, 0x01);                               /* gate 2 high */
    outb(0x43, 0x34);
    write_count(0, 1000);
    outb(0x43, 0x76);                               /* channel 1, mode 3 */
    write_count(1, 500);
    outb(0x43, 0xb0);                               /* channel 2, mode 0 */
    write_count(2, 300);
    g_assert_cmpint(read_status(0), ==, 0xf4);     /* before the load */
    g_assert_cmpint(read_status(1), ==, 0xf6);
    g_assert_cmpint(read_status(2), ==, 0x70);
    at_tick(11);
    /* Count and status of counter 0: status first. */
    outb(0x43, 0xc2);
    at_tick(20);
    g_assert_cmpint(inb(0x40), ==, 0xb4);
    g_assert_cmpint(read16(0x40), ==, 990);
    /* Counts of all three at once. */
    outb(0x43, 0xde);
    at_tick(40);
    g_assert_cmpint(read16(0x40), ==, 981);
    g_assert_cmpint(read16(0x41), ==, 500 - 2 * 19);
    g_assert_cmpint(read16(0x42), ==, 281);
    /* Status of counters 1 and 2 only. */
    outb(0x43, 0xec);
    g_assert_cmpint(inb(0x41), ==, 0xb6);
    g_assert_cmpint(inb(0x42), ==, 0x30);
    g_assert_cmpint(read16(0x40), ==, 1000 - 39);   /* not latched */
    /* A second status latch before the read is ignored. */
    at_tick(300);
    outb(0x43, 0xe8);                               /* counter 2: OUT 0 */
    at_tick(301);                                   /* OUT rises here */
    outb(0x43, 0xe8);
    g_assert_cmpint(inb(0x42), ==, 0x30);
    g_assert_cmpint(read_status(2), ==, 0xb0);
    /* Count latched first, status after: the status still reads first. */
    outb(0x43, 0x80);                               /* latch counter 2 */
    outb(0x43, 0xe8);
    at_tick(400);
    g_assert_cmpint(inb(0x42), ==, 0xb0);
    g_assert_cmpint(read16(0x42), ==, 0);          /* latched at pulse 301 */
    teardown();
}

/* --- port 0x61 --------------------------------------------------------------------- */

static void test_port61(void)
{
    setup();
    g_assert_cmpint(inb(0x61) & 0xcf, ==, 0x00);
    g_assert_false(i8254_get_gate(pit, 2));
    g_assert_true(i8254_get_gate(pit, 0));
    g_assert_true(i8254_get_gate(pit, 1));
    outb(0x61, 0xff);
    g_assert_cmpint(inb(0x61) & 0xcf, ==, 0x0f);   /* bits 4-7 are not writable */
    g_assert_true(i8254_get_gate(pit, 2));
    outb(0x61, 0x0c);
    g_assert_cmpint(inb(0x61) & 0x0f, ==, 0x0c);
    g_assert_false(i8254_get_gate(pit, 2));

    /* Refresh toggle: flips every 15085 ns. */
    g_assert_cmpint(inb(0x61) & 0x10, ==, 0);
    at_ns(15084);
    g_assert_cmpint(inb(0x61) & 0x10, ==, 0);
    at_ns(15085);
    g_assert_cmpint(inb(0x61) & 0x10, ==, 0x10);
    at_ns(30170);
    g_assert_cmpint(inb(0x61) & 0x10, ==, 0);
    teardown();

    /* Channel 2 as a tone: OUT on bit 5, gate on bit 0, speaker on bit 1. */
    setup();
    outb(0x43, 0xb6);
    write_count(2, 100);
    g_assert_cmpfloat(i8254_get_frequency(pit, 2), ==, 0.0);   /* gate low */
    at_tick(10);
    outb(0x61, 0x03);                               /* trigger: loaded at 11 */
    g_assert_cmpfloat_with_epsilon(i8254_get_frequency(pit, 2), 11931.82, 1e-6);
    g_assert_true(port61->speaker_on);
    at_tick(60);
    g_assert_cmpint(inb(0x61) & 0x20, ==, 0x20);
    at_tick(61);
    g_assert_cmpint(inb(0x61) & 0x20, ==, 0);
    outb(0x61, 0x02);                               /* gate off: OUT high */
    g_assert_cmpint(inb(0x61) & 0x20, ==, 0x20);
    g_assert_false(port61->speaker_on);
    outb(0x61, 0x01);
    g_assert_false(port61->speaker_on);
    teardown();

    /* The calibration idiom: mode 0 on channel 2, poll bit 5. */
    setup();
    outb(0x61, 0x01);
    outb(0x43, 0xb0);
    write_count(2, 0xffff);
    at_tick(65535);
    g_assert_cmpint(inb(0x61) & 0x20, ==, 0);
    at_tick(65536);
    g_assert_cmpint(inb(0x61) & 0x20, ==, 0x20);
    pc_port61_reset(port61);
    g_assert_false(i8254_get_gate(pit, 2));
    teardown();
}

static void test_reset(void)
{
    setup();
    outb(0x43, 0x34);
    write_count(0, 100);
    at_tick(50);
    g_assert_true(line());
    i8254_reset(pit);
    g_assert_false(line());
    g_assert_cmpint(read_status(0), ==, 0x70);
    clear_edges();
    at_tick(1000);
    g_assert_cmpint(edges->len, ==, 0);
    teardown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i8254/time-base", test_time_base);
    g_test_add_func("/i8254/mode0/count-and-out", test_mode0);
    g_test_add_func("/i8254/mode0/gate", test_mode0_gate);
    g_test_add_func("/i8254/mode1/one-shot", test_mode1);
    g_test_add_func("/i8254/mode2/rate", test_mode2);
    g_test_add_func("/i8254/mode2/gate", test_mode2_gate);
    g_test_add_func("/i8254/mode2/irq-rate", test_mode2_irq_rate);
    g_test_add_func("/i8254/mode2/coalesced", test_fast_rate_coalesced);
    g_test_add_func("/i8254/mode3/square", test_mode3);
    g_test_add_func("/i8254/mode3/new-count-and-gate", test_mode3_new_count_and_gate);
    g_test_add_func("/i8254/mode4/strobe", test_mode4);
    g_test_add_func("/i8254/mode5/strobe", test_mode5);
    g_test_add_func("/i8254/mode-aliases", test_mode_aliases);
    g_test_add_func("/i8254/bcd", test_bcd);
    g_test_add_func("/i8254/access-modes", test_access_modes);
    g_test_add_func("/i8254/latch", test_latch);
    g_test_add_func("/i8254/read-back", test_read_back);
    g_test_add_func("/i8254/port61", test_port61);
    g_test_add_func("/i8254/reset", test_reset);
    return g_test_run();
}
