/*
 * Machine life cycle: configuration defaults, reset hooks, and the requests
 * (shutdown, reset) that devices and vCPU threads make and the main loop
 * carries out.
 */
#include <glib.h>
#include "hw/pc.h"
#include "log.h"
#include "main-loop.h"
#include "monitor.h"
#include "timer.h"
#include "vmstate.h"

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
    g_free(cfg->name);
    for (int i = 0; i < cfg->nqmp; i++) {
        g_free(cfg->qmp[i]);
    }
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
    for (int i = 0; i < cfg->nnetdev; i++) {
        net_netdev_config_clear(&cfg->netdev[i]);
    }
    for (int i = 0; i < cfg->nnic; i++) {
        net_nic_config_clear(&cfg->nic[i]);
    }
    for (int i = 0; i < cfg->ndrives; i++) {
        machine_drive_clear(&cfg->drives[i]);
    }
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

void machine_add_vmstate(Machine *m, const char *id,
                         const VMStateDescription *vmsd, void *opaque)
{
    if (!m->vmstate) {
        m->vmstate = vmstate_list_new();
    }
    vmstate_list_add(m->vmstate, id, vmsd, opaque);
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
    case SHUTDOWN_HOST_RESET: return "reset requested";
    case SHUTDOWN_HOST_SIGNAL: return "ended by a signal";
    case SHUTDOWN_HOST_SUSPEND: return "suspended to disk";
    case SHUTDOWN_INTERNAL_ERROR: return "internal error";
    default: return "none";
    }
}

/* QMP's names for why the machine reset or ended. */
static const char *cause_qmp_name(ShutdownCause c)
{
    switch (c) {
    case SHUTDOWN_GUEST_POWEROFF: return "guest-shutdown";
    case SHUTDOWN_GUEST_RESET: return "guest-reset";
    case SHUTDOWN_TRIPLE_FAULT: return "guest-panic";
    case SHUTDOWN_HALTED: return "guest-panic";
    case SHUTDOWN_EXIT_PORT: return "guest-shutdown";
    case SHUTDOWN_HOST_QUIT: return "host-qmp-quit";
    case SHUTDOWN_HOST_RESET: return "host-qmp-system-reset";
    case SHUTDOWN_HOST_SIGNAL: return "host-signal";
    case SHUTDOWN_HOST_SUSPEND: return "host-qmp-quit";
    case SHUTDOWN_INTERNAL_ERROR: return "host-error";
    default: return "none";
    }
}

static void emit_with_cause(const char *event, ShutdownCause cause)
{
    JsonObject *data = json_object_new();
    bool guest = cause != SHUTDOWN_HOST_QUIT && cause != SHUTDOWN_HOST_RESET &&
                 cause != SHUTDOWN_HOST_SIGNAL && cause != SHUTDOWN_HOST_SUSPEND &&
                 cause != SHUTDOWN_INTERNAL_ERROR && cause != SHUTDOWN_NONE;
    json_object_set_boolean_member(data, "guest", guest);
    json_object_set_string_member(data, "reason", cause_qmp_name(cause));
    monitor_event(event, data);
}

void machine_pause(Machine *m)
{
    if (m->state != RUN_STATE_RUNNING) {
        return;
    }
    m->accel->pause(m);
    vclock_stop();
    m->state = RUN_STATE_PAUSED;
    monitor_event("STOP", NULL);
}

void machine_resume(Machine *m)
{
    if (m->state != RUN_STATE_PAUSED) {
        return;
    }
    vclock_start();
    m->state = RUN_STATE_RUNNING;
    m->accel->resume(m);
    monitor_event("RESUME", NULL);
}

void machine_request_powerdown(Machine *m)
{
    monitor_event("POWERDOWN", NULL);
    if (m->power_button) {
        m->power_button(m->power_button_opaque);
    } else {
        vlog("power button pressed, but the machine has no ACPI power button");
    }
}

const char *machine_state_name(const Machine *m)
{
    switch (m->state) {
    case RUN_STATE_PRELAUNCH: return "prelaunch";
    case RUN_STATE_RUNNING: return "running";
    case RUN_STATE_PAUSED: return "paused";
    case RUN_STATE_SHUTDOWN: return "shutdown";
    }
    return "internal-error";
}

typedef struct Request {
    Machine *m;
    ShutdownCause cause;
    int status;
    bool reset;
    uint64_t generation;        /* m->reset_generation when made */
} Request;

/* Requests that come from the guest's own actions. */
static bool from_guest(ShutdownCause c)
{
    return c == SHUTDOWN_GUEST_POWEROFF || c == SHUTDOWN_GUEST_RESET ||
           c == SHUTDOWN_TRIPLE_FAULT || c == SHUTDOWN_HALTED ||
           c == SHUTDOWN_EXIT_PORT;
}

static gboolean handle_request(gpointer data)
{
    Request *r = data;
    Machine *m = r->m;

    if (m->state == RUN_STATE_SHUTDOWN) {
        /* The first request to end the machine wins. */
    } else if (from_guest(r->cause) && r->generation != m->reset_generation) {
        vlog("dropped a request of the guest before its reset: %s", cause_name(r->cause));
    } else if (r->reset && !m->cfg->no_reboot) {
        vlog("reset: %s", cause_name(r->cause));
        machine_reset(m);
        emit_with_cause("RESET", r->cause);
    } else {
        emit_with_cause("SHUTDOWN", r->cause);
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
    *r = (Request){ m, cause, status, reset, m->reset_generation };
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
