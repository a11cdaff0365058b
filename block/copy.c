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
 * The reader also plans the runs ahead of its reads and asks the source
 * to start reading their data (blk_node_prefetch), so that a cold cache
 * or a slow disk is read with more than one request in flight.
 *
 * Reference: Linux lseek(2) SEEK_DATA/SEEK_HOLE, posix_fadvise(2)
 * POSIX_FADV_WILLNEED and sync_file_range(2), through the drivers'
 * block_status, prefetch and start_writeback.
 */
#include <errno.h>
#include <string.h>
#include "block-int.h"

#define READER_BUFFERS 4
/* Readahead asked of the source ahead of the reads: this much data, in
 * hints of at least a quarter of it, over at most READER_RUNS runs. */
#define PREFETCH_AHEAD ((uint64_t)16 << 20)
#define READER_RUNS 64

typedef struct ReaderRun {
    uint64_t start, end;
    bool zero;
} ReaderRun;

struct BlkReader {
    BlockNode *src;
    uint64_t end;
    size_t chunk;
    uint64_t align;
    bool all_data;             /* no status: every byte is read */
    /* Reader side (its thread when threaded). */
    uint64_t pos;              /* next offset to deliver */
    GQueue runs;               /* ReaderRun *: planned, from pos on */
    uint64_t plan_pos;         /* status known up to here */
    int plan_err;              /* status failed at plan_pos */
    uint64_t hint_pos;         /* readahead asked up to here */
    uint64_t ahead;            /* data bytes asked and not yet read */
    GThread *thread;
    GAsyncQueue *full;         /* BlkChunk *, in disk order; ends with eof */
    GAsyncQueue *free;         /* uint8_t * buffers */
    uint8_t *bufs[READER_BUFFERS];
    gint stop;
    bool done;                 /* consumer saw the last chunk */
    BlkChunk sync_chunk;       /* unthreaded mode */
};

/* Status of the next run at plan_pos, widened to whole aligned blocks: a
 * zero run that does not cover one is read with its neighbours. */
static void reader_plan_one(BlkReader *r)
{
    ReaderRun *run = g_new(ReaderRun, 1);
    run->start = r->plan_pos;
    if (r->all_data) {
        run->zero = false;
        run->end = r->end;
    } else {
        uint64_t pnum;
        int st = blk_node_block_status(r->src, run->start,
                                       r->end - run->start, &pnum);
        if (st < 0) {
            r->plan_err = st;
            g_free(run);
            return;
        }
        uint64_t e = run->start + MIN(MAX(pnum, 1), r->end - run->start);
        if (st & BLK_STATUS_ZERO) {
            uint64_t z = e == r->end ? e : e / r->align * r->align;
            run->zero = z > run->start;
            run->end = run->zero ? z : MIN(r->end, (run->start / r->align + 1) *
                                                   r->align);
        } else {
            run->zero = false;
            run->end = MIN(r->end, round_up64(e, r->align));
        }
    }
    /* Neighbouring data runs are one run. */
    ReaderRun *last = g_queue_peek_tail(&r->runs);
    r->plan_pos = run->end;
    if (last && last->zero == run->zero && last->end == run->start) {
        last->end = run->end;
        g_free(run);
    } else {
        g_queue_push_tail(&r->runs, run);
    }
}

static bool reader_can_plan(BlkReader *r)
{
    return r->plan_pos < r->end && !r->plan_err &&
           g_queue_get_length(&r->runs) < READER_RUNS;
}

/* Plan runs ahead of pos and ask the source to read about PREFETCH_AHEAD
 * bytes of their data ahead of us (a cold cache, a slow disk). */
static void reader_look_ahead(BlkReader *r)
{
    if (g_queue_is_empty(&r->runs) && reader_can_plan(r)) {
        reader_plan_one(r);
    }
    r->hint_pos = MAX(r->hint_pos, r->pos);
    while (r->ahead < PREFETCH_AHEAD) {
        ReaderRun *run = NULL;
        for (GList *l = r->runs.head; l; l = l->next) {
            ReaderRun *x = l->data;
            if (!x->zero && x->end > r->hint_pos) {
                run = x;
                break;
            }
        }
        if (!run) {
            if (!reader_can_plan(r)) {
                break;
            }
            reader_plan_one(r);
            continue;
        }
        uint64_t from = MAX(run->start, r->hint_pos);
        uint64_t n = MIN(run->end - from, PREFETCH_AHEAD - r->ahead);
        if (n < MIN(PREFETCH_AHEAD / 4, run->end - from)) {
            break;
        }
        blk_node_prefetch(r->src, from, n);
        r->hint_pos = from + n;
        r->ahead += n;
    }
}

/* Next piece of the source, on the reader side: a zero run (no buffer)
 * or up to one chunk of data read into buf. */
static void reader_step(BlkReader *r, BlkChunk *c, uint8_t *buf)
{
    memset(c, 0, sizeof(*c));
    c->off = r->pos;
    if (r->pos >= r->end) {
        c->eof = true;
        return;
    }
    reader_look_ahead(r);
    ReaderRun *run = g_queue_peek_head(&r->runs);
    if (!run) {
        c->err = r->plan_err ? r->plan_err : -EIO;
        return;
    }
    if (run->zero) {
        c->zero = true;
        c->len = run->end - r->pos;
    } else {
        /* Up to the next chunk boundary, so reads stay aligned. */
        uint64_t stop = MIN(run->end, (r->pos / r->chunk + 1) * r->chunk);
        if (r->hint_pos > r->pos) {
            r->ahead -= MIN(r->ahead, MIN(stop, r->hint_pos) - r->pos);
        }
        c->len = stop - r->pos;
        c->buf = buf;
        c->err = blk_node_pread(r->src, r->pos, buf, (size_t)c->len);
    }
    r->pos += c->len;
    if (r->pos >= run->end) {
        g_free(g_queue_pop_head(&r->runs));
    }
}

/* Might the next piece be data (and need a buffer)? */
static bool reader_next_is_data(BlkReader *r)
{
    ReaderRun *run = g_queue_peek_head(&r->runs);
    return r->pos < r->end && (!run || !run->zero);
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
            if (reader_next_is_data(r)) {
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
    r->pos = r->plan_pos = r->hint_pos = start;
    g_queue_init(&r->runs);
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
    g_queue_clear_full(&r->runs, g_free);
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
            blk_reader_release(rd, c);
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
