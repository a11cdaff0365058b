/*
 * The virtual clock and its timers (see include/timer.h).
 *
 * Pending timers sit in a list sorted by deadline.  The list is guarded by
 * its own mutex because vCPU threads arm timers (a guest programming the PIT)
 * while the main loop runs them; callbacks run without that mutex held, so a
 * callback may re-arm its own timer.
 */
#include <time.h>
#include <glib.h>
#include "timer.h"

struct VTimer {
    VTimerFn fn;
    void *opaque;
    int64_t deadline;       /* -1 when not pending */
};

static GMutex timer_lock;
static GList *pending;      /* VTimer *, by deadline */
static void (*wakeup_fn)(void);

/* Clock state: virtual = host_now - offset while running; frozen while
 * stopped.  In manual mode only vclock_advance moves `manual_now`. */
static bool manual;
static int64_t manual_now;
static bool running = true;
static bool clock_initialised;
static int64_t offset;
static int64_t stopped_at;

static int64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t vclock_ns(void)
{
    if (manual) {
        return manual_now;
    }
    if (!clock_initialised) {
        clock_initialised = true;
        offset = host_ns();
    }
    return running ? host_ns() - offset : stopped_at;
}

void vclock_stop(void)
{
    if (running && !manual) {
        stopped_at = vclock_ns();
    }
    running = false;
}

void vclock_start(void)
{
    if (!running && !manual) {
        offset = host_ns() - stopped_at;
    }
    running = true;
    if (wakeup_fn) {
        wakeup_fn();
    }
}

void vclock_set(int64_t ns)
{
    if (manual) {
        manual_now = ns;
    } else if (running) {
        clock_initialised = true;
        offset = host_ns() - ns;
    } else {
        clock_initialised = true;
        stopped_at = ns;
    }
    if (wakeup_fn) {
        wakeup_fn();
    }
}

bool vclock_running(void)
{
    return running;
}

void vclock_set_manual(int64_t start_ns)
{
    manual = true;
    manual_now = start_ns;
}

void vclock_advance(int64_t ns)
{
    int64_t target = manual_now + ns;
    /* Step through deadlines so callbacks see the time they expected. */
    for (;;) {
        g_mutex_lock(&timer_lock);
        VTimer *t = pending ? pending->data : NULL;
        bool due = t && t->deadline <= target;
        g_mutex_unlock(&timer_lock);
        if (!due) {
            break;
        }
        if (t->deadline > manual_now) {
            manual_now = t->deadline;
        }
        vtimers_run_due();
    }
    manual_now = target;
}

VTimer *vtimer_new(VTimerFn fn, void *opaque)
{
    VTimer *t = g_new0(VTimer, 1);
    t->fn = fn;
    t->opaque = opaque;
    t->deadline = -1;
    return t;
}

void vtimer_free(VTimer *t)
{
    if (t) {
        vtimer_del(t);
        g_free(t);
    }
}

static gint by_deadline(gconstpointer a, gconstpointer b)
{
    const VTimer *x = a, *y = b;
    return x->deadline < y->deadline ? -1 : x->deadline > y->deadline;
}

void vtimer_mod(VTimer *t, int64_t deadline_ns)
{
    bool first;
    if (deadline_ns < 0) {
        deadline_ns = 0;
    }
    g_mutex_lock(&timer_lock);
    if (t->deadline >= 0) {
        pending = g_list_remove(pending, t);
    }
    t->deadline = deadline_ns;
    pending = g_list_insert_sorted(pending, t, by_deadline);
    first = pending->data == t;
    g_mutex_unlock(&timer_lock);
    if (first && wakeup_fn) {
        wakeup_fn();
    }
}

void vtimer_del(VTimer *t)
{
    g_mutex_lock(&timer_lock);
    if (t->deadline >= 0) {
        pending = g_list_remove(pending, t);
        t->deadline = -1;
    }
    g_mutex_unlock(&timer_lock);
}

bool vtimer_pending(const VTimer *t)
{
    return t->deadline >= 0;
}

int64_t vtimer_deadline(const VTimer *t)
{
    return t->deadline;
}

int64_t vtimers_run_due(void)
{
    for (;;) {
        int64_t now = vclock_ns();
        g_mutex_lock(&timer_lock);
        VTimer *t = pending ? pending->data : NULL;
        if (!t || !running) {
            g_mutex_unlock(&timer_lock);
            return -1;
        }
        if (t->deadline > now) {
            int64_t wait = t->deadline - now;
            g_mutex_unlock(&timer_lock);
            return wait;
        }
        pending = g_list_delete_link(pending, pending);
        t->deadline = -1;
        g_mutex_unlock(&timer_lock);
        t->fn(t->opaque);
    }
}

void vtimers_set_wakeup(void (*fn)(void))
{
    wakeup_fn = fn;
}
