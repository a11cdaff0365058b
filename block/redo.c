/*
 * The `redo` driver: a copy-on-write REDO log over any other node.
 *
 * Models the redo log of the ESX Server 1.0 manual ("Access modes",
 * "Using Disk Modes", vmkfstools --commit): writes of a disk in undoable,
 * append or nonpersistent mode go to a log named <file>.REDO, reads come
 * from the log where it holds the data and from the base disk elsewhere,
 * and a commit merges the log into the base.  The file format is our own:
 * docs/redo-format.md.
 *
 * Crash safety: grains are only ever appended, a map entry reaches the disk
 * only after the grain it points to was flushed, and a commit copies grains
 * into the base without changing the log, so base + log reads the same at
 * every point of a commit and a second commit finishes an interrupted one.
 */
#include <errno.h>
#include <string.h>
#include "block-int.h"

#define REDO_VERSION        1
#define REDO_HEADER_SIZE    512
#define REDO_MAP_OFFSET     4096u
#define REDO_PAGE           4096u
#define REDO_MIN_GRAIN      512u
#define REDO_MAX_GRAIN      (16u << 20)
#define REDO_MAX_ENTRIES    ((uint64_t)1 << 26)     /* 256 MiB of map */

/* Lock byte in the log file's lock space (host logs; VMFS files have the
 * file lock of the volume already). */
#define REDO_LOCK_BYTE      8

static const char redo_magic[8] = "VMKREDO";

typedef struct RedoHeader {
    uint32_t grain;
    uint32_t flags;
    uint64_t parent_size;
    uint64_t entries;
    uint64_t map_offset;
    uint64_t data_offset;
    uint64_t next_free;
    uint64_t allocated;
} RedoHeader;

typedef struct RedoState {
    RedoHeader h;
    uint32_t flags_at_open;
    uint32_t *map;
    uint8_t *dirty;           /* one bit per map page */
    bool header_dirty;
    bool locked;
    uint8_t *grain_buf;
} RedoState;

static uint64_t redo_data_offset(uint64_t entries)
{
    return round_up64(REDO_MAP_OFFSET + entries * 4, REDO_PAGE);
}

static void header_encode(const RedoHeader *h, uint8_t *b)
{
    memset(b, 0, REDO_HEADER_SIZE);
    memcpy(b, redo_magic, 8);
    st32(b + 8, REDO_VERSION);
    st32(b + 12, REDO_HEADER_SIZE);
    st32(b + 16, h->grain);
    st32(b + 20, h->flags);
    st64(b + 24, h->parent_size);
    st64(b + 32, h->entries);
    st64(b + 40, h->map_offset);
    st64(b + 48, h->data_offset);
    st64(b + 56, h->next_free);
    st64(b + 64, h->allocated);
    st32(b + 508, blk_crc32(b, 508));
}

static int header_decode(const uint8_t *b, RedoHeader *h, const char **why)
{
    if (memcmp(b, redo_magic, 8) != 0) {
        *why = "not a REDO log";
        return -EINVAL;
    }
    if (ld32(b + 508) != blk_crc32(b, 508)) {
        *why = "REDO header checksum mismatch";
        return -EUCLEAN;
    }
    if (ld32(b + 8) != REDO_VERSION || ld32(b + 12) != REDO_HEADER_SIZE) {
        *why = "unsupported REDO log version";
        return -ENOTSUP;
    }
    h->grain = ld32(b + 16);
    h->flags = ld32(b + 20);
    h->parent_size = ld64(b + 24);
    h->entries = ld64(b + 32);
    h->map_offset = ld64(b + 40);
    h->data_offset = ld64(b + 48);
    h->next_free = ld64(b + 56);
    h->allocated = ld64(b + 64);
    *why = "bad REDO header";
    if (!is_pow2_u64(h->grain) || h->grain < REDO_MIN_GRAIN ||
        h->grain > REDO_MAX_GRAIN) {
        return -EUCLEAN;
    }
    if (h->flags & ~(uint32_t)(REDO_FLAG_IN_USE | REDO_FLAG_COMMITTING)) {
        return -EUCLEAN;
    }
    if (h->parent_size % BLK_SECTOR_SIZE ||
        h->entries > REDO_MAX_ENTRIES ||
        h->entries != (h->parent_size + h->grain - 1) / h->grain) {
        *why = "REDO map size does not match its disk size";
        return -EUCLEAN;
    }
    if (h->map_offset != REDO_MAP_OFFSET ||
        h->data_offset != redo_data_offset(h->entries)) {
        return -EUCLEAN;
    }
    if (h->next_free < h->data_offset ||
        (h->next_free - h->data_offset) % h->grain ||
        (h->next_free - h->data_offset) / h->grain > UINT32_MAX - 1 ||
        h->allocated > h->entries) {
        return -EUCLEAN;
    }
    *why = NULL;
    return 0;
}

static int header_read(BlockNode *file, RedoHeader *h, GError **errp)
{
    uint8_t b[REDO_HEADER_SIZE];
    int64_t size = blk_node_size(file);
    if (size < 0) {
        return blk_fail(errp, (int)size, file->filename);
    }
    if (size < REDO_HEADER_SIZE) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: not a REDO log (too short)",
                    file->filename);
        return -EINVAL;
    }
    int r = blk_node_pread(file, 0, b, sizeof(b));
    if (r < 0) {
        return blk_fail(errp, r, file->filename);
    }
    const char *why;
    r = header_decode(b, h, &why);
    if (r < 0) {
        g_set_error(errp, BLK_ERROR, -r, "%s: %s", file->filename, why);
    }
    return r;
}

static int header_write(BlockNode *file, const RedoHeader *h)
{
    uint8_t b[REDO_HEADER_SIZE];
    header_encode(h, b);
    return blk_node_pwrite(file, 0, b, sizeof(b));
}

int blk_redo_read_info(BlockNode *file, RedoInfo *info, GError **errp)
{
    RedoHeader h;
    int r = header_read(file, &h, errp);
    if (r < 0) {
        return r;
    }
    info->grain_size = h.grain;
    info->flags = h.flags;
    info->parent_size = h.parent_size;
    info->allocated_grains = h.allocated;
    return 0;
}

int blk_redo_format(BlockNode *file, uint64_t parent_size, uint32_t grain,
                    GError **errp)
{
    if (grain == 0) {
        grain = REDO_DEFAULT_GRAIN_SIZE;
    }
    if (!is_pow2_u64(grain) || grain < REDO_MIN_GRAIN ||
        grain > REDO_MAX_GRAIN) {
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "REDO grain size %u: must be a power of two from 512 "
                    "to 16m", grain);
        return -EINVAL;
    }
    if (parent_size % BLK_SECTOR_SIZE) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: disk size %" PRIu64
                    " is not a multiple of 512", file->filename, parent_size);
        return -EINVAL;
    }
    RedoHeader h = {
        .grain = grain,
        .parent_size = parent_size,
        .entries = (parent_size + grain - 1) / grain,
        .map_offset = REDO_MAP_OFFSET,
    };
    if (h.entries > REDO_MAX_ENTRIES) {
        g_set_error(errp, BLK_ERROR, EFBIG, "%s: disk too large for a REDO "
                    "log with %u-byte grains", file->filename, grain);
        return -EFBIG;
    }
    h.data_offset = redo_data_offset(h.entries);
    h.next_free = h.data_offset;
    int r = blk_node_pwrite_zeroes(file, 0, h.data_offset);
    if (r == 0) {
        r = header_write(file, &h);
    }
    if (r == 0) {
        r = blk_node_flush(file);
    }
    if (r < 0) {
        return blk_fail(errp, r, file->filename);
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The driver
 * ------------------------------------------------------------------------ */

static uint64_t grain_offset(const RedoState *s, uint32_t entry)
{
    return s->h.data_offset + (uint64_t)(entry - 1) * s->h.grain;
}

static int redo_pread(BlockNode *bs, uint64_t off, void *buf, size_t len)
{
    RedoState *s = bs->opaque;
    uint8_t *p = buf;
    while (len > 0) {
        uint64_t idx = off / s->h.grain, within = off % s->h.grain;
        size_t n = (size_t)MIN((uint64_t)len, s->h.grain - within);
        int r;
        if (s->map[idx]) {
            r = blk_node_pread(bs->file, grain_offset(s, s->map[idx]) + within,
                               p, n);
        } else {
            /* Coalesce a run of unallocated grains into one base read. */
            while (n < len && idx + 1 < s->h.entries &&
                   !s->map[(off + n) / s->h.grain]) {
                n = (size_t)MIN((uint64_t)len, (uint64_t)n + s->h.grain);
                idx = (off + n - 1) / s->h.grain;
            }
            r = blk_node_pread(bs->backing, off, p, n);
        }
        if (r < 0) {
            return r;
        }
        p += n;
        off += n;
        len -= n;
    }
    return 0;
}

static void mark_dirty(RedoState *s, uint64_t idx)
{
    uint64_t page = (idx * 4) / REDO_PAGE;
    s->dirty[page / 8] |= (uint8_t)(1u << (page % 8));
    s->header_dirty = true;
}

static int redo_pwrite(BlockNode *bs, uint64_t off, const void *buf,
                       size_t len)
{
    RedoState *s = bs->opaque;
    const uint8_t *p = buf;
    uint32_t g = s->h.grain;
    while (len > 0) {
        uint64_t idx = off / g, within = off % g;
        size_t n = (size_t)MIN((uint64_t)len, g - within);
        int r;
        if (s->map[idx]) {
            r = blk_node_pwrite(bs->file, grain_offset(s, s->map[idx]) + within,
                                p, n);
        } else {
            uint64_t gstart = idx * g;
            uint64_t glen = MIN((uint64_t)g, s->h.parent_size - gstart);
            if (n < glen) {
                /* Copy the rest of the grain from the base. */
                r = blk_node_pread(bs->backing, gstart, s->grain_buf,
                                   (size_t)glen);
                if (r < 0) {
                    return r;
                }
            }
            memset(s->grain_buf + glen, 0, g - glen);
            memcpy(s->grain_buf + within, p, n);
            uint64_t slot = (s->h.next_free - s->h.data_offset) / g;
            if (slot >= UINT32_MAX - 1) {
                return -ENOSPC;
            }
            r = blk_node_pwrite(bs->file, s->h.next_free, s->grain_buf, g);
            if (r == 0) {
                s->map[idx] = (uint32_t)(slot + 1);
                s->h.next_free += g;
                s->h.allocated++;
                mark_dirty(s, idx);
            }
        }
        if (r < 0) {
            return r;
        }
        p += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* Write the map pages and header that changed, after the grains they
 * point to are on disk. */
static int redo_flush(BlockNode *bs)
{
    RedoState *s = bs->opaque;
    int r = blk_node_flush(bs->file);
    if (r < 0 || !s->header_dirty) {
        return r;
    }
    uint64_t map_bytes = s->h.entries * 4;
    uint64_t pages = (map_bytes + REDO_PAGE - 1) / REDO_PAGE;
    uint8_t page_buf[REDO_PAGE];
    for (uint64_t pg = 0; pg < pages; pg++) {
        if (!(s->dirty[pg / 8] & (1u << (pg % 8)))) {
            continue;
        }
        uint64_t first = pg * (REDO_PAGE / 4);
        uint64_t count = MIN((uint64_t)REDO_PAGE / 4, s->h.entries - first);
        memset(page_buf, 0, sizeof(page_buf));
        for (uint64_t i = 0; i < count; i++) {
            st32(page_buf + i * 4, s->map[first + i]);
        }
        r = blk_node_pwrite(bs->file, s->h.map_offset + pg * REDO_PAGE,
                            page_buf, (size_t)(count * 4));
        if (r < 0) {
            return r;
        }
        s->dirty[pg / 8] &= (uint8_t)~(1u << (pg % 8));
    }
    r = header_write(bs->file, &s->h);
    if (r == 0) {
        r = blk_node_flush(bs->file);
    }
    if (r == 0) {
        s->header_dirty = false;
    }
    return r;
}

static int64_t redo_get_size(BlockNode *bs)
{
    RedoState *s = bs->opaque;
    return (int64_t)s->h.parent_size;
}

static int redo_block_status(BlockNode *bs, uint64_t off, uint64_t len,
                             uint64_t *pnum)
{
    RedoState *s = bs->opaque;
    uint32_t g = s->h.grain;
    uint64_t idx = off / g;
    bool alloc = s->map[idx] != 0;
    uint64_t n = MIN(len, (idx + 1) * g - off);
    while (n < len && ((off + n) / g) < s->h.entries &&
           (s->map[(off + n) / g] != 0) == alloc) {
        n = MIN(len, n + g);
    }
    if (alloc) {
        *pnum = n;
        return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED;
    }
    int r = blk_node_block_status(bs->backing, off, n, pnum);
    if (r < 0) {
        return r;
    }
    return r & ~BLK_STATUS_ALLOCATED;
}

static void redo_close(BlockNode *bs)
{
    RedoState *s = bs->opaque;
    if (!s) {
        return;
    }
    if (bs->flags & BLK_O_RDWR) {
        if (redo_flush(bs) == 0) {
            s->h.flags &= ~(uint32_t)REDO_FLAG_IN_USE;
            if (header_write(bs->file, &s->h) == 0) {
                blk_node_flush(bs->file);
            }
        }
    }
    if (s->locked) {
        blk_node_lock(bs->file, REDO_LOCK_BYTE, BLK_LOCK_UNLOCK);
    }
    g_free(s->map);
    g_free(s->dirty);
    g_free(s->grain_buf);
    g_free(s);
}

const BlockDriver blk_driver_redo = {
    .name = "redo",
    .close = redo_close,
    .pread = redo_pread,
    .pwrite = redo_pwrite,
    .flush = redo_flush,
    .get_size = redo_get_size,
    .block_status = redo_block_status,
};

BlockNode *blk_redo_open(BlockNode *file, BlockNode *base, int flags,
                         GError **errp)
{
    BlockNode *bs = blk_node_new(&blk_driver_redo, file->filename,
                                 flags & BLK_O_RDWR);
    bs->file = file;
    bs->backing = base;
    RedoState *s = g_new0(RedoState, 1);
    int r = header_read(file, &s->h, errp);
    if (r < 0) {
        goto fail;
    }
    int64_t base_size = blk_node_size(base);
    if (base_size < 0) {
        blk_fail(errp, (int)base_size, base->filename);
        goto fail;
    }
    if ((uint64_t)base_size != s->h.parent_size) {
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "%s: REDO log is for a disk of %" PRIu64 " bytes but %s "
                    "has %" PRId64, file->filename, s->h.parent_size,
                    base->filename, base_size);
        goto fail;
    }
    if ((flags & BLK_O_RDWR) && !(file->flags & BLK_O_RDWR)) {
        g_set_error(errp, BLK_ERROR, EROFS, "%s: opened read-only",
                    file->filename);
        goto fail;
    }
    if (flags & BLK_O_RDWR) {
        r = blk_node_lock(file, REDO_LOCK_BYTE, BLK_LOCK_EXCL);
        if (r == -EAGAIN) {
            g_set_error(errp, BLK_ERROR, EBUSY, "%s: REDO log is in use",
                        file->filename);
            goto fail;
        }
        s->locked = r == 0;
    }
    s->flags_at_open = s->h.flags;
    s->map = g_try_new0(uint32_t, MAX(s->h.entries, 1));
    if (!s->map) {
        g_set_error(errp, BLK_ERROR, ENOMEM, "%s: map too large",
                    file->filename);
        goto fail;
    }
    uint64_t map_bytes = s->h.entries * 4;
    uint8_t *raw = g_malloc(MAX(map_bytes, 1));
    r = blk_node_pread(file, s->h.map_offset, raw, (size_t)map_bytes);
    if (r < 0) {
        g_free(raw);
        blk_fail(errp, r, file->filename);
        goto fail;
    }
    uint64_t max_slot = 0, count = 0;
    for (uint64_t i = 0; i < s->h.entries; i++) {
        uint32_t e = ld32(raw + i * 4);
        s->map[i] = e;
        if (e) {
            count++;
            max_slot = MAX(max_slot, (uint64_t)e);
        }
    }
    g_free(raw);
    /* Grains reach the disk before the header or map that points at them,
     * so neither points past the end of the log. */
    int64_t fsize = blk_node_size(file);
    uint64_t fend = fsize < 0 ? 0 : round_up64((uint64_t)fsize, s->h.grain);
    if (s->h.next_free > fend ||
        s->h.data_offset + max_slot * s->h.grain > fend) {
        g_set_error(errp, BLK_ERROR, EUCLEAN,
                    "%s: REDO log damaged (it points past its end)",
                    file->filename);
        goto fail;
    }
    /* Grains written after the last header update are never reused. */
    s->h.next_free = MAX(s->h.next_free,
                         s->h.data_offset + max_slot * s->h.grain);
    s->h.allocated = count;
    uint64_t pages = (map_bytes + REDO_PAGE - 1) / REDO_PAGE;
    s->dirty = g_malloc0(pages / 8 + 1);
    s->grain_buf = g_malloc(s->h.grain);
    bs->opaque = s;
    if (flags & BLK_O_RDWR) {
        s->h.flags |= REDO_FLAG_IN_USE;
        r = header_write(file, &s->h);
        if (r == 0) {
            r = blk_node_flush(file);
        }
        if (r < 0) {
            blk_fail(errp, r, file->filename);
            bs->flags &= ~BLK_O_RDWR;
            blk_node_close(bs);
            return NULL;
        }
    }
    return bs;

fail:
    if (s->locked) {
        blk_node_lock(file, REDO_LOCK_BYTE, BLK_LOCK_UNLOCK);
    }
    g_free(s->map);
    g_free(s);
    bs->opaque = NULL;
    blk_node_close(bs);
    return NULL;
}

int blk_redo_get_info(BlockNode *bs, RedoInfo *info)
{
    if (bs->drv != &blk_driver_redo) {
        return -EINVAL;
    }
    RedoState *s = bs->opaque;
    info->grain_size = s->h.grain;
    info->flags = s->flags_at_open;
    info->parent_size = s->h.parent_size;
    info->allocated_grains = s->h.allocated;
    return 0;
}

int blk_redo_commit(BlockNode *bs, BlkProgressFunc *progress, void *opaque,
                    GError **errp)
{
    if (bs->drv != &blk_driver_redo) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: not a REDO log",
                    bs->filename);
        return -EINVAL;
    }
    RedoState *s = bs->opaque;
    if (!(bs->flags & BLK_O_RDWR) || !(bs->backing->flags & BLK_O_RDWR)) {
        g_set_error(errp, BLK_ERROR, EROFS, "%s: commit needs the log and "
                    "the disk opened read-write", bs->filename);
        return -EROFS;
    }
    /* Everything the log holds is on disk and the log says a commit is
     * under way before the base changes. */
    s->h.flags |= REDO_FLAG_COMMITTING;
    s->header_dirty = true;
    int r = redo_flush(bs);
    if (r < 0) {
        return blk_fail(errp, r, bs->filename);
    }
    uint32_t g = s->h.grain;
    uint64_t done = 0;
    for (uint64_t idx = 0; idx < s->h.entries; idx++) {
        if (!s->map[idx]) {
            continue;
        }
        uint64_t gstart = idx * g;
        uint64_t glen = MIN((uint64_t)g, s->h.parent_size - gstart);
        r = blk_node_pread(bs->file, grain_offset(s, s->map[idx]),
                           s->grain_buf, (size_t)glen);
        if (r < 0) {
            return blk_fail(errp, r, bs->filename);
        }
        r = blk_node_pwrite(bs->backing, gstart, s->grain_buf, (size_t)glen);
        if (r < 0) {
            return blk_fail(errp, r, bs->backing->filename);
        }
        done++;
        if (progress) {
            progress(opaque, done, s->h.allocated);
        }
    }
    r = blk_node_flush(bs->backing);
    if (r < 0) {
        return blk_fail(errp, r, bs->backing->filename);
    }
    return 0;
}
