/*
 * MC146818A RTC/CMOS (hw/mc146818-rtc.c) at register level: ports 0x70/0x71
 * through an AddressSpace, IRQ 8 on a probe line, the virtual clock in
 * manual mode.  The chip is created at an exact UTC second at virtual time
 * 0, so update cycles end at 1984 us + k seconds.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include "hw/mc146818-rtc.h"
#include "hw/pc.h"
#include "timer.h"

#define E0      MC146818_UPDATE_CYCLE_NS        /* first update end */
#define MS      1000000LL
#define US      1000LL

typedef struct Fixture {
    AddressSpace *as;
    IrqLine *irq;
    int level;
    int rises;
    Mc146818Rtc *rtc;
} Fixture;

static void irq_probe(void *opaque, int n, int level)
{
    Fixture *f = opaque;
    if (level && !f->level) {
        f->rises++;
    }
    f->level = level;
}

static int64_t utc(int y, int mon, int d, int h, int min, int s)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mon - 1, .tm_mday = d,
        .tm_hour = h, .tm_min = min, .tm_sec = s,
    };
    return (int64_t)timegm(&tm) * NS_PER_SEC;
}

static void fx_init(Fixture *f, int64_t utc_ns)
{
    vclock_set_manual(0);
    f->as = as_new();
    f->level = f->rises = 0;
    f->irq = irq_line_new(irq_probe, f, 8);
    f->rtc = mc146818_rtc_new(f->as, 0x70, f->irq, utc_ns);
    g_assert_nonnull(f->rtc);
}

/* The same with the periodic rate off (RS = 0), so that register C shows
 * only the flags a test looks at. */
static void fx_init_quiet(Fixture *f, int64_t utc_ns)
{
    fx_init(f, utc_ns);
    as_port_write(f->as, 0x70, RTC_REG_A, 1);
    as_port_write(f->as, 0x71, RTC_A_DV_32K, 1);
}

static void fx_fini(Fixture *f)
{
    mc146818_rtc_free(f->rtc);
    irq_line_free(f->irq);
    as_free(f->as);
}

static uint8_t rd(Fixture *f, uint8_t index)
{
    as_port_write(f->as, 0x70, index, 1);
    return as_port_read(f->as, 0x71, 1);
}

static void wr(Fixture *f, uint8_t index, uint8_t v)
{
    as_port_write(f->as, 0x70, index, 1);
    as_port_write(f->as, 0x71, v, 1);
}

static void advance_to(int64_t t)
{
    g_assert_cmpint(t, >=, vclock_ns());
    vclock_advance(t - vclock_ns());
}

/* Set the time with SET held, as a BIOS does; values in the current mode. */
static void set_time(Fixture *f, uint8_t h, uint8_t m, uint8_t s, uint8_t wday,
                     uint8_t mday, uint8_t mon, uint8_t year, uint8_t century)
{
    uint8_t b = rd(f, RTC_REG_B);
    wr(f, RTC_REG_B, b | RTC_B_SET);
    wr(f, RTC_HOURS, h);
    wr(f, RTC_MINUTES, m);
    wr(f, RTC_SECONDS, s);
    wr(f, RTC_DAY_OF_WEEK, wday);
    wr(f, RTC_DAY_OF_MONTH, mday);
    wr(f, RTC_MONTH, mon);
    wr(f, RTC_YEAR, year);
    wr(f, RTC_CENTURY, century);
    wr(f, RTC_REG_B, b & ~RTC_B_SET);
}

/* The next update end after now. */
static int64_t next_update_end(void)
{
    int64_t now = vclock_ns();
    if (now < E0) {
        return E0;
    }
    return E0 + ((now - E0) / NS_PER_SEC + 1) * NS_PER_SEC;
}

static void test_power_on_bcd(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 2, 29, 13, 45, 30));      /* a Thursday */
    g_assert_cmphex(rd(&f, RTC_REG_A), ==, 0x26 | RTC_A_UIP);   /* update at 1984 us */
    g_assert_cmphex(rd(&f, RTC_REG_B), ==, 0x02);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0x00);
    g_assert_cmphex(rd(&f, RTC_REG_D), ==, RTC_D_VRT);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x30);
    g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 0x45);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x13);
    g_assert_cmphex(rd(&f, RTC_DAY_OF_WEEK), ==, 0x05);
    g_assert_cmphex(rd(&f, RTC_DAY_OF_MONTH), ==, 0x29);
    g_assert_cmphex(rd(&f, RTC_MONTH), ==, 0x02);
    g_assert_cmphex(rd(&f, RTC_YEAR), ==, 0x24);
    g_assert_cmphex(rd(&f, RTC_CENTURY), ==, 0x20);
    /* Port 0x70 is write-only; reads float high. */
    g_assert_cmphex(as_port_read(f.as, 0x70, 1), ==, 0xff);
    fx_fini(&f);
}

static void test_binary_mode(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 2, 29, 13, 45, 30));
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 30);
    g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 45);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 13);
    g_assert_cmphex(rd(&f, RTC_DAY_OF_MONTH), ==, 29);
    g_assert_cmphex(rd(&f, RTC_YEAR), ==, 24);
    g_assert_cmphex(rd(&f, RTC_CENTURY), ==, 20);
    /* Binary writes are taken as binary... */
    set_time(&f, 23, 59, 58, 7, 31, 12, 99, 19);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 23);
    /* ...and show as BCD once DM is cleared. */
    wr(&f, RTC_REG_B, RTC_B_24H);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x23);
    g_assert_cmphex(rd(&f, RTC_YEAR), ==, 0x99);
    g_assert_cmphex(rd(&f, RTC_CENTURY), ==, 0x19);
    fx_fini(&f);
}

static void test_12_hour_mode(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 2, 29, 13, 45, 30));
    wr(&f, RTC_REG_B, 0x00);                         /* BCD, 12 h */
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x81);    /* 1 PM */
    wr(&f, RTC_REG_B, RTC_B_DM_BINARY);              /* binary, 12 h */
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x81);
    wr(&f, RTC_HOURS, 0x8b);                         /* 11 PM, binary */
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 23);

    /* 12 AM is hour 0, 12 PM is hour 12. */
    wr(&f, RTC_REG_B, 0x00);
    wr(&f, RTC_HOURS, 0x12);
    wr(&f, RTC_REG_B, RTC_B_24H);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x00);
    wr(&f, RTC_REG_B, 0x00);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x12);
    wr(&f, RTC_HOURS, 0x92);
    wr(&f, RTC_REG_B, RTC_B_24H);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x12);
    fx_fini(&f);
}

static void test_12_hour_rollover(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 3, 15, 0, 0, 0));
    wr(&f, RTC_REG_B, 0x00);                         /* BCD, 12 h */

    /* 11:59:59 AM -> 12:00:00 PM */
    set_time(&f, 0x11, 0x59, 0x59, 6, 0x15, 0x03, 0x24, 0x20);
    advance_to(next_update_end());
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x92);
    g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 0x00);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
    g_assert_cmphex(rd(&f, RTC_DAY_OF_MONTH), ==, 0x15);

    /* 12:59:59 PM -> 1:00:00 PM */
    set_time(&f, 0x92, 0x59, 0x59, 6, 0x15, 0x03, 0x24, 0x20);
    advance_to(next_update_end());
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x81);

    /* 11:59:59 PM -> 12:00:00 AM the next day, Friday -> Saturday */
    set_time(&f, 0x91, 0x59, 0x59, 6, 0x15, 0x03, 0x24, 0x20);
    advance_to(next_update_end());
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x12);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
    g_assert_cmphex(rd(&f, RTC_DAY_OF_MONTH), ==, 0x16);
    g_assert_cmphex(rd(&f, RTC_DAY_OF_WEEK), ==, 0x07);
    fx_fini(&f);
}

typedef struct Rollover {
    int y, mon, d;              /* day before */
    uint8_t mday, month, year, century;
} Rollover;

static void test_calendar_rollover(void)
{
    static const Rollover cases[] = {
        { 2024, 2, 28, 0x29, 0x02, 0x24, 0x20 },    /* leap year */
        { 2024, 2, 29, 0x01, 0x03, 0x24, 0x20 },
        { 2023, 2, 28, 0x01, 0x03, 0x23, 0x20 },
        { 2000, 2, 28, 0x29, 0x02, 0x00, 0x20 },    /* 2000 is a leap year */
        { 2100, 2, 28, 0x01, 0x03, 0x00, 0x21 },    /* 2100 is not */
        { 2024, 4, 30, 0x01, 0x05, 0x24, 0x20 },
        { 2024, 12, 31, 0x01, 0x01, 0x25, 0x20 },
        { 2099, 12, 31, 0x01, 0x01, 0x00, 0x21 },   /* century rolls */
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const Rollover *c = &cases[i];
        Fixture f;
        fx_init(&f, utc(c->y, c->mon, c->d, 23, 59, 59));
        uint8_t wday = rd(&f, RTC_DAY_OF_WEEK);
        advance_to(E0 - 1);
        g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x59);
        advance_to(E0);
        g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
        g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 0x00);
        g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x00);
        g_assert_cmphex(rd(&f, RTC_DAY_OF_MONTH), ==, c->mday);
        g_assert_cmphex(rd(&f, RTC_MONTH), ==, c->month);
        g_assert_cmphex(rd(&f, RTC_YEAR), ==, c->year);
        g_assert_cmphex(rd(&f, RTC_CENTURY), ==, c->century);
        g_assert_cmphex(rd(&f, RTC_DAY_OF_WEEK), ==, wday % 7 + 1);
        fx_fini(&f);
    }
}

static void test_long_run_without_ticks(void)
{
    Fixture f;
    fx_init_quiet(&f, utc(2024, 2, 20, 10, 0, 0));        /* Tuesday */
    /* No interrupt enabled: nothing is armed on the virtual clock. */
    g_assert_cmpint(vtimers_run_due(), ==, -1);
    advance_to(E0 + (int64_t)(10 * 86400 + 3661 - 1) * NS_PER_SEC);
    g_assert_cmpint(vtimers_run_due(), ==, -1);
    g_assert_cmphex(rd(&f, RTC_DAY_OF_MONTH), ==, 0x01);    /* Feb 20 + 10 = Mar 1 */
    g_assert_cmphex(rd(&f, RTC_MONTH), ==, 0x03);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x11);
    g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 0x01);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x01);
    g_assert_cmphex(rd(&f, RTC_DAY_OF_WEEK), ==, 0x06);     /* Friday */
    /* UF was set by the updates even though UIE is off, and AF too: the
     * alarm bytes are 00:00:00 and midnight went by. */
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, RTC_C_UF | RTC_C_AF);
    g_assert_cmpint(f.rises, ==, 0);
    fx_fini(&f);
}

static void test_uip_timing(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 1, 1, 0, 0, 0));
    int64_t window = MC146818_UIP_LEAD_NS + MC146818_UPDATE_CYCLE_NS;
    int64_t e1 = E0 + NS_PER_SEC;

    advance_to(E0);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x01);
    g_assert_false(rd(&f, RTC_REG_A) & RTC_A_UIP);
    advance_to(e1 - window - 1);
    g_assert_false(rd(&f, RTC_REG_A) & RTC_A_UIP);
    advance_to(e1 - window);
    g_assert_true(rd(&f, RTC_REG_A) & RTC_A_UIP);       /* 244 us before the cycle */
    advance_to(e1 - MC146818_UPDATE_CYCLE_NS);
    g_assert_true(rd(&f, RTC_REG_A) & RTC_A_UIP);       /* the cycle starts */
    advance_to(e1 - 1);
    g_assert_true(rd(&f, RTC_REG_A) & RTC_A_UIP);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x01);
    advance_to(e1);
    g_assert_false(rd(&f, RTC_REG_A) & RTC_A_UIP);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x02);
    /* Register A's other bits read back; UIP cannot be written. */
    wr(&f, RTC_REG_A, 0xa3);
    g_assert_cmphex(rd(&f, RTC_REG_A) & 0x7f, ==, 0x23);

    /* SET clears UIP and stops updates. */
    advance_to(E0 + 2 * NS_PER_SEC - 100 * US);
    g_assert_true(rd(&f, RTC_REG_A) & RTC_A_UIP);
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_SET);
    g_assert_false(rd(&f, RTC_REG_A) & RTC_A_UIP);
    fx_fini(&f);
}

static void test_set_inhibits_updates(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 1, 1, 8, 0, 0));
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_UIE | RTC_B_SET);
    /* SET going high cleared UIE. */
    g_assert_cmphex(rd(&f, RTC_REG_B), ==, RTC_B_24H | RTC_B_SET);
    advance_to(E0 + 5 * NS_PER_SEC);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
    g_assert_cmphex(rd(&f, RTC_REG_C) & RTC_C_UF, ==, 0);   /* no update happened */
    wr(&f, RTC_HOURS, 0x17);
    wr(&f, RTC_MINUTES, 0x30);
    wr(&f, RTC_SECONDS, 0x10);
    advance_to(vclock_ns() + 3 * NS_PER_SEC);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x10);
    wr(&f, RTC_REG_B, RTC_B_24H);
    /* Updates resume on the divider's phase. */
    int64_t next = next_update_end();
    advance_to(next - 1);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x10);
    advance_to(next);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x11);
    g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 0x30);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x17);
    fx_fini(&f);
}

static void test_divider_reset(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 1, 1, 8, 0, 0));
    advance_to(MS);                         /* before the first update */
    wr(&f, RTC_REG_A, 0x70);                /* divider chain held in reset */
    advance_to(vclock_ns() + 10 * NS_PER_SEC);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
    g_assert_false(rd(&f, RTC_REG_A) & RTC_A_UIP);
    int64_t release = vclock_ns();
    wr(&f, RTC_REG_A, 0x26);
    /* The first update cycle begins half a second after the release. */
    advance_to(release + 500 * MS + MC146818_UPDATE_CYCLE_NS - 1);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
    advance_to(release + 500 * MS + MC146818_UPDATE_CYCLE_NS);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x01);
    advance_to(release + 1500 * MS + MC146818_UPDATE_CYCLE_NS);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x02);
    fx_fini(&f);
}

/* Count periodic interrupts over `dur`, reading C after each, stepping the
 * clock by `step`. */
static int count_periodic(Fixture *f, int64_t dur, int64_t step)
{
    int64_t end = vclock_ns() + dur;
    int n = 0;
    while (vclock_ns() < end) {
        advance_to(MIN(vclock_ns() + step, end));
        if (f->level) {
            uint8_t c = rd(f, RTC_REG_C);
            g_assert_cmphex(c & (RTC_C_IRQF | RTC_C_PF), ==, RTC_C_IRQF | RTC_C_PF);
            g_assert_cmpint(f->level, ==, 0);
            n++;
        }
    }
    return n;
}

static void test_periodic_rates(void)
{
    static const struct { uint8_t rs; int hz; int64_t step; } rates[] = {
        { 0x3, 8192, 20 * US }, { 0x6, 1024, 100 * US }, { 0x1, 256, 500 * US },
        { 0x2, 128, MS }, { 0x8, 256, 500 * US }, { 0xf, 2, 10 * MS },
    };
    for (guint i = 0; i < G_N_ELEMENTS(rates); i++) {
        Fixture f;
        fx_init(&f, utc(2024, 1, 1, 0, 0, 0));
        wr(&f, RTC_REG_A, 0x20 | rates[i].rs);
        wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
        g_assert_cmpint(count_periodic(&f, NS_PER_SEC, rates[i].step), ==, rates[i].hz);
        fx_fini(&f);
    }
}

static void test_periodic_edge_and_flags(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 1, 1, 0, 0, 0));
    /* 1024 Hz: edges every 32 cycles of 32.768 kHz = 976562.5 ns. */
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
    advance_to(976562);
    g_assert_cmpint(f.level, ==, 0);
    advance_to(976563);
    g_assert_cmpint(f.level, ==, 1);
    /* Unread, IRQF stays up and nothing more is armed. */
    advance_to(10 * MS);
    g_assert_cmpint(f.rises, ==, 1);
    g_assert_cmpint(vtimers_run_due(), ==, -1);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, RTC_C_IRQF | RTC_C_PF | RTC_C_UF);
    g_assert_cmpint(f.level, ==, 0);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0x00);       /* read cleared it */

    /* PF is set without PIE, and raises no IRQ. */
    wr(&f, RTC_REG_B, RTC_B_24H);
    advance_to(vclock_ns() + 2 * MS);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, RTC_C_PF);
    g_assert_cmpint(f.rises, ==, 1);
    /* Enabling PIE with PF already set raises IRQF at once. */
    advance_to(vclock_ns() + 2 * MS);
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
    g_assert_cmpint(f.level, ==, 1);
    /* ... and clearing PIE drops it again (IRQF = PF.PIE + ...). */
    wr(&f, RTC_REG_B, RTC_B_24H);
    g_assert_cmpint(f.level, ==, 0);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, RTC_C_PF);
    /* RS = 0: no periodic flag at all. */
    wr(&f, RTC_REG_A, 0x20);
    advance_to(vclock_ns() + 600 * MS);
    g_assert_cmphex(rd(&f, RTC_REG_C) & RTC_C_PF, ==, 0);
    fx_fini(&f);
}

static void test_update_ended_interrupt(void)
{
    Fixture f;
    fx_init_quiet(&f, utc(2024, 1, 1, 0, 0, 0));
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
    advance_to(E0 - 1);
    g_assert_cmpint(f.level, ==, 0);
    advance_to(E0);
    g_assert_cmpint(f.level, ==, 1);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x01);     /* the new time is there */
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, RTC_C_IRQF | RTC_C_UF);
    g_assert_cmpint(f.level, ==, 0);
    for (int k = 1; k <= 5; k++) {
        advance_to(E0 + k * NS_PER_SEC - 1);
        g_assert_cmpint(f.level, ==, 0);
        advance_to(E0 + k * NS_PER_SEC);
        g_assert_cmpint(f.level, ==, 1);
        g_assert_cmphex(rd(&f, RTC_REG_C), ==, RTC_C_IRQF | RTC_C_UF);
    }
    g_assert_cmpint(f.rises, ==, 6);
    fx_fini(&f);
}

static void test_alarm(void)
{
    Fixture f;
    fx_init_quiet(&f, utc(2024, 1, 1, 10, 20, 30));
    wr(&f, RTC_SECONDS_ALARM, 0x33);
    wr(&f, RTC_MINUTES_ALARM, 0x20);
    wr(&f, RTC_HOURS_ALARM, 0x10);
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
    /* 10:20:33 is the third update. */
    advance_to(E0 + 2 * NS_PER_SEC - 1);
    g_assert_cmpint(f.level, ==, 0);
    advance_to(E0 + 2 * NS_PER_SEC);
    g_assert_cmpint(f.level, ==, 1);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x33);
    uint8_t c = rd(&f, RTC_REG_C);
    g_assert_cmphex(c, ==, RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
    g_assert_cmpint(f.level, ==, 0);
    /* A day later it matches again, nothing before. */
    advance_to(E0 + 2 * NS_PER_SEC + 86400LL * NS_PER_SEC - 1);
    g_assert_cmpint(f.rises, ==, 1);
    advance_to(E0 + 2 * NS_PER_SEC + 86400LL * NS_PER_SEC);
    g_assert_cmpint(f.rises, ==, 2);
    fx_fini(&f);
}

static void test_alarm_dont_care(void)
{
    Fixture f;
    fx_init_quiet(&f, utc(2024, 1, 1, 10, 20, 30));
    /* Every minute at second 00. */
    wr(&f, RTC_SECONDS_ALARM, 0x00);
    wr(&f, RTC_MINUTES_ALARM, 0xc0);
    wr(&f, RTC_HOURS_ALARM, 0xff);
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
    int64_t t = E0 + 29 * NS_PER_SEC;           /* 10:21:00 */
    for (int i = 0; i < 3; i++) {
        advance_to(t + i * 60 * NS_PER_SEC - 1);
        g_assert_cmpint(f.level, ==, 0);
        advance_to(t + i * 60 * NS_PER_SEC);
        g_assert_cmpint(f.level, ==, 1);
        g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
        g_assert_cmphex(rd(&f, RTC_REG_C) & RTC_C_AF, ==, RTC_C_AF);
    }
    g_assert_cmpint(f.rises, ==, 3);

    /* All three don't care: every second. */
    wr(&f, RTC_SECONDS_ALARM, 0xc5);
    wr(&f, RTC_MINUTES_ALARM, 0xd0);
    int64_t next = next_update_end();
    for (int i = 0; i < 4; i++) {
        advance_to(next + i * NS_PER_SEC);
        g_assert_cmpint(f.level, ==, 1);
        g_assert_cmphex(rd(&f, RTC_REG_C), ==, RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
    }

    /* Once an hour: minute 00, second 00, any hour. */
    wr(&f, RTC_SECONDS_ALARM, 0x00);
    wr(&f, RTC_MINUTES_ALARM, 0x00);
    int rises = f.rises;
    advance_to(vclock_ns() + 3 * 3600 * NS_PER_SEC);
    g_assert_cmpint(f.rises, ==, rises + 1);            /* unread: one edge */
    g_assert_cmphex(rd(&f, RTC_REG_C) & RTC_C_AF, ==, RTC_C_AF);
    fx_fini(&f);
}

static void test_alarm_flag_without_aie(void)
{
    Fixture f;
    fx_init_quiet(&f, utc(2024, 1, 1, 10, 20, 30));
    wr(&f, RTC_SECONDS_ALARM, 0x35);
    wr(&f, RTC_MINUTES_ALARM, 0x20);
    wr(&f, RTC_HOURS_ALARM, 0x10);
    advance_to(E0 + 3 * NS_PER_SEC);            /* 10:20:34 */
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, RTC_C_UF);
    advance_to(E0 + 10 * NS_PER_SEC);           /* past 10:20:35 */
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, RTC_C_AF | RTC_C_UF);
    g_assert_cmpint(f.rises, ==, 0);
    fx_fini(&f);
}

static void test_alarm_12_hour(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 1, 1, 13, 59, 59));
    wr(&f, RTC_REG_B, RTC_B_AIE);               /* BCD, 12 h */
    wr(&f, RTC_SECONDS_ALARM, 0x00);
    wr(&f, RTC_MINUTES_ALARM, 0x00);
    wr(&f, RTC_HOURS_ALARM, 0x02);              /* 2 AM: must not match 2 PM */
    advance_to(E0);
    g_assert_cmpint(f.level, ==, 0);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x82);
    wr(&f, RTC_HOURS_ALARM, 0x82);              /* 2 PM */
    set_time(&f, 0x81, 0x59, 0x59, 2, 0x01, 0x01, 0x24, 0x20);
    advance_to(next_update_end());
    g_assert_cmpint(f.level, ==, 1);
    fx_fini(&f);
}

static void test_daylight_saving(void)
{
    Fixture f;
    /* Last Sunday of April 2024: 01:59:59 -> 03:00:00. */
    fx_init(&f, utc(2024, 4, 28, 1, 59, 59));
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_DSE);
    g_assert_cmphex(rd(&f, RTC_DAY_OF_WEEK), ==, 1);
    advance_to(E0);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x03);
    g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 0x00);
    fx_fini(&f);

    /* Last Sunday of October 2024: 01:59:59 -> 01:00:00, once. */
    fx_init(&f, utc(2024, 10, 27, 1, 59, 59));
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_DSE);
    advance_to(E0);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x01);
    g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 0x00);
    advance_to(E0 + 3600 * NS_PER_SEC);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x02);
    g_assert_cmphex(rd(&f, RTC_MINUTES), ==, 0x00);
    g_assert_cmphex(rd(&f, RTC_SECONDS), ==, 0x00);
    fx_fini(&f);

    /* An ordinary Sunday in April is left alone. */
    fx_init(&f, utc(2024, 4, 21, 1, 59, 59));
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_DSE);
    advance_to(E0);
    g_assert_cmphex(rd(&f, RTC_HOURS), ==, 0x02);
    fx_fini(&f);
}

static void test_reset_pin_and_nmi(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 1, 1, 0, 0, 0));
    wr(&f, RTC_REG_B, RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE |
                      RTC_B_DM_BINARY | RTC_B_24H | RTC_B_DSE);
    advance_to(10 * MS);
    g_assert_cmpint(f.level, ==, 1);
    mc146818_rtc_reset(f.rtc);
    g_assert_cmpint(f.level, ==, 0);
    g_assert_cmphex(rd(&f, RTC_REG_B), ==, RTC_B_DM_BINARY | RTC_B_24H | RTC_B_DSE);
    g_assert_cmphex(rd(&f, RTC_REG_C), ==, 0);
    g_assert_cmphex(rd(&f, RTC_REG_A), ==, 0x26);

    as_port_write(f.as, 0x70, 0x80 | RTC_REG_A, 1);
    g_assert_true(mc146818_rtc_nmi_masked(f.rtc));
    g_assert_cmphex(as_port_read(f.as, 0x71, 1), ==, 0x26);
    as_port_write(f.as, 0x70, RTC_REG_D, 1);
    g_assert_false(mc146818_rtc_nmi_masked(f.rtc));
    /* C and D ignore writes. */
    wr(&f, RTC_REG_D, 0x00);
    g_assert_cmphex(rd(&f, RTC_REG_D), ==, RTC_D_VRT);
    /* RAM bytes hold what is written, up to 0x7f. */
    wr(&f, 0x7f, 0x5a);
    wr(&f, 0x40, 0xa5);
    g_assert_cmphex(rd(&f, 0x7f), ==, 0x5a);
    g_assert_cmphex(rd(&f, 0x40), ==, 0xa5);
    g_assert_cmphex(rd(&f, 0x80 | 0x40), ==, 0xa5);     /* index is 7 bits */
    fx_fini(&f);
}

typedef struct CmosCase {
    uint64_t ram;
    uint8_t ext_lo, ext_hi, m16_lo, m16_hi, g4_lo, g4_mid, g4_hi;
} CmosCase;

static void check_checksum(Fixture *f)
{
    unsigned sum = 0;
    for (int i = 0x10; i <= 0x2d; i++) {
        sum += rd(f, i);
    }
    g_assert_cmphex(rd(f, CMOS_CHECKSUM_HI), ==, (sum >> 8) & 0xff);
    g_assert_cmphex(rd(f, CMOS_CHECKSUM_LO), ==, sum & 0xff);
}

static void test_cmos_memory_sizes(void)
{
    static const CmosCase cases[] = {
        /* 128 MiB: 127 MiB extended (capped at 0xffff KiB), 112 MiB above 16M */
        { 128ULL << 20, 0xff, 0xff, 0x00, 0x07, 0, 0, 0 },
        /* 3.5 GiB: 3 GiB below the PCI hole, 512 MiB (0x2000 x 64K) above 4G */
        { 3584ULL << 20, 0xff, 0xff, 0x00, 0xbf, 0x00, 0x20, 0x00 },
        /* 8 GiB: 5 GiB above 4G = 0x14000 x 64K */
        { 8ULL << 30, 0xff, 0xff, 0x00, 0xbf, 0x00, 0x40, 0x01 },
        /* 8 MiB: 7 MiB = 7168 KiB extended, nothing above 16 MiB */
        { 8ULL << 20, 0x00, 0x1c, 0x00, 0x00, 0, 0, 0 },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const CmosCase *c = &cases[i];
        uint64_t below = MIN(c->ram, PC_PCI_HOLE_START), above = c->ram - below;
        Fixture f;
        fx_init(&f, utc(2024, 1, 1, 0, 0, 0));
        g_assert_cmpint(mc146818_rtc_fill_pc_cmos(f.rtc, below, above, 4, "cd"), ==, 0);
        g_assert_cmphex(rd(&f, CMOS_BASE_MEM_LO), ==, 0x80);      /* 640 KiB */
        g_assert_cmphex(rd(&f, CMOS_BASE_MEM_HI), ==, 0x02);
        g_assert_cmphex(rd(&f, CMOS_EXT_MEM_LO), ==, c->ext_lo);
        g_assert_cmphex(rd(&f, CMOS_EXT_MEM_HI), ==, c->ext_hi);
        g_assert_cmphex(rd(&f, CMOS_EXT_MEM2_LO), ==, c->ext_lo);
        g_assert_cmphex(rd(&f, CMOS_EXT_MEM2_HI), ==, c->ext_hi);
        g_assert_cmphex(rd(&f, CMOS_MEM_ABOVE_16M_LO), ==, c->m16_lo);
        g_assert_cmphex(rd(&f, CMOS_MEM_ABOVE_16M_HI), ==, c->m16_hi);
        g_assert_cmphex(rd(&f, CMOS_MEM_ABOVE_4G_LO), ==, c->g4_lo);
        g_assert_cmphex(rd(&f, CMOS_MEM_ABOVE_4G_MID), ==, c->g4_mid);
        g_assert_cmphex(rd(&f, CMOS_MEM_ABOVE_4G_HI), ==, c->g4_hi);
        g_assert_cmphex(rd(&f, CMOS_FLOPPY_TYPES), ==, 0x00);
        g_assert_cmphex(rd(&f, CMOS_DISK_TYPES), ==, 0x00);
        g_assert_cmphex(rd(&f, CMOS_EQUIPMENT), ==, 0x02);     /* FPU, VGA, no floppy */
        g_assert_cmphex(rd(&f, CMOS_CPU_COUNT_MINUS_1), ==, 3);
        g_assert_cmphex(rd(&f, CMOS_BOOT_FLAG2), ==, 0x32);    /* disk, then CD-ROM */
        g_assert_cmphex(rd(&f, CMOS_BOOT_FLAG1), ==, 0x00);
        check_checksum(&f);
        fx_fini(&f);
    }
}

static void test_cmos_checksum_tracks_contents(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 1, 1, 0, 0, 0));
    mc146818_rtc_fill_pc_cmos(f.rtc, 64ULL << 20, 0, 1, "c");
    uint16_t sum64 = rd(&f, CMOS_CHECKSUM_HI) << 8 | rd(&f, CMOS_CHECKSUM_LO);
    mc146818_rtc_fill_pc_cmos(f.rtc, 32ULL << 20, 0, 1, "c");
    uint16_t sum32 = rd(&f, CMOS_CHECKSUM_HI) << 8 | rd(&f, CMOS_CHECKSUM_LO);
    /* 32 MiB: 31744 KiB = 0x7c00 extended; 64 MiB: 0xfc00. */
    g_assert_cmphex(rd(&f, CMOS_EXT_MEM_HI), ==, 0x7c);
    g_assert_cmpuint(sum64 - sum32, ==, 0xfc - 0x7c);
    check_checksum(&f);
    fx_fini(&f);
}

static void test_cmos_boot_order(void)
{
    Fixture f;
    fx_init(&f, utc(2024, 1, 1, 0, 0, 0));
    g_assert_cmpint(mc146818_rtc_fill_pc_cmos(f.rtc, 128 << 20, 0, 1, "ndc"), ==, 0);
    g_assert_cmphex(rd(&f, CMOS_BOOT_FLAG2), ==, 0x34);    /* network, CD-ROM */
    g_assert_cmphex(rd(&f, CMOS_BOOT_FLAG1), ==, 0x20);    /* then disk */
    g_assert_cmphex(rd(&f, CMOS_CPU_COUNT_MINUS_1), ==, 0);
    g_assert_cmpint(mc146818_rtc_fill_pc_cmos(f.rtc, 128 << 20, 0, 1, "a"), ==, 0);
    g_assert_cmphex(rd(&f, CMOS_BOOT_FLAG2), ==, 0x01);
    g_assert_cmphex(rd(&f, CMOS_BOOT_FLAG1), ==, 0x00);
    g_assert_cmpint(mc146818_rtc_fill_pc_cmos(f.rtc, 128 << 20, 0, 1, "cx"), ==, -EINVAL);
    g_assert_cmphex(rd(&f, CMOS_BOOT_FLAG2), ==, 0x01);    /* unchanged */
    fx_fini(&f);
}

static void test_pc_machine_rtc(void)
{
    MachineConfig cfg;
    Machine m = { 0 };
    GError *err = NULL;
    Fixture f = { 0 };

    vclock_set_manual(0);
    machine_config_init(&cfg);
    g_free(cfg.boot_order);
    cfg.boot_order = g_strdup("dc");
    m.cfg = &cfg;
    m.as = as_new();
    m.ram_size = 5ULL << 30;
    m.below_4g = PC_PCI_HOLE_START;
    m.above_4g = m.ram_size - m.below_4g;
    m.ncpus = 8;
    f.irq = m.gsi[8] = irq_line_new(irq_probe, &f, 8);
    f.as = m.as;
    machine_set_current(&m);

    f.rtc = mc146818_rtc_pc_new(&m, &err);
    g_assert_no_error(err);
    g_assert_nonnull(f.rtc);
    g_assert_cmphex(rd(&f, CMOS_CPU_COUNT_MINUS_1), ==, 7);
    g_assert_cmphex(rd(&f, CMOS_BOOT_FLAG2), ==, 0x23);
    g_assert_cmphex(rd(&f, CMOS_MEM_ABOVE_4G_MID), ==, 0x80);  /* 2 GiB */
    /* The host's current year, give or take a New Year's Eve. */
    GDateTime *now = g_date_time_new_now_utc();
    int year = g_date_time_get_year(now);
    g_date_time_unref(now);
    int rtc_year = (rd(&f, RTC_CENTURY) >> 4) * 1000 + (rd(&f, RTC_CENTURY) & 15) * 100 +
                   (rd(&f, RTC_YEAR) >> 4) * 10 + (rd(&f, RTC_YEAR) & 15);
    g_assert_cmpint(rtc_year, >=, year - 1);
    g_assert_cmpint(rtc_year, <=, year);

    /* A second RTC on the same ports is refused with a message. */
    g_assert_null(mc146818_rtc_pc_new(&m, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_EXIST);
    g_clear_error(&err);

    /* The reset hook pulls the RESET pin. */
    wr(&f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
    machine_run_reset_hooks(&m);
    g_assert_cmphex(rd(&f, RTC_REG_B), ==, RTC_B_24H);

    mc146818_rtc_free(f.rtc);
    machine_set_current(NULL);

    /* A bad boot letter is one clear error. */
    g_free(cfg.boot_order);
    cfg.boot_order = g_strdup("z");
    g_assert_null(mc146818_rtc_pc_new(&m, &err));
    g_assert_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL);
    g_assert_nonnull(strstr(err->message, "'z'"));
    g_clear_error(&err);
    /* ...and left the ports free. */
    f.rtc = mc146818_rtc_new(m.as, 0x70, NULL, 0);
    g_assert_nonnull(f.rtc);
    mc146818_rtc_free(f.rtc);

    irq_line_free(m.gsi[8]);
    as_free(m.as);
    machine_config_clear(&cfg);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rtc/power-on-bcd", test_power_on_bcd);
    g_test_add_func("/rtc/binary-mode", test_binary_mode);
    g_test_add_func("/rtc/12-hour-mode", test_12_hour_mode);
    g_test_add_func("/rtc/12-hour-rollover", test_12_hour_rollover);
    g_test_add_func("/rtc/calendar-rollover", test_calendar_rollover);
    g_test_add_func("/rtc/long-run-without-ticks", test_long_run_without_ticks);
    g_test_add_func("/rtc/uip-timing", test_uip_timing);
    g_test_add_func("/rtc/set-inhibits-updates", test_set_inhibits_updates);
    g_test_add_func("/rtc/divider-reset", test_divider_reset);
    g_test_add_func("/rtc/periodic-rates", test_periodic_rates);
    g_test_add_func("/rtc/periodic-edge-and-flags", test_periodic_edge_and_flags);
    g_test_add_func("/rtc/update-ended-interrupt", test_update_ended_interrupt);
    g_test_add_func("/rtc/alarm", test_alarm);
    g_test_add_func("/rtc/alarm-dont-care", test_alarm_dont_care);
    g_test_add_func("/rtc/alarm-flag-without-aie", test_alarm_flag_without_aie);
    g_test_add_func("/rtc/alarm-12-hour", test_alarm_12_hour);
    g_test_add_func("/rtc/daylight-saving", test_daylight_saving);
    g_test_add_func("/rtc/reset-pin-and-nmi", test_reset_pin_and_nmi);
    g_test_add_func("/rtc/cmos-memory-sizes", test_cmos_memory_sizes);
    g_test_add_func("/rtc/cmos-checksum", test_cmos_checksum_tracks_contents);
    g_test_add_func("/rtc/cmos-boot-order", test_cmos_boot_order);
    g_test_add_func("/rtc/pc-machine", test_pc_machine_rtc);
    return g_test_run();
}
