/*
 * The PC machine: which devices it has and where they sit.
 * Device constructors live in one file each under hw/; hw/pc.c wires them.
 */
#ifndef VMKEMU_HW_PC_H
#define VMKEMU_HW_PC_H

#include "machine.h"

/* Guest-physical layout. */
#define PC_LOW_RAM_END      0xa0000ULL      /* 640 KiB */
#define PC_HIGH_RAM_START   0x100000ULL     /* 1 MiB */
#define PC_PCI_HOLE_START   0xc0000000ULL   /* RAM above this moves to 4 GiB */
#define PC_4G               0x100000000ULL
#define PC_BIOS_LOW_MAX     0x20000ULL      /* ROM shown below 1 MiB: 128 KiB */
#define PC_PCI_MEM_END      0xfebfffffULL   /* last byte of the PCI memory window */

typedef struct DebugPorts DebugPorts;
typedef struct PCSerial PCSerial;
typedef struct Mc146818Rtc Mc146818Rtc;
typedef struct I8042 I8042;
typedef struct Port92 Port92;
typedef struct AcpiPm AcpiPm;           /* hw/acpi-pm.c */
typedef struct FwCfg FwCfg;             /* hw/fw-cfg.c */
typedef struct PCFirmware PCFirmware;   /* hw/pc-firmware.c */
typedef struct PciBus PciBus;           /* hw/core/pci.c */
typedef struct I440fx I440fx;           /* hw/i440fx.c */
typedef struct Piix3 Piix3;             /* hw/piix3.c */
typedef struct PCNet PCNet;             /* hw/pc-net.c */
typedef struct PiixIde PiixIde;         /* hw/ide-piix.c */

struct PCDevices {
    DebugPorts *debug_ports;    /* 0x80, 0xe9, 0xf4 */
    struct I8259 *pic;          /* 0x20-0x21, 0xa0-0xa1, ELCR 0x4d0-0x4d1 */
    IrqLine *pic_intr;          /* the master 8259's INT output */
    struct ApicBus *apic_bus;   /* local APICs at 0xfee00000 */
    struct IOApic *ioapic;      /* 0xfec00000 */
    struct I8254 *pit;          /* 0x40-0x43 */
    struct PCPort61 *port61;    /* 0x61 */
    Mc146818Rtc *rtc;           /* 0x70-0x71, IRQ 8 (hw/mc146818-rtc.c) */
    I8042 *i8042;               /* 0x60, 0x64, IRQ 1 and 12 (hw/i8042.c) */
    Port92 *port92;             /* 0x92 (hw/port92.c) */
    PCSerial *serial;           /* COM1-COM4 (hw/pc-serial.c) */
    uint8_t *bios_rom;          /* -bios image, page-aligned (pc-bios.c) */
    size_t bios_rom_size;
    AcpiPm *acpi_pm;            /* 0x600-0x60b, SCI on GSI 9 */
    FwCfg *fw_cfg;              /* 0x510-0x511, 0x514-0x51b */
    PCFirmware *firmware;       /* e820 map, ACPI tables, -kernel files */
    PciBus *pci_bus;            /* bus 0: 0xcf8, 0xcfc-0xcff (docs/pci.md) */
    I440fx *i440fx;             /* host bridge, 00:00.0 */
    Piix3 *piix3;               /* ISA bridge, PIRQ router, 0xcf9; 00:01.0 */
    struct Hpet *hpet;          /* 0xfed00000, with the userspace irqchip only */
    IrqLine **hpet_out;         /* its outputs (HPET_NUM_OUTPUTS lines) */
    PCNet *net;                 /* network adapters and backends (hw/pc-net.c) */
    PiixIde *ide;               /* IDE, 00:01.1: 0x1f0, 0x170, IRQ 14/15 (hw/ide-pc.c) */
    struct BusLogic *scsi[4];   /* SCSI adapters scsi0-3 at 00:10.0-00:13.0 */
    /* Devices add their state pointers here. */
};

/* Reset hooks run, in registration order, on every machine reset. */
typedef void (*ResetFn)(void *opaque);
void machine_add_reset_hook(Machine *m, ResetFn fn, void *opaque);
void machine_run_reset_hooks(Machine *m);

/* hw/pc-ram.c: allocate guest RAM and map it with the PC holes. */
int pc_ram_init(Machine *m, GError **errp);
/* hw/pc-bios.c: -bios FILE, the last byte at 0xfffff and 0xffffffff. */
int pc_bios_load(Machine *m, const char *path, GError **errp);
void pc_bios_free(Machine *m);

/* hw/pc-devices.c: create / free the legacy devices (one line each). */
int pc_devices_init(Machine *m, GError **errp);
void pc_devices_free(Machine *m);
/* Interrupt routing of the PC (the MADT of the ACPI tables says the same):
 *   m->gsi[n], n < 16: ISA IRQ n, active high.  It drives 8259 input n and
 *     IOAPIC input pc_isa_irq_to_gsi(n): ISA IRQ 0 (the PIT) on GSI 2 (the
 *     MADT's interrupt source override), every other IRQ on GSI n.  ISA
 *     IRQ 2 is the 8259 cascade and reaches no IOAPIC input.
 *   m->gsi[n], 16 <= n < 24: PCI interrupt lines, IOAPIC input n only;
 *     electrically active low (ACPI's default for PCI interrupts): a device
 *     raising the line pulls the IOAPIC input low.
 *   IOAPIC input 0: the master 8259's INT (ExtINT, virtual wire through
 *     the IOAPIC), which also drives LINT0 of every local APIC. */
static inline int pc_isa_irq_to_gsi(int irq)
{
    return irq == 0 ? 2 : irq == 2 ? -1 : irq;
}
#define PC_IOAPIC_PIC_PIN   0

/* hw/pc-irqchip.c: create the userspace interrupt controllers (8259 pair,
 * local APICs, IOAPIC) and wire them; NULL-safe free. */
int pc_irqchip_init(Machine *m, GError **errp);
void pc_irqchip_free(Machine *m);
/* hw/pc-irqchip.c: deliver GSI `n` to the userspace interrupt controllers. */
void pc_irqchip_set(Machine *m, int n, int level);
/* hw/pc-irqchip.c: the INTA cycle of CPU 0 (m->intack): through its local
 * APIC, which passes the 8259's vector on for ExtINT (virtual wire) or when
 * it is hardware-disabled. */
int pc_irqchip_intack(Machine *m);
/* hw/pc-devices.c: does the HPET's legacy replacement route own ISA IRQ
 * `n` (0 and 8) now, cutting off the PIT or the RTC? */
bool pc_hpet_owns_irq(Machine *m, int n);
/* hw/pc-kernel.c: -kernel (Multiboot or Linux bzImage) with -initrd and
 * -append; fills m->boot_regs. */
int pc_kernel_load(Machine *m, GError **errp);

/* hw/pc-net.c: the backends and network adapters of cfg->netdev/nic
 * (after the PCI bus); NULL-safe free, before the bus goes. */
int pc_net_init(Machine *m, GError **errp);
void pc_net_free(Machine *m);
/* hw/pc-pci-irq.c: PIRQ routing, ELCR and Interrupt Line registers as a
 * BIOS sets them, now and after every reset (after the devices' hooks). */
void pc_pci_irq_init(Machine *m);
/* hw/pc-scsi.c: the BusLogic SCSI adapters and their drives; NULL-safe free. */
int pc_scsi_init(Machine *m, GError **errp);
void pc_scsi_free(Machine *m);

/* hw/debug-ports.c */
DebugPorts *debug_ports_new(Machine *m);
void debug_ports_free(DebugPorts *d);
/* The POST code for suspend/resume (include/vmstate.h). */
extern const struct VMStateDescription debug_ports_vmstate;

#endif
