/*
 * The DSDT's PCI host bridge (\_SB.PCI0, hw/acpi-tables.c): the _CRS
 * windows and the _PRT parsed back from the AML bytes and checked against
 * the bus's own slot/pin -> PIRQ wiring (hw/core/pci.c) and the PIIX3's
 * PIRQ -> GSI wiring (hw/piix3.c), and the whole DSDT disassembled with
 * `iasl -d` where acpica-tools is installed.
 */
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "hw/acpi.h"
#include "hw/pci.h"
#include "hw/piix3.h"

static const uint8_t *find_bytes(const uint8_t *p, size_t len, const void *pat,
                                 size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (!memcmp(p + i, pat, n)) {
            return p + i;
        }
    }
    return NULL;
}

/* PkgLength (ACPI 6.x 20.2.4): returns the length, advances *p. */
static uint32_t parse_pkglength(const uint8_t **p)
{
    const uint8_t *q = *p;
    unsigned extra = q[0] >> 6;
    uint32_t v = extra ? q[0] & 0x0f : q[0] & 0x3f;
    for (unsigned i = 0; i < extra; i++) {
        v |= (uint32_t)q[1 + i] << (4 + 8 * i);
    }
    *p = q + 1 + extra;
    return v;
}

/* A ComputationalData integer: Zero, One, Byte/Word/DWord constants. */
static uint32_t parse_int(const uint8_t **p)
{
    const uint8_t *q = *p;
    switch (q[0]) {
    case 0x00:
    case 0x01:
        *p = q + 1;
        return q[0];
    case 0x0a:
        *p = q + 2;
        return q[1];
    case 0x0b:
        *p = q + 3;
        return q[1] | q[2] << 8;
    case 0x0c:
        *p = q + 5;
        return q[1] | q[2] << 8 | q[3] << 16 | (uint32_t)q[4] << 24;
    }
    g_error("unexpected AML integer opcode 0x%02x", q[0]);
}

static AcpiTables *build(const uint8_t **dsdt, uint32_t *len)
{
    AcpiConfig cfg;
    acpi_config_pc(&cfg, 1);
    AcpiTables *t = acpi_tables_build(&cfg);
    *dsdt = t->blob[ACPI_BLOB_TABLES]->data + t->dsdt;
    g_assert_cmpmem(*dsdt, 4, "DSDT", 4);
    *len = (*dsdt)[4] | (*dsdt)[5] << 8 | (*dsdt)[6] << 16 | (uint32_t)(*dsdt)[7] << 24;
    g_assert_cmpuint(acpi_checksum(*dsdt, *len), ==, 0);
    return t;
}

static void test_prt(void)
{
    const uint8_t *dsdt;
    uint32_t len;
    AcpiTables *t = build(&dsdt, &len);

    const uint8_t *p = find_bytes(dsdt, len, "\x08_PRT\x12", 6);
    g_assert_nonnull(p);
    p += 6;
    const uint8_t *start = p;
    uint32_t pkglen = parse_pkglength(&p);
    const uint8_t *end = start + pkglen;
    g_assert_true(end <= dsdt + len);
    unsigned count = *p++;
    g_assert_cmpuint(count, ==, 31 * 4);

    bool seen[32][4] = { { false } };
    for (unsigned i = 0; i < count; i++) {
        g_assert_cmpuint(*p++, ==, 0x12);
        const uint8_t *e0 = p;
        uint32_t elen = parse_pkglength(&p);
        g_assert_cmpuint(*p++, ==, 4);
        uint32_t addr = parse_int(&p);
        uint32_t pin = parse_int(&p);
        uint32_t source = parse_int(&p);
        uint32_t gsi = parse_int(&p);
        g_assert_true(p == e0 + elen);
        g_assert_cmpuint(addr & 0xffff, ==, 0xffff);    /* any function */
        unsigned slot = addr >> 16;
        g_assert_cmpuint(slot, >=, 1);
        g_assert_cmpuint(slot, <=, 31);
        g_assert_cmpuint(pin, <=, 3);
        g_assert_false(seen[slot][pin]);
        seen[slot][pin] = true;
        g_assert_cmpuint(source, ==, 0);                /* a GSI, not a link */
        /* The same wire as the bus and the PIIX3 use. */
        g_assert_cmpuint(gsi, ==, PIIX3_PIRQ_GSI_BASE + pci_slot_pin_to_pirq(slot, pin + 1));
    }
    g_assert_true(p == end);
    acpi_tables_free(t);
}

static void test_crs(void)
{
    const uint8_t *dsdt;
    uint32_t len;
    AcpiTables *t = build(&dsdt, &len);

    /* _HID PNP0A03 as its EISA id: "PNP" = 0x41d0, product 0x0a03. */
    static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
    g_assert_nonnull(find_bytes(dsdt, len, hid, sizeof(hid)));
    static const uint8_t bbn[] = { 0x08, '_', 'B', 'B', 'N', 0x00 };
    g_assert_nonnull(find_bytes(dsdt, len, bbn, sizeof(bbn)));

    static const uint8_t bus[] = {
        0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0x00, 0x00, 0xff, 0x00,
        0, 0, 0x00, 0x01,
    };
    static const uint8_t io_low[] = {
        0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x00, 0xf7, 0x0c,
        0, 0, 0xf8, 0x0c,
    };
    static const uint8_t io_high[] = {
        0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x0d, 0xff, 0xff,
        0, 0, 0x00, 0xf3,
    };
    static const uint8_t cfg_ports[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 };
    static const uint8_t mem[] = {
        0x87, 0x17, 0x00, 0x00, 0x0c, 0x03, 0, 0, 0, 0,
        0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xbf, 0xfe, 0, 0, 0, 0,
        0x00, 0x00, 0xc0, 0x3e,
    };
    g_assert_nonnull(find_bytes(dsdt, len, bus, sizeof(bus)));
    g_assert_nonnull(find_bytes(dsdt, len, io_low, sizeof(io_low)));
    g_assert_nonnull(find_bytes(dsdt, len, io_high, sizeof(io_high)));
    g_assert_nonnull(find_bytes(dsdt, len, cfg_ports, sizeof(cfg_ports)));
    g_assert_nonnull(find_bytes(dsdt, len, mem, sizeof(mem)));

    /* Without pci_host there is no PCI0. */
    AcpiConfig cfg;
    acpi_config_pc(&cfg, 1);
    cfg.pci_host = false;
    AcpiTables *t2 = acpi_tables_build(&cfg);
    const uint8_t *d2 = t2->blob[ACPI_BLOB_TABLES]->data + t2->dsdt;
    uint32_t l2 = d2[4] | d2[5] << 8 | d2[6] << 16 | (uint32_t)d2[7] << 24;
    g_assert_null(find_bytes(d2, l2, "PCI0", 4));
    g_assert_nonnull(find_bytes(dsdt, len, "PCI0", 4));
    acpi_tables_free(t2);
    acpi_tables_free(t);
}

static gchar *run_iasl(const uint8_t *p, uint32_t len)
{
    gchar *iasl = g_find_program_in_path("iasl");
    if (!iasl) {
        return NULL;
    }
    gchar *dir = g_dir_make_tmp("vmkemu-pci-XXXXXX", NULL);
    g_assert_nonnull(dir);
    gchar *bin = g_build_filename(dir, "dsdt.dat", NULL);
    gchar *dsl = g_build_filename(dir, "dsdt.dsl", NULL);
    g_assert_true(g_file_set_contents(bin, (const char *)p, len, NULL));
    const gchar *argv[] = { iasl, "-d", bin, NULL };
    gchar *out = NULL, *err = NULL, *text = NULL;
    gint status = -1;
    g_assert_true(g_spawn_sync(dir, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL,
                               NULL, &out, &err, &status, NULL));
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_error("iasl -d failed: %s%s", out, err);
    }
    g_assert_true(g_file_get_contents(dsl, &text, NULL, NULL));
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

static void test_iasl(void)
{
    const uint8_t *dsdt;
    uint32_t len;
    AcpiTables *t = build(&dsdt, &len);
    gchar *text = run_iasl(dsdt, len);
    if (!text) {
        g_test_skip("iasl not installed");
        acpi_tables_free(t);
        return;
    }
    static const char *const want[] = {
        "Device (PCI0)",
        "Name (_HID, EisaId (\"PNP0A03\")",
        "Name (_BBN, Zero)",
        "Name (_UID, Zero)",
        "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,",
        "0x00FF, // Range Maximum",
        "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,",
        "0x0CF7, // Range Maximum",
        "0x0D00, // Range Minimum",
        "0xF300, // Length",
        "DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,",
        "0xC0000000, // Range Minimum",
        "0xFEBFFFFF, // Range Maximum",
        "0x3EC00000, // Length",
        "Name (_PRT, Package (0x7C)",
        "0x0001FFFF,",
        "0x001FFFFF,",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        if (!strstr(text, want[i])) {
            g_error("iasl output lacks '%s':\n%s", want[i], text);
        }
    }
    /* The GSIs the _PRT names: 16-19 only. */
    g_assert_nonnull(strstr(text, "0x13"));
    g_assert_null(strstr(text, "0x14\n"));
    g_free(text);
    acpi_tables_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pci-acpi/prt", test_prt);
    g_test_add_func("/pci-acpi/crs", test_crs);
    g_test_add_func("/pci-acpi/iasl", test_iasl);
    return g_test_run();
}
