/*
 * Suspend/resume of the KVM backend: the state KVM holds, read and written
 * with the kernel's own structures (Documentation/virt/kvm/api.rst:
 * KVM_GET/SET_REGS, _SREGS, _FPU, _XSAVE, _XCRS, _DEBUGREGS, _MSRS, _LAPIC,
 * _VCPU_EVENTS, _MP_STATE, _IRQCHIP, _PIT2, _CLOCK).
 *
 * Sections (docs/std-format.md):
 *   kvm-cpu.N     vCPU N: general, segment and control registers, the FPU
 *                 and SSE state (and the XSAVE area where KVM offers it),
 *                 XCR0, debug registers, the MSRs listed below that KVM can
 *                 read, the local APIC, pending exception/interrupt/NMI
 *                 state and the interrupt shadow, the MP state (HLT, wait
 *                 for SIPI), and whether the vCPU waits in a userspace HLT.
 *   kvm-vm        the kvmclock value.
 *   kvm-irqchip   with the in-kernel irqchip: both 8259s, the IOAPIC and
 *                 the PIT (KVM_GET_PIT2).
 * The kernel structures are stored as raw bytes: they are the x86 KVM ABI,
 * stable across kernel versions; their sizes are checked on load.
 *
 * Not covered: nested virtualization state, SMM beyond what the vCPU
 * events say, MSRs outside the list, AMX-sized XSAVE areas (KVM then
 * refuses KVM_GET_XSAVE and the legacy FPU area is used).
 *
 * Port I/O and MMIO exits complete only when the vCPU enters KVM_RUN again
 * (api.rst, "KVM_EXIT_IO"): before reading a paused vCPU's state it is run
 * once with immediate_exit set, which finishes the instruction and returns
 * without running guest code.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "kvm-internal.h"
#include "log.h"
#include "vmstate.h"

#define KVM_STATE_MAX_MSRS 64

/* MSRs saved when KVM can read them (Intel SDM vol. 4; KVM's own in
 * Documentation/virt/kvm/x86/msr.rst). */
static const uint32_t kvm_state_msrs[] = {
    0x00000010,                 /* IA32_TIME_STAMP_COUNTER */
    0x0000003b,                 /* IA32_TSC_ADJUST */
    0x00000174, 0x00000175, 0x00000176,     /* IA32_SYSENTER_CS/ESP/EIP */
    0x000001a0,                 /* IA32_MISC_ENABLE */
    0x00000277,                 /* IA32_PAT */
    0x000002ff,                 /* IA32_MTRR_DEF_TYPE */
    0x00000250, 0x00000258, 0x00000259,     /* fixed-range MTRRs */
    0x00000268, 0x00000269, 0x0000026a, 0x0000026b,
    0x0000026c, 0x0000026d, 0x0000026e, 0x0000026f,
    0x00000200, 0x00000201, 0x00000202, 0x00000203,     /* variable MTRRs */
    0x00000204, 0x00000205, 0x00000206, 0x00000207,
    0x00000208, 0x00000209, 0x0000020a, 0x0000020b,
    0x0000020c, 0x0000020d, 0x0000020e, 0x0000020f,
    0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,     /* STAR, LSTAR, CSTAR, FMASK */
    0xc0000102,                 /* KERNEL_GS_BASE */
    0xc0000103,                 /* TSC_AUX */
    0x00000011, 0x00000012,     /* kvmclock (old): wall clock, system time */
    0x4b564d00, 0x4b564d01,     /* kvmclock: wall clock, system time */
    0x4b564d02,                 /* async page faults */
    0x4b564d03,                 /* steal time */
    0x4b564d04,                 /* PV EOI */
    0x000006e0,                 /* IA32_TSC_DEADLINE (after the LAPIC) */
};
G_STATIC_ASSERT(G_N_ELEMENTS(kvm_state_msrs) <= KVM_STATE_MAX_MSRS);

typedef struct KvmVcpuSaved {
    KvmVcpu *v;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_xsave xsave;
    struct kvm_xcrs xcrs;
    struct kvm_debugregs debugregs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp_state;
    uint32_t nmsrs;
    uint32_t msr_index[KVM_STATE_MAX_MSRS];
    uint64_t msr_value[KVM_STATE_MAX_MSRS];
    bool have_xsave, have_xcrs, have_debugregs, have_lapic;
    bool halted;                /* userspace irqchip: waiting in HLT */
} KvmVcpuSaved;

typedef struct KvmVmSaved {
    KvmState *s;
    struct kvm_clock_data clock;
    bool have_clock;
    struct kvm_irqchip chip[3];
    struct kvm_pit_state2 pit;
} KvmVmSaved;

static int check_extension(KvmState *s, int cap)
{
    int r = ioctl(s->sys_fd, KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

static int fail(GError **errp, const char *what, int ret)
{
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s failed: %s", what,
                g_strerror(-ret));
    return ret;
}

/* --- a vCPU ---------------------------------------------------------------- */

/* Finish a port I/O or MMIO access the vCPU left half done at its last
 * exit, without running guest code. */
static int vcpu_complete_exit(KvmVcpu *v)
{
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    int ret = ioctl(v->fd, KVM_RUN, 0);
    int err = errno;
    __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    if (ret < 0 && err != EINTR && err != EAGAIN) {
        return -err;
    }
    return 0;
}

static int vcpu_pre_save(void *opaque, GError **errp)
{
    KvmVcpuSaved *sv = opaque;
    KvmVcpu *v = sv->v;
    KvmState *s = v->s;
    int ret;

    if (v->thread_started && (ret = vcpu_complete_exit(v)) < 0) {
        return fail(errp, "KVM_RUN (completing the last exit)", ret);
    }
    if ((ret = kvm_ioctl(v->fd, KVM_GET_REGS, &sv->regs)) < 0) {
        return fail(errp, "KVM_GET_REGS", ret);
    }
    if ((ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &sv->sregs)) < 0) {
        return fail(errp, "KVM_GET_SREGS", ret);
    }
    if ((ret = kvm_ioctl(v->fd, KVM_GET_FPU, &sv->fpu)) < 0) {
        return fail(errp, "KVM_GET_FPU", ret);
    }
    sv->have_xsave = check_extension(s, KVM_CAP_XSAVE) &&
                     kvm_ioctl(v->fd, KVM_GET_XSAVE, &sv->xsave) == 0;
    sv->have_xcrs = check_extension(s, KVM_CAP_XCRS) &&
                    kvm_ioctl(v->fd, KVM_GET_XCRS, &sv->xcrs) == 0;
    sv->have_debugregs = check_extension(s, KVM_CAP_DEBUGREGS) &&
                         kvm_ioctl(v->fd, KVM_GET_DEBUGREGS, &sv->debugregs) == 0;
    sv->have_lapic = s->kernel_irqchip;
    if (sv->have_lapic && (ret = kvm_ioctl(v->fd, KVM_GET_LAPIC, &sv->lapic)) < 0) {
        return fail(errp, "KVM_GET_LAPIC", ret);
    }
    if ((ret = kvm_ioctl(v->fd, KVM_GET_VCPU_EVENTS, &sv->events)) < 0) {
        return fail(errp, "KVM_GET_VCPU_EVENTS", ret);
    }
    if ((ret = kvm_ioctl(v->fd, KVM_GET_MP_STATE, &sv->mp_state)) < 0) {
        return fail(errp, "KVM_GET_MP_STATE", ret);
    }
    /* One MSR at a time: KVM_GET_MSRS stops at the first it cannot read. */
    sv->nmsrs = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(kvm_state_msrs); i++) {
        struct {
            struct kvm_msrs h;
            struct kvm_msr_entry e;
        } one = { .h.nmsrs = 1, .e.index = kvm_state_msrs[i] };
        if (kvm_ioctl(v->fd, KVM_GET_MSRS, &one) == 1) {
            sv->msr_index[sv->nmsrs] = one.e.index;
            sv->msr_value[sv->nmsrs] = one.e.data;
            sv->nmsrs++;
        }
    }
    g_mutex_lock(&s->lock);
    sv->halted = v->halted;
    g_mutex_unlock(&s->lock);
    return 0;
}

static int vcpu_post_load(void *opaque, uint32_t version, GError **errp)
{
    KvmVcpuSaved *sv = opaque;
    KvmVcpu *v = sv->v;
    KvmState *s = v->s;
    int ret;

    if (sv->nmsrs > KVM_STATE_MAX_MSRS) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%u MSRs (at most %d)",
                    sv->nmsrs, KVM_STATE_MAX_MSRS);
        return -EINVAL;
    }
    if (sv->have_lapic != s->kernel_irqchip) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "saved with the %s irqchip, this VM has the %s one",
                    sv->have_lapic ? "in-kernel" : "userspace",
                    s->kernel_irqchip ? "in-kernel" : "userspace");
        return -EINVAL;
    }
    /* sregs first: they carry the APIC base the LAPIC state needs. */
    if ((ret = kvm_ioctl(v->fd, KVM_SET_SREGS, &sv->sregs)) < 0) {
        return fail(errp, "KVM_SET_SREGS", ret);
    }
    if ((ret = kvm_ioctl(v->fd, KVM_SET_REGS, &sv->regs)) < 0) {
        return fail(errp, "KVM_SET_REGS", ret);
    }
    if ((ret = kvm_ioctl(v->fd, KVM_SET_FPU, &sv->fpu)) < 0) {
        return fail(errp, "KVM_SET_FPU", ret);
    }
    if (sv->have_xsave) {
        if (!check_extension(s, KVM_CAP_XSAVE)) {
            vwarn("kvm: this host has no XSAVE state: only the x87/SSE state is restored");
        } else if ((ret = kvm_ioctl(v->fd, KVM_SET_XSAVE, &sv->xsave)) < 0) {
            return fail(errp, "KVM_SET_XSAVE", ret);
        }
    }
    if (sv->have_xcrs && check_extension(s, KVM_CAP_XCRS) &&
        (ret = kvm_ioctl(v->fd, KVM_SET_XCRS, &sv->xcrs)) < 0) {
        return fail(errp, "KVM_SET_XCRS", ret);
    }
    if (sv->have_debugregs && check_extension(s, KVM_CAP_DEBUGREGS) &&
        (ret = kvm_ioctl(v->fd, KVM_SET_DEBUGREGS, &sv->debugregs)) < 0) {
        return fail(errp, "KVM_SET_DEBUGREGS", ret);
    }
    if (sv->have_lapic && (ret = kvm_ioctl(v->fd, KVM_SET_LAPIC, &sv->lapic)) < 0) {
        return fail(errp, "KVM_SET_LAPIC", ret);
    }
    if (sv->nmsrs) {
        struct kvm_msrs *msrs = g_malloc0(sizeof(*msrs) +
                                          sv->nmsrs * sizeof(msrs->entries[0]));
        msrs->nmsrs = sv->nmsrs;
        for (uint32_t i = 0; i < sv->nmsrs; i++) {
            msrs->entries[i].index = sv->msr_index[i];
            msrs->entries[i].data = sv->msr_value[i];
        }
        ret = kvm_ioctl(v->fd, KVM_SET_MSRS, msrs);
        g_free(msrs);
        if (ret < 0) {
            return fail(errp, "KVM_SET_MSRS", ret);
        }
        if ((uint32_t)ret < sv->nmsrs) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "KVM_SET_MSRS: this host refuses MSR 0x%x", sv->msr_index[ret]);
            return -EINVAL;
        }
    }
    sv->events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    if ((ret = kvm_ioctl(v->fd, KVM_SET_VCPU_EVENTS, &sv->events)) < 0) {
        return fail(errp, "KVM_SET_VCPU_EVENTS", ret);
    }
    if ((ret = kvm_ioctl(v->fd, KVM_SET_MP_STATE, &sv->mp_state)) < 0) {
        return fail(errp, "KVM_SET_MP_STATE", ret);
    }
    g_mutex_lock(&s->lock);
    v->halted = sv->halted;
    v->stopped = false;
    g_mutex_unlock(&s->lock);
    return 0;
}

static const VMStateDescription kvm_vcpu_vmstate = {
    .name = "kvm-cpu",
    .version = 1,
    .pre_save = vcpu_pre_save,
    .post_load = vcpu_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_BUFFER(KvmVcpuSaved, regs),
        VMSTATE_BUFFER(KvmVcpuSaved, sregs),
        VMSTATE_BUFFER(KvmVcpuSaved, fpu),
        VMSTATE_BOOL(KvmVcpuSaved, have_xsave),
        VMSTATE_BUFFER(KvmVcpuSaved, xsave),
        VMSTATE_BOOL(KvmVcpuSaved, have_xcrs),
        VMSTATE_BUFFER(KvmVcpuSaved, xcrs),
        VMSTATE_BOOL(KvmVcpuSaved, have_debugregs),
        VMSTATE_BUFFER(KvmVcpuSaved, debugregs),
        VMSTATE_BOOL(KvmVcpuSaved, have_lapic),
        VMSTATE_BUFFER(KvmVcpuSaved, lapic),
        VMSTATE_BUFFER(KvmVcpuSaved, events),
        VMSTATE_BUFFER(KvmVcpuSaved, mp_state),
        VMSTATE_UINT32(KvmVcpuSaved, nmsrs),
        VMSTATE_UINT32_ARRAY(KvmVcpuSaved, msr_index, KVM_STATE_MAX_MSRS),
        VMSTATE_UINT64_ARRAY(KvmVcpuSaved, msr_value, KVM_STATE_MAX_MSRS),
        VMSTATE_BOOL(KvmVcpuSaved, halted),
        VMSTATE_END
    },
};

/* --- the VM ---------------------------------------------------------------- */

static int vm_pre_save(void *opaque, GError **errp)
{
    KvmVmSaved *sv = opaque;
    sv->have_clock = check_extension(sv->s, KVM_CAP_ADJUST_CLOCK) &&
                     kvm_ioctl(sv->s->vm_fd, KVM_GET_CLOCK, &sv->clock) == 0;
    return 0;
}

static int vm_post_load(void *opaque, uint32_t version, GError **errp)
{
    KvmVmSaved *sv = opaque;
    if (sv->have_clock && check_extension(sv->s, KVM_CAP_ADJUST_CLOCK)) {
        /* Only the clock value: no realtime or host-TSC adjustment. */
        struct kvm_clock_data c = { .clock = sv->clock.clock };
        int ret = kvm_ioctl(sv->s->vm_fd, KVM_SET_CLOCK, &c);
        if (ret < 0) {
            return fail(errp, "KVM_SET_CLOCK", ret);
        }
    }
    return 0;
}

static const VMStateDescription kvm_vm_vmstate = {
    .name = "kvm-vm",
    .version = 1,
    .pre_save = vm_pre_save,
    .post_load = vm_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_BOOL(KvmVmSaved, have_clock),
        VMSTATE_BUFFER(KvmVmSaved, clock),
        VMSTATE_END
    },
};

static int irqchip_pre_save(void *opaque, GError **errp)
{
    KvmVmSaved *sv = opaque;
    int ret;
    for (int i = 0; i < 3; i++) {
        memset(&sv->chip[i], 0, sizeof(sv->chip[i]));
        sv->chip[i].chip_id = i;
        if ((ret = kvm_ioctl(sv->s->vm_fd, KVM_GET_IRQCHIP, &sv->chip[i])) < 0) {
            return fail(errp, "KVM_GET_IRQCHIP", ret);
        }
    }
    if ((ret = kvm_ioctl(sv->s->vm_fd, KVM_GET_PIT2, &sv->pit)) < 0) {
        return fail(errp, "KVM_GET_PIT2", ret);
    }
    return 0;
}

static int irqchip_post_load(void *opaque, uint32_t version, GError **errp)
{
    KvmVmSaved *sv = opaque;
    int ret;
    for (int i = 0; i < 3; i++) {
        if (sv->chip[i].chip_id != (uint32_t)i) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "interrupt controller %d has the id %u", i, sv->chip[i].chip_id);
            return -EINVAL;
        }
        if ((ret = kvm_ioctl(sv->s->vm_fd, KVM_SET_IRQCHIP, &sv->chip[i])) < 0) {
            return fail(errp, "KVM_SET_IRQCHIP", ret);
        }
    }
    if ((ret = kvm_ioctl(sv->s->vm_fd, KVM_SET_PIT2, &sv->pit)) < 0) {
        return fail(errp, "KVM_SET_PIT2", ret);
    }
    return 0;
}

static const VMStateDescription kvm_irqchip_vmstate = {
    .name = "kvm-irqchip",
    .version = 1,
    .pre_save = irqchip_pre_save,
    .post_load = irqchip_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_BUFFER(KvmVmSaved, chip),
        VMSTATE_BUFFER(KvmVmSaved, pit),
        VMSTATE_END
    },
};

/* --- AccelOps -------------------------------------------------------------- */

int kvm_save_state(Machine *m, GByteArray *out, GError **errp)
{
    KvmState *s = m->accel_state;
    KvmVmSaved *vm = g_new0(KvmVmSaved, 1);
    KvmVcpuSaved *cpu = g_new0(KvmVcpuSaved, 1);
    int ret = 0;

    vm->s = s;
    /* The vCPUs first: completing a vCPU's last exit may still reach an
     * in-kernel device (an OUT to the PIT), which is read afterwards. */
    for (int i = 0; i < s->nvcpus && ret == 0; i++) {
        gchar *id = g_strdup_printf("kvm-cpu.%d", i);
        memset(cpu, 0, sizeof(*cpu));
        cpu->v = &s->vcpus[i];
        ret = vmstate_save_section(out, id, &kvm_vcpu_vmstate, cpu, errp);
        g_free(id);
    }
    if (ret == 0) {
        ret = vmstate_save_section(out, "kvm-vm", &kvm_vm_vmstate, vm, errp);
    }
    if (ret == 0 && s->kernel_irqchip) {
        ret = vmstate_save_section(out, "kvm-irqchip", &kvm_irqchip_vmstate, vm, errp);
    }
    g_free(cpu);
    g_free(vm);
    return ret;
}

int kvm_load_state(Machine *m, VMStateStream *in, GError **errp)
{
    KvmState *s = m->accel_state;
    KvmVmSaved *vm = g_new0(KvmVmSaved, 1);
    KvmVcpuSaved *cpu = g_new0(KvmVcpuSaved, 1);
    int ret = 0;

    vm->s = s;
    /* Interrupt controllers before the vCPUs' LAPICs and pending events. */
    if (s->kernel_irqchip != vmstate_stream_has(in, "kvm-irqchip")) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "suspended with the %s irqchip, this launch uses the %s one",
                    s->kernel_irqchip ? "userspace (-userspace-irqchip)" : "in-kernel",
                    s->kernel_irqchip ? "in-kernel" : "userspace");
        ret = -EINVAL;
    } else if (s->kernel_irqchip) {
        ret = vmstate_stream_load(in, "kvm-irqchip", &kvm_irqchip_vmstate, vm, errp);
    }
    if (ret == 0) {
        ret = vmstate_stream_load(in, "kvm-vm", &kvm_vm_vmstate, vm, errp);
    }
    for (int i = 0; i < s->nvcpus && ret == 0; i++) {
        gchar *id = g_strdup_printf("kvm-cpu.%d", i);
        memset(cpu, 0, sizeof(*cpu));
        cpu->v = &s->vcpus[i];
        ret = vmstate_stream_load(in, id, &kvm_vcpu_vmstate, cpu, errp);
        g_free(id);
    }
    g_free(cpu);
    g_free(vm);
    return ret < 0 ? -1 : 0;
}
