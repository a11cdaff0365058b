/*
 * Mutation fuzzing of the block layer's parsers: VMFS superblocks, file
 * tables, bitmaps and extent lists; REDO headers and maps; VMDK sparse
 * headers, grain directories and tables, compressed grains, COWD headers
 * and descriptors; MBR partition tables; disk addresses.  Each case starts from a valid image, mutates it
 * (random bytes, or a field set to an edge value, with the checksums made
 * right again so the mutation reaches the structural checks), then opens,
 * checks, lists, reads, writes and commits through it.  Every call must
 * return a value: run under ASan/UBSan, any out-of-bounds access or crash
 * fails the test.  VMKEMU_FUZZ_ITERATIONS scales the run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <zlib.h>
#include "block.h"

#define KB 1024u

static int iterations = 1500;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static const uint64_t edge_values[] = {
    0, 1, 2, 3, 7, 8, 63, 64, 511, 512, 513, 4095, 4096, 65535, 65536,
    0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
    0xffffffffffffffffull, 0xfffffffffffffe00ull,
};

/* Mutate buf[lo, hi): flip bytes, or put an edge value in an aligned
 * field. */
static void mutate(GRand *rng, uint8_t *buf, uint64_t lo, uint64_t hi)
{
    int kind = g_rand_int_range(rng, 0, 3);
    int n = g_rand_int_range(rng, 1, 4);
    for (int i = 0; i < n; i++) {
        uint64_t at = lo + (uint64_t)g_rand_double_range(rng, 0, (double)(hi - lo));
        at = MIN(at, hi - 1);
        if (kind == 0 || hi - lo < 8) {
            buf[at] ^= (uint8_t)g_rand_int_range(rng, 1, 256);
        } else {
            at = lo + ((at - lo) & ~(uint64_t)3);
            uint64_t v = edge_values[g_rand_int_range(rng, 0,
                                                      G_N_ELEMENTS(edge_values))];
            if (kind == 1 && at + 8 <= hi) {
                put64(buf + at, v);
            } else if (at + 4 <= hi) {
                put32(buf + at, (uint32_t)v);
            }
        }
    }
}

static void reseal_sb(uint8_t *sb)
{
    put32(sb + 508, (uint32_t)crc32(0, sb, 508));
}

/* ------------------------------------------------------------------------
 * VMFS
 * ------------------------------------------------------------------------ */

#define VOL_SIZE (640 * KB)

static uint8_t *valid_volume(void)
{
    BlockNode *dev = blk_mem_open(NULL, VOL_SIZE, BLK_O_RDWR);
    g_assert_cmpint(vmfs_format(dev, 4 * KB, 6, "fz", NULL), ==, 0);
    VmfsVolume *v = vmfs_volume_open(blk_mem_share(dev, BLK_O_RDWR), true,
                                     NULL);
    g_assert_nonnull(v);
    g_assert_cmpint(vmfs_create(v, "a.dsk", VMFS_FILE_DISK, 12 * KB, NULL,
                                NULL, NULL), ==, 0);
    g_assert_cmpint(vmfs_create(v, "b.dsk", VMFS_FILE_DISK, 8 * KB, NULL,
                                NULL, NULL), ==, 0);
    g_assert_cmpint(vmfs_create(v, "c", VMFS_FILE_DISK, 4 * KB, NULL, NULL,
                                NULL), ==, 0);
    g_assert_cmpint(vmfs_remove(v, "b.dsk", NULL), ==, 0);
    /* A fragmented file and a REDO log of a.dsk. */
    g_assert_cmpint(vmfs_create(v, "frag.dsk", VMFS_FILE_DISK, 24 * KB, NULL,
                                NULL, NULL), ==, 0);
    BlockNode *log = NULL;
    g_assert_cmpint(vmfs_create(v, "a.dsk.REDO", VMFS_FILE_PLAIN, 0, NULL,
                                NULL, NULL), ==, 0);
    log = vmfs_file_open(v, "a.dsk.REDO", BLK_O_RDWR | BLK_O_GROWABLE, NULL);
    g_assert_cmpint(blk_redo_format(log, 12 * KB, 1024, NULL), ==, 0);
    BlockNode *r = blk_redo_open(log, vmfs_file_open(v, "a.dsk", 0, NULL),
                                 BLK_O_RDWR, NULL);
    g_assert_nonnull(r);
    uint8_t buf[3000];
    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(blk_node_pwrite(r, 1000, buf, sizeof(buf)), ==, 0);
    blk_node_close(r);
    vmfs_volume_close(v);
    uint8_t *img = g_memdup2(blk_mem_data(dev, NULL), VOL_SIZE);
    blk_node_close(dev);
    return img;
}

/* Exercise everything on an image; it may be valid or not. */
static void use_volume(uint8_t *img)
{
    BlockNode *dev = blk_mem_open(img, VOL_SIZE, BLK_O_RDWR);
    GString *rep = g_string_new(NULL);
    (void)vmfs_probe(dev, NULL);
    char fsname[VMFS_FSNAME_MAX + 1];
    if (vmfs_probe(dev, fsname)) {
        g_assert_cmpuint(strlen(fsname), <=, VMFS_FSNAME_MAX);
    }
    (void)vmfs_fsck(dev, rep, NULL);
    g_string_free(rep, TRUE);
    for (int writable = 0; writable < 2; writable++) {
        VmfsVolume *v = vmfs_volume_open(blk_mem_share(dev, BLK_O_RDWR),
                                         writable, NULL);
        if (!v) {
            continue;
        }
        VmfsVolumeInfo vi;
        vmfs_volume_info(v, &vi, NULL);
        VmfsFileInfo *list;
        int n;
        vmfs_list(v, &list, &n, NULL);
        for (int i = 0; i < n; i++) {
            BlockNode *f = vmfs_file_open(v, list[i].name,
                                          writable ? BLK_O_RDWR : 0, NULL);
            if (!f) {
                continue;
            }
            int64_t size = blk_node_size(f);
            if (size > 0 && size < (int64_t)VOL_SIZE) {
                uint8_t *buf = g_malloc(size);
                (void)blk_node_pread(f, 0, buf, size);
                if (writable) {
                    (void)blk_node_pwrite(f, 0, buf, size);
                }
                g_free(buf);
                uint64_t pnum;
                (void)blk_node_block_status(f, 0, size, &pnum);
            }
            if (g_str_has_suffix(list[i].name, ".REDO")) {
                RedoInfo ri;
                (void)blk_redo_read_info(f, &ri, NULL);
            }
            blk_node_close(f);
        }
        if (writable) {
            (void)vmfs_create(v, "new.dsk", VMFS_FILE_DISK, 8 * KB, NULL, NULL,
                              NULL);
            if (n > 0) {
                (void)vmfs_remove(v, list[0].name, NULL);
            }
            (void)vmfs_set_fsname(v, "renamed", NULL);
        }
        g_free(list);
        vmfs_volume_close(v);
    }
    blk_node_close(dev);
}

static void test_fuzz_vmfs(void)
{
    uint8_t *valid = valid_volume();
    /* Where things are in the valid image (docs/vmfs-format.md). */
    uint64_t g0 = le64(valid + 0x10000 + 16), g1 = le64(valid + 0x11000 + 16);
    int k = g1 > g0;
    uint64_t sb_off = 0x10000 + (uint64_t)k * 0x1000;
    uint64_t meta_off = le64(valid + sb_off + 80 + 8 * k);
    uint64_t meta_len = le64(valid + sb_off + 104);
    uint64_t data_off = le64(valid + sb_off + 56);
    use_volume(valid);
    GRand *rng = g_rand_new_with_seed(0x5eed);
    uint8_t *img = g_malloc(VOL_SIZE);
    for (int it = 0; it < iterations; it++) {
        memcpy(img, valid, VOL_SIZE);
        switch (g_rand_int_range(rng, 0, 5)) {
        case 0:          /* superblock fields, resealed */
            mutate(rng, img, sb_off, sb_off + 508);
            reseal_sb(img + sb_off);
            break;
        case 1:          /* metadata, both checksums resealed */
            mutate(rng, img, meta_off, meta_off + meta_len);
            put32(img + sb_off + 112,
                  (uint32_t)crc32(0, img + meta_off, (uInt)meta_len));
            reseal_sb(img + sb_off);
            break;
        case 2:          /* metadata length and offsets */
            put64(img + sb_off + 104, edge_values[g_rand_int_range(
                      rng, 0, G_N_ELEMENTS(edge_values))]);
            if (g_rand_boolean(rng)) {
                put64(img + sb_off + 80 + 8 * k, edge_values[
                      g_rand_int_range(rng, 0, G_N_ELEMENTS(edge_values))]);
            }
            reseal_sb(img + sb_off);
            break;
        case 3:          /* raw bytes anywhere in the metadata area */
            mutate(rng, img, 0x10000, data_off);
            break;
        default:         /* disk headers and REDO contents in the data */
            mutate(rng, img, data_off, VOL_SIZE);
            break;
        }
        use_volume(img);
    }
    g_test_message("%d VMFS mutations", iterations);
    g_free(img);
    g_free(valid);
    g_rand_free(rng);
}

/* ------------------------------------------------------------------------
 * REDO
 * ------------------------------------------------------------------------ */

#define REDO_PARENT (48 * KB)

static void use_redo(const uint8_t *log, uint64_t log_size)
{
    BlockNode *logn = blk_mem_open(log, log_size, BLK_O_RDWR | BLK_O_GROWABLE);
    RedoInfo ri;
    (void)blk_redo_read_info(logn, &ri, NULL);
    BlockNode *base = blk_mem_open(NULL, REDO_PARENT, BLK_O_RDWR);
    BlockNode *r = blk_redo_open(logn, base, BLK_O_RDWR, NULL);
    if (!r) {
        return;
    }
    uint8_t *buf = g_malloc(REDO_PARENT);
    (void)blk_node_pread(r, 0, buf, REDO_PARENT);
    uint64_t off = 0, pnum;
    while (off < REDO_PARENT) {
        int st = blk_node_block_status(r, off, REDO_PARENT - off, &pnum);
        if (st < 0 || pnum == 0) {
            break;
        }
        off += pnum;
    }
    memset(buf, 0x33, 5000);
    (void)blk_node_pwrite(r, 7000, buf, 5000);
    (void)blk_node_flush(r);
    (void)blk_redo_commit(r, NULL, NULL, NULL);
    blk_node_close(r);
    g_free(buf);
}

static void test_fuzz_redo(void)
{
    BlockNode *base = blk_mem_open(NULL, REDO_PARENT, 0);
    BlockNode *logn = blk_mem_open(NULL, 0, BLK_O_RDWR | BLK_O_GROWABLE);
    g_assert_cmpint(blk_redo_format(logn, REDO_PARENT, 1024, NULL), ==, 0);
    BlockNode *r = blk_redo_open(blk_mem_share(logn, BLK_O_RDWR |
                                               BLK_O_GROWABLE),
                                 base, BLK_O_RDWR, NULL);
    g_assert_nonnull(r);
    uint8_t w[2500];
    memset(w, 0x44, sizeof(w));
    for (int i = 0; i < 6; i++) {
        g_assert_cmpint(blk_node_pwrite(r, (uint64_t)i * 7777, w, sizeof(w)),
                        ==, 0);
    }
    blk_node_close(r);
    uint64_t size;
    uint8_t *src = blk_mem_data(logn, &size);
    uint8_t *valid = g_memdup2(src, size);
    blk_node_close(logn);
    use_redo(valid, size);

    GRand *rng = g_rand_new_with_seed(0xfeed);
    uint8_t *img = g_malloc(size);
    for (int it = 0; it < iterations; it++) {
        memcpy(img, valid, size);
        uint64_t len = size;
        switch (g_rand_int_range(rng, 0, 4)) {
        case 0:          /* header fields, resealed */
            mutate(rng, img, 0, 508);
            reseal_sb(img);
            break;
        case 1:          /* map entries */
            mutate(rng, img, 4096, MIN(size, 4096 + 4 * 48));
            break;
        case 2:          /* anything, and maybe truncated */
            mutate(rng, img, 0, size);
            if (g_rand_boolean(rng)) {
                len = (uint64_t)g_rand_int_range(rng, 0, (int)size);
            }
            break;
        default:         /* the header's sizes and offsets */
            put64(img + 8 * g_rand_int_range(rng, 2, 9),
                  edge_values[g_rand_int_range(rng, 0,
                                               G_N_ELEMENTS(edge_values))]);
            reseal_sb(img);
            break;
        }
        use_redo(img, len);
    }
    g_test_message("%d REDO mutations", iterations);
    g_free(img);
    g_free(valid);
    g_rand_free(rng);
}

/* ------------------------------------------------------------------------
 * VMware disks: sparse headers, grain directories and tables, compressed
 * grains, COWD headers, descriptors
 * ------------------------------------------------------------------------ */

static char *fuzz_dir;

static void use_vmdk(const uint8_t *img, uint64_t len, BlkFormat fmt,
                     const char *name, GRand *rng)
{
    BlockNode *f = blk_mem_open(img, len, BLK_O_RDWR);
    g_free(f->filename);
    f->filename = g_build_filename(fuzz_dir, name, NULL);
    BlockNode *bs = blk_vmdk_open_file(f, fmt, BLK_O_RDWR, NULL);
    if (!bs) {
        return;
    }
    int64_t size = blk_node_size(bs);
    g_assert_cmpint(size, >, 0);
    uint8_t *buf = g_malloc(256 * KB);
    for (int i = 0; i < 4; i++) {
        uint64_t off = i == 0 ? 0
                       : rng ? (uint64_t)g_rand_double_range(rng, 0,
                                                             (double)size)
                             : (uint64_t)size / 4 * (uint64_t)i;
        uint64_t n = MIN((uint64_t)256 * KB, (uint64_t)size - MIN(off,
                                                           (uint64_t)size));
        (void)blk_node_pread(bs, off, buf, (size_t)n);
        uint64_t pnum;
        (void)blk_node_block_status(bs, off, n ? n : 1, &pnum);
        if (i == 1 && n >= 1000) {
            (void)blk_node_pwrite(bs, off, buf, 1000);
        }
    }
    (void)blk_node_flush(bs);
    g_free(buf);
    blk_node_close(bs);
}

static void put32_at(uint8_t *p, uint32_t v)
{
    put32(p, v);
}

static void test_fuzz_vmdk(void)
{
    fuzz_dir = g_dir_make_tmp("vmkemu-fuzz-XXXXXX", NULL);
    /* A valid monolithicSparse image, from the exporter. */
    const uint64_t dsize = 3 * 1024 * KB;
    uint8_t *disk = g_malloc0(dsize);
    for (uint64_t i = 0; i < 200 * KB; i++) {
        disk[i] = (uint8_t)(i * 7);
        disk[dsize - 1 - i] = (uint8_t)(i * 3);
    }
    BlockNode *src = blk_mem_open(disk, dsize, 0);
    char *sp = g_build_filename(fuzz_dir, "s.vmdk", NULL);
    g_assert_cmpint(blk_vmdk_export(src, sp, VMDK_MONOLITHIC_SPARSE, NULL,
                                    NULL, NULL), ==, 0);
    blk_node_close(src);
    gchar *sparse;
    gsize slen;
    g_assert_true(g_file_get_contents(sp, &sparse, &slen, NULL));
    uint8_t *s8 = (uint8_t *)sparse;
    uint64_t gd = le64(s8 + 56), overhead = le64(s8 + 64);
    /* A flat extent file and a descriptor naming both. */
    char *fp = g_build_filename(fuzz_dir, "f.raw", NULL);
    g_assert_true(g_file_set_contents(fp, (char *)disk, 64 * KB, NULL));
    const char *desc = "# Disk DescriptorFile\nversion=1\n"
                       "createType=\"custom\"\n"
                       "RW 128 FLAT \"f.raw\" 0\nRDONLY 64 ZERO\n"
                       "RW 6144 SPARSE \"s.vmdk\"\n"
                       "ddb.adapterType = \"ide\"\n";
    const char *pln = "DRIVETYPE ide\nCYLINDERS 2\nHEADS 2\nSECTORS 63\n"
                      "ACCESS \"f.raw\" 0\nRDONLY \"f.raw\" 200 64\n";
    /* A small COWD image. */
    uint8_t cowd[4096 + 2048 + 16384 + 8192] = { 0 };
    memcpy(cowd, "COWD", 4);
    put32_at(cowd + 4, 1);
    put32_at(cowd + 12, 1000);
    put32_at(cowd + 16, 16);
    put32_at(cowd + 20, 4);
    put32_at(cowd + 24, 1);
    put32_at(cowd + 2048, 5);
    put32_at(cowd + 2560, 37);
    use_vmdk(s8, slen, BLK_FORMAT_VMDK, "s.vmdk", NULL);

    GRand *rng = g_rand_new_with_seed(0xd15c);
    int vmdk_iterations = MAX(iterations / 2, 1);   /* each one is costlier */
    for (int it = 0; it < vmdk_iterations; it++) {
        int which = g_rand_int_range(rng, 0, 6);
        if (which <= 2) {
            uint8_t *img = g_memdup2(s8, slen);
            uint64_t len = slen;
            if (which == 0) {
                mutate(rng, img, 0, 512);
            } else if (which == 1) {
                mutate(rng, img, gd * 512, MIN(slen, overhead * 512));
            } else {
                /* Compressed grains with markers over uncompressed data. */
                put32(img + 8, le32(img + 8) | (1u << 16) | (1u << 17));
                img[77] = 1;
                img[78] = 0;
                if (g_rand_boolean(rng)) {
                    mutate(rng, img, overhead * 512, slen);
                }
            }
            if (g_rand_int_range(rng, 0, 8) == 0) {
                len = (uint64_t)g_rand_int_range(rng, 512, (int)slen);
            }
            use_vmdk(img, len, BLK_FORMAT_VMDK, "s.vmdk", rng);
            g_free(img);
        } else if (which == 3) {
            uint8_t *img = g_memdup2(cowd, sizeof(cowd));
            mutate(rng, img, 0, g_rand_boolean(rng) ? 64 : sizeof(cowd));
            use_vmdk(img, sizeof(cowd), BLK_FORMAT_COWD, "c.dsk", rng);
            g_free(img);
        } else {
            const char *text = which == 4 ? desc : pln;
            size_t tl = strlen(text);
            uint8_t *img = (uint8_t *)g_strdup(text);
            for (int k = 0; k < g_rand_int_range(rng, 1, 5); k++) {
                static const char alphabet[] = "0123456789 \"\n#RWFLATZEROSPAC"
                                               "-x\t9999999999999999999";
                img[g_rand_int_range(rng, 0, (int)tl)] =
                    (uint8_t)alphabet[g_rand_int_range(rng, 0,
                                                       sizeof(alphabet) - 1)];
            }
            use_vmdk(img, tl, BLK_FORMAT_DESCRIPTOR, "d.vmdk", rng);
            g_free(img);
        }
    }
    g_test_message("%d VMware disk mutations", vmdk_iterations);
    g_rand_free(rng);
    g_unlink(sp);
    g_unlink(fp);
    g_rmdir(fuzz_dir);
    g_free(fuzz_dir);
    g_free(sp);
    g_free(fp);
    g_free(sparse);
    g_free(disk);
}

/* ------------------------------------------------------------------------
 * MBR and addresses
 * ------------------------------------------------------------------------ */

static void test_fuzz_mbr(void)
{
    GRand *rng = g_rand_new_with_seed(77);
    const uint64_t size = 64 * KB;
    uint8_t *img = g_malloc(size);
    for (int it = 0; it < iterations; it++) {
        memset(img, 0, size);
        /* A table whose entries point into the disk now and then, with
         * EBRs scattered in it. */
        for (uint64_t s = 0; s < size; s += 512) {
            if (s == 0 || g_rand_int_range(rng, 0, 8) == 0) {
                for (int e = 0; e < 4; e++) {
                    uint8_t *p = img + s + 0x1be + e * 16;
                    static const uint8_t types[] = { 0, 0x05, 0x0f, 0x85,
                                                     0xfb, 0xff, 0x83 };
                    p[4] = types[g_rand_int_range(rng, 0, G_N_ELEMENTS(types))];
                    put32(p + 8, g_rand_boolean(rng)
                                 ? (uint32_t)g_rand_int_range(rng, 0, 140)
                                 : g_rand_int(rng));
                    put32(p + 12, g_rand_boolean(rng)
                                  ? (uint32_t)g_rand_int_range(rng, 0, 140)
                                  : g_rand_int(rng));
                }
                img[s + 510] = 0x55;
                img[s + 511] = 0xaa;
            }
        }
        BlockNode *disk = blk_mem_open(img, size, 0);
        BlkPartition *parts;
        int n;
        if (blk_mbr_read(disk, &parts, &n, NULL) == 0) {
            for (int i = 0; i < n; i++) {
                g_assert_cmpuint(parts[i].offset + parts[i].size, <=, size);
            }
            g_free(parts);
        }
        blk_node_close(disk);
    }
    g_free(img);
    g_rand_free(rng);
}

static void test_fuzz_address(void)
{
    GRand *rng = g_rand_new_with_seed(99);
    static const char *const pieces[] = {
        "vmhba", "scsi", "0", "1", "99999999", ":", ":", "/", "a", ".dsk",
        "-1", "", " ", "vmhba0:", "\xff", "::",
    };
    for (int it = 0; it < iterations * 4; it++) {
        GString *s = g_string_new(NULL);
        int n = g_rand_int_range(rng, 0, 9);
        for (int i = 0; i < n; i++) {
            g_string_append(s, pieces[g_rand_int_range(rng, 0,
                                                       G_N_ELEMENTS(pieces))]);
        }
        BlkAddress a;
        GError *err = NULL;
        if (blk_address_parse(s->str, &a, &err) == 0) {
            char *f = blk_address_format(&a);
            g_free(f);
            blk_address_clear(&a);
        } else {
            g_assert_nonnull(err);
            g_clear_error(&err);
        }
        g_string_free(s, TRUE);
    }
    g_rand_free(rng);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    const char *it = g_getenv("VMKEMU_FUZZ_ITERATIONS");
    if (it && atoi(it) > 0) {
        iterations = atoi(it);
    }
    g_test_add_func("/block/fuzz/vmfs", test_fuzz_vmfs);
    g_test_add_func("/block/fuzz/redo", test_fuzz_redo);
    g_test_add_func("/block/fuzz/vmdk", test_fuzz_vmdk);
    g_test_add_func("/block/fuzz/mbr", test_fuzz_mbr);
    g_test_add_func("/block/fuzz/address", test_fuzz_address);
    return g_test_run();
}
