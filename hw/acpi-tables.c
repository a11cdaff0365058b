/*
 * The ACPI tables of the PC (ACPI Specification 6.x, chapter 5): RSDP
 * (5.2.5), RSDT (5.2.7), XSDT (5.2.8), FADT (5.2.9, revision 6), FACS
 * (5.2.10), MADT (5.2.12) and a DSDT (5.2.11.1) whose AML comes from
 * hw/aml-builder.c; and the HPET table (IA-PC HPET Specification 1.0a,
 * 3.2.4) when the machine has an HPET.
 *
 * The tables describe what vmkemu's PC has: one local APIC per CPU at
 * 0xfee00000, the IOAPIC at 0xfec00000 (GSI base 0), the dual 8259
 * (PCAT_COMPAT), ISA IRQ 0 on GSI 2, the SCI on GSI 9 (level, active high),
 * the PM block of hw/acpi-pm.c and the i8042 reset (port 0x64, value 0xfe)
 * as the reset register.  There is no SMI_CMD port: ACPI mode is always on.
 *
 * Two blobs are built with pointers stored as offsets into the tables blob,
 * plus a record of every pointer and checksum.  The same records place the
 * tables for a direct kernel boot and become the "etc/table-loader" script
 * that firmware (SeaBIOS, OVMF) runs when it loads the tables from fw_cfg.
 */
#include <string.h>
#include "hw/acpi.h"
#include "hw/aml-builder.h"

#define ACPI_OEM_ID         "VMKEMU"
#define ACPI_OEM_TABLE_ID   "VMKEMUPC"
#define ACPI_CREATOR_ID     "VMKE"
#define ACPI_HEADER_SIZE    36

/* FADT (table 5-33 of ACPI 6.0). */
#define FADT_REVISION       6
#define FADT_MINOR          0
#define FADT_SIZE           276
#define FADT_FLAG_WBINVD        (1u << 0)
#define FADT_FLAG_PROC_C1       (1u << 2)
#define FADT_FLAG_SLP_BUTTON    (1u << 5)
#define FADT_FLAG_FIX_RTC       (1u << 6)
#define FADT_FLAG_TMR_VAL_EXT   (1u << 8)
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define FADT_BOOT_LEGACY_DEVICES (1u << 0)
#define FADT_BOOT_8042          (1u << 1)
#define FADT_BOOT_VGA_NOT_PRESENT (1u << 2)

/* Generic Address Structure (5.2.3.2). */
#define GAS_SYSTEM_IO       1

#define MADT_REVISION       4
#define MADT_PCAT_COMPAT    1u

void acpi_config_pc(AcpiConfig *cfg, int ncpus)
{
    *cfg = (AcpiConfig){
        .ncpus = ncpus,
        .pm_base = ACPI_PM_BASE,
        .sci_gsi = ACPI_SCI_GSI,
        .slp_typ_s5 = ACPI_SLP_TYP_S5,
        .lapic_addr = 0xfee00000,
        .ioapic_addr = 0xfec00000,
        .ioapic_id = 0,
        .century_index = 0x32,
        .vga_present = false,
        .fw_cfg_device = true,
        .pci_host = true,
        .pci_mem_start = 0xc0000000,    /* PC_PCI_HOLE_START */
        .pci_mem_end = 0xfebfffff,      /* below the IOAPIC page */
        .pci_pirq_gsi_base = 16,
    };
}

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++) {
        sum += p[i];
    }
    return sum;
}

/* --- byte helpers -------------------------------------------------------- */

static void set_le(GByteArray *b, uint32_t off, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        b->data[off + i] = v >> (8 * i);
    }
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static uint32_t reserve(GByteArray *b, uint32_t len, uint32_t align)
{
    uint32_t off = (b->len + align - 1) & ~(align - 1);
    uint32_t old = b->len;
    g_byte_array_set_size(b, off + len);
    memset(b->data + old, 0, off + len - old);
    return off;
}

static void set_bytes(GByteArray *b, uint32_t off, const char *s, unsigned n)
{
    memcpy(b->data + off, s, n);
}

/* A Generic Address Structure for an I/O port block. */
static void set_gas_io(GByteArray *b, uint32_t off, uint16_t port,
                       uint8_t bit_width, uint8_t access_size)
{
    b->data[off] = GAS_SYSTEM_IO;
    b->data[off + 1] = bit_width;
    b->data[off + 2] = 0;
    b->data[off + 3] = access_size;     /* 1 byte, 2 word, 3 dword */
    set_le(b, off + 4, port, 8);
}

/* --- records ------------------------------------------------------------- */

static void add_pointer(AcpiTables *t, AcpiBlobId blob, uint32_t off,
                        uint8_t size, AcpiBlobId target, uint64_t target_off)
{
    set_le(t->blob[blob], off, target_off, size);
    AcpiPointer p = { blob, off, size, target };
    g_array_append_val(t->pointers, p);
}

static void add_checksum(AcpiTables *t, AcpiBlobId blob, uint32_t start,
                         uint32_t len, uint32_t off)
{
    AcpiChecksum c = { blob, start, len, off };
    g_array_append_val(t->checksums, c);
    GByteArray *b = t->blob[blob];
    b->data[off] = 0;
    b->data[off] = -acpi_checksum(b->data + start, len);
}

/* Standard table header (5.2.6); length and checksum are set by
 * table_end(). */
static uint32_t table_begin(AcpiTables *t, const char *sig, uint8_t rev,
                            uint32_t len, uint32_t align)
{
    GByteArray *b = t->blob[ACPI_BLOB_TABLES];
    uint32_t off = reserve(b, len, align);
    set_bytes(b, off, sig, 4);
    b->data[off + 8] = rev;
    set_bytes(b, off + 10, ACPI_OEM_ID, 6);
    set_bytes(b, off + 16, ACPI_OEM_TABLE_ID, 8);
    set_le(b, off + 24, 1, 4);                  /* OEM revision */
    set_bytes(b, off + 28, ACPI_CREATOR_ID, 4);
    set_le(b, off + 32, 1, 4);                  /* creator revision */
    return off;
}

static void table_end(AcpiTables *t, uint32_t off)
{
    GByteArray *b = t->blob[ACPI_BLOB_TABLES];
    uint32_t len = b->len - off;
    set_le(b, off + 4, len, 4);
    add_checksum(t, ACPI_BLOB_TABLES, off, len, off + 9);
}

/* --- the tables ---------------------------------------------------------- */

static uint32_t build_facs(AcpiTables *t)
{
    GByteArray *b = t->blob[ACPI_BLOB_TABLES];
    uint32_t off = reserve(b, 64, 64);          /* 64-byte aligned */
    set_bytes(b, off, "FACS", 4);
    set_le(b, off + 4, 64, 4);
    b->data[off + 32] = 2;                      /* version */
    return off;                                 /* no checksum in the FACS */
}

/* \_SB.PCI0: the host bridge of bus 0 (PCI Firmware Specification 3.0,
 * 4.1; ACPI 6.x 6.1, 6.2.13 _PRT).  Its _CRS gives the bus range, the
 * I/O space around the configuration ports (0xcf8-0xcff, which the bridge
 * itself decodes) and the memory window of the PCI hole.  _PRT routes INTx
 * of every slot to the IOAPIC inputs PIRQA-D drive (APIC mode; hw/piix3.c):
 * slot s, pin p (0 = INTA) -> GSI base + (s + p - 1) mod 4. */
static Aml *build_pci0(const AcpiConfig *cfg)
{
    Aml *dev = aml_device("PCI0");
    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0A03")));
    aml_append(dev, aml_name_decl("_ADR", aml_int(0)));
    aml_append(dev, aml_name_decl("_BBN", aml_int(0)));
    aml_append(dev, aml_name_decl("_UID", aml_int(0)));

    Aml *crs = aml_resource_template();
    aml_append(crs, aml_word_bus_number(0x00, 0xff));
    aml_append(crs, aml_io(0xcf8, 0xcf8, 0x01, 0x08));
    aml_append(crs, aml_word_io(0x0000, 0x0cf7));
    aml_append(crs, aml_word_io(0x0d00, 0xffff));
    aml_append(crs, aml_dword_memory(cfg->pci_mem_start, cfg->pci_mem_end));
    aml_append(dev, aml_name_decl("_CRS", crs));

    Aml *prt = aml_package();
    for (int slot = 1; slot < 32; slot++) {
        for (int pin = 0; pin < 4; pin++) {
            Aml *entry = aml_package();
            aml_append(entry, aml_int(((uint32_t)slot << 16) | 0xffff));
            aml_append(entry, aml_int(pin));
            aml_append(entry, aml_int(0));
            aml_append(entry, aml_int(cfg->pci_pirq_gsi_base + ((slot + pin - 1) & 3)));
            aml_append(prt, entry);
        }
    }
    aml_append(dev, aml_name_decl("_PRT", prt));
    return dev;
}

static Aml *build_dsdt_body(const AcpiConfig *cfg)
{
    Aml *body = aml_new();

    /* \_S5: the SLP_TYP values for PM1a/PM1b_CNT (7.4.2). */
    Aml *s5 = aml_package();
    aml_append(s5, aml_int(cfg->slp_typ_s5));
    aml_append(s5, aml_int(cfg->slp_typ_s5));
    aml_append(s5, aml_int(0));
    aml_append(s5, aml_int(0));
    aml_append(body, aml_name_decl("\\_S5", s5));

    Aml *sb = aml_scope("\\_SB");
    if (cfg->fw_cfg_device) {
        /* The fw_cfg device (ACPI ID QEMU0002), so an OS knows its ports. */
        Aml *dev = aml_device("FWCF");
        aml_append(dev, aml_name_decl("_HID", aml_string("QEMU0002")));
        aml_append(dev, aml_name_decl("_STA", aml_int(0x0b)));
        Aml *crs = aml_resource_template();
        aml_append(crs, aml_io(0x510, 0x510, 0x01, 0x0c));
        aml_append(dev, aml_name_decl("_CRS", crs));
        aml_append(sb, dev);
    }
    /* The PM block's ports, claimed by a motherboard-resources device so an
     * OS does not hand them out (PNP0C02). */
    Aml *pm = aml_device("PMRS");
    aml_append(pm, aml_name_decl("_HID", aml_eisaid("PNP0C02")));
    aml_append(pm, aml_name_decl("_UID", aml_int(1)));
    Aml *crs = aml_resource_template();
    aml_append(crs, aml_io(cfg->pm_base, cfg->pm_base, 0x01, ACPI_PM_LEN));
    aml_append(pm, aml_name_decl("_CRS", crs));
    aml_append(sb, pm);
    if (cfg->pci_host) {
        aml_append(sb, build_pci0(cfg));
    }
    aml_append(body, sb);

    /* \_PIC(mode): OSPM says which interrupt model it uses; nothing in
     * this machine's routing depends on it. */
    Aml *pic = aml_method("\\_PIC", 1, false);
    aml_append(pic, aml_return(aml_int(0)));
    aml_append(body, pic);
    return body;
}

static uint32_t build_dsdt(AcpiTables *t, const AcpiConfig *cfg)
{
    GByteArray *b = t->blob[ACPI_BLOB_TABLES];
    /* Revision 2: integers are 64 bits wide. */
    uint32_t off = table_begin(t, "DSDT", 2, ACPI_HEADER_SIZE, 16);
    Aml *body = build_dsdt_body(cfg);
    GByteArray *aml = aml_to_bytes(body);
    g_byte_array_append(b, aml->data, aml->len);
    g_byte_array_unref(aml);
    aml_free(body);
    table_end(t, off);
    return off;
}

static uint32_t build_fadt(AcpiTables *t, const AcpiConfig *cfg)
{
    GByteArray *b = t->blob[ACPI_BLOB_TABLES];
    uint32_t off = table_begin(t, "FACP", FADT_REVISION, FADT_SIZE, 16);
    uint16_t pm1_evt = cfg->pm_base + ACPI_PM1_EVT_OFF;
    uint16_t pm1_cnt = cfg->pm_base + ACPI_PM1_CNT_OFF;
    uint16_t pm_tmr = cfg->pm_base + ACPI_PM_TMR_OFF;

    add_pointer(t, ACPI_BLOB_TABLES, off + 36, 4, ACPI_BLOB_TABLES, t->facs);
    add_pointer(t, ACPI_BLOB_TABLES, off + 40, 4, ACPI_BLOB_TABLES, t->dsdt);
    b->data[off + 45] = 0;                      /* PM profile: unspecified */
    set_le(b, off + 46, cfg->sci_gsi, 2);       /* SCI_INT */
    set_le(b, off + 48, 0, 4);                  /* SMI_CMD: none */
    set_le(b, off + 56, pm1_evt, 4);            /* PM1a_EVT_BLK */
    set_le(b, off + 64, pm1_cnt, 4);            /* PM1a_CNT_BLK */
    set_le(b, off + 76, pm_tmr, 4);             /* PM_TMR_BLK */
    b->data[off + 88] = ACPI_PM1_EVT_LEN;
    b->data[off + 89] = ACPI_PM1_CNT_LEN;
    b->data[off + 91] = ACPI_PM_TMR_LEN;
    set_le(b, off + 96, 101, 2);                /* P_LVL2_LAT > 100: no C2 */
    set_le(b, off + 98, 1001, 2);               /* P_LVL3_LAT > 1000: no C3 */
    b->data[off + 108] = cfg->century_index;
    set_le(b, off + 109, FADT_BOOT_LEGACY_DEVICES | FADT_BOOT_8042 |
           (cfg->vga_present ? 0 : FADT_BOOT_VGA_NOT_PRESENT), 2);
    /* PWR_BUTTON clear: the power button is the fixed-feature one. */
    set_le(b, off + 112, FADT_FLAG_WBINVD | FADT_FLAG_PROC_C1 |
           FADT_FLAG_SLP_BUTTON | FADT_FLAG_FIX_RTC | FADT_FLAG_TMR_VAL_EXT |
           FADT_FLAG_RESET_REG_SUP, 4);
    set_gas_io(b, off + 116, 0x64, 8, 1);       /* RESET_REG: i8042 */
    b->data[off + 128] = 0xfe;                  /* RESET_VALUE: pulse reset */
    b->data[off + 131] = FADT_MINOR;
    /* X_FIRMWARE_CTRL stays 0: FIRMWARE_CTRL holds the FACS (only one of
     * the two may be set). */
    add_pointer(t, ACPI_BLOB_TABLES, off + 140, 8, ACPI_BLOB_TABLES, t->dsdt);
    set_gas_io(b, off + 148, pm1_evt, ACPI_PM1_EVT_LEN * 8, 2);
    set_gas_io(b, off + 172, pm1_cnt, ACPI_PM1_CNT_LEN * 8, 2);
    set_gas_io(b, off + 208, pm_tmr, ACPI_PM_TMR_LEN * 8, 3);
    set_bytes(b, off + 268, "VMKEMU\0\0", 8);  /* hypervisor vendor */
    table_end(t, off);
    return off;
}

static uint32_t build_madt(AcpiTables *t, const AcpiConfig *cfg)
{
    GByteArray *b = t->blob[ACPI_BLOB_TABLES];
    uint32_t off = table_begin(t, "APIC", MADT_REVISION, ACPI_HEADER_SIZE + 8, 16);
    uint32_t p;

    set_le(b, off + 36, cfg->lapic_addr, 4);
    set_le(b, off + 40, MADT_PCAT_COMPAT, 4);
    for (int i = 0; i < cfg->ncpus; i++) {
        /* Processor Local APIC (5.2.12.2): UID = APIC ID = i, enabled. */
        p = reserve(b, 8, 1);
        b->data[p] = 0;
        b->data[p + 1] = 8;
        b->data[p + 2] = i;
        b->data[p + 3] = i;
        set_le(b, p + 4, 1, 4);
    }
    /* I/O APIC (5.2.12.3). */
    p = reserve(b, 12, 1);
    b->data[p] = 1;
    b->data[p + 1] = 12;
    b->data[p + 2] = cfg->ioapic_id;
    set_le(b, p + 4, cfg->ioapic_addr, 4);
    set_le(b, p + 8, 0, 4);                     /* GSI base */
    /* Interrupt Source Overrides (5.2.12.5): ISA IRQ0 (the PIT) -> GSI 2,
     * conforming; the SCI -> its GSI, level-triggered, active high. */
    static const struct { uint8_t irq; uint16_t flags; } isos[] = {
        { 0, 0x0000 },
        { ACPI_SCI_GSI, 0x000d },   /* trigger 11 = level, polarity 01 = high */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(isos); i++) {
        uint8_t irq = isos[i].irq;
        uint32_t gsi = irq == 0 ? 2 : cfg->sci_gsi;
        p = reserve(b, 10, 1);
        b->data[p] = 2;
        b->data[p + 1] = 10;
        b->data[p + 2] = 0;                     /* bus: ISA */
        b->data[p + 3] = irq == 0 ? 0 : cfg->sci_gsi;
        set_le(b, p + 4, gsi, 4);
        set_le(b, p + 8, isos[i].flags, 2);
    }
    /* Local APIC NMI (5.2.12.7): LINT1 of every processor is the NMI. */
    p = reserve(b, 6, 1);
    b->data[p] = 4;
    b->data[p + 1] = 6;
    b->data[p + 2] = 0xff;                      /* all processors */
    set_le(b, p + 3, 0, 2);
    b->data[p + 5] = 1;                         /* LINT1 */
    table_end(t, off);
    return off;
}

/* HPET description table (IA-PC HPET Specification 1.0a, 3.2.4): the
 * event timer block's ID and its registers in system memory. */
static uint32_t build_hpet(AcpiTables *t, const AcpiConfig *cfg)
{
    GByteArray *b = t->blob[ACPI_BLOB_TABLES];
    uint32_t off = table_begin(t, "HPET", 1, ACPI_HEADER_SIZE + 20, 16);

    set_le(b, off + 36, cfg->hpet_block_id, 4);
    b->data[off + 40] = 0;                      /* GAS: system memory */
    b->data[off + 41] = 64;                     /* register width */
    b->data[off + 42] = 0;                      /* bit offset */
    b->data[off + 43] = 0;                      /* access size: undefined */
    set_le(b, off + 44, cfg->hpet_addr, 8);
    b->data[off + 52] = 0;                      /* HPET number */
    set_le(b, off + 53, cfg->hpet_min_tick, 2);
    b->data[off + 55] = 1;                      /* 4 KiB page protected */
    table_end(t, off);
    return off;
}

static uint32_t build_sdt(AcpiTables *t, const char *sig, unsigned entry_size,
                          const uint32_t *entries, unsigned n)
{
    uint32_t off = table_begin(t, sig, 1, ACPI_HEADER_SIZE + entry_size * n, 16);
    for (unsigned i = 0; i < n; i++) {
        add_pointer(t, ACPI_BLOB_TABLES, off + ACPI_HEADER_SIZE + i * entry_size,
                    entry_size, ACPI_BLOB_TABLES, entries[i]);
    }
    table_end(t, off);
    return off;
}

static void build_rsdp(AcpiTables *t)
{
    GByteArray *b = t->blob[ACPI_BLOB_RSDP];
    g_byte_array_set_size(b, 36);
    memset(b->data, 0, 36);
    set_bytes(b, 0, "RSD PTR ", 8);
    set_bytes(b, 9, ACPI_OEM_ID, 6);
    b->data[15] = 2;                            /* revision: ACPI 2.0+ */
    add_pointer(t, ACPI_BLOB_RSDP, 16, 4, ACPI_BLOB_TABLES, t->rsdt);
    set_le(b, 20, 36, 4);
    add_pointer(t, ACPI_BLOB_RSDP, 24, 8, ACPI_BLOB_TABLES, t->xsdt);
    /* The ACPI 1.0 checksum covers the first 20 bytes; the extended one
     * all 36, the first checksum included, so it comes second. */
    add_checksum(t, ACPI_BLOB_RSDP, 0, 20, 8);
    add_checksum(t, ACPI_BLOB_RSDP, 0, 36, 32);
}

/* --- the table-loader script --------------------------------------------- */

static const char *const blob_file[ACPI_NR_BLOBS] = {
    [ACPI_BLOB_RSDP] = ACPI_FILE_RSDP,
    [ACPI_BLOB_TABLES] = ACPI_FILE_TABLES,
};

static uint8_t *loader_entry(GByteArray *l, uint32_t command)
{
    uint32_t off = reserve(l, ACPI_LOADER_ENTRY_SIZE, 1);
    set_le(l, off, command, 4);
    return l->data + off;
}

static void put_name(uint8_t *p, const char *name)
{
    strncpy((char *)p, name, ACPI_LOADER_FILESZ - 1);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static void build_loader(AcpiTables *t)
{
    GByteArray *l = t->loader;
    uint8_t *e;

    /* ALLOCATE: file, alignment, zone.  The RSDP goes where the legacy
     * scan finds it (the F segment); the tables anywhere in RAM. */
    e = loader_entry(l, ACPI_LOADER_ALLOCATE);
    put_name(e + 4, ACPI_FILE_RSDP);
    put32(e + 4 + ACPI_LOADER_FILESZ, 16);
    e[4 + ACPI_LOADER_FILESZ + 4] = ACPI_LOADER_ZONE_FSEG;
    e = loader_entry(l, ACPI_LOADER_ALLOCATE);
    put_name(e + 4, ACPI_FILE_TABLES);
    put32(e + 4 + ACPI_LOADER_FILESZ, 64);
    e[4 + ACPI_LOADER_FILESZ + 4] = ACPI_LOADER_ZONE_HIGH;

    /* ADD_POINTER: pointer file, pointee file, offset, size. */
    for (guint i = 0; i < t->pointers->len; i++) {
        const AcpiPointer *p = &g_array_index(t->pointers, AcpiPointer, i);
        e = loader_entry(l, ACPI_LOADER_ADD_POINTER);
        put_name(e + 4, blob_file[p->blob]);
        put_name(e + 4 + ACPI_LOADER_FILESZ, blob_file[p->target]);
        put32(e + 4 + 2 * ACPI_LOADER_FILESZ, p->offset);
        e[4 + 2 * ACPI_LOADER_FILESZ + 4] = p->size;
    }
    /* ADD_CHECKSUM: file, checksum offset, start, length. */
    for (guint i = 0; i < t->checksums->len; i++) {
        const AcpiChecksum *c = &g_array_index(t->checksums, AcpiChecksum, i);
        e = loader_entry(l, ACPI_LOADER_ADD_CHECKSUM);
        put_name(e + 4, blob_file[c->blob]);
        put32(e + 4 + ACPI_LOADER_FILESZ, c->offset);
        put32(e + 8 + ACPI_LOADER_FILESZ, c->start);
        put32(e + 12 + ACPI_LOADER_FILESZ, c->length);
    }
}

AcpiTables *acpi_tables_build(const AcpiConfig *cfg)
{
    AcpiTables *t = g_new0(AcpiTables, 1);
    for (int i = 0; i < ACPI_NR_BLOBS; i++) {
        t->blob[i] = g_byte_array_new();
    }
    t->pointers = g_array_new(FALSE, FALSE, sizeof(AcpiPointer));
    t->checksums = g_array_new(FALSE, FALSE, sizeof(AcpiChecksum));
    t->loader = g_byte_array_new();

    t->facs = build_facs(t);                    /* first: offset 0, aligned */
    t->dsdt = build_dsdt(t, cfg);
    t->fadt = build_fadt(t, cfg);
    t->madt = build_madt(t, cfg);
    uint32_t entries[3] = { t->fadt, t->madt };
    unsigned n = 2;
    if (cfg->hpet_addr) {
        t->hpet = build_hpet(t, cfg);
        entries[n++] = t->hpet;
    }
    t->rsdt = build_sdt(t, "RSDT", 4, entries, n);
    t->xsdt = build_sdt(t, "XSDT", 8, entries, n);
    build_rsdp(t);
    build_loader(t);
    return t;
}

void acpi_tables_free(AcpiTables *t)
{
    if (!t) {
        return;
    }
    for (int i = 0; i < ACPI_NR_BLOBS; i++) {
        g_byte_array_unref(t->blob[i]);
    }
    g_array_unref(t->pointers);
    g_array_unref(t->checksums);
    g_byte_array_unref(t->loader);
    g_free(t);
}

void acpi_tables_place(const AcpiTables *t, uint64_t rsdp_addr,
                       uint64_t tables_addr, uint8_t *rsdp_out,
                       uint8_t *tables_out)
{
    uint8_t *out[ACPI_NR_BLOBS] = { rsdp_out, tables_out };
    const uint64_t base[ACPI_NR_BLOBS] = { rsdp_addr, tables_addr };

    for (int i = 0; i < ACPI_NR_BLOBS; i++) {
        memcpy(out[i], t->blob[i]->data, t->blob[i]->len);
    }
    for (guint i = 0; i < t->pointers->len; i++) {
        const AcpiPointer *p = &g_array_index(t->pointers, AcpiPointer, i);
        uint8_t *f = out[p->blob] + p->offset;
        uint64_t v = get_le(f, p->size) + base[p->target];
        for (unsigned k = 0; k < p->size; k++) {
            f[k] = v >> (8 * k);
        }
    }
    for (guint i = 0; i < t->checksums->len; i++) {
        const AcpiChecksum *c = &g_array_index(t->checksums, AcpiChecksum, i);
        uint8_t *b = out[c->blob];
        b[c->offset] = 0;
        b[c->offset] = -acpi_checksum(b + c->start, c->length);
    }
}
