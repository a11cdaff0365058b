/*
 * Internals shared by the block drivers: little-endian field access for
 * on-disk structures, CRC-32 and rounding helpers.
 */
#ifndef VMKEMU_BLOCK_INT_H
#define VMKEMU_BLOCK_INT_H

#include <stdint.h>
#include <string.h>
#include <zlib.h>
#include "block.h"

static inline uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)ld32(p) | ((uint64_t)ld32(p + 4) << 32);
}

static inline void st16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void st64(uint8_t *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t blk_crc32(const void *buf, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const uint8_t *p = buf;
    while (len > 0) {
        uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}

static inline uint64_t round_up64(uint64_t v, uint64_t align)
{
    return (v + align - 1) / align * align;
}

static inline bool is_pow2_u64(uint64_t v)
{
    return v && !(v & (v - 1));
}

/* Set *errp from a negative errno with a "what: strerror" message. */
static inline int blk_fail(GError **errp, int neg_errno, const char *what)
{
    g_set_error(errp, BLK_ERROR, -neg_errno, "%s: %s", what,
                g_strerror(-neg_errno));
    return neg_errno;
}

/* ------------------------------------------------------------------------
 * Reading a node in order (block/copy.c)
 * ------------------------------------------------------------------------ */

/* One piece of the source: a run that reads as zeroes (zero, no buffer),
 * or data read into buf; err < 0 ends the walk. */
typedef struct BlkChunk {
    uint64_t off, len;
    bool zero;
    bool eof;
    int err;
    uint8_t *buf;
} BlkChunk;

typedef struct BlkReader BlkReader;

enum {
    BLK_READER_THREAD   = 1 << 0,  /* read ahead on a thread of its own */
    BLK_READER_ALL_DATA = 1 << 1,  /* no block status: read every byte */
};

/* Walk src over [start, end): data in pieces of at most chunk bytes that
 * do not cross a multiple of chunk, zero runs whole.  Runs are widened
 * to multiples of align (a zero run shorter than that is read as data).
 * Buffers hold chunk bytes (rounded up to align), so a short last piece
 * may be padded to align in place.  With BLK_READER_THREAD, src is read on
 * another thread while the caller works: the caller must not use src
 * meanwhile. */
BlkReader *blk_reader_new(BlockNode *src, uint64_t start, uint64_t end,
                          size_t chunk, uint64_t align, int flags);
/* The next piece in order, NULL at the end.  Its buffer (the caller may
 * change the bytes) is valid until blk_reader_release, which must come
 * before the next call. */
const BlkChunk *blk_reader_next(BlkReader *r);
void blk_reader_release(BlkReader *r, const BlkChunk *c);
/* Stops the walk wherever it is. NULL is fine. */
void blk_reader_free(BlkReader *r);

/* Start the write-back of what a long copy wrote, a few MiB at a time. */
typedef struct BlkWriteback {
    BlockNode *dst;
    uint64_t lo, hi, pending;
    GThread *thread;
    GAsyncQueue *queue;
} BlkWriteback;
void blk_writeback_init(BlkWriteback *wb, BlockNode *dst);
void blk_writeback_note(BlkWriteback *wb, uint64_t off, uint64_t len);
void blk_writeback_finish(BlkWriteback *wb);

#endif
