/*
 * The Linux KVM backend: the VM and its life cycle.
 * Reference: the kernel's Documentation/virt/kvm/api.rst (sections cited
 * below by ioctl name) and Documentation/virt/kvm/x86/.
 *
 * One VM per machine.  By default KVM's in-kernel interrupt controllers run
 * the PC's interrupt wiring (two 8259As, an IOAPIC, a local APIC per vCPU)
 * and its 8254 PIT; devices in userspace raise ISA/GSI lines through
 * KVM_IRQ_LINE.  With -userspace-irqchip KVM has none of these: vmkemu's
 * own PIC and PIT models run in userspace and the boot CPU takes their
 * interrupts through KVM_INTERRUPT (see kvm-vcpu.c); the backend does not
 * connect the other vCPUs to vmkemu's local APIC models yet, so that mode
 * runs one vCPU.
 *
 * Interrupt routing (KVM_SET_GSI_ROUTING): line n of the machine (m->gsi[n],
 * ISA IRQ n for n < 16) goes to 8259 input n (IRQ 2 is the cascade and is
 * not routed) and to IOAPIC input n, except that ISA IRQ 0, the PIT, goes to
 * IOAPIC input 2: the usual PC wiring that firmware describes with an
 * interrupt source override (ACPI MADT; MP table).
 *
 * Reset: the power-on state of every vCPU (registers, FPU, local APIC,
 * pending events, MP state, a few MSRs) and of the in-kernel PIC, IOAPIC
 * and PIT is captured when the VM is built and put back on every machine
 * reset (a reset hook, run while the vCPUs are paused).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kvm-internal.h"
#include "hw/pc.h"
#include "log.h"

int kvm_ioctl(int fd, unsigned long request, void *arg)
{
    int ret;
    do {
        ret = ioctl(fd, request, arg);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

static int kvm_check_extension(int fd, int cap)
{
    int ret = ioctl(fd, KVM_CHECK_EXTENSION, cap);
    return ret < 0 ? 0 : ret;
}

const char *kvm_exit_reason_name(uint32_t reason)
{
    static const char *const names[] = {
        [KVM_EXIT_UNKNOWN] = "UNKNOWN",
        [KVM_EXIT_EXCEPTION] = "EXCEPTION",
        [KVM_EXIT_IO] = "IO",
        [KVM_EXIT_HYPERCALL] = "HYPERCALL",
        [KVM_EXIT_DEBUG] = "DEBUG",
        [KVM_EXIT_HLT] = "HLT",
        [KVM_EXIT_MMIO] = "MMIO",
        [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
        [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
        [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
        [KVM_EXIT_INTR] = "INTR",
        [KVM_EXIT_SET_TPR] = "SET_TPR",
        [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
        [KVM_EXIT_NMI] = "NMI",
        [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
        [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
    };
    if (reason < G_N_ELEMENTS(names) && names[reason]) {
        return names[reason];
    }
    return "unrecognized";
}

/* --- can KVM run here? ---------------------------------------------------- */

static const struct {
    int cap;
    const char *name;
} required_caps[] = {
    { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
    { KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM" },
    { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
    { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
    { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
    { KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
    { KVM_CAP_PIT2, "KVM_CAP_PIT2" },
    { KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2" },
    { KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
    { KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
    { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

/* Checks an open /dev/kvm; on failure writes why into `why`. */
static bool kvm_host_ok(int fd, char *why, size_t len)
{
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        snprintf(why, len, "/dev/kvm speaks KVM API version %d, vmkemu needs %d",
                 version, KVM_API_VERSION);
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(required_caps); i++) {
        if (!kvm_check_extension(fd, required_caps[i].cap)) {
            snprintf(why, len, "the host's KVM lacks %s", required_caps[i].name);
            return false;
        }
    }
    return true;
}

static int kvm_open_dev(char *why, size_t len)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(why, len, "cannot open /dev/kvm: %s%s", g_strerror(e),
                 e == ENOENT ? " (is the kvm module loaded?)" :
                 e == EACCES || e == EPERM ? " (is the user in the kvm group?)" : "");
        return -e;
    }
    if (!kvm_host_ok(fd, why, len)) {
        close(fd);
        return -ENOTSUP;
    }
    return fd;
}

static bool kvm_available(const char **why)
{
    static char reason[256];
    int fd = kvm_open_dev(reason, sizeof(reason));
    if (fd < 0) {
        *why = reason;
        return false;
    }
    close(fd);
    return true;
}

/* --- building the VM ----------------------------------------------------- */

static KvmState *kvm_state(Machine *m)
{
    return m->accel_state;
}

static int kvm_setup_irq_routing(KvmState *s)
{
    size_t max = 2 * PC_NUM_GSI;
    struct kvm_irq_routing *r = g_malloc0(sizeof(*r) + max * sizeof(r->entries[0]));
    unsigned n = 0;

    for (unsigned gsi = 0; gsi < 16; gsi++) {
        if (gsi == 2) {
            continue;
        }
        r->entries[n++] = (struct kvm_irq_routing_entry){
            .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
                                              : KVM_IRQCHIP_PIC_SLAVE,
                           .pin = gsi % 8 },
        };
    }
    for (unsigned gsi = 0; gsi < PC_NUM_GSI; gsi++) {
        if (gsi == 2) {
            continue;
        }
        r->entries[n++] = (struct kvm_irq_routing_entry){
            .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC,
                           .pin = gsi == 0 ? 2 : gsi },
        };
    }
    r->nr = n;
    int ret = kvm_ioctl(s->vm_fd, KVM_SET_GSI_ROUTING, r);
    g_free(r);
    return ret;
}

static int kvm_create_irqchips(KvmState *s, GError **errp)
{
    int ret = kvm_ioctl(s->vm_fd, KVM_CREATE_IRQCHIP, NULL);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "-accel kvm: KVM_CREATE_IRQCHIP failed: %s", g_strerror(-ret));
        return ret;
    }
    ret = kvm_setup_irq_routing(s);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "-accel kvm: KVM_SET_GSI_ROUTING failed: %s", g_strerror(-ret));
        return ret;
    }
    /* The in-kernel PIT also owns port 0x61 (gate and output of channel 2). */
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    ret = kvm_ioctl(s->vm_fd, KVM_CREATE_PIT2, &pit);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "-accel kvm: KVM_CREATE_PIT2 failed: %s", g_strerror(-ret));
        return ret;
    }
    for (int chip = 0; chip < 3; chip++) {
        s->chip_power_on[chip].chip_id = chip;
        ret = kvm_ioctl(s->vm_fd, KVM_GET_IRQCHIP, &s->chip_power_on[chip]);
        if (ret < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "-accel kvm: KVM_GET_IRQCHIP failed: %s", g_strerror(-ret));
            return ret;
        }
    }
    ret = kvm_ioctl(s->vm_fd, KVM_GET_PIT2, &s->pit_power_on);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "-accel kvm: KVM_GET_PIT2 failed: %s", g_strerror(-ret));
        return ret;
    }
    return 0;
}

static int kvm_get_supported_cpuid(KvmState *s, GError **errp)
{
    for (int n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + n * sizeof(c->entries[0]));
        c->nent = n;
        int ret = kvm_ioctl(s->sys_fd, KVM_GET_SUPPORTED_CPUID, c);
        if (ret == 0) {
            s->cpuid = c;
            return 0;
        }
        g_free(c);
        if (ret != -E2BIG) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "-accel kvm: KVM_GET_SUPPORTED_CPUID failed: %s", g_strerror(-ret));
            return ret;
        }
    }
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                "-accel kvm: KVM_GET_SUPPORTED_CPUID: too many entries");
    return -E2BIG;
}

/* CPUID of vCPU `index`: what KVM supports, with this CPU's APIC ID, and
 * without a local APIC when KVM has none. */
static int kvm_vcpu_set_cpuid(KvmVcpu *v)
{
    KvmState *s = v->s;
    size_t sz = sizeof(*s->cpuid) + s->cpuid->nent * sizeof(s->cpuid->entries[0]);
    struct kvm_cpuid2 *c = g_memdup2(s->cpuid, sz);

    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            /* EBX[31:24] initial APIC ID, [23:16] logical processors. */
            e->ebx = (e->ebx & 0xffff) | ((uint32_t)v->index << 24) |
                     ((uint32_t)(s->m->ncpus & 0xff) << 16);
            if (s->m->ncpus > 1) {
                e->edx |= 1u << 28;                     /* HTT */
            }
            if (!s->kernel_irqchip) {
                e->edx &= ~(1u << 9);                   /* APIC */
                e->ecx &= ~((1u << 21) | (1u << 24));   /* x2APIC, TSC deadline */
            }
            break;
        case 0xb:
        case 0x1f:
            e->edx = v->index;                          /* x2APIC ID */
            break;
        }
    }
    int ret = kvm_ioctl(v->fd, KVM_SET_CPUID2, c);
    g_free(c);
    return ret;
}

/* MSRs put back to their power-on values on reset, where KVM has them. */
static const uint32_t reset_msrs[] = {
    0x00000010,     /* IA32_TIME_STAMP_COUNTER */
    0x00000174,     /* IA32_SYSENTER_CS */
    0x00000175,     /* IA32_SYSENTER_ESP */
    0x00000176,     /* IA32_SYSENTER_EIP */
    0x00000277,     /* IA32_PAT */
    0xc0000081,     /* STAR */
    0xc0000082,     /* LSTAR */
    0xc0000083,     /* CSTAR */
    0xc0000084,     /* FMASK */
    0xc0000102,     /* KERNEL_GS_BASE */
    0xc0000103,     /* TSC_AUX */
};

static void kvm_pick_reset_msrs(KvmState *s)
{
    struct kvm_msr_list probe = { .nmsrs = 0 };
    s->msr_indices = g_array_new(FALSE, FALSE, sizeof(uint32_t));

    /* The first call only reports how many there are. */
    if (ioctl(s->sys_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
        return;
    }
    struct kvm_msr_list *list = g_malloc0(sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
    list->nmsrs = probe.nmsrs;
    if (kvm_ioctl(s->sys_fd, KVM_GET_MSR_INDEX_LIST, list) == 0) {
        for (size_t k = 0; k < G_N_ELEMENTS(reset_msrs); k++) {
            for (uint32_t i = 0; i < list->nmsrs; i++) {
                if (list->indices[i] == reset_msrs[k]) {
                    g_array_append_val(s->msr_indices, reset_msrs[k]);
                    break;
                }
            }
        }
    }
    g_free(list);
}

static int kvm_vcpu_snapshot(KvmVcpu *v)
{
    KvmState *s = v->s;
    KvmVcpuSnapshot *p = &v->power_on;
    int ret;

    if ((ret = kvm_ioctl(v->fd, KVM_GET_REGS, &p->regs)) < 0 ||
        (ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &p->sregs)) < 0 ||
        (ret = kvm_ioctl(v->fd, KVM_GET_FPU, &p->fpu)) < 0 ||
        (ret = kvm_ioctl(v->fd, KVM_GET_VCPU_EVENTS, &p->events)) < 0 ||
        (ret = kvm_ioctl(v->fd, KVM_GET_MP_STATE, &p->mp_state)) < 0) {
        return ret;
    }
    if (s->kernel_irqchip) {
        if ((ret = kvm_ioctl(v->fd, KVM_GET_LAPIC, &p->lapic)) < 0) {
            return ret;
        }
        p->have_lapic = true;
    }
    if (kvm_check_extension(s->sys_fd, KVM_CAP_XCRS) &&
        kvm_ioctl(v->fd, KVM_GET_XCRS, &p->xcrs) == 0) {
        p->have_xcrs = true;
    }
    guint n = s->msr_indices->len;
    p->msrs = g_malloc0(sizeof(*p->msrs) + n * sizeof(p->msrs->entries[0]));
    p->msrs->nmsrs = n;
    for (guint i = 0; i < n; i++) {
        p->msrs->entries[i].index = g_array_index(s->msr_indices, uint32_t, i);
    }
    ret = kvm_ioctl(v->fd, KVM_GET_MSRS, p->msrs);
    p->msrs->nmsrs = ret < 0 ? 0 : (uint32_t)ret;   /* the ones read */
    return 0;
}

static int kvm_vcpu_restore(KvmVcpu *v)
{
    KvmVcpuSnapshot *p = &v->power_on;
    int ret;

    /* sregs first: it sets the APIC base the local APIC state needs. */
    if ((ret = kvm_ioctl(v->fd, KVM_SET_SREGS, &p->sregs)) < 0 ||
        (ret = kvm_ioctl(v->fd, KVM_SET_REGS, &p->regs)) < 0 ||
        (ret = kvm_ioctl(v->fd, KVM_SET_FPU, &p->fpu)) < 0) {
        return ret;
    }
    if (p->have_xcrs && (ret = kvm_ioctl(v->fd, KVM_SET_XCRS, &p->xcrs)) < 0) {
        return ret;
    }
    if (p->msrs->nmsrs && (ret = kvm_ioctl(v->fd, KVM_SET_MSRS, p->msrs)) < 0) {
        return ret;
    }
    if (p->have_lapic && (ret = kvm_ioctl(v->fd, KVM_SET_LAPIC, &p->lapic)) < 0) {
        return ret;
    }
    if ((ret = kvm_ioctl(v->fd, KVM_SET_VCPU_EVENTS, &p->events)) < 0 ||
        (ret = kvm_ioctl(v->fd, KVM_SET_MP_STATE, &p->mp_state)) < 0) {
        return ret;
    }
    return 0;
}

static int kvm_vcpu_create(KvmState *s, int index, GError **errp)
{
    KvmVcpu *v = &s->vcpus[index];
    const char *step;
    int ret;

    v->s = s;
    v->index = index;
    v->fd = kvm_ioctl(s->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)index);
    if (v->fd < 0) {
        ret = v->fd;
        v->fd = -1;
        step = "KVM_CREATE_VCPU";
        goto fail;
    }
    v->run = mmap(NULL, s->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED) {
        ret = -errno;
        v->run = NULL;
        step = "mmap of the vCPU's kvm_run";
        goto fail;
    }
    if ((ret = kvm_vcpu_set_cpuid(v)) < 0) {
        step = "KVM_SET_CPUID2";
        goto fail;
    }
    /* Power-on state: the boot CPU runs from the reset vector; the others
     * wait for INIT and SIPI from it. */
    X86Registers regs;
    x86_regs_reset(&regs);
    if (index > 0) {
        regs.apic_base &= ~(1ULL << 8);     /* not the BSP */
    }
    if ((ret = kvm_vcpu_set_regs(v, &regs)) < 0) {
        step = "KVM_SET_SREGS";
        goto fail;
    }
    if (index > 0) {
        struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_INIT_RECEIVED };
        if ((ret = kvm_ioctl(v->fd, KVM_SET_MP_STATE, &mp)) < 0) {
            step = "KVM_SET_MP_STATE";
            goto fail;
        }
    }
    if ((ret = kvm_vcpu_snapshot(v)) < 0) {
        step = "reading the vCPU's power-on state";
        goto fail;
    }
    return 0;

fail:
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                "-accel kvm: vCPU %d: %s failed: %s", index, step, g_strerror(-ret));
    return ret;
}

static void kvm_reset(void *opaque)
{
    KvmState *s = opaque;
    int ret = 0;

    if (s->kernel_irqchip) {
        for (int chip = 0; chip < 3 && ret >= 0; chip++) {
            ret = kvm_ioctl(s->vm_fd, KVM_SET_IRQCHIP, &s->chip_power_on[chip]);
        }
        if (ret >= 0) {
            ret = kvm_ioctl(s->vm_fd, KVM_SET_PIT2, &s->pit_power_on);
        }
        if (ret < 0) {
            verror("reset: cannot reset KVM's interrupt controllers: %s", g_strerror(-ret));
            machine_request_shutdown(s->m, SHUTDOWN_INTERNAL_ERROR, 1);
            return;
        }
    }
    for (int i = 0; i < s->nvcpus; i++) {
        KvmVcpu *v = &s->vcpus[i];
        ret = kvm_vcpu_restore(v);
        if (ret < 0) {
            verror("reset: cannot reset vCPU %d: %s", i, g_strerror(-ret));
            machine_request_shutdown(s->m, SHUTDOWN_INTERNAL_ERROR, 1);
            return;
        }
        g_mutex_lock(&s->lock);
        v->halted = false;
        v->stopped = false;
        v->halted_for_good = false;
        v->stuck_round = 0;
        g_mutex_unlock(&s->lock);
        /* No interrupt left half-injected from before the reset. */
        v->run->request_interrupt_window = 0;
    }
    g_mutex_lock(&s->lock);
    s->stuck_rounds = 0;
    g_mutex_unlock(&s->lock);
}

static void kvm_destroy(Machine *m);

static int kvm_init(Machine *m, GError **errp)
{
    char why[256];
    KvmState *s = g_new0(KvmState, 1);
    int ret;

    s->m = m;
    s->sys_fd = s->vm_fd = -1;
    s->kernel_irqchip = !m->cfg->userspace_irqchip;
    s->watchdog_round = 1;
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    m->accel_state = s;

    if (!s->kernel_irqchip && m->ncpus > 1) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-userspace-irqchip: runs one CPU only (KVM does not start "
                    "other CPUs through vmkemu's local APIC models yet), but -smp "
                    "asks for %d", m->ncpus);
        goto fail;
    }
    s->sys_fd = kvm_open_dev(why, sizeof(why));
    if (s->sys_fd < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "-accel kvm: %s", why);
        goto fail;
    }
    int max_vcpus = kvm_check_extension(s->sys_fd, KVM_CAP_MAX_VCPUS);
    if (max_vcpus <= 0) {
        max_vcpus = kvm_check_extension(s->sys_fd, KVM_CAP_NR_VCPUS);
    }
    if (max_vcpus > 0 && m->ncpus > max_vcpus) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-smp: this host's KVM runs at most %d vCPUs per VM", max_vcpus);
        goto fail;
    }
    s->vm_fd = kvm_ioctl(s->sys_fd, KVM_CREATE_VM, (void *)0);
    if (s->vm_fd < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "-accel kvm: KVM_CREATE_VM failed: %s", g_strerror(-s->vm_fd));
        s->vm_fd = -1;
        goto fail;
    }
    s->max_slots = kvm_check_extension(s->sys_fd, KVM_CAP_NR_MEMSLOTS);
    if (s->max_slots == 0) {
        s->max_slots = 32;
    }
    /* Intel needs these for real mode; they must precede the vCPUs. */
    if (kvm_check_extension(s->sys_fd, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
        uint64_t addr = KVM_IDENTITY_MAP_ADDR;
        ret = kvm_ioctl(s->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
        if (ret < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                        "-accel kvm: KVM_SET_IDENTITY_MAP_ADDR failed: %s", g_strerror(-ret));
            goto fail;
        }
    }
    ret = kvm_ioctl(s->vm_fd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)KVM_TSS_ADDR);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "-accel kvm: KVM_SET_TSS_ADDR failed: %s", g_strerror(-ret));
        goto fail;
    }
    if (s->kernel_irqchip && kvm_create_irqchips(s, errp) < 0) {
        goto fail;
    }

    kvm_memslots_init(s);
    as_add_listener(m->as, kvm_memslot_listener, s);
    s->listening = true;
    if (s->slot_error) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s", s->slot_error);
        goto fail;
    }

    if (kvm_get_supported_cpuid(s, errp) < 0) {
        goto fail;
    }
    kvm_pick_reset_msrs(s);
    s->run_size = kvm_ioctl(s->sys_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
    if (s->run_size < (int)sizeof(struct kvm_run)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "-accel kvm: KVM_GET_VCPU_MMAP_SIZE failed: %s",
                    g_strerror(s->run_size < 0 ? -s->run_size : EINVAL));
        goto fail;
    }
    s->vcpus = g_new0(KvmVcpu, m->ncpus);
    for (int i = 0; i < m->ncpus; i++) {
        s->vcpus[i].fd = -1;
    }
    for (int i = 0; i < m->ncpus; i++) {
        s->nvcpus = i + 1;
        if (kvm_vcpu_create(s, i, errp) < 0) {
            goto fail;
        }
    }
    kvm_kick_signal_init();
    machine_add_reset_hook(m, kvm_reset, s);
    vlog("kvm: VM with %d vCPU(s), %s irqchip, %u memory slot(s)", s->nvcpus,
         s->kernel_irqchip ? "in-kernel" : "userspace", s->slots->len);
    return 0;

fail:
    kvm_destroy(m);
    return -1;
}

/* --- AccelOps ------------------------------------------------------------ */

static int kvm_set_regs_op(Machine *m, int cpu, const X86Registers *regs)
{
    KvmState *s = kvm_state(m);
    if (!s || cpu < 0 || cpu >= s->nvcpus) {
        return -EINVAL;
    }
    return kvm_vcpu_set_regs(&s->vcpus[cpu], regs);
}

static int kvm_get_regs_op(Machine *m, int cpu, X86Registers *regs)
{
    KvmState *s = kvm_state(m);
    if (!s || cpu < 0 || cpu >= s->nvcpus) {
        return -EINVAL;
    }
    return kvm_vcpu_get_regs(&s->vcpus[cpu], regs);
}

static int kvm_start(Machine *m, GError **errp)
{
    return kvm_vcpus_start(kvm_state(m), errp);
}

static void kvm_kick_op(Machine *m, int cpu)
{
    KvmState *s = kvm_state(m);
    if (s && cpu >= 0 && cpu < s->nvcpus) {
        kvm_vcpu_kick(&s->vcpus[cpu]);
    }
}

static void kvm_pause(Machine *m)
{
    kvm_vcpus_pause(kvm_state(m));
}

static void kvm_resume(Machine *m)
{
    kvm_vcpus_resume(kvm_state(m));
}

static void kvm_set_gsi(Machine *m, int gsi, int level)
{
    KvmState *s = kvm_state(m);
    if (!s || !s->kernel_irqchip || gsi < 0 || gsi >= PC_NUM_GSI || gsi == 2) {
        return;
    }
    struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };
    int ret = kvm_ioctl(s->vm_fd, KVM_IRQ_LINE, &irq);
    if (ret < 0) {
        vlog("kvm: KVM_IRQ_LINE %d=%d failed: %s", gsi, level, g_strerror(-ret));
    }
}

static void kvm_destroy(Machine *m)
{
    KvmState *s = kvm_state(m);
    if (!s) {
        return;
    }
    kvm_vcpus_stop(s);
    if (s->listening) {
        as_remove_listener(m->as, kvm_memslot_listener, s);
    }
    for (int i = 0; i < s->nvcpus; i++) {
        KvmVcpu *v = &s->vcpus[i];
        g_free(v->power_on.msrs);
        if (v->run) {
            munmap(v->run, s->run_size);
        }
        if (v->fd >= 0) {
            close(v->fd);
        }
    }
    g_free(s->vcpus);
    if (s->vm_fd >= 0) {
        close(s->vm_fd);
    }
    if (s->sys_fd >= 0) {
        close(s->sys_fd);
    }
    kvm_memslots_free(s);
    g_free(s->slot_error);
    g_free(s->cpuid);
    if (s->msr_indices) {
        g_array_free(s->msr_indices, TRUE);
    }
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_free(s);
    m->accel_state = NULL;
}

const AccelOps accel_kvm_ops = {
    .name = "kvm",
    .available = kvm_available,
    .init = kvm_init,
    .set_regs = kvm_set_regs_op,
    .get_regs = kvm_get_regs_op,
    .start = kvm_start,
    .kick = kvm_kick_op,
    .pause = kvm_pause,
    .resume = kvm_resume,
    .destroy = kvm_destroy,
    .set_gsi = kvm_set_gsi,
    .save_state = kvm_save_state,
    .load_state = kvm_load_state,
};
