/*
 * Register-level tests of the local APIC (hw/apic.c): two CPUs' APICs on
 * one bus, driven through the address space at 0xfee00000 as the guest
 * would, on the manual virtual clock.  Expected values follow the Intel
 * SDM vol. 3A APIC chapter (register layouts, reset values, PPR/APR
 * formulas, timer arithmetic at APIC_BUS_HZ and PC_TSC_HZ).
 */
#include <errno.h>
#include <glib.h>
#include "hw/apic.h"
#include "hw/i8259.h"

#define BASE    APIC_DEFAULT_BASE
#define T0      1000000LL

typedef struct Probe {
    int level;
    int rises;
} Probe;

static AddressSpace *as;
static ApicBus *bus;
static LocalApic *apic[2];
static IrqLine *intr0;
static Probe cpu0;
static int kicks[2], inits[2], sipis[2];
static int sipi_vec[2];
static int eoi_count, eoi_last;
static int extint_vector;       /* what the fake 8259 answers, -1 none */
static int extint_acks;

static void probe_set(void *opaque, int n, int level)
{
    Probe *p = opaque;
    if (level && !p->level) {
        p->rises++;
    }
    p->level = level;
}

static void hook_kick(void *opaque, int cpu)
{
    kicks[cpu]++;
}

static void hook_init(void *opaque, int cpu)
{
    inits[cpu]++;
}

static void hook_sipi(void *opaque, int cpu, uint8_t vector)
{
    sipis[cpu]++;
    sipi_vec[cpu] = vector;
}

static void eoi_handler(void *opaque, uint8_t vector)
{
    eoi_count++;
    eoi_last = vector;
}

static int fake_extint_ack(void *opaque)
{
    extint_acks++;
    return extint_vector;
}

static void setup(void)
{
    vclock_set_manual(T0);
    cpu0 = (Probe){0};
    memset(kicks, 0, sizeof(kicks));
    memset(inits, 0, sizeof(inits));
    memset(sipis, 0, sizeof(sipis));
    eoi_count = 0;
    eoi_last = -1;
    extint_vector = -1;
    extint_acks = 0;
    as = as_new();
    bus = apic_bus_new(as);
    apic_bus_set_hooks(bus, &(ApicCpuHooks){
        .kick = hook_kick, .init = hook_init, .sipi = hook_sipi });
    apic_bus_set_eoi_handler(bus, eoi_handler, NULL);
    apic_bus_set_extint(bus, fake_extint_ack, NULL);
    intr0 = irq_line_new(probe_set, &cpu0, 0);
    apic[0] = apic_new(bus, 0, intr0);
    apic[1] = apic_new(bus, 1, NULL);
    g_assert_nonnull(apic[0]);
    g_assert_nonnull(apic[1]);
    apic_set_current_cpu(0);
}

static void teardown(void)
{
    apic_bus_free(bus);
    irq_line_free(intr0);
    as_free(as);
    apic_set_current_cpu(0);
}

static uint32_t rd(int cpu, uint32_t reg)
{
    apic_set_current_cpu(cpu);
    return as_mmio_read(as, BASE + reg, 4);
}

static void wr(int cpu, uint32_t reg, uint32_t value)
{
    apic_set_current_cpu(cpu);
    as_mmio_write(as, BASE + reg, value, 4);
}

static bool vec_reg(int cpu, uint32_t first, int v)
{
    return (rd(cpu, first + (v / 32) * 0x10) >> (v % 32)) & 1;
}

static bool irr(int cpu, int v)
{
    return vec_reg(cpu, APIC_REG_IRR, v);
}

static bool isr(int cpu, int v)
{
    return vec_reg(cpu, APIC_REG_ISR, v);
}

static bool tmr(int cpu, int v)
{
    return vec_reg(cpu, APIC_REG_TMR, v);
}

static bool irr_empty(int cpu)
{
    for (int i = 0; i < 8; i++) {
        if (rd(cpu, APIC_REG_IRR + i * 0x10)) {
            return false;
        }
    }
    return true;
}

static void enable(int cpu, uint8_t spurious)
{
    wr(cpu, APIC_REG_SVR, APIC_SVR_ENABLE | spurious);
}

/* A fixed message as an IOAPIC would send it. */
static int send_fixed(uint8_t dest, uint8_t vector, bool level)
{
    ApicMessage m = { .vector = vector, .delivery = APIC_DM_FIXED,
                      .level_trigger = level, .assert = true, .dest = dest,
                      .source = -1 };
    return apic_bus_deliver(bus, &m);
}

/* ICR write from `cpu`: destination byte, then the low dword (sends). */
static void ipi(int cpu, uint8_t dest, uint32_t lo)
{
    wr(cpu, APIC_REG_ICR_HI, (uint32_t)dest << 24);
    wr(cpu, APIC_REG_ICR_LO, lo);
}

static uint32_t esr(int cpu)
{
    wr(cpu, APIC_REG_ESR, 0);
    return rd(cpu, APIC_REG_ESR);
}

/* --- reset and registers ---------------------------------------------------- */

static void check_reset_state(void)
{
    for (int c = 0; c < 2; c++) {
        g_assert_cmphex(rd(c, APIC_REG_ID), ==, (uint32_t)c << 24);
        g_assert_cmphex(rd(c, APIC_REG_VERSION), ==, 0x00050014);
        g_assert_cmphex(rd(c, APIC_REG_TPR), ==, 0);
        g_assert_cmphex(rd(c, APIC_REG_APR), ==, 0);
        g_assert_cmphex(rd(c, APIC_REG_PPR), ==, 0);
        g_assert_cmphex(rd(c, APIC_REG_LDR), ==, 0);
        g_assert_cmphex(rd(c, APIC_REG_DFR), ==, 0xffffffff);
        g_assert_cmphex(rd(c, APIC_REG_SVR), ==, 0xff);
        g_assert_cmphex(rd(c, APIC_REG_ESR), ==, 0);
        g_assert_cmphex(rd(c, APIC_REG_ICR_LO), ==, 0);
        g_assert_cmphex(rd(c, APIC_REG_ICR_HI), ==, 0);
        g_assert_cmphex(rd(c, APIC_REG_LVT_TIMER), ==, 0x10000);
        g_assert_cmphex(rd(c, APIC_REG_LVT_THERMAL), ==, 0x10000);
        g_assert_cmphex(rd(c, APIC_REG_LVT_PERF), ==, 0x10000);
        g_assert_cmphex(rd(c, APIC_REG_LVT_LINT1), ==, 0x10000);
        g_assert_cmphex(rd(c, APIC_REG_LVT_ERROR), ==, 0x10000);
        g_assert_cmphex(rd(c, APIC_REG_TIMER_ICR), ==, 0);
        g_assert_cmphex(rd(c, APIC_REG_TIMER_CCR), ==, 0);
        g_assert_cmphex(rd(c, APIC_REG_TIMER_DCR), ==, 0);
        for (int i = 0; i < 8; i++) {
            g_assert_cmphex(rd(c, APIC_REG_ISR + i * 0x10), ==, 0);
            g_assert_cmphex(rd(c, APIC_REG_TMR + i * 0x10), ==, 0);
            g_assert_cmphex(rd(c, APIC_REG_IRR + i * 0x10), ==, 0);
        }
        g_assert_cmphex(apic_pending_events(apic[c]), ==, 0);
        g_assert_false(apic[c]->intr_level);
    }
    /* The BSP's LINT0 is in virtual-wire ExtINT mode; the AP's is masked. */
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT0), ==, 0x700);
    g_assert_cmphex(rd(1, APIC_REG_LVT_LINT0), ==, 0x10000);
    g_assert_cmphex(apic_get_base_msr(apic[0]), ==, 0xfee00900);
    g_assert_cmphex(apic_get_base_msr(apic[1]), ==, 0xfee00800);
}

static void test_reset(void)
{
    setup();
    check_reset_state();
    /* Dirty everything, then reset. */
    for (int c = 0; c < 2; c++) {
        enable(c, 0xe7);
        wr(c, APIC_REG_TPR, 0x45);
        wr(c, APIC_REG_LDR, 0x80000000);
        wr(c, APIC_REG_DFR, 0x0fffffff);
        wr(c, APIC_REG_LVT_TIMER, 0x20033);
        wr(c, APIC_REG_TIMER_DCR, 0xb);
        wr(c, APIC_REG_TIMER_ICR, 5000);
        wr(c, APIC_REG_ID, 0x30000000);
        wr(c, 0x3a0, 0);    /* an illegal register: an ESR bit */
        wr(c, APIC_REG_ESR, 0);
    }
    send_fixed(0x30, 0x60, true);
    g_assert_true(irr(0, 0x60));
    apic_set_base_msr(apic[1], 0xfed00000 | APIC_BASE_ENABLE);
    apic_reset(apic[0]);
    apic_reset(apic[1]);
    check_reset_state();
    /* The timer was stopped: nothing arrives later. */
    vclock_advance(1000000);
    g_assert_true(irr_empty(0));
    g_assert_true(irr_empty(1));
    teardown();
}

static void test_register_masks(void)
{
    setup();
    enable(0, 0xff);
    wr(0, APIC_REG_ID, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_ID), ==, 0xff000000);
    wr(0, APIC_REG_ID, 0);
    wr(0, APIC_REG_VERSION, 0);
    g_assert_cmphex(rd(0, APIC_REG_VERSION), ==, 0x00050014);
    wr(0, APIC_REG_TPR, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_TPR), ==, 0xff);
    wr(0, APIC_REG_TPR, 0);
    wr(0, APIC_REG_PPR, 0x50);
    g_assert_cmphex(rd(0, APIC_REG_PPR), ==, 0);
    wr(0, APIC_REG_LDR, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_LDR), ==, 0xff000000);
    wr(0, APIC_REG_DFR, 0);
    g_assert_cmphex(rd(0, APIC_REG_DFR), ==, 0x0fffffff);
    wr(0, APIC_REG_DFR, 0xf0000000);
    g_assert_cmphex(rd(0, APIC_REG_DFR), ==, 0xffffffff);
    wr(0, APIC_REG_SVR, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_SVR), ==, 0x3ff);
    wr(0, APIC_REG_LVT_TIMER, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_LVT_TIMER), ==, 0x000700ff);
    wr(0, APIC_REG_LVT_THERMAL, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_LVT_THERMAL), ==, 0x000107ff);
    wr(0, APIC_REG_LVT_PERF, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_LVT_PERF), ==, 0x000107ff);
    wr(0, APIC_REG_LVT_LINT0, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT0), ==, 0x0001a7ff);
    wr(0, APIC_REG_LVT_LINT1, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT1), ==, 0x0001a7ff);
    wr(0, APIC_REG_LVT_ERROR, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_LVT_ERROR), ==, 0x000100ff);
    wr(0, APIC_REG_TIMER_DCR, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_TIMER_DCR), ==, 0xb);
    wr(0, APIC_REG_ICR_HI, 0xffffffff);
    g_assert_cmphex(rd(0, APIC_REG_ICR_HI), ==, 0xff000000);
    wr(0, APIC_REG_TIMER_CCR, 1234);
    g_assert_cmphex(rd(0, APIC_REG_TIMER_CCR), ==, 0);

    /* Narrow reads see the bytes of the register; the rest of a 16-byte
     * slot reads 0; a 64-bit read is two dwords. */
    apic_set_current_cpu(0);
    g_assert_cmphex(as_mmio_read(as, BASE + APIC_REG_VERSION + 2, 1), ==, 0x05);
    g_assert_cmphex(as_mmio_read(as, BASE + APIC_REG_VERSION, 2), ==, 0x0014);
    g_assert_cmphex(as_mmio_read(as, BASE + APIC_REG_VERSION + 4, 4), ==, 0);
    g_assert_cmphex(as_mmio_read(as, BASE + APIC_REG_VERSION, 8), ==, 0x00050014);
    /* A narrow write is dropped. */
    as_mmio_write(as, BASE + APIC_REG_TPR, 0x33, 1);
    g_assert_cmphex(rd(0, APIC_REG_TPR), ==, 0);
    /* The other CPU's registers are its own. */
    g_assert_cmphex(rd(1, APIC_REG_SVR), ==, 0xff);
    g_assert_cmphex(rd(1, APIC_REG_LDR), ==, 0);
    teardown();
}

static void test_software_disable(void)
{
    setup();
    enable(0, 0xff);
    wr(0, APIC_REG_LVT_LINT1, 0x40);
    wr(0, APIC_REG_LVT_TIMER, 0x31);
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT1), ==, 0x40);
    wr(0, APIC_REG_SVR, 0xff);                 /* software disable */
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT1), ==, 0x10040);
    g_assert_cmphex(rd(0, APIC_REG_LVT_TIMER), ==, 0x10031);
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT0), ==, 0x10700);
    wr(0, APIC_REG_LVT_TIMER, 0x30);            /* cannot unmask */
    g_assert_cmphex(rd(0, APIC_REG_LVT_TIMER), ==, 0x10030);
    /* Fixed messages are refused, NMI is taken. */
    g_assert_cmpint(send_fixed(0, 0x50, false), ==, 0);
    g_assert_true(irr_empty(0));
    ApicMessage nmi = { .delivery = APIC_DM_NMI, .dest = 0, .assert = true, .source = -1 };
    g_assert_cmpint(apic_bus_deliver(bus, &nmi), ==, 1);
    g_assert_cmphex(apic_pending_events(apic[0]), ==, APIC_EVENT_NMI);
    /* Re-enabled: the LVT stays masked until written. */
    enable(0, 0xff);
    g_assert_cmphex(rd(0, APIC_REG_LVT_TIMER), ==, 0x10030);
    wr(0, APIC_REG_LVT_TIMER, 0x30);
    g_assert_cmphex(rd(0, APIC_REG_LVT_TIMER), ==, 0x30);
    teardown();
}

/* --- priorities, acceptance, EOI ------------------------------------------- */

static void test_irr_isr_priority(void)
{
    setup();
    enable(0, 0xe7);
    g_assert_cmpint(send_fixed(0, 0x31, false), ==, 1);
    g_assert_cmpint(send_fixed(0, 0x52, false), ==, 1);
    g_assert_cmpint(send_fixed(0, 0x5f, false), ==, 1);
    g_assert_true(irr_empty(1));
    g_assert_cmphex(rd(0, APIC_REG_IRR + 0x10), ==, 0x00020000);
    g_assert_cmphex(rd(0, APIC_REG_IRR + 0x20), ==, 0x80040000);
    g_assert_cmpint(cpu0.level, ==, 1);
    g_assert_true(apic_has_interrupt(apic[0]));

    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x5f);
    g_assert_cmphex(rd(0, APIC_REG_ISR + 0x20), ==, 0x80000000);
    g_assert_cmphex(rd(0, APIC_REG_IRR + 0x20), ==, 0x00040000);
    g_assert_cmphex(rd(0, APIC_REG_PPR), ==, 0x50);
    /* 0x52 is in the same class as the one in service: held. */
    g_assert_cmpint(cpu0.level, ==, 0);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0xe7);    /* spurious */
    g_assert_true(irr(0, 0x52));
    g_assert_false(isr(0, 0x52));

    /* A higher class nests. */
    send_fixed(0, 0x61, false);
    g_assert_cmpint(cpu0.level, ==, 1);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x61);
    g_assert_cmphex(rd(0, APIC_REG_PPR), ==, 0x60);
    g_assert_true(isr(0, 0x61) && isr(0, 0x5f));

    wr(0, APIC_REG_EOI, 0);                     /* ends 0x61, the highest */
    g_assert_false(isr(0, 0x61));
    g_assert_true(isr(0, 0x5f));
    g_assert_cmphex(rd(0, APIC_REG_PPR), ==, 0x50);
    g_assert_cmpint(cpu0.level, ==, 0);
    wr(0, APIC_REG_EOI, 0);
    g_assert_cmphex(rd(0, APIC_REG_PPR), ==, 0);
    g_assert_cmpint(cpu0.level, ==, 1);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x52);
    wr(0, APIC_REG_EOI, 0);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x31);
    wr(0, APIC_REG_EOI, 0);
    g_assert_cmpint(cpu0.level, ==, 0);
    for (int i = 0; i < 8; i++) {
        g_assert_cmphex(rd(0, APIC_REG_ISR + i * 0x10), ==, 0);
    }
    g_assert_true(irr_empty(0));
    /* An EOI with nothing in service does nothing. */
    wr(0, APIC_REG_EOI, 0);
    g_assert_cmpint(eoi_count, ==, 0);
    /* Edge-triggered interrupts were never sent as EOIs to the IOAPIC. */
    g_assert_cmpint(kicks[0], >=, 1);
    teardown();
}

static void test_tpr_ppr_apr(void)
{
    setup();
    enable(0, 0xef);
    wr(0, APIC_REG_TPR, 0x57);
    g_assert_cmphex(rd(0, APIC_REG_PPR), ==, 0x57);
    g_assert_cmphex(rd(0, APIC_REG_APR), ==, 0x57);
    send_fixed(0, 0x51, false);
    g_assert_false(apic_has_interrupt(apic[0]));
    g_assert_cmpint(cpu0.level, ==, 0);
    g_assert_cmphex(rd(0, APIC_REG_APR), ==, 0x57);     /* TPR >= IRRV class */
    send_fixed(0, 0x62, false);
    g_assert_true(apic_has_interrupt(apic[0]));
    g_assert_cmpint(cpu0.level, ==, 1);
    g_assert_cmphex(rd(0, APIC_REG_APR), ==, 0x60);     /* IRRV class wins */
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x62);
    g_assert_cmphex(rd(0, APIC_REG_PPR), ==, 0x60);     /* ISRV class above TPR */
    /* APR = max(TPR[7:4] & ISRV[7:4], IRRV[7:4]) = max(5 & 6, 5) = 5. */
    g_assert_cmphex(rd(0, APIC_REG_APR), ==, 0x50);

    /* TPR 3 below the ISR's class 5, IRR class 2:
     * APR = max(3 & 5, 2) = 2, below the TPR. */
    apic_set_tpr(apic[1], 0);
    enable(1, 0xff);
    send_fixed(1, 0x55, false);
    g_assert_cmpint(apic_get_interrupt(apic[1]), ==, 0x55);
    wr(1, APIC_REG_TPR, 0x30);
    send_fixed(1, 0x25, false);
    g_assert_cmphex(rd(1, APIC_REG_APR), ==, 0x20);
    g_assert_cmphex(rd(1, APIC_REG_PPR), ==, 0x50);

    /* The CR8 path. */
    apic_set_tpr(apic[0], 0x80);
    g_assert_cmphex(apic_get_tpr(apic[0]), ==, 0x80);
    g_assert_cmphex(rd(0, APIC_REG_TPR), ==, 0x80);
    g_assert_cmphex(rd(0, APIC_REG_PPR), ==, 0x80);
    apic_set_tpr(apic[0], 0);
    wr(0, APIC_REG_EOI, 0);
    g_assert_cmphex(rd(0, APIC_REG_PPR), ==, 0);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x51);
    wr(0, APIC_REG_EOI, 0);

    /* Raising TPR between INTR and INTA: the spurious vector, no ISR.
     * (LINT0 masked: with the virtual wire the 8259 would answer.) */
    wr(0, APIC_REG_LVT_LINT0, 0x10700);
    send_fixed(0, 0x71, false);
    g_assert_cmpint(cpu0.level, ==, 1);
    wr(0, APIC_REG_TPR, 0xf0);
    g_assert_cmpint(cpu0.level, ==, 0);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0xef);
    g_assert_true(irr(0, 0x71));
    g_assert_false(isr(0, 0x71));
    g_assert_cmpint(extint_acks, ==, 0);
    /* Through the virtual wire an empty acknowledge is the 8259's. */
    wr(0, APIC_REG_LVT_LINT0, 0x700);
    extint_vector = 0x27;
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x27);
    g_assert_cmpint(extint_acks, ==, 1);
    g_assert_false(isr(0, 0x71));
    extint_vector = -1;
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0xef);   /* no 8259 */
    wr(0, APIC_REG_TPR, 0x70);                  /* same class: still held */
    g_assert_cmpint(cpu0.level, ==, 0);
    wr(0, APIC_REG_TPR, 0x6f);
    g_assert_cmpint(cpu0.level, ==, 1);
    teardown();
}

static void test_eoi_level(void)
{
    setup();
    enable(0, 0xff);
    send_fixed(0, 0x45, true);
    g_assert_true(tmr(0, 0x45));
    g_assert_cmphex(rd(0, APIC_REG_TMR + 0x20), ==, 0x20);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x45);
    wr(0, APIC_REG_EOI, 0);
    g_assert_cmpint(eoi_count, ==, 1);
    g_assert_cmpint(eoi_last, ==, 0x45);
    /* Edge: TMR clear, no EOI message. */
    send_fixed(0, 0x46, false);
    g_assert_false(tmr(0, 0x46));
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x46);
    wr(0, APIC_REG_EOI, 0);
    g_assert_cmpint(eoi_count, ==, 1);
    /* The same vector edge-triggered later clears its TMR bit. */
    send_fixed(0, 0x45, false);
    g_assert_false(tmr(0, 0x45));
    teardown();
}

static void test_esr(void)
{
    setup();
    enable(0, 0xff);
    enable(1, 0xff);
    g_assert_cmphex(rd(0, APIC_REG_ESR), ==, 0);
    rd(0, 0x2a0);                               /* reserved */
    g_assert_cmphex(rd(0, APIC_REG_ESR), ==, 0);    /* not latched yet */
    wr(0, APIC_REG_ESR, 0);
    g_assert_cmphex(rd(0, APIC_REG_ESR), ==, APIC_ESR_ILLEGAL_REG);
    wr(0, APIC_REG_ESR, 0);
    g_assert_cmphex(rd(0, APIC_REG_ESR), ==, 0);
    wr(0, 0x2f0, 0x10);                         /* no CMCI LVT here */
    g_assert_cmphex(esr(0), ==, APIC_ESR_ILLEGAL_REG);
    g_assert_cmphex(esr(1), ==, 0);

    /* Sending an illegal vector. */
    ipi(0, 1, 0x05);
    g_assert_cmphex(esr(0), ==, APIC_ESR_SEND_ILLEGAL);
    g_assert_true(irr_empty(1));
    g_assert_cmphex(esr(1), ==, 0);
    ipi(0, 1, APIC_DM_LOWEST << 8 | 0x0f);
    g_assert_cmphex(esr(0), ==, APIC_ESR_SEND_ILLEGAL);
    /* Receiving one (from the LVT timer). */
    wr(0, APIC_REG_TIMER_DCR, 0xb);
    wr(0, APIC_REG_LVT_TIMER, 0x0a);
    wr(0, APIC_REG_TIMER_ICR, 1);
    vclock_advance(10);
    g_assert_true(irr_empty(0));
    g_assert_cmphex(esr(0), ==, APIC_ESR_RECV_ILLEGAL);
    /* ... and from a message. */
    send_fixed(1, 0x03, false);
    g_assert_cmphex(esr(1), ==, APIC_ESR_RECV_ILLEGAL);

    /* The LVT error interrupt comes with each newly detected error. */
    wr(0, APIC_REG_LVT_ERROR, 0xe3);
    rd(0, 0x040);
    g_assert_true(irr(0, 0xe3));
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0xe3);
    wr(0, APIC_REG_EOI, 0);
    rd(0, 0x050);                               /* same error still pending */
    g_assert_true(irr_empty(0));
    ipi(0, 0, 0x01);                            /* a different error */
    g_assert_true(irr(0, 0xe3));
    g_assert_cmphex(esr(0), ==, APIC_ESR_ILLEGAL_REG | APIC_ESR_SEND_ILLEGAL);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0xe3);
    wr(0, APIC_REG_EOI, 0);
    rd(0, 0x060);                               /* cleared by the write: new */
    g_assert_true(irr(0, 0xe3));
    /* Masked: the error is recorded, no interrupt. */
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0xe3);
    wr(0, APIC_REG_EOI, 0);
    wr(0, APIC_REG_ESR, 0);
    wr(0, APIC_REG_LVT_ERROR, 0x100e3);
    rd(0, 0x070);
    g_assert_true(irr_empty(0));
    g_assert_cmphex(esr(0), ==, APIC_ESR_ILLEGAL_REG);
    teardown();
}

/* --- IPIs ------------------------------------------------------------------- */

static void test_ipi(void)
{
    setup();
    enable(0, 0xff);
    enable(1, 0xff);
    int k1 = kicks[1];
    ipi(0, 1, 0x40);                            /* fixed, physical, to CPU 1 */
    g_assert_true(irr(1, 0x40));
    g_assert_true(irr_empty(0));
    g_assert_true(apic[1]->intr_level);
    g_assert_cmpint(kicks[1], ==, k1 + 1);
    g_assert_cmphex(rd(0, APIC_REG_ICR_LO), ==, 0x40);     /* idle */
    g_assert_cmphex(rd(0, APIC_REG_ICR_HI), ==, 0x01000000);
    g_assert_cmpint(apic_get_interrupt(apic[1]), ==, 0x40);
    wr(1, APIC_REG_EOI, 0);

    ipi(0, 1, APIC_SH_SELF << 18 | 0x41);      /* self: destination ignored */
    g_assert_true(irr(0, 0x41));
    g_assert_false(irr(1, 0x41));
    ipi(0, 0, APIC_SH_ALL << 18 | 0x42);
    g_assert_true(irr(0, 0x42) && irr(1, 0x42));
    ipi(0, 0, APIC_SH_OTHERS << 18 | 0x43);
    g_assert_false(irr(0, 0x43));
    g_assert_true(irr(1, 0x43));
    ipi(1, 0, APIC_SH_OTHERS << 18 | 0x44);
    g_assert_true(irr(0, 0x44));
    g_assert_false(irr(1, 0x44));
    ipi(1, 0xff, 0x45);                         /* physical broadcast */
    g_assert_true(irr(0, 0x45) && irr(1, 0x45));
    ipi(0, 5, 0x46);                            /* nobody has ID 5 */
    g_assert_false(irr(0, 0x46) || irr(1, 0x46));
    ipi(0, 1, APIC_ICR_LEVEL | APIC_ICR_ASSERT | 0x47);
    g_assert_true(irr(1, 0x47) && tmr(1, 0x47));
    /* A changed APIC ID is what physical destinations match. */
    wr(1, APIC_REG_ID, 0x07000000);
    ipi(0, 7, 0x48);
    g_assert_true(irr(1, 0x48));
    ipi(0, 1, 0x49);
    g_assert_false(irr(1, 0x49));
    wr(1, APIC_REG_ID, 0x01000000);

    /* NMI. */
    ipi(0, 1, APIC_DM_NMI << 8);
    g_assert_cmphex(apic_pending_events(apic[1]), ==, APIC_EVENT_NMI);
    g_assert_cmphex(apic_pending_events(apic[0]), ==, 0);
    g_assert_true(apic_take_nmi(apic[1]));
    g_assert_false(apic_take_nmi(apic[1]));
    /* SMI: no SMM, ignored. */
    ipi(0, 1, APIC_DM_SMI << 8);
    g_assert_cmphex(apic_pending_events(apic[1]), ==, 0);

    /* INIT resets the target APIC (but not its ID) and calls the hook. */
    wr(1, APIC_REG_TPR, 0x30);
    wr(1, APIC_REG_LDR, 0x04000000);
    g_assert_false(irr_empty(1));
    ipi(0, 1, APIC_ICR_ASSERT | APIC_DM_INIT << 8);
    g_assert_cmpint(inits[1], ==, 1);
    g_assert_cmpint(inits[0], ==, 0);
    g_assert_cmphex(rd(1, APIC_REG_TPR), ==, 0);
    g_assert_cmphex(rd(1, APIC_REG_LDR), ==, 0);
    g_assert_cmphex(rd(1, APIC_REG_SVR), ==, 0xff);
    g_assert_cmphex(rd(1, APIC_REG_ID), ==, 0x01000000);
    g_assert_true(irr_empty(1));
    g_assert_cmphex(apic_get_base_msr(apic[1]), ==, 0xfee00800);
    g_assert_true(apic_take_init(apic[1]));
    g_assert_false(apic_take_init(apic[1]));
    /* INIT level de-assert: no effect. */
    wr(1, APIC_REG_TPR, 0x30);
    ipi(0, 1, APIC_ICR_LEVEL | APIC_DM_INIT << 8);
    g_assert_cmpint(inits[1], ==, 1);
    g_assert_cmphex(rd(1, APIC_REG_TPR), ==, 0x30);
    g_assert_cmphex(apic_pending_events(apic[1]), ==, 0);

    /* Start-up IPIs reach a software-disabled APIC (as after INIT). */
    ipi(0, 1, APIC_ICR_ASSERT | APIC_DM_STARTUP << 8 | 0x9a);
    g_assert_cmpint(sipis[1], ==, 1);
    g_assert_cmpint(sipi_vec[1], ==, 0x9a);
    g_assert_cmphex(apic_pending_events(apic[1]), ==, APIC_EVENT_SIPI);
    g_assert_cmpint(apic_take_sipi(apic[1]), ==, 0x9a);
    g_assert_cmpint(apic_take_sipi(apic[1]), ==, -1);
    ipi(0, 0, APIC_SH_OTHERS << 18 | APIC_ICR_ASSERT | APIC_DM_STARTUP << 8 | 0x10);
    g_assert_cmpint(sipis[1], ==, 2);
    g_assert_cmpint(sipis[0], ==, 0);
    g_assert_cmpint(apic_take_sipi(apic[1]), ==, 0x10);
    teardown();
}

static void test_logical(void)
{
    setup();
    enable(0, 0xff);
    enable(1, 0xff);
    /* Flat model: the MDA is a bit mask against the logical ID. */
    wr(0, APIC_REG_LDR, 0x01000000);
    wr(1, APIC_REG_LDR, 0x02000000);
    ipi(0, 0x02, APIC_ICR_LOGICAL | 0x50);
    g_assert_false(irr(0, 0x50));
    g_assert_true(irr(1, 0x50));
    ipi(0, 0x03, APIC_ICR_LOGICAL | 0x51);
    g_assert_true(irr(0, 0x51) && irr(1, 0x51));
    ipi(0, 0x04, APIC_ICR_LOGICAL | 0x52);
    g_assert_false(irr(0, 0x52) || irr(1, 0x52));
    ipi(0, 0xff, APIC_ICR_LOGICAL | 0x53);
    g_assert_true(irr(0, 0x53) && irr(1, 0x53));
    /* Any common bit will do. */
    wr(1, APIC_REG_LDR, 0x06000000);
    ipi(0, 0x04, APIC_ICR_LOGICAL | 0x54);
    g_assert_false(irr(0, 0x54));
    g_assert_true(irr(1, 0x54));

    /* Cluster model: cluster in MDA[7:4] (15 = all), members in MDA[3:0]. */
    wr(0, APIC_REG_DFR, 0x0fffffff);
    wr(1, APIC_REG_DFR, 0x0fffffff);
    wr(0, APIC_REG_LDR, 0x11000000);           /* cluster 1, member bit 0 */
    wr(1, APIC_REG_LDR, 0x22000000);           /* cluster 2, member bit 1 */
    ipi(0, 0x11, APIC_ICR_LOGICAL | 0x60);
    g_assert_true(irr(0, 0x60));
    g_assert_false(irr(1, 0x60));
    ipi(0, 0x12, APIC_ICR_LOGICAL | 0x61);
    g_assert_false(irr(0, 0x61) || irr(1, 0x61));
    ipi(0, 0x22, APIC_ICR_LOGICAL | 0x62);
    g_assert_false(irr(0, 0x62));
    g_assert_true(irr(1, 0x62));
    ipi(0, 0x21, APIC_ICR_LOGICAL | 0x63);     /* cluster 2, bit 0: nobody */
    g_assert_false(irr(0, 0x63) || irr(1, 0x63));
    ipi(0, 0xf3, APIC_ICR_LOGICAL | 0x64);     /* all clusters, bits 0-1 */
    g_assert_true(irr(0, 0x64) && irr(1, 0x64));
    ipi(0, 0xf1, APIC_ICR_LOGICAL | 0x65);
    g_assert_true(irr(0, 0x65));
    g_assert_false(irr(1, 0x65));
    /* Logical messages from the IOAPIC side match the same way. */
    ApicMessage m = { .vector = 0x66, .delivery = APIC_DM_FIXED, .logical = true,
                      .assert = true, .dest = 0x22, .source = -1 };
    g_assert_cmpint(apic_bus_deliver(bus, &m), ==, 1);
    g_assert_true(irr(1, 0x66));
    teardown();
}

static void test_lowest_priority(void)
{
    setup();
    enable(0, 0xff);
    enable(1, 0xff);
    wr(0, APIC_REG_LDR, 0x01000000);
    wr(1, APIC_REG_LDR, 0x02000000);
    wr(0, APIC_REG_TPR, 0x40);
    wr(1, APIC_REG_TPR, 0x20);
    ipi(0, 0x03, APIC_ICR_LOGICAL | APIC_DM_LOWEST << 8 | 0x50);
    g_assert_false(irr(0, 0x50));
    g_assert_true(irr(1, 0x50));
    /* CPU 1 has 0x50 pending: it is the focus, though CPU 0 is lower now. */
    wr(0, APIC_REG_TPR, 0x10);
    ApicMessage m = { .vector = 0x50, .delivery = APIC_DM_LOWEST, .logical = true,
                      .assert = true, .dest = 0x03, .source = -1 };
    g_assert_cmpint(apic_bus_deliver(bus, &m), ==, 1);
    g_assert_false(irr(0, 0x50));
    /* Focus checking off: APR decides (CPU 1's APR is 0x50 from its IRR). */
    wr(1, APIC_REG_SVR, APIC_SVR_ENABLE | APIC_SVR_FOCUS_DISABLE | 0xff);
    g_assert_cmphex(rd(1, APIC_REG_APR), ==, 0x50);
    g_assert_cmphex(rd(0, APIC_REG_APR), ==, 0x10);
    apic_bus_deliver(bus, &m);
    g_assert_true(irr(0, 0x50));
    /* Only enabled APICs take part. */
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x50);
    wr(0, APIC_REG_EOI, 0);
    wr(0, APIC_REG_SVR, 0xff);
    m.vector = 0x70;
    g_assert_cmpint(apic_bus_deliver(bus, &m), ==, 1);
    g_assert_true(irr(1, 0x70));
    /* Equal priorities go round-robin. */
    enable(0, 0xff);
    apic_reset(apic[1]);
    enable(1, 0xff);
    wr(0, APIC_REG_TPR, 0);
    wr(1, APIC_REG_LDR, 0x02000000);
    int got[2] = {0, 0};
    for (int i = 0; i < 4; i++) {
        m.vector = 0x80 + i;
        apic_bus_deliver(bus, &m);
        for (int c = 0; c < 2; c++) {
            if (irr(c, 0x80 + i)) {
                got[c]++;
                g_assert_cmpint(apic_get_interrupt(apic[c]), ==, 0x80 + i);
                wr(c, APIC_REG_EOI, 0);
            }
        }
    }
    g_assert_cmpint(got[0], ==, 2);
    g_assert_cmpint(got[1], ==, 2);
    teardown();
}

/* --- local interrupts ------------------------------------------------------- */

static void test_local_sources(void)
{
    setup();
    enable(0, 0xff);
    wr(0, APIC_REG_LVT_PERF, 0x4e);
    apic_local_interrupt(apic[0], APIC_LVT_PERF);
    g_assert_true(irr(0, 0x4e));
    wr(0, APIC_REG_LVT_PERF, APIC_DM_NMI << 8);
    apic_local_interrupt(apic[0], APIC_LVT_PERF);
    g_assert_cmphex(apic_pending_events(apic[0]), ==, APIC_EVENT_NMI);
    apic_take_nmi(apic[0]);
    apic_local_interrupt(apic[0], APIC_LVT_THERMAL);   /* masked */
    wr(0, APIC_REG_LVT_THERMAL, 0x10000 | 0x4f);
    apic_local_interrupt(apic[0], APIC_LVT_THERMAL);
    g_assert_false(irr(0, 0x4f));
    wr(0, APIC_REG_LVT_THERMAL, 0x4f);
    apic_local_interrupt(apic[0], APIC_LVT_THERMAL);
    g_assert_true(irr(0, 0x4f));
    g_assert_cmphex(apic_pending_events(apic[0]), ==, 0);
    teardown();
}

/* LINT0 in ExtINT mode with a real 8259 on it (virtual wire). */
static I8259 *pic;

static void pic_output(void *opaque, int n, int level)
{
    apic_set_lint(apic[0], 0, level);
    apic_set_lint(apic[1], 0, level);
}

static int pic_ack(void *opaque)
{
    return i8259_intack(pic);
}

static void test_lint0_extint(void)
{
    setup();
    IrqLine *pic_line = irq_line_new(pic_output, NULL, 0);
    pic = i8259_new(as, pic_line);
    apic_bus_set_extint(bus, pic_ack, NULL);
    /* PC/AT initialisation: vectors 0x20 and 0x28. */
    static const struct { uint16_t port; uint8_t v; } icw[] = {
        {0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04}, {0x21, 0x01},
        {0xa0, 0x11}, {0xa1, 0x28}, {0xa1, 0x02}, {0xa1, 0x01},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(icw); i++) {
        as_port_write(as, icw[i].port, icw[i].v, 1);
    }

    /* Out of reset the BSP takes the 8259's INTR; the AP does not. */
    i8259_set_irq(pic, 1, 1);
    g_assert_cmpint(cpu0.level, ==, 1);
    g_assert_false(apic[1]->intr_level);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x21);
    g_assert_cmpint(cpu0.level, ==, 0);
    g_assert_true(irr_empty(0));
    for (int i = 0; i < 8; i++) {
        g_assert_cmphex(rd(0, APIC_REG_ISR + i * 0x10), ==, 0);
    }
    as_port_write(as, 0x20, 0x20, 1);           /* 8259 EOI */
    i8259_set_irq(pic, 1, 0);

    /* ExtINT ignores TPR and the ISR. */
    enable(0, 0xff);
    wr(0, APIC_REG_LVT_LINT0, 0x700);
    wr(0, APIC_REG_TPR, 0xf0);
    i8259_set_irq(pic, 9, 1);
    g_assert_cmpint(cpu0.level, ==, 1);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x29);
    as_port_write(as, 0xa0, 0x20, 1);
    as_port_write(as, 0x20, 0x20, 1);
    i8259_set_irq(pic, 9, 0);
    wr(0, APIC_REG_TPR, 0);

    /* Masked LINT0: the 8259's request does not get through; unmasking a
     * LINT0 whose input is high makes INTR follow (level-sensitive). */
    wr(0, APIC_REG_LVT_LINT0, 0x10700);
    i8259_set_irq(pic, 3, 1);
    g_assert_cmpint(cpu0.level, ==, 0);
    wr(0, APIC_REG_LVT_LINT0, 0x700);
    g_assert_cmpint(cpu0.level, ==, 1);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x23);
    as_port_write(as, 0x20, 0x20, 1);
    i8259_set_irq(pic, 3, 0);
    g_assert_cmpint(cpu0.level, ==, 0);

    /* A hardware-disabled APIC passes LINT0 straight to INTR. */
    g_assert_cmpint(apic_set_base_msr(apic[1], 0xfee00000), ==, 0);
    i8259_set_irq(pic, 4, 1);
    g_assert_true(apic[1]->intr_level);
    g_assert_cmpint(apic_get_interrupt(apic[1]), ==, 0x24);
    g_assert_false(apic[1]->intr_level);
    as_port_write(as, 0x20, 0x20, 1);
    i8259_set_irq(pic, 4, 0);

    /* LINT1 as NMI, edge-triggered. */
    wr(0, APIC_REG_LVT_LINT1, APIC_DM_NMI << 8);
    apic_set_lint(apic[0], 1, 1);
    g_assert_true(apic_take_nmi(apic[0]));
    apic_set_lint(apic[0], 1, 1);
    g_assert_false(apic_take_nmi(apic[0]));
    apic_set_lint(apic[0], 1, 0);
    apic_set_lint(apic[0], 1, 1);
    g_assert_true(apic_take_nmi(apic[0]));
    apic_set_lint(apic[0], 1, 0);
    /* ... and through a hardware-disabled APIC it is the NMI pin. */
    apic_set_lint(apic[1], 1, 1);
    g_assert_true(apic_take_nmi(apic[1]));

    /* LINT1 fixed, level-triggered: Remote IRR until EOI. */
    wr(0, APIC_REG_LVT_LINT1, APIC_LVT_LEVEL | 0x55);
    apic_set_lint(apic[0], 1, 1);
    g_assert_true(irr(0, 0x55) && tmr(0, 0x55));
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT1), ==, 0xc055);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x55);
    wr(0, APIC_REG_EOI, 0);                     /* still high: again */
    g_assert_true(irr(0, 0x55));
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT1), ==, 0xc055);
    apic_set_lint(apic[0], 1, 0);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x55);
    wr(0, APIC_REG_EOI, 0);
    g_assert_true(irr_empty(0));
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT1), ==, 0x8055);
    /* Active low: a low pin asserts as soon as the entry says so. */
    wr(0, APIC_REG_LVT_LINT1, APIC_LVT_LEVEL | APIC_LVT_POLARITY_LOW | 0x56);
    g_assert_true(irr(0, 0x56));
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT1), ==, 0xe056);
    /* Switching the entry to edge drops its Remote IRR. */
    wr(0, APIC_REG_LVT_LINT1, APIC_LVT_POLARITY_LOW | 0x56);
    g_assert_cmphex(rd(0, APIC_REG_LVT_LINT1), ==, 0x2056);

    i8259_free(pic);
    irq_line_free(pic_line);
    teardown();
}

/* --- the timer -------------------------------------------------------------- */

static void test_timer_oneshot(void)
{
    setup();
    enable(0, 0xff);
    wr(0, APIC_REG_TIMER_DCR, 0x3);             /* divide by 16: 160 ns */
    wr(0, APIC_REG_LVT_TIMER, 0x30);
    wr(0, APIC_REG_TIMER_ICR, 1000);            /* expires at T0 + 160 us */
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 1000);
    vclock_advance(16000);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 900);
    vclock_advance(159);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 900);
    vclock_advance(1);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 899);
    vclock_advance(160000 - 16160 - 1);         /* T0 + 159999 */
    g_assert_false(irr(0, 0x30));
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 1);
    vclock_advance(1);
    g_assert_true(irr(0, 0x30));
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 0);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_ICR), ==, 1000);
    g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x30);
    wr(0, APIC_REG_EOI, 0);
    vclock_advance(1000000);
    g_assert_false(irr(0, 0x30));               /* once only */
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 0);

    /* Rewriting the initial count restarts the count. */
    wr(0, APIC_REG_TIMER_ICR, 100);             /* 16 us */
    vclock_advance(8000);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 50);
    wr(0, APIC_REG_TIMER_ICR, 100);
    vclock_advance(15999);
    g_assert_false(irr(0, 0x30));
    vclock_advance(1);
    g_assert_true(irr(0, 0x30));
    apic_get_interrupt(apic[0]);
    wr(0, APIC_REG_EOI, 0);

    /* A write of 0 stops it. */
    wr(0, APIC_REG_TIMER_ICR, 100);
    vclock_advance(100);
    wr(0, APIC_REG_TIMER_ICR, 0);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 0);
    vclock_advance(100000);
    g_assert_false(irr(0, 0x30));

    /* Masked: it counts, but no interrupt. */
    wr(0, APIC_REG_LVT_TIMER, 0x10030);
    wr(0, APIC_REG_TIMER_ICR, 10);
    vclock_advance(800);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 5);
    vclock_advance(800);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 0);
    g_assert_true(irr_empty(0));

    /* Every divide value: 1000 ticks of bus clock / divide. */
    static const struct { uint32_t dcr; unsigned div; } divs[] = {
        {0x0, 2}, {0x1, 4}, {0x2, 8}, {0x3, 16},
        {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1},
        {0x4, 2}, {0xf, 1},     /* bit 2 is not part of the value */
    };
    wr(0, APIC_REG_LVT_TIMER, 0x30);
    for (size_t i = 0; i < G_N_ELEMENTS(divs); i++) {
        int64_t tick = APIC_BUS_TICK_NS * divs[i].div;
        wr(0, APIC_REG_TIMER_DCR, divs[i].dcr);
        wr(0, APIC_REG_TIMER_ICR, 2000);
        vclock_advance(1000 * tick - 1);
        g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 1001);
        vclock_advance(1);
        g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 1000);
        vclock_advance(1000 * tick - 1);
        g_assert_false(irr(0, 0x30));
        vclock_advance(1);
        g_assert_true(irr(0, 0x30));
        g_assert_cmpint(apic_get_interrupt(apic[0]), ==, 0x30);
        wr(0, APIC_REG_EOI, 0);
    }
    teardown();
}

static int take_all(int cpu, int vector)
{
    int n = 0;
    while (irr(cpu, vector)) {
        g_assert_cmpint(apic_get_interrupt(apic[cpu]), ==, vector);
        wr(cpu, APIC_REG_EOI, 0);
        n++;
    }
    return n;
}

static void test_timer_periodic(void)
{
    setup();
    enable(0, 0xff);
    wr(0, APIC_REG_TIMER_DCR, 0xb);             /* divide by 1: 10 ns */
    wr(0, APIC_REG_LVT_TIMER, APIC_TIMER_PERIODIC << 17 | 0x31);
    wr(0, APIC_REG_TIMER_ICR, 2000);            /* period 20 us */
    vclock_advance(19999);
    g_assert_false(irr(0, 0x31));
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 1);
    vclock_advance(1);
    g_assert_true(irr(0, 0x31));
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 2000);     /* reloaded */
    g_assert_cmpint(take_all(0, 0x31), ==, 1);
    vclock_advance(10000);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 1000);
    vclock_advance(9999);
    g_assert_false(irr(0, 0x31));
    vclock_advance(1);
    g_assert_cmpint(take_all(0, 0x31), ==, 1);  /* T0 + 40 us */
    int n = 0;
    for (int i = 0; i < 10; i++) {
        vclock_advance(20000);
        n += take_all(0, 0x31);
    }
    g_assert_cmpint(n, ==, 10);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 2000);

    /* Changing the divider keeps the count and continues at the new rate. */
    wr(0, APIC_REG_TIMER_ICR, 1000);            /* period 10 us */
    vclock_advance(3000);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 700);
    wr(0, APIC_REG_TIMER_DCR, 0x0);             /* divide by 2: 20 ns */
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 700);
    vclock_advance(2000);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 600);
    vclock_advance(12000 - 1);
    g_assert_false(irr(0, 0x31));
    vclock_advance(1);
    g_assert_cmpint(take_all(0, 0x31), ==, 1);
    vclock_advance(20000);                      /* full period at 20 ns */
    g_assert_cmpint(take_all(0, 0x31), ==, 1);

    /* A mode change disarms the timer. */
    wr(0, APIC_REG_LVT_TIMER, 0x31);            /* one-shot */
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_ICR), ==, 0);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 0);
    vclock_advance(100000);
    g_assert_false(irr(0, 0x31));

    /* Very short periods are rate-limited; the count is not. */
    wr(0, APIC_REG_TIMER_DCR, 0xb);
    wr(0, APIC_REG_LVT_TIMER, APIC_TIMER_PERIODIC << 17 | 0x31);
    wr(0, APIC_REG_TIMER_ICR, 10);              /* 100 ns */
    n = 0;
    for (int i = 0; i < 100; i++) {
        vclock_advance(100);
        n += take_all(0, 0x31);
    }
    g_assert_cmpint(n, ==, 1);                  /* at 100 ns */
    vclock_advance(100);                        /* 100 ns + 10 us */
    g_assert_cmpint(take_all(0, 0x31), ==, 1);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 10);
    vclock_advance(35);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 7);
    teardown();
}

static void test_timer_tsc_deadline(void)
{
    setup();
    g_assert_cmpuint(pc_tsc_from_ns(1000), ==, 2000);
    g_assert_cmpuint(pc_ns_from_tsc(3), ==, 2);
    g_assert_cmpuint(pc_ns_from_tsc(4), ==, 2);
    enable(0, 0xff);
    /* Not in TSC-deadline mode: the MSR reads 0 and ignores writes. */
    uint64_t now = pc_tsc_from_ns(vclock_ns());
    apic_write_tsc_deadline(apic[0], now + 100, now);
    g_assert_cmpuint(apic_read_tsc_deadline(apic[0]), ==, 0);

    wr(0, APIC_REG_LVT_TIMER, APIC_TIMER_TSC_DEADLINE << 17 | 0x32);
    g_assert_cmphex(rd(0, APIC_REG_LVT_TIMER), ==, 0x40032);
    g_assert_cmpuint(apic_read_tsc_deadline(apic[0]), ==, 0);
    wr(0, APIC_REG_TIMER_ICR, 500);             /* ignored in this mode */
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_ICR), ==, 0);
    g_assert_cmpuint(rd(0, APIC_REG_TIMER_CCR), ==, 0);

    /* 3001 TSC ticks at 2 GHz: the TSC reaches the deadline 1501 ns on. */
    now = pc_tsc_from_ns(vclock_ns());
    apic_write_tsc_deadline(apic[0], now + 3001, now);
    g_assert_cmpuint(apic_read_tsc_deadline(apic[0]), ==, now + 3001);
    vclock_advance(1500);
    g_assert_false(irr(0, 0x32));
    vclock_advance(1);
    g_assert_true(irr(0, 0x32));
    g_assert_cmpuint(apic_read_tsc_deadline(apic[0]), ==, 0);
    g_assert_cmpint(take_all(0, 0x32), ==, 1);
    vclock_advance(100000);
    g_assert_false(irr(0, 0x32));

    /* A deadline already passed fires at once. */
    now = pc_tsc_from_ns(vclock_ns());
    apic_write_tsc_deadline(apic[0], now - 1, now);
    g_assert_true(irr(0, 0x32));
    g_assert_cmpuint(apic_read_tsc_deadline(apic[0]), ==, 0);
    g_assert_cmpint(take_all(0, 0x32), ==, 1);

    /* The guest's TSC may be offset: the deadline is relative to it. */
    now = pc_tsc_from_ns(vclock_ns()) + 123456789;
    apic_write_tsc_deadline(apic[0], now + 2000000, now);  /* 1 ms */
    vclock_advance(999999);
    g_assert_false(irr(0, 0x32));
    vclock_advance(1);
    g_assert_cmpint(take_all(0, 0x32), ==, 1);

    /* Writing 0 disarms; re-arming moves the deadline. */
    now = pc_tsc_from_ns(vclock_ns());
    apic_write_tsc_deadline(apic[0], now + 2000, now);
    apic_write_tsc_deadline(apic[0], 0, now);
    vclock_advance(10000);
    g_assert_false(irr(0, 0x32));
    now = pc_tsc_from_ns(vclock_ns());
    apic_write_tsc_deadline(apic[0], now + 2000, now);
    apic_write_tsc_deadline(apic[0], now + 20000, now);
    vclock_advance(9999);
    g_assert_false(irr(0, 0x32));
    vclock_advance(1);
    g_assert_cmpint(take_all(0, 0x32), ==, 1);

    /* Masked: the deadline still expires and clears, silently. */
    wr(0, APIC_REG_LVT_TIMER, APIC_LVT_MASKED | APIC_TIMER_TSC_DEADLINE << 17 | 0x32);
    now = pc_tsc_from_ns(vclock_ns());
    apic_write_tsc_deadline(apic[0], now + 200, now);
    vclock_advance(100);
    g_assert_cmpuint(apic_read_tsc_deadline(apic[0]), ==, 0);
    g_assert_true(irr_empty(0));

    /* Leaving the mode disarms. */
    wr(0, APIC_REG_LVT_TIMER, APIC_TIMER_TSC_DEADLINE << 17 | 0x32);
    now = pc_tsc_from_ns(vclock_ns());
    apic_write_tsc_deadline(apic[0], now + 2000, now);
    wr(0, APIC_REG_LVT_TIMER, 0x32);
    wr(0, APIC_REG_LVT_TIMER, APIC_TIMER_TSC_DEADLINE << 17 | 0x32);
    g_assert_cmpuint(apic_read_tsc_deadline(apic[0]), ==, 0);
    vclock_advance(10000);
    g_assert_false(irr(0, 0x32));
    teardown();
}

/* --- IA32_APIC_BASE --------------------------------------------------------- */

static void test_base_msr(void)
{
    setup();
    /* Relocation: CPU 0 sees its APIC at the new base only. */
    g_assert_cmpint(apic_set_base_msr(apic[0], 0xfed00000 | APIC_BASE_ENABLE), ==, 0);
    g_assert_cmphex(apic_get_base_msr(apic[0]), ==, 0xfed00900);   /* BSP kept */
    apic_set_current_cpu(0);
    g_assert_cmphex(as_mmio_read(as, 0xfed00000 + APIC_REG_VERSION, 4), ==, 0x00050014);
    g_assert_cmphex(as_mmio_read(as, BASE + APIC_REG_VERSION, 4), ==, 0xffffffff);
    g_assert_cmphex(rd(1, APIC_REG_ID), ==, 0x01000000);
    apic_set_current_cpu(1);
    g_assert_cmphex(as_mmio_read(as, 0xfed00000 + APIC_REG_ID, 4), ==, 0xffffffff);
    /* Reserved bits: #GP, nothing changes. */
    g_assert_cmpint(apic_set_base_msr(apic[1], 0xfee00000 | APIC_BASE_ENABLE | (1 << 10)),
                    ==, -EINVAL);
    g_assert_cmpint(apic_set_base_msr(apic[1], 0xfee00000 | APIC_BASE_ENABLE | (1ULL << 40)),
                    ==, -EINVAL);
    g_assert_cmpint(apic_set_base_msr(apic[1], 0xfee00000 | APIC_BASE_ENABLE | 0x1),
                    ==, -EINVAL);
    g_assert_cmphex(apic_get_base_msr(apic[1]), ==, 0xfee00800);
    /* The BSP flag is not writable. */
    g_assert_cmpint(apic_set_base_msr(apic[1], 0xfee00000 | APIC_BASE_ENABLE | APIC_BASE_BSP),
                    ==, 0);
    g_assert_cmphex(apic_get_base_msr(apic[1]), ==, 0xfee00800);

    /* Disabling: off the bus, registers gone, reset state when back. */
    enable(1, 0xff);
    wr(1, APIC_REG_TPR, 0x20);
    g_assert_cmpint(apic_set_base_msr(apic[1], 0xfee00000), ==, 0);
    g_assert_false(apic_hw_enabled(apic[1]));
    g_assert_cmphex(rd(1, APIC_REG_VERSION), ==, 0xffffffff);
    g_assert_cmpint(send_fixed(1, 0x40, false), ==, 0);
    ApicMessage init = { .delivery = APIC_DM_INIT, .assert = true, .dest = 1, .source = -1 };
    g_assert_cmpint(apic_bus_deliver(bus, &init), ==, 0);
    g_assert_cmpint(apic_set_base_msr(apic[1], 0xfee00000 | APIC_BASE_ENABLE), ==, 0);
    g_assert_cmphex(rd(1, APIC_REG_TPR), ==, 0);
    g_assert_cmphex(rd(1, APIC_REG_SVR), ==, 0xff);
    g_assert_cmphex(rd(1, APIC_REG_VERSION), ==, 0x00050014);

    /* Reset puts the BSP's APIC back at the default base. */
    apic_reset(apic[0]);
    g_assert_cmphex(rd(0, APIC_REG_VERSION), ==, 0x00050014);
    apic_set_current_cpu(0);
    g_assert_cmphex(as_mmio_read(as, 0xfed00000 + APIC_REG_VERSION, 4), ==, 0xffffffff);
    teardown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/apic/reset", test_reset);
    g_test_add_func("/apic/register-masks", test_register_masks);
    g_test_add_func("/apic/software-disable", test_software_disable);
    g_test_add_func("/apic/irr-isr-priority", test_irr_isr_priority);
    g_test_add_func("/apic/tpr-ppr-apr", test_tpr_ppr_apr);
    g_test_add_func("/apic/eoi-level", test_eoi_level);
    g_test_add_func("/apic/esr", test_esr);
    g_test_add_func("/apic/ipi", test_ipi);
    g_test_add_func("/apic/logical", test_logical);
    g_test_add_func("/apic/lowest-priority", test_lowest_priority);
    g_test_add_func("/apic/local-sources", test_local_sources);
    g_test_add_func("/apic/lint0-extint", test_lint0_extint);
    g_test_add_func("/apic/timer/oneshot", test_timer_oneshot);
    g_test_add_func("/apic/timer/periodic", test_timer_periodic);
    g_test_add_func("/apic/timer/tsc-deadline", test_timer_tsc_deadline);
    g_test_add_func("/apic/base-msr", test_base_msr);
    return g_test_run();
}
