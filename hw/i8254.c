/*
 * Intel 8254 programmable interval timer: three 16-bit down counters on a
 * 1.193182 MHz input clock taken from the virtual clock.
 *
 * Reference: Intel 8254 datasheet (order 231164): control word format,
 * counter latch and read-back commands, status byte, modes 0-5 and the
 * GATE table ("Operation common to all modes").
 *
 * Time.  Input-clock pulse k happens at ceil(k * 1e9 / 1193182) ns of
 * virtual time.  Nothing steps per pulse: each counter keeps the pulse at
 * which its counting element (CE) was last loaded, and its CE and OUT are
 * computed from the pulse number on demand.  A count written between pulses
 * T and T+1 is loaded by pulse T+1 (which does not decrement it), so for a
 * count N mode 0's OUT rises N+1 pulses after the write.
 *
 * OUT of channel 0 is an interrupt line: a VTimer fires at each change of
 * the mode's output waveform (mode 2: the one-pulse low and the rise after
 * it; mode 3: each half-cycle; modes 0, 1, 4, 5: the terminal count).  A
 * timer run also catches up: if the output rose in between (the host ran
 * late, or the period is short enough to be coalesced), the line still sees
 * a rising edge.  Periods shorter than PIT_MIN_TIMER_NS get at most one
 * timer run per PIT_MIN_TIMER_NS, each delivering one edge.
 *
 * Modelling choices where the datasheet says "illegal" or "undefined":
 *  - A count of 1 in modes 2 and 3 keeps OUT high (no waveform).
 *  - BCD counts with digits above 9 are taken modulo 10000.
 *  - Reading the control word port returns 0xff.
 */
#include <glib.h>
#include "hw/i8254.h"
#include "vmstate.h"

#define PIT_MIN_TIMER_NS    50000   /* coalesce waveforms faster than 20 kHz */
#define NO_TICK             INT64_MAX
#define PAST_TICK           INT64_MIN   /* a terminal count that already happened */

/* --- time ---------------------------------------------------------------- */

static int64_t pit_tick_of_ns(int64_t ns)
{
    if (ns < 0) {
        ns = 0;
    }
    return (int64_t)((unsigned __int128)ns * I8254_CLOCK_HZ / NS_PER_SEC);
}

static int64_t pit_ns_of_tick(int64_t tick)
{
    return (int64_t)(((unsigned __int128)tick * NS_PER_SEC + I8254_CLOCK_HZ - 1) /
                     I8254_CLOCK_HZ);
}

static int64_t pit_now(void)
{
    return pit_tick_of_ns(vclock_ns());
}

/* --- count encoding ------------------------------------------------------ */

static uint32_t ch_modulus(const I8254Channel *c)
{
    return c->bcd ? 10000 : 65536;
}

/* The count register as a number of pulses: 0 means the modulus. */
static uint32_t ch_decode(const I8254Channel *c, uint16_t raw)
{
    uint32_t n = raw;
    if (c->bcd) {
        n = ((raw >> 12) & 0xf) * 1000 + ((raw >> 8) & 0xf) * 100 +
            ((raw >> 4) & 0xf) * 10 + (raw & 0xf);
        n %= 10000;
    }
    return n ? n : ch_modulus(c);
}

static uint16_t ch_encode(const I8254Channel *c, uint32_t ce)
{
    ce %= ch_modulus(c);
    if (!c->bcd) {
        return ce;
    }
    return (ce / 1000) << 12 | (ce / 100 % 10) << 8 | (ce / 10 % 10) << 4 | ce % 10;
}

static bool mode_periodic(uint8_t mode)
{
    return mode == 2 || mode == 3;
}

/* --- the counting element as a function of the pulse number -------------- */

/* Apply a count that modes 2 and 3 load at the end of a (half-)cycle, once
 * that pulse has come. */
static void ch_sync(I8254Channel *c, int64_t t)
{
    if (c->state != I8254_CE_RUN || c->pending_tick < 0 || t < c->pending_tick) {
        return;
    }
    int64_t b = c->pending_tick;
    c->n = c->pending_n;
    if (c->pending_low) {
        /* Mode 3, loaded as OUT falls: the new count starts in its low half. */
        c->base_tick = b - (c->n + 1) / 2;
        c->first_rise = c->base_tick + c->n;
    } else {
        c->base_tick = b;
        c->first_rise = b;
    }
    c->pending_tick = -1;
}

static uint32_t ch_ce(I8254Channel *c, int64_t t)
{
    ch_sync(c, t);
    if (c->state == I8254_CE_IDLE) {
        return c->held_ce;
    }
    if (t < c->base_tick) {
        return c->pre_ce;
    }
    if (c->state == I8254_CE_HELD) {
        return c->held_ce;
    }
    int64_t d = t - c->base_tick;
    uint32_t n = c->n;
    switch (c->mode) {
    case 2:
        return n - (uint32_t)(d % n);
    case 3: {
        uint32_t half = (n + 1) / 2;
        uint32_t p = d % n;
        uint32_t q = p < half ? p : p - half;
        return (n & ~1u) - 2 * q;
    }
    default: {
        int64_t m = ch_modulus(c);
        return (uint32_t)((((int64_t)c->base_ce - d % m) % m + m) % m);
    }
    }
}

static bool ch_out(I8254Channel *c, int64_t t)
{
    ch_sync(c, t);
    if (c->state == I8254_CE_IDLE) {
        return c->idle_out;
    }
    if (c->state == I8254_CE_HELD) {
        /* Mode 0 keeps its level; 2 and 3 are forced high; 4 is high. */
        return c->mode == 0 ? c->held_remaining < 0 : true;
    }
    int64_t d = t - c->base_tick;
    switch (c->mode) {
    case 0:
        return t >= c->event_tick;
    case 1:
        return d < 0 ? c->pre_out : t >= c->event_tick;
    case 2:
        return d < 0 || c->n < 2 || d % c->n != c->n - 1;
    case 3:
        return d < 0 || c->n < 2 || d % c->n < (c->n + 1) / 2;
    default:    /* 4, 5 */
        return t != c->event_tick;
    }
}

/* The next pulse after `t` at which OUT changes, or -1. */
static int64_t ch_next_change(I8254Channel *c, int64_t t)
{
    ch_sync(c, t);
    if (c->state != I8254_CE_RUN) {
        return -1;
    }
    int64_t next = -1;
    switch (c->mode) {
    case 0:
        return c->event_tick > t ? c->event_tick : -1;
    case 1:
        if (t < c->base_tick && c->pre_out) {
            return c->base_tick;
        }
        return c->event_tick > t ? c->event_tick : -1;
    case 4:
    case 5:
        if (t < c->event_tick) {
            return c->event_tick;
        }
        return t == c->event_tick ? t + 1 : -1;
    }
    int64_t n = c->n, d = t - c->base_tick;
    if (n >= 2 && c->mode == 2) {
        if (d < n - 1) {
            next = c->base_tick + n - 1;
        } else {
            int64_t p = d % n;
            next = p == n - 1 ? t + 1 : t - p + n - 1;
        }
    } else if (n >= 2) {
        int64_t half = (n + 1) / 2;
        if (d < half) {
            next = c->base_tick + half;
        } else {
            int64_t p = d % n;
            next = p < half ? t - p + half : t - p + n;
        }
    }
    if (c->pending_tick >= 0 && (next < 0 || c->pending_tick < next)) {
        next = c->pending_tick;
    }
    return next;
}

/* Did OUT rise at some pulse in (a, b]? */
static bool ch_rose_between(I8254Channel *c, int64_t a, int64_t b)
{
    ch_sync(c, b);
    if (c->state != I8254_CE_RUN) {
        return false;
    }
    int64_t rise;
    switch (c->mode) {
    case 0:
    case 1:
        rise = c->event_tick;
        break;
    case 4:
    case 5:
        rise = c->event_tick == PAST_TICK ? PAST_TICK : c->event_tick + 1;
        break;
    default: {
        int64_t n = c->n;
        if (n < 2) {
            return false;
        }
        int64_t lo = MAX(a + 1, c->first_rise);
        if (lo > b) {
            return false;
        }
        rise = c->first_rise + (lo - c->first_rise + n - 1) / n * n;
        break;
    }
    }
    return rise > a && rise <= b;
}

/* --- the OUT line --------------------------------------------------------- */

/* Bring the OUT line up to pulse `t`.  With `catch_up`, a rise that
 * happened since the last evaluation is delivered even if the level is the
 * same again. */
static void ch_drive(I8254Channel *c, int64_t t, bool catch_up)
{
    if (!c->out) {
        return;
    }
    if (catch_up && t > c->out_eval_tick && ch_rose_between(c, c->out_eval_tick, t)) {
        if (c->out_level) {
            irq_set(c->out, 0);
        }
        irq_set(c->out, 1);
        c->out_level = true;
    }
    bool level = ch_out(c, t);
    if (level != c->out_level) {
        c->out_level = level;
        irq_set(c->out, level);
    }
    c->out_eval_tick = t;
}

static void ch_schedule(I8254Channel *c, int64_t t)
{
    if (!c->out) {
        return;
    }
    int64_t next = ch_next_change(c, t);
    if (next < 0) {
        vtimer_del(c->timer);
        return;
    }
    int64_t deadline = pit_ns_of_tick(next);
    if (mode_periodic(c->mode) && pit_ns_of_tick(c->n) < PIT_MIN_TIMER_NS) {
        deadline = MAX(deadline, c->last_timer_ns + PIT_MIN_TIMER_NS);
    }
    vtimer_mod(c->timer, deadline);
}

static void ch_timer_fired(void *opaque)
{
    I8254Channel *c = opaque;
    int64_t now = vclock_ns();
    int64_t t = pit_tick_of_ns(now);

    c->last_timer_ns = now;
    ch_drive(c, t, true);
    ch_schedule(c, t);
}

/* Every change of a counter's state is bracketed by these two. */
static int64_t ch_begin(I8254Channel *c)
{
    int64_t t = pit_now();
    ch_sync(c, t);
    ch_drive(c, t, true);
    return t;
}

static void ch_end(I8254Channel *c, int64_t t)
{
    ch_drive(c, t, false);
    ch_schedule(c, t);
}

/* --- programming ---------------------------------------------------------- */

static void ch_control(I8254Channel *c, uint8_t v)
{
    int64_t t = ch_begin(c);
    uint8_t mode = (v >> 1) & 7;

    c->held_ce = ch_ce(c, t);
    c->control = v & 0x3f;
    c->rw = (v >> 4) & 3;
    c->mode = mode > 5 ? mode - 4 : mode;
    c->bcd = v & 1;
    c->state = I8254_CE_IDLE;
    c->idle_out = c->mode != 0;
    c->cr_valid = false;
    c->write_msb = false;
    c->read_msb = false;
    c->count_latched = false;
    c->status_latched = false;
    c->pending_tick = -1;
    c->cr_load_tick = NO_TICK;
    ch_end(c, t);
}

/* A whole count is in the count register. */
static void ch_count_written(I8254Channel *c, int64_t t)
{
    uint32_t n = ch_decode(c, c->cr);
    uint32_t m = ch_modulus(c);

    c->cr_valid = true;
    switch (c->mode) {
    case 0:
    case 4:
        /* Loaded on the next pulse; mode 0's OUT goes low at once. */
        c->pre_ce = ch_ce(c, t);
        c->base_tick = t + 1;
        c->base_ce = n % m;
        c->n = n;
        c->cr_load_tick = t + 1;
        if (c->gate) {
            c->state = I8254_CE_RUN;
            c->event_tick = t + 1 + n;
        } else {
            c->state = I8254_CE_HELD;
            c->held_ce = n % m;
            c->held_remaining = n;
        }
        break;
    case 1:
    case 5:
        /* Waits for the next trigger; a running one-shot goes on. */
        c->cr_load_tick = NO_TICK;
        break;
    default:    /* 2, 3 */
        if (c->state == I8254_CE_RUN && t < c->base_tick) {
            /* Not loaded yet: the new count replaces the old one. */
            c->n = n;
            c->first_rise = c->base_tick + n;
        } else if (c->state == I8254_CE_RUN) {
            /* Counting: the new count is loaded at the end of the current
             * period (mode 2) or half-cycle (mode 3). */
            if (c->pending_tick < 0) {
                int64_t cur = c->n, d = t - c->base_tick;
                if (c->mode == 2) {
                    c->pending_tick = c->base_tick + (d / cur + 1) * cur;
                    c->pending_low = false;
                } else {
                    int64_t half = (cur + 1) / 2, p = d % cur;
                    c->pending_low = p < half;
                    c->pending_tick = p < half ? t - p + half : t - p + cur;
                }
            }
            c->pending_n = n;
            c->cr_load_tick = c->pending_tick;
        } else if (c->state == I8254_CE_IDLE) {
            c->pre_ce = ch_ce(c, t);
            c->base_tick = t + 1;
            c->n = n;
            c->cr_load_tick = t + 1;
            if (c->gate) {
                c->state = I8254_CE_RUN;
                c->first_rise = t + 1 + n;
                c->pending_tick = -1;
            } else {
                /* Loaded on the next pulse, counting waits for GATE. */
                c->state = I8254_CE_HELD;
                c->held_ce = n % m;
            }
        } else {
            /* Held by a low GATE: the trigger loads the count. */
            c->cr_load_tick = NO_TICK;
        }
        break;
    }
}

static void ch_write(I8254Channel *c, uint8_t v)
{
    int64_t t = ch_begin(c);

    switch (c->rw) {
    case 1:
        c->cr = v;
        ch_count_written(c, t);
        break;
    case 2:
        c->cr = v << 8;
        ch_count_written(c, t);
        break;
    default:
        if (!c->write_msb) {
            c->cr_lsb = v;
            c->write_msb = true;
            if (c->mode == 0) {
                /* Mode 0: the first byte stops counting, OUT goes low. */
                c->held_ce = ch_ce(c, t);
                c->state = I8254_CE_IDLE;
                c->idle_out = false;
            }
        } else {
            c->cr = c->cr_lsb | v << 8;
            c->write_msb = false;
            ch_count_written(c, t);
        }
        break;
    }
    ch_end(c, t);
}

static uint8_t ch_status(I8254Channel *c, int64_t t)
{
    return (ch_out(c, t) ? 0x80 : 0) | (t < c->cr_load_tick ? 0x40 : 0) | c->control;
}

static void ch_latch_count(I8254Channel *c, int64_t t)
{
    if (!c->count_latched) {
        c->latched_count = ch_encode(c, ch_ce(c, t));
        c->count_latched = true;
    }
}

static void ch_latch_status(I8254Channel *c, int64_t t)
{
    if (!c->status_latched) {
        c->latched_status = ch_status(c, t);
        c->status_latched = true;
    }
}

static uint8_t ch_read(I8254Channel *c)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->latched_status;
    }
    uint16_t v = c->count_latched ? c->latched_count : ch_encode(c, ch_ce(c, pit_now()));
    switch (c->rw) {
    case 1:
        c->count_latched = false;
        return v & 0xff;
    case 2:
        c->count_latched = false;
        return v >> 8;
    default:
        if (!c->read_msb) {
            c->read_msb = true;
            return v & 0xff;
        }
        c->read_msb = false;
        c->count_latched = false;
        return v >> 8;
    }
}

static void pit_control_write(I8254 *pit, uint8_t v)
{
    int sc = v >> 6;

    if (sc == 3) {
        /* Read-back: bit 5 low latches counts, bit 4 low latches status,
         * bits 1-3 select counters 0-2. */
        int64_t t = pit_now();
        for (int i = 0; i < I8254_CHANNELS; i++) {
            if (!(v & (2 << i))) {
                continue;
            }
            if (!(v & 0x20)) {
                ch_latch_count(&pit->ch[i], t);
            }
            if (!(v & 0x10)) {
                ch_latch_status(&pit->ch[i], t);
            }
        }
    } else if (((v >> 4) & 3) == 0) {
        ch_latch_count(&pit->ch[sc], pit_now());
    } else {
        ch_control(&pit->ch[sc], v);
    }
}

static uint64_t pit_read(void *opaque, uint64_t off, unsigned size)
{
    I8254 *pit = opaque;
    if (off >= I8254_CHANNELS) {
        return 0xff;
    }
    return ch_read(&pit->ch[off]);
}

static void pit_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    I8254 *pit = opaque;
    if (off >= I8254_CHANNELS) {
        pit_control_write(pit, v);
    } else {
        ch_write(&pit->ch[off], v);
    }
}

static const IoOps pit_ops = { pit_read, pit_write, 1 };

/* --- GATE ------------------------------------------------------------------ */

void i8254_set_gate(I8254 *pit, int ch, bool level)
{
    if (ch < 0 || ch >= I8254_CHANNELS) {
        return;
    }
    I8254Channel *c = &pit->ch[ch];
    if (c->gate == level) {
        return;
    }
    int64_t t = ch_begin(c);
    uint32_t m = ch_modulus(c);
    c->gate = level;
    if (level) {
        switch (c->mode) {
        case 1:
        case 5:
            /* Trigger: load on the next pulse, (re)start the one-shot. */
            if (c->cr_valid) {
                c->pre_ce = ch_ce(c, t);
                c->pre_out = ch_out(c, t);
                c->n = ch_decode(c, c->cr);
                c->base_tick = t + 1;
                c->base_ce = c->n % m;
                c->event_tick = t + 1 + c->n;
                c->cr_load_tick = t + 1;
                c->state = I8254_CE_RUN;
            }
            break;
        case 2:
        case 3:
            /* Trigger: reload on the next pulse. */
            if (c->cr_valid) {
                c->pre_ce = ch_ce(c, t);
                c->n = ch_decode(c, c->cr);
                c->base_tick = t + 1;
                c->first_rise = t + 1 + c->n;
                c->pending_tick = -1;
                c->cr_load_tick = t + 1;
                c->state = I8254_CE_RUN;
            }
            break;
        default:    /* 0, 4: counting resumes */
            if (c->state == I8254_CE_HELD) {
                int64_t from = MAX(t, c->base_tick);
                c->base_ce = c->held_ce;
                c->event_tick = c->held_remaining >= 0 ? from + c->held_remaining : PAST_TICK;
                c->base_tick = from;
                c->state = I8254_CE_RUN;
            }
            break;
        }
    } else if (c->state == I8254_CE_RUN) {
        switch (c->mode) {
        case 0:
        case 4:
            /* Counting stops; the load of a fresh count still happens. */
            if (t < c->base_tick) {
                c->held_ce = c->base_ce;
                c->held_remaining = c->event_tick == PAST_TICK ? -1 : c->event_tick - c->base_tick;
            } else {
                c->held_ce = ch_ce(c, t);
                c->held_remaining = c->event_tick > t ? c->event_tick - t : -1;
                c->base_tick = t;
            }
            c->state = I8254_CE_HELD;
            break;
        case 2:
        case 3:
            /* Counting stops and OUT goes high at once. */
            if (t < c->base_tick) {
                c->held_ce = c->n % m;
            } else {
                c->held_ce = ch_ce(c, t);
                c->base_tick = t;
            }
            c->pending_tick = -1;
            c->state = I8254_CE_HELD;
            break;
        }
    }
    ch_end(c, t);
}

bool i8254_get_gate(const I8254 *pit, int ch)
{
    return ch >= 0 && ch < I8254_CHANNELS && pit->ch[ch].gate;
}

bool i8254_get_out(I8254 *pit, int ch)
{
    if (ch < 0 || ch >= I8254_CHANNELS) {
        return false;
    }
    return ch_out(&pit->ch[ch], pit_now());
}

double i8254_get_frequency(I8254 *pit, int ch)
{
    if (ch < 0 || ch >= I8254_CHANNELS) {
        return 0;
    }
    I8254Channel *c = &pit->ch[ch];
    ch_sync(c, pit_now());
    if (c->state != I8254_CE_RUN || !mode_periodic(c->mode) || c->n < 2) {
        return 0;
    }
    return (double)I8254_CLOCK_HZ / c->n;
}

/* --- life cycle ------------------------------------------------------------ */

void i8254_reset(I8254 *pit)
{
    int64_t t = pit_now();

    for (int i = 0; i < I8254_CHANNELS; i++) {
        I8254Channel *c = &pit->ch[i];
        if (c->timer) {
            vtimer_del(c->timer);
        }
        c->control = 0x30;
        c->mode = 0;
        c->rw = 3;
        c->bcd = false;
        c->cr = 0;
        c->cr_lsb = 0;
        c->cr_valid = false;
        c->write_msb = false;
        c->read_msb = false;
        c->count_latched = false;
        c->status_latched = false;
        c->state = I8254_CE_IDLE;
        c->base_tick = 0;
        c->base_ce = 0;
        c->pre_ce = 0;
        c->pre_out = false;
        c->n = 0;
        c->event_tick = PAST_TICK;
        c->first_rise = 0;
        c->pending_tick = -1;
        c->pending_n = 0;
        c->pending_low = false;
        c->held_ce = 0;
        c->held_remaining = -1;
        c->idle_out = false;
        c->cr_load_tick = NO_TICK;
        c->last_timer_ns = INT64_MIN / 2;
        c->out_eval_tick = t;
        ch_drive(c, t, false);
    }
}

/* --- suspend/resume -------------------------------------------------------- */

static const VMStateDescription i8254_channel_vmstate = {
    .name = "i8254-channel",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8(I8254Channel, control),
        VMSTATE_UINT8(I8254Channel, mode),
        VMSTATE_UINT8(I8254Channel, rw),
        VMSTATE_BOOL(I8254Channel, bcd),
        VMSTATE_UINT16(I8254Channel, cr),
        VMSTATE_UINT8(I8254Channel, cr_lsb),
        VMSTATE_BOOL(I8254Channel, cr_valid),
        VMSTATE_BOOL(I8254Channel, write_msb),
        VMSTATE_BOOL(I8254Channel, read_msb),
        VMSTATE_BOOL(I8254Channel, gate),
        VMSTATE_BOOL(I8254Channel, count_latched),
        VMSTATE_UINT16(I8254Channel, latched_count),
        VMSTATE_BOOL(I8254Channel, status_latched),
        VMSTATE_UINT8(I8254Channel, latched_status),
        VMSTATE_UINT8(I8254Channel, state),
        VMSTATE_INT64(I8254Channel, base_tick),
        VMSTATE_UINT32(I8254Channel, base_ce),
        VMSTATE_UINT32(I8254Channel, pre_ce),
        VMSTATE_BOOL(I8254Channel, pre_out),
        VMSTATE_UINT32(I8254Channel, n),
        VMSTATE_INT64(I8254Channel, event_tick),
        VMSTATE_INT64(I8254Channel, first_rise),
        VMSTATE_INT64(I8254Channel, pending_tick),
        VMSTATE_UINT32(I8254Channel, pending_n),
        VMSTATE_BOOL(I8254Channel, pending_low),
        VMSTATE_UINT32(I8254Channel, held_ce),
        VMSTATE_INT64(I8254Channel, held_remaining),
        VMSTATE_BOOL(I8254Channel, idle_out),
        VMSTATE_INT64(I8254Channel, cr_load_tick),
        VMSTATE_VTIMER(I8254Channel, timer),
        VMSTATE_BOOL(I8254Channel, out_level),
        VMSTATE_INT64(I8254Channel, out_eval_tick),
        VMSTATE_INT64(I8254Channel, last_timer_ns),
        VMSTATE_END
    },
};

/* A pulse number the arithmetic above can use: a marker, or far from the
 * ends of int64_t. */
static bool tick_ok(int64_t t)
{
    return t == NO_TICK || t == PAST_TICK || t == -1 ||
           (t > -(INT64_C(1) << 62) && t < (INT64_C(1) << 62));
}

static int i8254_post_load(void *opaque, uint32_t version, GError **errp)
{
    I8254 *pit = opaque;
    for (int i = 0; i < I8254_CHANNELS; i++) {
        I8254Channel *c = &pit->ch[i];
        bool counting = c->state != I8254_CE_IDLE;
        if (c->mode > 5 || c->rw < 1 || c->rw > 3 || c->state > I8254_CE_HELD ||
            (counting && (c->n < 1 || c->n > 65536)) || c->base_ce >= 65536 ||
            (c->pending_tick >= 0 && (c->pending_n < 1 || c->pending_n > 65536)) ||
            !tick_ok(c->base_tick) || !tick_ok(c->event_tick) ||
            !tick_ok(c->first_rise) || !tick_ok(c->pending_tick) ||
            !tick_ok(c->held_remaining) || !tick_ok(c->cr_load_tick) ||
            !tick_ok(c->out_eval_tick) ||
            (c->last_timer_ns != INT64_MIN / 2 &&
             (c->last_timer_ns < 0 || c->last_timer_ns >= (INT64_C(1) << 62)))) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "channel %d: inconsistent counter state", i);
            return -1;
        }
        /* The line shows the level the channel last drove. */
        if (c->out) {
            irq_set(c->out, c->out_level);
        }
    }
    return 0;
}

const VMStateDescription i8254_vmstate = {
    .name = "i8254",
    .version = 1,
    .post_load = i8254_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_STRUCT_ARRAY(I8254, ch, I8254_CHANNELS, i8254_channel_vmstate,
                             I8254Channel),
        VMSTATE_END
    },
};

I8254 *i8254_new(AddressSpace *as, IrqLine *out0)
{
    I8254 *pit = g_new0(I8254, 1);
    pit->as = as;
    for (int i = 0; i < I8254_CHANNELS; i++) {
        pit->ch[i].gate = i != 2;
    }
    pit->ch[0].out = out0;
    pit->ch[0].timer = vtimer_new(ch_timer_fired, &pit->ch[0]);
    pit->ch[0].out_level = out0 ? out0->level : false;
    i8254_reset(pit);
    as_add_ports(as, "pit", I8254_BASE, 4, &pit_ops, pit);
    return pit;
}

void i8254_free(I8254 *pit)
{
    if (!pit) {
        return;
    }
    as_remove_ports(pit->as, I8254_BASE);
    for (int i = 0; i < I8254_CHANNELS; i++) {
        vtimer_free(pit->ch[i].timer);
    }
    g_free(pit);
}
