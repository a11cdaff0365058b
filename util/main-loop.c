/*
 * The main loop and the big lock (see include/main-loop.h).
 *
 * The GLib default context is polled with a poll function that drops the big
 * lock while it waits, so every main-loop callback runs holding it, exactly
 * like a vCPU thread inside a device model.  A custom source fires the
 * virtual-clock timers and tells poll how long it may sleep.
 */
#include <glib.h>
#include "main-loop.h"
#include "timer.h"

static GMutex lock;
static GThread *holder;
static GMainLoop *loop;
static int exit_status;

void big_lock(void)
{
    g_mutex_lock(&lock);
    holder = g_thread_self();
}

void big_unlock(void)
{
    holder = NULL;
    g_mutex_unlock(&lock);
}

bool big_lock_held(void)
{
    return holder == g_thread_self();
}

static gint unlocked_poll(GPollFD *fds, guint nfds, gint timeout)
{
    big_unlock();
    gint r = g_poll(fds, nfds, timeout);
    big_lock();
    return r;
}

/* Timer source: ready when the earliest deadline has passed. */
static gboolean timers_prepare(GSource *src, gint *timeout)
{
    int64_t wait = vtimers_run_due();
    if (wait < 0) {
        *timeout = -1;
    } else {
        /* Round up so we do not wake just before the deadline. */
        *timeout = (gint)MIN((wait + 999999) / 1000000, G_MAXINT);
    }
    return FALSE;
}

static gboolean timers_check(GSource *src)
{
    return FALSE;
}

static gboolean timers_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_source_funcs = {
    .prepare = timers_prepare,
    .check = timers_check,
    .dispatch = timers_dispatch,
};

void main_loop_wakeup(void)
{
    g_main_context_wakeup(NULL);
}

void main_loop_init(void)
{
    if (loop) {
        return;
    }
    big_lock();
    g_main_context_set_poll_func(NULL, unlocked_poll);
    GSource *src = g_source_new(&timer_source_funcs, sizeof(GSource));
    g_source_set_priority(src, G_PRIORITY_HIGH);
    g_source_attach(src, NULL);
    g_source_unref(src);
    vtimers_set_wakeup(main_loop_wakeup);
    loop = g_main_loop_new(NULL, FALSE);
}

int main_loop_run(void)
{
    g_main_loop_run(loop);
    return exit_status;
}

void main_loop_quit(int status)
{
    exit_status = status;
    g_main_loop_quit(loop);
    main_loop_wakeup();
}
