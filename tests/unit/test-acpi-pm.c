/*
 * The ACPI PM block (hw/acpi-pm.c), driven through its I/O ports: PM1
 * status/enable (write 1 to clear), PM1 control (SCI_EN, S5), the 32-bit
 * PM timer on the manual virtual clock, the SCI on GSI 9.
 */
#include <string.h>
#include <glib.h>
#include "hw/acpi.h"
#include "hw/pc.h"
#include "main-loop.h"
#include "timer.h"

#define STS (ACPI_PM_BASE + ACPI_PM1_EVT_OFF)
#define EN  (ACPI_PM_BASE + ACPI_PM1_EVT_OFF + 2)
#define CNT (ACPI_PM_BASE + ACPI_PM1_CNT_OFF)
#define TMR (ACPI_PM_BASE + ACPI_PM_TMR_OFF)

typedef struct Fixture {
    Machine *m;
    MachineConfig cfg;
    AcpiPm *pm;
    int sci_level, sci_changes;
} Fixture;

static void sci_probe(void *opaque, int n, int level)
{
    Fixture *f = opaque;
    if (n == ACPI_SCI_GSI) {
        f->sci_changes += f->sci_level != level;
        f->sci_level = level;
    }
}

static void setup(Fixture *f, gconstpointer data)
{
    memset(f, 0, sizeof(*f));
    vclock_set_manual(0);
    machine_config_init(&f->cfg);
    f->m = g_new0(Machine, 1);
    f->m->cfg = &f->cfg;
    f->m->as = as_new();
    machine_set_current(f->m);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        f->m->gsi[i] = irq_line_new(sci_probe, f, i);
    }
    f->pm = acpi_pm_new(f->m);
}

static void teardown(Fixture *f, gconstpointer data)
{
    acpi_pm_free(f->pm);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        irq_line_free(f->m->gsi[i]);
    }
    as_free(f->m->as);
    machine_set_current(NULL);
    g_free(f->m);
    machine_config_clear(&f->cfg);
}

static uint32_t in(Fixture *f, uint16_t port, unsigned size)
{
    return as_port_read(f->m->as, port, size);
}

static void out(Fixture *f, uint16_t port, uint32_t v, unsigned size)
{
    as_port_write(f->m->as, port, v, size);
}

static void test_reset_state(Fixture *f, gconstpointer data)
{
    g_assert_cmphex(in(f, STS, 2), ==, 0);
    g_assert_cmphex(in(f, EN, 2), ==, 0);
    g_assert_cmphex(in(f, CNT, 2), ==, ACPI_PM1_SCI_EN);
    /* A dword at the event block reads status and enable together. */
    out(f, EN, ACPI_PM1_PWRBTN | ACPI_PM1_TMR, 2);
    g_assert_cmphex(in(f, STS, 4), ==, (ACPI_PM1_PWRBTN | ACPI_PM1_TMR) << 16);
    /* Unimplemented enable bits stay 0; bytes are writable separately. */
    out(f, EN, 0xffff, 2);
    g_assert_cmphex(in(f, EN, 2), ==, ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN |
                    ACPI_PM1_SLPBTN | ACPI_PM1_RTC);
    out(f, EN + 1, 0x00, 1);
    g_assert_cmphex(in(f, EN, 2), ==, ACPI_PM1_TMR | ACPI_PM1_GBL);
    /* SCI_EN cannot be cleared: there is no legacy mode. */
    out(f, CNT, 0, 2);
    g_assert_cmphex(in(f, CNT, 2), ==, ACPI_PM1_SCI_EN);
    acpi_pm_reset(f->pm);
    g_assert_cmphex(in(f, EN, 2), ==, 0);
}

static void test_timer(Fixture *f, gconstpointer data)
{
    g_assert_cmpuint(in(f, TMR, 4), ==, 0);
    vclock_advance(NS_PER_SEC);
    g_assert_cmpuint(in(f, TMR, 4), ==, 3579545);
    vclock_advance(1000);                       /* 1 us: 3.58 ticks */
    g_assert_cmpuint(in(f, TMR, 4), ==, 3579548);
    /* Byte reads see the same counter. */
    uint32_t v = in(f, TMR, 1) | in(f, TMR + 1, 1) << 8 | in(f, TMR + 2, 1) << 16 |
                 in(f, TMR + 3, 1) << 24;
    g_assert_cmpuint(v, ==, 3579548);
    /* Read-only: writes change nothing. */
    out(f, TMR, 0, 4);
    g_assert_cmpuint(in(f, TMR, 4), ==, 3579548);
    g_assert_cmpuint(acpi_pm_timer_value(f->pm), ==, 3579548);
}

/* Virtual time at which the timer reaches `ticks`. */
static int64_t ns_for(uint64_t ticks)
{
    return (int64_t)(((unsigned __int128)ticks * NS_PER_SEC + ACPI_PM_TIMER_HZ - 1) /
                     ACPI_PM_TIMER_HZ);
}

static void test_timer_overflow_sci(Fixture *f, gconstpointer data)
{
    /* Bit 31 first changes at 2^31 ticks (about 600 s). */
    vclock_advance(ns_for(1ULL << 31) - 1);
    g_assert_cmphex(in(f, STS, 2) & ACPI_PM1_TMR, ==, 0);
    vclock_advance(1);
    g_assert_cmphex(in(f, STS, 2) & ACPI_PM1_TMR, ==, ACPI_PM1_TMR);
    g_assert_cmpuint(in(f, TMR, 4), ==, 1u << 31);
    g_assert_cmpint(f->sci_level, ==, 0);       /* not enabled */
    out(f, EN, ACPI_PM1_TMR, 2);
    g_assert_cmpint(f->sci_level, ==, 1);
    /* Writing 0 leaves the status; writing 1 clears it and the SCI. */
    out(f, STS, 0, 2);
    g_assert_cmpint(f->sci_level, ==, 1);
    out(f, STS, ACPI_PM1_TMR, 2);
    g_assert_cmphex(in(f, STS, 2), ==, 0);
    g_assert_cmpint(f->sci_level, ==, 0);
    /* And again when bit 31 falls at 2^32 ticks: the counter wraps. */
    vclock_advance(ns_for(1ULL << 32) - vclock_ns());
    g_assert_cmpint(f->sci_level, ==, 1);
    g_assert_cmpuint(in(f, TMR, 4), ==, 0);
}

static void test_power_button(Fixture *f, gconstpointer data)
{
    acpi_pm_press_power_button(f->pm);
    g_assert_cmphex(in(f, STS, 2), ==, ACPI_PM1_PWRBTN);
    g_assert_cmpint(f->sci_level, ==, 0);
    out(f, EN + 1, ACPI_PM1_PWRBTN >> 8, 1);
    g_assert_cmpint(f->sci_level, ==, 1);
    out(f, STS + 1, ACPI_PM1_PWRBTN >> 8, 1);    /* byte-wide clear */
    g_assert_cmpint(f->sci_level, ==, 0);
    g_assert_cmpint(f->sci_changes, ==, 2);
}

static void run_requests(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

static void test_sleep_s5(Fixture *f, gconstpointer data)
{
    main_loop_init();
    /* SLP_TYP alone, or another type with SLP_EN, does not power off. */
    out(f, CNT, ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT, 2);
    g_assert_cmphex(in(f, CNT, 2), ==,
                    ACPI_PM1_SCI_EN | ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT);
    out(f, CNT, 5 << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN, 2);
    run_requests();
    g_assert_cmpint(f->m->state, !=, RUN_STATE_SHUTDOWN);
    /* SLP_EN reads back as 0. */
    g_assert_cmphex(in(f, CNT, 2) & ACPI_PM1_SLP_EN, ==, 0);

    /* S5: the high byte carries both SLP_TYP and SLP_EN. */
    out(f, CNT + 1, (ACPI_SLP_TYP_S5 << 2) | (ACPI_PM1_SLP_EN >> 8), 1);
    run_requests();
    g_assert_cmpint(f->m->state, ==, RUN_STATE_SHUTDOWN);
    g_assert_cmpint(f->m->shutdown_cause, ==, SHUTDOWN_GUEST_POWEROFF);
    g_assert_cmpint(f->m->exit_status, ==, 0);
}

static void test_reset_hook(Fixture *f, gconstpointer data)
{
    out(f, EN, ACPI_PM1_PWRBTN, 2);
    acpi_pm_press_power_button(f->pm);
    g_assert_cmpint(f->sci_level, ==, 1);
    machine_run_reset_hooks(f->m);
    g_assert_cmpint(f->sci_level, ==, 0);
    g_assert_cmphex(in(f, STS, 2), ==, 0);
    g_assert_cmphex(in(f, EN, 2), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/acpi-pm/" name, Fixture, NULL, setup, fn, teardown)
    ADD("reset-state", test_reset_state);
    ADD("timer", test_timer);
    ADD("timer-overflow-sci", test_timer_overflow_sci);
    ADD("power-button", test_power_button);
    ADD("sleep-s5", test_sleep_s5);
    ADD("reset-hook", test_reset_hook);
    return g_test_run();
}
