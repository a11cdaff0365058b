/*
 * Virtual clock, timers and IRQ lines (hw/core/timer.c, hw/core/irq.c).
 */
#include <glib.h>
#include "timer.h"
#include "irq.h"

typedef struct Fired {
    int count;
    int64_t at[8];
    VTimer *rearm;
    int64_t period;
} Fired;

static void on_timer(void *opaque)
{
    Fired *f = opaque;
    if (f->count < 8) {
        f->at[f->count] = vclock_ns();
    }
    f->count++;
    if (f->rearm && f->count < 4) {
        vtimer_mod(f->rearm, vclock_ns() + f->period);
    }
}

static void test_manual_clock_order(void)
{
    vclock_set_manual(1000);
    Fired a = {0}, b = {0};
    VTimer *ta = vtimer_new(on_timer, &a), *tb = vtimer_new(on_timer, &b);
    vtimer_mod(ta, 5000);
    vtimer_mod(tb, 3000);
    g_assert_cmpint(vtimer_deadline(tb), ==, 3000);
    vclock_advance(1500);                 /* now 2500: nothing due */
    g_assert_cmpint(a.count + b.count, ==, 0);
    vclock_advance(10000);
    g_assert_cmpint(b.count, ==, 1);
    g_assert_cmpint(b.at[0], ==, 3000);   /* callbacks see their deadline */
    g_assert_cmpint(a.at[0], ==, 5000);
    g_assert_cmpint(vclock_ns(), ==, 12500);
    g_assert_false(vtimer_pending(ta));
    vtimer_free(ta);
    vtimer_free(tb);
}

static void test_rearm_and_delete(void)
{
    vclock_set_manual(0);
    Fired f = {0};
    VTimer *t = vtimer_new(on_timer, &f);
    f.rearm = t;
    f.period = 100;
    vtimer_mod(t, 100);
    vclock_advance(1000);
    g_assert_cmpint(f.count, ==, 4);       /* re-armed three times */
    g_assert_cmpint(f.at[3], ==, 400);
    vtimer_mod(t, 2000);
    vtimer_del(t);
    vclock_advance(5000);
    g_assert_cmpint(f.count, ==, 4);
    g_assert_cmpint(vtimer_deadline(t), ==, -1);
    /* Moving a timer earlier and later. */
    f.rearm = NULL;
    vtimer_mod(t, vclock_ns() + 500);
    vtimer_mod(t, vclock_ns() + 50);
    vclock_advance(60);
    g_assert_cmpint(f.count, ==, 5);
    vtimer_free(t);
}

static void test_run_due_reports_wait(void)
{
    vclock_set_manual(0);
    Fired f = {0};
    VTimer *t = vtimer_new(on_timer, &f);
    g_assert_cmpint(vtimers_run_due(), ==, -1);
    vtimer_mod(t, 700);
    g_assert_cmpint(vtimers_run_due(), ==, 700);
    vtimer_free(t);
    g_assert_cmpint(vtimers_run_due(), ==, -1);
}

typedef struct Level {
    int n, level, calls;
} Level;

static void on_irq(void *opaque, int n, int level)
{
    Level *l = opaque;
    l->n = n;
    l->level = level;
    l->calls++;
}

static void test_irq_lines(void)
{
    Level l = {0};
    IrqLine **lines = irq_lines_new(on_irq, &l, 4);
    irq_raise(lines[3]);
    g_assert_cmpint(l.n, ==, 3);
    g_assert_cmpint(l.level, ==, 1);
    g_assert_cmpint(lines[3]->level, ==, 1);
    irq_set(lines[2], 42);                 /* any non-zero level is 1 */
    g_assert_cmpint(l.level, ==, 1);
    irq_pulse(lines[1]);
    g_assert_cmpint(l.level, ==, 0);
    g_assert_cmpint(l.calls, ==, 4);
    irq_set(NULL, 1);                      /* unconnected: no effect */
    irq_lines_free(lines, 4);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/timer/manual-order", test_manual_clock_order);
    g_test_add_func("/timer/rearm-delete", test_rearm_and_delete);
    g_test_add_func("/timer/run-due", test_run_due_reports_wait);
    g_test_add_func("/irq/lines", test_irq_lines);
    return g_test_run();
}
