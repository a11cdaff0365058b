/*
 * ACPI tables (hw/acpi-tables.c) and the AML builder (hw/aml-builder.c):
 * the tables are placed, then parsed back the way an OS finds them (RSDP ->
 * RSDT/XSDT -> FADT -> FACS/DSDT, MADT) with every length and checksum
 * checked; the table-loader script is run the way firmware runs it; the
 * DSDT is disassembled with iasl when it is installed.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "hw/acpi.h"
#include "hw/aml-builder.h"

#define MEM_BASE    0xe0000u
#define MEM_SIZE    0x20000u
#define RSDP_ADDR   0xe0000u
#define TABLES_ADDR 0xe0040u

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* A flat guest-memory image of [MEM_BASE, MEM_BASE + MEM_SIZE). */
typedef struct Mem {
    uint8_t b[MEM_SIZE];
} Mem;

static const uint8_t *at(const Mem *m, uint64_t addr, uint64_t len)
{
    g_assert_cmphex(addr, >=, MEM_BASE);
    g_assert_cmphex(addr + len, <=, MEM_BASE + MEM_SIZE);
    return m->b + (addr - MEM_BASE);
}

/* A table at `addr` with signature `sig`: header sane, checksum zero. */
static const uint8_t *table(const Mem *m, uint64_t addr, const char *sig)
{
    const uint8_t *t = at(m, addr, 36);
    g_assert_cmpmem(t, 4, sig, 4);
    uint32_t len = le(t + 4, 4);
    g_assert_cmpuint(len, >=, 36);
    at(m, addr, len);
    g_assert_cmpuint(acpi_checksum(t, len), ==, 0);
    g_assert_cmpmem(t + 10, 6, "VMKEMU", 6);
    return t;
}

static Mem *place(const AcpiTables *t)
{
    Mem *m = g_new0(Mem, 1);
    acpi_tables_place(t, RSDP_ADDR, TABLES_ADDR, m->b + (RSDP_ADDR - MEM_BASE),
                      m->b + (TABLES_ADDR - MEM_BASE));
    return m;
}

typedef struct Found {
    const uint8_t *fadt, *madt, *facs, *dsdt;
} Found;

static Found walk(const Mem *m, uint64_t rsdp_addr)
{
    Found f = {0};
    const uint8_t *rsdp = at(m, rsdp_addr, 36);
    g_assert_cmpmem(rsdp, 8, "RSD PTR ", 8);
    g_assert_cmpuint(acpi_checksum(rsdp, 20), ==, 0);       /* ACPI 1.0 part */
    g_assert_cmpuint(rsdp[15], ==, 2);
    g_assert_cmpuint(le(rsdp + 20, 4), ==, 36);
    g_assert_cmpuint(acpi_checksum(rsdp, 36), ==, 0);       /* extended */

    const uint8_t *rsdt = table(m, le(rsdp + 16, 4), "RSDT");
    const uint8_t *xsdt = table(m, le(rsdp + 24, 8), "XSDT");
    uint32_t nr = (le(rsdt + 4, 4) - 36) / 4, nx = (le(xsdt + 4, 4) - 36) / 8;
    g_assert_cmpuint(nr, ==, 2);
    g_assert_cmpuint(nx, ==, nr);
    for (uint32_t i = 0; i < nr; i++) {
        uint64_t a = le(rsdt + 36 + 4 * i, 4);
        g_assert_cmphex(a, ==, le(xsdt + 36 + 8 * i, 8));
        const uint8_t *t = at(m, a, 36);
        if (!memcmp(t, "FACP", 4)) {
            f.fadt = table(m, a, "FACP");
        } else if (!memcmp(t, "APIC", 4)) {
            f.madt = table(m, a, "APIC");
        } else {
            g_assert_not_reached();
        }
    }
    g_assert_nonnull(f.fadt);
    g_assert_nonnull(f.madt);

    uint64_t facs = le(f.fadt + 36, 4);
    g_assert_cmphex(facs % 64, ==, 0);
    g_assert_cmphex(le(f.fadt + 132, 8), ==, 0);    /* X_FIRMWARE_CTRL unused */
    f.facs = at(m, facs, 64);
    g_assert_cmpmem(f.facs, 4, "FACS", 4);
    g_assert_cmpuint(le(f.facs + 4, 4), ==, 64);
    g_assert_cmpuint(f.facs[32], ==, 2);
    uint64_t dsdt = le(f.fadt + 40, 4);
    g_assert_cmphex(le(f.fadt + 140, 8), ==, dsdt);  /* X_DSDT = DSDT */
    f.dsdt = table(m, dsdt, "DSDT");
    g_assert_cmpuint(f.dsdt[8], ==, 2);
    return f;
}

static void check_gas_io(const uint8_t *g, uint16_t port, uint8_t bits)
{
    g_assert_cmpuint(g[0], ==, 1);          /* system I/O */
    g_assert_cmpuint(g[1], ==, bits);
    g_assert_cmphex(le(g + 4, 8), ==, port);
}

static void test_fadt(void)
{
    AcpiConfig cfg;
    acpi_config_pc(&cfg, 1);
    AcpiTables *t = acpi_tables_build(&cfg);
    Mem *m = place(t);
    Found f = walk(m, RSDP_ADDR);
    const uint8_t *a = f.fadt;

    g_assert_cmpuint(le(a + 4, 4), ==, 276);
    g_assert_cmpuint(a[8], ==, 6);
    g_assert_cmpuint(le(a + 46, 2), ==, 9);             /* SCI_INT */
    g_assert_cmpuint(le(a + 48, 4), ==, 0);             /* no SMI_CMD */
    g_assert_cmphex(le(a + 56, 4), ==, 0x600);          /* PM1a_EVT_BLK */
    g_assert_cmphex(le(a + 60, 4), ==, 0);              /* no PM1b */
    g_assert_cmphex(le(a + 64, 4), ==, 0x604);          /* PM1a_CNT_BLK */
    g_assert_cmphex(le(a + 76, 4), ==, 0x608);          /* PM_TMR_BLK */
    g_assert_cmpuint(a[88], ==, 4);
    g_assert_cmpuint(a[89], ==, 2);
    g_assert_cmpuint(a[91], ==, 4);
    g_assert_cmpuint(le(a + 80, 4), ==, 0);             /* no GPE0 */
    uint32_t flags = le(a + 112, 4);
    g_assert_true(flags & (1u << 10));                  /* RESET_REG_SUP */
    g_assert_true(flags & (1u << 8));                   /* TMR_VAL_EXT: 32 bit */
    g_assert_false(flags & (1u << 4));                  /* fixed power button */
    g_assert_false(flags & (1u << 20));                 /* not hardware-reduced */
    check_gas_io(a + 116, 0x64, 8);                     /* RESET_REG */
    g_assert_cmphex(a[128], ==, 0xfe);                  /* RESET_VALUE */
    check_gas_io(a + 148, 0x600, 32);                   /* X_PM1a_EVT_BLK */
    check_gas_io(a + 172, 0x604, 16);                   /* X_PM1a_CNT_BLK */
    check_gas_io(a + 208, 0x608, 32);                   /* X_PM_TMR_BLK */
    g_assert_cmpuint(le(a + 109, 2) & 3, ==, 3);        /* legacy devices, 8042 */
    g_assert_cmpuint(a[108], ==, 0x32);                 /* CMOS century */
    /* Same OEM table ID as the RSDT/XSDT (5.2.9). */
    g_assert_cmpmem(a + 16, 8, "VMKEMUPC", 8);

    g_free(m);
    acpi_tables_free(t);
}

static void check_madt(int ncpus)
{
    AcpiConfig cfg;
    acpi_config_pc(&cfg, ncpus);
    AcpiTables *t = acpi_tables_build(&cfg);
    Mem *m = place(t);
    Found f = walk(m, RSDP_ADDR);
    const uint8_t *a = f.madt;
    uint32_t len = le(a + 4, 4);
    int lapics = 0, ioapics = 0, isos = 0, nmis = 0;
    bool irq0 = false, sci = false;

    g_assert_cmphex(le(a + 36, 4), ==, 0xfee00000);
    g_assert_cmphex(le(a + 40, 4), ==, 1);              /* PCAT_COMPAT */
    for (uint32_t off = 44; off < len; ) {
        const uint8_t *e = a + off;
        g_assert_cmpuint(e[1], >=, 2);
        g_assert_cmpuint(off + e[1], <=, len);
        switch (e[0]) {
        case 0:
            g_assert_cmpuint(e[1], ==, 8);
            g_assert_cmpuint(e[2], ==, lapics);         /* UID */
            g_assert_cmpuint(e[3], ==, lapics);         /* APIC ID */
            g_assert_cmpuint(le(e + 4, 4) & 1, ==, 1);  /* enabled */
            lapics++;
            break;
        case 1:
            g_assert_cmpuint(e[1], ==, 12);
            g_assert_cmphex(le(e + 4, 4), ==, 0xfec00000);
            g_assert_cmpuint(le(e + 8, 4), ==, 0);      /* GSI base */
            ioapics++;
            break;
        case 2:
            g_assert_cmpuint(e[1], ==, 10);
            g_assert_cmpuint(e[2], ==, 0);              /* ISA */
            if (e[3] == 0) {
                g_assert_cmpuint(le(e + 4, 4), ==, 2);
                irq0 = true;
            } else if (e[3] == 9) {
                g_assert_cmpuint(le(e + 4, 4), ==, 9);
                g_assert_cmphex(le(e + 8, 2), ==, 0x000d);  /* level, high */
                sci = true;
            }
            isos++;
            break;
        case 4:
            g_assert_cmpuint(e[1], ==, 6);
            g_assert_cmpuint(e[5], ==, 1);              /* LINT1 */
            nmis++;
            break;
        default:
            g_assert_not_reached();
        }
        off += e[1];
    }
    g_assert_cmpint(lapics, ==, ncpus);
    g_assert_cmpint(ioapics, ==, 1);
    g_assert_cmpint(isos, ==, 2);
    g_assert_cmpint(nmis, ==, 1);
    g_assert_true(irq0 && sci);
    g_free(m);
    acpi_tables_free(t);
}

static void test_madt(void)
{
    check_madt(1);
    check_madt(4);
    check_madt(64);
}

/* The firmware side of "etc/table-loader", as SeaBIOS runs it: allocate
 * each file, add the pointee's address to each pointer, subtract the sum of
 * each range from its checksum byte. */
static void run_loader(const AcpiTables *t, Mem *m, uint64_t rsdp_at, uint64_t tables_at)
{
    const GByteArray *l = t->loader;
    uint8_t *file[2] = { m->b + (rsdp_at - MEM_BASE), m->b + (tables_at - MEM_BASE) };
    uint64_t addr[2] = { 0, 0 };
    int allocated = 0;

    g_assert_cmpuint(l->len % ACPI_LOADER_ENTRY_SIZE, ==, 0);
    for (guint off = 0; off < l->len; off += ACPI_LOADER_ENTRY_SIZE) {
        const uint8_t *e = l->data + off;
        const char *n1 = (const char *)e + 4;
        const char *n2 = (const char *)e + 4 + ACPI_LOADER_FILESZ;
        int f1 = !strcmp(n1, ACPI_FILE_RSDP) ? 0 : !strcmp(n1, ACPI_FILE_TABLES) ? 1 : -1;
        g_assert_cmpint(f1, >=, 0);
        switch (le(e, 4)) {
        case ACPI_LOADER_ALLOCATE: {
            uint32_t align = le(e + 4 + ACPI_LOADER_FILESZ, 4);
            uint8_t zone = e[4 + ACPI_LOADER_FILESZ + 4];
            uint64_t where = f1 == 0 ? rsdp_at : tables_at;
            g_assert_cmphex(where % align, ==, 0);
            g_assert_cmpuint(zone, ==, f1 == 0 ? ACPI_LOADER_ZONE_FSEG : ACPI_LOADER_ZONE_HIGH);
            memcpy(file[f1], t->blob[f1]->data, t->blob[f1]->len);
            addr[f1] = where;
            allocated |= 1 << f1;
            break;
        }
        case ACPI_LOADER_ADD_POINTER: {
            int f2 = !strcmp(n2, ACPI_FILE_RSDP) ? 0 : !strcmp(n2, ACPI_FILE_TABLES) ? 1 : -1;
            g_assert_cmpint(f2, >=, 0);
            g_assert_cmpint(allocated, ==, 3);
            uint32_t poff = le(e + 4 + 2 * ACPI_LOADER_FILESZ, 4);
            uint8_t size = e[4 + 2 * ACPI_LOADER_FILESZ + 4];
            g_assert_true(size == 4 || size == 8);
            g_assert_cmpuint(poff + size, <=, t->blob[f1]->len);
            uint64_t v = le(file[f1] + poff, size) + addr[f2];
            for (int i = 0; i < size; i++) {
                file[f1][poff + i] = v >> (8 * i);
            }
            break;
        }
        case ACPI_LOADER_ADD_CHECKSUM: {
            uint32_t coff = le(e + 4 + ACPI_LOADER_FILESZ, 4);
            uint32_t start = le(e + 8 + ACPI_LOADER_FILESZ, 4);
            uint32_t len = le(e + 12 + ACPI_LOADER_FILESZ, 4);
            g_assert_cmpuint(start + len, <=, t->blob[f1]->len);
            file[f1][coff] -= acpi_checksum(file[f1] + start, len);
            break;
        }
        default:
            g_assert_not_reached();
        }
    }
}

static void test_table_loader(void)
{
    AcpiConfig cfg;
    acpi_config_pc(&cfg, 2);
    AcpiTables *t = acpi_tables_build(&cfg);
    /* Somewhere else than the direct-boot place: RSDP in the F segment,
     * tables high (here: inside the test's window). */
    const uint64_t rsdp_at = 0xf5a10, tables_at = 0xe8000;
    Mem *fw = g_new0(Mem, 1), *direct = g_new0(Mem, 1);
    run_loader(t, fw, rsdp_at, tables_at);
    Found f = walk(fw, rsdp_at);
    g_assert_cmphex(f.facs - fw->b + MEM_BASE, ==, tables_at + t->facs);
    /* The loader and acpi_tables_place() agree byte for byte. */
    acpi_tables_place(t, rsdp_at, tables_at, direct->b + (rsdp_at - MEM_BASE),
                      direct->b + (tables_at - MEM_BASE));
    g_assert_cmpmem(fw->b, MEM_SIZE, direct->b, MEM_SIZE);
    g_free(fw);
    g_free(direct);
    acpi_tables_free(t);
}

static gboolean bytes_contain(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= len; i++) {
        if (!memcmp(p + i, s, n)) {
            return TRUE;
        }
    }
    return FALSE;
}

/* `iasl -d` of a table; its text, or NULL (with a message) when iasl is
 * not installed. */
static gchar *iasl_disassemble(const uint8_t *p, uint32_t len)
{
    gchar *iasl = g_find_program_in_path("iasl");
    if (!iasl) {
        g_test_message("iasl not installed: disassembly skipped");
        return NULL;
    }
    gchar *dir = g_dir_make_tmp("vmkemu-acpi-XXXXXX", NULL);
    g_assert_nonnull(dir);
    gchar *bin = g_build_filename(dir, "table.dat", NULL);
    gchar *dsl = g_build_filename(dir, "table.dsl", NULL);
    g_assert_true(g_file_set_contents(bin, (const char *)p, len, NULL));
    const gchar *argv[] = { iasl, "-d", bin, NULL };
    gchar *out = NULL, *err = NULL, *text = NULL;
    gint status = -1;
    g_assert_true(g_spawn_sync(dir, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, &err, &status, NULL));
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_true(g_file_get_contents(dsl, &text, NULL, NULL));
    /* iasl pads field names; squeeze runs of blanks for simple matching. */
    GRegex *re = g_regex_new("[ \t]+", 0, 0, NULL);
    gchar *squeezed = g_regex_replace_literal(re, text, -1, 0, " ", 0, NULL);
    g_regex_unref(re);
    g_unlink(bin);
    g_unlink(dsl);
    g_rmdir(dir);
    g_free(text);
    g_free(out);
    g_free(err);
    g_free(bin);
    g_free(dsl);
    g_free(dir);
    g_free(iasl);
    return squeezed;
}

static void test_dsdt(void)
{
    AcpiConfig cfg;
    acpi_config_pc(&cfg, 1);
    AcpiTables *t = acpi_tables_build(&cfg);
    Mem *m = place(t);
    Found f = walk(m, RSDP_ADDR);
    uint32_t len = le(f.dsdt + 4, 4);

    /* Name(\_S5, Package(4){7, 7, 0, 0}) as AML bytes. */
    static const uint8_t s5[] = {
        0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
        0x0a, ACPI_SLP_TYP_S5, 0x0a, ACPI_SLP_TYP_S5, 0x00, 0x00,
    };
    g_assert_true(len > sizeof(s5));
    gboolean found = FALSE;
    for (uint32_t i = 36; i + sizeof(s5) <= len; i++) {
        found |= !memcmp(f.dsdt + i, s5, sizeof(s5));
    }
    g_assert_true(found);
    g_assert_true(bytes_contain(f.dsdt, len, "QEMU0002"));

    /* iasl, where installed, must disassemble it and find \_S5. */
    gchar *text = iasl_disassemble(f.dsdt, len);
    if (text) {
        g_assert_nonnull(strstr(text, "_S5"));
        g_assert_nonnull(strstr(text, "Package (0x04)"));
        g_assert_nonnull(strstr(text, "\"QEMU0002\""));
        g_assert_nonnull(strstr(text, "PNP0C02"));
        g_assert_nonnull(strstr(text, "IO (Decode16,"));
        g_assert_nonnull(strstr(text, "Method (\\_PIC, 1"));
        g_free(text);
    }
    g_free(m);
    acpi_tables_free(t);
}

/* The other tables through iasl's data-table disassembler, which decodes
 * every field and complains about bad lengths and checksums. */
static void test_iasl_tables(void)
{
    AcpiConfig cfg;
    acpi_config_pc(&cfg, 2);
    AcpiTables *t = acpi_tables_build(&cfg);
    Mem *m = place(t);
    Found f = walk(m, RSDP_ADDR);
    const struct { const uint8_t *p; const char *want; } tabs[] = {
        { f.fadt, "Reset Register Supported (V2) : 1" },
        { f.fadt, "32-bit PM Timer (V1) : 1" },
        { f.madt, "PC-AT Compatibility : 1" },
        { f.madt, "Local Apic ID : 01" },
        { f.madt, "Trigger Mode : 3" },
        { f.facs, "Version : 02" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(tabs); i++) {
        uint32_t len = le(tabs[i].p + 4, 4);
        gchar *text = iasl_disassemble(tabs[i].p, len);
        if (!text) {
            break;
        }
        g_assert_null(strstr(text, "Invalid"));
        g_assert_null(strstr(text, "Incorrect checksum"));
        g_assert_nonnull(strstr(text, tabs[i].want));
        g_free(text);
    }
    g_free(m);
    acpi_tables_free(t);
}

/* --- AML encodings ------------------------------------------------------- */

static void check_aml(Aml *a, const uint8_t *want, size_t len)
{
    GByteArray *b = aml_to_bytes(a);
    g_assert_cmpmem(b->data, b->len, want, len);
    g_byte_array_unref(b);
    aml_free(a);
}

static void test_aml_ints(void)
{
    check_aml(aml_int(0), (const uint8_t[]){ 0x00 }, 1);
    check_aml(aml_int(1), (const uint8_t[]){ 0x01 }, 1);
    check_aml(aml_int(UINT64_MAX), (const uint8_t[]){ 0xff }, 1);
    check_aml(aml_int(0x12), (const uint8_t[]){ 0x0a, 0x12 }, 2);
    check_aml(aml_int(0x1234), (const uint8_t[]){ 0x0b, 0x34, 0x12 }, 3);
    check_aml(aml_int(0x12345678), (const uint8_t[]){ 0x0c, 0x78, 0x56, 0x34, 0x12 }, 5);
    check_aml(aml_int(0x100000000ULL),
              (const uint8_t[]){ 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 }, 9);
    check_aml(aml_string("AB"), (const uint8_t[]){ 0x0d, 'A', 'B', 0 }, 4);
    check_aml(aml_eisaid("PNP0A03"), (const uint8_t[]){ 0x0c, 0x41, 0xd0, 0x0a, 0x03 }, 5);
}

static void test_aml_names(void)
{
    check_aml(aml_name("_S5"), (const uint8_t[]){ '_', 'S', '5', '_' }, 4);
    check_aml(aml_name("\\_SB.PCI0"),
              (const uint8_t[]){ 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0' }, 10);
    check_aml(aml_name("^^A.B.C"),
              (const uint8_t[]){ 0x5e, 0x5e, 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_',
                                 'C', '_', '_', '_' }, 16);
    check_aml(aml_name("\\"), (const uint8_t[]){ 0x5c, 0x00 }, 2);
}

static void test_aml_pkglength(void)
{
    uint8_t enc[4];
    g_assert_cmpuint(aml_encode_pkglength(0x3f, enc), ==, 1);
    g_assert_cmphex(enc[0], ==, 0x3f);
    g_assert_cmpuint(aml_encode_pkglength(0x40, enc), ==, 2);
    g_assert_cmphex(enc[0], ==, 0x40);
    g_assert_cmphex(enc[1], ==, 0x04);
    g_assert_cmpuint(aml_encode_pkglength(0x12345, enc), ==, 3);
    g_assert_cmphex(enc[0], ==, 0x85);
    g_assert_cmphex(enc[1], ==, 0x34);
    g_assert_cmphex(enc[2], ==, 0x12);
    g_assert_cmpuint(aml_encode_pkglength(1u << 28, enc), ==, 0);

    /* PkgLength counts itself: a scope of 2 + 3 bytes has length 6. */
    Aml *s = aml_scope("\\");
    aml_append(s, aml_buffer(NULL, 0));          /* 3 bytes: 11 02 00 */
    GByteArray *b = aml_to_bytes(s);
    /* 10 | pkglen | 5c 00 | 11 02 00 */
    g_assert_cmpuint(b->len, ==, 1 + 1 + 2 + 3);
    g_assert_cmphex(b->data[1], ==, 6);
    g_byte_array_unref(b);
    aml_free(s);

    Aml *pkg = aml_package();
    for (int i = 0; i < 40; i++) {
        aml_append(pkg, aml_int(0x1234));        /* 3 bytes each: 120 */
    }
    b = aml_to_bytes(pkg);
    g_assert_cmphex(b->data[0], ==, 0x12);
    /* 1 (NumElements) + 120 + 2 (PkgLength) = 123 = 0x7b */
    g_assert_cmphex(b->data[1], ==, 0x40 | 0xb);
    g_assert_cmphex(b->data[2], ==, 0x07);
    g_assert_cmpuint(b->data[3], ==, 40);
    g_assert_cmpuint(b->len, ==, 1 + 2 + 1 + 120);
    g_byte_array_unref(b);
    aml_free(pkg);
}

static void test_aml_blocks(void)
{
    Aml *dev = aml_device("FOO");
    aml_append(dev, aml_name_decl("_STA", aml_int(0x0f)));
    Aml *m = aml_method("_ON", 2, true);
    aml_append(m, aml_return(aml_int(1)));
    aml_append(dev, m);
    Aml *crs = aml_resource_template();
    aml_append(crs, aml_io(0x3f8, 0x3f8, 1, 8));
    aml_append(dev, aml_name_decl("_CRS", crs));
    static const uint8_t want[] = {
        0x5b, 0x82, 0x28, 'F', 'O', 'O', '_',
        0x08, '_', 'S', 'T', 'A', 0x0a, 0x0f,
        0x14, 0x08, '_', 'O', 'N', '_', 0x0a, 0xa4, 0x01,
        0x08, '_', 'C', 'R', 'S',
        0x11, 0x0d, 0x0a, 0x0a,
        0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x79, 0x00,
    };
    check_aml(dev, want, sizeof(want));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/acpi/fadt", test_fadt);
    g_test_add_func("/acpi/madt", test_madt);
    g_test_add_func("/acpi/table-loader", test_table_loader);
    g_test_add_func("/acpi/dsdt", test_dsdt);
    g_test_add_func("/acpi/iasl-tables", test_iasl_tables);
    g_test_add_func("/acpi/aml/ints", test_aml_ints);
    g_test_add_func("/acpi/aml/names", test_aml_names);
    g_test_add_func("/acpi/aml/pkglength", test_aml_pkglength);
    g_test_add_func("/acpi/aml/blocks", test_aml_blocks);
    return g_test_run();
}
