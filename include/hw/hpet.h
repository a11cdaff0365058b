/*
 * The High Precision Event Timer: a 64-bit main counter and three timers
 * with comparators, memory-mapped at 0xfed00000.
 * Reference: IA-PC HPET (High Precision Event Timers) Specification,
 * revision 1.0a (Intel, October 2004): 2.3 register map and fields, 2.3.9
 * timer modes, 2.3.10 interrupt routing (legacy replacement), 3.2.4 the
 * ACPI "HPET" description table.  hw/hpet.c describes the model.
 */
#ifndef VMKEMU_HW_HPET_H
#define VMKEMU_HW_HPET_H

#include <stdbool.h>
#include <stdint.h>
#include "irq.h"
#include "memory.h"
#include "timer.h"

#define HPET_DEFAULT_BASE   0xfed00000ULL
#define HPET_MMIO_SIZE      0x400       /* 1 KiB of registers */
#define HPET_NUM_TIMERS     3
/* The main counter runs at 100 MHz of virtual time: 10 ns per tick. */
#define HPET_TICK_NS        10
#define HPET_PERIOD_FS      (HPET_TICK_NS * 1000000ULL)
#define HPET_VENDOR_ID      0x8086
#define HPET_REV_ID         0x01
/* A periodic timer is never re-armed on the host more often than this;
 * shorter periods coalesce (the counter and comparators are not affected). */
#define HPET_MIN_PERIOD_NS  10000LL

/* Register offsets (2.3.1). */
#define HPET_REG_CAP        0x000       /* General Capabilities and ID */
#define HPET_REG_CONFIG     0x010       /* General Configuration */
#define HPET_REG_ISR        0x020       /* General Interrupt Status */
#define HPET_REG_COUNTER    0x0f0       /* Main Counter Value */
#define HPET_REG_TIMER_CFG(n) (0x100 + 0x20 * (n))  /* Tn Config and Capability */
#define HPET_REG_TIMER_CMP(n) (0x108 + 0x20 * (n))  /* Tn Comparator Value */
#define HPET_REG_TIMER_FSB(n) (0x110 + 0x20 * (n))  /* Tn FSB Interrupt Route */

/* General Capabilities and ID (2.3.4). */
#define HPET_CAP_NUM_TIM_SHIFT  8
#define HPET_CAP_COUNT_SIZE     (1ULL << 13)    /* 64-bit main counter */
#define HPET_CAP_LEG_RT         (1ULL << 15)    /* legacy replacement route */
#define HPET_CAP_VENDOR_SHIFT   16
#define HPET_CAP_PERIOD_SHIFT   32

/* General Configuration (2.3.5). */
#define HPET_CFG_ENABLE         (1ULL << 0)
#define HPET_CFG_LEGACY         (1ULL << 1)

/* Timer N Configuration and Capability (2.3.8). */
#define HPET_TN_LEVEL           (1ULL << 1)     /* Tn_INT_TYPE_CNF */
#define HPET_TN_INT_ENABLE      (1ULL << 2)     /* Tn_INT_ENB_CNF */
#define HPET_TN_PERIODIC        (1ULL << 3)     /* Tn_TYPE_CNF */
#define HPET_TN_PERIODIC_CAP    (1ULL << 4)     /* Tn_PER_INT_CAP */
#define HPET_TN_SIZE_CAP        (1ULL << 5)     /* 64-bit comparator */
#define HPET_TN_SETVAL          (1ULL << 6)     /* Tn_VAL_SET_CNF */
#define HPET_TN_32BIT           (1ULL << 8)     /* Tn_32MODE_CNF */
#define HPET_TN_ROUTE_SHIFT     9               /* Tn_INT_ROUTE_CNF, 5 bits */
#define HPET_TN_ROUTE_MASK      (0x1fULL << HPET_TN_ROUTE_SHIFT)
#define HPET_TN_FSB_ENABLE      (1ULL << 14)
#define HPET_TN_FSB_CAP         (1ULL << 15)
#define HPET_TN_ROUTE_CAP_SHIFT 32              /* Tn_INT_ROUTE_CAP */

/* Which IOAPIC inputs the timers may be routed to (Tn_INT_ROUTE_CAP):
 * 20-23, which the PC's PCI devices leave free (their PIRQs are 16-19). */
#define HPET_ROUTE_CAP          0x00f00000u

/* Interrupt outputs: IOAPIC input n (0-31) is output n; the legacy
 * replacement routes are two more. */
#define HPET_OUT_IOAPIC(n)      (n)
#define HPET_OUT_LEGACY_IRQ0    32      /* timer 0: 8259 IRQ0, IOAPIC input 2 */
#define HPET_OUT_LEGACY_IRQ8    33      /* timer 1: 8259 IRQ8, IOAPIC input 8 */
#define HPET_NUM_OUTPUTS        34

typedef struct Hpet Hpet;

typedef struct HpetTimer {
    /* Guest-visible state. */
    uint64_t config;            /* the writable bits of Tn_CONF */
    uint64_t cmp;               /* comparator (in 32-bit mode: 32 bits) */
    uint64_t period;            /* periodic mode: the last value written */

    /* Derived, not saved: the absolute main-counter value of the next
     * match the host timer is armed for. */
    uint64_t next_tick;
    bool armed;

    /* Wiring. */
    Hpet *hpet;
    int index;
    VTimer *timer;
} HpetTimer;

struct Hpet {
    /* Guest-visible state. */
    uint64_t config;            /* General Configuration */
    uint64_t isr;               /* General Interrupt Status */
    uint64_t counter;           /* main counter at counter_ns (or held) */
    int64_t counter_ns;         /* virtual time `counter` was taken */
    HpetTimer timer[HPET_NUM_TIMERS];
    uint64_t out_level;         /* outputs driven high, bit per output */

    /* Wiring. */
    AddressSpace *as;
    uint64_t base;
    IrqLine *out[HPET_NUM_OUTPUTS];     /* NULL: not connected */
    /* Legacy replacement route turned on or off (the PC then cuts the
     * PIT's IRQ0 and the RTC's IRQ8 off, or gives them back). */
    void (*legacy_changed)(void *opaque, bool on);
    void *legacy_opaque;
};

/* The HPET at `base` on `as`; NULL when the page is taken.  Outputs are
 * connected afterwards (hpet_connect). */
Hpet *hpet_new(AddressSpace *as, uint64_t base);
void hpet_free(Hpet *s);
void hpet_connect(Hpet *s, int output, IrqLine *line);
void hpet_set_legacy_hook(Hpet *s, void (*fn)(void *opaque, bool on), void *opaque);
/* Power-on reset: counter halted at 0, timers disabled, 64-bit mode. */
void hpet_reset(Hpet *s);
/* Is the legacy replacement route on (General Configuration bit 1)? */
bool hpet_legacy_replacement(const Hpet *s);
/* The main counter now. */
uint64_t hpet_counter(const Hpet *s);

/* Register access without the address space (tests, monitor): `reg` is
 * the offset of a 64-bit register, `mask` the bytes written. */
uint64_t hpet_reg_read(Hpet *s, uint32_t reg);
void hpet_reg_write(Hpet *s, uint32_t reg, uint64_t value, uint64_t mask);

/* The HPET's state for suspend/resume (include/vmstate.h). */
extern const struct VMStateDescription hpet_vmstate;

#endif
