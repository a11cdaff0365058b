/*
 * The REDO driver (block/redo.c, docs/redo-format.md): copy-on-write over a
 * base, partial grains, block status, persistence, the in-use flag, commit,
 * and power-loss simulation of guest writes and of a commit, with the base
 * and the log on one simulated disk (slices of it, or a VMFS holding both)
 * so that every crash point is one moment for both.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "block.h"

#define KB 1024u
#define MB (1024u * 1024u)

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)((i * 37 + seed * 101 + (i >> 10) * 3) & 0xff);
    }
}

static BlockNode *pattern_mem(uint64_t size, uint32_t seed, int flags)
{
    uint8_t *d = g_malloc(size);
    fill_pattern(d, size, seed);
    BlockNode *bs = blk_mem_open(d, size, flags);
    g_free(d);
    return bs;
}

/* Open a REDO over shares of base and log (which stay with the caller). */
static BlockNode *redo_over(BlockNode *log, BlockNode *base, int flags,
                            GError **errp)
{
    return blk_redo_open(blk_mem_share(log, BLK_O_RDWR | BLK_O_GROWABLE),
                         blk_mem_share(base, 0), flags, errp);
}

static void test_cow_basics(void)
{
    const uint64_t size = 64 * KB + 1536;     /* last grain partial */
    BlockNode *base = pattern_mem(size, 1, 0);
    uint8_t *orig = g_memdup2(blk_mem_data(base, NULL), size);
    BlockNode *log = blk_mem_open(NULL, 0, BLK_O_RDWR | BLK_O_GROWABLE);
    GError *err = NULL;
    g_assert_cmpint(blk_redo_format(log, size, 4 * KB, &err), ==, 0);
    BlockNode *r = redo_over(log, base, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_size(r), ==, size);
    uint8_t *buf = g_malloc(size);
    g_assert_cmpint(blk_node_pread(r, 0, buf, size), ==, 0);
    g_assert_cmpmem(buf, size, orig, size);

    uint8_t w[9000];
    memset(w, 0xab, sizeof(w));
    /* 100 bytes in the middle of a grain; across three grains; the
     * partial last grain; past the end. */
    g_assert_cmpint(blk_node_pwrite(r, 5000, w, 100), ==, 0);
    g_assert_cmpint(blk_node_pwrite(r, 10 * KB + 7, w, 9000), ==, 0);
    g_assert_cmpint(blk_node_pwrite(r, size - 700, w, 700), ==, 0);
    g_assert_cmpint(blk_node_pwrite(r, size - 100, w, 200), ==, -EINVAL);

    uint8_t *want = g_memdup2(orig, size);
    memset(want + 5000, 0xab, 100);
    memset(want + 10 * KB + 7, 0xab, 9000);
    memset(want + size - 700, 0xab, 700);
    g_assert_cmpint(blk_node_pread(r, 0, buf, size), ==, 0);
    g_assert_cmpmem(buf, size, want, size);
    g_assert_cmpmem(blk_mem_data(base, NULL), size, orig, size);

    RedoInfo ri;
    g_assert_cmpint(blk_redo_get_info(r, &ri), ==, 0);
    g_assert_cmpuint(ri.allocated_grains, ==, 1 + 3 + 1);
    g_assert_cmpuint(ri.grain_size, ==, 4 * KB);

    uint64_t pnum;
    int st = blk_node_block_status(r, 0, size, &pnum);
    g_assert_false(st & BLK_STATUS_ALLOCATED);
    g_assert_cmpuint(pnum, ==, 4 * KB);
    /* Grains 1 to 4 are in the log. */
    st = blk_node_block_status(r, 4 * KB, size - 4 * KB, &pnum);
    g_assert_true(st & BLK_STATUS_ALLOCATED);
    g_assert_cmpuint(pnum, ==, 16 * KB);
    st = blk_node_block_status(r, 10 * KB, 40 * KB, &pnum);
    g_assert_true(st & BLK_STATUS_ALLOCATED);
    g_assert_cmpuint(pnum, ==, 10 * KB);
    blk_node_close(r);

    /* Reopened read-only: the same, and the in-use flag is clear. */
    r = redo_over(log, base, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_redo_get_info(r, &ri), ==, 0);
    g_assert_cmpuint(ri.flags, ==, 0);
    g_assert_cmpuint(ri.allocated_grains, ==, 5);
    g_assert_cmpint(blk_node_pread(r, 0, buf, size), ==, 0);
    g_assert_cmpmem(buf, size, want, size);
    g_assert_cmpint(blk_node_pwrite(r, 0, w, 1), ==, -EROFS);
    blk_node_close(r);

    /* A base of another size is refused. */
    BlockNode *other = blk_mem_open(NULL, size + 512, 0);
    r = blk_redo_open(blk_mem_share(log, 0), other, 0, &err);
    g_assert_null(r);
    g_assert_nonnull(strstr(err->message, "REDO log is for a disk of"));
    g_clear_error(&err);
    /* Not a REDO log at all. */
    r = blk_redo_open(blk_mem_share(base, 0), blk_mem_share(base, 0), 0, &err);
    g_assert_null(r);
    g_assert_nonnull(strstr(err->message, "not a REDO log"));
    g_clear_error(&err);

    blk_node_close(log);
    blk_node_close(base);
    g_free(buf);
    g_free(want);
    g_free(orig);
}

/* Random writes against a shadow copy, closing and reopening between
 * rounds, then a commit. */
static void test_random_model_and_commit(void)
{
    const uint64_t size = 256 * KB;
    GRand *rng = g_rand_new_with_seed(42);
    BlockNode *base = pattern_mem(size, 2, BLK_O_RDWR);
    uint8_t *orig = g_memdup2(blk_mem_data(base, NULL), size);
    uint8_t *shadow = g_memdup2(orig, size);
    BlockNode *log = blk_mem_open(NULL, 0, BLK_O_RDWR | BLK_O_GROWABLE);
    GError *err = NULL;
    g_assert_cmpint(blk_redo_format(log, size, 2 * KB, &err), ==, 0);
    uint8_t *buf = g_malloc(size);
    for (int round = 0; round < 5; round++) {
        BlockNode *r = redo_over(log, base, BLK_O_RDWR, &err);
        g_assert_no_error(err);
        g_assert_cmpint(blk_node_pread(r, 0, buf, size), ==, 0);
        g_assert_cmpmem(buf, size, shadow, size);
        for (int i = 0; i < 60; i++) {
            uint64_t off = g_rand_int_range(rng, 0, (int)size - 1);
            uint64_t len = (uint64_t)g_rand_int_range(rng, 1, 9000);
            len = MIN(len, size - off);
            uint8_t *w = g_malloc(len);
            fill_pattern(w, len, (uint32_t)(round * 100 + i));
            g_assert_cmpint(blk_node_pwrite(r, off, w, len), ==, 0);
            memcpy(shadow + off, w, len);
            g_free(w);
            if (i % 17 == 0) {
                g_assert_cmpint(blk_node_flush(r), ==, 0);
            }
        }
        g_assert_cmpint(blk_node_pread(r, 0, buf, size), ==, 0);
        g_assert_cmpmem(buf, size, shadow, size);
        blk_node_close(r);
        g_assert_cmpmem(blk_mem_data(base, NULL), size, orig, size);
    }
    /* Commit: the base becomes what the REDO showed. */
    BlockNode *r = blk_redo_open(blk_mem_share(log, BLK_O_RDWR |
                                               BLK_O_GROWABLE),
                                 blk_mem_share(base, BLK_O_RDWR), BLK_O_RDWR,
                                 &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_redo_commit(r, NULL, NULL, &err), ==, 0);
    g_assert_no_error(err);
    blk_node_close(r);
    g_assert_cmpmem(blk_mem_data(base, NULL), size, shadow, size);
    RedoInfo ri;
    g_assert_cmpint(blk_redo_read_info(log, &ri, NULL), ==, 0);
    g_assert_true(ri.flags & REDO_FLAG_COMMITTING);
    g_assert_false(ri.flags & REDO_FLAG_IN_USE);
    /* Commit needs a writable base. */
    r = redo_over(log, base, BLK_O_RDWR, &err);
    g_assert_cmpint(blk_redo_commit(r, NULL, NULL, &err), ==, -EROFS);
    g_clear_error(&err);
    blk_node_close(r);
    blk_node_close(log);
    blk_node_close(base);
    g_free(buf);
    g_free(shadow);
    g_free(orig);
    g_rand_free(rng);
}

/* A log still open for writing carries the in-use flag on disk. */
static void test_in_use_flag(void)
{
    BlockNode *base = pattern_mem(64 * KB, 3, 0);
    BlockNode *log = blk_mem_open(NULL, 0, BLK_O_RDWR | BLK_O_GROWABLE);
    g_assert_cmpint(blk_redo_format(log, 64 * KB, 0, NULL), ==, 0);
    RedoInfo ri;
    g_assert_cmpint(blk_redo_read_info(log, &ri, NULL), ==, 0);
    g_assert_cmpuint(ri.grain_size, ==, REDO_DEFAULT_GRAIN_SIZE);
    GError *err = NULL;
    BlockNode *r = redo_over(log, base, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    /* What a crash now would leave: */
    uint64_t lsize;
    uint8_t *ldata = blk_mem_data(log, &lsize);
    BlockNode *snap = blk_mem_open(ldata, lsize, 0);
    g_assert_cmpint(blk_redo_read_info(snap, &ri, NULL), ==, 0);
    g_assert_true(ri.flags & REDO_FLAG_IN_USE);
    BlockNode *r2 = blk_redo_open(snap, blk_mem_share(base, 0), 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_redo_get_info(r2, &ri), ==, 0);
    g_assert_true(ri.flags & REDO_FLAG_IN_USE);
    blk_node_close(r2);
    blk_node_close(r);
    g_assert_cmpint(blk_redo_read_info(log, &ri, NULL), ==, 0);
    g_assert_false(ri.flags & REDO_FLAG_IN_USE);
    blk_node_close(log);
    blk_node_close(base);
}

/* ------------------------------------------------------------------------
 * Power loss: base and log as two slices of one journaled disk
 * ------------------------------------------------------------------------ */

#define PL_BASE   (96 * KB)
#define PL_LOGMAX (256 * KB)
#define PL_GRAIN  (4 * KB)

typedef struct PlWrite {
    uint64_t off, len;
    uint32_t seed;
    size_t durable_after;    /* journal length when its flush returned */
} PlWrite;

static BlockNode *pl_slice(BlockNode *disk, uint64_t off, uint64_t len,
                           int flags)
{
    return blk_slice_open(blk_mem_share(disk, flags), off, len, "slice", NULL);
}

/* Sector by sector: each one reads as the base or as its write, and a
 * write that a completed flush covered is there. */
static void pl_check_content(const uint8_t *got, const uint8_t *base,
                             const PlWrite *w, int nw, size_t point,
                             bool all_durable)
{
    uint8_t *want = g_malloc(PL_BASE);
    uint8_t *mask = g_malloc0(PL_BASE);  /* 1: must be new; 2: may be */
    memcpy(want, base, PL_BASE);
    for (int i = 0; i < nw; i++) {
        fill_pattern(want + w[i].off, w[i].len, w[i].seed);
        memset(mask + w[i].off,
               (all_durable || point >= w[i].durable_after) ? 1 : 2,
               w[i].len);
    }
    for (uint64_t s = 0; s < PL_BASE; s += 512) {
        bool is_new = memcmp(got + s, want + s, 512) == 0;
        bool is_old = memcmp(got + s, base + s, 512) == 0;
        bool need_new = false;
        for (uint64_t b = s; b < s + 512; b++) {
            need_new |= mask[b] == 1;
        }
        if (!(is_new || (is_old && !need_new))) {
            g_test_message("point %zu: sector %" PRIu64 " is %s", point,
                           s / 512, is_old ? "old but was flushed" :
                           "neither old nor new");
            g_assert_not_reached();
        }
    }
    g_free(want);
    g_free(mask);
}

static void test_power_loss_writes(void)
{
    /* Disk: [base | log].  Writes in distinct sector-aligned ranges, some
     * grain-unaligned, flushes in between. */
    BlockNode *disk = blk_mem_open(NULL, PL_BASE + PL_LOGMAX, BLK_O_RDWR);
    uint8_t *base_img = g_malloc(PL_BASE);
    fill_pattern(base_img, PL_BASE, 5);
    memcpy(blk_mem_data(disk, NULL), base_img, PL_BASE);
    BlockNode *logsl = pl_slice(disk, PL_BASE, PL_LOGMAX, BLK_O_RDWR);
    g_assert_cmpint(blk_redo_format(logsl, PL_BASE, PL_GRAIN, NULL), ==, 0);
    blk_node_close(logsl);

    blk_mem_journal_start(disk);
    GError *err = NULL;
    BlockNode *r = blk_redo_open(pl_slice(disk, PL_BASE, PL_LOGMAX,
                                          BLK_O_RDWR),
                                 pl_slice(disk, 0, PL_BASE, 0), BLK_O_RDWR,
                                 &err);
    g_assert_no_error(err);
    PlWrite w[] = {
        { 512, 1024, 21, 0 }, { 8 * KB, 4 * KB, 22, 0 },
        { 20 * KB + 1536, 7 * KB, 23, 0 }, { 40 * KB, 512, 24, 0 },
        { 60 * KB - 512, 2048, 25, 0 }, { 90 * KB, 6 * KB, 26, 0 },
    };
    int nw = G_N_ELEMENTS(w);
    for (int i = 0; i < nw; i++) {
        uint8_t *d = g_malloc(w[i].len);
        fill_pattern(d, w[i].len, w[i].seed);
        g_assert_cmpint(blk_node_pwrite(r, w[i].off, d, w[i].len), ==, 0);
        g_free(d);
        w[i].durable_after = (size_t)-1;
        if (i % 2 == 1) {
            g_assert_cmpint(blk_node_flush(r), ==, 0);
            size_t now = blk_mem_journal_length(disk);
            for (int k = 0; k <= i; k++) {
                w[k].durable_after = MIN(w[k].durable_after, now);
            }
        }
    }
    blk_node_close(r);
    size_t n = blk_mem_journal_length(disk);
    GRand *rng = g_rand_new_with_seed(7);
    uint8_t *got = g_malloc(PL_BASE);
    for (size_t p = 0; p <= n; p++) {
        for (int variant = 0; variant < 4; variant++) {
            uint64_t size;
            uint8_t *img = blk_mem_crash_image(disk, p, variant ? rng : NULL,
                                               &size);
            BlockNode *d2 = blk_mem_open(img, size, BLK_O_RDWR);
            g_free(img);
            /* The base itself is never written by guest writes. */
            g_assert_cmpmem(blk_mem_data(d2, NULL), PL_BASE, base_img,
                            PL_BASE);
            BlockNode *r2 = blk_redo_open(pl_slice(d2, PL_BASE, PL_LOGMAX, 0),
                                          pl_slice(d2, 0, PL_BASE, 0), 0,
                                          &err);
            g_assert_no_error(err);
            g_assert_cmpint(blk_node_pread(r2, 0, got, PL_BASE), ==, 0);
            pl_check_content(got, base_img, w, nw, p, false);
            blk_node_close(r2);
            blk_node_close(d2);
        }
    }
    g_test_message("guest writes: %zu journal points", n);
    g_free(got);
    g_free(base_img);
    g_rand_free(rng);
    blk_node_close(disk);
}

static void test_power_loss_commit(void)
{
    BlockNode *disk = blk_mem_open(NULL, PL_BASE + PL_LOGMAX, BLK_O_RDWR);
    uint8_t *base_img = g_malloc(PL_BASE);
    fill_pattern(base_img, PL_BASE, 6);
    memcpy(blk_mem_data(disk, NULL), base_img, PL_BASE);
    BlockNode *logsl = pl_slice(disk, PL_BASE, PL_LOGMAX, BLK_O_RDWR);
    g_assert_cmpint(blk_redo_format(logsl, PL_BASE, PL_GRAIN, NULL), ==, 0);
    blk_node_close(logsl);
    GError *err = NULL;
    BlockNode *r = blk_redo_open(pl_slice(disk, PL_BASE, PL_LOGMAX,
                                          BLK_O_RDWR),
                                 pl_slice(disk, 0, PL_BASE, 0), BLK_O_RDWR,
                                 &err);
    PlWrite w[] = {
        { 0, 3 * KB, 31, 0 }, { 12 * KB + 512, 9 * KB, 32, 0 },
        { 50 * KB, 1 * KB, 33, 0 }, { 95 * KB, 1 * KB, 34, 0 },
    };
    int nw = G_N_ELEMENTS(w);
    for (int i = 0; i < nw; i++) {
        uint8_t *d = g_malloc(w[i].len);
        fill_pattern(d, w[i].len, w[i].seed);
        g_assert_cmpint(blk_node_pwrite(r, w[i].off, d, w[i].len), ==, 0);
        g_free(d);
        w[i].durable_after = (size_t)-1;   /* for the base: old or new */
    }
    blk_node_close(r);

    /* The commit, journaled. */
    blk_mem_journal_start(disk);
    r = blk_redo_open(pl_slice(disk, PL_BASE, PL_LOGMAX, BLK_O_RDWR),
                      pl_slice(disk, 0, PL_BASE, BLK_O_RDWR), BLK_O_RDWR,
                      &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_redo_commit(r, NULL, NULL, &err), ==, 0);
    blk_node_close(r);
    size_t n = blk_mem_journal_length(disk);
    GRand *rng = g_rand_new_with_seed(8);
    uint8_t *got = g_malloc(PL_BASE);
    for (size_t p = 0; p <= n; p++) {
        for (int variant = 0; variant < 4; variant++) {
            uint64_t size;
            uint8_t *img = blk_mem_crash_image(disk, p, variant ? rng : NULL,
                                               &size);
            BlockNode *d2 = blk_mem_open(img, size, BLK_O_RDWR);
            g_free(img);
            /* Base + log reads the same at every point... */
            BlockNode *r2 = blk_redo_open(pl_slice(d2, PL_BASE, PL_LOGMAX,
                                                   BLK_O_RDWR),
                                          pl_slice(d2, 0, PL_BASE,
                                                   BLK_O_RDWR),
                                          BLK_O_RDWR, &err);
            g_assert_no_error(err);
            g_assert_cmpint(blk_node_pread(r2, 0, got, PL_BASE), ==, 0);
            pl_check_content(got, base_img, w, nw, p, true);
            /* ... the base alone holds old or new sectors ... */
            pl_check_content(blk_mem_data(d2, NULL), base_img, w, nw, 0,
                             false);
            /* ... and committing again finishes the job. */
            g_assert_cmpint(blk_redo_commit(r2, NULL, NULL, &err), ==, 0);
            blk_node_close(r2);
            pl_check_content(blk_mem_data(d2, NULL), base_img, w, nw, p,
                             true);
            blk_node_close(d2);
        }
    }
    g_test_message("commit: %zu journal points", n);
    g_free(got);
    g_free(base_img);
    g_rand_free(rng);
    blk_node_close(disk);
}

/* A REDO log as a growing plain file in a VMFS, next to its disk, on one
 * journaled device: guest writes with flushes, then the commit and the
 * removal of the log. */
static void test_power_loss_vmfs(void)
{
    const uint64_t dsize = 64 * KB;
    BlockNode *dev = blk_mem_open(NULL, 2 * MB, BLK_O_RDWR);
    GError *err = NULL;
    g_assert_cmpint(vmfs_format(dev, 16 * KB, 8, "v", &err), ==, 0);
    VmfsVolume *v = vmfs_volume_open(blk_mem_share(dev, BLK_O_RDWR), true,
                                     &err);
    g_assert_no_error(err);
    g_assert_cmpint(vmfs_create(v, "d.dsk", VMFS_FILE_DISK, dsize, NULL, NULL,
                                &err), ==, 0);
    BlockNode *f = vmfs_file_open(v, "d.dsk", BLK_O_RDWR, &err);
    uint8_t *base_img = g_malloc(dsize);
    fill_pattern(base_img, dsize, 9);
    g_assert_cmpint(blk_node_pwrite(f, 0, base_img, dsize), ==, 0);
    blk_node_close(f);
    g_assert_cmpint(vmfs_create(v, "d.dsk.REDO", VMFS_FILE_PLAIN, 0, NULL,
                                NULL, &err), ==, 0);
    BlockNode *lf = vmfs_file_open(v, "d.dsk.REDO",
                                   BLK_O_RDWR | BLK_O_GROWABLE, &err);
    g_assert_cmpint(blk_redo_format(lf, dsize, 2 * KB, &err), ==, 0);
    blk_node_close(lf);

    blk_mem_journal_start(dev);
    BlockNode *r = blk_redo_open(vmfs_file_open(v, "d.dsk.REDO",
                                                BLK_O_RDWR | BLK_O_GROWABLE,
                                                NULL),
                                 vmfs_file_open(v, "d.dsk", 0, NULL),
                                 BLK_O_RDWR, &err);
    g_assert_no_error(err);
    PlWrite w[] = {
        { 0, 6 * KB, 41, 0 }, { 20 * KB, 20 * KB, 42, 0 },
        { 50 * KB, 512, 43, 0 }, { 60 * KB, 4 * KB, 44, 0 },
    };
    int nw = G_N_ELEMENTS(w);
    for (int i = 0; i < nw; i++) {
        uint8_t *d = g_malloc(w[i].len);
        fill_pattern(d, w[i].len, w[i].seed);
        g_assert_cmpint(blk_node_pwrite(r, w[i].off, d, w[i].len), ==, 0);
        g_free(d);
        g_assert_cmpint(blk_node_flush(r), ==, 0);
        w[i].durable_after = blk_mem_journal_length(dev);
    }
    blk_node_close(r);
    size_t n_writes = blk_mem_journal_length(dev);
    /* Commit and remove the log. */
    r = blk_redo_open(vmfs_file_open(v, "d.dsk.REDO",
                                     BLK_O_RDWR | BLK_O_GROWABLE, NULL),
                      vmfs_file_open(v, "d.dsk", BLK_O_RDWR, NULL),
                      BLK_O_RDWR, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_redo_commit(r, NULL, NULL, &err), ==, 0);
    blk_node_close(r);
    g_assert_cmpint(vmfs_remove(v, "d.dsk.REDO", &err), ==, 0);
    vmfs_volume_close(v);
    size_t n = blk_mem_journal_length(dev);

    GRand *rng = g_rand_new_with_seed(9);
    uint8_t *got = g_malloc(dsize);
    int with_log = 0, without_log = 0;
    for (size_t p = 0; p <= n; p++) {
        for (int variant = 0; variant < 3; variant++) {
            uint64_t size;
            uint8_t *img = blk_mem_crash_image(dev, p, variant ? rng : NULL,
                                               &size);
            BlockNode *d2 = blk_mem_open(img, size, BLK_O_RDWR);
            g_free(img);
            GString *rep = g_string_new(NULL);
            int fr = vmfs_fsck(d2, rep, &err);
            if (fr != 0) {
                g_test_message("point %zu: %s", p, rep->str);
            }
            g_assert_cmpint(fr, ==, 0);
            g_string_free(rep, TRUE);
            VmfsVolume *v2 = vmfs_volume_open(d2, true, &err);
            g_assert_no_error(err);
            VmfsFileInfo fi;
            BlockNode *b2 = vmfs_file_open(v2, "d.dsk", BLK_O_RDWR, &err);
            g_assert_no_error(err);
            if (vmfs_stat(v2, "d.dsk.REDO", &fi, NULL) == 0) {
                with_log++;
                BlockNode *r2 = blk_redo_open(
                    vmfs_file_open(v2, "d.dsk.REDO",
                                   BLK_O_RDWR | BLK_O_GROWABLE, NULL),
                    b2, BLK_O_RDWR, &err);
                g_assert_no_error(err);
                g_assert_cmpint(blk_node_pread(r2, 0, got, dsize), ==, 0);
                /* During the writes some may be missing; from the commit
                 * on, all of them are there. */
                bool ok = true;
                for (int i = 0; i < nw; i++) {
                    uint8_t *d = g_malloc(w[i].len);
                    fill_pattern(d, w[i].len, w[i].seed);
                    bool present = memcmp(got + w[i].off, d, w[i].len) == 0;
                    bool absent = memcmp(got + w[i].off,
                                         base_img + w[i].off, w[i].len) == 0;
                    if (p >= w[i].durable_after) {
                        ok &= present;
                    } else {
                        ok &= present || absent;
                    }
                    g_free(d);
                }
                if (!ok) {
                    g_test_message("vmfs point %zu: REDO content wrong", p);
                }
                g_assert_true(ok);
                blk_node_close(r2);
            } else {
                /* Log gone: only after a full commit. */
                without_log++;
                g_assert_cmpuint(p, >, n_writes);
                g_assert_cmpint(blk_node_pread(b2, 0, got, dsize), ==, 0);
                for (int i = 0; i < nw; i++) {
                    uint8_t *d = g_malloc(w[i].len);
                    fill_pattern(d, w[i].len, w[i].seed);
                    g_assert_cmpmem(got + w[i].off, w[i].len, d, w[i].len);
                    g_free(d);
                }
                blk_node_close(b2);
            }
            vmfs_volume_close(v2);
        }
    }
    g_assert_cmpint(with_log, >, 0);
    g_assert_cmpint(without_log, >, 0);
    g_test_message("REDO in VMFS: %zu journal points (%zu for the writes)", n,
                   n_writes);
    g_free(got);
    g_free(base_img);
    g_rand_free(rng);
    blk_node_close(dev);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block/redo/cow", test_cow_basics);
    g_test_add_func("/block/redo/random-model-commit",
                    test_random_model_and_commit);
    g_test_add_func("/block/redo/in-use-flag", test_in_use_flag);
    g_test_add_func("/block/redo/power-loss/writes", test_power_loss_writes);
    g_test_add_func("/block/redo/power-loss/commit", test_power_loss_commit);
    g_test_add_func("/block/redo/power-loss/vmfs", test_power_loss_vmfs);
    return g_test_run();
}
