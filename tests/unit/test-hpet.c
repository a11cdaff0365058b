/*
 * Register-level tests of the HPET (hw/hpet.c) on the manual virtual clock,
 * through its MMIO page at 0xfed00000; its ACPI table (hw/acpi-tables.c);
 * and its place in the PC (hw/pc-devices.c): outputs to the IOAPIC, the
 * legacy replacement route cutting the PIT off.  Expected values follow
 * the IA-PC HPET Specification 1.0a.
 */
#include <string.h>
#include <sys/mman.h>
#include <glib.h>
#include "hw/acpi.h"
#include "hw/apic.h"
#include "hw/hpet.h"
#include "hw/ioapic.h"
#include "hw/pc.h"
#include "timer.h"
#include "vmstate.h"

#define T0      INT64_C(1000000000)
#define US      INT64_C(1000)
#define MS      INT64_C(1000000)
#define BASE    HPET_DEFAULT_BASE

typedef struct Rig {
    AddressSpace *as;
    Hpet *hpet;
    IrqLine **lines;
    int rises[HPET_NUM_OUTPUTS];
    int prev[HPET_NUM_OUTPUTS];
    int legacy_calls;
    bool legacy_on;
} Rig;

static void probe(void *opaque, int n, int level)
{
    Rig *r = opaque;
    if (level && !r->prev[n]) {     /* count 0 -> 1 changes */
        r->rises[n]++;
    }
    r->prev[n] = level;
}

static void legacy_hook(void *opaque, bool on)
{
    Rig *r = opaque;
    r->legacy_calls++;
    r->legacy_on = on;
}

static void rig_init(Rig *r)
{
    memset(r, 0, sizeof(*r));
    r->as = as_new();
    r->hpet = hpet_new(r->as, BASE);
    g_assert_nonnull(r->hpet);
    r->lines = irq_lines_new(probe, r, HPET_NUM_OUTPUTS);
    for (int n = 0; n < HPET_NUM_OUTPUTS; n++) {
        hpet_connect(r->hpet, n, r->lines[n]);
    }
    hpet_set_legacy_hook(r->hpet, legacy_hook, r);
}

static void rig_free(Rig *r)
{
    hpet_free(r->hpet);
    irq_lines_free(r->lines, HPET_NUM_OUTPUTS);
    as_free(r->as);
}

static uint64_t rd(Rig *r, uint32_t reg)
{
    return as_mmio_read(r->as, BASE + reg, 8);
}

static uint32_t rd32(Rig *r, uint32_t reg)
{
    return as_mmio_read(r->as, BASE + reg, 4);
}

static void wr(Rig *r, uint32_t reg, uint64_t v)
{
    as_mmio_write(r->as, BASE + reg, v, 8);
}

static void wr32(Rig *r, uint32_t reg, uint32_t v)
{
    as_mmio_write(r->as, BASE + reg, v, 4);
}

static uint64_t route(int ioapic_input)
{
    return (uint64_t)ioapic_input << HPET_TN_ROUTE_SHIFT;
}

/* --- registers ---------------------------------------------------------------- */

static void test_capabilities(void)
{
    Rig r;
    vclock_set_manual(T0);
    rig_init(&r);

    /* Rev 1, 3 timers (field 2), 64-bit counter, legacy route capable,
     * vendor 8086h; period 10^7 fs (100 MHz). */
    g_assert_cmphex(rd32(&r, HPET_REG_CAP), ==, 0x8086a201);
    g_assert_cmphex(rd32(&r, HPET_REG_CAP + 4), ==, 10000000);
    g_assert_cmphex(rd(&r, HPET_REG_CAP), ==, 0x009896808086a201ULL);
    wr(&r, HPET_REG_CAP, 0);                        /* read-only */
    g_assert_cmphex(rd32(&r, HPET_REG_CAP), ==, 0x8086a201);
    /* Byte reads of a 64-bit register. */
    g_assert_cmphex(as_mmio_read(r.as, BASE + 2, 2), ==, 0x8086);
    g_assert_cmphex(as_mmio_read(r.as, BASE + 1, 1), ==, 0xa2);

    /* Timers 0 and 1 periodic-capable, timer 2 not; all 64-bit; routes to
     * IOAPIC inputs 20-23; no FSB delivery. */
    uint64_t route_cap = (uint64_t)HPET_ROUTE_CAP << 32;
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CFG(0)), ==, route_cap | 0x30);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CFG(1)), ==, route_cap | 0x30);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CFG(2)), ==, route_cap | 0x20);
    g_assert_cmphex(rd32(&r, HPET_REG_TIMER_CFG(0) + 4), ==, HPET_ROUTE_CAP);
    for (int n = 0; n < HPET_NUM_TIMERS; n++) {
        g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(n)), ==, ~0ULL);
        g_assert_cmphex(rd(&r, HPET_REG_TIMER_FSB(n)), ==, 0);
    }
    /* Reset: halted, no legacy route, no status. */
    g_assert_cmphex(rd(&r, HPET_REG_CONFIG), ==, 0);
    g_assert_cmphex(rd(&r, HPET_REG_ISR), ==, 0);
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 0);
    /* Reserved offsets. */
    g_assert_cmphex(rd(&r, 0x008), ==, 0);
    g_assert_cmphex(rd(&r, 0x0e0), ==, 0);
    g_assert_cmphex(rd(&r, 0x3f8), ==, 0);
    rig_free(&r);
}

static void test_counter(void)
{
    Rig r;
    vclock_set_manual(T0);
    rig_init(&r);

    vclock_advance(MS);
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 0);   /* halted */
    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE);
    vclock_advance(US);
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 100);
    vclock_advance(NS_PER_SEC);
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 100000100);
    vclock_advance(5);                                  /* half a tick */
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 100000100);
    vclock_advance(5);
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 100000101);

    wr(&r, HPET_REG_CONFIG, 0);                         /* halt: holds */
    vclock_advance(MS);
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 100000101);
    wr(&r, HPET_REG_COUNTER, 0xfffffff0ULL);
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 0xfffffff0ULL);
    wr32(&r, HPET_REG_COUNTER + 4, 7);                  /* the upper half only */
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 0x7fffffff0ULL);
    wr(&r, HPET_REG_COUNTER, 0xfffffff0ULL);
    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE);
    vclock_advance(US);                                 /* 100 ticks: carries */
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 0x100000054ULL);
    g_assert_cmphex(rd32(&r, HPET_REG_COUNTER), ==, 0x54);
    g_assert_cmphex(rd32(&r, HPET_REG_COUNTER + 4), ==, 1);
    rig_free(&r);
}

/* --- timers ------------------------------------------------------------------- */

static void test_one_shot(void)
{
    Rig r;
    vclock_set_manual(T0);
    rig_init(&r);

    wr(&r, HPET_REG_TIMER_CFG(2), HPET_TN_INT_ENABLE | route(21));
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CFG(2)) & 0xffff, ==, 0x20 | HPET_TN_INT_ENABLE | route(21));
    wr(&r, HPET_REG_TIMER_CMP(2), 1000);                /* 10 us */
    vclock_advance(MS);
    g_assert_cmpint(r.rises[21], ==, 0);                /* counter halted */

    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE);
    vclock_advance(10 * US - 1);
    g_assert_cmpint(r.rises[21], ==, 0);
    vclock_advance(1);
    g_assert_cmpint(r.rises[21], ==, 1);
    g_assert_cmpint(r.lines[21]->level, ==, 0);         /* a pulse: edge mode */
    g_assert_cmphex(rd(&r, HPET_REG_ISR), ==, 0);       /* no status in edge mode */
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(2)), ==, 1000);
    vclock_advance(10 * NS_PER_SEC);                    /* 64-bit: passed for good */
    g_assert_cmpint(r.rises[21], ==, 1);

    /* A new comparator ahead of the counter arms it again. */
    uint64_t now = rd(&r, HPET_REG_COUNTER);
    wr(&r, HPET_REG_TIMER_CMP(2), now + 50);
    vclock_advance(500);
    g_assert_cmpint(r.rises[21], ==, 2);
    /* With interrupts disabled the timer matches but sends nothing. */
    wr(&r, HPET_REG_TIMER_CFG(2), route(21));
    wr(&r, HPET_REG_TIMER_CMP(2), rd(&r, HPET_REG_COUNTER) + 50);
    vclock_advance(US);
    g_assert_cmpint(r.rises[21], ==, 2);
    for (int n = 0; n < HPET_NUM_OUTPUTS; n++) {
        if (n != 21) {
            g_assert_cmpint(r.rises[n], ==, 0);
        }
    }
    rig_free(&r);
}

static void test_one_shot_32bit(void)
{
    Rig r;
    vclock_set_manual(T0);
    rig_init(&r);

    wr(&r, HPET_REG_TIMER_CMP(1), 0x1234500000000ULL);
    wr(&r, HPET_REG_TIMER_CFG(1), HPET_TN_INT_ENABLE | HPET_TN_32BIT | route(23));
    /* 32-bit mode: the comparator's upper half is gone and stays 0. */
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(1)), ==, 0);
    wr(&r, HPET_REG_TIMER_CMP(1), 0x700000000ULL | 2000);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(1)), ==, 2000);
    wr32(&r, HPET_REG_TIMER_CMP(1) + 4, 9);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(1)), ==, 2000);

    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE);
    vclock_advance(20 * US);
    g_assert_cmpint(r.rises[23], ==, 1);
    /* The low 32 bits match again after 2^32 ticks (42.94967296 s). */
    vclock_advance(INT64_C(42949672960) - 1);
    g_assert_cmpint(r.rises[23], ==, 1);
    vclock_advance(1);
    g_assert_cmpint(r.rises[23], ==, 2);
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 0x100000000ULL + 2000);
    rig_free(&r);
}

static void test_periodic(void)
{
    Rig r;
    vclock_set_manual(T0);
    rig_init(&r);

    /* First match at 500 (5 us), then every 1000 ticks (10 us). */
    wr(&r, HPET_REG_TIMER_CFG(0), HPET_TN_INT_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL |
                                  route(20));
    wr(&r, HPET_REG_TIMER_CMP(0), 500);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CFG(0)) & HPET_TN_SETVAL, ==, 0);  /* cleared */
    wr(&r, HPET_REG_TIMER_CMP(0), 1000);                /* the period only */
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(0)), ==, 500);

    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE);
    vclock_advance(5 * US);
    g_assert_cmpint(r.rises[20], ==, 1);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(0)), ==, 1500);
    for (int k = 2; k <= 10; k++) {
        vclock_advance(10 * US);
        g_assert_cmpint(r.rises[20], ==, k);
    }
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(0)), ==, 10500);

    /* Halted: no matches; going on from where it stopped. */
    wr(&r, HPET_REG_CONFIG, 0);
    vclock_advance(MS);
    g_assert_cmpint(r.rises[20], ==, 10);
    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE);
    vclock_advance(10 * US);
    g_assert_cmpint(r.rises[20], ==, 11);

    /* A period rewritten without SETVAL applies after the next match. */
    wr(&r, HPET_REG_TIMER_CMP(0), 3000);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(0)), ==, 11500);
    vclock_advance(10 * US);
    g_assert_cmpint(r.rises[20], ==, 12);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(0)), ==, 14500);
    vclock_advance(20 * US);
    g_assert_cmpint(r.rises[20], ==, 12);
    vclock_advance(10 * US);
    g_assert_cmpint(r.rises[20], ==, 13);

    /* Timer 2 cannot be periodic: the bit stays 0, it stays one-shot. */
    wr(&r, HPET_REG_TIMER_CFG(2), HPET_TN_INT_ENABLE | HPET_TN_PERIODIC | route(22));
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CFG(2)) & HPET_TN_PERIODIC, ==, 0);
    wr(&r, HPET_REG_TIMER_CMP(2), rd(&r, HPET_REG_COUNTER) + 100);
    vclock_advance(10 * US);
    g_assert_cmpint(r.rises[22], ==, 1);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(2)) - rd(&r, HPET_REG_COUNTER) + 1000, <=, 1000);
    rig_free(&r);
}

/* The host runs the timer late: missed periods coalesce into one
 * interrupt and the comparator points at the next match to come. */
static void test_periodic_late(void)
{
    Rig r;
    vclock_set_manual(T0);
    rig_init(&r);

    /* 32-bit periodic timer, 100 us. */
    wr(&r, HPET_REG_TIMER_CFG(1), HPET_TN_INT_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL |
                                  HPET_TN_32BIT | route(22));
    wr(&r, HPET_REG_TIMER_CMP(1), 10000);
    wr(&r, HPET_REG_TIMER_CMP(1), 10000);
    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE);
    vclock_advance(100 * US);
    g_assert_cmpint(r.rises[22], ==, 1);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(1)), ==, 20000);

    vclock_set(T0 + 100 * US + 1055 * US);      /* 1.055 ms later, no timers run */
    vtimers_run_due();
    g_assert_cmpint(r.rises[22], ==, 2);
    g_assert_cmphex(rd(&r, HPET_REG_COUNTER), ==, 115500);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(1)), ==, 120000);
    vclock_advance(45 * US - 1);
    g_assert_cmpint(r.rises[22], ==, 2);
    vclock_advance(1);
    g_assert_cmpint(r.rises[22], ==, 3);
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CMP(1)), ==, 130000);

    /* A period below the host minimum (10 us) coalesces to it; the
     * comparator stays on the period's grid. */
    wr(&r, HPET_REG_TIMER_CFG(1), HPET_TN_INT_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL |
                                  HPET_TN_32BIT | route(22));
    uint32_t c = rd32(&r, HPET_REG_COUNTER);
    wr(&r, HPET_REG_TIMER_CMP(1), c + 10);
    wr(&r, HPET_REG_TIMER_CMP(1), 10);          /* 100 ns */
    int before = r.rises[22];
    vclock_advance(100 * US);
    int n = r.rises[22] - before;
    g_assert_cmpint(n, >=, 9);
    g_assert_cmpint(n, <=, 11);
    g_assert_cmpuint((rd32(&r, HPET_REG_TIMER_CMP(1)) - c) % 10, ==, 0);
    rig_free(&r);
}

static void test_level(void)
{
    Rig r;
    vclock_set_manual(T0);
    rig_init(&r);

    wr(&r, HPET_REG_TIMER_CFG(1), HPET_TN_LEVEL | HPET_TN_INT_ENABLE | route(22));
    wr(&r, HPET_REG_TIMER_CMP(1), 100);
    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE);
    vclock_advance(US);
    g_assert_cmphex(rd(&r, HPET_REG_ISR), ==, 2);
    g_assert_cmpint(r.lines[22]->level, ==, 1);
    wr(&r, HPET_REG_ISR, 1);                        /* not its bit */
    g_assert_cmpint(r.lines[22]->level, ==, 1);
    wr(&r, HPET_REG_ISR, 2);                        /* write 1 to clear */
    g_assert_cmphex(rd(&r, HPET_REG_ISR), ==, 0);
    g_assert_cmpint(r.lines[22]->level, ==, 0);

    /* Interrupts off: the status still comes, the line stays low until
     * they are enabled. */
    wr(&r, HPET_REG_TIMER_CFG(1), HPET_TN_LEVEL | route(22));
    wr(&r, HPET_REG_TIMER_CMP(1), rd(&r, HPET_REG_COUNTER) + 100);
    vclock_advance(US);
    g_assert_cmphex(rd(&r, HPET_REG_ISR), ==, 2);
    g_assert_cmpint(r.lines[22]->level, ==, 0);
    wr(&r, HPET_REG_TIMER_CFG(1), HPET_TN_LEVEL | HPET_TN_INT_ENABLE | route(22));
    g_assert_cmpint(r.lines[22]->level, ==, 1);
    /* Moving the route moves the asserted level. */
    wr(&r, HPET_REG_TIMER_CFG(1), HPET_TN_LEVEL | HPET_TN_INT_ENABLE | route(23));
    g_assert_cmpint(r.lines[22]->level, ==, 0);
    g_assert_cmpint(r.lines[23]->level, ==, 1);
    /* Halting the counter gates the outputs; enabling gives it back. */
    wr(&r, HPET_REG_CONFIG, 0);
    g_assert_cmpint(r.lines[23]->level, ==, 0);
    g_assert_cmphex(rd(&r, HPET_REG_ISR), ==, 2);
    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE);
    g_assert_cmpint(r.lines[23]->level, ==, 1);
    /* Back to edge mode: the status bit goes. */
    wr(&r, HPET_REG_TIMER_CFG(1), HPET_TN_INT_ENABLE | route(23));
    g_assert_cmphex(rd(&r, HPET_REG_ISR), ==, 0);
    g_assert_cmpint(r.lines[23]->level, ==, 0);
    rig_free(&r);
}

static void test_routes(void)
{
    Rig r;
    vclock_set_manual(T0);
    rig_init(&r);

    wr(&r, HPET_REG_TIMER_CFG(0), route(23));
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CFG(0)) & HPET_TN_ROUTE_MASK, ==, route(23));
    wr(&r, HPET_REG_TIMER_CFG(0), route(5));        /* not in the capability */
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CFG(0)) & HPET_TN_ROUTE_MASK, ==, route(23));
    wr(&r, HPET_REG_TIMER_CFG(0), route(20) | HPET_TN_FSB_ENABLE);    /* no FSB */
    g_assert_cmphex(rd(&r, HPET_REG_TIMER_CFG(0)) & (HPET_TN_ROUTE_MASK | HPET_TN_FSB_ENABLE),
                    ==, route(20));
    rig_free(&r);
}

static void test_legacy(void)
{
    Rig r;
    vclock_set_manual(T0);
    rig_init(&r);

    for (int n = 0; n < HPET_NUM_TIMERS; n++) {
        wr(&r, HPET_REG_TIMER_CFG(n), HPET_TN_INT_ENABLE | route(20 + n));
    }
    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE | HPET_CFG_LEGACY);
    g_assert_cmpint(r.legacy_calls, ==, 1);
    g_assert_true(r.legacy_on);
    g_assert_true(hpet_legacy_replacement(r.hpet));
    uint64_t now = rd(&r, HPET_REG_COUNTER);
    for (int n = 0; n < HPET_NUM_TIMERS; n++) {
        wr(&r, HPET_REG_TIMER_CMP(n), now + 100 * (n + 1));
    }
    vclock_advance(10 * US);
    g_assert_cmpint(r.rises[HPET_OUT_LEGACY_IRQ0], ==, 1);  /* timer 0 */
    g_assert_cmpint(r.rises[HPET_OUT_LEGACY_IRQ8], ==, 1);  /* timer 1 */
    g_assert_cmpint(r.rises[20], ==, 0);
    g_assert_cmpint(r.rises[21], ==, 0);
    g_assert_cmpint(r.rises[22], ==, 1);                    /* timer 2: its route */

    wr(&r, HPET_REG_CONFIG, HPET_CFG_ENABLE);
    g_assert_cmpint(r.legacy_calls, ==, 2);
    g_assert_false(r.legacy_on);
    now = rd(&r, HPET_REG_COUNTER);
    wr(&r, HPET_REG_TIMER_CMP(0), now + 100);
    vclock_advance(10 * US);
    g_assert_cmpint(r.rises[20], ==, 1);
    g_assert_cmpint(r.rises[HPET_OUT_LEGACY_IRQ0], ==, 1);
    rig_free(&r);
}

/* --- suspend/resume --------------------------------------------------------------- */

static void test_vmstate(void)
{
    Rig a, b;
    vclock_set_manual(T0);
    rig_init(&a);
    rig_init(&b);

    wr(&a, HPET_REG_TIMER_CFG(0), HPET_TN_INT_ENABLE | HPET_TN_PERIODIC | HPET_TN_SETVAL |
                                  route(20));
    wr(&a, HPET_REG_TIMER_CMP(0), 1000);
    wr(&a, HPET_REG_TIMER_CMP(0), 1000);
    wr(&a, HPET_REG_TIMER_CFG(1), HPET_TN_LEVEL | HPET_TN_INT_ENABLE | route(22));
    wr(&a, HPET_REG_TIMER_CMP(1), 2500);
    wr(&a, HPET_REG_CONFIG, HPET_CFG_ENABLE | HPET_CFG_LEGACY);
    vclock_advance(35 * US);
    g_assert_cmpint(a.rises[HPET_OUT_LEGACY_IRQ0], ==, 3);
    g_assert_cmphex(rd(&a, HPET_REG_ISR), ==, 2);

    GByteArray *out = g_byte_array_new(), *again = g_byte_array_new();
    GError *err = NULL;
    g_assert_cmpint(vmstate_save_section(out, "hpet", &hpet_vmstate, a.hpet, &err), ==, 0);
    VMStateStream *st = vmstate_stream_parse(out->data, out->len, &err);
    g_assert_nonnull(st);
    g_assert_cmpint(vmstate_stream_load(st, "hpet", &hpet_vmstate, b.hpet, &err), ==, 0);
    vmstate_stream_free(st);
    g_assert_cmpint(vmstate_save_section(again, "hpet", &hpet_vmstate, b.hpet, &err), ==, 0);
    g_assert_cmpmem(again->data, again->len, out->data, out->len);
    g_assert_true(b.legacy_on);                     /* told after the load */

    static const uint32_t regs[] = {
        HPET_REG_CONFIG, HPET_REG_ISR, HPET_REG_COUNTER, HPET_REG_TIMER_CFG(0),
        HPET_REG_TIMER_CMP(0), HPET_REG_TIMER_CFG(1), HPET_REG_TIMER_CMP(1),
    };
    for (int step = 0; step < 5; step++) {
        for (size_t k = 0; k < G_N_ELEMENTS(regs); k++) {
            g_assert_cmphex(rd(&b, regs[k]), ==, rd(&a, regs[k]));
        }
        int ra = a.rises[HPET_OUT_LEGACY_IRQ0], rb = b.rises[HPET_OUT_LEGACY_IRQ0];
        vclock_advance(10 * US);
        g_assert_cmpint(a.rises[HPET_OUT_LEGACY_IRQ0] - ra, ==, 1);
        g_assert_cmpint(b.rises[HPET_OUT_LEGACY_IRQ0] - rb, ==, 1);
    }

    /* A configuration no HPET of this kind can have is refused. */
    HpetTimer saved = a.hpet->timer[2];
    a.hpet->timer[2].config = HPET_TN_PERIODIC;     /* timer 2 is one-shot only */
    g_byte_array_set_size(out, 0);
    g_assert_cmpint(vmstate_save_section(out, "hpet", &hpet_vmstate, a.hpet, &err), ==, 0);
    a.hpet->timer[2] = saved;
    st = vmstate_stream_parse(out->data, out->len, &err);
    g_assert_cmpint(vmstate_stream_load(st, "hpet", &hpet_vmstate, b.hpet, &err), <, 0);
    g_assert_nonnull(err);
    g_clear_error(&err);
    vmstate_stream_free(st);

    g_byte_array_unref(out);
    g_byte_array_unref(again);
    rig_free(&a);
    rig_free(&b);
}

/* --- the ACPI table --------------------------------------------------------------- */

static const uint8_t *find_table(const AcpiTables *t, const char *sig)
{
    const GByteArray *b = t->blob[ACPI_BLOB_TABLES];
    for (guint off = 0; off + 36 <= b->len; off += 4) {
        if (!memcmp(b->data + off, sig, 4)) {
            return b->data + off;
        }
    }
    return NULL;
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void test_acpi_table(void)
{
    AcpiConfig cfg;
    acpi_config_pc(&cfg, 2);
    AcpiTables *t = acpi_tables_build(&cfg);
    g_assert_cmpuint(t->hpet, ==, 0);
    g_assert_null(find_table(t, "HPET"));
    acpi_tables_free(t);

    Rig r;
    vclock_set_manual(T0);
    rig_init(&r);
    cfg.hpet_addr = BASE;
    cfg.hpet_block_id = rd32(&r, HPET_REG_CAP);
    cfg.hpet_min_tick = 1000;
    t = acpi_tables_build(&cfg);
    g_assert_cmpuint(t->hpet, !=, 0);
    const uint8_t *h = t->blob[ACPI_BLOB_TABLES]->data + t->hpet;
    g_assert_cmpmem(h, 4, "HPET", 4);
    g_assert_cmpuint(le32(h + 4), ==, 56);                  /* length */
    g_assert_cmpuint(h[8], ==, 1);                          /* revision */
    g_assert_cmpuint(acpi_checksum(h, 56), ==, 0);
    g_assert_cmphex(le32(h + 36), ==, 0x8086a201);          /* block ID */
    g_assert_cmpuint(h[40], ==, 0);                         /* memory space */
    g_assert_cmpuint(h[41], ==, 64);
    g_assert_cmphex(le32(h + 44), ==, 0xfed00000);
    g_assert_cmphex(le32(h + 48), ==, 0);
    g_assert_cmpuint(h[52], ==, 0);                         /* HPET number */
    g_assert_cmpuint(h[53] | (h[54] << 8), ==, 1000);
    g_assert_cmpuint(h[55], ==, 1);

    /* RSDT and XSDT point at it (offsets before placement). */
    const uint8_t *rsdt = t->blob[ACPI_BLOB_TABLES]->data + t->rsdt;
    const uint8_t *xsdt = t->blob[ACPI_BLOB_TABLES]->data + t->xsdt;
    g_assert_cmpuint(le32(rsdt + 4), ==, 36 + 3 * 4);
    g_assert_cmpuint(le32(xsdt + 4), ==, 36 + 3 * 8);
    g_assert_cmpuint(le32(rsdt + 36 + 8), ==, t->hpet);
    g_assert_cmpuint(le32(xsdt + 36 + 16), ==, t->hpet);
    /* Placed: the pointers are relocated and every checksum holds. */
    GByteArray *tb = t->blob[ACPI_BLOB_TABLES];
    g_autofree uint8_t *rsdp_out = g_malloc(t->blob[ACPI_BLOB_RSDP]->len);
    g_autofree uint8_t *tables_out = g_malloc(tb->len);
    acpi_tables_place(t, 0xe0000, 0xe0040, rsdp_out, tables_out);
    g_assert_cmpuint(le32(tables_out + t->rsdt + 36 + 8), ==, 0xe0040 + t->hpet);
    g_assert_cmpuint(acpi_checksum(tables_out + t->rsdt, le32(tables_out + t->rsdt + 4)), ==, 0);
    g_assert_cmpuint(acpi_checksum(tables_out + t->hpet, 56), ==, 0);
    acpi_tables_free(t);
    rig_free(&r);
}

/* --- in the PC ------------------------------------------------------------------- */

/* hw/pc.c's GSI wiring with the userspace irqchip. */
static void pc_gsi(void *opaque, int n, int level)
{
    Machine *m = opaque;
    if (!pc_hpet_owns_irq(m, n)) {
        pc_irqchip_set(m, n, level);
    }
}

static void pc_intr(void *opaque, int n, int level)
{
    Machine *m = opaque;
    m->intr_pending = level;
}

static Machine *pc_new(void)
{
    Machine *m = g_new0(Machine, 1);
    m->cfg = g_new0(MachineConfig, 1);
    machine_config_init(m->cfg);
    m->cfg->ram_size = 16 << 20;
    m->ncpus = 1;
    m->as = as_new();
    m->pc = g_new0(PCDevices, 1);
    machine_set_current(m);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        m->gsi[i] = irq_line_new(pc_gsi, m, i);
    }
    m->cpu_intr = irq_line_new(pc_intr, m, 0);
    g_assert_cmpint(pc_ram_init(m, NULL), ==, 0);
    g_assert_cmpint(pc_devices_init(m, NULL), ==, 0);
    return m;
}

static void pc_free(Machine *m)
{
    pc_devices_free(m);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        irq_line_free(m->gsi[i]);
    }
    irq_line_free(m->cpu_intr);
    as_free(m->as);
    munmap(m->ram, m->ram_size);
    g_free(m->pc);
    machine_config_clear(m->cfg);
    g_free(m->cfg);
    machine_set_current(NULL);
    g_free(m);
}

static void ioapic_route(Machine *m, int pin, uint32_t low)
{
    ioapic_reg_write(m->pc->ioapic, IOAPIC_REG_REDTBL + 2 * pin + 1, 0);     /* APIC 0 */
    ioapic_reg_write(m->pc->ioapic, IOAPIC_REG_REDTBL + 2 * pin, low);
}

/* Take vector `v` if it is pending in APIC 0's IRR (acknowledge + EOI). */
static bool took(Machine *m, int v)
{
    LocalApic *a = pc_cpu_apic(m, 0);
    if (!((apic_reg_read(a, APIC_REG_IRR + (v / 32) * 0x10) >> (v % 32)) & 1)) {
        return false;
    }
    g_assert_cmpint(apic_get_interrupt(a), ==, v);
    apic_reg_write(a, APIC_REG_EOI, 0);
    return true;
}

static void test_pc(void)
{
    vclock_set_manual(T0);
    Machine *m = pc_new();
    g_assert_nonnull(m->pc->hpet);
    LocalApic *a = pc_cpu_apic(m, 0);
    apic_reg_write(a, APIC_REG_SVR, APIC_SVR_ENABLE | 0xff);
    apic_reg_write(a, APIC_REG_LVT_LINT0, APIC_LVT_MASKED);    /* no 8259 */
    ioapic_route(m, 2, 0x40);                           /* ISA IRQ0: edge, high */
    ioapic_route(m, 20, 0x41 | IOAPIC_RTE_POLARITY_LOW);    /* PCI-style pin */

    /* The PIT at 1 kHz reaches IOAPIC input 2. */
    as_port_write(m->as, 0x43, 0x34, 1);
    as_port_write(m->as, 0x40, 1193 & 0xff, 1);
    as_port_write(m->as, 0x40, 1193 >> 8, 1);
    vclock_advance(2 * MS);
    g_assert_true(took(m, 0x40));

    /* Legacy replacement: the PIT is cut off, HPET timer 0 owns IRQ0. */
    Hpet *h = m->pc->hpet;
    hpet_reg_write(h, HPET_REG_CONFIG, HPET_CFG_ENABLE | HPET_CFG_LEGACY, ~0ULL);
    g_assert_true(pc_hpet_owns_irq(m, 0));
    g_assert_true(pc_hpet_owns_irq(m, 8));
    g_assert_false(pc_hpet_owns_irq(m, 1));
    took(m, 0x40);                                      /* a tick at the switch */
    vclock_advance(5 * MS);
    g_assert_false(took(m, 0x40));
    hpet_reg_write(h, HPET_REG_TIMER_CFG(0), HPET_TN_INT_ENABLE, ~0ULL);
    hpet_reg_write(h, HPET_REG_TIMER_CMP(0), hpet_counter(h) + 1000, ~0ULL);
    vclock_advance(20 * US);
    g_assert_true(took(m, 0x40));

    /* Timer 2 through IOAPIC input 20 (the line is active low there). */
    hpet_reg_write(h, HPET_REG_TIMER_CFG(2), HPET_TN_INT_ENABLE | route(20), ~0ULL);
    hpet_reg_write(h, HPET_REG_TIMER_CMP(2), hpet_counter(h) + 1000, ~0ULL);
    vclock_advance(20 * US);
    g_assert_true(took(m, 0x41));

    /* Legacy route off: the PIT is back. */
    hpet_reg_write(h, HPET_REG_CONFIG, HPET_CFG_ENABLE, ~0ULL);
    g_assert_false(pc_hpet_owns_irq(m, 0));
    vclock_advance(2 * MS);
    g_assert_true(took(m, 0x40));

    /* A machine reset turns the legacy route off with the rest. */
    hpet_reg_write(h, HPET_REG_CONFIG, HPET_CFG_ENABLE | HPET_CFG_LEGACY, ~0ULL);
    machine_run_reset_hooks(m);
    g_assert_false(pc_hpet_owns_irq(m, 0));
    g_assert_cmphex(hpet_reg_read(h, HPET_REG_CONFIG), ==, 0);
    pc_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hpet/capabilities", test_capabilities);
    g_test_add_func("/hpet/counter", test_counter);
    g_test_add_func("/hpet/one-shot", test_one_shot);
    g_test_add_func("/hpet/one-shot-32bit", test_one_shot_32bit);
    g_test_add_func("/hpet/periodic", test_periodic);
    g_test_add_func("/hpet/periodic-late", test_periodic_late);
    g_test_add_func("/hpet/level", test_level);
    g_test_add_func("/hpet/routes", test_routes);
    g_test_add_func("/hpet/legacy", test_legacy);
    g_test_add_func("/hpet/vmstate", test_vmstate);
    g_test_add_func("/hpet/acpi-table", test_acpi_table);
    g_test_add_func("/hpet/pc", test_pc);
    return g_test_run();
}
