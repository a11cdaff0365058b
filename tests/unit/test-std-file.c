/*
 * The .std suspend file (hw/core/std-file.c, docs/std-format.md): a whole
 * machine (emulated CPU, devices, RAM) written and read back; the refusals
 * (another configuration, another machine, another format version, a
 * damaged, truncated or extended file), each one line naming the file; the
 * atomic replacement; and a fuzzer that mutates a valid image thousands of
 * times, half of them with the checksum repaired so that the chunk, state
 * and zlib readers behind it see the damage: every run ends in an error or
 * a load, never a crash (run under ASan/UBSan).
 */
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "hw/pc.h"
#include "std-file.h"
#include "timer.h"

static char *tmpdir;
static char *bios_path;

typedef struct TestVm {
    MachineConfig cfg;
    Machine *m;
} TestVm;

static TestVm *vm_new(uint64_t ram_mb)
{
    TestVm *v = g_new0(TestVm, 1);
    GError *err = NULL;
    machine_config_init(&v->cfg);
    v->cfg.ram_size = ram_mb << 20;
    g_free(v->cfg.accel);
    v->cfg.accel = g_strdup("emu");
    v->cfg.bios = g_strdup(bios_path);
    v->m = machine_create(&v->cfg, &err);
    if (!v->m) {
        g_error("machine_create: %s", err->message);
    }
    return v;
}

static void vm_free(TestVm *v)
{
    machine_destroy(v->m);
    machine_config_clear(&v->cfg);
    g_free(v);
}

static const uint8_t digest_a[STD_DIGEST_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint8_t digest_b[STD_DIGEST_LEN] = { 8, 7, 6, 5, 4, 3, 2, 1 };

/* A RAM image with zero pages, random pages and a page whose only
 * non-zero byte is its last. */
static void fill_ram(Machine *m, guint32 seed)
{
    GRand *r = g_rand_new_with_seed(seed);
    memset(m->ram, 0, m->ram_size);
    for (uint64_t pg = 0; pg < m->ram_size / 4096; pg += 3) {
        for (int i = 0; i < 4096; i += 4) {
            guint32 v = g_rand_int(r);
            memcpy(m->ram + pg * 4096 + i, &v, 4);
        }
    }
    m->ram[7 * 4096 + 4095] = 0x5a;
    g_rand_free(r);
}

static void set_cpu(Machine *m)
{
    X86Registers r;
    x86_regs_flat32(&r, 0x08, 0x10);
    r.rip = 0x12345;
    r.gpr[X86_RAX] = 0xcafef00d;
    r.gpr[X86_RDI] = 0x76543210;
    r.cr2 = 0xfffff000;
    r.rflags = 0x2 | 0x1 | 0x40 | 0x800;
    g_assert_cmpint(m->accel->set_regs(m, 0, &r), ==, 0);
}

static char *path_in_tmp(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    gchar *data;
    gsize n;
    g_assert_true(g_file_get_contents(path, &data, &n, NULL));
    *len = n;
    return (uint8_t *)data;
}

/* Make a modified image consistent again: its size field and checksum. */
static void fix_image(uint8_t *buf, size_t len)
{
    if (len < STD_HEADER_LEN + STD_DIGEST_LEN) {
        return;
    }
    for (int i = 0; i < 8; i++) {
        buf[16 + i] = (uint64_t)len >> (8 * i);
    }
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(ck, buf, len - STD_DIGEST_LEN);
    gsize dlen = STD_DIGEST_LEN;
    g_checksum_get_digest(ck, buf + len - STD_DIGEST_LEN, &dlen);
    g_checksum_free(ck);
}

/* Load `len` bytes of a copy (exactly sized, for ASan) and expect an error
 * mentioning `needle`, one line, naming the source. */
static void expect_refused(Machine *m, const uint8_t *data, size_t len,
                           const uint8_t *digest, const char *needle)
{
    uint8_t *copy = g_memdup2(data, len ? len : 1);
    GError *err = NULL;
    g_assert_cmpint(std_load_buffer(m, copy, len, digest, "vm.std", &err), <, 0);
    g_assert_nonnull(err);
    if (!g_str_has_prefix(err->message, "vm.std: ") || strchr(err->message, '\n') ||
        (needle && !strstr(err->message, needle))) {
        g_error("error '%s' (wanted one line naming vm.std and '%s')", err->message,
                needle ? needle : "");
    }
    g_error_free(err);
    g_free(copy);
}

static void test_round_trip(void)
{
    TestVm *a = vm_new(4);
    char *path = path_in_tmp("vm.std");
    GError *err = NULL;

    fill_ram(a->m, 1);
    set_cpu(a->m);
    as_port_write(a->m->as, 0x21, 0x5c, 1);     /* PIC mask */
    as_port_write(a->m->as, 0x70, 0x41, 1);     /* CMOS byte 0x41 */
    as_port_write(a->m->as, 0x71, 0x9e, 1);
    vclock_advance(5 * 1000000000LL);
    int64_t t_saved = vclock_ns();
    if (std_save(a->m, path, digest_a, "/vms/a/vm.cfg", &err) < 0) {
        g_error("std_save: %s", err->message);
    }
    size_t len;
    uint8_t *img = read_file(path, &len);
    g_assert_cmpmem(img, STD_MAGIC_LEN, STD_MAGIC, STD_MAGIC_LEN);
    /* Two thirds of the pages are zero and not stored; the random ones do
     * not compress. */
    g_assert_cmpuint(len, <, a->m->ram_size / 2);
    g_assert_cmpuint(len, >, a->m->ram_size / 4);
    g_assert_nonnull(memmem(img, len, "cfg=/vms/a/vm.cfg\n", 18));
    g_assert_nonnull(memmem(img, len, "ram-size=4194304\n", 17));

    TestVm *b = vm_new(4);
    memset(b->m->ram, 0xee, b->m->ram_size);    /* other contents everywhere */
    vclock_advance(1000000);
    if (std_load(b->m, path, digest_a, &err) < 0) {
        g_error("std_load: %s", err->message);
    }
    g_assert_cmpmem(b->m->ram, b->m->ram_size, a->m->ram, a->m->ram_size);
    X86Registers ra, rb;
    a->m->accel->get_regs(a->m, 0, &ra);
    b->m->accel->get_regs(b->m, 0, &rb);
    g_assert_cmpmem(&ra, sizeof(ra), &rb, sizeof(rb));
    g_assert_cmphex(rb.gpr[X86_RAX], ==, 0xcafef00d);
    g_assert_cmphex(as_port_read(b->m->as, 0x21, 1), ==, 0x5c);
    as_port_write(b->m->as, 0x70, 0x41, 1);
    g_assert_cmphex(as_port_read(b->m->as, 0x71, 1), ==, 0x9e);
    /* The virtual clock is back where it was. */
    g_assert_cmpint(vclock_ns(), ==, t_saved);

    g_free(img);
    g_free(path);
    vm_free(b);
    vm_free(a);
}

static void test_refusals(void)
{
    TestVm *a = vm_new(2);
    char *path = path_in_tmp("refuse.std");
    GError *err = NULL;
    fill_ram(a->m, 3);
    g_assert_cmpint(std_save(a->m, path, digest_a, NULL, NULL), ==, 0);
    size_t len;
    uint8_t *img = read_file(path, &len);
    TestVm *b = vm_new(2);

    /* The configuration changed, or is not the one it was made from. */
    expect_refused(b->m, img, len, digest_b, "configuration file changed since the suspend");
    expect_refused(b->m, img, len, NULL, "suspended from a .cfg");
    /* Another machine: more RAM. */
    TestVm *c = vm_new(3);
    expect_refused(c->m, img, len, digest_a, "the RAM size (bytes): 2097152 in the file, 3145728 now");
    vm_free(c);
    /* Another format version (checksum repaired, so the version speaks). */
    uint8_t *v2 = g_memdup2(img, len);
    v2[8] = 2;
    fix_image(v2, len);
    expect_refused(b->m, v2, len, digest_a, "format version 2; this vmkemu reads version 1");
    g_free(v2);
    /* Damaged: one bit anywhere, or the magic. */
    for (size_t at = 8; at < len; at += len / 97 + 1) {
        uint8_t *bad = g_memdup2(img, len);
        bad[at] ^= 0x10;
        expect_refused(b->m, bad, len, digest_a, NULL);
        g_free(bad);
    }
    uint8_t *bad = g_memdup2(img, len);
    bad[len / 2] ^= 1;
    expect_refused(b->m, bad, len, digest_a, "checksum mismatch: the file is damaged");
    bad[len / 2] ^= 1;
    bad[1] = 'X';
    expect_refused(b->m, bad, len, digest_a, "not a vmkemu suspend file");
    g_free(bad);
    /* Truncated at every short length and at many others. */
    for (size_t n = 0; n < 300 && n < len; n++) {
        expect_refused(b->m, img, n, digest_a, "truncated");
    }
    for (size_t n = 300; n < len; n += 97) {
        expect_refused(b->m, img, n, digest_a, "truncated");
    }
    /* Extended. */
    uint8_t *longer = g_malloc0(len + 10);
    memcpy(longer, img, len);
    expect_refused(b->m, longer, len + 10, digest_a, "10 bytes after its end");
    g_free(longer);
    /* The same through std_load: a truncated file and a missing one. */
    g_assert_true(g_file_set_contents(path, (const char *)img, len / 2, NULL));
    g_assert_cmpint(std_load(b->m, path, digest_a, &err), <, 0);
    g_assert_true(g_str_has_prefix(err->message, path));
    g_assert_nonnull(strstr(err->message, "truncated"));
    g_clear_error(&err);
    g_unlink(path);
    g_assert_cmpint(std_load(b->m, path, digest_a, &err), <, 0);
    g_assert_nonnull(strstr(err->message, path));
    g_clear_error(&err);

    /* After all these refusals, the good image still loads. */
    g_assert_cmpint(std_load_buffer(b->m, img, len, digest_a, "vm.std", &err), ==, 0);
    g_assert_cmpmem(b->m->ram, b->m->ram_size, a->m->ram, a->m->ram_size);

    g_free(img);
    g_free(path);
    vm_free(b);
    vm_free(a);
}

static void test_atomic_write(void)
{
    TestVm *a = vm_new(2);
    char *path = path_in_tmp("atomic.std");
    GError *err = NULL;

    fill_ram(a->m, 4);
    g_assert_cmpint(std_save(a->m, path, NULL, NULL, NULL), ==, 0);
    size_t len1, len2;
    uint8_t *first = read_file(path, &len1);
    a->m->ram[0] ^= 0xff;
    g_assert_cmpint(std_save(a->m, path, NULL, NULL, NULL), ==, 0);
    uint8_t *second = read_file(path, &len2);
    g_assert_true(len1 != len2 || memcmp(first, second, len1) != 0);
    /* No temporary file is left beside it. */
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    for (const char *n; (n = g_dir_read_name(d));) {
        g_assert_null(strstr(n, ".tmp-"));
    }
    g_dir_close(d);
    /* A directory that does not exist: a clear error, nothing written. */
    char *nowhere = path_in_tmp("no/such/dir/vm.std");
    g_assert_cmpint(std_save(a->m, nowhere, NULL, NULL, &err), <, 0);
    g_assert_true(g_str_has_prefix(err->message, nowhere));
    g_clear_error(&err);
    /* A running machine is not saved. */
    a->m->state = RUN_STATE_RUNNING;
    g_assert_cmpint(std_save(a->m, path, NULL, NULL, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "paused"));
    g_clear_error(&err);
    a->m->state = RUN_STATE_PRELAUNCH;
    g_unlink(path);

    g_free(nowhere);
    g_free(first);
    g_free(second);
    g_free(path);
    vm_free(a);
}

static void test_fuzz(void)
{
    TestVm *a = vm_new(2);
    char *path = path_in_tmp("fuzz.std");
    /* A small image: few non-zero pages, so each load is quick. */
    memset(a->m->ram, 0, a->m->ram_size);
    memcpy(a->m->ram + 0x7000, "some guest data", 15);
    a->m->ram[0x9fff] = 1;
    set_cpu(a->m);
    g_assert_cmpint(std_save(a->m, path, digest_a, NULL, NULL), ==, 0);
    size_t len;
    uint8_t *img = read_file(path, &len);
    TestVm *b = vm_new(2);
    GRand *rnd = g_rand_new_with_seed(0x57d);
    int loaded = 0, past_checksum = 0;
    int iters = g_test_slow() ? 20000 : 3000;

    for (int iter = 0; iter < iters; iter++) {
        size_t n = len;
        uint8_t *buf = g_malloc(len + 64);
        memcpy(buf, img, len);
        int nmut = g_rand_int_range(rnd, 1, 4);
        for (int k = 0; k < nmut && n; k++) {
            size_t at = g_rand_int_range(rnd, 0, n);
            switch (g_rand_int_range(rnd, 0, 5)) {
            case 0:
                buf[at] ^= 1u << g_rand_int_range(rnd, 0, 8);
                break;
            case 1:
                buf[at] = g_rand_int_range(rnd, 0, 256);
                break;
            case 2:
                n = at;
                break;
            case 3: {                   /* insert up to 32 random bytes */
                size_t k2 = g_rand_int_range(rnd, 1, 33);
                k2 = MIN(k2, len + 64 - n);
                memmove(buf + at + k2, buf + at, n - at);
                for (size_t i = 0; i < k2; i++) {
                    buf[at + i] = g_rand_int_range(rnd, 0, 256);
                }
                n += k2;
                break;
            }
            default: {                  /* a large value into a length */
                static const uint64_t vals[] = { 0, 1, 0x7fffffff, 0xffffffffu,
                                                 0x100000000ULL, ~0ULL };
                uint64_t v = vals[g_rand_int_range(rnd, 0, G_N_ELEMENTS(vals))];
                size_t w = MIN((size_t)g_rand_int_range(rnd, 1, 9), n - at);
                memcpy(buf + at, &v, w);
            }
            }
        }
        bool repair = iter & 1;
        if (repair) {
            fix_image(buf, n);
        }
        uint8_t *exact = g_memdup2(buf, n ? n : 1);
        GError *err = NULL;
        int r = std_load_buffer(b->m, exact, n, digest_a, "vm.std", &err);
        if (r == 0) {
            loaded++;
        } else {
            g_assert_nonnull(err);
            g_assert_true(g_str_has_prefix(err->message, "vm.std: "));
            g_assert_null(strchr(err->message, '\n'));
            if (!strstr(err->message, "checksum") && !strstr(err->message, "truncated") &&
                !strstr(err->message, "after its end")) {
                past_checksum++;
            }
            g_error_free(err);
        }
        g_free(exact);
        g_free(buf);
    }
    g_test_message("%d runs: %d loaded, %d refused behind the checksum", iters, loaded,
                   past_checksum);
    /* The repaired half reaches the readers behind the checksum. */
    g_assert_cmpint(past_checksum, >, iters / 5);
    g_rand_free(rnd);
    g_free(img);
    g_unlink(path);
    g_free(path);
    vm_free(b);
    vm_free(a);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    vclock_set_manual(1000);
    tmpdir = g_dir_make_tmp("test-std-XXXXXX", NULL);
    bios_path = g_build_filename(tmpdir, "bios.bin", NULL);
    char *rom = g_malloc(65536);
    memset(rom, 0xf4, 65536);                   /* hlt everywhere */
    g_assert_true(g_file_set_contents(bios_path, rom, 65536, NULL));
    g_free(rom);

    g_test_add_func("/std-file/round-trip", test_round_trip);
    g_test_add_func("/std-file/refusals", test_refusals);
    g_test_add_func("/std-file/atomic-write", test_atomic_write);
    g_test_add_func("/std-file/fuzz", test_fuzz);
    int ret = g_test_run();

    g_unlink(bios_path);
    g_rmdir(tmpdir);
    g_free(bios_path);
    g_free(tmpdir);
    return ret;
}
