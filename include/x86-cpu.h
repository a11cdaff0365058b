/*
 * The portable x86 CPU (target-i386): the public interface that the
 * accelerator glue (accel/emu.c) and the unit tests use.
 *
 * One X86CPU is one logical processor of the i686 class (Intel SDM vol. 1-3,
 * AMD APM vol. 1-3 for the facts).  It executes guest code from the address
 * space it is given; port I/O, MMIO and interrupt acknowledge go through the
 * callbacks of X86CPUBus, so the CPU itself knows nothing of locks, threads
 * or devices.  The engine's design is described in target-i386/README.md.
 */
#ifndef VMKEMU_X86_CPU_H
#define VMKEMU_X86_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "memory.h"
#include "x86-regs.h"

typedef struct X86CPU X86CPU;

typedef struct X86CPUBus {
    AddressSpace *as;           /* guest-physical memory */
    void *opaque;               /* passed to every callback */
    /* Port I/O and MMIO.  NULL means "straight to the address space" (no
     * locking; what single-threaded tests want). */
    uint32_t (*port_read)(void *opaque, uint16_t port, unsigned size);
    void (*port_write)(void *opaque, uint16_t port, uint32_t val, unsigned size);
    uint64_t (*mmio_read)(void *opaque, uint64_t addr, unsigned size);
    void (*mmio_write)(void *opaque, uint64_t addr, uint64_t val, unsigned size);
    /* Level of the INTR pin (read without locks) and the acknowledge cycle:
     * the vector to take, or -1 when the controller withdrew the request. */
    const volatile bool *intr_line;
    int (*intack)(void *opaque);
    /* The A20 gate: when *a20 is false, physical address bit 20 is forced
     * to 0.  NULL: always enabled. */
    const volatile bool *a20;
    /* The CPU's local APIC (hw/apic.c), for IA32_APIC_BASE (MSR 0x1b).
     * NULL: the machine has none for this CPU; CPUID.01H:EDX.APIC then
     * reads 0 and the MSR is plain storage.  Otherwise CPUID.01H:EDX.APIC
     * follows the MSR's global enable bit (SDM vol. 3, 10.4.3), and a
     * write the APIC refuses (< 0) raises #GP. */
    uint64_t (*apic_base_read)(void *opaque);
    int (*apic_base_write)(void *opaque, uint64_t value);
    /* CPUID.01H:EBX[31:24], the initial APIC ID, and EBX[23:16], the
     * logical processors of the package (0 counts as 1; above 1 EDX.HTT
     * is set, as it is under KVM). */
    uint8_t initial_apic_id;
    uint8_t package_cpus;
} X86CPUBus;

/* Why x86_cpu_exec returned. */
typedef enum X86Exit {
    X86_EXIT_BUDGET,        /* the instruction budget is used up */
    X86_EXIT_REQUEST,       /* x86_cpu_kick() */
    X86_EXIT_HLT,           /* HLT: waiting for an interrupt */
    X86_EXIT_SHUTDOWN,      /* triple fault: the processor shut down */
    X86_EXIT_EXCEPTION,     /* exception_exit mode: an exception was raised */
} X86Exit;

X86CPU *x86_cpu_new(const X86CPUBus *bus);
void x86_cpu_free(X86CPU *cpu);

/* Power-on state (SDM vol. 3, table 9-1); empties the TLB and code cache. */
void x86_cpu_reset(X86CPU *cpu);
void x86_cpu_set_regs(X86CPU *cpu, const X86Registers *regs);
void x86_cpu_get_regs(X86CPU *cpu, X86Registers *regs);

/* Run guest code until about `budget` instructions ran (counted by decoded
 * block, so it may run a few more), or one of the other exits. */
X86Exit x86_cpu_exec(X86CPU *cpu, int64_t budget);
/* Thread-safe: make x86_cpu_exec return X86_EXIT_REQUEST soon. */
void x86_cpu_kick(X86CPU *cpu);

/* Several CPUs of one machine, run in turn by one thread (accel/emu.c):
 * `cpu` drops its own decode cache and uses the one of `with`, so code
 * decoded by one is reused by the others and a write by any of them (or a
 * call of x86_cpu_invalidate_phys on any of them) drops the decoded code
 * of every one.  Only for CPUs that never run at the same time. */
void x86_cpu_share_code(X86CPU *cpu, X86CPU *with);

/* NMI (SDM vol. 3, 6.7.1): make one pending; it is taken at the next
 * instruction boundary of x86_cpu_exec where NMIs are not blocked (from
 * the delivery of the previous NMI to the next IRET) and no MOV SS / STI
 * shadow holds.  It wakes a halted CPU.  Call from the thread that runs
 * the CPU, between x86_cpu_exec calls.  The state (pending, blocked) is
 * read and restored for suspend with x86_cpu_get/set_nmi_state. */
void x86_cpu_nmi(X86CPU *cpu);
void x86_cpu_get_nmi_state(X86CPU *cpu, bool *pending, bool *blocked);
void x86_cpu_set_nmi_state(X86CPU *cpu, bool pending, bool blocked);

/* PAUSE (F3 90) ends x86_cpu_exec with X86_EXIT_REQUEST: a CPU spinning
 * on a lock or a flag gives way to the CPU it waits for (several CPUs on
 * one thread).  Off by default. */
void x86_cpu_set_pause_exit(X86CPU *cpu, bool on);

/* Is the CPU halted, and would a pending INTR wake it (IF=1)? */
bool x86_cpu_halted(X86CPU *cpu);
bool x86_cpu_interrupts_enabled(X86CPU *cpu);

/* Execute one instruction per block, so a budget of 1 is one instruction
 * (tests, tracing). */
void x86_cpu_set_single_step(X86CPU *cpu, bool on);
/* Exceptions end x86_cpu_exec with X86_EXIT_EXCEPTION instead of being
 * delivered through the IDT; the state is that of the faulting instruction
 * (tests of one instruction).  The vector and error code (-1 when the
 * exception has none) are read back with x86_cpu_last_exception. */
void x86_cpu_set_exception_exit(X86CPU *cpu, bool on);
void x86_cpu_last_exception(X86CPU *cpu, int *vector, int *error_code);

/* The guest wrote RAM behind the CPU's back (DMA, loaders): drop decoded
 * code of [addr, addr + len).  Only from the thread that runs the CPU, or
 * while it does not run. */
void x86_cpu_invalidate_phys(X86CPU *cpu, uint64_t addr, uint64_t len);
/* Drop all decoded code (reset, state load). */
void x86_cpu_flush_code(X86CPU *cpu);

/* Statistics of the engine (bench, tests). */
typedef struct X86CPUStats {
    uint64_t insns;             /* instructions executed (block granular) */
    uint64_t blocks_decoded;
    uint64_t code_bytes;        /* memory held by decoded blocks now */
    uint64_t code_invalidations;    /* pages whose code a write dropped */
    uint64_t code_flushes;      /* whole-cache reclaims under pressure */
    uint64_t tlb_flushes;
    uint64_t exceptions;
} X86CPUStats;
void x86_cpu_get_stats(X86CPU *cpu, X86CPUStats *st);
/* Bound on the memory of decoded code (bytes; default 32 MiB). */
void x86_cpu_set_code_cache_limit(X86CPU *cpu, uint64_t bytes);

/* The CPU's architectural state for suspend/resume (include/vmstate.h;
 * target-i386/state.c says what it holds).  Save it between two
 * x86_cpu_exec calls; loading empties the TLB and the decode cache. */
extern const struct VMStateDescription x86_cpu_vmstate;

#endif
