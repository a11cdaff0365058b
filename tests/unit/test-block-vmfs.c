/*
 * The VMFS driver (block/vmfs.c, docs/vmfs-format.md): format, the file
 * table, disk-image attribute headers, allocation and fragmentation, name
 * rules, file locks, several openers, fsck, and crash safety: every
 * metadata operation is replayed against a simulated disk that loses power
 * at every point of its write journal (writes after the last flush kept,
 * dropped or torn at random), and the volume must come back consistent
 * with the old or the new state and no lost blocks.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <zlib.h>
#include "block.h"

#define MB (1u << 20)

static char *tmpdir;

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)((i * 131 + seed * 17 + (i >> 11)) & 0xff);
    }
}

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
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A fresh volume on a memory disk; *devp keeps a pointer to the disk. */
static VmfsVolume *mem_volume(uint64_t size, uint32_t bs, uint32_t nfiles,
                              const char *fsname, BlockNode **devp)
{
    BlockNode *dev = blk_mem_open(NULL, size, BLK_O_RDWR);
    GError *err = NULL;
    g_assert_cmpint(vmfs_format(dev, bs, nfiles, fsname, &err), ==, 0);
    g_assert_no_error(err);
    VmfsVolume *v = vmfs_volume_open(dev, true, &err);
    g_assert_no_error(err);
    if (devp) {
        *devp = dev;
    }
    return v;
}

static int write_file(VmfsVolume *v, const char *name, uint32_t seed)
{
    GError *err = NULL;
    BlockNode *bs = vmfs_file_open(v, name, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    int64_t size = blk_node_size(bs);
    uint8_t *buf = g_malloc(size);
    fill_pattern(buf, size, seed);
    int r = blk_node_pwrite(bs, 0, buf, size);
    blk_node_close(bs);
    g_free(buf);
    return r;
}

static bool file_has_pattern(VmfsVolume *v, const char *name, uint32_t seed)
{
    GError *err = NULL;
    BlockNode *bs = vmfs_file_open(v, name, 0, &err);
    if (!bs) {
        g_error_free(err);
        return false;
    }
    int64_t size = blk_node_size(bs);
    uint8_t *buf = g_malloc(size), *want = g_malloc(size);
    fill_pattern(want, size, seed);
    bool ok = blk_node_pread(bs, 0, buf, size) == 0 &&
              memcmp(buf, want, size) == 0;
    blk_node_close(bs);
    g_free(buf);
    g_free(want);
    return ok;
}

static void test_format_and_info(void)
{
    BlockNode *dev;
    VmfsVolume *v = mem_volume(64 * MB, MB, 64, "mydisk", &dev);
    VmfsVolumeInfo vi;
    g_assert_cmpint(vmfs_volume_info(v, &vi, NULL), ==, 0);
    g_assert_cmpstr(vi.fsname, ==, "mydisk");
    g_assert_cmpuint(vi.block_size, ==, MB);
    g_assert_cmpuint(vi.max_files, ==, 64);
    g_assert_cmpuint(vi.nfiles, ==, 0);
    /* Metadata takes the first blocks; the rest is free. */
    g_assert_cmpuint(vi.total_blocks, >=, 60);
    g_assert_cmpuint(vi.total_blocks, <, 64);
    g_assert_cmpuint(vi.free_blocks, ==, vi.total_blocks);
    char name[VMFS_FSNAME_MAX + 1];
    g_assert_true(vmfs_probe(dev, name));
    g_assert_cmpstr(name, ==, "mydisk");
    g_assert_cmpint(vmfs_set_fsname(v, "other.vol", NULL), ==, 0);
    g_assert_true(vmfs_probe(dev, name));
    g_assert_cmpstr(name, ==, "other.vol");
    GError *err = NULL;
    g_assert_cmpint(vmfs_set_fsname(v, "vmhba1", &err), ==, -EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(vmfs_set_fsname(v, "has:colon", &err), ==, -EINVAL);
    g_clear_error(&err);
    vmfs_volume_close(v);

    /* Bad geometry and too small devices are refused. */
    dev = blk_mem_open(NULL, 256 * 1024, BLK_O_RDWR);
    g_assert_cmpint(vmfs_format(dev, MB, 64, NULL, &err), ==, -ENOSPC);
    g_assert_nonnull(strstr(err->message, "too small"));
    g_clear_error(&err);
    g_assert_cmpint(vmfs_format(dev, 3000, 64, NULL, &err), ==, -EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(vmfs_format(dev, 4096, 0, NULL, &err), ==, -EINVAL);
    g_clear_error(&err);
    g_assert_false(vmfs_probe(dev, NULL));
    v = vmfs_volume_open(dev, false, &err);
    g_assert_null(v);
    g_assert_error(err, BLK_ERROR, ENOENT);
    g_clear_error(&err);
}

static void test_files(void)
{
    BlockNode *dev;
    VmfsVolume *v = mem_volume(64 * MB, MB, 8, "vol", &dev);
    GError *err = NULL;
    g_assert_cmpint(vmfs_create(v, "a.dsk", VMFS_FILE_DISK, 3 * MB + 512,
                                NULL, NULL, &err), ==, 0);
    g_assert_no_error(err);
    VmfsFileInfo fi;
    g_assert_cmpint(vmfs_stat(v, "a.dsk", &fi, NULL), ==, 0);
    /* The manual: a disk image file is 512 bytes longer than the disk. */
    g_assert_cmpuint(fi.length, ==, 3 * MB + 1024);
    g_assert_cmpuint(fi.disk_size, ==, 3 * MB + 512);
    g_assert_cmpuint(fi.allocated, ==, 4 * MB);
    g_assert_cmpint(fi.type, ==, VMFS_FILE_DISK);

    BlockNode *bs = vmfs_file_open(v, "a.dsk", BLK_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_size(bs), ==, 3 * MB + 512);
    g_assert_cmpint(blk_node_is_zero(bs, 0, 3 * MB + 512), ==, 1);
    uint8_t buf[4096];
    fill_pattern(buf, sizeof(buf), 4);
    g_assert_cmpint(blk_node_pwrite(bs, MB - 100, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(blk_node_pwrite(bs, 3 * MB, buf, 1024), ==, -EINVAL);
    blk_node_close(bs);

    /* The attribute header sits in the file's first 512 bytes and the disk
     * starts right after it. */
    uint64_t dsize;
    uint8_t *d = blk_mem_data(dev, &dsize);
    uint8_t *hdr = memmem(d, dsize, "VMFSDISK", 8);
    g_assert_nonnull(hdr);
    g_assert_cmpuint(le64(hdr + 16), ==, 3 * MB + 512);
    g_assert_cmpmem(hdr + 512 + MB - 100, sizeof(buf), buf, sizeof(buf));

    /* Names. */
    char longname[VMFS_NAME_MAX + 2];
    memset(longname, 'n', VMFS_NAME_MAX);
    longname[VMFS_NAME_MAX] = '\0';
    g_assert_cmpint(vmfs_create(v, longname, VMFS_FILE_DISK, 512, NULL, NULL,
                                &err), ==, 0);
    g_assert_cmpint(vmfs_stat(v, longname, &fi, NULL), ==, 0);
    g_assert_cmpstr(fi.name, ==, longname);
    strcat(longname, "x");
    g_assert_cmpint(vmfs_create(v, longname, VMFS_FILE_DISK, 512, NULL, NULL,
                                &err), ==, -EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(vmfs_create(v, "dir/x", VMFS_FILE_DISK, 512, NULL, NULL,
                                &err), ==, -EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(vmfs_create(v, "a.dsk", VMFS_FILE_DISK, 512, NULL, NULL,
                                &err), ==, -EEXIST);
    g_assert_nonnull(strstr(err->message, "a.dsk"));
    g_clear_error(&err);
    g_assert_cmpint(vmfs_create(v, "odd", VMFS_FILE_DISK, 1000, NULL, NULL,
                                &err), ==, -EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(vmfs_create(v, "huge", VMFS_FILE_DISK, 100 * MB, NULL,
                                NULL, &err), ==, -ENOSPC);
    g_assert_nonnull(strstr(err->message, "free"));
    g_clear_error(&err);

    /* The file table holds 8. */
    for (int i = 0; i < 6; i++) {
        char n[16];
        g_snprintf(n, sizeof(n), "f%d", i);
        g_assert_cmpint(vmfs_create(v, n, VMFS_FILE_DISK, 512, NULL, NULL,
                                    &err), ==, 0);
    }
    g_assert_cmpint(vmfs_create(v, "ninth", VMFS_FILE_DISK, 512, NULL, NULL,
                                &err), ==, -ENOSPC);
    g_assert_nonnull(strstr(err->message, "file table full"));
    g_clear_error(&err);
    VmfsFileInfo *list;
    int n;
    g_assert_cmpint(vmfs_list(v, &list, &n, NULL), ==, 0);
    g_assert_cmpint(n, ==, 8);
    g_free(list);
    g_assert_cmpint(vmfs_remove(v, "f3", NULL), ==, 0);
    g_assert_cmpint(vmfs_remove(v, "f3", &err), ==, -ENOENT);
    g_clear_error(&err);
    g_assert_cmpint(vmfs_stat(v, "f3", &fi, &err), ==, -ENOENT);
    g_clear_error(&err);
    g_assert_cmpint(vmfs_create(v, "ninth", VMFS_FILE_DISK, 512, NULL, NULL,
                                NULL), ==, 0);

    /* Read-only volumes refuse changes. */
    BlockNode *ro = blk_mem_open(blk_mem_data(dev, NULL), 64 * MB, 0);
    VmfsVolume *rv = vmfs_volume_open(ro, false, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vmfs_create(rv, "x", VMFS_FILE_DISK, 512, NULL, NULL,
                                &err), ==, -EROFS);
    g_clear_error(&err);
    g_assert_null(vmfs_file_open(rv, "a.dsk", BLK_O_RDWR, &err));
    g_clear_error(&err);
    bs = vmfs_file_open(rv, "a.dsk", 0, &err);
    g_assert_no_error(err);
    uint8_t back[4096];
    g_assert_cmpint(blk_node_pread(bs, MB - 100, back, sizeof(back)), ==, 0);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    blk_node_close(bs);
    vmfs_volume_close(rv);
    vmfs_volume_close(v);
}

static void test_fragmentation(void)
{
    VmfsVolume *v = mem_volume(40 * MB, MB, 16, NULL, NULL);
    VmfsVolumeInfo vi;
    vmfs_volume_info(v, &vi, NULL);
    uint64_t nb = vi.total_blocks;
    GError *err = NULL;
    /* Fill with 1-block files, free every other one, then a file that
     * needs the scattered blocks. */
    int made = 0;
    for (int i = 0; i < 16 && (uint64_t)made < nb; i++) {
        char name[16];
        g_snprintf(name, sizeof(name), "s%02d", i);
        g_assert_cmpint(vmfs_create(v, name, VMFS_FILE_DISK, 2 * MB - 512,
                                    NULL, NULL, &err), ==, 0);
        g_assert_no_error(err);
        write_file(v, name, (uint32_t)i);
        made++;
    }
    for (int i = 0; i < made; i += 2) {
        char name[16];
        g_snprintf(name, sizeof(name), "s%02d", i);
        g_assert_cmpint(vmfs_remove(v, name, NULL), ==, 0);
    }
    vmfs_volume_info(v, &vi, NULL);
    uint64_t want = (vi.free_blocks - 1) * MB;
    g_assert_cmpint(vmfs_create(v, "big.dsk", VMFS_FILE_DISK, want, NULL,
                                NULL, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(write_file(v, "big.dsk", 99), ==, 0);
    g_assert_true(file_has_pattern(v, "big.dsk", 99));
    for (int i = 1; i < made; i += 2) {
        char name[16];
        g_snprintf(name, sizeof(name), "s%02d", i);
        g_assert_true(file_has_pattern(v, name, (uint32_t)i));
    }
    vmfs_volume_close(v);
}

static void test_plain_growth(void)
{
    BlockNode *dev;
    VmfsVolume *v = mem_volume(32 * MB, 64 * 1024, 8, NULL, &dev);
    GError *err = NULL;
    g_assert_cmpint(vmfs_create(v, "log", VMFS_FILE_PLAIN, 0, NULL, NULL,
                                &err), ==, 0);
    BlockNode *bs = vmfs_file_open(v, "log", BLK_O_RDWR | BLK_O_GROWABLE,
                                   &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_size(bs), ==, 0);
    uint8_t buf[100000];
    fill_pattern(buf, sizeof(buf), 7);
    g_assert_cmpint(blk_node_pwrite(bs, 50000, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(blk_node_size(bs), ==, 150000);
    g_assert_cmpint(blk_node_flush(bs), ==, 0);
    VmfsFileInfo fi;
    g_assert_cmpint(vmfs_stat(v, "log", &fi, NULL), ==, 0);
    g_assert_cmpuint(fi.length, ==, 150000);
    g_assert_cmpuint(fi.allocated, ==, 3 * 64 * 1024);
    blk_node_close(bs);

    /* Another opener of the same volume sees it. */
    BlockNode *copy = blk_mem_open(blk_mem_data(dev, NULL), 32 * MB, 0);
    VmfsVolume *v2 = vmfs_volume_open(copy, false, &err);
    g_assert_no_error(err);
    bs = vmfs_file_open(v2, "log", 0, &err);
    g_assert_no_error(err);
    uint8_t back[100000];
    g_assert_cmpint(blk_node_pread(bs, 50000, back, sizeof(back)), ==, 0);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    g_assert_cmpint(blk_node_is_zero(bs, 0, 50000), ==, 1);
    blk_node_close(bs);
    vmfs_volume_close(v2);
    vmfs_volume_close(v);
}

/* Two openers of one host file: locks and picking up each other's
 * changes. */
static void test_two_openers(void)
{
    char *path = g_build_filename(tmpdir, "shared.img", NULL);
    GError *err = NULL;
    BlockNode *dev = blk_file_open(path, BLK_O_RDWR | BLK_O_CREATE |
                                   BLK_O_GROWABLE, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_pwrite_zeroes(dev, 0, 32 * MB), ==, 0);
    g_assert_cmpint(vmfs_format(dev, MB, 16, "shared", &err), ==, 0);
    blk_node_close(dev);

    VmfsVolume *a = vmfs_volume_open(blk_file_open(path, BLK_O_RDWR, NULL),
                                     true, &err);
    g_assert_no_error(err);
    VmfsVolume *b = vmfs_volume_open(blk_file_open(path, BLK_O_RDWR, NULL),
                                     true, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vmfs_create(a, "x.dsk", VMFS_FILE_DISK, MB, NULL, NULL,
                                NULL), ==, 0);
    /* b picks up a's change before making its own. */
    g_assert_cmpint(vmfs_create(b, "y.dsk", VMFS_FILE_DISK, MB, NULL, NULL,
                                NULL), ==, 0);
    g_assert_cmpint(vmfs_create(a, "y.dsk", VMFS_FILE_DISK, MB, NULL, NULL,
                                &err), ==, -EEXIST);
    g_clear_error(&err);
    VmfsFileInfo *list;
    int n;
    vmfs_list(a, &list, &n, NULL);
    g_assert_cmpint(n, ==, 2);
    g_free(list);

    /* A file open for writing in a cannot be removed or opened in b. */
    BlockNode *fx = vmfs_file_open(a, "x.dsk", BLK_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vmfs_remove(b, "x.dsk", &err), ==, -EBUSY);
    g_assert_nonnull(strstr(err->message, "in use"));
    g_clear_error(&err);
    g_assert_null(vmfs_file_open(b, "x.dsk", 0, &err));
    g_assert_error(err, BLK_ERROR, EBUSY);
    g_clear_error(&err);
    /* Nor a second time in a. */
    g_assert_null(vmfs_file_open(a, "x.dsk", 0, &err));
    g_clear_error(&err);
    blk_node_close(fx);
    /* Readers share. */
    BlockNode *r1 = vmfs_file_open(a, "x.dsk", 0, &err);
    BlockNode *r2 = vmfs_file_open(b, "x.dsk", 0, &err);
    BlockNode *r3 = vmfs_file_open(a, "x.dsk", 0, &err);
    g_assert_no_error(err);
    g_assert_null(vmfs_file_open(b, "x.dsk", BLK_O_RDWR, &err));
    g_clear_error(&err);
    blk_node_close(r1);
    blk_node_close(r3);
    /* a's reader locks are all gone; b's remains. */
    g_assert_cmpint(vmfs_remove(a, "x.dsk", &err), ==, -EBUSY);
    g_clear_error(&err);
    blk_node_close(r2);
    g_assert_cmpint(vmfs_remove(a, "x.dsk", NULL), ==, 0);
    /* Formatting under an open file is refused. */
    BlockNode *fy = vmfs_file_open(b, "y.dsk", 0, &err);
    dev = blk_file_open(path, BLK_O_RDWR, NULL);
    g_assert_cmpint(vmfs_format(dev, MB, 16, NULL, &err), ==, -EBUSY);
    g_clear_error(&err);
    blk_node_close(fy);
    blk_node_close(dev);
    vmfs_volume_close(a);
    vmfs_volume_close(b);
    g_unlink(path);
    g_free(path);
}

/* ------------------------------------------------------------------------
 * Damage that fsck must find
 * ------------------------------------------------------------------------ */

/* Locate the current superblock and metadata in a volume image. */
typedef struct Layout {
    uint64_t sb_off, meta_off, meta_len;
    uint32_t max_files;
    uint64_t nblocks;
} Layout;

static void layout_of(const uint8_t *d, Layout *l)
{
    uint64_t g0 = le64(d + 0x10000 + 16), g1 = le64(d + 0x11000 + 16);
    int k = g1 > g0 ? 1 : 0;
    l->sb_off = 0x10000 + k * 0x1000;
    const uint8_t *sb = d + l->sb_off;
    g_assert_cmpmem(sb, 8, "VMKEMUFS", 8);
    l->meta_off = le64(sb + 80 + 8 * k);
    l->meta_len = le64(sb + 104);
    l->max_files = le32(sb + 44);
    l->nblocks = le64(sb + 64);
}

/* After editing metadata in place, make the checksums right again. */
static void reseal(uint8_t *d, const Layout *l)
{
    uint8_t *sb = d + l->sb_off;
    put32(sb + 112, (uint32_t)crc32(0, d + l->meta_off, (uInt)l->meta_len));
    put32(sb + 508, (uint32_t)crc32(0, sb, 508));
}

static int fsck_image(uint8_t *img, uint64_t size, char **report)
{
    BlockNode *dev = blk_mem_open(img, size, 0);
    GString *rep = g_string_new(NULL);
    GError *err = NULL;
    int r = vmfs_fsck(dev, rep, &err);
    g_clear_error(&err);
    blk_node_close(dev);
    *report = g_string_free(rep, FALSE);
    return r;
}

static void test_fsck_finds_damage(void)
{
    BlockNode *dev;
    VmfsVolume *v = mem_volume(32 * MB, MB, 8, "vol", &dev);
    g_assert_cmpint(vmfs_create(v, "a.dsk", VMFS_FILE_DISK, 2 * MB, NULL,
                                NULL, NULL), ==, 0);
    g_assert_cmpint(vmfs_create(v, "b.dsk", VMFS_FILE_DISK, 2 * MB, NULL,
                                NULL, NULL), ==, 0);
    uint64_t size;
    uint8_t *good = g_memdup2(blk_mem_data(dev, &size), 32 * MB);
    vmfs_volume_close(v);
    char *rep;
    g_assert_cmpint(fsck_image(good, size, &rep), ==, 0);
    g_assert_nonnull(strstr(rep, "volume 'vol'"));
    g_free(rep);

    Layout l;
    layout_of(good, &l);
    uint64_t bitmap = l.meta_off + 64 + (uint64_t)l.max_files * 256;
    uint64_t extents = bitmap + ((l.nblocks + 63) / 64) * 8;

    /* A used bit nobody owns: a lost block. */
    uint8_t *img = g_memdup2(good, size);
    img[bitmap + (l.nblocks - 1) / 8] |= (uint8_t)(1u << ((l.nblocks - 1) % 8));
    reseal(img, &l);
    g_assert_cmpint(fsck_image(img, size, &rep), ==, -EUCLEAN);
    g_assert_nonnull(strstr(rep, "lost block"));
    g_free(rep);
    /* A writable open refuses an inconsistent volume. */
    GError *err = NULL;
    g_assert_null(vmfs_volume_open(blk_mem_open(img, size, BLK_O_RDWR), true,
                                   &err));
    g_assert_nonnull(strstr(err->message, "--fsck"));
    g_clear_error(&err);
    g_free(img);

    /* Two files on the same blocks. */
    img = g_memdup2(good, size);
    uint32_t a_start = le32(img + extents);
    put32(img + extents + 8, a_start);
    reseal(img, &l);
    g_assert_cmpint(fsck_image(img, size, &rep), ==, -EUCLEAN);
    g_assert_nonnull(strstr(rep, "more than one file"));
    g_free(rep);
    g_free(img);

    /* A flipped data byte in the disk header. */
    img = g_memdup2(good, size);
    uint8_t *hdr = memmem(img, size, "VMFSDISK", 8);
    hdr[20] ^= 1;
    g_assert_cmpint(fsck_image(img, size, &rep), ==, -EUCLEAN);
    g_assert_nonnull(strstr(rep, "a.dsk"));
    g_free(rep);
    g_free(img);

    /* A flipped metadata byte without reseal: the checksum catches it, fsck
     * reports the damage, and the previous generation is in force. */
    img = g_memdup2(good, size);
    img[l.meta_off + 64 + 3] ^= 0x40;
    g_assert_cmpint(fsck_image(img, size, &rep), ==, -EUCLEAN);
    g_assert_nonnull(strstr(rep, "damaged metadata"));
    g_free(rep);
    v = vmfs_volume_open(blk_mem_open(img, size, 0), false, &err);
    g_assert_no_error(err);
    VmfsFileInfo fi;
    g_assert_cmpint(vmfs_stat(v, "a.dsk", &fi, NULL), ==, 0);
    g_assert_cmpint(vmfs_stat(v, "b.dsk", &fi, NULL), ==, -ENOENT);
    vmfs_volume_close(v);
    g_free(img);
    g_free(good);
}

/* ------------------------------------------------------------------------
 * Crash simulation
 * ------------------------------------------------------------------------ */

typedef struct CrashCase {
    const char *what;
    /* Files present before and after, with their pattern seeds (0: reads
     * zero), NULL-terminated. */
    const char *before[8];
    const char *after[8];
    uint32_t seed_of[8];     /* per name in `names` */
    const char *names[8];
    const char *fsname_before, *fsname_after;
    uint32_t bs_before, bs_after;
} CrashCase;

static uint32_t seed_for(const CrashCase *c, const char *name)
{
    for (int i = 0; c->names[i]; i++) {
        if (strcmp(c->names[i], name) == 0) {
            return c->seed_of[i];
        }
    }
    return 0;
}

static bool set_matches(const VmfsFileInfo *list, int n,
                        const char *const *want)
{
    int k = 0;
    for (; want[k]; k++) {
        bool found = false;
        for (int i = 0; i < n; i++) {
            found |= strcmp(list[i].name, want[k]) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return k == n;
}

static bool file_ok(VmfsVolume *v, const char *name, uint32_t seed)
{
    if (seed) {
        return file_has_pattern(v, name, seed);
    }
    BlockNode *bs = vmfs_file_open(v, name, 0, NULL);
    bool ok = bs && blk_node_is_zero(bs, 0, blk_node_size(bs)) == 1;
    blk_node_close(bs);
    return ok;
}

/* Check one crash image: consistent, old or new, nothing lost. */
static void check_image(const CrashCase *c, uint8_t *img, uint64_t size,
                        size_t point, int *saw_old, int *saw_new)
{
    char *rep;
    int r = fsck_image(img, size, &rep);
    if (r != 0) {
        g_test_message("%s: point %zu: fsck: %s", c->what, point, rep);
    }
    g_assert_cmpint(r, ==, 0);
    g_free(rep);
    GError *err = NULL;
    VmfsVolume *v = vmfs_volume_open(blk_mem_open(img, size, BLK_O_RDWR),
                                     true, &err);
    g_assert_no_error(err);
    VmfsFileInfo *list;
    int n;
    vmfs_list(v, &list, &n, NULL);
    VmfsVolumeInfo vi;
    vmfs_volume_info(v, &vi, NULL);
    bool is_old = set_matches(list, n, c->before) &&
                  (!c->fsname_before ||
                   strcmp(vi.fsname, c->fsname_before) == 0) &&
                  (!c->bs_before || vi.block_size == c->bs_before);
    bool is_new = set_matches(list, n, c->after) &&
                  (!c->fsname_after ||
                   strcmp(vi.fsname, c->fsname_after) == 0) &&
                  (!c->bs_after || vi.block_size == c->bs_after);
    if (!is_old && !is_new) {
        g_test_message("%s: point %zu: neither old nor new state (%d files, "
                       "name '%s')", c->what, point, n, vi.fsname);
    }
    g_assert_true(is_old || is_new);
    *saw_old += is_old;
    *saw_new += is_new && !is_old;
    for (int i = 0; i < n; i++) {
        if (!file_ok(v, list[i].name, seed_for(c, list[i].name))) {
            g_test_message("%s: point %zu: '%s' has wrong contents", c->what,
                           point, list[i].name);
            g_assert_not_reached();
        }
    }
    /* One more change reclaims interrupted creates: then every block is
     * either free or in a listed file. */
    g_assert_cmpint(vmfs_set_fsname(v, vi.fsname[0] ? vi.fsname : "x", NULL),
                    ==, 0);
    vmfs_volume_info(v, &vi, NULL);
    uint64_t held = 0;
    for (int i = 0; i < n; i++) {
        held += list[i].allocated / vi.block_size;
    }
    g_assert_cmpuint(vi.free_blocks + held, ==, vi.total_blocks);
    g_free(list);
    vmfs_volume_close(v);
}

typedef void CrashOp(BlockNode *dev, VmfsVolume *v);

/* Run op with a journal on dev, then check a crash at every point (whole
 * writes, and two random drop/tear patterns per point). */
static void crash_check(const CrashCase *c, BlockNode *dev, VmfsVolume *v,
                        CrashOp *op)
{
    blk_mem_journal_start(dev);
    op(dev, v);
    size_t n = blk_mem_journal_length(dev);
    g_assert_cmpuint(n, >, 2);
    GRand *rng = g_rand_new_with_seed(1234);
    int saw_old = 0, saw_new = 0;
    for (size_t p = 0; p <= n; p++) {
        for (int variant = 0; variant < 3; variant++) {
            uint64_t size;
            uint8_t *img = blk_mem_crash_image(dev, p, variant ? rng : NULL,
                                               &size);
            check_image(c, img, size, p, &saw_old, &saw_new);
            g_free(img);
        }
    }
    g_rand_free(rng);
    /* Both ends are reached. */
    g_assert_cmpint(saw_old, >, 0);
    g_assert_cmpint(saw_new, >, 0);
    g_test_message("%s: %zu journal points, %d old / %d new states", c->what,
                   n, saw_old, saw_new);
}

#define CRASH_BS  (128 * 1024)
#define CRASH_VOL (3 * MB)

static VmfsVolume *crash_base(BlockNode **devp)
{
    VmfsVolume *v = mem_volume(CRASH_VOL, CRASH_BS, 8, "before", devp);
    g_assert_cmpint(vmfs_create(v, "a.dsk", VMFS_FILE_DISK, 2 * CRASH_BS,
                                NULL, NULL, NULL), ==, 0);
    write_file(v, "a.dsk", 11);
    g_assert_cmpint(vmfs_create(v, "b.dsk", VMFS_FILE_DISK, CRASH_BS, NULL,
                                NULL, NULL), ==, 0);
    write_file(v, "b.dsk", 12);
    return v;
}

static int pattern_fill(BlockNode *node, void *opaque, GError **errp)
{
    int64_t size = blk_node_size(node);
    uint8_t *buf = g_malloc(size);
    fill_pattern(buf, size, GPOINTER_TO_UINT(opaque));
    int r = blk_node_pwrite(node, 0, buf, size);
    g_free(buf);
    return r;
}

static void op_create(BlockNode *dev, VmfsVolume *v)
{
    g_assert_cmpint(vmfs_create(v, "c.dsk", VMFS_FILE_DISK, 3 * CRASH_BS,
                                NULL, NULL, NULL), ==, 0);
}

static void op_import(BlockNode *dev, VmfsVolume *v)
{
    g_assert_cmpint(vmfs_create(v, "c.dsk", VMFS_FILE_DISK, 3 * CRASH_BS,
                                pattern_fill, GUINT_TO_POINTER(13), NULL), ==,
                    0);
}

static void op_remove(BlockNode *dev, VmfsVolume *v)
{
    g_assert_cmpint(vmfs_remove(v, "a.dsk", NULL), ==, 0);
}

static void op_setname(BlockNode *dev, VmfsVolume *v)
{
    g_assert_cmpint(vmfs_set_fsname(v, "after", NULL), ==, 0);
}

static void op_reformat(BlockNode *dev, VmfsVolume *v)
{
    g_assert_cmpint(vmfs_format(dev, 64 * 1024, 32, "after", NULL), ==, 0);
}

static void test_crash_create(void)
{
    BlockNode *dev;
    VmfsVolume *v = crash_base(&dev);
    CrashCase c = {
        .what = "create", .before = { "a.dsk", "b.dsk" },
        .after = { "a.dsk", "b.dsk", "c.dsk" },
        .names = { "a.dsk", "b.dsk" }, .seed_of = { 11, 12 },
    };
    crash_check(&c, dev, v, op_create);
    vmfs_volume_close(v);
}

static void test_crash_import(void)
{
    BlockNode *dev;
    VmfsVolume *v = crash_base(&dev);
    CrashCase c = {
        .what = "import", .before = { "a.dsk", "b.dsk" },
        .after = { "a.dsk", "b.dsk", "c.dsk" },
        .names = { "a.dsk", "b.dsk", "c.dsk" }, .seed_of = { 11, 12, 13 },
    };
    crash_check(&c, dev, v, op_import);
    vmfs_volume_close(v);
}

static void test_crash_remove(void)
{
    BlockNode *dev;
    VmfsVolume *v = crash_base(&dev);
    CrashCase c = {
        .what = "remove", .before = { "a.dsk", "b.dsk" },
        .after = { "b.dsk" },
        .names = { "a.dsk", "b.dsk" }, .seed_of = { 11, 12 },
    };
    crash_check(&c, dev, v, op_remove);
    vmfs_volume_close(v);
}

static void test_crash_setname(void)
{
    BlockNode *dev;
    VmfsVolume *v = crash_base(&dev);
    CrashCase c = {
        .what = "setfsname", .before = { "a.dsk", "b.dsk" },
        .after = { "a.dsk", "b.dsk" },
        .names = { "a.dsk", "b.dsk" }, .seed_of = { 11, 12 },
        .fsname_before = "before", .fsname_after = "after",
    };
    crash_check(&c, dev, v, op_setname);
    vmfs_volume_close(v);
}

static void test_crash_reformat(void)
{
    BlockNode *dev;
    VmfsVolume *v = crash_base(&dev);
    /* Format needs the device to itself: keep a copy, close the volume. */
    uint64_t size;
    uint8_t *img = g_memdup2(blk_mem_data(dev, &size), CRASH_VOL);
    vmfs_volume_close(v);
    dev = blk_mem_open(img, size, BLK_O_RDWR);
    g_free(img);
    CrashCase c = {
        .what = "createfs over a volume", .before = { "a.dsk", "b.dsk" },
        .after = { NULL },
        .names = { "a.dsk", "b.dsk" }, .seed_of = { 11, 12 },
        .fsname_before = "before", .fsname_after = "after",
        .bs_before = CRASH_BS, .bs_after = 64 * 1024,
    };
    crash_check(&c, dev, NULL, op_reformat);
    blk_node_close(dev);
}

/* An interrupted create is invisible, reported by fsck, and reclaimed. */
static void test_interrupted_create(void)
{
    BlockNode *dev;
    VmfsVolume *v = crash_base(&dev);
    VmfsVolumeInfo before;
    vmfs_volume_info(v, &before, NULL);
    blk_mem_journal_start(dev);
    op_import(dev, v);
    /* The first flush after the entry went in: phase 1 is durable. */
    size_t n = blk_mem_journal_length(dev), p;
    int flushes = 0;
    uint64_t size;
    uint8_t *img = NULL;
    for (p = 1; p <= n; p++) {
        g_free(img);
        img = blk_mem_crash_image(dev, p, NULL, &size);
        BlockNode *d = blk_mem_open(img, size, 0);
        VmfsVolume *t = vmfs_volume_open(d, false, NULL);
        VmfsVolumeInfo ti;
        vmfs_volume_info(t, &ti, NULL);
        vmfs_volume_close(t);
        if (ti.free_blocks < before.free_blocks && ti.nfiles == 2) {
            flushes++;
            break;
        }
    }
    g_assert_cmpint(flushes, ==, 1);
    char *rep;
    g_assert_cmpint(fsck_image(img, size, &rep), ==, 0);
    g_assert_nonnull(strstr(rep, "interrupted create"));
    g_free(rep);
    GError *err = NULL;
    VmfsVolume *w = vmfs_volume_open(blk_mem_open(img, size, BLK_O_RDWR),
                                     true, &err);
    g_assert_no_error(err);
    VmfsFileInfo fi;
    g_assert_cmpint(vmfs_stat(w, "c.dsk", &fi, NULL), ==, -ENOENT);
    /* Creating it again works (the stale entry is reclaimed first). */
    g_assert_cmpint(vmfs_create(w, "c.dsk", VMFS_FILE_DISK, CRASH_BS, NULL,
                                NULL, &err), ==, 0);
    g_assert_no_error(err);
    VmfsVolumeInfo after;
    vmfs_volume_info(w, &after, NULL);
    g_assert_cmpuint(after.free_blocks, ==, before.free_blocks - 2);
    vmfs_volume_close(w);
    g_free(img);
    vmfs_volume_close(v);
}

/* Removing a file gives its blocks back to the host: on an image file
 * they become a hole (where the file system has holes), and the other
 * files keep their data.  Prefetch and write-back hints on a file are
 * harmless, also past its end. */
static void test_remove_discards(void)
{
    char *path = g_build_filename(tmpdir, "thin.img", NULL);
    GError *err = NULL;
    BlockNode *dev = blk_file_open(path, BLK_O_RDWR | BLK_O_CREATE |
                                   BLK_O_GROWABLE, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_pwrite_zeroes(dev, 0, 40 * MB), ==, 0);
    dev->flags &= ~BLK_O_GROWABLE;
    g_assert_cmpint(vmfs_format(dev, MB, 8, "thin", &err), ==, 0);
    VmfsVolume *v = vmfs_volume_open(dev, true, &err);
    g_assert_no_error(err);
    g_assert_cmpint(vmfs_create(v, "a.dsk", VMFS_FILE_DISK, 8 * MB, NULL,
                                NULL, &err), ==, 0);
    g_assert_cmpint(vmfs_create(v, "b.dsk", VMFS_FILE_DISK, 4 * MB, NULL,
                                NULL, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(write_file(v, "a.dsk", 31), ==, 0);
    g_assert_cmpint(write_file(v, "b.dsk", 32), ==, 0);
    BlockNode *bs = vmfs_file_open(v, "b.dsk", BLK_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_prefetch(bs, 0, 4 * MB), ==, 0);
    g_assert_cmpint(blk_node_start_writeback(bs, 0, 4 * MB), ==, 0);
    blk_node_prefetch(bs, 3 * MB, 100 * MB);
    blk_node_start_writeback(bs, 100 * MB, MB);
    blk_node_close(bs);
    g_assert_cmpint(blk_node_flush(dev), ==, 0);

    struct stat st;
    int fd = open(path, O_RDONLY);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(fstat(fd, &st), ==, 0);
    uint64_t before = (uint64_t)st.st_blocks * 512;
    g_assert_cmpint(vmfs_remove(v, "a.dsk", &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(fstat(fd, &st), ==, 0);
    uint64_t after = (uint64_t)st.st_blocks * 512;
    /* A file system that punches holes frees about 8 MiB. */
    off_t hole = lseek(fd, 0, SEEK_HOLE);
    if (hole >= 0 && hole < 40 * MB) {
        g_assert_cmpuint(before - after, >=, 8 * MB);
    }
    close(fd);
    g_assert_true(file_has_pattern(v, "b.dsk", 32));
    vmfs_volume_close(v);
    /* Still consistent, and b.dsk still whole, when opened afresh. */
    dev = blk_file_open(path, 0, &err);
    GString *report = g_string_new(NULL);
    g_assert_cmpint(vmfs_fsck(dev, report, &err), ==, 0);
    g_string_free(report, TRUE);
    v = vmfs_volume_open(dev, false, &err);
    g_assert_no_error(err);
    g_assert_true(file_has_pattern(v, "b.dsk", 32));
    vmfs_volume_close(v);
    g_unlink(path);
    g_free(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("vmkemu-vmfs-XXXXXX", NULL);
    g_test_add_func("/block/vmfs/format", test_format_and_info);
    g_test_add_func("/block/vmfs/files", test_files);
    g_test_add_func("/block/vmfs/fragmentation", test_fragmentation);
    g_test_add_func("/block/vmfs/plain-growth", test_plain_growth);
    g_test_add_func("/block/vmfs/two-openers", test_two_openers);
    g_test_add_func("/block/vmfs/fsck-damage", test_fsck_finds_damage);
    g_test_add_func("/block/vmfs/crash/create", test_crash_create);
    g_test_add_func("/block/vmfs/crash/import", test_crash_import);
    g_test_add_func("/block/vmfs/crash/remove", test_crash_remove);
    g_test_add_func("/block/vmfs/crash/setfsname", test_crash_setname);
    g_test_add_func("/block/vmfs/crash/createfs", test_crash_reformat);
    g_test_add_func("/block/vmfs/interrupted-create", test_interrupted_create);
    g_test_add_func("/block/vmfs/remove-discards", test_remove_discards);
    int r = g_test_run();
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return r;
}
