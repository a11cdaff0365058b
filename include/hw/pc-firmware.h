/*
 * What the PC tells its guest about itself: the e820 map, the ACPI tables
 * and the fw_cfg items (hw/pc-firmware.c), plus the -kernel/-initrd files
 * kept for reloading on every reset (hw/pc-kernel.c).
 */
#ifndef VMKEMU_HW_PC_FIRMWARE_H
#define VMKEMU_HW_PC_FIRMWARE_H

#include "hw/pc.h"
#include "hw/acpi.h"
#include "hw/e820.h"

/* Without -bios the ACPI tables live in RAM at 0xe0000-0xfffff, reported
 * reserved in the e820 map, rewritten on every reset: the RSDP where the
 * legacy scan finds it, the tables (FACS first, 64-byte aligned) after it.
 * RAM rather than ROM because the FACS must be writable (ACPI 6.x 5.2.10). */
#define PC_ACPI_AREA            0xe0000ULL
#define PC_ACPI_AREA_SIZE       0x20000ULL
#define PC_ACPI_RSDP_ADDR       PC_ACPI_AREA
#define PC_ACPI_TABLES_ADDR     (PC_ACPI_AREA + 0x40)

typedef struct PCKernelFiles PCKernelFiles;    /* hw/pc-kernel.c */

typedef struct PCFirmware {
    E820Map e820;               /* the map a directly booted kernel gets */
    E820Map fw_e820;            /* fw_cfg "etc/e820" (RAM only) for -bios */
    AcpiTables *acpi;
    uint64_t acpi_rsdp;         /* 0 with -bios: firmware places the tables */
    GString *bootorder;         /* fw_cfg "bootorder": OpenFirmware paths */
    PCKernelFiles *kernel_files;
} PCFirmware;

/* Build the e820 map and ACPI tables, map the ACPI area (no -bios) or hand
 * the tables to firmware through fw_cfg (-bios), fill fw_cfg's machine
 * items.  Needs pc->fw_cfg. */
int pc_firmware_init(Machine *m, GError **errp);
void pc_firmware_free(Machine *m);
/* Append a boot device (an OpenFirmware device path) to "bootorder". */
void pc_firmware_add_boot_device(Machine *m, const char *of_path);

/* hw/pc-kernel.c */
void pc_kernel_files_free(PCKernelFiles *kf);

#endif
