/*
 * ACPI for the PC: the firmware tables vmkemu builds (hw/acpi-tables.c) and
 * the fixed-hardware power-management block they describe (hw/acpi-pm.c).
 * Reference: ACPI Specification 6.x, chapters 4 (fixed hardware) and 5
 * (tables).
 */
#ifndef VMKEMU_HW_ACPI_H
#define VMKEMU_HW_ACPI_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct Machine Machine;

/* --- the PM block (hw/acpi-pm.c) ----------------------------------------- */

/* I/O ports of the fixed-hardware registers. */
#define ACPI_PM_BASE        0x600
#define ACPI_PM1_EVT_OFF    0x0     /* PM1a_STS (2 bytes), PM1a_EN (2 bytes) */
#define ACPI_PM1_CNT_OFF    0x4     /* PM1a_CNT (2 bytes) */
#define ACPI_PM_TMR_OFF     0x8     /* PM_TMR (4 bytes) */
#define ACPI_PM_LEN         0xc
#define ACPI_PM1_EVT_LEN    4
#define ACPI_PM1_CNT_LEN    2
#define ACPI_PM_TMR_LEN     4
#define ACPI_SCI_GSI        9

/* PM1 status / enable bits (4.8.3.1). */
#define ACPI_PM1_TMR        (1u << 0)
#define ACPI_PM1_BM_STS     (1u << 4)
#define ACPI_PM1_GBL        (1u << 5)
#define ACPI_PM1_PWRBTN     (1u << 8)
#define ACPI_PM1_SLPBTN     (1u << 9)
#define ACPI_PM1_RTC        (1u << 10)
#define ACPI_PM1_WAK_STS    (1u << 15)
/* PM1 control bits (4.8.3.2). */
#define ACPI_PM1_SCI_EN     (1u << 0)
#define ACPI_PM1_BM_RLD     (1u << 1)
#define ACPI_PM1_GBL_RLS    (1u << 2)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK  (7u << 10)
#define ACPI_PM1_SLP_EN     (1u << 13)

/* The SLP_TYP value the \_S5 package names and the PM block powers off on. */
#define ACPI_SLP_TYP_S5     7

/* The PM timer: 3.579545 MHz, 32 bits wide (FADT TMR_VAL_EXT). */
#define ACPI_PM_TIMER_HZ    3579545ULL

typedef struct AcpiPm AcpiPm;

/* The block at ACPI_PM_BASE, SCI on m->gsi[ACPI_SCI_GSI], powering off
 * through machine_request_shutdown(). */
AcpiPm *acpi_pm_new(Machine *m);
void acpi_pm_free(AcpiPm *pm);
void acpi_pm_reset(AcpiPm *pm);
/* The fixed-feature power button was pressed (monitor, host signal). */
void acpi_pm_press_power_button(AcpiPm *pm);
/* PM timer value now (for tests and the monitor). */
uint32_t acpi_pm_timer_value(AcpiPm *pm);
/* The PM block's state for suspend/resume (include/vmstate.h); the timer's
 * value is the virtual clock's. */
extern const struct VMStateDescription acpi_pm_vmstate;

/* --- the tables (hw/acpi-tables.c) --------------------------------------- */

typedef struct AcpiConfig {
    int ncpus;                  /* local APICs 0..ncpus-1, processor UID = APIC ID */
    uint16_t pm_base;           /* ACPI_PM_BASE */
    uint8_t sci_gsi;            /* ACPI_SCI_GSI */
    uint8_t slp_typ_s5;         /* ACPI_SLP_TYP_S5 */
    uint32_t lapic_addr;        /* 0xfee00000 */
    uint32_t ioapic_addr;       /* 0xfec00000 */
    uint8_t ioapic_id;          /* 0: the IOAPIC ID register's reset value */
    uint8_t century_index;      /* CMOS index of the century byte, 0x32 */
    bool vga_present;           /* IAPC_BOOT_ARCH "VGA Not Present" when false */
    bool fw_cfg_device;         /* describe fw_cfg (QEMU0002) in the DSDT */
    /* \_SB.PCI0, the PCI host bridge (docs/pci.md): its memory window and
     * the GSI of PIRQA (PIRQB-D follow); no PCI0 when pci_host is false. */
    bool pci_host;
    uint32_t pci_mem_start, pci_mem_end;
    uint8_t pci_pirq_gsi_base;
    /* The HPET (hw/hpet.c): its registers' address (0: no HPET table), the
     * Event Timer Block ID (the low half of its capabilities register) and
     * the minimum periodic tick (IA-PC HPET 1.0a, 3.2.4). */
    uint32_t hpet_addr;
    uint32_t hpet_block_id;
    uint16_t hpet_min_tick;
} AcpiConfig;

/* The PC's defaults for `ncpus` CPUs. */
void acpi_config_pc(AcpiConfig *cfg, int ncpus);

/* The tables come in two blobs, named as QEMU's fw_cfg files are: the RSDP
 * ("etc/acpi/rsdp") and everything else ("etc/acpi/tables": RSDT, XSDT,
 * FADT, FACS, MADT, DSDT, and HPET when the machine has one).  Pointers between tables are stored as offsets
 * into the tables blob; `pointers` and `checksums` record where they are so
 * that the blobs can be placed anywhere: by acpi_tables_place() for a
 * direct boot, or by firmware running the "etc/table-loader" script. */
typedef enum AcpiBlobId { ACPI_BLOB_RSDP, ACPI_BLOB_TABLES, ACPI_NR_BLOBS } AcpiBlobId;

typedef struct AcpiPointer {
    AcpiBlobId blob;            /* where the pointer field is */
    uint32_t offset;
    uint8_t size;               /* 4 or 8 bytes, little-endian */
    AcpiBlobId target;          /* whose address is added to it */
} AcpiPointer;

typedef struct AcpiChecksum {
    AcpiBlobId blob;
    uint32_t start, length;     /* the bytes that must sum to zero */
    uint32_t offset;            /* the checksum byte */
} AcpiChecksum;

typedef struct AcpiTables {
    GByteArray *blob[ACPI_NR_BLOBS];
    GArray *pointers;           /* AcpiPointer */
    GArray *checksums;          /* AcpiChecksum, in the order to apply */
    GByteArray *loader;         /* the "etc/table-loader" commands */
    /* Offsets of each table inside the tables blob (tests, debugging). */
    uint32_t rsdt, xsdt, fadt, facs, madt, dsdt;
    uint32_t hpet;              /* 0 when there is none */
} AcpiTables;

/* fw_cfg names of the blobs and of the loader script. */
#define ACPI_FILE_RSDP      "etc/acpi/rsdp"
#define ACPI_FILE_TABLES    "etc/acpi/tables"
#define ACPI_FILE_LOADER    "etc/table-loader"

/* Table-loader commands (each 128 bytes, little-endian; the SeaBIOS and
 * OVMF "QEMU loader" interface).  vmkemu emits ALLOCATE, ADD_POINTER and
 * ADD_CHECKSUM; WRITE_POINTER is not used. */
#define ACPI_LOADER_ENTRY_SIZE      128
#define ACPI_LOADER_FILESZ          56
#define ACPI_LOADER_ALLOCATE        1
#define ACPI_LOADER_ADD_POINTER     2
#define ACPI_LOADER_ADD_CHECKSUM    3
#define ACPI_LOADER_ZONE_HIGH       1
#define ACPI_LOADER_ZONE_FSEG       2

AcpiTables *acpi_tables_build(const AcpiConfig *cfg);
void acpi_tables_free(AcpiTables *t);

/* Copies of the blobs relocated for the RSDP at `rsdp_addr` and the tables
 * at `tables_addr` (64-byte aligned, for the FACS), checksums redone.
 * `rsdp_out` and `tables_out` receive blob[..]->len bytes each. */
void acpi_tables_place(const AcpiTables *t, uint64_t rsdp_addr,
                       uint64_t tables_addr, uint8_t *rsdp_out,
                       uint8_t *tables_out);

/* 8-bit sum of `len` bytes (zero for a valid ACPI table). */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

#endif
