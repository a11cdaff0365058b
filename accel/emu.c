/*
 * The portable emulator as an accelerator: runs target-i386 on a thread per
 * vCPU (include/accel.h).
 *
 * The vCPU thread runs x86_cpu_exec in slices.  Port I/O, MMIO and the
 * interrupt acknowledge reach the device models under the big lock
 * (include/main-loop.h); the INTR level (m->intr_pending) and the A20 gate
 * are read without it.  HLT waits on a condition variable until the
 * interrupt line rises (the PIC output kicks us); HLT with interrupts off
 * ends the machine (SHUTDOWN_HALTED) and a triple fault asks for a reset
 * (SHUTDOWN_TRIPLE_FAULT); in both cases the thread parks until the machine
 * resets it or destroys it.  Only the boot CPU runs until the local APIC
 * (INIT/SIPI) exists.
 */
#include <errno.h>
#include <glib.h>
#include "accel.h"
#include "log.h"
#include "machine.h"
#include "main-loop.h"
#include "vmstate.h"
#include "x86-cpu.h"

#define EMU_SLICE   (1 << 20)       /* instructions per x86_cpu_exec call */

typedef struct EmuState {
    Machine *m;
    X86CPU *cpu;
    GThread *thread;
    GMutex lock;
    GCond cond;
    bool started;
    bool quit;          /* destroy: leave the thread */
    bool pause_req;     /* pause: park at the next exit */
    bool parked_guest;  /* stopped by the guest (triple fault, hlt with IF=0) */
    bool paused;        /* the thread is parked */
    /* RAM written by devices and loaders, not yet dropped from the decode
     * cache (the vCPU thread does that between two exec slices). */
    GMutex dirty_lock;
    GArray *dirty;      /* pairs of uint64_t: address, length */
} EmuState;

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
    EmuState *s = opaque;
    big_lock();
    uint32_t v = as_port_read(s->m->as, port, size);
    big_unlock();
    return v;
}

static void emu_port_write(void *opaque, uint16_t port, uint32_t val, unsigned size)
{
    EmuState *s = opaque;
    big_lock();
    as_port_write(s->m->as, port, val, size);
    big_unlock();
}

static uint64_t emu_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    EmuState *s = opaque;
    big_lock();
    uint64_t v = as_mmio_read(s->m->as, addr, size);
    big_unlock();
    return v;
}

static void emu_mmio_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    EmuState *s = opaque;
    big_lock();
    as_mmio_write(s->m->as, addr, val, size);
    big_unlock();
}

static int emu_intack(void *opaque)
{
    EmuState *s = opaque;
    int v = -1;
    big_lock();
    if (s->m->intack) {
        v = s->m->intack(s->m);
    }
    big_unlock();
    return v;
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
    x86_cpu_kick(s->cpu);
}

static void drain_dirty(EmuState *s)
{
    g_mutex_lock(&s->dirty_lock);
    for (guint k = 0; k + 1 < s->dirty->len; k += 2) {
        x86_cpu_invalidate_phys(s->cpu, g_array_index(s->dirty, uint64_t, k),
                                g_array_index(s->dirty, uint64_t, k + 1));
    }
    g_array_set_size(s->dirty, 0);
    g_mutex_unlock(&s->dirty_lock);
}

static int emu_init(Machine *m, GError **errp)
{
    EmuState *s = g_new0(EmuState, 1);
    s->m = m;
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    X86CPUBus bus = {
        .as = m->as,
        .opaque = s,
        .port_read = emu_port_read,
        .port_write = emu_port_write,
        .mmio_read = emu_mmio_read,
        .mmio_write = emu_mmio_write,
        .intr_line = (const volatile bool *)&m->intr_pending,
        .intack = emu_intack,
        .a20 = (const volatile bool *)&m->a20_enabled,
    };
    s->cpu = x86_cpu_new(&bus);
    g_mutex_init(&s->dirty_lock);
    s->dirty = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    as_set_ram_write_hook(m->as, emu_ram_written, s);
    m->accel_state = s;
    if (m->ncpus > 1) {
        vwarn("-accel emu: only the boot CPU runs for now (%d requested)", m->ncpus);
    }
    (void)errp;
    return 0;
}

static int emu_set_regs(Machine *m, int cpu, const X86Registers *regs)
{
    EmuState *s = emu_state(m);
    if (!s || cpu != 0) {
        return -EINVAL;
    }
    if ((regs->efer & X86_EFER_LMA) || regs->seg[X86_SEG_CS].l) {
        verror("-accel emu: the emulator runs 32-bit guests; long mode is not supported");
        return -ENOTSUP;
    }
    /* A new boot state (start, reset, resume): whatever the loaders wrote,
     * no decoded block survives. */
    x86_cpu_set_regs(s->cpu, regs);
    g_mutex_lock(&s->dirty_lock);
    g_array_set_size(s->dirty, 0);
    g_mutex_unlock(&s->dirty_lock);
    x86_cpu_flush_code(s->cpu);
    return 0;
}

static int emu_get_regs(Machine *m, int cpu, X86Registers *regs)
{
    EmuState *s = emu_state(m);
    if (!s || cpu != 0) {
        return -EINVAL;
    }
    x86_cpu_get_regs(s->cpu, regs);
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

static gpointer emu_vcpu_thread(gpointer opaque)
{
    EmuState *s = opaque;
    Machine *m = s->m;

    for (;;) {
        g_mutex_lock(&s->lock);
        park_locked(s);
        if (s->quit) {
            g_mutex_unlock(&s->lock);
            break;
        }
        g_mutex_unlock(&s->lock);

        drain_dirty(s);
        X86Exit r = x86_cpu_exec(s->cpu, EMU_SLICE);
        switch (r) {
        case X86_EXIT_BUDGET:
        case X86_EXIT_REQUEST:
            break;
        case X86_EXIT_HLT:
            if (!x86_cpu_interrupts_enabled(s->cpu)) {
                machine_request_shutdown(m, SHUTDOWN_HALTED, 0);
                g_mutex_lock(&s->lock);
                s->parked_guest = true;
                g_mutex_unlock(&s->lock);
                break;
            }
            g_mutex_lock(&s->lock);
            while (!s->quit && !s->pause_req && !m->intr_pending) {
                g_cond_wait(&s->cond, &s->lock);
            }
            g_mutex_unlock(&s->lock);
            break;
        case X86_EXIT_SHUTDOWN:
            machine_request_reset(m, SHUTDOWN_TRIPLE_FAULT);
            g_mutex_lock(&s->lock);
            s->parked_guest = true;
            g_mutex_unlock(&s->lock);
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
    s->thread = g_thread_try_new("vcpu0", emu_vcpu_thread, s, errp);
    if (!s->thread) {
        return -1;
    }
    s->started = true;
    return 0;
}

static void emu_kick(Machine *m, int cpu)
{
    EmuState *s = emu_state(m);
    if (!s) {
        return;
    }
    x86_cpu_kick(s->cpu);
    g_mutex_lock(&s->lock);
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
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
    x86_cpu_kick(s->cpu);
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
        x86_cpu_kick(s->cpu);
        bool held = big_lock_held();
        if (held) {
            big_unlock();
        }
        g_thread_join(s->thread);
        if (held) {
            big_lock();
        }
    }
    X86CPUStats st;
    x86_cpu_get_stats(s->cpu, &st);
    vlog("emu: %" G_GUINT64_FORMAT " instructions, %" G_GUINT64_FORMAT " blocks decoded, "
         "%" G_GUINT64_FORMAT " code invalidations, %" G_GUINT64_FORMAT " exceptions, "
         "%" G_GUINT64_FORMAT " blocks translated (%" G_GUINT64_FORMAT " KiB, %"
         G_GUINT64_FORMAT " buffer flushes)",
         st.insns, st.blocks_decoded, st.code_invalidations, st.exceptions,
         st.jit_blocks, st.jit_bytes >> 10, st.jit_flushes);
    as_set_ram_write_hook(m->as, NULL, NULL);
    x86_cpu_free(s->cpu);
    g_array_free(s->dirty, TRUE);
    g_mutex_clear(&s->dirty_lock);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_free(s);
    m->accel_state = NULL;
}

/* Only the boot CPU runs under the emulator for now: one section. */
static int emu_save_state(Machine *m, GByteArray *out, GError **errp)
{
    EmuState *s = emu_state(m);
    return vmstate_save_section(out, "emu-cpu.0", &x86_cpu_vmstate, s->cpu, errp);
}

static int emu_load_state(Machine *m, VMStateStream *in, GError **errp)
{
    EmuState *s = emu_state(m);
    return vmstate_stream_load(in, "emu-cpu.0", &x86_cpu_vmstate, s->cpu, errp);
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
