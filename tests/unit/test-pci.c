/*
 * The PCI bus at register level, through the AddressSpace's ports as a
 * guest reaches it: configuration mechanism #1 (hw/core/pci.c), test
 * functions with BARs, INTx and capabilities, the i440FX host bridge
 * (hw/i440fx.c) and the PIIX3 PIRQ router (hw/piix3.c), and the PC's
 * wiring of PIRQs to the 8259 and the IOAPIC (hw/pc-devices.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <glib.h>
#include "hw/pc.h"
#include "hw/pci.h"
#include "vmstate.h"
#include "hw/i440fx.h"
#include "hw/piix3.h"
#include "hw/i8259.h"
#include "hw/ioapic.h"

/* --- helpers ---------------------------------------------------------------- */

static uint32_t cfg_addr(int slot, int fn, int reg)
{
    return PCI_CONFIG_ENABLE | slot << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg_read(AddressSpace *as, int slot, int fn, int reg, unsigned len)
{
    as_port_write(as, PCI_CONFIG_ADDRESS, cfg_addr(slot, fn, reg), 4);
    return as_port_read(as, PCI_CONFIG_DATA + (reg & 3), len);
}

static void cfg_write(AddressSpace *as, int slot, int fn, int reg, uint32_t v,
                      unsigned len)
{
    as_port_write(as, PCI_CONFIG_ADDRESS, cfg_addr(slot, fn, reg), 4);
    as_port_write(as, PCI_CONFIG_DATA + (reg & 3), v, len);
}

/* A test function: its BAR callbacks record the last access. */
typedef struct TestDev {
    PciDevice pci;
    uint64_t last_offset;
    uint64_t last_value;
    int reads, writes;
} TestDev;

static uint64_t test_bar_read(void *opaque, uint64_t offset, unsigned size)
{
    TestDev *t = opaque;
    t->reads++;
    t->last_offset = offset;
    return 0xa5a5a5a5u & ((size == 4 ? 0 : (1ULL << (8 * size))) - 1);
}

static void test_bar_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    TestDev *t = opaque;
    (void)size;
    t->writes++;
    t->last_offset = offset;
    t->last_value = value;
}

static const IoOps test_bar_ops = { .read = test_bar_read, .write = test_bar_write };

static TestDev *test_dev_new(int pin)
{
    TestDev *t = g_new0(TestDev, 1);
    pci_device_init(&t->pci, "testdev", 0x1234, 0x5678, PCI_CLASS_NETWORK_ETHERNET, 7);
    pci_config_set_subsystem(&t->pci, 0xabcd, 0xef01);
    pci_config_set_interrupt_pin(&t->pci, pin);
    pci_register_bar(&t->pci, 0, PCI_BAR_IO, 32, &test_bar_ops, t);
    pci_register_bar(&t->pci, 1, PCI_BAR_MEM32, 4096, &test_bar_ops, t);
    pci_register_bar(&t->pci, 2, PCI_BAR_MEM32_PREFETCH, 1 << 20, &test_bar_ops, t);
    pci_register_bar(&t->pci, 3, PCI_BAR_IO, 4, &test_bar_ops, t);
    pci_register_bar(&t->pci, 4, PCI_BAR_MEM32, 16, &test_bar_ops, t);
    return t;
}

/* --- a bare bus with the two chipset functions -------------------------------- */

typedef struct Bus {
    AddressSpace *as;
    PciBus *bus;
    I440fx *nb;
    Piix3 *sb;
    IrqLine **gsi;
    int level[PC_NUM_GSI];
    int changes[PC_NUM_GSI];
    int resets;
} Bus;

static void probe_gsi(void *opaque, int n, int level)
{
    Bus *b = opaque;
    if (b->level[n] != level) {
        b->changes[n]++;
    }
    b->level[n] = level;
}

static void count_reset(void *opaque)
{
    Bus *b = opaque;
    b->resets++;
}

static Bus *bus_new(void)
{
    Bus *b = g_new0(Bus, 1);
    b->as = as_new();
    b->bus = pci_bus_new(b->as);
    g_assert_nonnull(b->bus);
    g_assert_null(pci_bus_new(b->as));      /* the ports are taken */
    b->gsi = irq_lines_new(probe_gsi, b, PC_NUM_GSI);
    b->nb = i440fx_new(b->bus, 512ULL << 20);
    b->sb = piix3_new(b->bus, b->gsi, count_reset, b);
    g_assert_nonnull(b->nb);
    g_assert_nonnull(b->sb);
    return b;
}

static void bus_free(Bus *b)
{
    piix3_free(b->sb);
    i440fx_free(b->nb);
    pci_bus_free(b->bus);
    g_assert_cmpuint(as_port_read(b->as, 0xcf8, 4), ==, 0xffffffffu);
    g_assert_cmpuint(as_port_read(b->as, 0xcfc, 4), ==, 0xffffffffu);
    irq_lines_free(b->gsi, PC_NUM_GSI);
    as_free(b->as);
    g_free(b);
}

/* --- tests ------------------------------------------------------------------ */

static void test_mechanism1(void)
{
    Bus *b = bus_new();
    AddressSpace *as = b->as;

    /* CONFIG_ADDRESS: dword only; reserved bits read 0. */
    as_port_write(as, 0xcf8, 0xffffffffu, 4);
    g_assert_cmpuint(as_port_read(as, 0xcf8, 4), ==, 0x80fffffcu);
    as_port_write(as, 0xcf8, 0x80000000u, 4);
    g_assert_cmpuint(as_port_read(as, 0xcf8, 4), ==, 0x80000000u);
    as_port_write(as, 0xcf8, 0x12, 1);          /* byte: not CONFIG_ADDRESS */
    as_port_write(as, 0xcfa, 0x3456, 2);
    g_assert_cmpuint(as_port_read(as, 0xcf8, 4), ==, 0x80000000u);

    /* 00:00.0 by dword, words and bytes at every offset. */
    g_assert_cmpuint(as_port_read(as, 0xcfc, 4), ==, 0x12378086u);
    g_assert_cmpuint(as_port_read(as, 0xcfc, 2), ==, 0x8086);
    g_assert_cmpuint(as_port_read(as, 0xcfe, 2), ==, 0x1237);
    g_assert_cmpuint(as_port_read(as, 0xcfc, 1), ==, 0x86);
    g_assert_cmpuint(as_port_read(as, 0xcfd, 1), ==, 0x80);
    g_assert_cmpuint(as_port_read(as, 0xcfe, 1), ==, 0x37);
    g_assert_cmpuint(as_port_read(as, 0xcff, 1), ==, 0x12);
    /* Register bits 7:2 select the dword: class code at 0x08. */
    g_assert_cmpuint(cfg_read(as, 0, 0, 0x08, 4), ==, 0x06000000u | I440FX_REVISION);
    g_assert_cmpuint(cfg_read(as, 0, 0, 0x0b, 1), ==, 0x06);

    /* Enable bit clear: no configuration cycle. */
    as_port_write(as, 0xcf8, 0x00000000u, 4);
    g_assert_cmpuint(as_port_read(as, 0xcfc, 4), ==, 0xffffffffu);
    g_assert_cmpuint(as_port_read(as, 0xcfe, 2), ==, 0xffff);
    as_port_write(as, 0xcfc, 0xffff, 2);       /* dropped */
    g_assert_cmpuint(pci_get_word(b->nb->pci.config + PCI_COMMAND), ==, 0x0006);

    /* Byte and word writes land at their offset: the latency timer. */
    cfg_write(as, 0, 0, PCI_LATENCY_TIMER, 0x40, 1);
    g_assert_cmpuint(cfg_read(as, 0, 0, 0x0c, 4) & 0xffff, ==, 0x4000);
    cfg_write(as, 0, 0, 0x0c, 0x2010, 2);
    g_assert_cmpuint(cfg_read(as, 0, 0, 0x0c, 2), ==, 0x2010);

    /* Bus 1 does not exist. */
    as_port_write(as, 0xcf8, PCI_CONFIG_ENABLE | 1 << 16, 4);
    g_assert_cmpuint(as_port_read(as, 0xcfc, 4), ==, 0xffffffffu);
    bus_free(b);
}

static void test_absent(void)
{
    Bus *b = bus_new();
    for (int slot = 2; slot < 32; slot++) {
        g_assert_cmpuint(cfg_read(b->as, slot, 0, 0, 2), ==, 0xffff);
        g_assert_cmpuint(cfg_read(b->as, slot, 0, 0, 4), ==, 0xffffffffu);
    }
    for (int fn = 1; fn < 8; fn++) {
        g_assert_cmpuint(cfg_read(b->as, 0, fn, 0, 2), ==, 0xffff);
        g_assert_cmpuint(cfg_read(b->as, 1, fn, 0, 2), ==, 0xffff);
    }
    cfg_write(b->as, 5, 0, PCI_COMMAND, 7, 2);      /* nobody there: dropped */
    g_assert_cmpuint(cfg_read(b->as, 5, 0, PCI_COMMAND, 2), ==, 0xffff);
    bus_free(b);
}

static void test_chipset_ids(void)
{
    Bus *b = bus_new();
    AddressSpace *as = b->as;

    g_assert_cmpuint(cfg_read(as, 0, 0, PCI_VENDOR_ID, 2), ==, 0x8086);
    g_assert_cmpuint(cfg_read(as, 0, 0, PCI_DEVICE_ID, 2), ==, 0x1237);
    g_assert_cmpuint(cfg_read(as, 0, 0, PCI_CLASS_DEVICE, 2), ==, 0x0600);
    g_assert_cmpuint(cfg_read(as, 0, 0, PCI_HEADER_TYPE, 1), ==, 0x00);
    g_assert_cmpuint(cfg_read(as, 0, 0, PCI_STATUS, 2), ==, 0x0280);
    g_assert_cmpuint(cfg_read(as, 1, 0, PCI_VENDOR_ID, 2), ==, 0x8086);
    g_assert_cmpuint(cfg_read(as, 1, 0, PCI_DEVICE_ID, 2), ==, 0x7000);
    g_assert_cmpuint(cfg_read(as, 1, 0, PCI_CLASS_DEVICE, 2), ==, 0x0601);
    g_assert_cmpuint(cfg_read(as, 1, 0, PCI_COMMAND, 2), ==, 0x0007);

    /* i440FX: PAM masks, DRBs from 512 MiB (64 rows of 8 MiB), SMRAM. */
    cfg_write(as, 0, 0, 0x58, 0xffffffffu, 4);      /* 0x58 DRAMT not modelled */
    g_assert_cmpuint(cfg_read(as, 0, 0, 0x58, 4), ==, 0x33333000u);
    cfg_write(as, 0, 0, 0x5c, 0xffffffffu, 4);
    g_assert_cmpuint(cfg_read(as, 0, 0, 0x5c, 4), ==, 0x33333333u);
    g_assert_cmpuint(cfg_read(as, 0, 0, 0x60, 4), ==, 0x40404040u);
    g_assert_cmpuint(cfg_read(as, 0, 0, I440FX_SMRAM, 1), ==, 0x02);
    cfg_write(as, 0, 0, I440FX_SMRAM, 0xff, 1);     /* D_LCK with D_OPEN: open is cleared */
    g_assert_cmpuint(cfg_read(as, 0, 0, I440FX_SMRAM, 1), ==, 0x3a);
    cfg_write(as, 0, 0, I440FX_SMRAM, 0x42, 1);     /* locked: D_OPEN, D_LCK stay */
    g_assert_cmpuint(cfg_read(as, 0, 0, I440FX_SMRAM, 1), ==, 0x12);
    i440fx_reset(b->nb);
    g_assert_cmpuint(cfg_read(as, 0, 0, I440FX_SMRAM, 1), ==, 0x02);
    g_assert_cmpuint(cfg_read(as, 0, 0, 0x5c, 4), ==, 0);
    cfg_write(as, 0, 0, I440FX_SMRAM, 0x48, 1);     /* unlocked: D_OPEN sticks */
    g_assert_cmpuint(cfg_read(as, 0, 0, I440FX_SMRAM, 1), ==, 0x4a);

    /* PIIX3: PIRQRC defaults (disabled), bits 6:4 reserved, TOM, 0xcf9. */
    g_assert_cmpuint(cfg_read(as, 1, 0, PIIX3_PIRQRC, 4), ==, 0x80808080u);
    cfg_write(as, 1, 0, PIIX3_PIRQRC, 0xffffffffu, 4);
    g_assert_cmpuint(cfg_read(as, 1, 0, PIIX3_PIRQRC, 4), ==, 0x8f8f8f8fu);
    g_assert_cmpuint(cfg_read(as, 1, 0, PIIX3_TOM, 1), ==, 0x02);
    g_assert_cmpuint(cfg_read(as, 1, 0, PIIX3_XBCS, 2), ==, 0x0003);
    as_port_write(as, 0xcf9, PIIX3_RC_SRST, 1);
    g_assert_cmpint(b->resets, ==, 0);
    g_assert_cmpuint(as_port_read(as, 0xcf9, 1), ==, PIIX3_RC_SRST);
    as_port_write(as, 0xcf9, PIIX3_RC_SRST | PIIX3_RC_RCPU, 1);
    g_assert_cmpint(b->resets, ==, 1);
    as_port_write(as, 0xcf9, PIIX3_RC_SRST | PIIX3_RC_RCPU, 1);    /* no 0 -> 1 */
    g_assert_cmpint(b->resets, ==, 1);
    piix3_reset(b->sb);
    g_assert_cmpuint(cfg_read(as, 1, 0, PIIX3_PIRQRC, 4), ==, 0x80808080u);
    g_assert_cmpuint(as_port_read(as, 0xcf9, 1), ==, 0);
    bus_free(b);
}

static void test_write_masks(void)
{
    Bus *b = bus_new();
    AddressSpace *as = b->as;
    TestDev *t = test_dev_new(PCI_INTA);
    g_assert_cmpint(pci_bus_add_device(b->bus, &t->pci, PCI_DEVFN(3, 0)), ==, 0);
    g_assert_cmpint(pci_bus_add_device(b->bus, &t->pci, PCI_DEVFN(3, 0)), ==, -EEXIST);
    g_assert_cmpint(pci_bus_add_device(b->bus, &t->pci, 256), ==, -EINVAL);

    /* IDs, class, revision, subsystem, pin are read-only. */
    cfg_write(as, 3, 0, 0x00, 0, 4);
    cfg_write(as, 3, 0, 0x08, 0, 4);
    cfg_write(as, 3, 0, 0x2c, 0, 4);
    cfg_write(as, 3, 0, PCI_INTERRUPT_PIN, 0, 1);
    g_assert_cmpuint(cfg_read(as, 3, 0, 0x00, 4), ==, 0x56781234u);
    g_assert_cmpuint(cfg_read(as, 3, 0, 0x08, 4), ==, 0x02000007u);
    g_assert_cmpuint(cfg_read(as, 3, 0, 0x2c, 4), ==, 0xef01abcdu);
    g_assert_cmpuint(cfg_read(as, 3, 0, PCI_INTERRUPT_PIN, 1), ==, 1);
    /* Interrupt line is read/write; the expansion ROM BAR reads 0. */
    cfg_write(as, 3, 0, PCI_INTERRUPT_LINE, 11, 1);
    g_assert_cmpuint(cfg_read(as, 3, 0, PCI_INTERRUPT_LINE, 1), ==, 11);
    cfg_write(as, 3, 0, PCI_ROM_ADDRESS, 0xffffffffu, 4);
    g_assert_cmpuint(cfg_read(as, 3, 0, PCI_ROM_ADDRESS, 4), ==, 0);
    /* BAR 5 is not implemented. */
    cfg_write(as, 3, 0, PCI_BASE_ADDRESS_0 + 20, 0xffffffffu, 4);
    g_assert_cmpuint(cfg_read(as, 3, 0, PCI_BASE_ADDRESS_0 + 20, 4), ==, 0);

    /* Command: only the implemented bits stick. */
    cfg_write(as, 3, 0, PCI_COMMAND, 0xffff, 2);
    g_assert_cmpuint(cfg_read(as, 3, 0, PCI_COMMAND, 2), ==, 0x0547);
    cfg_write(as, 3, 0, PCI_COMMAND, 0, 2);

    /* Status: error bits are write-1-to-clear, the rest read-only. */
    uint16_t st = pci_get_word(t->pci.config + PCI_STATUS);
    g_assert_cmpuint(st, ==, PCI_STATUS_DEVSEL_MEDIUM);
    pci_set_word(t->pci.config + PCI_STATUS, st | 0x2000 | 0x0100 | 0x8000);
    cfg_write(as, 3, 0, PCI_STATUS, 0, 2);          /* 0s clear nothing */
    g_assert_cmpuint(cfg_read(as, 3, 0, PCI_STATUS, 2), ==, 0xa300);
    cfg_write(as, 3, 0, PCI_STATUS, 0x2000, 2);     /* one bit */
    g_assert_cmpuint(cfg_read(as, 3, 0, PCI_STATUS, 2), ==, 0x8300);
    cfg_write(as, 3, 0, PCI_STATUS - 2, 0xffff0000u, 4);   /* dword with command */
    g_assert_cmpuint(cfg_read(as, 3, 0, PCI_STATUS, 2), ==, 0x0200);
    /* A byte write to the high byte of status alone. */
    pci_set_word(t->pci.config + PCI_STATUS, 0x4200);
    cfg_write(as, 3, 0, PCI_STATUS + 1, 0x40, 1);
    g_assert_cmpuint(cfg_read(as, 3, 0, PCI_STATUS, 2), ==, 0x0200);

    pci_bus_remove_device(&t->pci);
    g_assert_cmpuint(cfg_read(as, 3, 0, 0, 2), ==, 0xffff);
    g_free(t);
    bus_free(b);
}

static void test_bar_sizing(void)
{
    Bus *b = bus_new();
    AddressSpace *as = b->as;
    TestDev *t = test_dev_new(PCI_INTA);
    g_assert_cmpint(pci_bus_add_device(b->bus, &t->pci, PCI_DEVFN(4, 0)), ==, 0);

    static const struct { int bar; uint32_t reset, sized; } want[] = {
        { 0, 0x00000001u, 0xffffffe1u },    /* I/O, 32 bytes */
        { 1, 0x00000000u, 0xfffff000u },    /* memory, 4 KiB */
        { 2, 0x00000008u, 0xfff00008u },    /* memory, 1 MiB, prefetchable */
        { 3, 0x00000001u, 0xfffffffdu },    /* I/O, 4 bytes */
        { 4, 0x00000000u, 0xfffffff0u },    /* memory, 16 bytes */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        int reg = PCI_BASE_ADDRESS_0 + 4 * want[i].bar;
        g_assert_cmpuint(cfg_read(as, 4, 0, reg, 4), ==, want[i].reset);
        cfg_write(as, 4, 0, reg, 0xffffffffu, 4);
        g_assert_cmpuint(cfg_read(as, 4, 0, reg, 4), ==, want[i].sized);
        /* Decoding the size the way firmware does. */
        uint32_t v = cfg_read(as, 4, 0, reg, 4);
        uint32_t size = ~(v & ((v & 1) ? ~3u : ~15u)) + 1;
        g_assert_cmpuint(size, ==, t->pci.bar[want[i].bar].size);
        cfg_write(as, 4, 0, reg, 0, 4);
        g_assert_cmpuint(cfg_read(as, 4, 0, reg, 4), ==, want[i].reset);
    }
    /* An unaligned address is rounded down to the BAR's size. */
    cfg_write(as, 4, 0, PCI_BASE_ADDRESS_0 + 4, 0xfebf1234u, 4);
    g_assert_cmpuint(cfg_read(as, 4, 0, PCI_BASE_ADDRESS_0 + 4, 4), ==, 0xfebf1000u);
    /* Byte writes to a BAR, as a firmware might do. */
    cfg_write(as, 4, 0, PCI_BASE_ADDRESS_0 + 1, 0xc1, 1);
    g_assert_cmpuint(cfg_read(as, 4, 0, PCI_BASE_ADDRESS_0, 4), ==, 0xc101u);
    /* None of it is mapped: decoding is off. */
    g_assert_null(as_find(as, 0xfebf1000u));
    pci_bus_remove_device(&t->pci);
    g_free(t);
    bus_free(b);
}

static void test_bar_mapping(void)
{
    Bus *b = bus_new();
    AddressSpace *as = b->as;
    TestDev *t = test_dev_new(PCI_INTA);
    g_assert_cmpint(pci_bus_add_device(b->bus, &t->pci, PCI_DEVFN(5, 0)), ==, 0);

    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0, 0xc000, 4);
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0 + 4, 0xfebf0000u, 4);
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0 + 8, 0xe0000000u, 4);
    g_assert_null(as_find(as, 0xfebf0000u));
    g_assert_cmpuint(as_port_read(as, 0xc004, 4), ==, 0xffffffffu);

    /* I/O enable maps the I/O BARs only. */
    cfg_write(as, 5, 0, PCI_COMMAND, PCI_COMMAND_IO, 2);
    g_assert_cmpuint(as_port_read(as, 0xc004, 4), ==, 0xa5a5a5a5u);
    g_assert_cmpuint(t->last_offset, ==, 4);
    as_port_write(as, 0xc01f, 0x5a, 1);
    g_assert_cmpuint(t->last_offset, ==, 0x1f);
    g_assert_cmpuint(t->last_value, ==, 0x5a);
    g_assert_cmpuint(as_port_read(as, 0xc020, 1), ==, 0xff);    /* past 32 bytes */
    g_assert_null(as_find(as, 0xfebf0000u));

    /* Memory enable maps the memory BARs. */
    cfg_write(as, 5, 0, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    const MemRegion *r = as_find(as, 0xfebf0010u);
    g_assert_nonnull(r);
    g_assert_cmpuint(r->base, ==, 0xfebf0000u);
    g_assert_cmpuint(r->size, ==, 4096);
    r = as_find(as, 0xe00fffffu);
    g_assert_nonnull(r);
    g_assert_cmpuint(r->size, ==, 1 << 20);
    as_mmio_write(as, 0xfebf0ffcu, 0x12345678, 4);
    g_assert_cmpuint(t->last_offset, ==, 0xffc);
    g_assert_cmpuint(t->last_value, ==, 0x12345678);

    /* Moving a BAR moves the region. */
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0 + 4, 0xfeb00000u, 4);
    g_assert_null(as_find(as, 0xfebf0000u));
    r = as_find(as, 0xfeb00000u);
    g_assert_nonnull(r);
    g_assert_cmpuint(r->base, ==, 0xfeb00000u);
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0, 0xd000, 4);
    g_assert_cmpuint(as_port_read(as, 0xc004, 4), ==, 0xffffffffu);
    g_assert_cmpuint(as_port_read(as, 0xd004, 4), ==, 0xa5a5a5a5u);

    /* Sizing while decoding: the memory BAR decodes the top 4 KiB below
     * 4 GiB meanwhile (as hardware would); the I/O BAR's all ones lie past
     * 64 KiB, so it decodes nothing. */
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0 + 4, 0xffffffffu, 4);
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
    g_assert_null(as_find(as, 0xfeb00000u));
    g_assert_nonnull(as_find(as, 0xfffff000u));
    g_assert_cmpuint(as_port_read(as, 0xd004, 4), ==, 0xffffffffu);
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0 + 4, 0xfeb00000u, 4);
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0, 0xd000, 4);
    g_assert_nonnull(as_find(as, 0xfeb00000u));

    /* A BAR over an existing region stays unmapped; moved off, it maps. */
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0 + 12, 0xcf8, 4);      /* the config ports */
    g_assert_cmpuint(as_port_read(as, 0xcf8, 4), ==, PCI_CONFIG_ENABLE | 5 << 11 | 0x1c);
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0 + 12, 0xe000, 4);
    g_assert_cmpuint(as_port_read(as, 0xe000, 1), ==, 0xa5);

    /* Disabling decode unmaps everything. */
    cfg_write(as, 5, 0, PCI_COMMAND, 0, 2);
    g_assert_null(as_find(as, 0xfeb00000u));
    g_assert_null(as_find(as, 0xe0000000u));
    g_assert_cmpuint(as_port_read(as, 0xd004, 4), ==, 0xffffffffu);

    /* Reset clears the BARs; removal unmaps. */
    cfg_write(as, 5, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    g_assert_nonnull(as_find(as, 0xfeb00000u));
    pci_bus_reset(b->bus);
    g_assert_cmpuint(as_port_read(as, 0xcf8, 4), ==, 0);
    g_assert_null(as_find(as, 0xfeb00000u));
    g_assert_cmpuint(cfg_read(as, 5, 0, PCI_BASE_ADDRESS_0 + 4, 4), ==, 0);
    cfg_write(as, 5, 0, PCI_BASE_ADDRESS_0 + 4, 0xfeb00000u, 4);
    cfg_write(as, 5, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    g_assert_nonnull(as_find(as, 0xfeb00000u));
    pci_bus_remove_device(&t->pci);
    g_assert_null(as_find(as, 0xfeb00000u));
    g_free(t);
    bus_free(b);
}

static void test_capabilities_multifunction(void)
{
    Bus *b = bus_new();
    TestDev *f0 = test_dev_new(PCI_INTA), *f2 = test_dev_new(PCI_INTB);

    g_assert_cmpint(pci_add_capability(&f0->pci, 0x05, 24), ==, 0x40);  /* MSI-like */
    g_assert_cmpint(pci_add_capability(&f0->pci, 0x09, 6), ==, 0x58);
    g_assert_cmpint(pci_add_capability(&f0->pci, 0x01, 200), ==, -ENOSPC);
    g_assert_cmpint(pci_bus_add_device(b->bus, &f0->pci, PCI_DEVFN(6, 0)), ==, 0);
    g_assert_true(cfg_read(b->as, 6, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    int ptr = cfg_read(b->as, 6, 0, PCI_CAPABILITY_LIST, 1);
    g_assert_cmpint(ptr, ==, 0x40);
    g_assert_cmpuint(cfg_read(b->as, 6, 0, ptr, 1), ==, 0x05);
    ptr = cfg_read(b->as, 6, 0, ptr + 1, 1);
    g_assert_cmpint(ptr, ==, 0x58);
    g_assert_cmpuint(cfg_read(b->as, 6, 0, ptr, 2), ==, 0x0009);    /* last */
    /* Capability bytes are read-only unless the model says otherwise. */
    cfg_write(b->as, 6, 0, 0x40, 0xffffffffu, 4);
    g_assert_cmpuint(cfg_read(b->as, 6, 0, 0x40, 2), ==, 0x5805);

    /* A second function makes function 0 multi-function, and back. */
    g_assert_cmpuint(cfg_read(b->as, 6, 0, PCI_HEADER_TYPE, 1), ==, 0x00);
    g_assert_cmpint(pci_bus_add_device(b->bus, &f2->pci, PCI_DEVFN(6, 2)), ==, 0);
    g_assert_cmpuint(cfg_read(b->as, 6, 0, PCI_HEADER_TYPE, 1), ==, 0x80);
    g_assert_cmpuint(cfg_read(b->as, 6, 2, PCI_VENDOR_ID, 2), ==, 0x1234);
    g_assert_cmpuint(cfg_read(b->as, 6, 1, PCI_VENDOR_ID, 2), ==, 0xffff);
    pci_bus_remove_device(&f2->pci);
    g_assert_cmpuint(cfg_read(b->as, 6, 0, PCI_HEADER_TYPE, 1), ==, 0x00);
    pci_bus_remove_device(&f0->pci);
    g_free(f0);
    g_free(f2);
    bus_free(b);
}

static void test_intx_routing(void)
{
    Bus *b = bus_new();
    AddressSpace *as = b->as;
    TestDev *t3 = test_dev_new(PCI_INTA), *t4 = test_dev_new(PCI_INTB);
    TestDev *t5 = test_dev_new(PCI_INTA);

    g_assert_cmpint(pci_slot_pin_to_pirq(1, PCI_INTA), ==, 0);
    g_assert_cmpint(pci_slot_pin_to_pirq(2, PCI_INTA), ==, 1);
    g_assert_cmpint(pci_slot_pin_to_pirq(3, PCI_INTA), ==, 2);
    g_assert_cmpint(pci_slot_pin_to_pirq(4, PCI_INTA), ==, 3);
    g_assert_cmpint(pci_slot_pin_to_pirq(5, PCI_INTA), ==, 0);
    g_assert_cmpint(pci_slot_pin_to_pirq(3, PCI_INTD), ==, 1);
    g_assert_cmpint(pci_slot_pin_to_pirq(0, PCI_INTA), ==, 3);

    g_assert_cmpint(pci_bus_add_device(b->bus, &t3->pci, PCI_DEVFN(3, 0)), ==, 0);
    g_assert_cmpint(pci_bus_add_device(b->bus, &t4->pci, PCI_DEVFN(4, 0)), ==, 0);
    g_assert_cmpint(pci_bus_add_device(b->bus, &t5->pci, PCI_DEVFN(5, 0)), ==, 0);

    /* Slot 3 INTA -> PIRQC -> GSI 18; PIRQRC disabled: no ISA IRQ. */
    pci_set_irq(&t3->pci, 1);
    g_assert_cmpint(b->level[18], ==, 1);
    g_assert_true(cfg_read(as, 3, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    for (int i = 0; i < 16; i++) {
        g_assert_cmpint(b->level[i], ==, 0);
    }
    /* Route PIRQC to IRQ 11: the held level appears there at once. */
    cfg_write(as, 1, 0, PIIX3_PIRQRC + 2, 11, 1);
    g_assert_cmpint(b->level[11], ==, 1);
    pci_set_irq(&t3->pci, 0);
    g_assert_cmpint(b->level[11], ==, 0);
    g_assert_cmpint(b->level[18], ==, 0);
    g_assert_false(cfg_read(as, 3, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);

    /* Slot 4 INTB -> PIRQA (GSI 16); slot 5 INTA -> PIRQA as well. */
    cfg_write(as, 1, 0, PIIX3_PIRQRC, 10, 1);
    pci_set_irq(&t4->pci, 1);
    pci_set_irq(&t5->pci, 1);
    g_assert_cmpint(b->level[16], ==, 1);
    g_assert_cmpint(b->level[10], ==, 1);
    pci_set_irq(&t4->pci, 0);               /* t5 still holds PIRQA */
    g_assert_cmpint(b->level[16], ==, 1);
    g_assert_cmpint(b->level[10], ==, 1);
    pci_set_irq(&t5->pci, 0);
    g_assert_cmpint(b->level[16], ==, 0);
    g_assert_cmpint(b->level[10], ==, 0);

    /* Two PIRQs on one IRQ are ORed. */
    cfg_write(as, 1, 0, PIIX3_PIRQRC + 2, 10, 1);
    pci_set_irq(&t3->pci, 1);               /* PIRQC */
    pci_set_irq(&t4->pci, 1);               /* PIRQA */
    g_assert_cmpint(b->level[10], ==, 1);
    pci_set_irq(&t3->pci, 0);
    g_assert_cmpint(b->level[10], ==, 1);
    pci_set_irq(&t4->pci, 0);
    g_assert_cmpint(b->level[10], ==, 0);

    /* The disable bit, and IRQs a PIRQ cannot reach (0-2, 8, 13). */
    static const uint8_t unroutable[] = { 0x8a, 0x00, 0x01, 0x02, 0x08, 0x0d };
    for (size_t i = 0; i < G_N_ELEMENTS(unroutable); i++) {
        cfg_write(as, 1, 0, PIIX3_PIRQRC + 2, unroutable[i], 1);
        int before[16];
        memcpy(before, b->changes, sizeof(before));
        pci_set_irq(&t3->pci, 1);
        pci_set_irq(&t3->pci, 0);
        g_assert_cmpmem(before, sizeof(before), b->changes, sizeof(before));
    }
    /* Rerouting a held PIRQ moves it from one IRQ to the other. */
    cfg_write(as, 1, 0, PIIX3_PIRQRC + 2, 5, 1);
    pci_set_irq(&t3->pci, 1);
    g_assert_cmpint(b->level[5], ==, 1);
    cfg_write(as, 1, 0, PIIX3_PIRQRC + 2, 15, 1);
    g_assert_cmpint(b->level[5], ==, 0);
    g_assert_cmpint(b->level[15], ==, 1);

    /* Command Interrupt Disable takes the function off its pin; Interrupt
     * Status still shows the request. */
    cfg_write(as, 3, 0, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
    g_assert_cmpint(b->level[15], ==, 0);
    g_assert_cmpint(b->level[18], ==, 0);
    g_assert_true(cfg_read(as, 3, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    cfg_write(as, 3, 0, PCI_COMMAND, 0, 2);
    g_assert_cmpint(b->level[15], ==, 1);
    g_assert_cmpint(b->level[18], ==, 1);

    /* PIIX3 reset disables the routing; the APIC path stays. */
    piix3_reset(b->sb);
    g_assert_cmpint(b->level[15], ==, 0);
    g_assert_cmpint(b->level[18], ==, 1);
    /* Removing an asserting function releases its PIRQ. */
    pci_bus_remove_device(&t3->pci);
    g_assert_cmpint(b->level[18], ==, 0);

    pci_bus_remove_device(&t4->pci);
    pci_bus_remove_device(&t5->pci);
    g_free(t3);
    g_free(t4);
    g_free(t5);
    bus_free(b);
}

/* --- the PC's wiring: PIRQs to the 8259 and the IOAPIC -------------------- */

static void pc_gsi(void *opaque, int n, int level)
{
    pc_irqchip_set(opaque, n, level);
}

static void pc_cpu_intr(void *opaque, int n, int level)
{
    Machine *m = opaque;
    (void)n;
    m->intr_pending = level;
}

static Machine *pc_new(void)
{
    Machine *m = g_new0(Machine, 1);
    m->cfg = g_new0(MachineConfig, 1);
    machine_config_init(m->cfg);
    m->as = as_new();
    m->pc = g_new0(PCDevices, 1);
    machine_set_current(m);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        m->gsi[i] = irq_line_new(pc_gsi, m, i);
    }
    m->cpu_intr = irq_line_new(pc_cpu_intr, m, 0);
    m->cfg->ram_size = 16 << 20;
    g_assert_cmpint(pc_ram_init(m, NULL), ==, 0);
    g_assert_cmpint(pc_devices_init(m, NULL), ==, 0);
    return m;
}

static void pc_free(Machine *m)
{
    pc_devices_free(m);
    g_assert_cmpuint(as_port_read(m->as, 0xcfc, 4), ==, 0xffffffffu);
    for (int i = 0; i < PC_NUM_GSI; i++) {
        irq_line_free(m->gsi[i]);
    }
    irq_line_free(m->cpu_intr);
    as_free(m->as);
    munmap(m->ram, m->ram_size);
    g_free(m->pc);
    machine_config_clear(m->cfg);
    g_free(m->cfg);
    machine_set_current(NULL);
    g_free(m);
}

static void test_pc_wiring(void)
{
    Machine *m = pc_new();
    AddressSpace *as = m->as;
    I8259 *pic = m->pc->pic;
    IOApic *io = m->pc->ioapic;
    TestDev *t = test_dev_new(PCI_INTA);

    g_assert_cmpuint(cfg_read(as, 0, 0, 0, 4), ==, 0x12378086u);
    g_assert_cmpuint(cfg_read(as, 1, 0, 0, 4), ==, 0x70008086u);
    /* 16 MiB of RAM: two rows of 8 MiB. */
    g_assert_cmpuint(cfg_read(as, 0, 0, I440FX_DRB0, 1), ==, 2);
    /* The PCI inputs of the IOAPIC idle high (active low). */
    g_assert_cmpuint(io->pin_level >> 16, ==, 0xff);

    g_assert_cmpint(pci_bus_add_device(m->pc->pci_bus, &t->pci, PCI_DEVFN(2, 0)), ==, 0);
    /* Slot 2 INTA -> PIRQB: IOAPIC input 17 goes low; 8259 IRQ 9 when
     * routed there (level per ELCR). */
    cfg_write(as, 1, 0, PIIX3_PIRQRC + 1, 9, 1);
    as_port_write(as, 0x4d1, 0x02, 1);          /* ELCR: IRQ 9 level */
    pci_set_irq(&t->pci, 1);
    g_assert_false((io->pin_level >> 17) & 1);
    g_assert_true((pic->chip[1].lines >> 1) & 1);
    g_assert_true((pic->chip[1].irr >> 1) & 1);
    /* The IOAPIC's ISA input 9 sees the routed IRQ too (as the ISA line). */
    g_assert_true((io->pin_level >> 9) & 1);
    pci_set_irq(&t->pci, 0);
    g_assert_true((io->pin_level >> 17) & 1);
    g_assert_false((pic->chip[1].lines >> 1) & 1);
    g_assert_false((pic->chip[1].irr >> 1) & 1);    /* level: the request goes */

    /* Machine reset hooks: the bridges come back to their defaults, then
     * the PCI interrupts are routed as a BIOS leaves them (hw/pc-pci-irq.c):
     * PIRQA, C -> IRQ 10, PIRQB, D -> IRQ 11, both level in the ELCR, and
     * slot 2 INTA (PIRQB) gets Interrupt Line 11. */
    cfg_write(as, 2, 0, PCI_COMMAND, PCI_COMMAND_IO, 2);
    cfg_write(as, 2, 0, PCI_INTERRUPT_LINE, 0, 1);
    machine_run_reset_hooks(m);
    g_assert_cmpuint(as_port_read(as, 0xcf8, 4), ==, 0);
    g_assert_cmpuint(cfg_read(as, 1, 0, PIIX3_PIRQRC, 4), ==, 0x0b0a0b0au);
    g_assert_cmphex(as_port_read(as, 0x4d1, 1) & 0x0c, ==, 0x0c);
    g_assert_cmpuint(cfg_read(as, 2, 0, PCI_INTERRUPT_LINE, 1), ==, 11);
    g_assert_cmpuint(cfg_read(as, 1, 0, PCI_INTERRUPT_LINE, 1), ==, 0);    /* no pin */
    g_assert_cmpuint(cfg_read(as, 0, 0, PCI_COMMAND, 2), ==, 0x0006);
    g_assert_cmpuint(cfg_read(as, 1, 0, PCI_COMMAND, 2), ==, 0x0007);
    g_assert_cmpuint(cfg_read(as, 2, 0, PCI_COMMAND, 2), ==, 0);

    pci_bus_remove_device(&t->pci);
    g_free(t);
    pc_free(m);
}

/* Suspend: the configuration bytes and INTx level go into a section and a
 * fresh bus built the same way comes back with the same mappings, PIRQ
 * routing and interrupt levels. */
static void test_suspend_sections(void)
{
    Bus *a = bus_new(), *b = bus_new();
    TestDev *ta = test_dev_new(PCI_INTA), *tb = test_dev_new(PCI_INTA);
    g_assert_cmpint(pci_bus_add_device(a->bus, &ta->pci, PCI_DEVFN(3, 0)), ==, 0);
    g_assert_cmpint(pci_bus_add_device(b->bus, &tb->pci, PCI_DEVFN(3, 0)), ==, 0);

    /* Slot 3 INTA is PIRQC; route it to ISA IRQ 11. */
    cfg_write(a->as, 1, 0, PIIX3_PIRQRC + 2, 11, 1);
    cfg_write(a->as, 3, 0, PCI_BASE_ADDRESS_0, 0xc000, 4);
    cfg_write(a->as, 3, 0, PCI_BASE_ADDRESS_0 + 4, 0xfebf0000u, 4);
    cfg_write(a->as, 3, 0, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    pci_set_irq(&ta->pci, 1);
    g_assert_cmpint(a->level[11], ==, 1);
    as_port_write(a->as, PCI_CONFIG_ADDRESS, cfg_addr(3, 0, PCI_COMMAND), 4);

    PciDevice *sb_a = pci_bus_device(a->bus, PCI_DEVFN(1, 0));
    PciDevice *sb_b = pci_bus_device(b->bus, PCI_DEVFN(1, 0));
    struct { const VMStateDescription *vmsd; void *from, *to; } sec[] = {
        { &pci_bus_vmstate, a->bus, b->bus },
        { &pci_device_vmstate, sb_a, sb_b },
        { &pci_device_vmstate, &ta->pci, &tb->pci },
    };
    for (size_t n = 0; n < G_N_ELEMENTS(sec); n++) {
        GByteArray *buf = g_byte_array_new();
        GError *err = NULL;
        g_assert_cmpint(vmstate_save_fields(buf, sec[n].vmsd, sec[n].from, &err), ==, 0);
        g_assert_cmpint(vmstate_load_fields(buf->data, buf->len, 1, sec[n].vmsd, sec[n].to,
                                            "pci", &err), ==, 0);
        g_assert_no_error(err);
        g_byte_array_unref(buf);
    }

    g_assert_cmpmem(tb->pci.config, PCI_CONFIG_SPACE_SIZE, ta->pci.config, PCI_CONFIG_SPACE_SIZE);
    g_assert_cmpuint(as_port_read(b->as, PCI_CONFIG_ADDRESS, 4), ==, cfg_addr(3, 0, PCI_COMMAND));
    /* The BARs are mapped again, at the saved addresses. */
    g_assert_cmpuint(as_port_read(b->as, 0xc004, 4), ==, 0xa5a5a5a5u);
    g_assert_cmpint(tb->reads, ==, 1);
    g_assert_nonnull(as_find(b->as, 0xfebf0010u));
    /* The interrupt is asserted again through the restored routing. */
    for (int n = 0; n < PC_NUM_GSI; n++) {
        g_assert_cmpint(b->level[n], ==, a->level[n]);
    }
    /* ... and counted once: lowering it releases the IRQ. */
    pci_set_irq(&tb->pci, 0);
    g_assert_cmpint(b->level[11], ==, 0);

    /* Loading over an asserted function first takes its INTx away. */
    GByteArray *buf = g_byte_array_new();
    GError *err = NULL;
    pci_set_irq(&ta->pci, 0);
    g_assert_cmpint(vmstate_save_fields(buf, &pci_device_vmstate, &ta->pci, &err), ==, 0);
    pci_set_irq(&tb->pci, 1);
    g_assert_cmpint(b->level[11], ==, 1);
    g_assert_cmpint(vmstate_load_fields(buf->data, buf->len, 1, &pci_device_vmstate, &tb->pci,
                                        "pci", &err), ==, 0);
    g_assert_cmpint(b->level[11], ==, 0);
    g_byte_array_unref(buf);

    pci_bus_remove_device(&ta->pci);
    pci_bus_remove_device(&tb->pci);
    g_free(ta);
    g_free(tb);
    bus_free(a);
    bus_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pci/mechanism1", test_mechanism1);
    g_test_add_func("/pci/absent", test_absent);
    g_test_add_func("/pci/chipset-ids", test_chipset_ids);
    g_test_add_func("/pci/write-masks", test_write_masks);
    g_test_add_func("/pci/bar-sizing", test_bar_sizing);
    g_test_add_func("/pci/bar-mapping", test_bar_mapping);
    g_test_add_func("/pci/capabilities", test_capabilities_multifunction);
    g_test_add_func("/pci/intx-routing", test_intx_routing);
    g_test_add_func("/pci/pc-wiring", test_pc_wiring);
    g_test_add_func("/pci/suspend-sections", test_suspend_sections);
    return g_test_run();
}
