/*
 * The vmdk driver (block/vmdk.c): sparse export and reopen, writes into a
 * sparse extent (new grains and grain tables), flat, ZERO and offset
 * extents through descriptors, a COWD extent built here from the
 * documented header layout, Workstation plain disks, and refusal of
 * damaged headers.  qemu-img interop is tests/block/vmdk.t.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "block.h"

#define KB 1024u
#define MB (1024u * 1024u)

static char *tmpdir;

static char *path_of(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)((i * 29 + seed * 53 + (i >> 12)) & 0xff);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* A disk with data in a few places and zeroes elsewhere. */
static uint8_t *sample_disk(uint64_t size)
{
    uint8_t *d = g_malloc0(size);
    fill_pattern(d, 100 * KB, 1);
    fill_pattern(d + size / 2 + 1000, 3000, 2);
    fill_pattern(d + size - 64 * KB, 64 * KB, 3);
    return d;
}

static void assert_reads(BlockNode *bs, const uint8_t *want, uint64_t size)
{
    uint8_t *got = g_malloc(size);
    g_assert_cmpint(blk_node_size(bs), ==, size);
    g_assert_cmpint(blk_node_pread(bs, 0, got, size), ==, 0);
    g_assert_cmpmem(got, size, want, size);
    g_free(got);
}

static void test_export_reopen_write(void)
{
    const uint64_t size = 40 * MB + 512;     /* not a multiple of a grain */
    uint8_t *d = sample_disk(size);
    BlockNode *src = blk_mem_open(d, size, 0);
    char *p = path_of("exp.vmdk");
    GError *err = NULL;
    g_assert_cmpint(blk_vmdk_export(src, p, VMDK_MONOLITHIC_SPARSE, NULL, NULL,
                                    &err), ==, 0);
    g_assert_no_error(err);
    blk_node_close(src);
    /* Only non-zero grains are stored. */
    GStatBuf st;
    g_assert_cmpint(g_stat(p, &st), ==, 0);
    g_assert_cmpint(st.st_size, <, 2 * MB);
    g_assert_cmpint(blk_vmdk_export(src = blk_mem_open(d, size, 0), p,
                                    VMDK_MONOLITHIC_SPARSE, NULL, NULL, &err),
                    <, 0);
    g_assert_nonnull(strstr(err->message, "exp.vmdk"));
    g_clear_error(&err);
    blk_node_close(src);

    BlockNode *bs = blk_image_open(p, 0, &err);
    g_assert_no_error(err);
    assert_reads(bs, d, size);
    uint64_t pnum;
    int s = blk_node_block_status(bs, 200 * KB, 4 * MB, &pnum);
    g_assert_true(s & BLK_STATUS_ZERO);
    g_assert_cmpuint(pnum, >=, 3 * MB);
    g_assert_cmpint(blk_node_pwrite(bs, 0, d, 512), ==, -EROFS);
    blk_node_close(bs);

    /* Writes: into a stored grain, a new grain, and the partial end. */
    bs = blk_image_open(p, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    uint8_t w[70000];
    fill_pattern(w, sizeof(w), 9);
    g_assert_cmpint(blk_node_pwrite(bs, 10 * KB, w, 1000), ==, 0);
    g_assert_cmpint(blk_node_pwrite(bs, 20 * MB + 7, w, sizeof(w)), ==, 0);
    g_assert_cmpint(blk_node_pwrite(bs, size - 512, w, 512), ==, 0);
    memcpy(d + 10 * KB, w, 1000);
    memcpy(d + 20 * MB + 7, w, sizeof(w));
    memcpy(d + size - 512, w, 512);
    g_assert_cmpint(blk_node_flush(bs), ==, 0);
    blk_node_close(bs);
    bs = blk_image_open(p, 0, &err);
    g_assert_no_error(err);
    assert_reads(bs, d, size);
    blk_node_close(bs);
    g_unlink(p);
    g_free(p);
    g_free(d);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

/* A grain directory entry of 0 (no grain table yet): a write there makes
 * the table. */
static void test_new_grain_table(void)
{
    const uint64_t size = 40 * MB;
    uint8_t *d = g_malloc0(size);
    fill_pattern(d, 100 * KB, 5);
    BlockNode *src = blk_mem_open(d, size, 0);
    char *p = path_of("gt.vmdk");
    g_assert_cmpint(blk_vmdk_export(src, p, VMDK_MONOLITHIC_SPARSE, NULL, NULL,
                                    NULL), ==, 0);
    blk_node_close(src);
    gchar *img;
    gsize len;
    g_assert_true(g_file_get_contents(p, &img, &len, NULL));
    uint8_t *h = (uint8_t *)img;
    /* Directory entry 1 covers 32 MiB to 64 MiB: drop it in both copies. */
    put32(h + get64(h + 56) * 512 + 4, 0);
    put32(h + get64(h + 48) * 512 + 4, 0);
    g_assert_true(g_file_set_contents(p, img, (gssize)len, NULL));
    GError *err = NULL;
    BlockNode *bs = blk_image_open(p, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    uint8_t w[4096];
    fill_pattern(w, sizeof(w), 6);
    g_assert_cmpint(blk_node_pwrite(bs, 35 * MB + 100, w, sizeof(w)), ==, 0);
    memcpy(d + 35 * MB + 100, w, sizeof(w));
    blk_node_close(bs);
    bs = blk_image_open(p, 0, &err);
    g_assert_no_error(err);
    assert_reads(bs, d, size);
    blk_node_close(bs);
    g_unlink(p);
    g_free(p);
    g_free(img);
    g_free(d);
}

/* A descriptor with a flat extent at an offset, a ZERO extent, and a
 * sparse one. */
static void test_descriptor_extents(void)
{
    uint8_t *flat = g_malloc(1 * MB + 8 * KB);
    fill_pattern(flat, 1 * MB + 8 * KB, 4);
    char *fp = path_of("f.raw");
    g_assert_true(g_file_set_contents(fp, (char *)flat, 1 * MB + 8 * KB,
                                      NULL));
    uint8_t *sp_data = sample_disk(2 * MB);
    BlockNode *src = blk_mem_open(sp_data, 2 * MB, 0);
    char *sp = path_of("s.vmdk");
    GError *err = NULL;
    g_assert_cmpint(blk_vmdk_export(src, sp, VMDK_MONOLITHIC_SPARSE, NULL,
                                    NULL, &err), ==, 0);
    blk_node_close(src);
    char *dp = path_of("d.vmdk");
    const char *desc =
        "# Disk DescriptorFile\nversion=1\ncreateType=\"custom\"\n\n"
        "RW 2048 FLAT \"f.raw\" 16\n"
        "RDONLY 1024 ZERO\n"
        "RW 4096 SPARSE \"s.vmdk\"\n"
        "ddb.adapterType = \"ide\"\n";
    g_assert_true(g_file_set_contents(dp, desc, -1, NULL));
    BlockNode *bs = blk_image_open(dp, 0, &err);
    g_assert_no_error(err);
    uint64_t size = (2048 + 1024 + 4096) * 512ull;
    uint8_t *want = g_malloc0(size);
    memcpy(want, flat + 16 * 512, MB);
    memcpy(want + 3072 * 512, sp_data, 2 * MB);
    assert_reads(bs, want, size);
    blk_node_close(bs);
    /* Writable: the flat part takes writes, the ZERO part does not. */
    bs = blk_image_open(dp, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_pwrite(bs, 512, want, 512), ==, 0);
    g_assert_cmpint(blk_node_pwrite(bs, 2048 * 512, want, 512), ==, -EROFS);
    blk_node_close(bs);
    /* Bad descriptors are refused with their line. */
    g_assert_true(g_file_set_contents(dp, "# Disk DescriptorFile\n"
                                      "createType=\"x\"\nRW abc FLAT \"f\"\n",
                                      -1, NULL));
    g_assert_null(blk_image_open(dp, 0, &err));
    g_assert_nonnull(strstr(err->message, "d.vmdk:3"));
    g_clear_error(&err);
    g_assert_true(g_file_set_contents(dp, "# Disk DescriptorFile\n"
                                      "createType=\"x\"\n"
                                      "RW 99999 FLAT \"f.raw\" 0\n", -1,
                                      NULL));
    g_assert_null(blk_image_open(dp, 0, &err));
    g_assert_nonnull(strstr(err->message, "shorter"));
    g_clear_error(&err);
    g_assert_true(g_file_set_contents(dp, "# Disk DescriptorFile\n"
                                      "createType=\"x\"\n"
                                      "RW 8 SPARSE \"missing.vmdk\"\n", -1,
                                      NULL));
    g_assert_null(blk_image_open(dp, 0, &err));
    g_assert_nonnull(strstr(err->message, "missing.vmdk"));
    g_clear_error(&err);
    g_unlink(fp);
    g_unlink(sp);
    g_unlink(dp);
    g_free(fp);
    g_free(sp);
    g_free(dp);
    g_free(flat);
    g_free(sp_data);
    g_free(want);
}

/* A COWD extent (Workstation 2.x / GSX): 2048-byte header, grain
 * directory at sector 4, tables of 4096 entries. */
static void test_cowd(void)
{
    const uint32_t sectors = 20000, grain = 16;     /* 8 KiB grains */
    const uint32_t ngrains = (sectors + grain - 1) / grain;
    const uint32_t ngd = (ngrains + 4095) / 4096;
    uint64_t gt_sec = 4 + (ngd * 4 + 511) / 512;
    uint64_t data_sec = gt_sec + (uint64_t)ngd * 4096 * 4 / 512;
    uint64_t fsize = (data_sec + 3 * grain) * 512;
    uint8_t *f = g_malloc0(fsize);
    memcpy(f, "COWD", 4);
    put32(f + 4, 1);
    put32(f + 8, 3);
    put32(f + 12, sectors);
    put32(f + 16, grain);
    put32(f + 20, 4);
    put32(f + 24, ngd);
    put32(f + 28, (uint32_t)(data_sec + 3 * grain));
    put32(f + 32, 20);    /* cylinders, heads, sectors of a root disk */
    put32(f + 36, 16);
    put32(f + 40, 63);
    for (uint32_t i = 0; i < ngd; i++) {
        put32(f + 4 * 512 + i * 4, (uint32_t)(gt_sec + i * 4096 * 4 / 512));
    }
    /* Grains 0, 5 and the last one hold data. */
    uint32_t used[3] = { 0, 5, ngrains - 1 };
    uint8_t *want = g_malloc0((uint64_t)sectors * 512);
    for (int k = 0; k < 3; k++) {
        uint64_t at = data_sec + (uint64_t)k * grain;
        put32(f + gt_sec * 512 + (uint64_t)used[k] * 4, (uint32_t)at);
        fill_pattern(f + at * 512, grain * 512, 10 + k);
        uint64_t off = (uint64_t)used[k] * grain * 512;
        uint64_t n = MIN((uint64_t)grain * 512, (uint64_t)sectors * 512 - off);
        memcpy(want + off, f + at * 512, n);
    }
    char *p = path_of("old.dsk");
    g_assert_true(g_file_set_contents(p, (char *)f, (gssize)fsize, NULL));
    GError *err = NULL;
    BlockNode *bs = blk_image_open(p, 0, &err);
    g_assert_no_error(err);
    assert_reads(bs, want, (uint64_t)sectors * 512);
    blk_node_close(bs);
    /* A directory that cannot cover the disk is refused. */
    put32(f + 24, 0);
    g_assert_true(g_file_set_contents(p, (char *)f, (gssize)fsize, NULL));
    g_assert_null(blk_image_open(p, 0, &err));
    g_assert_nonnull(strstr(err->message, "COWD"));
    g_clear_error(&err);
    g_unlink(p);
    g_free(p);
    g_free(f);
    g_free(want);
}

/* Workstation plain disk: ACCESS lines over raw files. */
static void test_plain_disk(void)
{
    uint8_t *a = g_malloc(64 * KB), *b = g_malloc(32 * KB);
    fill_pattern(a, 64 * KB, 21);
    fill_pattern(b, 32 * KB, 22);
    char *pa = path_of("p1.dat"), *pb = path_of("p2.dat");
    g_assert_true(g_file_set_contents(pa, (char *)a, 64 * KB, NULL));
    g_assert_true(g_file_set_contents(pb, (char *)b, 32 * KB, NULL));
    char *pl = path_of("p.pln");
    /* p1 at sector 0, p2 at sector 256 (a 64 KiB gap), geometry 4x2x63. */
    g_assert_true(g_file_set_contents(pl,
        "# Plain Disk\nDRIVETYPE ide\nCYLINDERS 4\nHEADS 2\nSECTORS 63\n"
        "ACCESS \"p1.dat\" 0\nRDONLY \"p2.dat\" 256 64\n", -1, NULL));
    GError *err = NULL;
    BlockNode *bs = blk_image_open(pl, 0, &err);
    g_assert_no_error(err);
    uint64_t size = 4 * 2 * 63 * 512;     /* the geometry */
    uint8_t *want = g_malloc0(size);
    memcpy(want, a, 64 * KB);
    memcpy(want + 256 * 512, b, 32 * KB);
    assert_reads(bs, want, size);
    blk_node_close(bs);
    bs = blk_image_open(pl, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_pwrite(bs, 0, b, 512), ==, 0);
    g_assert_cmpint(blk_node_pwrite(bs, 256 * 512, b, 512), ==, -EROFS);
    blk_node_close(bs);
    g_assert_true(g_file_set_contents(pl, "DRIVETYPE ide\nACCESS \"p1.dat\" x\n",
                                      -1, NULL));
    g_assert_null(blk_image_open(pl, 0, &err));
    g_assert_nonnull(strstr(err->message, "p.pln:2"));
    g_clear_error(&err);
    g_unlink(pa);
    g_unlink(pb);
    g_unlink(pl);
    g_free(pa);
    g_free(pb);
    g_free(pl);
    g_free(a);
    g_free(b);
    g_free(want);
}

static void test_damaged_headers(void)
{
    const uint64_t size = 4 * MB;
    uint8_t *d = sample_disk(size);
    BlockNode *src = blk_mem_open(d, size, 0);
    char *p = path_of("dmg.vmdk");
    g_assert_cmpint(blk_vmdk_export(src, p, VMDK_MONOLITHIC_SPARSE, NULL, NULL,
                                    NULL), ==, 0);
    blk_node_close(src);
    gchar *img;
    gsize len;
    g_assert_true(g_file_get_contents(p, &img, &len, NULL));
    struct { int off; uint32_t val; const char *why; } cases[] = {
        { 4, 9, "version" },
        { 20, 0, "geometry" },            /* grain size 0 */
        { 44, 4096, "geometry" },         /* too many GTEs */
        { 56, 0xfffffff0u, "grain directory" },
        { 75, 0x0a0a0a0au, "line ends" }, /* \r\n mangled */
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        gchar *m = g_memdup2(img, len);
        put32((uint8_t *)m + cases[i].off, cases[i].val);
        g_assert_true(g_file_set_contents(p, m, (gssize)len, NULL));
        GError *err = NULL;
        g_assert_null(blk_image_open(p, 0, &err));
        g_assert_nonnull(err);
        if (!strstr(err->message, cases[i].why)) {
            g_test_message("case %u: %s", i, err->message);
        }
        g_assert_nonnull(strstr(err->message, cases[i].why));
        g_clear_error(&err);
        g_free(m);
    }
    g_unlink(p);
    g_free(p);
    g_free(img);
    g_free(d);
}

/* Grains stored in the file in another order than on the disk: a read
 * across them (which joins grains that follow each other in the file into
 * one request) returns each from its own place. */
static void test_grain_order(void)
{
    const uint64_t size = 4 * MB, grain = 64 * KB;
    uint8_t *d = g_malloc0(size);
    BlockNode *src = blk_mem_open(d, size, 0);
    char *p = path_of("order.vmdk");
    g_assert_cmpint(blk_vmdk_export(src, p, VMDK_MONOLITHIC_SPARSE, NULL, NULL,
                                    NULL), ==, 0);
    blk_node_close(src);
    GError *err = NULL;
    BlockNode *bs = blk_image_open(p, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    /* File order: 30 31 32 (as on the disk), then 5 4 3 2, then 7, 6,
     * then 33 (after 32 on the disk, not in the file). */
    static const int order[] = { 30, 31, 32, 5, 4, 3, 2, 7, 6, 33 };
    uint8_t *g = g_malloc(grain);
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
        fill_pattern(g, grain, 100 + order[i]);
        g_assert_cmpint(blk_node_pwrite(bs, order[i] * grain, g, grain), ==, 0);
        memcpy(d + order[i] * grain, g, grain);
    }
    g_assert_cmpint(blk_node_flush(bs), ==, 0);
    blk_node_close(bs);
    bs = blk_image_open(p, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_prefetch(bs, 0, size), ==, 0);
    g_assert_cmpint(blk_node_prefetch(bs, size - 512, 10 * MB), ==, 0);
    assert_reads(bs, d, size);
    /* And in pieces that start and end inside grains. */
    uint8_t *got = g_malloc(size);
    for (uint64_t off = 0; off < size; off += 100000) {
        uint64_t n = MIN((uint64_t)300000, size - off);
        g_assert_cmpint(blk_node_pread(bs, off, got, n), ==, 0);
        g_assert_cmpmem(got, n, d + off, n);
    }
    blk_node_close(bs);
    g_unlink(p);
    g_free(p);
    g_free(got);
    g_free(g);
    g_free(d);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("vmkemu-vmdk-XXXXXX", NULL);
    g_test_add_func("/block/vmdk/export-reopen-write",
                    test_export_reopen_write);
    g_test_add_func("/block/vmdk/new-grain-table", test_new_grain_table);
    g_test_add_func("/block/vmdk/grain-order", test_grain_order);
    g_test_add_func("/block/vmdk/descriptor-extents", test_descriptor_extents);
    g_test_add_func("/block/vmdk/cowd", test_cowd);
    g_test_add_func("/block/vmdk/plain-disk", test_plain_disk);
    g_test_add_func("/block/vmdk/damaged-headers", test_damaged_headers);
    int r = g_test_run();
    char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(cmd);
    g_free(tmpdir);
    return r;
}
