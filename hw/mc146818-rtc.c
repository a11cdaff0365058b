/*
 * Motorola MC146818A real-time clock plus RAM: the PC/AT RTC and CMOS.
 * Reference: Motorola MC146818A datasheet -- time, calendar and alarm bytes
 * (BCD or binary, 12 or 24 hour), register A (UIP, divider DV2-0, rate
 * RS3-0), register B (SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE), register C
 * (IRQF, PF, AF, UF; cleared by reading), register D (VRT), the update cycle
 * (table 6), the periodic rates (table 5) and the RESET pin.  The CMOS RAM
 * map above 0x0e follows the IBM PC/AT Technical Reference and what SeaBIOS
 * and Linux read (memory sizes, CPU count, boot order).
 *
 * The clock is computed, not ticked.  The divider chain runs from
 * `divider_origin_ns` on the virtual clock; update cycles end at
 * origin + 0.5 s + 1984 us + k seconds (the first update comes half a second
 * after the divider leaves reset), and periodic-interrupt edges fall every
 * 2^n cycles of the 32.768 kHz time base counted from the origin.  Every
 * register access first catches the chip up to now (rtc_sync): it counts the
 * update cycles and periodic edges since the last catch-up, advances the
 * calendar by that many seconds and raises UF/AF/PF as the chip would have.
 * A VTimer is armed only for the next event that would raise IRQF, so
 * nothing runs while no interrupt is enabled or IRQF is already high.
 *
 * The time is kept in binary fields and encoded to BCD/binary and 12/24 h
 * on each read, so changing the DM or 24/12 bit shows the same time in the
 * new format.  Alarm bytes are stored as written and compared with the
 * encoded time, so 0xc0-0xff is "don't care" as on the chip.  The century
 * byte (0x32) rolls over with the year, as PC chipsets do.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include "hw/mc146818-rtc.h"
#include "hw/pc.h"
#include "timer.h"
#include "vmstate.h"

#define RTC_FREQ_HZ         32768
#define RTC_FIRST_UPDATE_NS (NS_PER_SEC / 2)
#define SECS_PER_DAY        86400

typedef struct RtcTime {
    int sec, min, hour;     /* hour 0-23 whatever the 12/24 h mode */
    int wday;               /* 1-7, Sunday = 1 */
    int mday, mon;          /* 1-31, 1-12 */
    int year, century;      /* 0-99 each */
} RtcTime;

struct Mc146818Rtc {
    AddressSpace *as;
    uint16_t port_base;
    IrqLine *irq;
    VTimer *timer;

    uint8_t index;          /* port 0x70 bits 6-0 */
    bool nmi_masked;        /* port 0x70 bit 7 */
    uint8_t ram[128];       /* alarm bytes 1, 3, 5 and RAM 0x0e-0x7f */
    uint8_t reg_a;          /* bits 6-0 (UIP is computed) */
    uint8_t reg_b;
    uint8_t flags;          /* PF, AF, UF of register C (IRQF is computed) */
    RtcTime time;
    bool dse_fell_back;     /* October's 01:59:59 -> 01:00:00 already done today */
    int64_t divider_origin_ns;
    int64_t synced_ns;      /* virtual time the state above is valid for */
};

/* --- encoding -------------------------------------------------------------- */

static bool rtc_binary(const Mc146818Rtc *s)
{
    return s->reg_b & RTC_B_DM_BINARY;
}

static uint8_t rtc_encode(const Mc146818Rtc *s, int v)
{
    v = ((v % 100) + 100) % 100;
    return rtc_binary(s) ? v : (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int rtc_decode(const Mc146818Rtc *s, uint8_t r)
{
    return rtc_binary(s) ? r : (r >> 4) * 10 + (r & 0x0f);
}

static uint8_t rtc_encode_hour(const Mc146818Rtc *s, int hour)
{
    if (s->reg_b & RTC_B_24H) {
        return rtc_encode(s, hour);
    }
    int h12 = hour % 12 ? hour % 12 : 12;
    return rtc_encode(s, h12) | (hour >= 12 ? 0x80 : 0);
}

static int rtc_decode_hour(const Mc146818Rtc *s, uint8_t r)
{
    if (s->reg_b & RTC_B_24H) {
        return rtc_decode(s, r);
    }
    int h = rtc_decode(s, r & 0x7f) % 12;     /* 12 AM is 0 h */
    return (r & 0x80) ? h + 12 : h;
}

/* --- calendar ------------------------------------------------------------- */

static int rtc_days_in_month(const RtcTime *t)
{
    static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (t->mon < 1 || t->mon > 12) {
        return 31;
    }
    if (t->mon == 2) {
        bool leap = t->year % 4 == 0 && (t->year != 0 || t->century % 4 == 0);
        return leap ? 29 : 28;
    }
    return days[t->mon - 1];
}

static void rtc_add_days(Mc146818Rtc *s, int64_t days)
{
    RtcTime *t = &s->time;

    if (days <= 0) {
        return;
    }
    s->dse_fell_back = false;
    t->wday = (int)(((t->wday - 1 + days) % 7 + 7) % 7) + 1;
    while (days > 0) {
        int left = MAX(rtc_days_in_month(t) - t->mday, 0);
        if (days <= left) {
            t->mday += days;
            return;
        }
        days -= left + 1;
        t->mday = 1;
        if (++t->mon > 12) {
            t->mon = 1;
            if (++t->year > 99) {
                t->year = 0;
                t->century = (t->century + 1) % 100;
            }
        }
    }
}

static int64_t rtc_time_of_day(const RtcTime *t)
{
    int64_t tod = (int64_t)t->hour * 3600 + t->min * 60 + t->sec;
    return ((tod % SECS_PER_DAY) + SECS_PER_DAY) % SECS_PER_DAY;
}

static void rtc_add_seconds(Mc146818Rtc *s, int64_t n)
{
    RtcTime *t = &s->time;
    int64_t total = (int64_t)t->hour * 3600 + t->min * 60 + t->sec + n;
    int64_t days = total / SECS_PER_DAY;
    int64_t tod = total % SECS_PER_DAY;

    t->hour = tod / 3600;
    t->min = tod / 60 % 60;
    t->sec = tod % 60;
    rtc_add_days(s, days);
}

static void rtc_set_from_unix(Mc146818Rtc *s, time_t secs)
{
    struct tm tm;
    gmtime_r(&secs, &tm);
    int year = tm.tm_year + 1900;
    s->time = (RtcTime){
        .sec = tm.tm_sec > 59 ? 59 : tm.tm_sec,
        .min = tm.tm_min,
        .hour = tm.tm_hour,
        .wday = tm.tm_wday + 1,
        .mday = tm.tm_mday,
        .mon = tm.tm_mon + 1,
        .year = year % 100,
        .century = (year / 100) % 100,
    };
}

/* --- alarm ---------------------------------------------------------------- */

static bool rtc_alarm_field_matches(uint8_t alarm, uint8_t now)
{
    return alarm >= 0xc0 || alarm == now;
}

static bool rtc_alarm_hour_ok(const Mc146818Rtc *s, int h)
{
    return rtc_alarm_field_matches(s->ram[RTC_HOURS_ALARM], rtc_encode_hour(s, h));
}

static bool rtc_alarm_min_ok(const Mc146818Rtc *s, int m)
{
    return rtc_alarm_field_matches(s->ram[RTC_MINUTES_ALARM], rtc_encode(s, m));
}

static bool rtc_alarm_sec_ok(const Mc146818Rtc *s, int sec)
{
    return rtc_alarm_field_matches(s->ram[RTC_SECONDS_ALARM], rtc_encode(s, sec));
}

static bool rtc_alarm_matches(const Mc146818Rtc *s, int64_t tod)
{
    return rtc_alarm_hour_ok(s, tod / 3600) && rtc_alarm_min_ok(s, tod / 60 % 60) &&
           rtc_alarm_sec_ok(s, tod % 60);
}

/* Smallest d in [1, 86400] such that the time of day tod + d matches the
 * alarm, or -1 when no time of day ever does. */
static int64_t rtc_alarm_next(const Mc146818Rtc *s, int64_t tod)
{
    bool h_ok = false, m_ok = false, s_ok = false;
    for (int i = 0; i < 60; i++) {
        h_ok |= i < 24 && rtc_alarm_hour_ok(s, i);
        m_ok |= rtc_alarm_min_ok(s, i);
        s_ok |= rtc_alarm_sec_ok(s, i);
    }
    if (!h_ok || !m_ok || !s_ok) {
        return -1;
    }
    for (int64_t d = 1; d <= SECS_PER_DAY;) {
        int64_t t = (tod + d) % SECS_PER_DAY;
        if (!rtc_alarm_hour_ok(s, t / 3600)) {
            d += 3600 - t % 3600;
        } else if (!rtc_alarm_min_ok(s, t / 60 % 60)) {
            d += 60 - t % 60;
        } else if (!rtc_alarm_sec_ok(s, t % 60)) {
            d += 1;
        } else {
            return d;
        }
    }
    return -1;
}

/* --- daylight saving (DSE) ------------------------------------------------ */

/* With DSE the chip moves from 01:59:59 to 03:00:00 on the last Sunday of
 * April and from 01:59:59 to 01:00:00 (once) on the last Sunday of October.
 * Seconds until the next update that lands on such a 02:00:00 (*event set),
 * or until midnight when today has none left (*event clear). */
static int64_t rtc_dse_next(const Mc146818Rtc *s, bool *event)
{
    const RtcTime *t = &s->time;
    int64_t tod = rtc_time_of_day(t);
    bool last_sunday = t->wday == 1 && t->mday + 7 > rtc_days_in_month(t);
    bool today = last_sunday && (t->mon == 4 || (t->mon == 10 && !s->dse_fell_back));

    if (today && tod < 7200) {
        *event = true;
        return 7200 - tod;
    }
    *event = false;
    return SECS_PER_DAY - tod;
}

/* --- the update cycle ----------------------------------------------------- */

/* `n` update cycles have ended: advance the calendar and set UF, and AF if
 * any of the new times matched the alarm. */
static void rtc_run_updates(Mc146818Rtc *s, int64_t n)
{
    s->flags |= RTC_C_UF;
    while (n > 0) {
        bool event = false;
        int64_t step = n;
        if (s->reg_b & RTC_B_DSE) {
            int64_t d = rtc_dse_next(s, &event);
            if (d <= step) {
                step = d;
            } else {
                event = false;
            }
        }
        int64_t plain = event ? step - 1 : step;
        if (plain > 0) {
            int64_t a = rtc_alarm_next(s, rtc_time_of_day(&s->time));
            if (a > 0 && a <= plain) {
                s->flags |= RTC_C_AF;
            }
            rtc_add_seconds(s, plain);
        }
        if (event) {
            rtc_add_seconds(s, 1);                  /* now 02:00:00 */
            if (s->time.mon == 4) {
                s->time.hour = 3;
            } else {
                s->time.hour = 1;
                s->dse_fell_back = true;
            }
            if (rtc_alarm_matches(s, rtc_time_of_day(&s->time))) {
                s->flags |= RTC_C_AF;
            }
        }
        n -= step;
    }
}

static bool rtc_divider_running(const Mc146818Rtc *s)
{
    return (s->reg_a & RTC_A_DV_MASK) == RTC_A_DV_32K;
}

static bool rtc_updating(const Mc146818Rtc *s)
{
    return rtc_divider_running(s) && !(s->reg_b & RTC_B_SET);
}

/* Cycles of the 32.768 kHz time base from the origin to `t`, rounded down. */
static uint64_t rtc_ticks_at(const Mc146818Rtc *s, int64_t t)
{
    uint64_t d = t > s->divider_origin_ns ? (uint64_t)(t - s->divider_origin_ns) : 0;
    return d / NS_PER_SEC * RTC_FREQ_HZ + d % NS_PER_SEC * RTC_FREQ_HZ / NS_PER_SEC;
}

/* The first virtual time at which `ticks` cycles have elapsed. */
static int64_t rtc_tick_time(const Mc146818Rtc *s, uint64_t ticks)
{
    uint64_t frac = ticks % RTC_FREQ_HZ;
    return s->divider_origin_ns + (int64_t)(ticks / RTC_FREQ_HZ) * NS_PER_SEC +
           (int64_t)((frac * NS_PER_SEC + RTC_FREQ_HZ - 1) / RTC_FREQ_HZ);
}

/* Period of the periodic interrupt in time-base cycles; 0 when RS = 0. */
static uint64_t rtc_periodic_ticks(const Mc146818Rtc *s)
{
    unsigned rs = s->reg_a & RTC_A_RS_MASK;
    if (rs == 0) {
        return 0;
    }
    return rs <= 2 ? 1u << (rs + 6) : 1u << (rs - 1);
}

static int64_t rtc_first_update_end(const Mc146818Rtc *s)
{
    return s->divider_origin_ns + RTC_FIRST_UPDATE_NS + MC146818_UPDATE_CYCLE_NS;
}

/* Number of update cycles that have ended at or before `t`. */
static int64_t rtc_updates_at(const Mc146818Rtc *s, int64_t t)
{
    int64_t e0 = rtc_first_update_end(s);
    return t < e0 ? 0 : (t - e0) / NS_PER_SEC + 1;
}

static int64_t rtc_update_end_time(const Mc146818Rtc *s, int64_t k)
{
    return rtc_first_update_end(s) + k * NS_PER_SEC;
}

/* Catch the chip up with the virtual clock. */
static void rtc_sync(Mc146818Rtc *s)
{
    int64_t now = vclock_ns();

    if (now <= s->synced_ns) {
        return;
    }
    if (rtc_divider_running(s)) {
        uint64_t p = rtc_periodic_ticks(s);
        if (p && rtc_ticks_at(s, now) / p != rtc_ticks_at(s, s->synced_ns) / p) {
            s->flags |= RTC_C_PF;
        }
        if (!(s->reg_b & RTC_B_SET)) {
            int64_t n = rtc_updates_at(s, now) - rtc_updates_at(s, s->synced_ns);
            if (n > 0) {
                rtc_run_updates(s, n);
            }
        }
    }
    s->synced_ns = now;
}

static uint8_t rtc_irqf(const Mc146818Rtc *s)
{
    /* PF/AF/UF sit at the same bit positions as PIE/AIE/UIE. */
    return (s->flags & s->reg_b & (RTC_C_PF | RTC_C_AF | RTC_C_UF)) ? RTC_C_IRQF : 0;
}

static void rtc_update_irq(Mc146818Rtc *s)
{
    int level = rtc_irqf(s) ? 1 : 0;
    if (!s->irq || s->irq->level != level) {
        irq_set(s->irq, level);
    }
}

/* Arm the timer for the next event that would raise IRQF. */
static void rtc_schedule(Mc146818Rtc *s)
{
    int64_t now = s->synced_ns;
    int64_t next = INT64_MAX;

    if (rtc_irqf(s) || !rtc_divider_running(s)) {
        vtimer_del(s->timer);
        return;
    }
    uint64_t p = rtc_periodic_ticks(s);
    if ((s->reg_b & RTC_B_PIE) && p) {
        next = MIN(next, rtc_tick_time(s, (rtc_ticks_at(s, now) / p + 1) * p));
    }
    if (rtc_updating(s)) {
        int64_t next_end = rtc_update_end_time(s, rtc_updates_at(s, now));
        if (s->reg_b & RTC_B_UIE) {
            next = MIN(next, next_end);
        }
        if (s->reg_b & RTC_B_AIE) {
            if (s->reg_b & RTC_B_DSE) {
                next = MIN(next, next_end);     /* re-evaluated every second */
            } else {
                int64_t d = rtc_alarm_next(s, rtc_time_of_day(&s->time));
                if (d > 0) {
                    next = MIN(next, next_end + (d - 1) * NS_PER_SEC);
                }
            }
        }
    }
    if (next == INT64_MAX) {
        vtimer_del(s->timer);
    } else {
        vtimer_mod(s->timer, next);
    }
}

static void rtc_timer_fired(void *opaque)
{
    Mc146818Rtc *s = opaque;
    rtc_sync(s);
    rtc_update_irq(s);
    rtc_schedule(s);
}

/* --- registers ------------------------------------------------------------ */

static bool rtc_uip(Mc146818Rtc *s)
{
    if (!rtc_updating(s)) {
        return false;
    }
    int64_t now = s->synced_ns;
    int64_t next_end = rtc_update_end_time(s, rtc_updates_at(s, now));
    return next_end - now <= MC146818_UIP_LEAD_NS + MC146818_UPDATE_CYCLE_NS;
}

static uint8_t rtc_reg_read(Mc146818Rtc *s, uint8_t index)
{
    uint8_t v;

    rtc_sync(s);
    switch (index) {
    case RTC_SECONDS:       return rtc_encode(s, s->time.sec);
    case RTC_MINUTES:       return rtc_encode(s, s->time.min);
    case RTC_HOURS:         return rtc_encode_hour(s, s->time.hour);
    case RTC_DAY_OF_WEEK:   return rtc_encode(s, s->time.wday);
    case RTC_DAY_OF_MONTH:  return rtc_encode(s, s->time.mday);
    case RTC_MONTH:         return rtc_encode(s, s->time.mon);
    case RTC_YEAR:          return rtc_encode(s, s->time.year);
    case RTC_CENTURY:       return rtc_encode(s, s->time.century);
    case RTC_REG_A:         return s->reg_a | (rtc_uip(s) ? RTC_A_UIP : 0);
    case RTC_REG_B:         return s->reg_b;
    case RTC_REG_C:
        v = rtc_irqf(s) | s->flags;
        s->flags = 0;
        rtc_update_irq(s);
        rtc_schedule(s);
        return v;
    case RTC_REG_D:         return RTC_D_VRT;
    default:                return s->ram[index & 0x7f];
    }
}

static void rtc_reg_write(Mc146818Rtc *s, uint8_t index, uint8_t v)
{
    bool was_running;

    rtc_sync(s);
    switch (index) {
    case RTC_SECONDS:       s->time.sec = rtc_decode(s, v); break;
    case RTC_MINUTES:       s->time.min = rtc_decode(s, v); break;
    case RTC_HOURS:         s->time.hour = rtc_decode_hour(s, v); break;
    case RTC_DAY_OF_WEEK:   s->time.wday = rtc_decode(s, v); break;
    case RTC_DAY_OF_MONTH:  s->time.mday = rtc_decode(s, v); break;
    case RTC_MONTH:         s->time.mon = rtc_decode(s, v); break;
    case RTC_YEAR:          s->time.year = rtc_decode(s, v) % 100; break;
    case RTC_CENTURY:       s->time.century = rtc_decode(s, v) % 100; break;
    case RTC_REG_A:
        was_running = rtc_divider_running(s);
        s->reg_a = v & ~RTC_A_UIP;
        if (!was_running && rtc_divider_running(s)) {
            /* Out of divider reset: the first update is 0.5 s away. */
            s->divider_origin_ns = s->synced_ns;
        }
        break;
    case RTC_REG_B:
        if ((v & RTC_B_SET) && !(s->reg_b & RTC_B_SET)) {
            v &= ~RTC_B_UIE;        /* SET going high clears UIE */
        }
        s->reg_b = v;
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        break;                      /* read-only */
    default:
        s->ram[index & 0x7f] = v;
        break;
    }
    rtc_update_irq(s);
    rtc_schedule(s);
}

static uint64_t rtc_port_read(void *opaque, uint64_t off, unsigned size)
{
    Mc146818Rtc *s = opaque;
    if (off == 0) {
        return 0xff;                /* the index register is write-only */
    }
    return rtc_reg_read(s, s->index);
}

static void rtc_port_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    Mc146818Rtc *s = opaque;
    if (off == 0) {
        s->index = v & 0x7f;
        s->nmi_masked = v & 0x80;
    } else {
        rtc_reg_write(s, s->index, v);
    }
}

static const IoOps rtc_port_ops = { rtc_port_read, rtc_port_write, 1 };

/* --- life cycle ----------------------------------------------------------- */

Mc146818Rtc *mc146818_rtc_new(AddressSpace *as, uint16_t port_base,
                              IrqLine *irq, int64_t utc_ns)
{
    Mc146818Rtc *s = g_new0(Mc146818Rtc, 1);
    int64_t now = vclock_ns();
    int64_t secs = utc_ns / NS_PER_SEC, frac = utc_ns % NS_PER_SEC;

    if (frac < 0) {
        secs--;
        frac += NS_PER_SEC;
    }
    s->as = as;
    s->port_base = port_base;
    s->irq = irq;
    s->timer = vtimer_new(rtc_timer_fired, s);
    s->reg_a = RTC_A_DV_32K | 0x06;     /* 32.768 kHz, 1024 Hz periodic rate */
    s->reg_b = RTC_B_24H;
    rtc_set_from_unix(s, (time_t)secs);
    /* Update cycles start on the host's second boundaries. */
    s->divider_origin_ns = now - frac - RTC_FIRST_UPDATE_NS;
    s->synced_ns = now;
    if (as_add_ports(as, "mc146818-rtc", port_base, 2, &rtc_port_ops, s) < 0) {
        vtimer_free(s->timer);
        g_free(s);
        return NULL;
    }
    return s;
}

void mc146818_rtc_free(Mc146818Rtc *s)
{
    if (!s) {
        return;
    }
    as_remove_ports(s->as, s->port_base);
    vtimer_free(s->timer);
    g_free(s);
}

void mc146818_rtc_reset(Mc146818Rtc *s)
{
    rtc_sync(s);
    s->reg_b &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
    s->flags = 0;
    rtc_update_irq(s);
    rtc_schedule(s);
}

uint8_t mc146818_rtc_cmos_read(Mc146818Rtc *s, uint8_t index)
{
    return rtc_reg_read(s, index & 0x7f);
}

void mc146818_rtc_cmos_write(Mc146818Rtc *s, uint8_t index, uint8_t value)
{
    rtc_reg_write(s, index & 0x7f, value);
}

bool mc146818_rtc_nmi_masked(const Mc146818Rtc *s)
{
    return s->nmi_masked;
}

/* --- suspend/resume --------------------------------------------------------- */

static bool rtc_time_valid(const RtcTime *t)
{
    return t->sec >= 0 && t->sec < 60 && t->min >= 0 && t->min < 60 &&
           t->hour >= 0 && t->hour < 24 && t->wday >= 1 && t->wday <= 7 &&
           t->mon >= 1 && t->mon <= 12 && t->mday >= 1 && t->mday <= 31 &&
           t->year >= 0 && t->year < 100 && t->century >= 0 && t->century < 100;
}

static int rtc_post_load(void *opaque, uint32_t version, GError **errp)
{
    Mc146818Rtc *s = opaque;
    const int64_t far = INT64_C(1) << 62;

    if (s->index > 0x7f || !rtc_time_valid(&s->time) ||
        s->divider_origin_ns <= -far || s->divider_origin_ns >= far ||
        s->synced_ns <= -far || s->synced_ns >= far) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "impossible register index, date or time base");
        return -1;
    }
    s->reg_a &= 0x7f;
    s->flags &= RTC_C_PF | RTC_C_AF | RTC_C_UF;
    rtc_update_irq(s);
    return 0;
}

const VMStateDescription mc146818_rtc_vmstate = {
    .name = "mc146818-rtc",
    .version = 1,
    .post_load = rtc_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8(Mc146818Rtc, index),
        VMSTATE_BOOL(Mc146818Rtc, nmi_masked),
        VMSTATE_UINT8_ARRAY(Mc146818Rtc, ram, 128),
        VMSTATE_UINT8(Mc146818Rtc, reg_a),
        VMSTATE_UINT8(Mc146818Rtc, reg_b),
        VMSTATE_UINT8(Mc146818Rtc, flags),
        VMSTATE_INT32(Mc146818Rtc, time.sec),
        VMSTATE_INT32(Mc146818Rtc, time.min),
        VMSTATE_INT32(Mc146818Rtc, time.hour),
        VMSTATE_INT32(Mc146818Rtc, time.wday),
        VMSTATE_INT32(Mc146818Rtc, time.mday),
        VMSTATE_INT32(Mc146818Rtc, time.mon),
        VMSTATE_INT32(Mc146818Rtc, time.year),
        VMSTATE_INT32(Mc146818Rtc, time.century),
        VMSTATE_BOOL(Mc146818Rtc, dse_fell_back),
        VMSTATE_INT64(Mc146818Rtc, divider_origin_ns),
        VMSTATE_INT64(Mc146818Rtc, synced_ns),
        VMSTATE_VTIMER(Mc146818Rtc, timer),
        VMSTATE_END
    },
};

/* --- the PC's CMOS contents ----------------------------------------------- */

static int cmos_boot_device(char c)
{
    switch (c) {
    case 'a': case 'b': return 1;      /* floppy */
    case 'c':           return 2;      /* hard disk */
    case 'd':           return 3;      /* CD-ROM */
    case 'n':           return 4;      /* network (BEV) */
    default:            return -1;
    }
}

int mc146818_rtc_fill_pc_cmos(Mc146818Rtc *s, uint64_t below_4g,
                              uint64_t above_4g, int ncpus,
                              const char *boot_order)
{
    uint8_t boot[3] = { 0, 0, 0 };
    int nboot = 0;
    uint8_t *ram = s->ram;

    for (const char *p = boot_order ? boot_order : ""; *p; p++) {
        int dev = cmos_boot_device(*p);
        if (dev < 0) {
            return -EINVAL;
        }
        if (nboot < 3) {
            boot[nboot++] = dev;
        }
    }

    uint64_t ext_kib = below_4g > PC_HIGH_RAM_START ? (below_4g - PC_HIGH_RAM_START) >> 10 : 0;
    uint64_t above_16m = below_4g > (16ULL << 20) ? (below_4g - (16ULL << 20)) >> 16 : 0;
    uint64_t above_4g_64k = above_4g >> 16;
    ext_kib = MIN(ext_kib, 0xffff);
    above_16m = MIN(above_16m, 0xffff);
    above_4g_64k = MIN(above_4g_64k, 0xffffff);

    ram[CMOS_SHUTDOWN_STATUS] = 0;
    ram[CMOS_FLOPPY_TYPES] = 0x00;          /* no drive A:, no drive B: */
    ram[CMOS_DISK_TYPES] = 0x00;            /* no fixed disk 0 or 1 */
    ram[0x19] = ram[0x1a] = 0x00;           /* extended disk types */
    /* Equipment: bit 1 math coprocessor; bits 5-4 = 00 display with its own
     * BIOS (VGA); bit 0 clear, no diskette drives. */
    ram[CMOS_EQUIPMENT] = 0x02;
    ram[CMOS_BASE_MEM_LO] = 640 & 0xff;
    ram[CMOS_BASE_MEM_HI] = 640 >> 8;
    ram[CMOS_EXT_MEM_LO] = ram[CMOS_EXT_MEM2_LO] = ext_kib & 0xff;
    ram[CMOS_EXT_MEM_HI] = ram[CMOS_EXT_MEM2_HI] = ext_kib >> 8;
    ram[CMOS_MEM_ABOVE_16M_LO] = above_16m & 0xff;
    ram[CMOS_MEM_ABOVE_16M_HI] = above_16m >> 8;
    ram[CMOS_MEM_ABOVE_4G_LO] = above_4g_64k & 0xff;
    ram[CMOS_MEM_ABOVE_4G_MID] = (above_4g_64k >> 8) & 0xff;
    ram[CMOS_MEM_ABOVE_4G_HI] = above_4g_64k >> 16;
    ram[CMOS_CPU_COUNT_MINUS_1] = ncpus > 0 ? MIN(ncpus - 1, 255) : 0;
    /* Bit 0 of 0x38 clear: the BIOS checks the floppy boot signature. */
    ram[CMOS_BOOT_FLAG1] = boot[2] << 4;
    ram[CMOS_BOOT_FLAG2] = boot[0] | (boot[1] << 4);

    unsigned sum = 0;
    for (int i = 0x10; i <= 0x2d; i++) {
        sum += ram[i];
    }
    ram[CMOS_CHECKSUM_HI] = (sum >> 8) & 0xff;
    ram[CMOS_CHECKSUM_LO] = sum & 0xff;
    return 0;
}

static void rtc_reset_hook(void *opaque)
{
    mc146818_rtc_reset(opaque);
}

Mc146818Rtc *mc146818_rtc_pc_new(Machine *m, GError **errp)
{
    Mc146818Rtc *s = mc146818_rtc_new(m->as, 0x70, m->gsi[8], g_get_real_time() * 1000);

    if (!s) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "RTC: ports 0x70-0x71 are already taken");
        return NULL;
    }
    if (mc146818_rtc_fill_pc_cmos(s, m->below_4g, m->above_4g, m->ncpus,
                                  m->cfg->boot_order) < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-boot: invalid boot order '%s' (letters a, c, d, n)",
                    m->cfg->boot_order);
        mc146818_rtc_free(s);
        return NULL;
    }
    machine_add_reset_hook(m, rtc_reset_hook, s);
    return s;
}
