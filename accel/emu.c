/*
 * The portable emulator as an accelerator: runs target-i386's CPUs
 * (include/accel.h, include/x86-cpu.h) for the PC machine.
 *
 * Execution model: one thread runs every vCPU in turn (round robin, as a
 * single-threaded TCG does).  Each turn is one x86_cpu_exec call of up to
 * a slice of instructions; a turn ends early when the vCPU halts, when
 * PAUSE says it spins (with several vCPUs), or when a kick arrives: an
 * interrupt, NMI, INIT or SIPI for any vCPU ends the running turn, and
 * the next turn goes to a kicked vCPU first.  Because no two vCPUs ever
 * run at the same time, guest memory accesses, LOCKed read-modify-writes
 * and the order of stores need no host atomics; all vCPUs share one
 * decode cache, and a store by any of them into decoded code drops the
 * blocks every vCPU would run (target-i386/tcache.c).  Each vCPU has its
 * own soft TLB, which the guest shoots down itself, as on hardware.
 * target-i386/README.md says why this model was chosen.
 *
 * Interrupts come from each vCPU's local APIC (hw/apic.c): its INTR level
 * is read lock-free, the acknowledge cycle and the APIC's events (NMI,
 * INIT, SIPI) are handled between turns under the big lock.  Application
 * processors start in the wait-for-SIPI state (Intel SDM vol. 3, 9.4);
 * INIT puts an AP back there and sends the BSP to the reset vector; a
 * SIPI starts a waiting AP in real mode at vector << 12.
 *
 * Port I/O, MMIO and the interrupt acknowledge reach the device models
 * under the big lock (include/main-loop.h); MMIO to the APIC page reaches
 * the running vCPU's own APIC (apic_set_current_cpu).  A halted vCPU is
 * skipped until an interrupt it can take (IF=1), an NMI, INIT or SIPI
 * arrives; when no vCPU can run the thread sleeps until a kick.  When no
 * vCPU can ever run again (each halted with interrupts off or waiting for
 * a SIPI) the machine ends (SHUTDOWN_HALTED); a triple fault on any vCPU
 * asks for a reset (SHUTDOWN_TRIPLE_FAULT).  In both cases the thread
 * parks until the machine resets it or destroys it.
 */
#include <errno.h>
#include <glib.h>
#include "accel.h"
#include "hw/apic.h"
#include "hw/pc.h"
#include "log.h"
#include "machine.h"
#include "main-loop.h"
#include "vmstate.h"
#include "x86-cpu.h"

#define EMU_SLICE       (1 << 20)   /* instructions per turn, one vCPU */
#define EMU_SMP_SLICE   (1 << 18)   /* per turn with several vCPUs */
#define EMU_MAX_CPUS    16

typedef struct EmuState EmuState;

typedef struct EmuVcpu {
    EmuState *s;
    int index;
    X86CPU *cpu;
    LocalApic *apic;        /* NULL: the machine has no local APICs */
    /* Saved with the vCPU ("emu-vcpu.N"): */
    bool wait_sipi;         /* an AP after INIT, before its startup IPI */
    bool nmi_pending, nmi_blocked;  /* copies of the CPU's, for the table */
} EmuVcpu;

struct EmuState {
    Machine *m;
    int ncpus;
    EmuVcpu vcpu[EMU_MAX_CPUS];
    GThread *thread;
    GMutex lock;
    GCond cond;
    bool started;
    bool quit;          /* destroy: leave the thread */
    bool pause_req;     /* pause: park at the next exit */
    bool parked_guest;  /* stopped by the guest (triple fault, all halted) */
    bool paused;        /* the thread is parked */
    int running;        /* the vCPU inside x86_cpu_exec, -1: none (atomic) */
    uint32_t kicked;    /* vCPUs kicked since their last turn (atomic) */
    int last;           /* the vCPU of the last turn */
    /* RAM written by devices and loaders, not yet dropped from the decode
     * cache (the vCPU thread does that between two turns). */
    GMutex dirty_lock;
    GArray *dirty;      /* pairs of uint64_t: address, length */
};

static EmuState *emu_state(Machine *m)
{
    return m->accel_state;
}

static bool emu_available(const char **why)
{
    (void)why;
    return true;
}

/* --- bus callbacks: into the device models under the big lock ------------ */

static uint32_t emu_port_read(void *opaque, uint16_t port, unsigned size)
{
    EmuVcpu *v = opaque;
    big_lock();
    uint32_t val = as_port_read(v->s->m->as, port, size);
    big_unlock();
    return val;
}

static void emu_port_write(void *opaque, uint16_t port, uint32_t val, unsigned size)
{
    EmuVcpu *v = opaque;
    big_lock();
    as_port_write(v->s->m->as, port, val, size);
    big_unlock();
}

static uint64_t emu_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    EmuVcpu *v = opaque;
    big_lock();
    uint64_t val = as_mmio_read(v->s->m->as, addr, size);
    big_unlock();
    return val;
}

static void emu_mmio_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    EmuVcpu *v = opaque;
    big_lock();
    as_mmio_write(v->s->m->as, addr, val, size);
    big_unlock();
}

static int emu_intack(void *opaque)
{
    EmuVcpu *v = opaque;
    Machine *m = v->s->m;
    int vec = -1;
    big_lock();
    if (v->apic) {
        vec = pc_cpu_interrupt_ack(m, v->index);
    } else if (v->index == 0 && m->intack) {
        vec = m->intack(m);
    }
    big_unlock();
    return vec;
}

static uint64_t emu_apic_base_read(void *opaque)
{
    EmuVcpu *v = opaque;
    big_lock();
    uint64_t val = apic_get_base_msr(v->apic);
    big_unlock();
    return val;
}

static int emu_apic_base_write(void *opaque, uint64_t value)
{
    EmuVcpu *v = opaque;
    big_lock();
    int r = apic_set_base_msr(v->apic, value);
    big_unlock();
    return r;
}

/* A device or loader stored into RAM: queue the range for the vCPU thread
 * (which owns the decode cache) and make it look. */
static void emu_ram_written(void *opaque, uint64_t addr, uint64_t len)
{
    EmuState *s = opaque;
    uint64_t r[2] = { addr, len };
    g_mutex_lock(&s->dirty_lock);
    g_array_append_vals(s->dirty, r, 2);
    g_mutex_unlock(&s->dirty_lock);
    int k = __atomic_load_n(&s->running, __ATOMIC_SEQ_CST);
    if (k >= 0) {
        x86_cpu_kick(s->vcpu[k].cpu);
    }
}

static void drain_dirty(EmuState *s)
{
    g_mutex_lock(&s->dirty_lock);
    for (guint k = 0; k + 1 < s->dirty->len; k += 2) {
        /* One decode cache for all vCPUs: dropping it once is enough. */
        x86_cpu_invalidate_phys(s->vcpu[0].cpu, g_array_index(s->dirty, uint64_t, k),
                                g_array_index(s->dirty, uint64_t, k + 1));
    }
    g_array_set_size(s->dirty, 0);
    g_mutex_unlock(&s->dirty_lock);
}

/* --- vCPU states ----------------------------------------------------------- */

/* Power-on: the BSP runs, the APs wait for a SIPI.  Reset hook (main
 * thread, big lock held, vCPUs paused) and creation. */
static void emu_reset_vcpus(void *opaque)
{
    EmuState *s = opaque;
    for (int k = 0; k < s->ncpus; k++) {
        EmuVcpu *v = &s->vcpu[k];
        x86_cpu_reset(v->cpu);
        v->wait_sipi = k > 0;
    }
    __atomic_store_n(&s->kicked, 0, __ATOMIC_SEQ_CST);
}

/* INIT (SDM vol. 3, 9.1, table 9-1): the registers as after power-on (x87,
 * SSE and the MSRs keep their values); an AP then waits for a SIPI, the
 * BSP starts at the reset vector. */
static void vcpu_init(EmuVcpu *v)
{
    X86Registers r;
    x86_regs_reset(&r);
    x86_cpu_set_regs(v->cpu, &r);
    v->wait_sipi = !(apic_get_base_msr(v->apic) & APIC_BASE_BSP);
}

/* Startup IPI to a waiting AP: real mode at vector:0000 (SDM vol. 3,
 * 9.4.4.1, 10.6.1 "Start-Up"). */
static void vcpu_sipi(EmuVcpu *v, int vector)
{
    X86Registers r;
    x86_regs_reset(&r);
    r.seg[X86_SEG_CS].selector = (uint16_t)(vector << 8);
    r.seg[X86_SEG_CS].base = (uint64_t)vector << 12;
    r.rip = 0;
    x86_cpu_set_regs(v->cpu, &r);
    v->wait_sipi = false;
}

/* The APIC's events for this vCPU, before its turn (vCPU thread). */
static void vcpu_take_events(EmuVcpu *v)
{
    if (!v->apic || !apic_pending_events(v->apic)) {
        return;
    }
    big_lock();
    if (apic_take_init(v->apic)) {
        vcpu_init(v);
    }
    /* Waiting for a SIPI, a processor ignores NMIs. */
    if (apic_take_nmi(v->apic) && !v->wait_sipi) {
        x86_cpu_nmi(v->cpu);
    }
    int vector = apic_take_sipi(v->apic);
    if (vector >= 0 && v->wait_sipi) {
        vcpu_sipi(v, vector);
    }
    big_unlock();
}

static bool vcpu_intr(EmuVcpu *v)
{
    const volatile bool *line = pc_cpu_intr_line(v->s->m, v->index);
    return line && __atomic_load_n(line, __ATOMIC_ACQUIRE);
}

static uint32_t vcpu_events(EmuVcpu *v)
{
    return v->apic ? apic_pending_events(v->apic) : 0;
}

/* Could a turn make progress? */
static bool vcpu_runnable(EmuVcpu *v)
{
    uint32_t ev = vcpu_events(v);
    bool nmi_pending, nmi_blocked;

    if (v->wait_sipi) {
        return ev & (APIC_EVENT_INIT | APIC_EVENT_SIPI);
    }
    if (!x86_cpu_halted(v->cpu) || ev) {
        return true;
    }
    x86_cpu_get_nmi_state(v->cpu, &nmi_pending, &nmi_blocked);
    return (nmi_pending && !nmi_blocked) ||
           (x86_cpu_interrupts_enabled(v->cpu) && vcpu_intr(v));
}

/* Can it never run again without help from outside (which this machine
 * does not have: no NMI source but the vCPUs themselves)? */
static bool vcpu_dead(EmuVcpu *v)
{
    bool nmi_pending, nmi_blocked;

    if (vcpu_runnable(v)) {
        return false;
    }
    if (v->wait_sipi) {
        return true;
    }
    x86_cpu_get_nmi_state(v->cpu, &nmi_pending, &nmi_blocked);
    return x86_cpu_halted(v->cpu) && !x86_cpu_interrupts_enabled(v->cpu) && !nmi_pending;
}

/* The next turn: a kicked vCPU other than the last one first, then round
 * robin; -1 when none can run. */
static int pick_vcpu(EmuState *s)
{
    uint32_t kicked = __atomic_load_n(&s->kicked, __ATOMIC_SEQ_CST);
    int n = s->ncpus;

    for (int j = 1; j < n; j++) {
        int k = (s->last + j) % n;
        if ((kicked & (1u << k)) && vcpu_runnable(&s->vcpu[k])) {
            return k;
        }
    }
    for (int j = 1; j <= n; j++) {
        int k = (s->last + j) % n;
        if (vcpu_runnable(&s->vcpu[k])) {
            return k;
        }
    }
    return -1;
}

static bool all_dead(EmuState *s)
{
    for (int k = 0; k < s->ncpus; k++) {
        if (!vcpu_dead(&s->vcpu[k])) {
            return false;
        }
    }
    return true;
}

/* --- the accelerator --------------------------------------------------------- */

static int emu_init(Machine *m, GError **errp)
{
    if (m->ncpus > EMU_MAX_CPUS) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-smp: the emulator (-accel emu) runs at most %d vCPUs, not %d",
                    EMU_MAX_CPUS, m->ncpus);
        return -EINVAL;
    }
    EmuState *s = g_new0(EmuState, 1);
    s->m = m;
    s->ncpus = m->ncpus > 0 ? m->ncpus : 1;
    s->running = -1;
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    for (int k = 0; k < s->ncpus; k++) {
        EmuVcpu *v = &s->vcpu[k];
        v->s = s;
        v->index = k;
        v->apic = pc_cpu_apic(m, k);
        X86CPUBus bus = {
            .as = m->as,
            .opaque = v,
            .port_read = emu_port_read,
            .port_write = emu_port_write,
            .mmio_read = emu_mmio_read,
            .mmio_write = emu_mmio_write,
            .intr_line = pc_cpu_intr_line(m, k),
            .intack = emu_intack,
            .a20 = (const volatile bool *)&m->a20_enabled,
            .apic_base_read = v->apic ? emu_apic_base_read : NULL,
            .apic_base_write = v->apic ? emu_apic_base_write : NULL,
            .initial_apic_id = (uint8_t)k,
            .package_cpus = (uint8_t)s->ncpus,
        };
        if (!bus.intr_line) {
            bus.intr_line = (const volatile bool *)&m->intr_pending;
        }
        v->cpu = x86_cpu_new(&bus);
        if (k > 0) {
            x86_cpu_share_code(v->cpu, s->vcpu[0].cpu);
        }
        x86_cpu_set_pause_exit(v->cpu, s->ncpus > 1);
    }
    g_mutex_init(&s->dirty_lock);
    s->dirty = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    as_set_ram_write_hook(m->as, emu_ram_written, s);
    m->accel_state = s;
    emu_reset_vcpus(s);
    machine_add_reset_hook(m, emu_reset_vcpus, s);
    return 0;
}

static int emu_set_regs(Machine *m, int cpu, const X86Registers *regs)
{
    EmuState *s = emu_state(m);
    if (!s || cpu < 0 || cpu >= s->ncpus) {
        return -EINVAL;
    }
    if ((regs->efer & X86_EFER_LMA) || regs->seg[X86_SEG_CS].l) {
        verror("-accel emu: the emulator runs 32-bit guests; long mode is not supported");
        return -ENOTSUP;
    }
    EmuVcpu *v = &s->vcpu[cpu];
    x86_cpu_set_regs(v->cpu, regs);
    v->wait_sipi = false;
    if (cpu == 0) {
        /* A new boot state (start, reset, resume): whatever the loaders
         * wrote, no decoded block survives. */
        g_mutex_lock(&s->dirty_lock);
        g_array_set_size(s->dirty, 0);
        g_mutex_unlock(&s->dirty_lock);
        x86_cpu_flush_code(v->cpu);
    }
    return 0;
}

static int emu_get_regs(Machine *m, int cpu, X86Registers *regs)
{
    EmuState *s = emu_state(m);
    if (!s || cpu < 0 || cpu >= s->ncpus) {
        return -EINVAL;
    }
    x86_cpu_get_regs(s->vcpu[cpu].cpu, regs);
    return 0;
}

/* Park until resumed or destroyed.  Called with s->lock held. */
static void park_locked(EmuState *s)
{
    while (!s->quit && (s->pause_req || s->parked_guest)) {
        s->paused = true;
        g_cond_broadcast(&s->cond);
        g_cond_wait(&s->cond, &s->lock);
    }
    s->paused = false;
}

/* Stopped by the guest: park until the machine resets or ends. */
static void park_guest(EmuState *s)
{
    g_mutex_lock(&s->lock);
    s->parked_guest = true;
    g_mutex_unlock(&s->lock);
}

static gpointer emu_vcpu_thread(gpointer opaque)
{
    EmuState *s = opaque;
    Machine *m = s->m;
    int64_t slice = s->ncpus > 1 ? EMU_SMP_SLICE : EMU_SLICE;

    for (;;) {
        g_mutex_lock(&s->lock);
        park_locked(s);
        if (s->quit) {
            g_mutex_unlock(&s->lock);
            break;
        }
        g_mutex_unlock(&s->lock);

        drain_dirty(s);
        int k = pick_vcpu(s);
        if (k < 0) {
            if (all_dead(s)) {
                machine_request_shutdown(m, SHUTDOWN_HALTED, 0);
                park_guest(s);
                continue;
            }
            /* Sleep until a kick; look again under the lock, which every
             * kick takes after making its vCPU runnable. */
            g_mutex_lock(&s->lock);
            while (!s->quit && !s->pause_req && pick_vcpu(s) < 0) {
                g_cond_wait(&s->cond, &s->lock);
            }
            g_mutex_unlock(&s->lock);
            continue;
        }

        EmuVcpu *v = &s->vcpu[k];
        s->last = k;
        __atomic_store_n(&s->running, k, __ATOMIC_SEQ_CST);
        __atomic_and_fetch(&s->kicked, ~(1u << k), __ATOMIC_SEQ_CST);
        vcpu_take_events(v);
        if (v->wait_sipi) {
            __atomic_store_n(&s->running, -1, __ATOMIC_SEQ_CST);
            continue;
        }
        apic_set_current_cpu(k);
        X86Exit r = x86_cpu_exec(v->cpu, slice);
        __atomic_store_n(&s->running, -1, __ATOMIC_SEQ_CST);

        switch (r) {
        case X86_EXIT_BUDGET:
        case X86_EXIT_REQUEST:
        case X86_EXIT_HLT:
            /* A halted vCPU waits in pick_vcpu for what wakes it. */
            break;
        case X86_EXIT_SHUTDOWN:
            machine_request_reset(m, SHUTDOWN_TRIPLE_FAULT);
            park_guest(s);
            break;
        case X86_EXIT_EXCEPTION:
            /* Not used by the glue (exception_exit is off). */
            break;
        }
    }
    return NULL;
}

static int emu_start(Machine *m, GError **errp)
{
    EmuState *s = emu_state(m);
    s->thread = g_thread_try_new("vcpus", emu_vcpu_thread, s, errp);
    if (!s->thread) {
        return -1;
    }
    s->started = true;
    return 0;
}

/* Something for vCPU `cpu` (or all, when out of range) came: end the
 * running turn so that the next one looks, and wake the thread. */
static void emu_kick(Machine *m, int cpu)
{
    EmuState *s = emu_state(m);
    if (!s) {
        return;
    }
    uint32_t mask = cpu >= 0 && cpu < s->ncpus ? 1u << cpu : (1u << s->ncpus) - 1;
    __atomic_or_fetch(&s->kicked, mask, __ATOMIC_SEQ_CST);
    int k = __atomic_load_n(&s->running, __ATOMIC_SEQ_CST);
    if (k >= 0) {
        x86_cpu_kick(s->vcpu[k].cpu);
    }
    g_mutex_lock(&s->lock);
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static void kick_running(EmuState *s)
{
    int k = __atomic_load_n(&s->running, __ATOMIC_SEQ_CST);
    if (k >= 0) {
        x86_cpu_kick(s->vcpu[k].cpu);
    }
}

/* Wait for the vCPU thread to park, letting go of the big lock meanwhile
 * (the thread may be waiting for it inside a device access). */
static void wait_parked(EmuState *s)
{
    bool held = big_lock_held();
    if (held) {
        big_unlock();
    }
    g_mutex_lock(&s->lock);
    while (!s->paused && s->started) {
        g_cond_wait(&s->cond, &s->lock);
    }
    g_mutex_unlock(&s->lock);
    if (held) {
        big_lock();
    }
}

static void emu_pause(Machine *m)
{
    EmuState *s = emu_state(m);
    if (!s || !s->started) {
        return;
    }
    g_mutex_lock(&s->lock);
    s->pause_req = true;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
    kick_running(s);
    wait_parked(s);
}

static void emu_resume(Machine *m)
{
    EmuState *s = emu_state(m);
    if (!s) {
        return;
    }
    g_mutex_lock(&s->lock);
    s->pause_req = false;
    s->parked_guest = false;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static void emu_destroy(Machine *m)
{
    EmuState *s = emu_state(m);
    if (!s) {
        return;
    }
    if (s->thread) {
        g_mutex_lock(&s->lock);
        s->quit = true;
        g_cond_broadcast(&s->cond);
        g_mutex_unlock(&s->lock);
        kick_running(s);
        bool held = big_lock_held();
        if (held) {
            big_unlock();
        }
        g_thread_join(s->thread);
        if (held) {
            big_lock();
        }
    }
    X86CPUStats sum = {0};
    for (int k = 0; k < s->ncpus; k++) {
        X86CPUStats st;
        x86_cpu_get_stats(s->vcpu[k].cpu, &st);
        sum.insns += st.insns;
        sum.blocks_decoded += st.blocks_decoded;
        sum.code_invalidations += st.code_invalidations;
        sum.exceptions += st.exceptions;
    }
    vlog("emu: %d vCPU(s), %" G_GUINT64_FORMAT " instructions, %" G_GUINT64_FORMAT
         " blocks decoded, %" G_GUINT64_FORMAT " code invalidations, %" G_GUINT64_FORMAT
         " exceptions", s->ncpus, sum.insns, sum.blocks_decoded, sum.code_invalidations,
         sum.exceptions);
    as_set_ram_write_hook(m->as, NULL, NULL);
    for (int k = s->ncpus - 1; k >= 0; k--) {
        x86_cpu_free(s->vcpu[k].cpu);
    }
    g_array_free(s->dirty, TRUE);
    g_mutex_clear(&s->dirty_lock);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_free(s);
    m->accel_state = NULL;
}

/* --- suspend/resume ----------------------------------------------------------- */

/* Per vCPU, besides the CPU's own table: the wait-for-SIPI state and the
 * NMI state.  Streams from before SMP lack these sections: every vCPU then
 * runs, with no NMI pending or blocked. */
static int emu_vcpu_pre_save(void *opaque, GError **errp)
{
    EmuVcpu *v = opaque;
    (void)errp;
    x86_cpu_get_nmi_state(v->cpu, &v->nmi_pending, &v->nmi_blocked);
    return 0;
}

static int emu_vcpu_post_load(void *opaque, uint32_t version, GError **errp)
{
    EmuVcpu *v = opaque;
    (void)version;
    if (v->wait_sipi && v->index == 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "the boot CPU cannot wait for a startup IPI");
        return -1;
    }
    x86_cpu_set_nmi_state(v->cpu, v->nmi_pending, v->nmi_blocked);
    return 0;
}

static const VMStateDescription emu_vcpu_vmstate = {
    .name = "emu-vcpu",
    .version = 1,
    .pre_save = emu_vcpu_pre_save,
    .post_load = emu_vcpu_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_BOOL(EmuVcpu, wait_sipi),
        VMSTATE_BOOL(EmuVcpu, nmi_pending),
        VMSTATE_BOOL(EmuVcpu, nmi_blocked),
        VMSTATE_END
    },
};

/* Sections "emu-cpu.N" (the CPU) and "emu-vcpu.N" (its run state), N =
 * 0 .. vCPUs - 1. */
static int emu_save_state(Machine *m, GByteArray *out, GError **errp)
{
    EmuState *s = emu_state(m);
    for (int k = 0; k < s->ncpus; k++) {
        g_autofree gchar *cpu_id = g_strdup_printf("emu-cpu.%d", k);
        g_autofree gchar *vcpu_id = g_strdup_printf("emu-vcpu.%d", k);
        if (vmstate_save_section(out, cpu_id, &x86_cpu_vmstate, s->vcpu[k].cpu, errp) < 0 ||
            vmstate_save_section(out, vcpu_id, &emu_vcpu_vmstate, &s->vcpu[k], errp) < 0) {
            return -1;
        }
    }
    return 0;
}

static int emu_load_state(Machine *m, VMStateStream *in, GError **errp)
{
    EmuState *s = emu_state(m);
    for (int k = 0; k < s->ncpus; k++) {
        EmuVcpu *v = &s->vcpu[k];
        g_autofree gchar *cpu_id = g_strdup_printf("emu-cpu.%d", k);
        g_autofree gchar *vcpu_id = g_strdup_printf("emu-vcpu.%d", k);
        if (vmstate_stream_load(in, cpu_id, &x86_cpu_vmstate, v->cpu, errp) < 0) {
            return -1;
        }
        v->wait_sipi = false;
        v->nmi_pending = v->nmi_blocked = false;
        if (vmstate_stream_has(in, vcpu_id) &&
            vmstate_stream_load(in, vcpu_id, &emu_vcpu_vmstate, v, errp) < 0) {
            return -1;
        }
    }
    return 0;
}

const AccelOps accel_emu_ops = {
    .name = "emu",
    .available = emu_available,
    .init = emu_init,
    .set_regs = emu_set_regs,
    .get_regs = emu_get_regs,
    .start = emu_start,
    .kick = emu_kick,
    .pause = emu_pause,
    .resume = emu_resume,
    .destroy = emu_destroy,
    .save_state = emu_save_state,
    .load_state = emu_load_state,
};
