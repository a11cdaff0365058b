/*
 * The local APIC of each processor, in xAPIC (memory-mapped) mode, and the
 * APIC bus that carries interrupt messages between local APICs and the
 * IOAPIC.  Reference: Intel 64 and IA-32 Architectures Software Developer's
 * Manual, vol. 3A, chapter "Advanced Programmable Interrupt Controller
 * (APIC)" (chapter 10 in the editions up to 2021, 11 after): register map
 * (table 10-1), LVT (10.5.1), ESR (10.5.3), timer (10.5.4, TSC-deadline
 * 10.5.4.1), ICR and IPIs (10.6), destinations (10.6.2), priorities, IRR/ISR
 * and EOI (10.8), spurious interrupt (10.9), reset states (10.4.7).
 * hw/apic.c describes the model and its choices.
 *
 * The model in short:
 *   - version 0x14 (an integrated xAPIC), 6 LVT entries (timer, thermal,
 *     performance counter, LINT0, LINT1, error; no CMCI): the version
 *     register reads 0x00050014.  x2APIC is not offered (IA32_APIC_BASE
 *     bit 10 is reserved).
 *   - the timer counts at APIC_BUS_HZ divided by the divide configuration;
 *     the TSC runs at PC_TSC_HZ; both follow the virtual clock (timer.h).
 *   - the APIC ID of CPU n is n after reset; CPU 0 is the BSP.
 *
 * ======================================================================
 * What the CPU emulator (target-i386, accel/emu.c) calls
 * ======================================================================
 * Locking: everything below runs under the big lock, except reading the
 * bool behind pc_cpu_intr_line() and apic_pending_events(), which are
 * lock-free.
 *
 *   Per vCPU thread, once before it runs guest code (and again whenever one
 *   thread switches to running another vCPU):
 *       apic_set_current_cpu(cpu);     -- MMIO at the APIC page then reaches
 *                                         this CPU's own local APIC
 *
 *   Interrupts (INTR), for X86CPUBus.intr_line and X86CPUBus.intack:
 *       const volatile bool *pc_cpu_intr_line(m, cpu);   -- level, lock-free
 *       bool pc_cpu_interrupt_pending(m, cpu);           -- same, as a call
 *       int  pc_cpu_interrupt_ack(m, cpu);               -- when EFLAGS.IF=1
 *            and no interrupt shadow: the vector to deliver through the IDT
 *            (an APIC vector moved IRR->ISR, the 8259's vector for ExtINT /
 *            virtual wire, or the spurious vector); -1 only when the machine
 *            has no interrupt controller.
 *   NMI, INIT, SIPI (events; bits APIC_EVENT_*):
 *       uint32_t apic_pending_events(apic);   -- lock-free peek
 *       bool apic_take_nmi(apic);    -- true once per NMI; take it when NMIs
 *                                       are not blocked (the CPU tracks the
 *                                       NMI-blocked state until IRET)
 *       bool apic_take_init(apic);   -- INIT: reset the processor; an AP
 *                                       then waits for SIPI, the BSP starts
 *                                       at the reset vector.  The local APIC
 *                                       has already reset itself.
 *       int  apic_take_sipi(apic);   -- vector (0-255) or -1; act on it only
 *                                       in the wait-for-SIPI state: CS =
 *                                       vector << 8, base vector << 12, IP 0.
 *       void pc_cpu_set_hooks(m, &hooks);  -- kick / init / sipi callbacks
 *            into the accelerator (wake a halted vCPU, start an AP thread);
 *            called after the event bit is set.
 *   Registers:
 *       LocalApic *pc_cpu_apic(m, cpu);
 *       uint64_t apic_get_base_msr(apic);              -- RDMSR 0x1b
 *       int apic_set_base_msr(apic, value);            -- WRMSR 0x1b, <0: #GP
 *       uint8_t apic_get_tpr(apic) / apic_set_tpr(apic, tpr)
 *            -- the 8-bit TPR; CR8 (64-bit mode only) is TPR >> 4
 *       uint64_t apic_read_tsc_deadline(apic);         -- RDMSR 0x6e0
 *       void apic_write_tsc_deadline(apic, value, tsc_now)  -- WRMSR 0x6e0
 *            (tsc_now: what RDTSC would return now)
 *       bool apic_hw_enabled(apic)  -- CPUID.01H:EDX.APIC[9] follows it
 *   The TSC: RDTSC = pc_tsc_from_ns(vclock_ns()) + the CPU's own offset
 *   (WRMSR 0x10 changes the offset).  CPUID.01H:EBX[31:24] = initial APIC
 *   ID = cpu index; CPUID.01H:ECX[24] (TSC-deadline) may be advertised.
 *
 * Under KVM with its in-kernel irqchip these models stay idle.  With
 * -userspace-irqchip, KVM's vCPU 0 uses m->intr_pending / m->intack, which
 * are CPU 0's INTR line and pc_cpu_interrupt_ack(m, 0).
 */
#ifndef VMKEMU_HW_APIC_H
#define VMKEMU_HW_APIC_H

#include <stdbool.h>
#include <stdint.h>
#include "irq.h"
#include "memory.h"
#include "timer.h"

typedef struct Machine Machine;

#define APIC_DEFAULT_BASE       0xfee00000ULL
#define APIC_MMIO_SIZE          0x1000
#define APIC_MAX_CPUS           64

/* The bus clock the timer divides: 100 MHz, 10 ns per tick at divide 1. */
#define APIC_BUS_HZ             100000000LL
#define APIC_BUS_TICK_NS        (NS_PER_SEC / APIC_BUS_HZ)
/* A periodic timer never fires more often than this (a guest programming a
 * period of a few ticks would otherwise flood the main loop); interrupts of
 * shorter periods coalesce.  The current-count register is not affected. */
#define APIC_TIMER_MIN_PERIOD_NS  10000LL

/* The TSC: 2 GHz on the virtual clock. */
#define PC_TSC_HZ               2000000000LL

static inline uint64_t pc_tsc_from_ns(int64_t ns)
{
    return (uint64_t)((unsigned __int128)(uint64_t)ns * PC_TSC_HZ / NS_PER_SEC);
}

/* Nanoseconds for `ticks` TSC ticks, rounded up (the first virtual time at
 * which the TSC has advanced by at least `ticks`). */
static inline uint64_t pc_ns_from_tsc(uint64_t ticks)
{
    return (uint64_t)(((unsigned __int128)ticks * NS_PER_SEC + PC_TSC_HZ - 1) / PC_TSC_HZ);
}

/* Version register: version 0x14, Max LVT Entry 5 (6 entries). */
#define APIC_VERSION            0x14
#define APIC_NUM_LVT            6
#define APIC_VERSION_VALUE      (((APIC_NUM_LVT - 1) << 16) | APIC_VERSION)

/* Register offsets in the APIC page (SDM table 10-1). */
#define APIC_REG_ID         0x020
#define APIC_REG_VERSION    0x030
#define APIC_REG_TPR        0x080
#define APIC_REG_APR        0x090
#define APIC_REG_PPR        0x0a0
#define APIC_REG_EOI        0x0b0
#define APIC_REG_RRD        0x0c0
#define APIC_REG_LDR        0x0d0
#define APIC_REG_DFR        0x0e0
#define APIC_REG_SVR        0x0f0
#define APIC_REG_ISR        0x100   /* 8 registers, 0x10 apart */
#define APIC_REG_TMR        0x180
#define APIC_REG_IRR        0x200
#define APIC_REG_ESR        0x280
#define APIC_REG_ICR_LO     0x300
#define APIC_REG_ICR_HI     0x310
#define APIC_REG_LVT_TIMER  0x320
#define APIC_REG_LVT_THERMAL 0x330
#define APIC_REG_LVT_PERF   0x340
#define APIC_REG_LVT_LINT0  0x350
#define APIC_REG_LVT_LINT1  0x360
#define APIC_REG_LVT_ERROR  0x370
#define APIC_REG_TIMER_ICR  0x380   /* initial count */
#define APIC_REG_TIMER_CCR  0x390   /* current count */
#define APIC_REG_TIMER_DCR  0x3e0   /* divide configuration */

/* LVT indexes: register = APIC_REG_LVT_TIMER + 0x10 * index. */
enum {
    APIC_LVT_TIMER, APIC_LVT_THERMAL, APIC_LVT_PERF,
    APIC_LVT_LINT0, APIC_LVT_LINT1, APIC_LVT_ERROR,
};

/* LVT and ICR fields. */
#define APIC_VECTOR_MASK        0xffu
#define APIC_DM_SHIFT           8
#define APIC_DELIVERY_PENDING   (1u << 12)
#define APIC_LVT_POLARITY_LOW   (1u << 13)
#define APIC_LVT_REMOTE_IRR     (1u << 14)
#define APIC_LVT_LEVEL          (1u << 15)
#define APIC_LVT_MASKED         (1u << 16)
#define APIC_LVT_TIMER_SHIFT    17          /* bits 18:17 */
enum { APIC_TIMER_ONESHOT, APIC_TIMER_PERIODIC, APIC_TIMER_TSC_DEADLINE };

#define APIC_ICR_LOGICAL        (1u << 11)
#define APIC_ICR_ASSERT         (1u << 14)
#define APIC_ICR_LEVEL          (1u << 15)
#define APIC_ICR_SH_SHIFT       18

/* Delivery modes (LVT, ICR, IOAPIC redirection entries). */
enum {
    APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2,
    APIC_DM_NMI = 4, APIC_DM_INIT = 5, APIC_DM_STARTUP = 6, APIC_DM_EXTINT = 7,
};
/* Destination shorthands (ICR bits 19:18). */
enum { APIC_SH_NONE, APIC_SH_SELF, APIC_SH_ALL, APIC_SH_OTHERS };

/* Spurious-interrupt vector register. */
#define APIC_SVR_ENABLE         (1u << 8)
#define APIC_SVR_FOCUS_DISABLE  (1u << 9)

/* Error status register bits (xAPIC of the Pentium 4 and later). */
#define APIC_ESR_SEND_ILLEGAL   (1u << 5)
#define APIC_ESR_RECV_ILLEGAL   (1u << 6)
#define APIC_ESR_ILLEGAL_REG    (1u << 7)

/* IA32_APIC_BASE (MSR 0x1b). */
#define APIC_MSR_BASE           0x1b
#define APIC_MSR_TSC_DEADLINE   0x6e0
#define APIC_BASE_BSP           (1ULL << 8)
#define APIC_BASE_ENABLE        (1ULL << 11)
#define APIC_BASE_ADDR_MASK     0xffffff000ULL      /* 36 physical address bits */

/* Events for the CPU (LocalApic.events). */
#define APIC_EVENT_NMI          (1u << 0)
#define APIC_EVENT_INIT         (1u << 1)
#define APIC_EVENT_SIPI         (1u << 2)

typedef struct ApicBus ApicBus;

/* One local APIC.  Guest-visible state is in plain fields (the suspend
 * table); the wiring follows. */
typedef struct LocalApic {
    uint64_t base_msr;          /* IA32_APIC_BASE */
    uint8_t id;                 /* APIC ID (register bits 31:24) */
    uint8_t tpr;
    uint8_t ldr;                /* logical APIC ID (LDR bits 31:24) */
    uint8_t dfr_model;          /* DFR bits 31:28: 0xf flat, 0x0 cluster */
    uint32_t svr;
    uint32_t esr;               /* as latched by the last ESR write */
    uint32_t esr_pending;       /* errors detected since that write */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[APIC_NUM_LVT];
    uint32_t irr[8], isr[8], tmr[8];    /* 256 bits each, vector v in word v/32 */
    uint32_t timer_initial;     /* initial-count register */
    uint32_t timer_dcr;         /* divide configuration register */
    int64_t timer_load_ns;      /* virtual time the count was last loaded */
    uint64_t tsc_deadline;      /* IA32_TSC_DEADLINE, 0 = disarmed */
    int64_t tsc_deadline_ns;    /* virtual time it expires, -1 = none */
    bool lint_level[2];         /* electrical level of the LINT0/LINT1 pins */
    bool extint_pending;        /* an ExtINT message awaits its INTA */
    uint8_t sipi_vector;
    volatile uint32_t events;   /* APIC_EVENT_* not yet taken by the CPU */
    volatile bool intr_level;   /* the CPU's INTR: a maskable interrupt waits */

    /* Wiring. */
    int index;                  /* CPU number */
    ApicBus *bus;
    VTimer *timer;
    IrqLine *intr_out;          /* follows intr_level (may be NULL) */
} LocalApic;

/* Callbacks into the accelerator, called after the matching event bit or
 * INTR level was set (under the big lock).  NULL members do nothing. */
typedef struct ApicCpuHooks {
    void *opaque;
    void (*kick)(void *opaque, int cpu);     /* INTR rose or an event came */
    void (*init)(void *opaque, int cpu);     /* INIT arrived */
    void (*sipi)(void *opaque, int cpu, uint8_t vector);
} ApicCpuHooks;

/* An interrupt message on the APIC bus (from an ICR write, an IOAPIC
 * redirection entry). */
typedef struct ApicMessage {
    uint8_t vector;
    uint8_t delivery;           /* APIC_DM_* */
    bool logical;               /* destination mode */
    bool level_trigger;         /* trigger mode: true = level */
    bool assert;                /* level bit: false only for INIT de-assert */
    uint8_t shorthand;          /* APIC_SH_* (IPIs only) */
    uint8_t dest;               /* physical APIC ID or logical MDA */
    int source;                 /* sending CPU for shorthands; -1 = IOAPIC */
} ApicMessage;

/* The bus of the machine's local APICs; maps the APIC page(s) on `as`. */
ApicBus *apic_bus_new(AddressSpace *as);
void apic_bus_free(ApicBus *bus);       /* frees the local APICs too */
void apic_bus_set_hooks(ApicBus *bus, const ApicCpuHooks *hooks);
/* Level-triggered EOIs are broadcast to `fn` (the IOAPIC). */
void apic_bus_set_eoi_handler(ApicBus *bus, void (*fn)(void *opaque, uint8_t vector),
                              void *opaque);
/* The INTA cycle of the external (8259) controller, for ExtINT. */
void apic_bus_set_extint(ApicBus *bus, int (*ack)(void *opaque), void *opaque);
/* Deliver a message; returns how many local APICs accepted it. */
int apic_bus_deliver(ApicBus *bus, const ApicMessage *msg);
LocalApic *apic_bus_cpu(ApicBus *bus, int cpu);
int apic_bus_ncpus(const ApicBus *bus);

/* Add CPU `index` (0 = BSP) to the bus, in its power-on state; NULL when
 * the APIC page cannot be mapped or the CPU exists.  `intr_out` (may be
 * NULL) follows the CPU's INTR level. */
LocalApic *apic_new(ApicBus *bus, int index, IrqLine *intr_out);
/* Power-on reset (IA32_APIC_BASE back to the default, enabled). */
void apic_reset(LocalApic *s);
/* Reset all local APICs of the bus. */
void apic_bus_reset(ApicBus *bus);

/* Which CPU the calling thread runs (MMIO to the APIC page reaches that
 * CPU's APIC); thread-local, 0 until set. */
void apic_set_current_cpu(int cpu);
int apic_current_cpu(void);

/* Level of the LINT0/LINT1 pins (LINT0: the 8259's INTR, LINT1: NMI). */
void apic_set_lint(LocalApic *s, int pin, int level);
/* Raise a local interrupt of an LVT entry (thermal, performance counter)
 * as its hardware source would. */
void apic_local_interrupt(LocalApic *s, int lvt);

/* CPU side (see the top of this file). */
bool apic_has_interrupt(const LocalApic *s);
int apic_get_interrupt(LocalApic *s);
uint32_t apic_pending_events(const LocalApic *s);
bool apic_take_nmi(LocalApic *s);
bool apic_take_init(LocalApic *s);
int apic_take_sipi(LocalApic *s);
uint64_t apic_get_base_msr(const LocalApic *s);
int apic_set_base_msr(LocalApic *s, uint64_t value);
uint8_t apic_get_tpr(const LocalApic *s);
void apic_set_tpr(LocalApic *s, uint8_t tpr);
uint64_t apic_read_tsc_deadline(const LocalApic *s);
void apic_write_tsc_deadline(LocalApic *s, uint64_t value, uint64_t tsc_now);
bool apic_hw_enabled(const LocalApic *s);
bool apic_sw_enabled(const LocalApic *s);

/* Register access without going through the address space (monitor,
 * tests); `reg` is the offset in the APIC page. */
uint32_t apic_reg_read(LocalApic *s, uint32_t reg);
void apic_reg_write(LocalApic *s, uint32_t reg, uint32_t value);

/* One local APIC's state for suspend/resume (include/vmstate.h). */
extern const struct VMStateDescription apic_vmstate;

/* --- the PC's wiring (hw/pc-irqchip.c) ----------------------------------- */
LocalApic *pc_cpu_apic(Machine *m, int cpu);
const volatile bool *pc_cpu_intr_line(Machine *m, int cpu);
bool pc_cpu_interrupt_pending(Machine *m, int cpu);
int pc_cpu_interrupt_ack(Machine *m, int cpu);
void pc_cpu_set_hooks(Machine *m, const ApicCpuHooks *hooks);

#endif
