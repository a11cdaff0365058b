/*
 * Copying disks (block/copy.c): the read-ahead reader walks a source in
 * order, skips what block status calls zero without reading it, widens
 * runs to the alignment, keeps data reads inside chunk boundaries, asks
 * readahead only for data, reports read and status errors, and can be
 * stopped early; blk_node_copy writes only blocks that are not zero (and
 * everything without skip_zero), threaded or not.  The source is a test
 * driver defined here, whose layout and failures the tests choose.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "block.h"
#include "../../block/block-int.h"

#define KB 1024u
#define MB (1024u * 1024u)
#define MAP_BLOCK 4096u

/* ------------------------------------------------------------------------
 * The `fake` source: data where the map says so, a pattern of bytes that
 * depends on the offset; status from the map, in MAP_BLOCK units.
 * ------------------------------------------------------------------------ */

typedef struct FakeState {
    uint64_t size;
    bool *is_data;             /* per MAP_BLOCK: status says data */
    bool *is_zero_data;        /* per MAP_BLOCK: data that reads as zero */
    uint64_t fail_read_at;     /* a read covering this byte fails */
    uint64_t fail_status_at;   /* status at or after this byte fails */
    gint bytes_read;
    GMutex lock;
    GArray *hints;             /* uint64_t pairs: prefetch off, len */
} FakeState;

static uint8_t fake_byte(uint64_t off)
{
    return (uint8_t)(((off * 131) >> 3) ^ (off >> 13) ^ 0x5a) | 1;
}

static int fake_pread(BlockNode *bs, uint64_t off, void *buf, size_t len)
{
    FakeState *s = bs->opaque;
    if (s->fail_read_at >= off && s->fail_read_at < off + len) {
        return -EIO;
    }
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        uint64_t b = (off + i) / MAP_BLOCK;
        p[i] = s->is_data[b] && !s->is_zero_data[b] ? fake_byte(off + i) : 0;
    }
    g_atomic_int_add(&s->bytes_read, (gint)len);
    return 0;
}

static int64_t fake_get_size(BlockNode *bs)
{
    return (int64_t)((FakeState *)bs->opaque)->size;
}

static int fake_block_status(BlockNode *bs, uint64_t off, uint64_t len,
                             uint64_t *pnum)
{
    FakeState *s = bs->opaque;
    if (off >= s->fail_status_at) {
        return -EIO;
    }
    bool data = s->is_data[off / MAP_BLOCK];
    uint64_t end = off;
    while (end < off + len && s->is_data[end / MAP_BLOCK] == data) {
        end = (end / MAP_BLOCK + 1) * MAP_BLOCK;
    }
    *pnum = MIN(end, off + len) - off;
    return data ? BLK_STATUS_DATA | BLK_STATUS_ALLOCATED : BLK_STATUS_ZERO;
}

static int fake_prefetch(BlockNode *bs, uint64_t off, uint64_t len)
{
    FakeState *s = bs->opaque;
    g_mutex_lock(&s->lock);
    g_array_append_val(s->hints, off);
    g_array_append_val(s->hints, len);
    g_mutex_unlock(&s->lock);
    return 0;
}

static void fake_close(BlockNode *bs)
{
    FakeState *s = bs->opaque;
    g_free(s->is_data);
    g_free(s->is_zero_data);
    g_array_free(s->hints, TRUE);
    g_mutex_clear(&s->lock);
    g_free(s);
}

static const BlockDriver fake_driver = {
    .name = "fake",
    .close = fake_close,
    .pread = fake_pread,
    .get_size = fake_get_size,
    .block_status = fake_block_status,
    .prefetch = fake_prefetch,
};

/* Data in [off, off + len) (whole MAP_BLOCKs). */
static void fake_data(BlockNode *bs, uint64_t off, uint64_t len)
{
    FakeState *s = bs->opaque;
    for (uint64_t b = off / MAP_BLOCK; b < (off + len) / MAP_BLOCK; b++) {
        s->is_data[b] = true;
    }
}

static void fake_zero_data(BlockNode *bs, uint64_t off, uint64_t len)
{
    FakeState *s = bs->opaque;
    fake_data(bs, off, len);
    for (uint64_t b = off / MAP_BLOCK; b < (off + len) / MAP_BLOCK; b++) {
        s->is_zero_data[b] = true;
    }
}

static BlockNode *fake_open(uint64_t size)
{
    g_assert_cmpuint(size % MAP_BLOCK, ==, 0);
    BlockNode *bs = blk_node_new(&fake_driver, "fake-src", 0);
    FakeState *s = g_new0(FakeState, 1);
    s->size = size;
    s->is_data = g_new0(bool, size / MAP_BLOCK + 1);
    s->is_zero_data = g_new0(bool, size / MAP_BLOCK + 1);
    s->fail_read_at = UINT64_MAX;
    s->fail_status_at = UINT64_MAX;
    s->hints = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    g_mutex_init(&s->lock);
    bs->opaque = s;
    return bs;
}

/* A layout with short and long runs, an unaligned data block, allocated
 * zeroes, and data touching the end. */
static BlockNode *sample_source(uint64_t *psize)
{
    const uint64_t size = 24 * MB;
    BlockNode *bs = fake_open(size);
    fake_data(bs, 1 * MB, 100 * KB);                 /* inside one chunk */
    fake_data(bs, 3 * MB + 8 * KB, 4 * KB);          /* one 4 KiB block */
    fake_data(bs, 5 * MB + 4 * KB, 4 * MB - 4 * KB);  /* across chunks */
    fake_zero_data(bs, 12 * MB, 256 * KB);           /* stored zeroes */
    fake_data(bs, 12 * MB + 256 * KB, 64 * KB);
    fake_data(bs, 20 * MB, 4 * MB);                  /* to the end */
    *psize = size;
    return bs;
}

static bool range_is_data(BlockNode *bs, uint64_t off, uint64_t len)
{
    FakeState *s = bs->opaque;
    for (uint64_t b = off / MAP_BLOCK; b * MAP_BLOCK < off + len; b++) {
        if (s->is_data[b]) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------
 * Reader
 * ------------------------------------------------------------------------ */

static void check_walk(int flags, uint64_t align)
{
    uint64_t size;
    BlockNode *src = sample_source(&size);
    FakeState *s = src->opaque;
    const size_t chunk = 2 * MB;
    BlkReader *rd = blk_reader_new(src, 0, size, chunk, align, flags);
    uint64_t at = 0, data_bytes = 0;
    const BlkChunk *c;
    uint8_t *want = g_malloc(chunk);
    while ((c = blk_reader_next(rd)) != NULL) {
        g_assert_cmpint(c->err, ==, 0);
        g_assert_cmpuint(c->off, ==, at);          /* in order, no gaps */
        g_assert_cmpuint(c->len, >, 0);
        if (c->zero) {
            /* Whole aligned blocks of a hole, never read. */
            g_assert_null(c->buf);
            g_assert_false(range_is_data(src, c->off, c->len));
            g_assert_cmpuint(c->off % align, ==, 0);
            g_assert_true((c->off + c->len) % align == 0 ||
                          c->off + c->len == size);
        } else {
            g_assert_nonnull(c->buf);
            g_assert_cmpuint(c->len, <=, chunk);
            /* Does not cross a multiple of the chunk size. */
            g_assert_cmpuint(c->off / chunk, ==, (c->off + c->len - 1) / chunk);
            g_assert_cmpint(fake_pread(src, c->off, want, c->len), ==, 0);
            g_assert_cmpmem(c->buf, c->len, want, c->len);
            data_bytes += c->len;
        }
        at = c->off + c->len;
        blk_reader_release(rd, c);
    }
    g_assert_cmpuint(at, ==, size);
    g_assert_null(blk_reader_next(rd));
    blk_reader_free(rd);
    /* Holes were skipped: only about the data was read. */
    g_assert_cmpuint(data_bytes, <, 10 * MB);
    g_assert_cmpuint(data_bytes, >=, 8 * MB + 420 * KB);
    /* Readahead was asked for data only, in order, ahead of the reads. */
    uint64_t hinted = 0, last_end = 0;
    for (guint i = 0; i + 1 < s->hints->len; i += 2) {
        uint64_t off = g_array_index(s->hints, uint64_t, i);
        uint64_t len = g_array_index(s->hints, uint64_t, i + 1);
        g_assert_cmpuint(off, >=, last_end);
        g_assert_true(range_is_data(src, off, len));
        last_end = off + len;
        hinted += len;
    }
    g_assert_cmpuint(hinted, >, 0);
    g_assert_cmpuint(hinted, <=, data_bytes);
    g_free(want);
    blk_node_close(src);
}

static void test_reader_walk(void)
{
    check_walk(0, 4 * KB);
    check_walk(BLK_READER_THREAD, 4 * KB);
    check_walk(0, 64 * KB);
    check_walk(BLK_READER_THREAD, 64 * KB);
}

static void test_reader_all_data(void)
{
    uint64_t size;
    BlockNode *src = sample_source(&size);
    BlkReader *rd = blk_reader_new(src, 0, size, 2 * MB, 4 * KB,
                                   BLK_READER_ALL_DATA | BLK_READER_THREAD);
    const BlkChunk *c;
    uint64_t n = 0;
    while ((c = blk_reader_next(rd)) != NULL) {
        g_assert_false(c->zero);
        g_assert_cmpuint(c->len, ==, 2 * MB);
        n += c->len;
        blk_reader_release(rd, c);
    }
    g_assert_cmpuint(n, ==, size);
    blk_reader_free(rd);
    blk_node_close(src);
}

/* A window that starts and ends inside runs. */
static void test_reader_window(void)
{
    uint64_t size;
    BlockNode *src = sample_source(&size);
    BlkReader *rd = blk_reader_new(src, 5 * MB + 64 * KB, 13 * MB, 1 * MB,
                                   64 * KB, BLK_READER_THREAD);
    const BlkChunk *c;
    uint64_t at = 5 * MB + 64 * KB;
    while ((c = blk_reader_next(rd)) != NULL) {
        g_assert_cmpuint(c->off, ==, at);
        at += c->len;
        blk_reader_release(rd, c);
    }
    g_assert_cmpuint(at, ==, 13 * MB);
    blk_reader_free(rd);
    blk_node_close(src);
}

static void test_reader_errors(void)
{
    for (int threaded = 0; threaded < 2; threaded++) {
        for (int kind = 0; kind < 2; kind++) {
            uint64_t size;
            BlockNode *src = sample_source(&size);
            FakeState *s = src->opaque;
            if (kind == 0) {
                s->fail_read_at = 6 * MB + 5;
            } else {
                s->fail_status_at = 11 * MB;
            }
            BlkReader *rd = blk_reader_new(src, 0, size, 2 * MB, 4 * KB,
                                           threaded ? BLK_READER_THREAD : 0);
            const BlkChunk *c;
            int err = 0;
            uint64_t err_off = 0;
            while ((c = blk_reader_next(rd)) != NULL) {
                if (c->err) {
                    err = c->err;
                    err_off = c->off;
                }
                blk_reader_release(rd, c);
            }
            g_assert_cmpint(err, ==, -EIO);
            /* The failing piece is the one holding the bad byte, or the
             * first run whose status failed. */
            if (kind == 0) {
                g_assert_cmpuint(err_off, ==, 6 * MB);
            } else {
                g_assert_cmpuint(err_off, >=, 11 * MB);
                g_assert_cmpuint(err_off, <=, 12 * MB);
            }
            blk_reader_free(rd);
            blk_node_close(src);
        }
    }
}

/* The consumer gives up after a piece or two: the reader thread stops. */
static void test_reader_early_stop(void)
{
    for (int taken = 0; taken < 4; taken++) {
        BlockNode *src = fake_open(64 * MB);
        fake_data(src, 0, 64 * MB);
        FakeState *s = src->opaque;
        BlkReader *rd = blk_reader_new(src, 0, 64 * MB, 1 * MB, 4 * KB,
                                       BLK_READER_THREAD);
        for (int i = 0; i < taken; i++) {
            const BlkChunk *c = blk_reader_next(rd);
            g_assert_nonnull(c);
            blk_reader_release(rd, c);
        }
        blk_reader_free(rd);
        /* It read at most a few buffers beyond what was taken. */
        g_assert_cmpint(g_atomic_int_get(&s->bytes_read), <=,
                        (taken + 8) * (int)MB);
        blk_node_close(src);
    }
}

/* ------------------------------------------------------------------------
 * blk_node_copy
 * ------------------------------------------------------------------------ */

typedef struct ProgressLog {
    uint64_t last, total;
    int calls;
} ProgressLog;

static void progress_log(void *opaque, uint64_t done, uint64_t total)
{
    ProgressLog *p = opaque;
    g_assert_cmpuint(done, >=, p->last);
    g_assert_cmpuint(done, <=, total);
    p->last = done;
    p->total = total;
    p->calls++;
}

static void test_copy_skips_zeroes(void)
{
    uint64_t size;
    BlockNode *src = sample_source(&size);
    uint8_t *want = g_malloc(size);
    g_assert_cmpint(blk_node_pread(src, 0, want, size), ==, 0);
    for (int skip = 0; skip < 2; skip++) {
        /* A destination full of 0xaa shows what was not written. */
        uint8_t *marked = g_malloc(size);
        memset(marked, 0xaa, size);
        BlockNode *dst = blk_mem_open(marked, size, BLK_O_RDWR);
        g_free(marked);
        ProgressLog pl = { 0 };
        GError *err = NULL;
        g_assert_cmpint(blk_node_copy(src, dst, skip, progress_log, &pl,
                                      &err), ==, 0);
        g_assert_no_error(err);
        g_assert_cmpuint(pl.last, ==, size);
        g_assert_cmpint(pl.calls, >, 1);
        uint64_t dsize;
        const uint8_t *got = blk_mem_data(dst, &dsize);
        g_assert_cmpuint(dsize, ==, size);
        for (uint64_t b = 0; b < size; b += MAP_BLOCK) {
            bool zero = blk_buffer_is_zero(want + b, MAP_BLOCK);
            if (skip && zero) {
                /* Holes and stored zeroes alike: not written. */
                for (uint64_t i = 0; i < MAP_BLOCK; i++) {
                    g_assert_cmpint(got[b + i], ==, 0xaa);
                }
            } else {
                g_assert_cmpmem(got + b, MAP_BLOCK, want + b, MAP_BLOCK);
            }
        }
        blk_node_close(dst);
    }
    g_free(want);
    blk_node_close(src);
}

static void test_copy_errors(void)
{
    uint64_t size;
    BlockNode *src = sample_source(&size);
    ((FakeState *)src->opaque)->fail_read_at = 20 * MB + 123;
    BlockNode *dst = blk_mem_open(NULL, size, BLK_O_RDWR);
    GError *err = NULL;
    g_assert_cmpint(blk_node_copy(src, dst, true, NULL, NULL, &err), ==, -EIO);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "fake-src"));
    g_clear_error(&err);
    blk_node_close(dst);
    /* A read-only destination: the write error names it. */
    ((FakeState *)src->opaque)->fail_read_at = UINT64_MAX;
    dst = blk_mem_open(NULL, size, 0);
    g_free(dst->filename);
    dst->filename = g_strdup("ro-dst");
    g_assert_cmpint(blk_node_copy(src, dst, true, NULL, NULL, &err), ==,
                    -EROFS);
    g_assert_nonnull(strstr(err->message, "ro-dst"));
    g_clear_error(&err);
    blk_node_close(dst);
    blk_node_close(src);
}

/* A small copy runs without the reader thread; same result. */
static void test_copy_small(void)
{
    BlockNode *src = fake_open(64 * KB);
    fake_data(src, 8 * KB, 8 * KB);
    BlockNode *dst = blk_mem_open(NULL, 64 * KB, BLK_O_RDWR);
    g_assert_cmpint(blk_node_copy(src, dst, true, NULL, NULL, NULL), ==, 0);
    uint8_t want[64 * KB];
    g_assert_cmpint(blk_node_pread(src, 0, want, sizeof(want)), ==, 0);
    g_assert_cmpmem(blk_mem_data(dst, NULL), sizeof(want), want,
                    sizeof(want));
    blk_node_close(dst);
    blk_node_close(src);
}

static void test_buffer_is_zero(void)
{
    uint8_t buf[300];
    for (size_t len = 0; len <= sizeof(buf); len++) {
        memset(buf, 0, sizeof(buf));
        g_assert_true(blk_buffer_is_zero(buf, len));
        for (size_t i = 0; i < len; i++) {
            buf[i] = 0x10;
            g_assert_false(blk_buffer_is_zero(buf, len));
            buf[i] = 0;
        }
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block/copy/reader-walk", test_reader_walk);
    g_test_add_func("/block/copy/reader-all-data", test_reader_all_data);
    g_test_add_func("/block/copy/reader-window", test_reader_window);
    g_test_add_func("/block/copy/reader-errors", test_reader_errors);
    g_test_add_func("/block/copy/reader-early-stop", test_reader_early_stop);
    g_test_add_func("/block/copy/skip-zeroes", test_copy_skips_zeroes);
    g_test_add_func("/block/copy/errors", test_copy_errors);
    g_test_add_func("/block/copy/small", test_copy_small);
    g_test_add_func("/block/copy/buffer-is-zero", test_buffer_is_zero);
    return g_test_run();
}
