/*
 * The KVM vCPU threads: one per vCPU, each looping on KVM_RUN and carrying
 * out what the guest asked for when it exits (api.rst 4.10 KVM_RUN and
 * 5. "The kvm_run structure").
 *
 * Exits: port I/O (every size and count, so string I/O too) and MMIO go to
 * hw/core under the big lock; hlt (only seen without the in-kernel
 * irqchip) waits for an interrupt, or ends the machine when interrupts are
 * off (reported through the main loop, so that a reset requested just
 * before wins); a shutdown exit (triple fault) asks for a reset; entry failures,
 * internal errors and unexpected exits end the machine with a message that
 * names the exit and the guest's RIP.  A vCPU that ended like this stays
 * stopped until the machine is reset or destroyed.
 *
 * Kicks: another thread makes a vCPU leave KVM_RUN by setting
 * kvm_run.immediate_exit (so a kick that comes just before KVM_RUN is not
 * lost) and sending it KVM_KICK_SIGNAL, whose handler does nothing but makes
 * KVM_RUN return EINTR.  A vCPU thread clears immediate_exit right after
 * KVM_RUN returns and only then looks at what it was kicked for.
 *
 * Userspace irqchip: before each KVM_RUN the thread looks at the level of
 * the machine's INTR line (m->intr_pending).  When it is high and KVM says
 * the guest can take an interrupt (ready_for_interrupt_injection), it
 * acknowledges the interrupt controller (m->intack) and injects the vector
 * with KVM_INTERRUPT; otherwise it asks KVM to exit as soon as the guest
 * can (request_interrupt_window).
 *
 * hlt with interrupts off: with the in-kernel irqchip KVM keeps a halted
 * vCPU inside KVM_RUN and never reports the hlt, so a watchdog on the main
 * loop kicks every vCPU each KVM_WATCHDOG_MS; a kicked vCPU reads its MP
 * state and RFLAGS and reports itself stuck when it is halted with IF=0 or
 * waiting for INIT/SIPI.  When every vCPU reported stuck in two rounds in a
 * row nothing in the machine can wake any of them (vmkemu has no NMI source)
 * and the machine ends with SHUTDOWN_HALTED.  A vCPU halted with IF=1 and
 * every interrupt masked is not detected: an interrupt controller could
 * still be reprogrammed by another vCPU or the monitor.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"
#include "log.h"
#include "main-loop.h"

#define KVM_KICK_SIGNAL     SIGUSR1
#define KVM_WATCHDOG_MS     100

static __thread KvmVcpu *current_vcpu;

static void kick_signal_handler(int sig)
{
    (void)sig;
}

void kvm_kick_signal_init(void)
{
    static gsize done;
    if (g_once_init_enter(&done)) {
        struct sigaction sa = { .sa_handler = kick_signal_handler };
        sigemptyset(&sa.sa_mask);
        /* KVM_RUN returns EINTR regardless; other calls just go on. */
        sa.sa_flags = SA_RESTART;
        sigaction(KVM_KICK_SIGNAL, &sa, NULL);
        g_once_init_leave(&done, 1);
    }
}

void kvm_vcpu_kick(KvmVcpu *v)
{
    KvmState *s = v->s;

    /* Wake it if it waits in userspace (hlt, stopped). */
    g_mutex_lock(&s->lock);
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    if (current_vcpu == v || !v->thread_started) {
        return;     /* it looks at its state before it enters KVM_RUN again */
    }
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(v->thread, KVM_KICK_SIGNAL);
}

/* --- stopping a vCPU for good (until reset) ------------------------------ */

static uint64_t vcpu_rip(KvmVcpu *v, uint16_t *cs)
{
    struct kvm_regs r;
    struct kvm_sregs sr;
    *cs = 0;
    if (kvm_ioctl(v->fd, KVM_GET_SREGS, &sr) == 0) {
        *cs = sr.cs.selector;
    }
    return kvm_ioctl(v->fd, KVM_GET_REGS, &r) == 0 ? r.rip : ~0ULL;
}

static void vcpu_stop(KvmVcpu *v)
{
    g_mutex_lock(&v->s->lock);
    v->stopped = true;
    g_mutex_unlock(&v->s->lock);
}

/* The guest cannot go on: say why (with the guest's RIP) and end. */
static void G_GNUC_PRINTF(2, 3) vcpu_fail(KvmVcpu *v, const char *fmt, ...)
{
    va_list ap;
    uint16_t cs;
    va_start(ap, fmt);
    char *why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    uint64_t rip = vcpu_rip(v, &cs);
    verror("kvm: vCPU %d: %s at RIP %04x:%016" G_GINT64_MODIFIER "x", v->index, why, cs, rip);
    g_free(why);
    vcpu_stop(v);
    big_lock();
    machine_request_shutdown(v->s->m, SHUTDOWN_INTERNAL_ERROR, 1);
    big_unlock();
}

/* --- exits --------------------------------------------------------------- */

static void vcpu_exit_io(KvmVcpu *v)
{
    struct kvm_run *run = v->run;
    AddressSpace *as = v->s->m->as;
    unsigned size = run->io.size;
    uint64_t span = (uint64_t)run->io.count * size;

    if ((size != 1 && size != 2 && size != 4) ||
        run->io.data_offset + span > (uint64_t)v->s->run_size) {
        vcpu_fail(v, "malformed port I/O exit (port 0x%x, size %u, count %u)",
                  run->io.port, size, run->io.count);
        return;
    }
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    big_lock();
    for (uint32_t i = 0; i < run->io.count; i++) {
        uint32_t val = 0;
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            memcpy(&val, data + i * size, size);
            as_port_write(as, run->io.port, val, size);
        } else {
            val = as_port_read(as, run->io.port, size);
            memcpy(data + i * size, &val, size);
        }
    }
    big_unlock();
}

static void vcpu_exit_mmio(KvmVcpu *v)
{
    struct kvm_run *run = v->run;
    AddressSpace *as = v->s->m->as;
    unsigned len = run->mmio.len;
    uint64_t addr = run->mmio.phys_addr;

    if (len == 0 || len > sizeof(run->mmio.data)) {
        vcpu_fail(v, "malformed MMIO exit (address 0x%" G_GINT64_MODIFIER "x, length %u)",
                  addr, len);
        return;
    }
    bool natural = len == 1 || len == 2 || len == 4 || len == 8;
    big_lock();
    if (run->mmio.is_write) {
        if (natural) {
            uint64_t val = 0;
            memcpy(&val, run->mmio.data, len);
            as_mmio_write(as, addr, val, len);
        } else {
            as_write(as, addr, run->mmio.data, len);
        }
    } else {
        if (natural) {
            uint64_t val = as_mmio_read(as, addr, len);
            memcpy(run->mmio.data, &val, len);
        } else {
            as_read(as, addr, run->mmio.data, len);
        }
    }
    big_unlock();
}

/* Main loop: a vCPU still halted for good (no reset since) ends the
 * machine. */
static gboolean halt_report(gpointer opaque)
{
    KvmState *s = opaque;
    bool halted = false;

    s->halt_report_source = 0;
    g_mutex_lock(&s->lock);
    for (int i = 0; i < s->nvcpus; i++) {
        halted |= s->vcpus[i].halted_for_good;
    }
    g_mutex_unlock(&s->lock);
    if (halted) {
        machine_request_shutdown(s->m, SHUTDOWN_HALTED, 0);
    }
    return G_SOURCE_REMOVE;
}

/* hlt without the in-kernel irqchip (KVM has already stepped over it). */
static void vcpu_exit_hlt(KvmVcpu *v)
{
    struct kvm_regs r;
    int ret = kvm_ioctl(v->fd, KVM_GET_REGS, &r);
    if (ret < 0) {
        vcpu_fail(v, "KVM_GET_REGS after hlt failed: %s", g_strerror(-ret));
        return;
    }
    if (!(r.rflags & X86_FLAGS_IF)) {
        KvmState *s = v->s;
        vlog("kvm: vCPU %d: hlt with interrupts off at RIP 0x%" G_GINT64_MODIFIER "x",
             v->index, (uint64_t)r.rip);
        /* Reported from the main loop, after the requests already queued
         * there: a reset the guest asked for just before (an i8042 reset
         * followed by cli; hlt) comes first and makes this one moot. */
        g_mutex_lock(&s->lock);
        v->stopped = true;
        v->halted_for_good = true;
        g_mutex_unlock(&s->lock);
        big_lock();
        if (!s->halt_report_source) {
            s->halt_report_source = g_idle_add(halt_report, s);
        }
        big_unlock();
        return;
    }
    g_mutex_lock(&v->s->lock);
    v->halted = true;
    g_mutex_unlock(&v->s->lock);
}

static void vcpu_exit_system_event(KvmVcpu *v)
{
    Machine *m = v->s->m;
    switch (v->run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        vcpu_stop(v);
        big_lock();
        machine_request_shutdown(m, SHUTDOWN_GUEST_POWEROFF, 0);
        big_unlock();
        break;
    case KVM_SYSTEM_EVENT_RESET:
        vcpu_stop(v);
        big_lock();
        machine_request_reset(m, SHUTDOWN_GUEST_RESET);
        big_unlock();
        break;
    default:
        vcpu_fail(v, "KVM system event %u", v->run->system_event.type);
        break;
    }
}

static void vcpu_handle_exit(KvmVcpu *v)
{
    struct kvm_run *run = v->run;

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        vcpu_exit_io(v);
        break;
    case KVM_EXIT_MMIO:
        vcpu_exit_mmio(v);
        break;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
    case KVM_EXIT_INTR:
        break;      /* the loop injects what is pending */
    case KVM_EXIT_HLT:
        vcpu_exit_hlt(v);
        break;
    case KVM_EXIT_SHUTDOWN: {
        uint16_t cs;
        uint64_t rip = vcpu_rip(v, &cs);
        vlog("kvm: vCPU %d: triple fault (shutdown exit) at RIP %04x:%" G_GINT64_MODIFIER "x",
             v->index, cs, rip);
        vcpu_stop(v);
        big_lock();
        machine_request_reset(v->s->m, SHUTDOWN_TRIPLE_FAULT);
        big_unlock();
        break;
    }
    case KVM_EXIT_SYSTEM_EVENT:
        vcpu_exit_system_event(v);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        vcpu_fail(v, "KVM cannot enter the guest (exit FAIL_ENTRY, hardware entry "
                  "failure reason 0x%" G_GINT64_MODIFIER "x)",
                  (uint64_t)run->fail_entry.hardware_entry_failure_reason);
        break;
    case KVM_EXIT_INTERNAL_ERROR: {
        static const char *const sub[] = {
            [KVM_INTERNAL_ERROR_EMULATION] = "instruction emulation failed",
            [KVM_INTERNAL_ERROR_SIMUL_EX] = "exception while delivering an exception",
            [KVM_INTERNAL_ERROR_DELIVERY_EV] = "exit while delivering an event",
            [KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "unexpected hardware exit",
        };
        uint32_t e = run->internal.suberror;
        GString *data = g_string_new(NULL);
        for (uint32_t i = 0; i < MIN(run->internal.ndata, G_N_ELEMENTS(run->internal.data)); i++) {
            g_string_append_printf(data, "%s0x%" G_GINT64_MODIFIER "x", i ? " " : ", data ",
                                   (uint64_t)run->internal.data[i]);
        }
        vcpu_fail(v, "KVM internal error (exit INTERNAL_ERROR, suberror %u: %s%s)", e,
                  e < G_N_ELEMENTS(sub) && sub[e] ? sub[e] : "unknown", data->str);
        g_string_free(data, TRUE);
        break;
    }
    default:
        vcpu_fail(v, "unexpected KVM exit %s (%u)",
                  kvm_exit_reason_name(run->exit_reason), run->exit_reason);
        break;
    }
}

/* --- interrupts from the userspace irqchip -------------------------------- */

static void vcpu_inject_interrupt(KvmVcpu *v)
{
    struct kvm_run *run = v->run;
    Machine *m = v->s->m;

    if (!__atomic_load_n(&m->intr_pending, __ATOMIC_ACQUIRE)) {
        run->request_interrupt_window = 0;
        return;
    }
    big_lock();
    if (m->intr_pending && m->intack && run->ready_for_interrupt_injection) {
        int vector = m->intack(m);
        if (vector >= 0) {
            struct kvm_interrupt irq = { .irq = (uint32_t)vector };
            int ret = kvm_ioctl(v->fd, KVM_INTERRUPT, &irq);
            if (ret < 0) {
                vlog("kvm: vCPU %d: KVM_INTERRUPT %d failed: %s", v->index,
                     vector, g_strerror(-ret));
            }
            /* Not ready for another until KVM says so on an exit; should
             * KVM_RUN return before it writes the flag (a kick), the stale
             * 1 would have us acknowledge a second interrupt KVM refuses. */
            run->ready_for_interrupt_injection = 0;
        }
    }
    /* Still one waiting (or could not inject): exit when the guest can
     * take it. */
    run->request_interrupt_window = m->intr_pending ? 1 : 0;
    big_unlock();
}

/* --- watchdog: stuck with interrupts off --------------------------------- */

static void vcpu_check_stuck(KvmVcpu *v)
{
    struct kvm_mp_state mp;
    struct kvm_regs r;
    bool stuck = false;

    if (!__atomic_exchange_n(&v->check_stuck, 0, __ATOMIC_SEQ_CST)) {
        return;
    }
    if (kvm_ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0) {
        return;
    }
    if (mp.mp_state == KVM_MP_STATE_HALTED) {
        stuck = kvm_ioctl(v->fd, KVM_GET_REGS, &r) == 0 && !(r.rflags & X86_FLAGS_IF);
    } else if (mp.mp_state == KVM_MP_STATE_INIT_RECEIVED ||
               mp.mp_state == KVM_MP_STATE_UNINITIALIZED) {
        stuck = true;
    }
    if (stuck) {
        g_mutex_lock(&v->s->lock);
        v->stuck_round = v->s->watchdog_round;
        g_mutex_unlock(&v->s->lock);
    }
}

static gboolean watchdog_tick(gpointer opaque)
{
    KvmState *s = opaque;
    bool all_stuck = s->nvcpus > 0;

    g_mutex_lock(&s->lock);
    for (int i = 0; i < s->nvcpus; i++) {
        all_stuck &= s->vcpus[i].stuck_round == s->watchdog_round;
    }
    s->stuck_rounds = all_stuck ? s->stuck_rounds + 1 : 0;
    s->watchdog_round++;
    bool dead = s->stuck_rounds >= 2;
    g_mutex_unlock(&s->lock);

    if (dead) {
        vlog("kvm: every vCPU is halted with interrupts off or waits for a SIPI");
        s->watchdog_source = 0;
        machine_request_shutdown(s->m, SHUTDOWN_HALTED, 0);
        return G_SOURCE_REMOVE;
    }
    for (int i = 0; i < s->nvcpus; i++) {
        __atomic_store_n(&s->vcpus[i].check_stuck, 1, __ATOMIC_SEQ_CST);
        kvm_vcpu_kick(&s->vcpus[i]);
    }
    return G_SOURCE_CONTINUE;
}

/* --- the thread ---------------------------------------------------------- */

/* Wait until this vCPU may enter the guest; false when it must end. */
static bool vcpu_wait_runnable(KvmVcpu *v)
{
    KvmState *s = v->s;
    bool run = false;

    bool synced = false;

    g_mutex_lock(&s->lock);
    while (!s->quit) {
        if (s->paused && !synced) {
            /* An I/O or MMIO exit is finished by the kernel only on the next
             * KVM_RUN (it writes an IN's data, steps past the instruction).
             * Let it finish now, with immediate_exit so no guest code runs,
             * or a reset's new registers would receive that completion. */
            g_mutex_unlock(&s->lock);
            __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
            ioctl(v->fd, KVM_RUN, 0);
            __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
            synced = true;
            g_mutex_lock(&s->lock);
            continue;
        }
        if (s->paused) {
            v->parked = true;
            s->nparked++;
            g_cond_broadcast(&s->cond);
            while (s->paused && !s->quit) {
                g_cond_wait(&s->cond, &s->lock);
            }
            s->nparked--;
            v->parked = false;
            continue;
        }
        if (v->stopped ||
            (v->halted && !__atomic_load_n(&s->m->intr_pending, __ATOMIC_ACQUIRE))) {
            g_cond_wait(&s->cond, &s->lock);
            continue;
        }
        v->halted = false;
        run = true;
        break;
    }
    g_mutex_unlock(&s->lock);
    return run;
}

static void *vcpu_thread(void *opaque)
{
    KvmVcpu *v = opaque;
    sigset_t set;
    char name[16];

    current_vcpu = v;
    g_snprintf(name, sizeof(name), "vcpu%d", v->index);
    pthread_setname_np(pthread_self(), name);
    sigemptyset(&set);
    sigaddset(&set, KVM_KICK_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    while (vcpu_wait_runnable(v)) {
        if (!v->s->kernel_irqchip) {
            vcpu_inject_interrupt(v);
        }
        int ret = ioctl(v->fd, KVM_RUN, 0);
        int err = errno;
        __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
        if (ret < 0) {
            if (err == EINTR || err == EAGAIN) {
                vcpu_check_stuck(v);
            } else {
                vcpu_fail(v, "KVM_RUN failed: %s", g_strerror(err));
            }
            continue;
        }
        vcpu_handle_exit(v);
    }
    return NULL;
}

int kvm_vcpus_start(KvmState *s, GError **errp)
{
    for (int i = 0; i < s->nvcpus; i++) {
        KvmVcpu *v = &s->vcpus[i];
        int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
        if (ret != 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "-accel kvm: cannot start the thread of vCPU %d: %s",
                        i, g_strerror(ret));
            return -ret;
        }
        v->thread_started = true;
    }
    if (s->kernel_irqchip) {
        s->watchdog_source = g_timeout_add(KVM_WATCHDOG_MS, watchdog_tick, s);
    }
    return 0;
}

static int threads_started(KvmState *s)
{
    int n = 0;
    for (int i = 0; i < s->nvcpus; i++) {
        n += s->vcpus[i].thread_started;
    }
    return n;
}

void kvm_vcpus_pause(KvmState *s)
{
    g_assert(!current_vcpu);
    /* A vCPU may be waiting for the big lock to finish an exit before it
     * can park: let it have the lock meanwhile. */
    bool relock = big_lock_held();
    if (relock) {
        big_unlock();
    }
    g_mutex_lock(&s->lock);
    s->paused = true;
    g_mutex_unlock(&s->lock);
    for (int i = 0; i < s->nvcpus; i++) {
        kvm_vcpu_kick(&s->vcpus[i]);
    }
    g_mutex_lock(&s->lock);
    while (s->nparked < threads_started(s) && !s->quit) {
        g_cond_wait(&s->cond, &s->lock);
    }
    g_mutex_unlock(&s->lock);
    if (relock) {
        big_lock();
    }
}

void kvm_vcpus_resume(KvmState *s)
{
    g_mutex_lock(&s->lock);
    s->paused = false;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

void kvm_vcpus_stop(KvmState *s)
{
    if (s->watchdog_source) {
        g_source_remove(s->watchdog_source);
        s->watchdog_source = 0;
    }
    if (s->halt_report_source) {
        g_source_remove(s->halt_report_source);
        s->halt_report_source = 0;
    }
    g_mutex_lock(&s->lock);
    s->quit = true;
    g_mutex_unlock(&s->lock);
    for (int i = 0; i < s->nvcpus; i++) {
        kvm_vcpu_kick(&s->vcpus[i]);
    }
    bool relock = big_lock_held();
    if (relock) {
        big_unlock();
    }
    for (int i = 0; i < s->nvcpus; i++) {
        if (s->vcpus[i].thread_started) {
            pthread_join(s->vcpus[i].thread, NULL);
            s->vcpus[i].thread_started = false;
        }
    }
    if (relock) {
        big_lock();
    }
}
