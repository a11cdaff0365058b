/*
 * State shared by the files of the Linux KVM backend (accel/kvm*.c).
 * Reference: the kernel's Documentation/virt/kvm/api.rst (the KVM API) and
 * Documentation/virt/kvm/x86/ (x86 specifics).
 *
 *   kvm.c          the VM: availability, creation, interrupt controllers,
 *                  CPUID, reset, destroy, the AccelOps table
 *   kvm-memslot.c  memory slots that follow the address space
 *   kvm-regs.c     X86Registers <-> kvm_regs / kvm_sregs
 *   kvm-vcpu.c     the vCPU threads: run loop, exits, kick/pause/resume,
 *                  the halted-with-interrupts-off watchdog
 *   kvm-state.c    suspend/resume: the state KVM holds, as vmstate sections
 */
#ifndef VMKEMU_ACCEL_KVM_INTERNAL_H
#define VMKEMU_ACCEL_KVM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>
#include <glib.h>
#include "machine.h"

/* Guest-physical pages KVM may need for its own use (Intel's real-mode
 * support): a three-page TSS and a one-page identity-mapped page table,
 * placed in the PCI hole just below the 16 MiB a -bios image may fill. */
#define KVM_IDENTITY_MAP_ADDR   0xfeffc000ULL
#define KVM_TSS_ADDR            0xfeffd000ULL

/* Power-on state of a vCPU, captured after creation, restored on reset. */
typedef struct KvmVcpuSnapshot {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_mp_state mp_state;
    struct kvm_xcrs xcrs;
    bool have_lapic, have_xcrs;
    struct kvm_msrs *msrs;          /* the MSRs below, with their values */
} KvmVcpuSnapshot;

typedef struct KvmState KvmState;

typedef struct KvmVcpu {
    KvmState *s;
    int index;
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    bool thread_started;

    /* Under KvmState.lock: */
    bool parked;            /* waiting in a pause */
    bool halted;            /* userspace hlt: waits for an interrupt */
    bool stopped;           /* dead until reset (triple fault, error) */
    bool halted_for_good;   /* userspace hlt with IF=0, not yet reported */
    uint64_t stuck_round;   /* last watchdog round it reported being stuck */

    /* Set by the watchdog (atomic): look at the MP state on the next exit. */
    int check_stuck;

    KvmVcpuSnapshot power_on;
} KvmVcpu;

struct KvmState {
    Machine *m;
    int sys_fd;
    int vm_fd;
    int run_size;
    bool kernel_irqchip;        /* in-kernel PIC, IOAPIC, LAPICs and PIT */

    /* Memory slots: one per RAM/ROM region of the address space. */
    GArray *slots;              /* KvmSlot */
    uint32_t max_slots;
    bool listening;
    char *slot_error;           /* first failure while mapping, for init */

    struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID */
    GArray *msr_indices;        /* uint32_t: MSRs reset to power-on values */

    /* In-kernel interrupt controllers at power-on. */
    struct kvm_irqchip chip_power_on[3];
    struct kvm_pit_state2 pit_power_on;

    KvmVcpu *vcpus;
    int nvcpus;

    /* Thread coordination. */
    GMutex lock;
    GCond cond;
    bool paused;                /* pause requested */
    int nparked;
    bool quit;

    /* Watchdog for guests that stop with interrupts off (see kvm-vcpu.c). */
    guint watchdog_source;
    guint halt_report_source;   /* idle: report a userspace hlt with IF=0 */
    uint64_t watchdog_round;
    int stuck_rounds;
};

/* kvm-memslot.c */
void kvm_memslots_init(KvmState *s);
void kvm_memslot_listener(void *opaque, const MemRegion *region, bool added);
void kvm_memslots_free(KvmState *s);

/* kvm-regs.c */
int kvm_vcpu_set_regs(KvmVcpu *v, const X86Registers *regs);
int kvm_vcpu_get_regs(KvmVcpu *v, X86Registers *regs);

/* kvm-vcpu.c */
int kvm_vcpus_start(KvmState *s, GError **errp);
void kvm_vcpus_stop(KvmState *s);
void kvm_vcpu_kick(KvmVcpu *v);
void kvm_vcpus_pause(KvmState *s);
void kvm_vcpus_resume(KvmState *s);
void kvm_kick_signal_init(void);

/* kvm-state.c: AccelOps.save_state / load_state */
int kvm_save_state(Machine *m, GByteArray *out, GError **errp);
int kvm_load_state(Machine *m, VMStateStream *in, GError **errp);

/* kvm.c */
const char *kvm_exit_reason_name(uint32_t reason);
/* ioctl retried on EINTR; returns the result or -errno. */
int kvm_ioctl(int fd, unsigned long request, void *arg);

#endif
