/*
 * Block nodes: the generic layer every driver sits under.  Checks bounds,
 * supplies defaults for optional driver operations and probes formats.
 * (Copying one node into another is block/copy.c.)
 *
 * Reference: docs/vmfs-format.md and docs/redo-format.md for the formats the
 * probe recognises; VMware "Virtual Disk Format 1.1" for the KDMV/COWD magics.
 */
#include <errno.h>
#include <string.h>
#include "block.h"

G_DEFINE_QUARK(vmkemu-block-error-quark, blk_error)

BlockNode *blk_node_new(const BlockDriver *drv, const char *filename, int flags)
{
    BlockNode *bs = g_new0(BlockNode, 1);
    bs->drv = drv;
    bs->filename = g_strdup(filename ? filename : "");
    bs->flags = flags;
    return bs;
}

void blk_node_close(BlockNode *bs)
{
    if (!bs) {
        return;
    }
    if (bs->drv && bs->drv->close) {
        bs->drv->close(bs);
    }
    blk_node_close(bs->file);
    blk_node_close(bs->backing);
    g_free(bs->filename);
    g_free(bs);
}

int64_t blk_node_size(BlockNode *bs)
{
    return bs->drv->get_size(bs);
}

/* Clip [off, off+len) to the node: returns how much lies inside, or -errno. */
static int64_t blk_node_check(BlockNode *bs, uint64_t off, uint64_t len,
                              bool write)
{
    int64_t size = blk_node_size(bs);
    if (size < 0) {
        return size;
    }
    if (off + len < off) {
        return -EINVAL;
    }
    if (bs->flags & BLK_O_GROWABLE) {
        if (write) {
            return (int64_t)len;
        }
        if (off >= (uint64_t)size) {
            return 0;
        }
        return (int64_t)MIN(len, (uint64_t)size - off);
    }
    if (off + len > (uint64_t)size) {
        return -EINVAL;
    }
    return (int64_t)len;
}

int blk_node_pread(BlockNode *bs, uint64_t off, void *buf, size_t len)
{
    int64_t in = blk_node_check(bs, off, len, false);
    if (in < 0) {
        return (int)in;
    }
    if ((uint64_t)in < len) {
        memset((uint8_t *)buf + in, 0, len - in);
    }
    if (in == 0) {
        return 0;
    }
    return bs->drv->pread(bs, off, buf, (size_t)in);
}

int blk_node_pwrite(BlockNode *bs, uint64_t off, const void *buf, size_t len)
{
    if (!(bs->flags & BLK_O_RDWR)) {
        return -EROFS;
    }
    int64_t in = blk_node_check(bs, off, len, true);
    if (in < 0) {
        return (int)in;
    }
    if (len == 0) {
        return 0;
    }
    return bs->drv->pwrite(bs, off, buf, len);
}

int blk_node_pwrite_zeroes(BlockNode *bs, uint64_t off, uint64_t len)
{
    if (!(bs->flags & BLK_O_RDWR)) {
        return -EROFS;
    }
    int64_t in = blk_node_check(bs, off, len, true);
    if (in < 0) {
        return (int)in;
    }
    if (len == 0) {
        return 0;
    }
    if (bs->drv->pwrite_zeroes) {
        int r = bs->drv->pwrite_zeroes(bs, off, len);
        if (r != -ENOTSUP) {
            return r;
        }
    }
    size_t chunk = (size_t)MIN(len, (uint64_t)1 << 20);
    void *zero = g_malloc0(chunk);
    int r = 0;
    while (len > 0 && r == 0) {
        size_t n = (size_t)MIN(len, (uint64_t)chunk);
        r = bs->drv->pwrite(bs, off, zero, n);
        off += n;
        len -= n;
    }
    g_free(zero);
    return r;
}

int blk_node_flush(BlockNode *bs)
{
    if (!(bs->flags & BLK_O_RDWR)) {
        return 0;
    }
    return bs->drv->flush ? bs->drv->flush(bs) : 0;
}

int blk_node_discard(BlockNode *bs, uint64_t off, uint64_t len)
{
    if (!(bs->flags & BLK_O_RDWR)) {
        return -EROFS;
    }
    int64_t in = blk_node_check(bs, off, len, false);
    if (in < 0) {
        return (int)in;
    }
    if (in == 0 || !bs->drv->discard) {
        return 0;
    }
    return bs->drv->discard(bs, off, (uint64_t)in);
}

int blk_node_block_status(BlockNode *bs, uint64_t off, uint64_t len,
                          uint64_t *pnum)
{
    int64_t size = blk_node_size(bs);
    if (size < 0) {
        return (int)size;
    }
    if (len == 0 || off >= (uint64_t)size) {
        *pnum = len;
        return BLK_STATUS_ZERO;
    }
    len = MIN(len, (uint64_t)size - off);
    if (!bs->drv->block_status) {
        *pnum = len;
        return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED;
    }
    int r = bs->drv->block_status(bs, off, len, pnum);
    if (r >= 0 && (*pnum == 0 || *pnum > len)) {
        *pnum = len;
    }
    return r;
}

int blk_node_start_writeback(BlockNode *bs, uint64_t off, uint64_t len)
{
    /* A hint, so no bounds check: that would ask the size, which a
     * writer on another thread may be changing. */
    if (!(bs->flags & BLK_O_RDWR) || !bs->drv->start_writeback ||
        off + len < off) {
        return 0;
    }
    return bs->drv->start_writeback(bs, off, len);
}

int blk_node_prefetch(BlockNode *bs, uint64_t off, uint64_t len)
{
    if (!bs->drv->prefetch || len == 0 || off + len < off) {
        return 0;
    }
    return bs->drv->prefetch(bs, off, len);
}

int blk_node_lock(BlockNode *bs, uint64_t byte, int how)
{
    if (!bs->drv->lock) {
        return -ENOTSUP;
    }
    return bs->drv->lock(bs, byte, how);
}

static bool buffer_is_zero(const uint8_t *p, size_t len)
{
    /* Data usually shows in the first word; zeroes are scanned 64 bytes
     * at a time, OR-ed together (which the compiler vectorises). */
    size_t i = 0;
    if (len >= sizeof(uint64_t)) {
        uint64_t w;
        memcpy(&w, p, sizeof(w));
        if (w) {
            return false;
        }
    }
    for (; i + 64 <= len; i += 64) {
        uint64_t w[8], acc = 0;
        memcpy(w, p + i, sizeof(w));
        for (int k = 0; k < 8; k++) {
            acc |= w[k];
        }
        if (acc) {
            return false;
        }
    }
    for (; i < len; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

int blk_node_is_zero(BlockNode *bs, uint64_t off, uint64_t len)
{
    uint8_t *buf = NULL;
    int r = 1;
    while (len > 0) {
        uint64_t pnum;
        int st = blk_node_block_status(bs, off, len, &pnum);
        if (st < 0) {
            r = st;
            break;
        }
        if (!(st & BLK_STATUS_ZERO)) {
            size_t n = (size_t)MIN(pnum, (uint64_t)1 << 20);
            if (!buf) {
                buf = g_malloc(1 << 20);
            }
            int e = blk_node_pread(bs, off, buf, n);
            if (e < 0) {
                r = e;
                break;
            }
            if (!buffer_is_zero(buf, n)) {
                r = 0;
                break;
            }
            pnum = n;
        }
        off += pnum;
        len -= pnum;
    }
    g_free(buf);
    return r;
}

bool blk_buffer_is_zero(const void *buf, size_t len)
{
    return buffer_is_zero(buf, len);
}

/* Text that names a VMware descriptor: a VMDK descriptor, or a Workstation
 * plain disk (DRIVETYPE / ACCESS lines). */
static bool looks_like_descriptor(const uint8_t *p, size_t n)
{
    /* Text up to the first NUL (descriptors may be NUL-padded). */
    size_t len = 0;
    while (len < n && p[len] != 0) {
        if (p[len] < 0x20 && p[len] != '\t' && p[len] != '\n' &&
            p[len] != '\r') {
            return false;
        }
        len++;
    }
    n = len;
    char *text = g_strndup((const char *)p, n);
    bool yes = strstr(text, "# Disk DescriptorFile") ||
               strstr(text, "# Disk Descriptor File") ||
               strstr(text, "createType") ||
               g_str_has_prefix(text, "DRIVETYPE") ||
               strstr(text, "\nDRIVETYPE") ||
               g_str_has_prefix(text, "#vm|") || strstr(text, "\nACCESS ");
    g_free(text);
    return yes;
}

BlkFormat blk_probe_format(BlockNode *bs)
{
    uint8_t head[1024];
    int64_t size = blk_node_size(bs);
    if (size <= 0) {
        return BLK_FORMAT_RAW;
    }
    size_t n = (size_t)MIN((int64_t)sizeof(head), size);
    if (blk_node_pread(bs, 0, head, n) < 0) {
        return BLK_FORMAT_RAW;
    }
    if (n >= 8 && memcmp(head, "VMKREDO", 8) == 0) {
        return BLK_FORMAT_REDO;
    }
    if (n >= 512 && memcmp(head, "KDMV", 4) == 0) {
        return BLK_FORMAT_VMDK;
    }
    if (n >= 512 && memcmp(head, "COWD", 4) == 0) {
        return BLK_FORMAT_COWD;
    }
    if (looks_like_descriptor(head, n)) {
        return BLK_FORMAT_DESCRIPTOR;
    }
    if (vmfs_probe(bs, NULL)) {
        return BLK_FORMAT_VMFS;
    }
    return BLK_FORMAT_RAW;
}

const char *blk_format_name(BlkFormat f)
{
    switch (f) {
    case BLK_FORMAT_RAW: return "raw";
    case BLK_FORMAT_REDO: return "REDO log";
    case BLK_FORMAT_VMDK: return "VMware sparse disk";
    case BLK_FORMAT_COWD: return "VMware COWD sparse disk";
    case BLK_FORMAT_DESCRIPTOR: return "VMware disk descriptor";
    case BLK_FORMAT_VMFS: return "VMFS volume";
    }
    return "?";
}
