/*
 * The local APIC (xAPIC mode) of each processor and the APIC bus between
 * the local APICs and the IOAPIC.
 * Reference: Intel SDM vol. 3A, chapter "Advanced Programmable Interrupt
 * Controller (APIC)" (10 in the older editions); section numbers below are
 * those of chapter 10.
 *
 * Choices of this model:
 *   - Register access: each register is the first dword of its 16-byte
 *     slot.  Reads of 1, 2 or 4 bytes inside that dword return those bytes;
 *     other bytes of the slot read 0.  Writes count only as aligned dwords
 *     (others are undefined per 10.4.1 and dropped).  Accesses to reserved
 *     offsets (and to the CMCI LVT, which this APIC does not have) set the
 *     "illegal register address" error; writes to read-only registers are
 *     ignored.
 *   - Messages are delivered at once, so the delivery status bits of the
 *     ICR and the LVT always read 0 (idle).
 *   - Reset (10.4.7.1): as the SDM gives it, except that the BSP's LINT0
 *     comes out of reset in ExtINT mode, unmasked: the virtual-wire set-up a
 *     PC BIOS performs (MP spec 1.4, 3.6.2.2), so that 8259 interrupts reach
 *     the BSP before the guest touches its APIC, as they do on a PC after
 *     its firmware ran.  The same holds after INIT.
 *   - Software disable (SVR bit 8 = 0, 10.4.7.2): all LVT mask bits are set
 *     and cannot be cleared; fixed and lowest-priority messages are not
 *     accepted, NMI, INIT and SIPI are; IRR/ISR contents stay deliverable.
 *   - Hardware disable (IA32_APIC_BASE bit 11 = 0, 10.4.3): the APIC leaves
 *     the bus and returns to its reset state; LINT0 then is the CPU's INTR
 *     pin (8259) and LINT1 its NMI pin.  Re-enabling is allowed.
 *   - ExtINT (on LINT0/LINT1 or in a message) bypasses IRR/ISR and the
 *     priority registers; the CPU's INTA then goes to the 8259.  A pending
 *     ExtINT is acknowledged before fixed interrupts.  An acknowledge that
 *     finds nothing to deliver goes to the 8259 too while a LINT pin is an
 *     unmasked ExtINT (the 8259's request was withdrawn: it answers with
 *     its spurious IR7, as the 8259-only PC does); otherwise it returns the
 *     spurious vector of the SVR.
 *   - Lowest priority (10.6.2.4): the focus processor (the vector pending or
 *     in service there, focus checking on) wins; otherwise the lowest
 *     arbitration priority (APR), ties going round-robin by CPU number.
 *   - An ICR write with a fixed or lowest-priority vector below 16 sets
 *     "send illegal vector" and sends nothing; a local or received interrupt
 *     with such a vector sets "receive illegal vector" and is dropped.
 *   - Timer (10.5.4): one-shot and periodic count at APIC_BUS_HZ / divide
 *     from the time the initial count is written; the current count is
 *     computed from the virtual clock.  A write to the LVT timer that
 *     changes the mode disarms the timer (initial count and deadline become
 *     0).  In TSC-deadline mode the initial count ignores writes and the
 *     current count reads 0; IA32_TSC_DEADLINE reads 0 and ignores writes in
 *     the other modes.  Changing the divider while counting keeps the
 *     current count and continues at the new rate.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <glib.h>
#include "hw/apic.h"
#include "log.h"
#include "vmstate.h"

typedef struct ApicWindow {
    ApicBus *bus;
    uint64_t base;
    int refs;               /* APICs enabled at this base; 0 = unused slot */
} ApicWindow;

struct ApicBus {
    AddressSpace *as;
    LocalApic *cpu[APIC_MAX_CPUS];
    int ncpus;
    int lowest_next;        /* round-robin start for lowest-priority ties */
    ApicCpuHooks hooks;
    void (*eoi)(void *opaque, uint8_t vector);
    void *eoi_opaque;
    int (*extint_ack)(void *opaque);
    void *extint_opaque;
    ApicWindow window[APIC_MAX_CPUS];
};

static __thread int current_cpu;

static const uint32_t lvt_writable[APIC_NUM_LVT] = {
    [APIC_LVT_TIMER]   = 0x000700ff,    /* vector, mask, mode 18:17 */
    [APIC_LVT_THERMAL] = 0x000107ff,    /* vector, delivery mode, mask */
    [APIC_LVT_PERF]    = 0x000107ff,
    [APIC_LVT_LINT0]   = 0x0001a7ff,    /* + polarity, trigger */
    [APIC_LVT_LINT1]   = 0x0001a7ff,
    [APIC_LVT_ERROR]   = 0x000100ff,    /* vector, mask */
};

static void apic_update_intr(LocalApic *s);
static void apic_timer_arm(LocalApic *s);
static void apic_error(LocalApic *s, uint32_t bits);

/* --- 256-bit vector registers --------------------------------------------- */

static int vec_highest(const uint32_t *r)
{
    for (int i = 7; i >= 0; i--) {
        if (r[i]) {
            return i * 32 + 31 - __builtin_clz(r[i]);
        }
    }
    return -1;
}

static bool vec_test(const uint32_t *r, int v)
{
    return r[v >> 5] & (1u << (v & 31));
}

static void vec_set(uint32_t *r, int v)
{
    r[v >> 5] |= 1u << (v & 31);
}

static void vec_clear(uint32_t *r, int v)
{
    r[v >> 5] &= ~(1u << (v & 31));
}

/* --- state ---------------------------------------------------------------- */

bool apic_hw_enabled(const LocalApic *s)
{
    return s->base_msr & APIC_BASE_ENABLE;
}

bool apic_sw_enabled(const LocalApic *s)
{
    return s->svr & APIC_SVR_ENABLE;
}

static uint64_t apic_base_addr(const LocalApic *s)
{
    return s->base_msr & APIC_BASE_ADDR_MASK;
}

/* PPR (10.8.3.1): the higher of TPR and the class of the highest ISR bit. */
static uint8_t apic_ppr(const LocalApic *s)
{
    int isrv = MAX(vec_highest(s->isr), 0);
    if ((s->tpr >> 4) >= (isrv >> 4)) {
        return s->tpr;
    }
    return isrv & 0xf0;
}

/* APR (10.6.2.4, figure "Arbitration Priority Register"). */
static uint8_t apic_apr(const LocalApic *s)
{
    int irrv = MAX(vec_highest(s->irr), 0);
    int isrv = MAX(vec_highest(s->isr), 0);
    unsigned tp = s->tpr >> 4;

    if (tp >= (unsigned)(irrv >> 4) && tp > (unsigned)(isrv >> 4)) {
        return s->tpr;
    }
    return MAX(tp & (unsigned)(isrv >> 4), (unsigned)(irrv >> 4)) << 4;
}

/* The highest IRR vector if its priority class is above the PPR's. */
static int apic_deliverable_vector(const LocalApic *s)
{
    int irrv = vec_highest(s->irr);
    if (irrv >= 0 && (irrv >> 4) > (apic_ppr(s) >> 4)) {
        return irrv;
    }
    return -1;
}

static bool lint_active(const LocalApic *s, int pin)
{
    bool low = s->lvt[APIC_LVT_LINT0 + pin] & APIC_LVT_POLARITY_LOW;
    return s->lint_level[pin] != low;
}

static unsigned lvt_mode(const LocalApic *s, int lvt)
{
    return (s->lvt[lvt] >> APIC_DM_SHIFT) & 7;
}

static bool apic_extint_active(const LocalApic *s)
{
    if (s->extint_pending) {
        return true;
    }
    for (int pin = 0; pin < 2; pin++) {
        int lvt = APIC_LVT_LINT0 + pin;
        if (!(s->lvt[lvt] & APIC_LVT_MASKED) && lvt_mode(s, lvt) == APIC_DM_EXTINT &&
            lint_active(s, pin)) {
            return true;
        }
    }
    return false;
}

bool apic_has_interrupt(const LocalApic *s)
{
    if (!apic_hw_enabled(s)) {
        return s->lint_level[0];
    }
    return apic_extint_active(s) || apic_deliverable_vector(s) >= 0;
}

static void apic_kick(LocalApic *s)
{
    ApicBus *bus = s->bus;
    if (bus->hooks.kick) {
        bus->hooks.kick(bus->hooks.opaque, s->index);
    }
}

static void apic_update_intr(LocalApic *s)
{
    bool level = apic_has_interrupt(s);
    if (level == s->intr_level) {
        return;
    }
    __atomic_store_n(&s->intr_level, level, __ATOMIC_RELEASE);
    irq_set(s->intr_out, level);
    if (level) {
        apic_kick(s);
    }
}

static void apic_raise_event(LocalApic *s, uint32_t ev)
{
    ApicBus *bus = s->bus;
    __atomic_or_fetch(&s->events, ev, __ATOMIC_RELEASE);
    if ((ev & APIC_EVENT_INIT) && bus->hooks.init) {
        bus->hooks.init(bus->hooks.opaque, s->index);
    }
    if ((ev & APIC_EVENT_SIPI) && bus->hooks.sipi) {
        bus->hooks.sipi(bus->hooks.opaque, s->index, s->sipi_vector);
    }
    apic_kick(s);
}

/* Accept a fixed interrupt into IRR (10.8.4).  False when refused. */
static bool apic_accept_fixed(LocalApic *s, int vector, bool level)
{
    if (vector < 16) {
        apic_error(s, APIC_ESR_RECV_ILLEGAL);
        return false;
    }
    vec_set(s->irr, vector);
    if (level) {
        vec_set(s->tmr, vector);
    } else {
        vec_clear(s->tmr, vector);
    }
    apic_update_intr(s);
    return true;
}

/* Deliver the interrupt of LVT entry `lvt` (its source fired). */
static void apic_lvt_deliver(LocalApic *s, int lvt)
{
    uint32_t v = s->lvt[lvt];
    unsigned mode = APIC_DM_FIXED;

    if (v & APIC_LVT_MASKED) {
        return;
    }
    if (lvt != APIC_LVT_TIMER && lvt != APIC_LVT_ERROR) {
        mode = lvt_mode(s, lvt);
    }
    switch (mode) {
    case APIC_DM_FIXED: {
        bool level = (lvt == APIC_LVT_LINT0 || lvt == APIC_LVT_LINT1) &&
                     (v & APIC_LVT_LEVEL);
        if (apic_accept_fixed(s, v & APIC_VECTOR_MASK, level) && level) {
            s->lvt[lvt] |= APIC_LVT_REMOTE_IRR;
        }
        break;
    }
    case APIC_DM_NMI:
        apic_raise_event(s, APIC_EVENT_NMI);
        break;
    case APIC_DM_INIT:
        if (lvt == APIC_LVT_LINT0 || lvt == APIC_LVT_LINT1) {
            apic_raise_event(s, APIC_EVENT_INIT);
        }
        break;
    case APIC_DM_EXTINT:
        apic_update_intr(s);    /* level-sensitive, handled by the INTR level */
        break;
    default:                    /* SMI (no SMM), reserved */
        break;
    }
}

/* Errors (10.5.3): accumulate; a newly detected error raises the LVT error
 * interrupt. */
static void apic_error(LocalApic *s, uint32_t bits)
{
    uint32_t fresh = bits & ~s->esr_pending;
    s->esr_pending |= bits;
    if (fresh) {
        apic_lvt_deliver(s, APIC_LVT_ERROR);
    }
}

/* --- timer ---------------------------------------------------------------- */

static unsigned apic_timer_mode(const LocalApic *s)
{
    unsigned mode = (s->lvt[APIC_LVT_TIMER] >> APIC_LVT_TIMER_SHIFT) & 3;
    return mode == 3 ? APIC_TIMER_ONESHOT : mode;   /* 11b is reserved */
}

static unsigned apic_timer_divide(uint32_t dcr)
{
    unsigned v = ((dcr >> 1) & 4) | (dcr & 3);
    return v == 7 ? 1 : 2u << v;
}

static int64_t apic_timer_tick_ns(const LocalApic *s)
{
    return APIC_BUS_TICK_NS * apic_timer_divide(s->timer_dcr);
}

static bool apic_timer_counting(const LocalApic *s)
{
    return apic_timer_mode(s) != APIC_TIMER_TSC_DEADLINE && s->timer_initial;
}

static uint32_t apic_timer_current(const LocalApic *s, int64_t now)
{
    if (!apic_timer_counting(s)) {
        return 0;
    }
    uint64_t ticks = (uint64_t)(now - s->timer_load_ns) / apic_timer_tick_ns(s);
    if (apic_timer_mode(s) == APIC_TIMER_PERIODIC) {
        return s->timer_initial - ticks % s->timer_initial;
    }
    return ticks >= s->timer_initial ? 0 : s->timer_initial - ticks;
}

/* Arm the VTimer for the next expiry after `now` (or disarm).  After a
 * periodic expiry (`refire`) short periods are held to the minimum. */
static void apic_timer_arm_next(LocalApic *s, bool refire)
{
    int64_t now = vclock_ns();

    if (apic_timer_mode(s) == APIC_TIMER_TSC_DEADLINE) {
        if (s->tsc_deadline_ns >= 0) {
            vtimer_mod(s->timer, s->tsc_deadline_ns);
        } else {
            vtimer_del(s->timer);
        }
        return;
    }
    if (!s->timer_initial) {
        vtimer_del(s->timer);
        return;
    }
    int64_t period = (int64_t)s->timer_initial * apic_timer_tick_ns(s);
    int64_t expiry = s->timer_load_ns + period;
    if (apic_timer_mode(s) == APIC_TIMER_PERIODIC) {
        if (now >= expiry) {
            expiry = s->timer_load_ns + ((now - s->timer_load_ns) / period + 1) * period;
        }
        if (refire && period < APIC_TIMER_MIN_PERIOD_NS &&
            expiry < now + APIC_TIMER_MIN_PERIOD_NS) {
            expiry = now + APIC_TIMER_MIN_PERIOD_NS;
        }
    } else if (now >= expiry) {
        vtimer_del(s->timer);   /* one-shot that already reached 0 */
        return;
    }
    vtimer_mod(s->timer, expiry);
}

static void apic_timer_arm(LocalApic *s)
{
    apic_timer_arm_next(s, false);
}

static void apic_timer_expired(void *opaque)
{
    LocalApic *s = opaque;
    int64_t now = vclock_ns();

    if (apic_timer_mode(s) == APIC_TIMER_TSC_DEADLINE) {
        if (s->tsc_deadline_ns >= 0 && now >= s->tsc_deadline_ns) {
            s->tsc_deadline = 0;
            s->tsc_deadline_ns = -1;
            apic_lvt_deliver(s, APIC_LVT_TIMER);
        }
        apic_timer_arm(s);
        return;
    }
    if (!s->timer_initial) {
        return;
    }
    apic_lvt_deliver(s, APIC_LVT_TIMER);
    if (apic_timer_mode(s) == APIC_TIMER_PERIODIC) {
        apic_timer_arm_next(s, true);
    }
}

static void apic_timer_disarm(LocalApic *s)
{
    s->timer_initial = 0;
    s->tsc_deadline = 0;
    s->tsc_deadline_ns = -1;
    vtimer_del(s->timer);
}

uint64_t apic_read_tsc_deadline(const LocalApic *s)
{
    if (!apic_hw_enabled(s) || apic_timer_mode(s) != APIC_TIMER_TSC_DEADLINE) {
        return 0;
    }
    return s->tsc_deadline;
}

void apic_write_tsc_deadline(LocalApic *s, uint64_t value, uint64_t tsc_now)
{
    if (!apic_hw_enabled(s) || apic_timer_mode(s) != APIC_TIMER_TSC_DEADLINE) {
        return;
    }
    s->tsc_deadline = value;
    s->tsc_deadline_ns = -1;
    if (value == 0) {
        vtimer_del(s->timer);
        return;
    }
    if (value <= tsc_now) {
        s->tsc_deadline = 0;
        vtimer_del(s->timer);
        apic_lvt_deliver(s, APIC_LVT_TIMER);
        return;
    }
    uint64_t delta = pc_ns_from_tsc(value - tsc_now);
    int64_t now = vclock_ns();
    s->tsc_deadline_ns = delta > (uint64_t)(INT64_MAX - now) ? INT64_MAX : now + (int64_t)delta;
    apic_timer_arm(s);
}

/* --- reset ---------------------------------------------------------------- */

/* INIT (10.4.7.3): everything but the APIC ID and IA32_APIC_BASE. */
static void apic_init_state(LocalApic *s)
{
    s->tpr = 0;
    s->ldr = 0;
    s->dfr_model = 0xf;
    s->svr = 0xff;
    s->esr = s->esr_pending = 0;
    s->icr_lo = s->icr_hi = 0;
    for (int i = 0; i < APIC_NUM_LVT; i++) {
        s->lvt[i] = APIC_LVT_MASKED;
    }
    if (s->base_msr & APIC_BASE_BSP) {
        s->lvt[APIC_LVT_LINT0] = APIC_DM_EXTINT << APIC_DM_SHIFT;
    }
    memset(s->irr, 0, sizeof(s->irr));
    memset(s->isr, 0, sizeof(s->isr));
    memset(s->tmr, 0, sizeof(s->tmr));
    s->timer_dcr = 0;
    s->timer_load_ns = 0;
    apic_timer_disarm(s);
    s->extint_pending = false;
    apic_update_intr(s);
}

/* --- the APIC page(s) on the address space --------------------------------- */

static uint64_t apic_mmio_read(void *opaque, uint64_t offset, unsigned size);
static void apic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size);

static const IoOps apic_mmio_ops = {
    .read = apic_mmio_read,
    .write = apic_mmio_write,
    .max_access = 4,
};

static int apic_window_get(ApicBus *bus, uint64_t base)
{
    ApicWindow *free_slot = NULL;
    for (int i = 0; i < APIC_MAX_CPUS; i++) {
        ApicWindow *w = &bus->window[i];
        if (w->refs && w->base == base) {
            w->refs++;
            return 0;
        }
        if (!w->refs && !free_slot) {
            free_slot = w;
        }
    }
    if (!free_slot) {
        return -ENOSPC;
    }
    int ret = as_add_mmio(bus->as, "local-apic", base, APIC_MMIO_SIZE, &apic_mmio_ops, free_slot);
    if (ret < 0) {
        return ret;
    }
    free_slot->bus = bus;
    free_slot->base = base;
    free_slot->refs = 1;
    return 0;
}

static void apic_window_put(ApicBus *bus, uint64_t base)
{
    for (int i = 0; i < APIC_MAX_CPUS; i++) {
        ApicWindow *w = &bus->window[i];
        if (w->refs && w->base == base) {
            if (--w->refs == 0) {
                as_remove(bus->as, base);
            }
            return;
        }
    }
}

/* Whether CPU `s` sees its APIC page at `base` (a window it took a
 * reference on). */
static bool apic_mapped_at(const LocalApic *s, uint64_t base)
{
    return apic_hw_enabled(s) && apic_base_addr(s) == base;
}

static void apic_set_mapping(LocalApic *s, uint64_t new_msr)
{
    bool was = apic_hw_enabled(s), now = new_msr & APIC_BASE_ENABLE;
    uint64_t old_base = apic_base_addr(s), new_base = new_msr & APIC_BASE_ADDR_MASK;

    if (was == now && (!now || old_base == new_base)) {
        s->base_msr = new_msr;
        return;
    }
    if (now && apic_window_get(s->bus, new_base) < 0) {
        vlog("local APIC %d: cannot map its page at 0x%" PRIx64 " (in use)",
             s->index, new_base);
        new_msr &= ~APIC_BASE_ENABLE;
        now = false;
    }
    if (was) {
        apic_window_put(s->bus, old_base);
    }
    s->base_msr = new_msr;
}

void apic_reset(LocalApic *s)
{
    apic_set_mapping(s, APIC_DEFAULT_BASE | APIC_BASE_ENABLE |
                        (s->index == 0 ? APIC_BASE_BSP : 0));
    s->id = s->index;
    __atomic_store_n(&s->events, 0, __ATOMIC_RELEASE);
    s->sipi_vector = 0;
    apic_init_state(s);
}

uint64_t apic_get_base_msr(const LocalApic *s)
{
    return s->base_msr;
}

int apic_set_base_msr(LocalApic *s, uint64_t value)
{
    /* Bits 9 and 10 (x2APIC, not offered) and 36-63 are reserved; the BSP
     * flag is read-only here. */
    if (value & ~(APIC_BASE_ADDR_MASK | APIC_BASE_ENABLE | APIC_BASE_BSP)) {
        return -EINVAL;
    }
    bool was = apic_hw_enabled(s);
    uint64_t msr = (value & ~APIC_BASE_BSP) | (s->base_msr & APIC_BASE_BSP);
    apic_set_mapping(s, msr);
    if (was && !apic_hw_enabled(s)) {
        /* Disabled: back to the reset state (10.4.3); LINT0 becomes INTR. */
        s->id = s->index;
        apic_init_state(s);
    }
    apic_update_intr(s);
    return 0;
}

/* --- registers -------------------------------------------------------------- */

uint8_t apic_get_tpr(const LocalApic *s)
{
    return s->tpr;
}

void apic_set_tpr(LocalApic *s, uint8_t tpr)
{
    s->tpr = tpr;
    apic_update_intr(s);
}

static void apic_eoi(LocalApic *s)
{
    int v = vec_highest(s->isr);
    if (v < 0) {
        return;
    }
    vec_clear(s->isr, v);
    if (vec_test(s->tmr, v)) {
        /* Level-triggered: end the remote IRR of a LINT pin that raised it,
         * and tell the IOAPIC(s). */
        for (int pin = 0; pin < 2; pin++) {
            uint32_t *lvt = &s->lvt[APIC_LVT_LINT0 + pin];
            if ((*lvt & APIC_LVT_REMOTE_IRR) && (*lvt & APIC_VECTOR_MASK) == (uint32_t)v) {
                *lvt &= ~APIC_LVT_REMOTE_IRR;
                if (lint_active(s, pin)) {
                    apic_lvt_deliver(s, APIC_LVT_LINT0 + pin);
                }
            }
        }
        if (s->bus->eoi) {
            s->bus->eoi(s->bus->eoi_opaque, v);
        }
    }
    apic_update_intr(s);
}

static void apic_send_ipi(LocalApic *s)
{
    ApicMessage msg = {
        .vector = s->icr_lo & APIC_VECTOR_MASK,
        .delivery = (s->icr_lo >> APIC_DM_SHIFT) & 7,
        .logical = s->icr_lo & APIC_ICR_LOGICAL,
        .assert = s->icr_lo & APIC_ICR_ASSERT,
        .level_trigger = s->icr_lo & APIC_ICR_LEVEL,
        .shorthand = (s->icr_lo >> APIC_ICR_SH_SHIFT) & 3,
        .dest = s->icr_hi >> 24,
        .source = s->index,
    };
    if ((msg.delivery == APIC_DM_FIXED || msg.delivery == APIC_DM_LOWEST) && msg.vector < 16) {
        apic_error(s, APIC_ESR_SEND_ILLEGAL);
        return;
    }
    apic_bus_deliver(s->bus, &msg);
}

/* A LINT pin's input or its LVT entry changed: deliver what is due. */
static void apic_lint_evaluate(LocalApic *s, int pin, bool was_active)
{
    int lvt = APIC_LVT_LINT0 + pin;
    uint32_t v = s->lvt[lvt];
    bool active = lint_active(s, pin);
    unsigned mode = lvt_mode(s, lvt);

    if (mode == APIC_DM_EXTINT) {
        apic_update_intr(s);
        return;
    }
    if (v & APIC_LVT_MASKED) {
        return;
    }
    if (mode == APIC_DM_FIXED && (v & APIC_LVT_LEVEL)) {
        if (active && !(v & APIC_LVT_REMOTE_IRR)) {
            apic_lvt_deliver(s, lvt);
        }
    } else if (active && !was_active) {
        apic_lvt_deliver(s, lvt);
    }
}

static void apic_lvt_write(LocalApic *s, int lvt, uint32_t value)
{
    uint32_t old = s->lvt[lvt];
    uint32_t v = (old & ~lvt_writable[lvt]) | (value & lvt_writable[lvt]);

    if (!apic_sw_enabled(s)) {
        v |= APIC_LVT_MASKED;
    }
    if ((lvt == APIC_LVT_LINT0 || lvt == APIC_LVT_LINT1) && !(v & APIC_LVT_LEVEL)) {
        v &= ~APIC_LVT_REMOTE_IRR;
    }
    s->lvt[lvt] = v;
    if (lvt == APIC_LVT_TIMER) {
        unsigned old_mode = (old >> APIC_LVT_TIMER_SHIFT) & 3;
        unsigned new_mode = (v >> APIC_LVT_TIMER_SHIFT) & 3;
        if (old_mode != new_mode) {
            apic_timer_disarm(s);
        }
    } else if (lvt == APIC_LVT_LINT0 || lvt == APIC_LVT_LINT1) {
        int pin = lvt - APIC_LVT_LINT0;
        /* A level pin already active is due now that it may be unmasked;
         * for edge-triggered entries only a new edge counts. */
        apic_lint_evaluate(s, pin, lint_active(s, pin));
        apic_update_intr(s);    /* an ExtINT entry may have come or gone */
    }
}

static void apic_svr_write(LocalApic *s, uint32_t value)
{
    s->svr = value & (APIC_VECTOR_MASK | APIC_SVR_ENABLE | APIC_SVR_FOCUS_DISABLE);
    if (!apic_sw_enabled(s)) {
        for (int i = 0; i < APIC_NUM_LVT; i++) {
            s->lvt[i] |= APIC_LVT_MASKED;
        }
    }
    apic_update_intr(s);
}

static void apic_dcr_write(LocalApic *s, uint32_t value)
{
    int64_t now = vclock_ns();
    uint32_t dcr = value & 0xb;

    if (apic_timer_counting(s)) {
        /* Keep the current count; continue at the new rate. */
        uint32_t cur = apic_timer_current(s, now);
        int64_t elapsed_ticks = cur ? s->timer_initial - cur : s->timer_initial;
        s->timer_dcr = dcr;
        s->timer_load_ns = now - elapsed_ticks * apic_timer_tick_ns(s);
        apic_timer_arm(s);
    } else {
        s->timer_dcr = dcr;
    }
}

static bool reg_in(uint32_t reg, uint32_t first, int count)
{
    return reg >= first && reg < first + 0x10 * count;
}

uint32_t apic_reg_read(LocalApic *s, uint32_t reg)
{
    switch (reg) {
    case APIC_REG_ID:       return (uint32_t)s->id << 24;
    case APIC_REG_VERSION:  return APIC_VERSION_VALUE;
    case APIC_REG_TPR:      return s->tpr;
    case APIC_REG_APR:      return apic_apr(s);
    case APIC_REG_PPR:      return apic_ppr(s);
    case APIC_REG_EOI:      return 0;       /* write-only */
    case APIC_REG_RRD:      return 0;       /* remote read: not supported */
    case APIC_REG_LDR:      return (uint32_t)s->ldr << 24;
    case APIC_REG_DFR:      return ((uint32_t)s->dfr_model << 28) | 0x0fffffff;
    case APIC_REG_SVR:      return s->svr;
    case APIC_REG_ESR:      return s->esr;
    case APIC_REG_ICR_LO:   return s->icr_lo;
    case APIC_REG_ICR_HI:   return s->icr_hi;
    case APIC_REG_TIMER_ICR: return s->timer_initial;
    case APIC_REG_TIMER_CCR: return apic_timer_current(s, vclock_ns());
    case APIC_REG_TIMER_DCR: return s->timer_dcr;
    }
    if (reg_in(reg, APIC_REG_ISR, 8)) {
        return s->isr[(reg - APIC_REG_ISR) >> 4];
    }
    if (reg_in(reg, APIC_REG_TMR, 8)) {
        return s->tmr[(reg - APIC_REG_TMR) >> 4];
    }
    if (reg_in(reg, APIC_REG_IRR, 8)) {
        return s->irr[(reg - APIC_REG_IRR) >> 4];
    }
    if (reg_in(reg, APIC_REG_LVT_TIMER, APIC_NUM_LVT)) {
        return s->lvt[(reg - APIC_REG_LVT_TIMER) >> 4];
    }
    apic_error(s, APIC_ESR_ILLEGAL_REG);
    return 0;
}

void apic_reg_write(LocalApic *s, uint32_t reg, uint32_t value)
{
    switch (reg) {
    case APIC_REG_ID:
        s->id = value >> 24;
        return;
    case APIC_REG_TPR:
        apic_set_tpr(s, value & 0xff);
        return;
    case APIC_REG_EOI:
        apic_eoi(s);
        return;
    case APIC_REG_LDR:
        s->ldr = value >> 24;
        return;
    case APIC_REG_DFR:
        s->dfr_model = value >> 28;
        return;
    case APIC_REG_SVR:
        apic_svr_write(s, value);
        return;
    case APIC_REG_ESR:
        s->esr = s->esr_pending;
        s->esr_pending = 0;
        return;
    case APIC_REG_ICR_LO:
        s->icr_lo = value & 0x000ccfff;     /* not bit 12 (status), 13, 16-17 */
        apic_send_ipi(s);
        return;
    case APIC_REG_ICR_HI:
        s->icr_hi = value & 0xff000000;
        return;
    case APIC_REG_TIMER_ICR:
        if (apic_timer_mode(s) != APIC_TIMER_TSC_DEADLINE) {
            s->timer_initial = value;
            s->timer_load_ns = vclock_ns();
            apic_timer_arm(s);
        }
        return;
    case APIC_REG_TIMER_DCR:
        apic_dcr_write(s, value);
        return;
    case APIC_REG_VERSION: case APIC_REG_APR: case APIC_REG_PPR: case APIC_REG_RRD:
    case APIC_REG_TIMER_CCR:
        return;                             /* read-only */
    }
    if (reg_in(reg, APIC_REG_ISR, 24)) {
        return;                             /* ISR, TMR, IRR: read-only */
    }
    if (reg_in(reg, APIC_REG_LVT_TIMER, APIC_NUM_LVT)) {
        apic_lvt_write(s, (reg - APIC_REG_LVT_TIMER) >> 4, value);
        return;
    }
    apic_error(s, APIC_ESR_ILLEGAL_REG);
}

static LocalApic *apic_for_access(ApicWindow *w)
{
    int cpu = current_cpu;
    if (cpu < 0 || cpu >= w->bus->ncpus || !w->bus->cpu[cpu]) {
        return NULL;
    }
    LocalApic *s = w->bus->cpu[cpu];
    return apic_mapped_at(s, w->base) ? s : NULL;
}

static uint64_t apic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    LocalApic *s = apic_for_access(opaque);
    unsigned sub = offset & 0xf;

    if (!s) {
        return ~0ULL >> (64 - 8 * size);    /* not this CPU's APIC: nothing */
    }
    if (sub >= 4) {
        return 0;
    }
    uint64_t v = apic_reg_read(s, offset & ~0xfu) >> (8 * sub);
    return size >= 4 ? v : v & ((1ULL << (8 * size)) - 1);
}

static void apic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    LocalApic *s = apic_for_access(opaque);
    if (s && size == 4 && !(offset & 0xf)) {
        apic_reg_write(s, offset, value);
    }
}

/* --- pins and local sources ------------------------------------------------- */

void apic_set_lint(LocalApic *s, int pin, int level)
{
    if (pin < 0 || pin > 1) {
        return;
    }
    bool was_level = s->lint_level[pin];
    bool was_active = lint_active(s, pin);
    s->lint_level[pin] = level != 0;
    if (!apic_hw_enabled(s)) {
        /* No APIC: LINT0 is INTR, LINT1 is NMI (edge). */
        if (pin == 0) {
            apic_update_intr(s);
        } else if (level && !was_level) {
            apic_raise_event(s, APIC_EVENT_NMI);
        }
        return;
    }
    apic_lint_evaluate(s, pin, was_active);
}

void apic_local_interrupt(LocalApic *s, int lvt)
{
    if (apic_hw_enabled(s) && (lvt == APIC_LVT_THERMAL || lvt == APIC_LVT_PERF)) {
        apic_lvt_deliver(s, lvt);
    }
}

/* --- the CPU side ----------------------------------------------------------- */

/* Is a LINT pin wired as ExtINT (virtual wire), whatever its level? */
static bool apic_virtual_wire(const LocalApic *s)
{
    for (int lvt = APIC_LVT_LINT0; lvt <= APIC_LVT_LINT1; lvt++) {
        if (!(s->lvt[lvt] & APIC_LVT_MASKED) && lvt_mode(s, lvt) == APIC_DM_EXTINT) {
            return true;
        }
    }
    return false;
}

/* The INTA cycle on the external 8259. */
static int apic_extint_ack(LocalApic *s)
{
    ApicBus *bus = s->bus;
    int v;

    s->extint_pending = false;
    v = bus->extint_ack ? bus->extint_ack(bus->extint_opaque) : -1;
    apic_update_intr(s);
    if (v < 0 && apic_hw_enabled(s)) {
        v = s->svr & APIC_VECTOR_MASK;
    }
    return v;
}

int apic_get_interrupt(LocalApic *s)
{
    if (!apic_hw_enabled(s) || apic_extint_active(s)) {
        return apic_extint_ack(s);
    }
    int v = apic_deliverable_vector(s);
    if (v < 0) {
        /* Nothing above the PPR.  Through the virtual wire the request
         * the CPU saw was the 8259's, withdrawn since: the 8259 answers
         * (with its spurious IR7).  Otherwise the APIC's spurious vector
         * (10.9). */
        return apic_virtual_wire(s) ? apic_extint_ack(s) : (int)(s->svr & APIC_VECTOR_MASK);
    }
    vec_clear(s->irr, v);
    vec_set(s->isr, v);
    apic_update_intr(s);
    return v;
}

uint32_t apic_pending_events(const LocalApic *s)
{
    return __atomic_load_n(&s->events, __ATOMIC_ACQUIRE);
}

static bool apic_take_event(LocalApic *s, uint32_t ev)
{
    return __atomic_fetch_and(&s->events, ~ev, __ATOMIC_ACQ_REL) & ev;
}

bool apic_take_nmi(LocalApic *s)
{
    return apic_take_event(s, APIC_EVENT_NMI);
}

bool apic_take_init(LocalApic *s)
{
    return apic_take_event(s, APIC_EVENT_INIT);
}

int apic_take_sipi(LocalApic *s)
{
    return apic_take_event(s, APIC_EVENT_SIPI) ? s->sipi_vector : -1;
}

/* --- the bus ---------------------------------------------------------------- */

static bool apic_match(const LocalApic *s, const ApicMessage *m)
{
    switch (m->shorthand) {
    case APIC_SH_SELF:
        return s->index == m->source;
    case APIC_SH_ALL:
        return true;
    case APIC_SH_OTHERS:
        return s->index != m->source;
    }
    if (!m->logical) {
        return m->dest == 0xff || m->dest == s->id;
    }
    switch (s->dfr_model) {
    case 0xf:       /* flat: 8-bit mask against the logical ID */
        return (m->dest & s->ldr) != 0;
    case 0x0:       /* cluster: cluster 4 bits (15 = all), member bit mask */
        return ((m->dest >> 4) == 0xf || (m->dest >> 4) == (s->ldr >> 4)) &&
               (m->dest & s->ldr & 0xf) != 0;
    }
    return false;
}

static LocalApic *apic_lowest_priority(ApicBus *bus, LocalApic **t, int n, int vector)
{
    LocalApic *best = NULL;

    for (int i = 0; i < n; i++) {
        LocalApic *s = t[i];
        if (apic_sw_enabled(s) && !(s->svr & APIC_SVR_FOCUS_DISABLE) &&
            (vec_test(s->irr, vector) || vec_test(s->isr, vector))) {
            return s;           /* the focus processor */
        }
    }
    for (int k = 0; k < bus->ncpus; k++) {
        int idx = (bus->lowest_next + k) % bus->ncpus;
        for (int i = 0; i < n; i++) {
            LocalApic *s = t[i];
            if (s->index == idx && apic_sw_enabled(s) &&
                (!best || apic_apr(s) < apic_apr(best))) {
                best = s;
            }
        }
    }
    if (best) {
        bus->lowest_next = (best->index + 1) % bus->ncpus;
    }
    return best;
}

int apic_bus_deliver(ApicBus *bus, const ApicMessage *m)
{
    LocalApic *t[APIC_MAX_CPUS];
    int n = 0, accepted = 0;

    for (int i = 0; i < bus->ncpus; i++) {
        LocalApic *s = bus->cpu[i];
        if (s && apic_hw_enabled(s) && apic_match(s, m)) {
            t[n++] = s;
        }
    }
    switch (m->delivery) {
    case APIC_DM_FIXED:
        for (int i = 0; i < n; i++) {
            if (apic_sw_enabled(t[i]) && apic_accept_fixed(t[i], m->vector, m->level_trigger)) {
                accepted++;
            }
        }
        break;
    case APIC_DM_LOWEST: {
        LocalApic *s = apic_lowest_priority(bus, t, n, m->vector);
        if (s && apic_accept_fixed(s, m->vector, m->level_trigger)) {
            accepted++;
        }
        break;
    }
    case APIC_DM_NMI:
        for (int i = 0; i < n; i++) {
            apic_raise_event(t[i], APIC_EVENT_NMI);
            accepted++;
        }
        break;
    case APIC_DM_INIT:
        if (m->level_trigger && !m->assert) {
            break;              /* INIT level de-assert: no effect here */
        }
        for (int i = 0; i < n; i++) {
            LocalApic *s = t[i];
            __atomic_and_fetch(&s->events, ~(APIC_EVENT_NMI | APIC_EVENT_SIPI), __ATOMIC_RELEASE);
            apic_init_state(s);
            apic_raise_event(s, APIC_EVENT_INIT);
            accepted++;
        }
        break;
    case APIC_DM_STARTUP:
        for (int i = 0; i < n; i++) {
            t[i]->sipi_vector = m->vector;
            apic_raise_event(t[i], APIC_EVENT_SIPI);
            accepted++;
        }
        break;
    case APIC_DM_EXTINT:
        for (int i = 0; i < n; i++) {
            if (apic_sw_enabled(t[i])) {
                t[i]->extint_pending = true;
                apic_update_intr(t[i]);
                accepted++;
            }
        }
        break;
    default:                    /* SMI (no SMM), reserved modes */
        break;
    }
    return accepted;
}

ApicBus *apic_bus_new(AddressSpace *as)
{
    ApicBus *bus = g_new0(ApicBus, 1);
    bus->as = as;
    return bus;
}

void apic_bus_free(ApicBus *bus)
{
    if (!bus) {
        return;
    }
    for (int i = 0; i < bus->ncpus; i++) {
        LocalApic *s = bus->cpu[i];
        if (!s) {
            continue;
        }
        if (apic_hw_enabled(s)) {
            apic_window_put(bus, apic_base_addr(s));
        }
        vtimer_free(s->timer);
        g_free(s);
    }
    g_free(bus);
}

void apic_bus_set_hooks(ApicBus *bus, const ApicCpuHooks *hooks)
{
    bus->hooks = hooks ? *hooks : (ApicCpuHooks){0};
}

void apic_bus_set_eoi_handler(ApicBus *bus, void (*fn)(void *opaque, uint8_t vector),
                              void *opaque)
{
    bus->eoi = fn;
    bus->eoi_opaque = opaque;
}

void apic_bus_set_extint(ApicBus *bus, int (*ack)(void *opaque), void *opaque)
{
    bus->extint_ack = ack;
    bus->extint_opaque = opaque;
}

LocalApic *apic_bus_cpu(ApicBus *bus, int cpu)
{
    return cpu >= 0 && cpu < bus->ncpus ? bus->cpu[cpu] : NULL;
}

int apic_bus_ncpus(const ApicBus *bus)
{
    return bus->ncpus;
}

LocalApic *apic_new(ApicBus *bus, int index, IrqLine *intr_out)
{
    if (index < 0 || index >= APIC_MAX_CPUS || (index < bus->ncpus && bus->cpu[index])) {
        return NULL;
    }
    LocalApic *s = g_new0(LocalApic, 1);
    s->index = index;
    s->bus = bus;
    s->intr_out = intr_out;
    s->timer = vtimer_new(apic_timer_expired, s);
    s->tsc_deadline_ns = -1;
    uint64_t msr = APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (index == 0 ? APIC_BASE_BSP : 0);
    if (apic_window_get(bus, APIC_DEFAULT_BASE) < 0) {
        vtimer_free(s->timer);
        g_free(s);
        return NULL;
    }
    s->base_msr = msr;
    bus->cpu[index] = s;
    if (index >= bus->ncpus) {
        bus->ncpus = index + 1;
    }
    apic_reset(s);
    return s;
}

/* --- suspend/resume --------------------------------------------------------- */

/* The APIC page follows IA32_APIC_BASE: give it up before the saved value
 * is stored, take it again after. */
static void apic_pre_load(void *opaque)
{
    LocalApic *s = opaque;
    if (apic_hw_enabled(s)) {
        apic_window_put(s->bus, apic_base_addr(s));
    }
    s->base_msr &= ~APIC_BASE_ENABLE;
}

static int apic_post_load(void *opaque, uint32_t version, GError **errp)
{
    LocalApic *s = opaque;
    const int64_t far = INT64_C(1) << 62;
    uint64_t msr = s->base_msr;

    if (s->timer_load_ns <= -far || s->timer_load_ns >= far ||
        s->tsc_deadline_ns < -1 || s->tsc_deadline_ns >= far) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "timer out of range");
        return -1;
    }
    s->base_msr = msr & ~APIC_BASE_ENABLE;
    apic_set_mapping(s, msr);
    if ((msr & APIC_BASE_ENABLE) && !apic_hw_enabled(s)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "cannot map the APIC page at 0x%" PRIx64, (uint64_t)(msr & APIC_BASE_ADDR_MASK));
        return -1;
    }
    s->events &= APIC_EVENT_NMI | APIC_EVENT_INIT | APIC_EVENT_SIPI;
    apic_update_intr(s);
    return 0;
}

const VMStateDescription apic_vmstate = {
    .name = "apic",
    .version = 1,
    .pre_load = apic_pre_load,
    .post_load = apic_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_UINT64(LocalApic, base_msr),
        VMSTATE_UINT8(LocalApic, id),
        VMSTATE_UINT8(LocalApic, tpr),
        VMSTATE_UINT8(LocalApic, ldr),
        VMSTATE_UINT8(LocalApic, dfr_model),
        VMSTATE_UINT32(LocalApic, svr),
        VMSTATE_UINT32(LocalApic, esr),
        VMSTATE_UINT32(LocalApic, esr_pending),
        VMSTATE_UINT32(LocalApic, icr_lo),
        VMSTATE_UINT32(LocalApic, icr_hi),
        VMSTATE_UINT32_ARRAY(LocalApic, lvt, APIC_NUM_LVT),
        VMSTATE_UINT32_ARRAY(LocalApic, irr, 8),
        VMSTATE_UINT32_ARRAY(LocalApic, isr, 8),
        VMSTATE_UINT32_ARRAY(LocalApic, tmr, 8),
        VMSTATE_UINT32(LocalApic, timer_initial),
        VMSTATE_UINT32(LocalApic, timer_dcr),
        VMSTATE_INT64(LocalApic, timer_load_ns),
        VMSTATE_UINT64(LocalApic, tsc_deadline),
        VMSTATE_INT64(LocalApic, tsc_deadline_ns),
        VMSTATE_BOOL_ARRAY(LocalApic, lint_level, 2),
        VMSTATE_BOOL(LocalApic, extint_pending),
        VMSTATE_UINT8(LocalApic, sipi_vector),
        VMSTATE_UINT32(LocalApic, events),
        VMSTATE_VTIMER(LocalApic, timer),
        VMSTATE_END
    },
};

void apic_bus_reset(ApicBus *bus)
{
    for (int i = 0; i < bus->ncpus; i++) {
        if (bus->cpu[i]) {
            apic_reset(bus->cpu[i]);
        }
    }
}

void apic_set_current_cpu(int cpu)
{
    current_cpu = cpu;
}

int apic_current_cpu(void)
{
    return current_cpu;
}
