/*
 * The High Precision Event Timer (HPET).
 * Reference: IA-PC HPET Specification 1.0a: 2.3 registers (2.3.4 General
 * Capabilities and ID, 2.3.5 General Configuration, 2.3.6 General Interrupt
 * Status, 2.3.7 Main Counter, 2.3.8 Timer N Configuration and Capability,
 * 2.3.9 Timer N Comparator, non-periodic and periodic modes), 2.3.10 legacy
 * replacement routing.
 *
 * The model:
 *   - A 64-bit main counter at 100 MHz (period 10,000,000 fs) that follows
 *     the virtual clock while General Configuration ENABLE_CNF is set and
 *     holds its value while it is clear.  Writes to it take effect at once,
 *     halted or not.
 *   - Three 64-bit timers.  Timers 0 and 1 can be periodic, timer 2 is
 *     one-shot only (as in the ICH chipsets).  None can deliver through the
 *     FSB (Tn_FSB_INT_DEL_CAP = 0).  Each may be routed to IOAPIC inputs
 *     20-23 (HPET_ROUTE_CAP); a route outside the capability is not taken
 *     (the field keeps its old value).
 *   - Non-periodic mode: an interrupt when the counter reaches the
 *     comparator.  In 32-bit mode (Tn_32MODE_CNF) only the low 32 bits are
 *     compared, so the match comes again every 2^32 ticks; a 64-bit
 *     comparator already passed does not match again.
 *   - Periodic mode: on each match the comparator advances by the last
 *     value written to it (writes change only that period unless
 *     Tn_VAL_SET_CNF is set, which lets the write set the comparator too and
 *     clears itself after a comparator write).  When the host falls behind,
 *     missed periods coalesce into one interrupt; the comparator then
 *     points at the next match in the future.
 *   - Edge-triggered timers pulse their output; their status bit stays 0.
 *     Level-triggered timers set their bit in the General Interrupt Status
 *     register on each match (even with Tn_INT_ENB_CNF clear) and hold
 *     their output asserted while the bit is set and interrupts are
 *     enabled; writing 1 clears it.  Outputs shared by several timers are
 *     the OR of the level timers; an edge on an output held high is lost.
 *   - ENABLE_CNF clear halts the counter and keeps every output low.
 *   - Legacy replacement (LEG_RT_CNF): timer 0 drives HPET_OUT_LEGACY_IRQ0
 *     (8259 IRQ0, IOAPIC input 2) and timer 1 HPET_OUT_LEGACY_IRQ8 (8259
 *     IRQ8, IOAPIC input 8) whatever their route fields say; the owner of
 *     the HPET is told so that it can cut off the PIT and the RTC.
 *   - Registers are 64 bits wide; accesses of 1, 2, 4 or 8 bytes read or
 *     write those bytes of the register they fall in.  Reserved offsets
 *     read 0 and ignore writes.
 */
#include <glib.h>
#include "hw/hpet.h"
#include "vmstate.h"

static const uint64_t timer_caps[HPET_NUM_TIMERS] = {
    HPET_TN_PERIODIC_CAP | HPET_TN_SIZE_CAP | ((uint64_t)HPET_ROUTE_CAP << HPET_TN_ROUTE_CAP_SHIFT),
    HPET_TN_PERIODIC_CAP | HPET_TN_SIZE_CAP | ((uint64_t)HPET_ROUTE_CAP << HPET_TN_ROUTE_CAP_SHIFT),
    HPET_TN_SIZE_CAP | ((uint64_t)HPET_ROUTE_CAP << HPET_TN_ROUTE_CAP_SHIFT),
};

static bool hpet_enabled(const Hpet *s)
{
    return s->config & HPET_CFG_ENABLE;
}

bool hpet_legacy_replacement(const Hpet *s)
{
    return s->config & HPET_CFG_LEGACY;
}

static bool timer_32bit(const HpetTimer *t)
{
    return t->config & HPET_TN_32BIT;
}

static bool timer_periodic(const HpetTimer *t)
{
    return t->config & HPET_TN_PERIODIC;
}

/* --- the main counter --------------------------------------------------------- */

static uint64_t counter_at(const Hpet *s, int64_t now)
{
    if (!hpet_enabled(s) || now <= s->counter_ns) {
        return s->counter;
    }
    return s->counter + (uint64_t)(now - s->counter_ns) / HPET_TICK_NS;
}

uint64_t hpet_counter(const Hpet *s)
{
    return counter_at(s, vclock_ns());
}

/* The virtual time the counter reaches `tick` (running counter). */
static int64_t ns_of_tick(const Hpet *s, uint64_t tick)
{
    uint64_t d = tick - s->counter;
    if (d > (uint64_t)(INT64_MAX - s->counter_ns) / HPET_TICK_NS) {
        return INT64_MAX;
    }
    return s->counter_ns + (int64_t)d * HPET_TICK_NS;
}

/* Take the counter's value now as the new reference point. */
static void counter_rebase(Hpet *s, int64_t now)
{
    s->counter = counter_at(s, now);
    s->counter_ns = now;
}

/* --- interrupt outputs ----------------------------------------------------------- */

/* The output a timer drives now, -1 when none. */
static int timer_output(const Hpet *s, const HpetTimer *t)
{
    if (hpet_legacy_replacement(s) && t->index < 2) {
        return t->index == 0 ? HPET_OUT_LEGACY_IRQ0 : HPET_OUT_LEGACY_IRQ8;
    }
    return (int)((t->config & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT);
}

static void out_set(Hpet *s, int out, bool level)
{
    if (level) {
        s->out_level |= 1ULL << out;
    } else {
        s->out_level &= ~(1ULL << out);
    }
    irq_set(s->out[out], level);
}

/* Drive every output from the level-triggered timers' state. */
static void hpet_update_outputs(Hpet *s)
{
    uint64_t want = 0;
    if (hpet_enabled(s)) {
        for (int n = 0; n < HPET_NUM_TIMERS; n++) {
            const HpetTimer *t = &s->timer[n];
            if ((t->config & HPET_TN_LEVEL) && (t->config & HPET_TN_INT_ENABLE) &&
                (s->isr & (1ULL << n))) {
                want |= 1ULL << timer_output(s, t);
            }
        }
    }
    uint64_t diff = want ^ s->out_level;
    for (int out = 0; out < HPET_NUM_OUTPUTS; out++) {
        if (diff & (1ULL << out)) {
            out_set(s, out, want & (1ULL << out));
        }
    }
}

/* The counter matched timer `t`'s comparator. */
static void timer_fire(Hpet *s, HpetTimer *t)
{
    if (t->config & HPET_TN_LEVEL) {
        s->isr |= 1ULL << t->index;
        hpet_update_outputs(s);
        return;
    }
    if (!(t->config & HPET_TN_INT_ENABLE)) {
        return;
    }
    int out = timer_output(s, t);
    if (!(s->out_level & (1ULL << out))) {
        irq_set(s->out[out], 1);
        irq_set(s->out[out], 0);
    }
}

/* --- timers ------------------------------------------------------------------------ */

/* Arm the host timer for the next match after the counter's value now. */
static void timer_arm(Hpet *s, HpetTimer *t)
{
    t->armed = false;
    if (!hpet_enabled(s)) {
        vtimer_del(t->timer);
        return;
    }
    uint64_t now = counter_at(s, vclock_ns());
    uint64_t next;
    if (timer_32bit(t)) {
        uint32_t delta = (uint32_t)t->cmp - (uint32_t)now;
        next = now + (delta ? delta : (1ULL << 32));
    } else if (t->cmp > now) {
        next = t->cmp;
    } else {
        vtimer_del(t->timer);   /* passed: no match before the counter wraps */
        return;
    }
    t->next_tick = next;
    t->armed = true;
    vtimer_mod(t->timer, ns_of_tick(s, next));
}

static void timers_arm(Hpet *s)
{
    for (int n = 0; n < HPET_NUM_TIMERS; n++) {
        timer_arm(s, &s->timer[n]);
    }
}

/* Periodic mode after the match at `tick`: the comparator moves on by whole
 * periods to the first match after `now` (and at least the host minimum
 * after it). */
static void timer_advance(HpetTimer *t, uint64_t tick, uint64_t now)
{
    uint64_t period = timer_32bit(t) ? (uint32_t)t->period : t->period;
    if (!period) {
        return;                 /* matches again only when the counter wraps */
    }
    uint64_t min = now + HPET_MIN_PERIOD_NS / HPET_TICK_NS;
    uint64_t k = 1;
    if (tick + period < min) {
        k = (min - tick + period - 1) / period;
    }
    t->cmp += k * period;
    if (timer_32bit(t)) {
        t->cmp = (uint32_t)t->cmp;
    }
}

static void timer_expired(void *opaque)
{
    HpetTimer *t = opaque;
    Hpet *s = t->hpet;

    if (!hpet_enabled(s) || !t->armed) {
        return;
    }
    uint64_t now = hpet_counter(s);
    if (now < t->next_tick) {
        timer_arm(s, t);        /* early (the clock was set back): wait */
        return;
    }
    timer_fire(s, t);
    if (timer_periodic(t)) {
        timer_advance(t, t->next_tick, now);
    }
    timer_arm(s, t);
}

/* --- registers ---------------------------------------------------------------------- */

static uint64_t merge(uint64_t old, uint64_t value, uint64_t mask)
{
    return (old & ~mask) | (value & mask);
}

static void hpet_config_write(Hpet *s, uint64_t value)
{
    uint64_t old = s->config;
    int64_t now = vclock_ns();

    counter_rebase(s, now);     /* the counter stops or starts from here */
    s->config = value & (HPET_CFG_ENABLE | HPET_CFG_LEGACY);
    if ((old ^ s->config) & HPET_CFG_ENABLE) {
        timers_arm(s);
    }
    hpet_update_outputs(s);
    if (((old ^ s->config) & HPET_CFG_LEGACY) && s->legacy_changed) {
        s->legacy_changed(s->legacy_opaque, hpet_legacy_replacement(s));
    }
}

static void timer_config_write(Hpet *s, HpetTimer *t, uint64_t value)
{
    uint64_t caps = timer_caps[t->index];
    uint64_t writable = HPET_TN_LEVEL | HPET_TN_INT_ENABLE | HPET_TN_SETVAL | HPET_TN_32BIT;
    if (caps & HPET_TN_PERIODIC_CAP) {
        writable |= HPET_TN_PERIODIC;
    }
    uint64_t v = (t->config & ~writable) | (value & writable);
    if (!(caps & HPET_TN_SIZE_CAP)) {
        v &= ~HPET_TN_32BIT;    /* a 32-bit timer reads 0 here */
    }
    unsigned route = (value & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT;
    if ((caps >> HPET_TN_ROUTE_CAP_SHIFT) & (1ULL << route)) {
        v = (v & ~HPET_TN_ROUTE_MASK) | ((uint64_t)route << HPET_TN_ROUTE_SHIFT);
    }
    if (!(v & HPET_TN_LEVEL)) {
        s->isr &= ~(1ULL << t->index);  /* the status bit is for level mode */
    }
    t->config = v;
    if (timer_32bit(t)) {
        t->cmp = (uint32_t)t->cmp;
        t->period = (uint32_t)t->period;
    }
    timer_arm(s, t);
    hpet_update_outputs(s);
}

static void timer_cmp_write(Hpet *s, HpetTimer *t, uint64_t value, uint64_t mask)
{
    if (timer_32bit(t)) {
        mask &= 0xffffffffULL;  /* the upper half is not there */
        if (!mask) {
            return;
        }
    }
    if (!timer_periodic(t) || (t->config & HPET_TN_SETVAL)) {
        t->cmp = merge(t->cmp, value, mask);
    }
    t->period = merge(t->period, value, mask);
    t->config &= ~HPET_TN_SETVAL;
    timer_arm(s, t);
}

uint64_t hpet_reg_read(Hpet *s, uint32_t reg)
{
    switch (reg) {
    case HPET_REG_CAP:
        return HPET_REV_ID | ((uint64_t)(HPET_NUM_TIMERS - 1) << HPET_CAP_NUM_TIM_SHIFT) |
               HPET_CAP_COUNT_SIZE | HPET_CAP_LEG_RT |
               ((uint64_t)HPET_VENDOR_ID << HPET_CAP_VENDOR_SHIFT) |
               (HPET_PERIOD_FS << HPET_CAP_PERIOD_SHIFT);
    case HPET_REG_CONFIG:
        return s->config;
    case HPET_REG_ISR:
        return s->isr;
    case HPET_REG_COUNTER:
        return hpet_counter(s);
    }
    if (reg >= HPET_REG_TIMER_CFG(0) && reg < HPET_REG_TIMER_CFG(HPET_NUM_TIMERS)) {
        HpetTimer *t = &s->timer[(reg - HPET_REG_TIMER_CFG(0)) / 0x20];
        switch ((reg - HPET_REG_TIMER_CFG(0)) % 0x20) {
        case 0x00:
            return t->config | timer_caps[t->index];
        case 0x08:
            return t->cmp;
        case 0x10:
            return 0;           /* FSB route: no FSB delivery */
        }
    }
    return 0;
}

void hpet_reg_write(Hpet *s, uint32_t reg, uint64_t value, uint64_t mask)
{
    switch (reg) {
    case HPET_REG_CONFIG:
        hpet_config_write(s, merge(s->config, value, mask));
        return;
    case HPET_REG_ISR:
        s->isr &= ~(value & mask);
        hpet_update_outputs(s);
        return;
    case HPET_REG_COUNTER:
        s->counter = merge(hpet_counter(s), value, mask);
        s->counter_ns = vclock_ns();
        timers_arm(s);
        return;
    }
    if (reg >= HPET_REG_TIMER_CFG(0) && reg < HPET_REG_TIMER_CFG(HPET_NUM_TIMERS)) {
        HpetTimer *t = &s->timer[(reg - HPET_REG_TIMER_CFG(0)) / 0x20];
        switch ((reg - HPET_REG_TIMER_CFG(0)) % 0x20) {
        case 0x00:
            timer_config_write(s, t, merge(t->config, value, mask));
            return;
        case 0x08:
            timer_cmp_write(s, t, value, mask);
            return;
        }
    }
    /* Capabilities, FSB routes and reserved offsets: read-only. */
}

static uint64_t hpet_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    unsigned shift = 8 * (offset & 7);
    uint64_t v = hpet_reg_read(opaque, offset & ~7u) >> shift;
    return size >= 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

static void hpet_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    unsigned shift = 8 * (offset & 7);
    if ((offset & 7) + size > 8) {
        return;
    }
    uint64_t mask = (size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1) << shift;
    hpet_reg_write(opaque, offset & ~7u, value << shift, mask);
}

static const IoOps hpet_mmio_ops = {
    .read = hpet_mmio_read,
    .write = hpet_mmio_write,
    .max_access = 8,
};

/* --- life cycle ------------------------------------------------------------------- */

void hpet_reset(Hpet *s)
{
    bool was_legacy = hpet_legacy_replacement(s);
    s->config = 0;
    s->isr = 0;
    s->counter = 0;
    s->counter_ns = vclock_ns();
    for (int n = 0; n < HPET_NUM_TIMERS; n++) {
        HpetTimer *t = &s->timer[n];
        t->config = 0;
        t->cmp = ~0ULL;
        t->period = 0;
        t->armed = false;
        vtimer_del(t->timer);
    }
    hpet_update_outputs(s);
    if (was_legacy && s->legacy_changed) {
        s->legacy_changed(s->legacy_opaque, false);
    }
}

Hpet *hpet_new(AddressSpace *as, uint64_t base)
{
    Hpet *s = g_new0(Hpet, 1);
    s->as = as;
    s->base = base;
    if (as_add_mmio(as, "hpet", base, HPET_MMIO_SIZE, &hpet_mmio_ops, s) < 0) {
        g_free(s);
        return NULL;
    }
    for (int n = 0; n < HPET_NUM_TIMERS; n++) {
        HpetTimer *t = &s->timer[n];
        t->hpet = s;
        t->index = n;
        t->timer = vtimer_new(timer_expired, t);
    }
    hpet_reset(s);
    return s;
}

void hpet_free(Hpet *s)
{
    if (!s) {
        return;
    }
    as_remove(s->as, s->base);
    for (int n = 0; n < HPET_NUM_TIMERS; n++) {
        vtimer_free(s->timer[n].timer);
    }
    g_free(s);
}

void hpet_connect(Hpet *s, int output, IrqLine *line)
{
    if (output >= 0 && output < HPET_NUM_OUTPUTS) {
        s->out[output] = line;
    }
}

void hpet_set_legacy_hook(Hpet *s, void (*fn)(void *opaque, bool on), void *opaque)
{
    s->legacy_changed = fn;
    s->legacy_opaque = opaque;
}

/* --- suspend/resume ------------------------------------------------------------------ */

static int hpet_post_load(void *opaque, uint32_t version, GError **errp)
{
    Hpet *s = opaque;
    const int64_t far = INT64_C(1) << 62;
    (void)version;

    if (s->counter_ns <= -far || s->counter_ns >= far) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "counter time out of range");
        return -1;
    }
    s->config &= HPET_CFG_ENABLE | HPET_CFG_LEGACY;
    s->isr &= (1ULL << HPET_NUM_TIMERS) - 1;
    s->out_level &= (1ULL << HPET_NUM_OUTPUTS) - 1;
    for (int n = 0; n < HPET_NUM_TIMERS; n++) {
        HpetTimer *t = &s->timer[n];
        uint64_t caps = timer_caps[n];
        uint64_t writable = HPET_TN_LEVEL | HPET_TN_INT_ENABLE | HPET_TN_SETVAL |
                            HPET_TN_32BIT | HPET_TN_ROUTE_MASK |
                            ((caps & HPET_TN_PERIODIC_CAP) ? HPET_TN_PERIODIC : 0);
        unsigned route = (t->config & HPET_TN_ROUTE_MASK) >> HPET_TN_ROUTE_SHIFT;
        if ((t->config & ~writable) ||
            (route && !((caps >> HPET_TN_ROUTE_CAP_SHIFT) & (1ULL << route)))) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "timer %d: configuration %#llx not possible", n,
                        (unsigned long long)t->config);
            return -1;
        }
    }
    /* The outputs' levels were restored with the interrupt controllers;
     * the host timers follow from the registers. */
    timers_arm(s);
    if (s->legacy_changed) {
        s->legacy_changed(s->legacy_opaque, hpet_legacy_replacement(s));
    }
    return 0;
}

static const VMStateDescription hpet_timer_vmstate = {
    .name = "hpet-timer",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT64(HpetTimer, config),
        VMSTATE_UINT64(HpetTimer, cmp),
        VMSTATE_UINT64(HpetTimer, period),
        VMSTATE_END
    },
};

const VMStateDescription hpet_vmstate = {
    .name = "hpet",
    .version = 1,
    .post_load = hpet_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_UINT64(Hpet, config),
        VMSTATE_UINT64(Hpet, isr),
        VMSTATE_UINT64(Hpet, counter),
        VMSTATE_INT64(Hpet, counter_ns),
        VMSTATE_STRUCT_ARRAY(Hpet, timer, HPET_NUM_TIMERS, hpet_timer_vmstate, HpetTimer),
        VMSTATE_UINT64(Hpet, out_level),
        VMSTATE_END
    },
};
