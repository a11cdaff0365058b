/*
 * The machine description and the running PC machine.
 *
 * MachineConfig is the plain description both launch styles produce
 * (QEMU-style options in system/options.c, a .cfg in compat-esx/).  Machine is
 * the built machine: address space, devices, accelerator, run state.
 */
#ifndef VMKEMU_MACHINE_H
#define VMKEMU_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "memory.h"
#include "irq.h"
#include "x86-regs.h"
#include "accel.h"
#include "net.h"
#include "drive.h"

#define MACHINE_MAX_SERIAL 4
#define MACHINE_MAX_CPUS   64
#define PC_NUM_GSI         24
#define MACHINE_MAX_NETDEVS 8
#define MACHINE_MAX_NICS    8

typedef struct MachineConfig {
    char *name;                     /* -name, or a .cfg's displayName */
    uint64_t ram_size;              /* bytes */
    int smp;                        /* vCPUs */
    char *accel;                    /* "kvm", "emu", "tcg", "auto" */
    bool userspace_irqchip;         /* KVM: use our PIC/PIT models */
    char *bios;                     /* -bios FILE */
    char *kernel, *initrd, *append; /* -kernel/-initrd/-append */
    char *serial[MACHINE_MAX_SERIAL];   /* chardev specs, NULL = none */
    int nserial;
    bool nographic;
    bool no_reboot;
    char *logfile;                  /* -D */
    char *boot_order;               /* fw_cfg boot order, default "c" */
    char *qmp[4];                   /* -qmp unix:PATH[,server][,nowait] */
    int nqmp;
    int linux_entry;                /* -linux-entry 32|64 (0 = 32) */
    /* Networking (include/net.h): -netdev / -nic backends, and the
     * adapters (-device, -nic, a .cfg's ethernetN). */
    NetdevConfig netdev[MACHINE_MAX_NETDEVS];
    int nnetdev;
    NicConfig nic[MACHINE_MAX_NICS];
    int nnic;
    MachineDrive drives[MACHINE_MAX_DRIVES];    /* include/drive.h */
    int ndrives;
    /* Bit N: SCSI adapter scsiN present even without drives (a .cfg's
     * scsiN.present); buses with drives get one anyway (hw/pc-scsi.c). */
    uint8_t scsi_present;
} MachineConfig;

void machine_config_init(MachineConfig *cfg);   /* defaults */
void machine_config_clear(MachineConfig *cfg);

typedef enum RunState {
    RUN_STATE_PRELAUNCH,
    RUN_STATE_RUNNING,
    RUN_STATE_PAUSED,
    RUN_STATE_SHUTDOWN,
} RunState;

/* Why the machine ends or resets. */
typedef enum ShutdownCause {
    SHUTDOWN_NONE,
    SHUTDOWN_GUEST_POWEROFF,    /* ACPI S5 and the like: exit 0 */
    SHUTDOWN_GUEST_RESET,       /* keyboard controller, reset register */
    SHUTDOWN_TRIPLE_FAULT,
    SHUTDOWN_HALTED,            /* hlt with interrupts off: nothing can wake it */
    SHUTDOWN_EXIT_PORT,         /* test-exit port: exit status given */
    SHUTDOWN_HOST_QUIT,         /* monitor quit, signal */
    SHUTDOWN_HOST_RESET,        /* monitor system_reset */
    SHUTDOWN_HOST_SIGNAL,       /* SIGINT, SIGTERM, SIGHUP */
    SHUTDOWN_HOST_SUSPEND,      /* suspended to a .std file: exit 0 */
    SHUTDOWN_INTERNAL_ERROR,    /* accelerator failed; exit status 1 */
} ShutdownCause;

typedef struct PCDevices PCDevices;     /* hw/pc.c */
typedef struct VMStateList VMStateList; /* include/vmstate.h */
typedef struct VMStateDescription VMStateDescription;

typedef struct Machine {
    MachineConfig *cfg;
    AddressSpace *as;

    /* Guest RAM: one host mapping, shown to the guest as [0, below_4g) minus
     * the legacy hole 640K-1M, and [4 GiB, 4 GiB + above_4g). */
    uint8_t *ram;
    uint64_t ram_size;
    uint64_t below_4g, above_4g;

    /* ISA/GSI interrupt inputs (0-15 ISA, 16-23 PCI on the IOAPIC).
     * Devices raise these; they reach the userspace PIC/IOAPIC or the
     * accelerator's in-kernel irqchip. */
    IrqLine *gsi[PC_NUM_GSI];
    /* Output of the userspace interrupt controller to the boot CPU. */
    IrqLine *cpu_intr;
    /* Interrupt acknowledge: the vector the CPU takes for INTR, or -1. */
    int (*intack)(Machine *m);
    bool intr_pending;              /* level of cpu_intr */
    /* The A20 gate (i8042 output port bit 1, port 0x92 bit 1).  When false
     * the emulator masks address bit 20, as an 8086 wraps at 1 MiB. */
    bool a20_enabled;

    PCDevices *pc;
    /* The opened drives (Drive *, hw/core/drive.c, include/drive.h). */
    GPtrArray *drives;
    /* The state sections of the devices, in creation order (suspend). */
    VMStateList *vmstate;

    const AccelOps *accel;
    void *accel_state;
    int ncpus;
    X86Registers boot_regs;         /* state loaded into CPU 0 at start */

    /* The ACPI power button, when the machine has one (hw/acpi-pm.c). */
    void (*power_button)(void *opaque);
    void *power_button_opaque;

    RunState state;
    /* Counts machine resets: a guest's request made before a reset (say a
     * hlt with interrupts off right after asking the keyboard controller
     * to reset) must not end the machine that the reset started anew. */
    uint64_t reset_generation;
    ShutdownCause shutdown_cause;
    int exit_status;
} Machine;

/* Build the PC: RAM, devices, firmware/kernel, accelerator.  On failure the
 * error names the option or file at fault. */
Machine *machine_create(MachineConfig *cfg, GError **errp);
int machine_start(Machine *m, GError **errp);
void machine_destroy(Machine *m);

/* Requests from devices and vCPU threads; acted on by the main loop. */
void machine_request_shutdown(Machine *m, ShutdownCause cause, int exit_status);
void machine_request_reset(Machine *m, ShutdownCause cause);
/* Pause / continue the vCPUs and the virtual clock (STOP / RESUME events). */
void machine_pause(Machine *m);
void machine_resume(Machine *m);
/* Press the power button: the guest decides (POWERDOWN event). */
void machine_request_powerdown(Machine *m);
/* The run state as QMP names it: "running", "paused", "shutdown", ... */
const char *machine_state_name(const Machine *m);

/* Register a device's state for suspend/resume under a unique section id
 * ("i8259", "serial.0"); the list goes with the devices (pc_devices_free). */
void machine_add_vmstate(Machine *m, const char *id,
                         const VMStateDescription *vmsd, void *opaque);

/* Reset now (main loop, big lock held): devices, boot state, vCPUs. */
void machine_reset(Machine *m);
/* The single machine of this process (vmkemu runs one VM per process). */
Machine *current_machine(void);
void machine_set_current(Machine *m);

#endif
