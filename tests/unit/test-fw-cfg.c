/*
 * fw_cfg (hw/fw-cfg.c) through its I/O ports, as firmware drives it: the
 * signature and ID, the file directory, the byte-wide data port, and DMA
 * (read, skip, select, write) with FWCfgDmaAccess structures in guest RAM.
 * Bad descriptors must set the error bit and never touch memory outside
 * RAM; a fuzz run throws random descriptors and port writes at it.
 */
#include <string.h>
#include <glib.h>
#include "hw/fw-cfg.h"

#define RAM_BASE    0x0
#define RAM_SIZE    0x100000ULL         /* 1 MiB of RAM at 0 */
#define ROM_BASE    0x200000ULL         /* 64 KiB ROM */
#define ROM_SIZE    0x10000ULL
#define DESC        0x1000              /* where tests put descriptors */
#define BUF         0x8000

typedef struct Fixture {
    AddressSpace *as;
    uint8_t *ram, *rom;
    FwCfg *f;
    int writes_seen;
    uint32_t last_off, last_len;
} Fixture;

static void setup(Fixture *x, gconstpointer data)
{
    x->as = as_new();
    x->ram = g_malloc0(RAM_SIZE);
    x->rom = g_malloc0(ROM_SIZE);
    memset(x->rom, 0x5a, ROM_SIZE);
    as_add_ram(x->as, "ram", RAM_BASE, RAM_SIZE, x->ram);
    as_add_rom(x->as, "rom", ROM_BASE, ROM_SIZE, x->rom);
    x->f = fw_cfg_new(x->as);
}

static void teardown(Fixture *x, gconstpointer data)
{
    fw_cfg_free(x->f);
    as_free(x->as);
    g_free(x->ram);
    g_free(x->rom);
}

static void select_key(Fixture *x, uint16_t key)
{
    as_port_write(x->as, FW_CFG_PORT_SEL, key, 2);
}

static void read_data(Fixture *x, uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        buf[i] = as_port_read(x->as, FW_CFG_PORT_DATA, 1);
    }
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = v >> (8 * (n - 1 - i));
    }
}

static uint32_t bswap(uint32_t v)
{
    return __builtin_bswap32(v);
}

/* Write a descriptor at `desc` and start it the way SeaBIOS does: the two
 * halves of the big-endian address, high first, each byte-swapped. */
static uint32_t dma(Fixture *x, uint64_t desc, uint32_t control, uint32_t len,
                    uint64_t addr)
{
    uint8_t d[16];
    put_be(d, control, 4);
    put_be(d + 4, len, 4);
    put_be(d + 8, addr, 8);
    if (desc <= RAM_SIZE - 16) {
        memcpy(x->ram + desc, d, 16);
    }
    as_port_write(x->as, FW_CFG_PORT_DMA, bswap(desc >> 32), 4);
    as_port_write(x->as, FW_CFG_PORT_DMA_LO, bswap((uint32_t)desc), 4);
    return desc <= RAM_SIZE - 16 ? be32(x->ram + desc) : 0xdeadbeef;
}

static void test_signature_id(Fixture *x, gconstpointer data)
{
    uint8_t buf[8];
    select_key(x, FW_CFG_SIGNATURE);
    read_data(x, buf, 6);
    g_assert_cmpmem(buf, 4, "QEMU", 4);
    g_assert_cmpuint(buf[4], ==, 0);            /* past the end: 0 */
    g_assert_cmpuint(buf[5], ==, 0);
    select_key(x, FW_CFG_ID);
    read_data(x, buf, 4);
    g_assert_cmpuint(buf[0], ==, FW_CFG_VERSION | FW_CFG_VERSION_DMA);
    /* Reselecting starts over. */
    select_key(x, FW_CFG_SIGNATURE);
    read_data(x, buf, 1);
    g_assert_cmpuint(buf[0], ==, 'Q');
    /* The DMA register reads "QEMU CFG" in address order. */
    uint32_t hi = as_port_read(x->as, FW_CFG_PORT_DMA, 4);
    uint32_t lo = as_port_read(x->as, FW_CFG_PORT_DMA_LO, 4);
    g_assert_cmphex(((uint64_t)bswap(hi) << 32) | bswap(lo), ==, FW_CFG_DMA_SIGNATURE);
    /* Data port writes are ignored; absent keys read as 0. */
    as_port_write(x->as, FW_CFG_PORT_DATA, 0x41, 1);
    select_key(x, FW_CFG_SIGNATURE);
    read_data(x, buf, 1);
    g_assert_cmpuint(buf[0], ==, 'Q');
    select_key(x, 0x1234);
    read_data(x, buf, 2);
    g_assert_cmpuint(buf[0] | buf[1], ==, 0);
}

static void test_items_and_dir(Fixture *x, gconstpointer data)
{
    uint8_t buf[64];
    g_assert_cmpint(fw_cfg_add_i16(x->f, FW_CFG_NB_CPUS, 4), ==, 0);
    g_assert_cmpint(fw_cfg_add_i64(x->f, FW_CFG_RAM_SIZE, 0x123456789aULL), ==, 0);
    g_assert_cmpint(fw_cfg_add_i32(x->f, FW_CFG_IRQ0_OVERRIDE, 1), ==, 0);
    g_assert_cmpint(fw_cfg_add_bytes(x->f, FW_CFG_FILE_FIRST, "x", 1), ==, -EINVAL);
    g_assert_cmpint(fw_cfg_add_bytes(x->f, FW_CFG_FILE_DIR, "x", 1), ==, -EINVAL);
    select_key(x, FW_CFG_NB_CPUS);
    read_data(x, buf, 2);
    g_assert_cmpuint(buf[0] | buf[1] << 8, ==, 4);
    select_key(x, FW_CFG_RAM_SIZE);
    read_data(x, buf, 8);
    g_assert_cmphex(buf[0] | buf[4] << 8, ==, 0x129a);
    select_key(x, FW_CFG_IRQ0_OVERRIDE);
    read_data(x, buf, 4);
    g_assert_cmpuint(buf[0], ==, 1);

    int k1 = fw_cfg_add_file(x->f, "etc/one", "first", 5);
    int k2 = fw_cfg_add_file(x->f, "etc/two", "second!", 7);
    g_assert_cmpint(k1, ==, FW_CFG_FILE_FIRST);
    g_assert_cmpint(k2, ==, FW_CFG_FILE_FIRST + 1);
    /* Same name: new data, same key. */
    g_assert_cmpint(fw_cfg_add_file(x->f, "etc/one", "FIRST!!!", 8), ==, k1);
    g_assert_cmpint(fw_cfg_find_file(x->f, "etc/two"), ==, k2);
    g_assert_cmpint(fw_cfg_find_file(x->f, "etc/none"), ==, -ENOENT);
    char longname[80];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[79] = 0;
    g_assert_cmpint(fw_cfg_add_file(x->f, longname, "", 0), ==, -EINVAL);

    /* The directory as firmware reads it. */
    select_key(x, FW_CFG_FILE_DIR);
    read_data(x, buf, 4);
    g_assert_cmpuint(be32(buf), ==, 2);
    for (int i = 0; i < 2; i++) {
        read_data(x, buf, 64);
        uint32_t size = be32(buf);
        uint16_t sel = buf[4] << 8 | buf[5];
        g_assert_cmpuint(sel, ==, FW_CFG_FILE_FIRST + i);
        g_assert_cmpstr((char *)buf + 8, ==, i ? "etc/two" : "etc/one");
        g_assert_cmpuint(size, ==, i ? 7 : 8);
    }
    select_key(x, k2);
    read_data(x, buf, 7);
    g_assert_cmpmem(buf, 7, "second!", 7);

    for (int i = 2; i < FW_CFG_FILE_SLOTS; i++) {
        char name[16];
        g_snprintf(name, sizeof(name), "f%d", i);
        g_assert_cmpint(fw_cfg_add_file(x->f, name, name, 2), ==, FW_CFG_FILE_FIRST + i);
    }
    g_assert_cmpint(fw_cfg_add_file(x->f, "one-too-many", "", 0), ==, -ENOSPC);
}

static void test_dma_read_skip(Fixture *x, gconstpointer data)
{
    uint8_t pattern[300];
    for (int i = 0; i < 300; i++) {
        pattern[i] = i * 7 + 1;
    }
    int key = fw_cfg_add_file(x->f, "etc/pattern", pattern, sizeof(pattern));
    memset(x->ram + BUF, 0xee, 512);

    /* Select + read 100 bytes. */
    uint32_t c = dma(x, DESC, (uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT |
                     FW_CFG_DMA_CTL_READ, 100, BUF);
    g_assert_cmphex(c, ==, 0);
    g_assert_cmpmem(x->ram + BUF, 100, pattern, 100);
    g_assert_cmpuint(x->ram[BUF + 100], ==, 0xee);
    /* Skip 50, read 100 more: continues at offset 150. */
    g_assert_cmphex(dma(x, DESC, FW_CFG_DMA_CTL_SKIP, 50, 0), ==, 0);
    g_assert_cmphex(dma(x, DESC, FW_CFG_DMA_CTL_READ, 100, BUF), ==, 0);
    g_assert_cmpmem(x->ram + BUF, 100, pattern + 150, 100);
    /* Past the end: the rest is zeros. */
    g_assert_cmphex(dma(x, DESC, FW_CFG_DMA_CTL_READ, 100, BUF), ==, 0);
    g_assert_cmpmem(x->ram + BUF, 50, pattern + 250, 50);
    static const uint8_t zero[50];
    g_assert_cmpmem(x->ram + BUF + 50, 50, zero, 50);
    /* The data port continues where DMA left off (past the end: 0). */
    g_assert_cmpuint(as_port_read(x->as, FW_CFG_PORT_DATA, 1), ==, 0);
    /* A 64-bit descriptor address: written as two halves. */
    g_assert_cmphex(dma(x, DESC, (uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT |
                        FW_CFG_DMA_CTL_READ, 4, BUF), ==, 0);
    g_assert_cmpmem(x->ram + BUF, 4, pattern, 4);
    /* The address register is back to 0 after each operation. */
    g_assert_cmphex(as_port_read(x->as, FW_CFG_PORT_DMA, 4), ==, bswap(0x51454d55));
    /* Select only (no read): the data port starts at offset 0. */
    g_assert_cmphex(dma(x, DESC, (uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT, 0, 0), ==, 0);
    g_assert_cmpuint(as_port_read(x->as, FW_CFG_PORT_DATA, 1), ==, pattern[0]);
}

static void on_write(void *opaque, uint32_t off, uint32_t len)
{
    Fixture *x = opaque;
    x->writes_seen++;
    x->last_off = off;
    x->last_len = len;
}

static void test_dma_write(Fixture *x, gconstpointer data)
{
    int ro = fw_cfg_add_file(x->f, "etc/ro", "readonly", 8);
    int rw = fw_cfg_add_file_writable(x->f, "etc/rw", "12345678", 8, on_write, x);
    size_t len;

    memcpy(x->ram + BUF, "abcdefgh", 8);
    /* Read-only item: rejected. */
    g_assert_cmphex(dma(x, DESC, (uint32_t)ro << 16 | FW_CFG_DMA_CTL_SELECT |
                        FW_CFG_DMA_CTL_WRITE, 4, BUF), ==, FW_CFG_DMA_CTL_ERROR);
    g_assert_cmpmem(fw_cfg_item(x->f, ro, &len), 8, "readonly", 8);
    /* Writable: skip 2, write 4. */
    g_assert_cmphex(dma(x, DESC, (uint32_t)rw << 16 | FW_CFG_DMA_CTL_SELECT |
                        FW_CFG_DMA_CTL_SKIP, 2, 0), ==, 0);
    g_assert_cmphex(dma(x, DESC, FW_CFG_DMA_CTL_WRITE, 4, BUF), ==, 0);
    g_assert_cmpmem(fw_cfg_item(x->f, rw, &len), 8, "12abcd78", 8);
    g_assert_cmpint(x->writes_seen, ==, 1);
    g_assert_cmpuint(x->last_off, ==, 2);
    g_assert_cmpuint(x->last_len, ==, 4);
    /* Past the end (offset 6 + 4 > 8): dropped entirely. */
    g_assert_cmphex(dma(x, DESC, FW_CFG_DMA_CTL_WRITE, 4, BUF), ==, FW_CFG_DMA_CTL_ERROR);
    g_assert_cmpmem(fw_cfg_item(x->f, rw, &len), 8, "12abcd78", 8);
    g_assert_cmpint(x->writes_seen, ==, 1);
    /* From ROM is fine (it is only read). */
    g_assert_cmphex(dma(x, DESC, (uint32_t)rw << 16 | FW_CFG_DMA_CTL_SELECT |
                        FW_CFG_DMA_CTL_WRITE, 2, ROM_BASE), ==, 0);
    g_assert_cmpmem(fw_cfg_item(x->f, rw, &len), 2, "ZZ", 2);
    /* Read and write both set: a read. */
    g_assert_cmphex(dma(x, DESC, (uint32_t)rw << 16 | FW_CFG_DMA_CTL_SELECT |
                        FW_CFG_DMA_CTL_READ | FW_CFG_DMA_CTL_WRITE, 8, BUF), ==, 0);
    g_assert_cmpmem(x->ram + BUF, 8, "ZZabcd78", 8);
}

static void test_dma_bad_addresses(Fixture *x, gconstpointer data)
{
    int key = fw_cfg_add_file(x->f, "etc/data", "0123456789", 10);
    uint32_t sel = (uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ;
    uint8_t before[ROM_SIZE];
    memcpy(before, x->rom, ROM_SIZE);

    /* Buffer outside RAM, straddling RAM's end, in ROM, wrapping. */
    g_assert_cmphex(dma(x, DESC, sel, 10, 0x50000000), ==, FW_CFG_DMA_CTL_ERROR);
    g_assert_cmphex(dma(x, DESC, sel, 10, RAM_SIZE - 4), ==, FW_CFG_DMA_CTL_ERROR);
    g_assert_cmpmem(x->ram + RAM_SIZE - 4, 4, "\0\0\0\0", 4);
    g_assert_cmphex(dma(x, DESC, sel, 10, ROM_BASE), ==, FW_CFG_DMA_CTL_ERROR);
    g_assert_cmpmem(x->rom, ROM_SIZE, before, ROM_SIZE);
    g_assert_cmphex(dma(x, DESC, sel, 0x100, UINT64_MAX - 0x10), ==, FW_CFG_DMA_CTL_ERROR);
    /* A huge length into RAM is refused, not clipped. */
    g_assert_cmphex(dma(x, DESC, sel, 0xffffffff, BUF), ==, FW_CFG_DMA_CTL_ERROR);
    /* A descriptor that is not in RAM is ignored, nothing is written. */
    dma(x, RAM_SIZE - 8, sel, 10, BUF);
    dma(x, ROM_BASE, sel, 10, BUF);
    dma(x, 0xfffffffffffffff8ULL, sel, 10, BUF);
    g_assert_cmpmem(x->rom, ROM_SIZE, before, ROM_SIZE);
    /* Still working afterwards. */
    g_assert_cmphex(dma(x, DESC, sel, 10, BUF), ==, 0);
    g_assert_cmpmem(x->ram + BUF, 10, "0123456789", 10);
}

/* Random descriptors, lengths, addresses and port accesses.  Run under
 * ASan/UBSan by the test build; the invariants: the control word written
 * back is 0 or the error bit, ROM never changes, the device keeps working. */
static void test_fuzz(Fixture *x, gconstpointer data)
{
    GRand *rng = g_rand_new_with_seed(0x5eed);
    uint8_t before[ROM_SIZE];
    uint8_t big[5000];
    memset(big, 0x77, sizeof(big));
    fw_cfg_add_file(x->f, "etc/big", big, sizeof(big));
    fw_cfg_add_file_writable(x->f, "etc/w", big, 64, NULL, NULL);
    fw_cfg_add_file_writable(x->f, "etc/w2", big, 16, on_write, x);
    memcpy(before, x->rom, ROM_SIZE);
    int ok = 0, errors = 0;

    static const uint64_t bases[] = {
        0, RAM_SIZE - 16, RAM_SIZE - 1, RAM_SIZE, ROM_BASE, ROM_BASE + ROM_SIZE - 8,
        0xfec00000, 0xfffffff0, 0x100000000ULL, UINT64_MAX - 15,
    };
    for (int i = 0; i < 20000; i++) {
        uint64_t desc = g_rand_boolean(rng) ?
                        (uint64_t)g_rand_int_range(rng, 0, RAM_SIZE - 16) :
                        bases[g_rand_int_range(rng, 0, 10)];
        uint64_t addr = g_rand_boolean(rng) ?
                        (uint64_t)g_rand_int_range(rng, 0, RAM_SIZE) :
                        bases[g_rand_int_range(rng, 0, 10)] +
                        (uint64_t)(int64_t)g_rand_int_range(rng, -64, 64);
        uint32_t len = g_rand_boolean(rng) ? (uint32_t)g_rand_int_range(rng, 0, 9000)
                                           : g_rand_int(rng);
        uint32_t control = g_rand_int(rng);
        if (g_rand_int_range(rng, 0, 4) == 0) {
            /* A valid selector often enough to reach the items. */
            control = (control & 0x1f) |
                      (uint32_t)g_rand_int_range(rng, 0, FW_CFG_FILE_FIRST + 4) << 16;
        }
        switch (g_rand_int_range(rng, 0, 6)) {
        case 0:
            as_port_write(x->as, FW_CFG_PORT_SEL + g_rand_int_range(rng, 0, 2),
                          g_rand_int(rng), 1 << g_rand_int_range(rng, 0, 3));
            break;
        case 1:
            as_port_read(x->as, FW_CFG_PORT_SEL + g_rand_int_range(rng, 0, 12),
                         1 << g_rand_int_range(rng, 0, 3));
            break;
        case 2:
            as_port_write(x->as, FW_CFG_PORT_DMA + g_rand_int_range(rng, 0, 8),
                          g_rand_int(rng), 1 << g_rand_int_range(rng, 0, 3));
            break;
        default: {
            uint32_t c = dma(x, desc, control, len, addr);
            if (desc <= RAM_SIZE - 16) {
                ok += c == 0;
                errors += c == FW_CFG_DMA_CTL_ERROR;
                g_assert_true(c == 0 || c == FW_CFG_DMA_CTL_ERROR ||
                              /* the transfer overwrote its own descriptor */
                              (addr < desc + 16 && addr + len > desc));
            }
        }
        }
    }
    g_assert_cmpmem(x->rom, ROM_SIZE, before, ROM_SIZE);
    /* Both outcomes were exercised many times. */
    g_test_message("fuzz: %d transfers done, %d refused", ok, errors);
    g_assert_cmpint(ok, >, 1000);
    g_assert_cmpint(errors, >, 1000);
    fw_cfg_reset(x->f);
    select_key(x, FW_CFG_SIGNATURE);
    uint8_t sig[4];
    read_data(x, sig, 4);
    g_assert_cmpmem(sig, 4, "QEMU", 4);
    g_rand_free(rng);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/fw-cfg/" name, Fixture, NULL, setup, fn, teardown)
    ADD("signature-id", test_signature_id);
    ADD("items-and-dir", test_items_and_dir);
    ADD("dma-read-skip", test_dma_read_skip);
    ADD("dma-write", test_dma_write);
    ADD("dma-bad-addresses", test_dma_bad_addresses);
    ADD("fuzz", test_fuzz);
    return g_test_run();
}
