/*
 * The e820 memory map (hw/e820.c): adding ranges over others, the PC maps,
 * serialization.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "hw/e820.h"

static void assert_entry(const E820Map *m, int i, uint64_t addr, uint64_t size,
                         uint32_t type)
{
    g_assert_cmpint(i, <, m->nr);
    g_assert_cmphex(m->entry[i].addr, ==, addr);
    g_assert_cmphex(m->entry[i].size, ==, size);
    g_assert_cmpuint(m->entry[i].type, ==, type);
}

static void test_add_overlaps(void)
{
    E820Map m;
    e820_init(&m);
    g_assert_cmpint(e820_add(&m, 0x1000, 0, E820_RAM), ==, -EINVAL);
    g_assert_cmpint(e820_add(&m, UINT64_MAX - 10, 100, E820_RAM), ==, -EINVAL);
    g_assert_cmpint(e820_add(&m, 0x10000, 0x10000, E820_RAM), ==, 0);
    /* A reserved hole in the middle splits the RAM range in two. */
    g_assert_cmpint(e820_add(&m, 0x14000, 0x1000, E820_RESERVED), ==, 0);
    g_assert_cmpint(m.nr, ==, 3);
    assert_entry(&m, 0, 0x10000, 0x4000, E820_RAM);
    assert_entry(&m, 1, 0x14000, 0x1000, E820_RESERVED);
    assert_entry(&m, 2, 0x15000, 0xb000, E820_RAM);
    /* RAM over the hole again merges everything back into one entry. */
    g_assert_cmpint(e820_add(&m, 0x14000, 0x1000, E820_RAM), ==, 0);
    g_assert_cmpint(m.nr, ==, 1);
    assert_entry(&m, 0, 0x10000, 0x10000, E820_RAM);
    /* Added below and overlapping the start: sorted, trimmed. */
    g_assert_cmpint(e820_add(&m, 0x8000, 0x9000, E820_NVS), ==, 0);
    assert_entry(&m, 0, 0x8000, 0x9000, E820_NVS);
    assert_entry(&m, 1, 0x11000, 0xf000, E820_RAM);
    g_assert_true(e820_contains(&m, 0x11000, 0xf000, E820_RAM));
    g_assert_false(e820_contains(&m, 0x10000, 0x2000, E820_RAM));
    g_assert_false(e820_contains(&m, 0x11000, 0xf001, E820_RAM));
    g_assert_null(e820_find(&m, 0x20000, E820_RAM));
}

static void test_full(void)
{
    E820Map m;
    e820_init(&m);
    for (int i = 0; i < E820_MAX_ENTRIES; i++) {
        g_assert_cmpint(e820_add(&m, i * 0x2000ULL, 0x1000, E820_RAM), ==, 0);
    }
    g_assert_cmpint(e820_add(&m, 0x100000000ULL, 0x1000, E820_RAM), ==, -ENOSPC);
    g_assert_cmpint(m.nr, ==, E820_MAX_ENTRIES);
    /* Filling a gap merges two entries: room again. */
    g_assert_cmpint(e820_add(&m, 0x1000, 0x1000, E820_RAM), ==, 0);
    g_assert_cmpint(m.nr, ==, E820_MAX_ENTRIES - 1);
}

static void test_pc_maps(void)
{
    E820Map m;
    e820_build_pc(&m, 0xc0000000ULL, 0x40000000ULL, true);
    g_assert_cmpint(m.nr, ==, 5);
    assert_entry(&m, 0, 0, 0x9fc00, E820_RAM);
    assert_entry(&m, 1, 0x9fc00, 0x400, E820_RESERVED);
    assert_entry(&m, 2, 0xe0000, 0x20000, E820_RESERVED);
    assert_entry(&m, 3, 0x100000, 0xc0000000ULL - 0x100000, E820_RAM);
    assert_entry(&m, 4, 0x100000000ULL, 0x40000000ULL, E820_RAM);

    e820_build_pc(&m, 64 << 20, 0, false);
    g_assert_cmpint(m.nr, ==, 3);
    assert_entry(&m, 2, 0x100000, (64 << 20) - 0x100000, E820_RAM);

    e820_build_pc_firmware(&m, 128 << 20, 0);
    g_assert_cmpint(m.nr, ==, 1);
    assert_entry(&m, 0, 0, 128 << 20, E820_RAM);
}

static void test_bytes(void)
{
    E820Map m;
    uint8_t buf[3 * E820_ENTRY_SIZE];
    e820_build_pc(&m, 32 << 20, 0, true);
    g_assert_cmpint(m.nr, ==, 4);
    /* Only whole entries that fit. */
    g_assert_cmpuint(e820_to_bytes(&m, buf, sizeof(buf) - 1), ==, 2 * E820_ENTRY_SIZE);
    g_assert_cmpuint(e820_to_bytes(&m, buf, sizeof(buf)), ==, 3 * E820_ENTRY_SIZE);
    static const uint8_t second[E820_ENTRY_SIZE] = {
        0x00, 0xfc, 0x09, 0, 0, 0, 0, 0,    /* 0x9fc00 */
        0x00, 0x04, 0, 0, 0, 0, 0, 0,       /* 0x400 */
        2, 0, 0, 0,
    };
    g_assert_cmpmem(buf + E820_ENTRY_SIZE, E820_ENTRY_SIZE, second, E820_ENTRY_SIZE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/e820/add-overlaps", test_add_overlaps);
    g_test_add_func("/e820/full", test_full);
    g_test_add_func("/e820/pc-maps", test_pc_maps);
    g_test_add_func("/e820/bytes", test_bytes);
    return g_test_run();
}
