/*
 * Copying disks: a read-ahead reader that walks a node in order, and
 * blk_node_copy on top of it.
 *
 * The reader asks block status once per run (never per grain), skips the
 * ranges that read as zeroes without reading them, and reads the rest in
 * large aligned chunks on its own thread, so that reading the source and
 * writing the destination overlap.  Consumers look at each chunk once:
 * zero detection happens in the buffer that was read, never by reading
 * again.  Writers that produce a lot of dirty data start its write-back
 * as they go (blk_node_start_writeback), so the flush that makes it
 * durable at the end finds little left to do; what is durable, and in
 * which order, is still decided by the flushes alone.
 *
 * Reference: Linux lseek(2) SEEK_DATA/SEEK_HOLE and sync_file_range(2),
 * through the drivers' block_status and start_writeback.
 */
#include <errno.h>
#include <string.h>
#include "block-int.h"

#define READER_BUFFERS 4

struct BlkReader {
    BlockNode *src;
    uint64_t pos, end;         /* reader thread: next offset to deliver */
    size_t chunk;
    uint64_t align;
    bool all_data;             /* no status: every byte is read */
    /* Status run being delivered (reader side). */
    uint64_t run_end;
    bool run_zero;
    GThread *thread;
    GAsyncQueue *full;         /* BlkChunk *, in disk order; ends with eof */
    GAsyncQueue *free;         /* uint8_t * buffers */
    uint8_t *bufs[READER_BUFFERS];
    gint stop;
    bool done;                 /* consumer saw the last chunk */
    BlkChunk sync_chunk;       /* unthreaded mode */
};

/* Next piece of the source, on the reader side: status as needed, then a
 * zero run (no buffer) or up to one chunk of data read into buf. */
static void reader_step(BlkReader *r, BlkChunk *c, uint8_t *buf)
{
    memset(c, 0, sizeof(*c));
    c->off = r->pos;
    if (r->pos >= r->end) {
        c->eof = true;
        return;
    }
    if (r->pos >= r->run_end && r->all_data) {
        r->run_zero = false;
        r->run_end = r->end;
    } else if (r->pos >= r->run_end) {
        uint64_t pnum;
        int st = blk_node_block_status(r->src, r->pos, r->end - r->pos,
                                       &pnum);
        if (st < 0) {
            c->err = st;
            return;
        }
        pnum = MAX(pnum, 1);
        uint64_t e = r->pos + MIN(pnum, r->end - r->pos);
        if (st & BLK_STATUS_ZERO) {
            /* Whole aligned blocks only: a zero run that does not cover
             * one is read with its neighbours. */
            uint64_t z = e == r->end ? e : e / r->align * r->align;
            if (z > r->pos) {
                r->run_zero = true;
                r->run_end = z;
            } else {
                r->run_zero = false;
                r->run_end = MIN(r->end, (r->pos / r->align + 1) * r->align);
            }
        } else {
            r->run_zero = false;
            r->run_end = MIN(r->end, round_up64(e, r->align));
        }
    }
    if (r->run_zero) {
        c->zero = true;
        c->len = r->run_end - r->pos;
        r->pos = r->run_end;
        return;
    }
    /* Data: up to the next chunk boundary, so reads stay aligned. */
    uint64_t stop = MIN(r->run_end, (r->pos / r->chunk + 1) * r->chunk);
    c->len = stop - r->pos;
    c->buf = buf;
    c->err = blk_node_pread(r->src, r->pos, buf, (size_t)c->len);
    r->pos = stop;
}

static gpointer reader_thread(gpointer opaque)
{
    BlkReader *r = opaque;
    for (;;) {
        BlkChunk *c = g_new(BlkChunk, 1);
        uint8_t *buf = NULL;
        if (g_atomic_int_get(&r->stop)) {
            memset(c, 0, sizeof(*c));
            c->eof = true;
        } else {
            /* A buffer only when the next piece may be data. */
            if (r->pos < r->end && (r->pos >= r->run_end || !r->run_zero)) {
                buf = g_async_queue_pop(r->free);
            }
            reader_step(r, c, buf);
            if (buf && !c->buf) {
                g_async_queue_push(r->free, buf);
            }
        }
        bool last = c->eof || c->err;
        g_async_queue_push(r->full, c);
        if (last) {
            return NULL;
        }
    }
}

BlkReader *blk_reader_new(BlockNode *src, uint64_t start, uint64_t end,
                          size_t chunk, uint64_t align, int flags)
{
    bool threaded = flags & BLK_READER_THREAD;
    BlkReader *r = g_new0(BlkReader, 1);
    r->src = src;
    r->all_data = flags & BLK_READER_ALL_DATA;
    r->pos = r->run_end = start;
    r->end = end;
    r->align = MAX(align, 1);
    r->chunk = (size_t)MAX(round_up64(chunk, r->align), r->align);
    int nbufs = threaded ? READER_BUFFERS : 1;
    for (int i = 0; i < nbufs; i++) {
        r->bufs[i] = g_malloc(r->chunk);
    }
    if (threaded && end > start) {
        r->full = g_async_queue_new();
        r->free = g_async_queue_new();
        for (int i = 0; i < nbufs; i++) {
            g_async_queue_push(r->free, r->bufs[i]);
        }
        r->thread = g_thread_new("blk-reader", reader_thread, r);
    }
    return r;
}

const BlkChunk *blk_reader_next(BlkReader *r)
{
    if (r->done) {
        return NULL;
    }
    const BlkChunk *c;
    if (r->thread) {
        c = g_async_queue_pop(r->full);
    } else {
        reader_step(r, &r->sync_chunk, r->bufs[0]);
        c = &r->sync_chunk;
    }
    if (c->eof || c->err) {
        r->done = true;
    }
    if (c->eof) {
        blk_reader_release(r, c);
        return NULL;
    }
    return c;
}

void blk_reader_release(BlkReader *r, const BlkChunk *c)
{
    if (!r->thread) {
        return;
    }
    if (c->buf) {
        g_async_queue_push(r->free, c->buf);
    }
    g_free((BlkChunk *)c);
}

void blk_reader_free(BlkReader *r)
{
    if (!r) {
        return;
    }
    if (r->thread) {
        /* Stop the reader early if the consumer gave up, then take back
         * whatever it still delivers until its last chunk. */
        g_atomic_int_set(&r->stop, 1);
        while (!r->done) {
            BlkChunk *c = g_async_queue_pop(r->full);
            r->done = c->eof || c->err;
            blk_reader_release(r, c);
        }
        g_thread_join(r->thread);
        g_async_queue_unref(r->full);
        g_async_queue_unref(r->free);
    }
    for (int i = 0; i < READER_BUFFERS; i++) {
        g_free(r->bufs[i]);
    }
    g_free(r);
}

/* ------------------------------------------------------------------------
 * Write-back ahead of the final flush
 * ------------------------------------------------------------------------ */

#define WRITEBACK_STEP ((uint64_t)16 << 20)

typedef struct WbRange { uint64_t off, len; } WbRange;

static gpointer writeback_thread(gpointer opaque)
{
    BlkWriteback *wb = opaque;
    for (;;) {
        WbRange *w = g_async_queue_pop(wb->queue);
        if (w->len == 0) {
            g_free(w);
            return NULL;
        }
        (void)blk_node_start_writeback(wb->dst, w->off, w->len);
        g_free(w);
    }
}

void blk_writeback_init(BlkWriteback *wb, BlockNode *dst)
{
    memset(wb, 0, sizeof(*wb));
    wb->dst = dst;
    wb->lo = UINT64_MAX;
}

void blk_writeback_note(BlkWriteback *wb, uint64_t off, uint64_t len)
{
    wb->lo = MIN(wb->lo, off);
    wb->hi = MAX(wb->hi, off + len);
    wb->pending += len;
    if (wb->pending >= WRITEBACK_STEP) {
        /* On a thread of its own: starting write-back may wait for room
         * in the device's queue, and the copy should not. */
        if (!wb->thread) {
            wb->queue = g_async_queue_new();
            wb->thread = g_thread_new("blk-writeback", writeback_thread, wb);
        }
        WbRange *w = g_new(WbRange, 1);
        w->off = wb->lo;
        w->len = wb->hi - wb->lo;
        g_async_queue_push(wb->queue, w);
        wb->pending = 0;
        wb->lo = UINT64_MAX;
        wb->hi = 0;
    }
}

void blk_writeback_finish(BlkWriteback *wb)
{
    if (wb->thread) {
        g_async_queue_push(wb->queue, g_new0(WbRange, 1));
        g_thread_join(wb->thread);
        g_async_queue_unref(wb->queue);
        wb->thread = NULL;
    }
}

/* ------------------------------------------------------------------------
 * blk_node_copy
 * ------------------------------------------------------------------------ */

#define COPY_CHUNK ((size_t)2 << 20)
#define COPY_ZERO_BLOCK 4096u

int blk_node_copy(BlockNode *src, BlockNode *dst, bool skip_zero,
                  BlkProgressFunc *progress, void *opaque, GError **errp)
{
    int64_t size = blk_node_size(src);
    if (size < 0) {
        return blk_fail(errp, (int)size, src->filename);
    }
    uint64_t total = (uint64_t)size;
    /* Without skip_zero every byte is read and written: no status runs. */
    BlkReader *rd = blk_reader_new(src, 0, total, COPY_CHUNK,
                                   COPY_ZERO_BLOCK,
                                   (total > COPY_CHUNK ? BLK_READER_THREAD : 0) |
                                   (skip_zero ? 0 : BLK_READER_ALL_DATA));
    BlkWriteback wb;
    blk_writeback_init(&wb, dst);
    const BlkChunk *c;
    int r = 0;
    while ((c = blk_reader_next(rd)) != NULL) {
        if (c->err) {
            r = c->err;
            g_set_error(errp, BLK_ERROR, -r, "%s: read at %" PRIu64 ": %s",
                        src->filename, c->off, g_strerror(-r));
            break;
        }
        if (!c->zero) {
            /* Write the runs of blocks that are not all zero. */
            uint64_t at = 0;
            while (at < c->len && r == 0) {
                uint64_t run = c->len - at;
                if (skip_zero) {
                    uint64_t b = at;
                    while (b < c->len &&
                           blk_buffer_is_zero(c->buf + b, (size_t)MIN(
                               (uint64_t)COPY_ZERO_BLOCK, c->len - b))) {
                        b += COPY_ZERO_BLOCK;
                    }
                    at = MIN(b, c->len);
                    while (b < c->len &&
                           !blk_buffer_is_zero(c->buf + b, (size_t)MIN(
                               (uint64_t)COPY_ZERO_BLOCK, c->len - b))) {
                        b += COPY_ZERO_BLOCK;
                    }
                    run = MIN(b, c->len) - at;
                }
                if (run > 0) {
                    r = blk_node_pwrite(dst, c->off + at, c->buf + at,
                                        (size_t)run);
                    if (r < 0) {
                        g_set_error(errp, BLK_ERROR, -r, "%s: write at %"
                                    PRIu64 ": %s", dst->filename,
                                    c->off + at, g_strerror(-r));
                    } else {
                        blk_writeback_note(&wb, c->off + at, run);
                    }
                }
                at += run;
            }
        }
        uint64_t done = c->off + c->len;
        blk_reader_release(rd, c);
        if (r < 0) {
            break;
        }
        if (progress) {
            progress(opaque, done, total);
        }
    }
    blk_reader_free(rd);
    blk_writeback_finish(&wb);
    return r;
}
