/*
 * Machine life cycle: configuration defaults, reset hooks, and the requests
 * (shutdown, reset) that devices and vCPU threads make and the main loop
 * carries out.
 */
#include <glib.h>
#include "hw/pc.h"
#include "log.h"
#include "main-loop.h"
#include "timer.h"

static Machine *the_machine;

typedef struct ResetHook {
    ResetFn fn;
    void *opaque;
} ResetHook;

static GArray *reset_hooks;     /* ResetHook, of the_machine */

void machine_config_init(MachineConfig *cfg)
{
    *cfg = (MachineConfig){
        .ram_size = 128ULL << 20,
        .smp = 1,
        .accel = g_strdup("auto"),
        .boot_order = g_strdup("c"),
    };
}

void machine_config_clear(MachineConfig *cfg)
{
    g_free(cfg->accel);
    g_free(cfg->bios);
    g_free(cfg->kernel);
    g_free(cfg->initrd);
    g_free(cfg->append);
    for (int i = 0; i < MACHINE_MAX_SERIAL; i++) {
        g_free(cfg->serial[i]);
    }
    g_free(cfg->logfile);
    g_free(cfg->boot_order);
    *cfg = (MachineConfig){0};
}

Machine *current_machine(void)
{
    return the_machine;
}

void machine_set_current(Machine *m)
{
    the_machine = m;
    if (!reset_hooks) {
        reset_hooks = g_array_new(FALSE, FALSE, sizeof(ResetHook));
    }
    g_array_set_size(reset_hooks, 0);
}

void machine_add_reset_hook(Machine *m, ResetFn fn, void *opaque)
{
    ResetHook h = { fn, opaque };
    if (!reset_hooks) {
        reset_hooks = g_array_new(FALSE, FALSE, sizeof(ResetHook));
    }
    g_array_append_val(reset_hooks, h);
}

void machine_run_reset_hooks(Machine *m)
{
    for (guint i = 0; reset_hooks && i < reset_hooks->len; i++) {
        ResetHook *h = &g_array_index(reset_hooks, ResetHook, i);
        h->fn(h->opaque);
    }
}

static const char *cause_name(ShutdownCause c)
{
    switch (c) {
    case SHUTDOWN_GUEST_POWEROFF: return "guest powered off";
    case SHUTDOWN_GUEST_RESET: return "guest reset";
    case SHUTDOWN_TRIPLE_FAULT: return "triple fault";
    case SHUTDOWN_HALTED: return "guest halted with interrupts disabled";
    case SHUTDOWN_EXIT_PORT: return "test-exit port";
    case SHUTDOWN_HOST_QUIT: return "quit requested";
    case SHUTDOWN_INTERNAL_ERROR: return "internal error";
    default: return "none";
    }
}

typedef struct Request {
    Machine *m;
    ShutdownCause cause;
    int status;
    bool reset;
} Request;

static gboolean handle_request(gpointer data)
{
    Request *r = data;
    Machine *m = r->m;

    if (m->state == RUN_STATE_SHUTDOWN) {
        /* The first request to end the machine wins. */
    } else if (r->reset && !m->cfg->no_reboot) {
        vlog("reset: %s", cause_name(r->cause));
        machine_reset(m);
    } else {
        m->state = RUN_STATE_SHUTDOWN;
        m->shutdown_cause = r->cause;
        m->exit_status = r->status;
        vlog("machine ends: %s, exit status %d", cause_name(r->cause), r->status);
        if (r->cause == SHUTDOWN_TRIPLE_FAULT || r->cause == SHUTDOWN_HALTED ||
            r->cause == SHUTDOWN_INTERNAL_ERROR) {
            verror("%s", cause_name(r->cause));
        }
        main_loop_quit(r->status);
    }
    g_free(r);
    return G_SOURCE_REMOVE;
}

static void post_request(Machine *m, ShutdownCause cause, int status, bool reset)
{
    Request *r = g_new(Request, 1);
    *r = (Request){ m, cause, status, reset };
    g_idle_add(handle_request, r);
}

void machine_request_shutdown(Machine *m, ShutdownCause cause, int exit_status)
{
    post_request(m, cause, exit_status, false);
}

void machine_request_reset(Machine *m, ShutdownCause cause)
{
    /* With -no-reboot a reset ends vmkemu, with status 0 as QEMU does. */
    post_request(m, cause, 0, true);
}
