/*
 * The `mem` driver: a disk in memory, with an optional journal of every
 * write and flush for crash simulation.
 *
 * The journal models a disk with a volatile write cache: a write is durable
 * once a later flush completed; writes after the last flush may each have
 * reached the medium or not, in any combination.  blk_mem_crash_image()
 * builds the medium as it could look after power failed at a given point
 * of the journal, which lets tests check crash safety at every point of an
 * operation instead of at random kill times.
 */
#include <errno.h>
#include "block-int.h"

typedef struct MemWrite {
    uint64_t off;
    uint64_t len;          /* 0 with data == NULL: a flush */
    uint8_t *data;
} MemWrite;

typedef struct MemState {
    GMutex lock;            /* nodes may be used from several threads */
    int refcnt;             /* nodes sharing this memory */
    uint8_t *data;
    uint64_t size;
    uint8_t *journal_base;  /* contents when journaling started */
    uint64_t journal_base_size;
    GArray *journal;        /* of MemWrite */
} MemState;

static void mem_resize(MemState *s, uint64_t size)
{
    if (size > s->size) {
        s->data = g_realloc(s->data, size);
        memset(s->data + s->size, 0, size - s->size);
        s->size = size;
    }
}

static int mem_pread(BlockNode *bs, uint64_t off, void *buf, size_t len)
{
    MemState *s = bs->opaque;
    g_mutex_lock(&s->lock);
    memcpy(buf, s->data + off, len);
    g_mutex_unlock(&s->lock);
    return 0;
}

static void journal_add(MemState *s, uint64_t off, const void *buf,
                        uint64_t len)
{
    if (!s->journal) {
        return;
    }
    MemWrite w = { .off = off, .len = len };
    if (len) {
        w.data = g_malloc(len);
        if (buf) {
            memcpy(w.data, buf, len);
        } else {
            memset(w.data, 0, len);
        }
    }
    g_array_append_val(s->journal, w);
}

static int mem_pwrite(BlockNode *bs, uint64_t off, const void *buf, size_t len)
{
    MemState *s = bs->opaque;
    g_mutex_lock(&s->lock);
    mem_resize(s, off + len);
    memcpy(s->data + off, buf, len);
    journal_add(s, off, buf, len);
    g_mutex_unlock(&s->lock);
    return 0;
}

static int mem_pwrite_zeroes(BlockNode *bs, uint64_t off, uint64_t len)
{
    MemState *s = bs->opaque;
    g_mutex_lock(&s->lock);
    mem_resize(s, off + len);
    memset(s->data + off, 0, len);
    journal_add(s, off, NULL, len);
    g_mutex_unlock(&s->lock);
    return 0;
}

static int mem_flush(BlockNode *bs)
{
    MemState *s = bs->opaque;
    g_mutex_lock(&s->lock);
    journal_add(s, 0, NULL, 0);
    g_mutex_unlock(&s->lock);
    return 0;
}

static int64_t mem_get_size(BlockNode *bs)
{
    MemState *s = bs->opaque;
    g_mutex_lock(&s->lock);
    int64_t size = (int64_t)s->size;
    g_mutex_unlock(&s->lock);
    return size;
}

static int mem_lock(BlockNode *bs, uint64_t byte, int how)
{
    return 0;     /* one process, one owner */
}

static void journal_free(MemState *s)
{
    if (s->journal) {
        for (guint i = 0; i < s->journal->len; i++) {
            g_free(g_array_index(s->journal, MemWrite, i).data);
        }
        g_array_free(s->journal, TRUE);
        s->journal = NULL;
    }
    g_free(s->journal_base);
    s->journal_base = NULL;
}

static void mem_close(BlockNode *bs)
{
    MemState *s = bs->opaque;
    if (--s->refcnt > 0) {
        return;
    }
    journal_free(s);
    g_mutex_clear(&s->lock);
    g_free(s->data);
    g_free(s);
}

const BlockDriver blk_driver_mem = {
    .name = "mem",
    .close = mem_close,
    .pread = mem_pread,
    .pwrite = mem_pwrite,
    .pwrite_zeroes = mem_pwrite_zeroes,
    .flush = mem_flush,
    .get_size = mem_get_size,
    .lock = mem_lock,
};

BlockNode *blk_mem_open(const void *data, uint64_t size, int flags)
{
    BlockNode *bs = blk_node_new(&blk_driver_mem, "mem", flags);
    MemState *s = g_new0(MemState, 1);
    g_mutex_init(&s->lock);
    s->refcnt = 1;
    s->data = g_malloc0(MAX(size, 1));
    s->size = size;
    if (data) {
        memcpy(s->data, data, size);
    }
    bs->opaque = s;
    return bs;
}

BlockNode *blk_mem_share(BlockNode *mem, int flags)
{
    g_assert(mem->drv == &blk_driver_mem);
    MemState *s = mem->opaque;
    BlockNode *bs = blk_node_new(&blk_driver_mem, "mem", flags);
    s->refcnt++;
    bs->opaque = s;
    return bs;
}

uint8_t *blk_mem_data(BlockNode *bs, uint64_t *size)
{
    MemState *s = bs->opaque;
    if (size) {
        *size = s->size;
    }
    return s->data;
}

void blk_mem_journal_start(BlockNode *bs)
{
    MemState *s = bs->opaque;
    journal_free(s);
    s->journal = g_array_new(FALSE, FALSE, sizeof(MemWrite));
    s->journal_base = g_memdup2(s->data, s->size);
    s->journal_base_size = s->size;
}

size_t blk_mem_journal_length(BlockNode *bs)
{
    MemState *s = bs->opaque;
    return s->journal ? s->journal->len : 0;
}

uint8_t *blk_mem_crash_image(BlockNode *bs, size_t point, GRand *rng,
                             uint64_t *size)
{
    MemState *s = bs->opaque;
    g_assert(s->journal && point <= s->journal->len);
    uint64_t sz = s->journal_base_size;
    for (size_t i = 0; i < point; i++) {
        MemWrite *w = &g_array_index(s->journal, MemWrite, i);
        if (w->len) {
            sz = MAX(sz, w->off + w->len);
        }
    }
    uint8_t *img = g_malloc0(MAX(sz, 1));
    memcpy(img, s->journal_base, s->journal_base_size);
    size_t last_flush = 0;
    for (size_t i = 0; i < point; i++) {
        if (g_array_index(s->journal, MemWrite, i).len == 0) {
            last_flush = i + 1;
        }
    }
    for (size_t i = 0; i < point; i++) {
        MemWrite *w = &g_array_index(s->journal, MemWrite, i);
        if (!w->len) {
            continue;
        }
        /* Before the last flush: on the medium.  After it: maybe, and a
         * multi-sector write maybe only in part (whole sectors). */
        if (i >= last_flush && rng) {
            uint32_t pick = g_rand_int_range(rng, 0, 3);
            if (pick == 0) {
                continue;
            }
            if (pick == 1 && w->len > BLK_SECTOR_SIZE) {
                uint64_t nsec = (w->len + BLK_SECTOR_SIZE - 1) / BLK_SECTOR_SIZE;
                for (uint64_t k = 0; k < nsec; k++) {
                    if (g_rand_boolean(rng)) {
                        uint64_t o = k * BLK_SECTOR_SIZE;
                        uint64_t n = MIN((uint64_t)BLK_SECTOR_SIZE, w->len - o);
                        memcpy(img + w->off + o, w->data + o, n);
                    }
                }
                continue;
            }
        }
        memcpy(img + w->off, w->data, w->len);
    }
    *size = sz;
    return img;
}
