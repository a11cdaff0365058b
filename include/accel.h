/*
 * The accelerator interface: what runs guest code.  Two implement it: the
 * Linux KVM backend (accel/kvm.c) and the portable emulator (accel/emu.c,
 * running target-i386).  The machine picks one with -accel kvm|emu|auto.
 *
 * An accelerator owns the vCPU threads.  It calls back into the machine for
 * port I/O and MMIO (memory.h, under the big lock), for interrupt
 * acknowledge, and to report why a vCPU stopped (machine_request_*).
 */
#ifndef VMKEMU_ACCEL_H
#define VMKEMU_ACCEL_H

#include <stdbool.h>
#include <glib.h>
#include "x86-regs.h"

typedef struct Machine Machine;
typedef struct VMStateStream VMStateStream;     /* include/vmstate.h */

typedef struct AccelOps {
    const char *name;
    /* Can this accelerator run here?  On false, *why says why (static). */
    bool (*available)(const char **why);
    /* Create the VM: memory slots, vCPUs, irqchip.  Called once, after the
     * machine's devices exist and before the boot loader ran. */
    int (*init)(Machine *m, GError **errp);
    /* Load register state into vCPU `cpu` (before start or while stopped). */
    int (*set_regs)(Machine *m, int cpu, const X86Registers *regs);
    int (*get_regs)(Machine *m, int cpu, X86Registers *regs);
    /* Start a thread per vCPU. */
    int (*start)(Machine *m, GError **errp);
    /* Make vCPU threads leave guest mode soon (pending interrupt, stop). */
    void (*kick)(Machine *m, int cpu);
    /* Pause all vCPUs and wait until they are out of guest code, or let
     * them run again. */
    void (*pause)(Machine *m);
    void (*resume)(Machine *m);
    /* Stop and join every vCPU thread; free the VM. */
    void (*destroy)(Machine *m);
    /* Set the level of an interrupt input (GSI) of the accelerator's own
     * interrupt controllers; NULL when it has none (userspace models). */
    void (*set_gsi)(Machine *m, int gsi, int level);
    /* Suspend/resume: append the accelerator's state sections (each vCPU,
     * in-kernel devices) to `out` while the vCPUs are paused; read them back
     * from `in` after init and before start.  Section ids name the
     * accelerator, so a .std resumes only under the one that wrote it. */
    int (*save_state)(Machine *m, GByteArray *out, GError **errp);
    int (*load_state)(Machine *m, VMStateStream *in, GError **errp);
} AccelOps;

extern const AccelOps accel_kvm_ops;
extern const AccelOps accel_emu_ops;

/* The accelerator named `name` ("kvm", "emu", "tcg" = emu, "auto"),
 * resolved by the rule of DESIGN.md; NULL with *errp set when none fits. */
const AccelOps *accel_select(const char *name, GError **errp);

#endif
