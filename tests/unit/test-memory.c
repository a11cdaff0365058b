/*
 * Address space and port-I/O dispatch (hw/core/memory.c).
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "memory.h"

typedef struct Probe {
    uint64_t last_off, last_val;
    unsigned last_size;
    int reads, writes;
    uint8_t regs[16];
} Probe;

static uint64_t probe_read(void *opaque, uint64_t off, unsigned size)
{
    Probe *p = opaque;
    uint64_t v = 0;
    p->reads++;
    p->last_off = off;
    p->last_size = size;
    memcpy(&v, &p->regs[off], size);
    return v;
}

static void probe_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    Probe *p = opaque;
    p->writes++;
    p->last_off = off;
    p->last_val = v;
    p->last_size = size;
    memcpy(&p->regs[off], &v, size);
}

static const IoOps byte_ops = { probe_read, probe_write, 1 };
static const IoOps wide_ops = { probe_read, probe_write, 0 };

static void test_overlap_rejected(void)
{
    AddressSpace *as = as_new();
    static uint8_t a[0x2000], b[0x1000];
    g_assert_cmpint(as_add_ram(as, "a", 0x1000, 0x2000, a), ==, 0);
    g_assert_cmpint(as_add_ram(as, "b", 0x2000, 0x1000, b), ==, -EEXIST);
    g_assert_cmpint(as_add_ram(as, "b", 0x0800, 0x1000, b), ==, -EEXIST);
    g_assert_cmpint(as_add_ram(as, "b", 0x0000, 0x1000, b), ==, 0);
    g_assert_cmpint(as_add_ram(as, "z", 0x5000, 0, b), ==, -EINVAL);
    g_assert_cmpint(as_remove(as, 0x1800), ==, -ENOENT);
    g_assert_cmpint(as_remove(as, 0x1000), ==, 0);
    g_assert_null(as_find(as, 0x1800));
    g_assert_nonnull(as_find(as, 0x0fff));
    as_free(as);
}

static void test_ram_rom_unmapped(void)
{
    AddressSpace *as = as_new();
    uint8_t ram[0x1000] = {0}, rom[0x1000];
    uint8_t buf[0x20];
    memset(rom, 0xab, sizeof(rom));
    as_add_ram(as, "ram", 0x10000, sizeof(ram), ram);
    as_add_rom(as, "rom", 0x11000, sizeof(rom), rom);

    /* A write spanning RAM and ROM lands only in RAM. */
    memset(buf, 0x5a, sizeof(buf));
    as_write(as, 0x10ff0, buf, 0x20);
    g_assert_cmpint(ram[0xff0], ==, 0x5a);
    g_assert_cmpint(ram[0xfff], ==, 0x5a);
    g_assert_cmpint(rom[0], ==, 0xab);
    as_read(as, 0x10ff8, buf, 0x10);
    g_assert_cmpint(buf[7], ==, 0x5a);
    g_assert_cmpint(buf[8], ==, 0xab);
    /* Loaders may write ROM. */
    as_write_rom(as, 0x11000, "\x01\x02", 2);
    g_assert_cmpint(rom[1], ==, 2);
    /* Unmapped memory reads as ones. */
    as_read(as, 0x20000, buf, 4);
    g_assert_cmpint(buf[0], ==, 0xff);
    g_assert_cmpint(buf[3], ==, 0xff);
    /* Host pointers only within one region, ROM not writable. */
    g_assert_true(as_ram_ptr(as, 0x10000, 0x1000, true) == ram);
    g_assert_null(as_ram_ptr(as, 0x10fff, 2, false));
    g_assert_null(as_ram_ptr(as, 0x11000, 1, true));
    g_assert_nonnull(as_ram_ptr(as, 0x11000, 1, false));
    as_free(as);
}

static void test_mmio_split_and_bytes(void)
{
    AddressSpace *as = as_new();
    Probe p = {0};
    as_add_mmio(as, "dev", 0xfe000000, 16, &byte_ops, &p);
    as_mmio_write(as, 0xfe000004, 0x11223344, 4);
    /* A byte-wide device sees four byte writes, low address first. */
    g_assert_cmpint(p.writes, ==, 4);
    g_assert_cmpint(p.last_off, ==, 7);
    g_assert_cmpint(p.last_val, ==, 0x11);
    g_assert_cmpuint(as_mmio_read(as, 0xfe000004, 4), ==, 0x11223344);
    g_assert_cmpint(p.reads, ==, 4);
    /* as_read on MMIO goes byte by byte through the callbacks. */
    uint8_t b[2];
    as_read(as, 0xfe000005, b, 2);
    g_assert_cmpint(b[0], ==, 0x33);
    g_assert_cmpint(b[1], ==, 0x22);
    as_free(as);
}

static void test_ports(void)
{
    AddressSpace *as = as_new();
    Probe byte = {0}, wide = {0};
    g_assert_cmpint(as_add_ports(as, "b", 0x3f8, 8, &byte_ops, &byte), ==, 0);
    g_assert_cmpint(as_add_ports(as, "w", 0x400, 8, &wide_ops, &wide), ==, 0);
    g_assert_cmpint(as_add_ports(as, "x", 0x3ff, 2, &byte_ops, &byte), ==, -EEXIST);
    g_assert_cmpint(as_add_ports(as, "x", 0xfffe, 4, &byte_ops, &byte), ==, -EINVAL);

    as_port_write(as, 0x3f9, 0xbeef, 2);
    g_assert_cmpint(byte.writes, ==, 2);
    g_assert_cmpint(byte.regs[1], ==, 0xef);
    g_assert_cmpint(byte.regs[2], ==, 0xbe);
    as_port_write(as, 0x404, 0xcafef00d, 4);
    g_assert_cmpint(wide.writes, ==, 1);
    g_assert_cmpint(wide.last_size, ==, 4);
    g_assert_cmpuint(as_port_read(as, 0x404, 4), ==, 0xcafef00d);
    /* Unclaimed ports read as ones; a read straddling the end of a range
     * gets the claimed byte and 0xff for the rest. */
    g_assert_cmpuint(as_port_read(as, 0x1234, 4), ==, 0xffffffff);
    Probe one = {0};
    one.regs[0] = 0x5c;
    as_add_ports(as, "one", 0x500, 1, &byte_ops, &one);
    g_assert_cmpuint(as_port_read(as, 0x500, 2), ==, 0xff5c);
    /* A read across two ranges gets a byte from each. */
    g_assert_cmpuint(as_port_read(as, 0x3ff, 2), ==, (wide.regs[0] << 8) | byte.regs[7]);
    g_assert_cmpint(as_remove_ports(as, 0x3f9), ==, -ENOENT);
    g_assert_cmpint(as_remove_ports(as, 0x3f8), ==, 0);
    g_assert_cmpuint(as_port_read(as, 0x3f9, 1), ==, 0xff);
    as_free(as);
}

typedef struct Seen {
    int added, removed;
    uint64_t last_base;
} Seen;

static void listener(void *opaque, const MemRegion *r, bool added)
{
    Seen *s = opaque;
    if (added) {
        s->added++;
    } else {
        s->removed++;
    }
    s->last_base = r->base;
}

static void test_listener_and_generation(void)
{
    AddressSpace *as = as_new();
    Seen s = {0};
    Probe p = {0};
    static uint8_t ram[0x1000];
    as_add_ram(as, "early", 0, 0x1000, ram);
    uint64_t gen = as_generation(as);
    as_add_listener(as, listener, &s);
    g_assert_cmpint(s.added, ==, 1);          /* existing region replayed */
    as_add_rom(as, "rom", 0x8000, 0x1000, ram);
    as_add_mmio(as, "mmio", 0x9000, 0x1000, &byte_ops, &p);
    g_assert_cmpint(s.added, ==, 2);          /* MMIO is not a memory slot */
    g_assert_cmpuint(s.last_base, ==, 0x8000);
    as_remove(as, 0x8000);
    g_assert_cmpint(s.removed, ==, 1);
    g_assert_cmpuint(as_generation(as), >, gen);
    as_free(as);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/overlap", test_overlap_rejected);
    g_test_add_func("/memory/ram-rom-unmapped", test_ram_rom_unmapped);
    g_test_add_func("/memory/mmio", test_mmio_split_and_bytes);
    g_test_add_func("/memory/ports", test_ports);
    g_test_add_func("/memory/listener", test_listener_and_generation);
    return g_test_run();
}
