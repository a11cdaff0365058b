/*
 * Guest RAM layout of the PC (hw/pc-ram.c): the 640K-1M hole, the PCI hole
 * below 4 GiB, and RAM moved above 4 GiB for large guests.
 */
#include <sys/mman.h>
#include <glib.h>
#include "hw/pc.h"

static Machine *ram_machine(uint64_t size, GError **err)
{
    Machine *m = g_new0(Machine, 1);
    m->cfg = g_new0(MachineConfig, 1);
    machine_config_init(m->cfg);
    m->cfg->ram_size = size;
    m->as = as_new();
    if (pc_ram_init(m, err) < 0) {
        as_free(m->as);
        machine_config_clear(m->cfg);
        g_free(m->cfg);
        g_free(m);
        return NULL;
    }
    return m;
}

static void ram_machine_free(Machine *m)
{
    munmap(m->ram, m->ram_size);
    as_free(m->as);
    machine_config_clear(m->cfg);
    g_free(m->cfg);
    g_free(m);
}

static void expect_ram(Machine *m, uint64_t addr, bool ram)
{
    const MemRegion *r = as_find(m->as, addr);
    if (ram) {
        g_assert_nonnull(r);
        g_assert_cmpint(r->kind, ==, REGION_RAM);
    } else {
        g_assert_null(r);
    }
}

static void test_small(void)
{
    Machine *m = ram_machine(128 << 20, NULL);
    g_assert_cmpuint(m->below_4g, ==, 128 << 20);
    g_assert_cmpuint(m->above_4g, ==, 0);
    expect_ram(m, 0, true);
    expect_ram(m, 0x9ffff, true);
    expect_ram(m, 0xa0000, false);          /* VGA window and ROM area */
    expect_ram(m, 0xfffff, false);
    expect_ram(m, 0x100000, true);
    expect_ram(m, (128 << 20) - 1, true);
    expect_ram(m, 128 << 20, false);
    /* Guest-physical address equals RAM offset below 4 GiB. */
    uint32_t v = 0x12345678;
    as_write(m->as, 0x200000, &v, 4);
    g_assert_cmpuint(*(uint32_t *)(m->ram + 0x200000), ==, 0x12345678);
    ram_machine_free(m);
}

static void test_pci_hole_and_above_4g(void)
{
    uint64_t size = 8ULL << 30;
    Machine *m = ram_machine(size, NULL);
    g_assert_cmpuint(m->below_4g, ==, PC_PCI_HOLE_START);
    g_assert_cmpuint(m->above_4g, ==, size - PC_PCI_HOLE_START);
    expect_ram(m, PC_PCI_HOLE_START - 1, true);
    expect_ram(m, PC_PCI_HOLE_START, false);
    expect_ram(m, 0xfee00000, false);
    expect_ram(m, PC_4G, true);
    expect_ram(m, PC_4G + m->above_4g - 1, true);
    expect_ram(m, PC_4G + m->above_4g, false);
    /* The first byte above 4 GiB is the RAM just after the hole's start. */
    uint8_t b = 0xa5;
    as_write(m->as, PC_4G, &b, 1);
    g_assert_cmpint(m->ram[PC_PCI_HOLE_START], ==, 0xa5);
    ram_machine_free(m);
}

static void test_exactly_3g(void)
{
    Machine *m = ram_machine(PC_PCI_HOLE_START, NULL);
    g_assert_cmpuint(m->above_4g, ==, 0);
    expect_ram(m, PC_4G, false);
    ram_machine_free(m);
}

static void test_too_small(void)
{
    GError *err = NULL;
    g_assert_null(ram_machine(1 << 20, &err));
    g_assert_cmpstr(err->message, ==, "-m: 1048576 bytes is too small (2 MiB at least)");
    g_error_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pc-ram/small", test_small);
    g_test_add_func("/pc-ram/pci-hole-above-4g", test_pci_hole_and_above_4g);
    g_test_add_func("/pc-ram/exactly-3g", test_exactly_3g);
    g_test_add_func("/pc-ram/too-small", test_too_small);
    return g_test_run();
}
