/*
 * The `vmdk` driver: VMware virtual disks, as VMware Workstation, GSX and
 * ESX Server and qemu-img write them.
 *
 *   - VMDK4 hosted sparse extents ("KDMV"): read and write; monolithicSparse
 *     (one file with an embedded descriptor) and twoGbMaxExtentSparse
 *     (a descriptor and sparse extents of at most 2 GB);
 *   - stream-optimized sparse extents (compressed grains with markers,
 *     the grain directory at the end): read;
 *   - flat extents, monolithicFlat and twoGbMaxExtentFlat: read and write;
 *     ZERO extents: read;
 *   - COWD sparse extents (Workstation 2.x and GSX Server virtual disks,
 *     ESX vmfsSparse): read;
 *   - Workstation plain disks: a text descriptor (DRIVETYPE, CYLINDERS,
 *     HEADS, SECTORS, ACCESS "file" start [sectors]) over raw files.
 *
 * An export writes monolithicSparse, or twoGbMaxExtentSparse when the disk
 * is larger than 2 GB, storing only grains that are not all zero.
 *
 * Reference: VMware "Virtual Disk Format 1.1" (sparse extent header,
 * grain directory and tables, markers, descriptor syntax) and the field
 * layout of the COWD header as documented for it; the Workstation 2.x
 * manual for plain disks.  The ESX Server 1.0 manual: vmkfstools -e/-i.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "block-int.h"

#define SECTOR              512u
#define KDMV_MAGIC          0x564d444bu      /* "KDMV" little-endian */
#define COWD_MAGIC          0x44574f43u      /* "COWD" */
#define GD_AT_END           0xffffffffffffffffull
#define FLAG_NL_TEST        (1u << 0)
#define FLAG_RGD            (1u << 1)
#define FLAG_ZERO_GRAIN     (1u << 2)
#define FLAG_COMPRESSED     (1u << 16)
#define FLAG_MARKERS        (1u << 17)
#define MAX_GTES            512u
#define MAX_GRAIN_SECTORS   0x10000u         /* 32 MiB */
#define COWD_GTES           4096u
#define MAX_DESCRIPTOR      (1u << 20)
#define MAX_EXTENTS         4096
#define MAX_DISK_BYTES      ((uint64_t)1 << 50)
#define TWO_GB_EXTENT_SECTORS 4192256ull     /* 2047 MiB, as VMware splits */

typedef enum { EXT_FLAT, EXT_ZERO, EXT_SPARSE, EXT_COWD } ExtKind;

typedef struct VmdkExtent {
    ExtKind kind;
    BlockNode *file;          /* owned; NULL for ZERO */
    uint64_t start;           /* byte offset in the disk */
    uint64_t size;            /* bytes */
    uint64_t file_offset;     /* FLAT: where the data starts in the file */
    bool writable;
    /* Sparse kinds. */
    uint64_t grain;           /* bytes */
    uint32_t gtes;            /* entries per grain table */
    uint32_t ngd;             /* grain directory entries */
    uint32_t *gd, *rgd;       /* sectors of the grain tables */
    uint32_t **gt;            /* cached grain tables, by directory index */
    bool compressed, markers, zero_grain;
    uint64_t file_sectors;    /* where the next allocation goes */
    uint8_t *zbuf;            /* decompression / copy buffer */
    int64_t zbuf_grain;       /* grain index cached in zbuf, or -1 */
} VmdkExtent;

typedef struct VmdkState {
    VmdkExtent *ext;
    int n;
    uint64_t size;
} VmdkState;

/* ------------------------------------------------------------------------
 * Sparse extents
 * ------------------------------------------------------------------------ */

static void extent_free(VmdkExtent *e)
{
    if (e->gt) {
        for (uint32_t i = 0; i < e->ngd; i++) {
            g_free(e->gt[i]);
        }
    }
    g_free(e->gt);
    g_free(e->gd);
    g_free(e->rgd);
    g_free(e->zbuf);
    blk_node_close(e->file);
}

static int read_dir(BlockNode *f, uint64_t sector, uint32_t n, uint32_t **out)
{
    uint8_t *raw = g_malloc((size_t)n * 4);
    int r = blk_node_pread(f, sector * SECTOR, raw, (size_t)n * 4);
    if (r == 0) {
        uint32_t *d = g_new(uint32_t, n);
        for (uint32_t i = 0; i < n; i++) {
            d[i] = ld32(raw + i * 4);
        }
        *out = d;
    }
    g_free(raw);
    return r;
}

/* Parse a KDMV header at offset `at` of f. */
static int kdmv_parse(BlockNode *f, uint64_t at, uint8_t *h, GError **errp)
{
    int r = blk_node_pread(f, at, h, SECTOR);
    if (r < 0) {
        return blk_fail(errp, r, f->filename);
    }
    if (ld32(h) != KDMV_MAGIC) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: not a VMware sparse extent",
                    f->filename);
        return -EINVAL;
    }
    return 0;
}

static int sparse_open(VmdkExtent *e, uint64_t expect_sectors, GError **errp)
{
    BlockNode *f = e->file;
    uint8_t h[SECTOR];
    if (kdmv_parse(f, 0, h, errp) < 0) {
        return -EINVAL;
    }
    int64_t fsize = blk_node_size(f);
    uint32_t version = ld32(h + 4);
    uint32_t flags = ld32(h + 8);
    uint64_t capacity = ld64(h + 12);
    uint64_t grain = ld64(h + 20);
    uint32_t gtes = ld32(h + 44);
    uint64_t rgd = ld64(h + 48);
    uint64_t gd = ld64(h + 56);
    uint16_t calg = ld16(h + 77);
    const char *why = NULL;
    if (version < 1 || version > 3) {
        why = "unsupported sparse extent version";
    } else if ((flags & FLAG_NL_TEST) &&
               (h[73] != '\n' || h[74] != ' ' || h[75] != '\r' ||
                h[76] != '\n')) {
        why = "line ends were changed (transferred as text?)";
    }
    if (!why && gd == GD_AT_END) {
        /* Stream-optimized: the footer (a header copy) holds the real
         * grain directory, one sector before the end-of-stream marker. */
        uint8_t foot[SECTOR];
        if (fsize < 3 * SECTOR ||
            kdmv_parse(f, (uint64_t)fsize - 2 * SECTOR, foot, NULL) < 0) {
            why = "stream-optimized extent without its footer";
        } else {
            gd = ld64(foot + 56);
            rgd = ld64(foot + 48);
            flags = ld32(foot + 8);
            gtes = ld32(foot + 44);
            grain = ld64(foot + 20);
            capacity = ld64(foot + 12);
        }
    }
    if (!why && (grain == 0 || grain > MAX_GRAIN_SECTORS || gtes == 0 ||
                 gtes > MAX_GTES || capacity == 0 ||
                 capacity > MAX_DISK_BYTES / SECTOR)) {
        why = "bad sparse extent geometry";
    }
    if (!why && expect_sectors && capacity < expect_sectors) {
        why = "sparse extent smaller than its descriptor says";
    }
    if (!why && (flags & FLAG_COMPRESSED) && calg != 1) {
        why = "unknown grain compression";
    }
    uint64_t ngd = 0;
    if (!why) {
        uint64_t span = grain * gtes;
        ngd = (capacity + span - 1) / span;
        if (ngd > ((uint64_t)1 << 24)) {
            why = "grain directory too large";
        }
    }
    if (!why && (gd == 0 || gd > (uint64_t)fsize / SECTOR ||
                 ngd * 4 > (uint64_t)fsize - gd * SECTOR)) {
        why = "grain directory outside the file";
    }
    if (why) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: %s", f->filename, why);
        return -EINVAL;
    }
    e->grain = grain * SECTOR;
    e->gtes = gtes;
    e->ngd = (uint32_t)ngd;
    e->compressed = flags & FLAG_COMPRESSED;
    e->markers = flags & FLAG_MARKERS;
    e->zero_grain = version >= 2 && (flags & FLAG_ZERO_GRAIN);
    if (read_dir(f, gd, e->ngd, &e->gd) < 0 ||
        ((flags & FLAG_RGD) && rgd && rgd < (uint64_t)fsize / SECTOR &&
         ngd * 4 <= (uint64_t)fsize - rgd * SECTOR &&
         read_dir(f, rgd, e->ngd, &e->rgd) < 0)) {
        g_set_error(errp, BLK_ERROR, EIO, "%s: grain directory unreadable",
                    f->filename);
        return -EIO;
    }
    e->gt = g_new0(uint32_t *, e->ngd);
    e->file_sectors = ((uint64_t)fsize + SECTOR - 1) / SECTOR;
    e->zbuf = g_malloc(e->grain);
    e->zbuf_grain = -1;
    if (!expect_sectors) {
        e->size = capacity * SECTOR;
    }
    if (e->compressed) {
        e->writable = false;
    }
    return 0;
}

static int cowd_open(VmdkExtent *e, GError **errp)
{
    BlockNode *f = e->file;
    uint8_t h[2048];
    int64_t fsize = blk_node_size(f);
    int r = fsize < (int64_t)sizeof(h) ? -EINVAL
                                       : blk_node_pread(f, 0, h, sizeof(h));
    const char *why = NULL;
    if (r < 0 || ld32(h) != COWD_MAGIC) {
        why = "not a COWD sparse extent";
    } else {
        uint64_t capacity = ld32(h + 12);
        uint64_t grain = ld32(h + 16);
        uint64_t gd = ld32(h + 20);
        uint64_t ngd = ld32(h + 24);
        if (ld32(h + 4) != 1) {
            why = "unsupported COWD version";
        } else if (capacity == 0 || grain == 0 || grain > MAX_GRAIN_SECTORS) {
            why = "bad COWD geometry";
        } else if (ngd == 0 || ngd > ((uint64_t)1 << 20) ||
                   ngd * COWD_GTES * grain < capacity) {
            why = "COWD grain directory does not cover the disk";
        } else if (gd == 0 || gd * SECTOR + ngd * 4 > (uint64_t)fsize) {
            why = "COWD grain directory outside the file";
        } else {
            e->grain = grain * SECTOR;
            e->gtes = COWD_GTES;
            e->ngd = (uint32_t)ngd;
            if (!e->size) {
                e->size = capacity * SECTOR;
            }
            if (read_dir(f, gd, e->ngd, &e->gd) < 0) {
                why = "COWD grain directory unreadable";
            }
        }
    }
    if (why) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: %s", f->filename, why);
        return -EINVAL;
    }
    e->gt = g_new0(uint32_t *, e->ngd);
    e->writable = false;
    e->zbuf = g_malloc(e->grain);
    e->zbuf_grain = -1;
    return 0;
}

/* The grain table for directory index gi, loaded on first use; NULL when
 * the directory has none. */
static int load_gt(VmdkExtent *e, uint32_t gi, uint32_t **out)
{
    *out = NULL;
    if (e->gt[gi]) {
        *out = e->gt[gi];
        return 0;
    }
    uint32_t sec = e->gd[gi];
    if (sec == 0 || (e->zero_grain && sec == 1)) {
        return 0;
    }
    int64_t fsize = blk_node_size(e->file);
    if ((uint64_t)sec * SECTOR + (uint64_t)e->gtes * 4 > (uint64_t)fsize) {
        return -EIO;
    }
    int r = read_dir(e->file, sec, e->gtes, &e->gt[gi]);
    *out = e->gt[gi];
    return r;
}

/* Grain sector for grain g: >1 stored there; 0 not stored (zero); -errno. */
static int64_t grain_sector(VmdkExtent *e, uint64_t g)
{
    uint64_t gi = g / e->gtes;
    if (gi >= e->ngd) {
        return -EIO;
    }
    uint32_t *gt;
    int r = load_gt(e, (uint32_t)gi, &gt);
    if (r < 0) {
        return r;
    }
    if (!gt) {
        return 0;
    }
    uint32_t s = gt[g % e->gtes];
    if (s == 0 || (e->zero_grain && s == 1)) {
        return 0;
    }
    return s;
}

/* Read a compressed grain into e->zbuf. */
static int read_compressed(VmdkExtent *e, uint64_t g, uint64_t sector)
{
    if (e->zbuf_grain == (int64_t)g) {
        return 0;
    }
    int64_t fsize = blk_node_size(e->file);
    uint64_t off = sector * SECTOR;
    uint8_t hdr[12];
    uint64_t skip = e->markers ? 12 : 0;
    uint64_t csize;
    if (e->markers) {
        if (off + 12 > (uint64_t)fsize ||
            blk_node_pread(e->file, off, hdr, 12) < 0) {
            return -EIO;
        }
        csize = ld32(hdr + 8);
    } else {
        csize = MIN((uint64_t)fsize - MIN(off, (uint64_t)fsize),
                    e->grain * 2 + 4096);
    }
    if (csize == 0 || csize > e->grain * 2 + 4096 ||
        off + skip + csize > (uint64_t)fsize) {
        return -EIO;
    }
    uint8_t *cbuf = g_malloc(csize);
    int r = blk_node_pread(e->file, off + skip, cbuf, (size_t)csize);
    if (r == 0) {
        uLongf dlen = (uLongf)e->grain;
        memset(e->zbuf, 0, e->grain);
        int zr = uncompress(e->zbuf, &dlen, cbuf, (uLong)csize);
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            /* Raw DEFLATE, without the zlib wrapper. */
            z_stream zs = { 0 };
            zs.next_in = cbuf;
            zs.avail_in = (uInt)csize;
            zs.next_out = e->zbuf;
            zs.avail_out = (uInt)e->grain;
            zr = inflateInit2(&zs, -15) == Z_OK ? inflate(&zs, Z_FINISH)
                                                : Z_DATA_ERROR;
            inflateEnd(&zs);
            zr = (zr == Z_STREAM_END || zr == Z_BUF_ERROR) ? Z_OK : zr;
        }
        r = zr == Z_OK || zr == Z_BUF_ERROR ? 0 : -EIO;
    }
    g_free(cbuf);
    e->zbuf_grain = r == 0 ? (int64_t)g : -1;
    return r;
}

static int sparse_read(VmdkExtent *e, uint64_t off, uint8_t *buf, size_t len)
{
    while (len > 0) {
        uint64_t g = off / e->grain, within = off % e->grain;
        size_t n = (size_t)MIN((uint64_t)len, e->grain - within);
        int64_t sec = grain_sector(e, g);
        if (sec < 0) {
            return (int)sec;
        }
        int r = 0;
        if (sec == 0) {
            memset(buf, 0, n);
        } else if (e->compressed) {
            r = read_compressed(e, g, (uint64_t)sec);
            if (r == 0) {
                memcpy(buf, e->zbuf + within, n);
            }
        } else {
            /* Grains stored one after another in the file (as writers
             * append them) are read with one request. */
            uint64_t gsec = e->grain / SECTOR;
            for (uint64_t k = 1; n < len; k++) {
                int64_t next = grain_sector(e, g + k);
                if (next <= 0 || (uint64_t)next != (uint64_t)sec + k * gsec) {
                    break;
                }
                n += (size_t)MIN((uint64_t)(len - n), e->grain);
            }
            uint64_t at = (uint64_t)sec * SECTOR + within;
            int64_t fsize = blk_node_size(e->file);
            if (at + n > (uint64_t)fsize) {
                return -EIO;
            }
            r = blk_node_pread(e->file, at, buf, n);
        }
        if (r < 0) {
            return r;
        }
        buf += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* Readahead for the stored grains of [off, off+len), a request per run of
 * grains that lie one after another in the file. */
static int sparse_prefetch(VmdkExtent *e, uint64_t off, uint64_t len)
{
    if (e->compressed) {
        return 0;
    }
    uint64_t run_at = 0, run_len = 0;
    uint64_t g = off / e->grain, last = (off + len - 1) / e->grain;
    for (; g <= last + 1; g++) {
        int64_t sec = g <= last ? grain_sector(e, g) : 0;
        if (sec < 0) {
            return (int)sec;
        }
        uint64_t at = (uint64_t)sec * SECTOR;
        if (sec > 0 && run_len > 0 && at == run_at + run_len) {
            run_len += e->grain;
            continue;
        }
        if (run_len > 0) {
            blk_node_prefetch(e->file, run_at, run_len);
        }
        run_at = at;
        run_len = sec > 0 ? e->grain : 0;
    }
    return 0;
}

static int write_entry(BlockNode *f, uint64_t sector, uint32_t index,
                       uint32_t value)
{
    uint8_t b[4];
    st32(b, value);
    return blk_node_pwrite(f, sector * SECTOR + (uint64_t)index * 4, b, 4);
}

/* Append a zeroed grain table for directory index gi (both copies). */
static int alloc_gt(VmdkExtent *e, uint32_t gi)
{
    uint64_t bytes = round_up64((uint64_t)e->gtes * 4, SECTOR);
    uint8_t *z = g_malloc0(bytes);
    for (int copy = 0; copy < (e->rgd ? 2 : 1); copy++) {
        uint64_t sec = e->file_sectors;
        if (sec > UINT32_MAX - bytes / SECTOR) {
            g_free(z);
            return -EFBIG;
        }
        int r = blk_node_pwrite(e->file, sec * SECTOR, z, bytes);
        if (r < 0) {
            g_free(z);
            return r;
        }
        e->file_sectors += bytes / SECTOR;
        uint32_t *dir = copy ? e->rgd : e->gd;
        dir[gi] = (uint32_t)sec;
    }
    g_free(z);
    /* Directory entries after the tables they point to reached the file. */
    int r = blk_node_flush(e->file);
    if (r < 0) {
        return r;
    }
    uint8_t h[SECTOR];
    r = blk_node_pread(e->file, 0, h, SECTOR);
    if (r == 0) {
        r = write_entry(e->file, ld64(h + 56), gi, e->gd[gi]);
    }
    if (r == 0 && e->rgd) {
        r = write_entry(e->file, ld64(h + 48), gi, e->rgd[gi]);
    }
    e->gt[gi] = g_new0(uint32_t, e->gtes);
    return r;
}

static int sparse_write(VmdkExtent *e, uint64_t off, const uint8_t *buf,
                        size_t len)
{
    while (len > 0) {
        uint64_t g = off / e->grain, within = off % e->grain;
        size_t n = (size_t)MIN((uint64_t)len, e->grain - within);
        uint32_t gi = (uint32_t)(g / e->gtes), ti = (uint32_t)(g % e->gtes);
        if (gi >= e->ngd) {
            return -EIO;
        }
        uint32_t *gt;
        int r = load_gt(e, gi, &gt);
        if (r == 0 && !gt) {
            r = alloc_gt(e, gi);
            gt = e->gt[gi];
        }
        if (r < 0) {
            return r;
        }
        uint32_t s = gt[ti];
        int64_t fsize = blk_node_size(e->file);
        if (s > 1 || (s == 1 && !e->zero_grain)) {
            /* A damaged table must not send writes past the file's end. */
            if ((uint64_t)s * SECTOR + e->grain > (uint64_t)MAX(fsize, 0)) {
                return -EIO;
            }
            r = blk_node_pwrite(e->file, (uint64_t)s * SECTOR + within, buf, n);
        } else {
            /* A new grain at the end of the file, then its table entry. */
            uint64_t sec = e->file_sectors;
            if (sec > UINT32_MAX - e->grain / SECTOR) {
                return -EFBIG;
            }
            memset(e->zbuf, 0, e->grain);
            memcpy(e->zbuf + within, buf, n);
            r = blk_node_pwrite(e->file, sec * SECTOR, e->zbuf, e->grain);
            if (r == 0) {
                e->file_sectors += e->grain / SECTOR;
                gt[ti] = (uint32_t)sec;
                r = write_entry(e->file, e->gd[gi], ti, (uint32_t)sec);
                /* The redundant table, when it is inside the file. */
                if (r == 0 && e->rgd && e->rgd[gi] > 1 &&
                    (uint64_t)e->rgd[gi] * SECTOR + (uint64_t)e->gtes * 4 <=
                        (uint64_t)MAX(fsize, 0)) {
                    r = write_entry(e->file, e->rgd[gi], ti, (uint32_t)sec);
                }
            }
            e->zbuf_grain = -1;
        }
        if (r < 0) {
            return r;
        }
        buf += n;
        off += n;
        len -= n;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * The driver over a list of extents
 * ------------------------------------------------------------------------ */

typedef enum { OP_READ, OP_WRITE, OP_STATUS, OP_PREFETCH } VmdkOp;

static int vmdk_io(BlockNode *bs, VmdkOp op, uint64_t off, uint8_t *buf,
                   size_t len, uint64_t *pnum)
{
    VmdkState *s = bs->opaque;
    while (len > 0) {
        /* Extents are sorted and contiguous: find the one holding off. */
        int lo = 0, hi = s->n - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;
            if (s->ext[mid].start <= off) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        VmdkExtent *e = &s->ext[lo];
        uint64_t eoff = off - e->start;
        size_t n = (size_t)MIN((uint64_t)len, e->size - eoff);
        int r = 0;
        if (op == OP_STATUS) {
            if (e->kind == EXT_ZERO) {
                *pnum = n;
                return BLK_STATUS_ZERO | BLK_STATUS_ALLOCATED;
            }
            if (e->kind == EXT_FLAT) {
                r = blk_node_block_status(e->file, e->file_offset + eoff, n,
                                          pnum);
                return r < 0 ? r : (r | BLK_STATUS_ALLOCATED);
            }
            uint64_t g = eoff / e->grain;
            int64_t sec = grain_sector(e, g);
            if (sec < 0) {
                return (int)sec;
            }
            uint64_t run = MIN((uint64_t)n, (g + 1) * e->grain - eoff);
            while (run < n) {
                int64_t s2 = grain_sector(e, (eoff + run) / e->grain);
                if (s2 < 0 || (s2 == 0) != (sec == 0)) {
                    break;
                }
                run = MIN((uint64_t)n, run + e->grain);
            }
            *pnum = run;
            return sec == 0 ? BLK_STATUS_ZERO
                            : BLK_STATUS_DATA | BLK_STATUS_ALLOCATED;
        }
        if (op == OP_PREFETCH) {
            if (e->kind == EXT_FLAT) {
                blk_node_prefetch(e->file, e->file_offset + eoff, n);
            } else if (e->kind != EXT_ZERO) {
                r = sparse_prefetch(e, eoff, n);
            }
            if (r < 0) {
                return r;
            }
            off += n;
            len -= n;
            continue;
        }
        if (op == OP_WRITE && !e->writable) {
            return -EROFS;
        }
        switch (e->kind) {
        case EXT_ZERO:
            if (op == OP_READ) {
                memset(buf, 0, n);
            } else {
                r = -EROFS;
            }
            break;
        case EXT_FLAT:
            r = op == OP_READ
                ? blk_node_pread(e->file, e->file_offset + eoff, buf, n)
                : blk_node_pwrite(e->file, e->file_offset + eoff, buf, n);
            break;
        case EXT_SPARSE:
        case EXT_COWD:
            r = op == OP_READ ? sparse_read(e, eoff, buf, n)
                              : sparse_write(e, eoff, buf, n);
            break;
        }
        if (r < 0) {
            return r;
        }
        buf += n;
        off += n;
        len -= n;
    }
    return 0;
}

static int vmdk_pread(BlockNode *bs, uint64_t off, void *buf, size_t len)
{
    return vmdk_io(bs, OP_READ, off, buf, len, NULL);
}

static int vmdk_pwrite(BlockNode *bs, uint64_t off, const void *buf,
                       size_t len)
{
    return vmdk_io(bs, OP_WRITE, off, (uint8_t *)buf, len, NULL);
}

static int vmdk_block_status(BlockNode *bs, uint64_t off, uint64_t len,
                             uint64_t *pnum)
{
    return vmdk_io(bs, OP_STATUS, off, NULL, (size_t)len, pnum);
}

static int vmdk_prefetch(BlockNode *bs, uint64_t off, uint64_t len)
{
    VmdkState *s = bs->opaque;
    if (off >= s->size) {
        return 0;
    }
    len = MIN(len, s->size - off);
    return vmdk_io(bs, OP_PREFETCH, off, NULL, (size_t)len, NULL);
}

static int vmdk_flush(BlockNode *bs)
{
    VmdkState *s = bs->opaque;
    for (int i = 0; i < s->n; i++) {
        if (s->ext[i].file && s->ext[i].writable) {
            int r = blk_node_flush(s->ext[i].file);
            if (r < 0) {
                return r;
            }
        }
    }
    return 0;
}

static int64_t vmdk_get_size(BlockNode *bs)
{
    VmdkState *s = bs->opaque;
    return (int64_t)s->size;
}

static void vmdk_close(BlockNode *bs)
{
    VmdkState *s = bs->opaque;
    if (!s) {
        return;
    }
    for (int i = 0; i < s->n; i++) {
        extent_free(&s->ext[i]);
    }
    g_free(s->ext);
    g_free(s);
}

const BlockDriver blk_driver_vmdk = {
    .name = "vmdk",
    .close = vmdk_close,
    .pread = vmdk_pread,
    .pwrite = vmdk_pwrite,
    .flush = vmdk_flush,
    .get_size = vmdk_get_size,
    .block_status = vmdk_block_status,
    .prefetch = vmdk_prefetch,
};

/* ------------------------------------------------------------------------
 * Descriptors
 * ------------------------------------------------------------------------ */

/* Next whitespace-separated token of *p; quoted tokens keep their spaces. */
static char *next_token(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *tok;
    if (*s == '"') {
        tok = ++s;
        while (*s && *s != '"') {
            s++;
        }
    } else {
        tok = s;
        while (*s && *s != ' ' && *s != '\t') {
            s++;
        }
    }
    if (*s) {
        *s++ = '\0';
    }
    *p = s;
    return tok;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    if (!s || !g_ascii_isdigit(*s)) {
        return false;
    }
    char *end;
    errno = 0;
    *v = g_ascii_strtoull(s, &end, 10);
    return !errno && !*end;
}

typedef struct ExtSpec {
    ExtKind kind;
    bool writable;
    uint64_t sectors;
    char *file;
    uint64_t offset;       /* FLAT: sectors into the file; plain: disk start */
    bool has_start;
} ExtSpec;

static void specs_free(GArray *specs)
{
    for (guint i = 0; i < specs->len; i++) {
        g_free(g_array_index(specs, ExtSpec, i).file);
    }
    g_array_free(specs, TRUE);
}

/* VMDK text descriptor: the extent lines. */
static int parse_vmdk_descriptor(char *text, GArray *specs, const char *name,
                                 GError **errp)
{
    char **lines = g_strsplit(text, "\n", -1);
    int r = 0;
    for (int i = 0; lines[i] && r == 0; i++) {
        char *line = g_strstrip(lines[i]);
        if (!*line || *line == '#') {
            continue;
        }
        char *p = line;
        char *access = next_token(&p);
        bool rw = g_strcmp0(access, "RW") == 0;
        if (!rw && g_strcmp0(access, "RDONLY") != 0 &&
            g_strcmp0(access, "NOACCESS") != 0) {
            continue;     /* header and disk database lines */
        }
        ExtSpec sp = { .writable = rw };
        char *sectors = next_token(&p), *type = next_token(&p);
        if (!parse_u64(sectors, &sp.sectors) || !type || sp.sectors == 0) {
            r = -EINVAL;
        } else if (strcmp(type, "ZERO") == 0) {
            sp.kind = EXT_ZERO;
        } else {
            char *file = next_token(&p), *off = next_token(&p);
            if (!file || !*file) {
                r = -EINVAL;
            } else if (!strcmp(type, "FLAT") || !strcmp(type, "VMFS")) {
                sp.kind = EXT_FLAT;
                if (off && !parse_u64(off, &sp.offset)) {
                    r = -EINVAL;
                }
            } else if (!strcmp(type, "SPARSE")) {
                sp.kind = EXT_SPARSE;
            } else if (!strcmp(type, "VMFSSPARSE")) {
                sp.kind = EXT_COWD;
            } else {
                g_set_error(errp, BLK_ERROR, ENOTSUP, "%s:%d: extent type %s "
                            "is not supported", name, i + 1, type);
                g_strfreev(lines);
                return -ENOTSUP;
            }
            sp.file = r == 0 ? g_strdup(file) : NULL;
        }
        if (r < 0) {
            g_set_error(errp, BLK_ERROR, EINVAL, "%s:%d: bad extent line",
                        name, i + 1);
            break;
        }
        if (specs->len >= MAX_EXTENTS) {
            g_free(sp.file);
            g_set_error(errp, BLK_ERROR, EINVAL, "%s: too many extents", name);
            r = -EINVAL;
            break;
        }
        g_array_append_val(specs, sp);
    }
    g_strfreev(lines);
    if (r == 0 && specs->len == 0) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: descriptor names no extents",
                    name);
        r = -EINVAL;
    }
    return r;
}

/* Workstation plain disk: ACCESS|RDONLY "file" start [sectors], and the
 * geometry for the size. */
static int parse_plain_descriptor(char *text, GArray *specs, uint64_t *size,
                                  const char *name, GError **errp)
{
    char **lines = g_strsplit(text, "\n", -1);
    uint64_t cyl = 0, heads = 0, secs = 0;
    int r = 0;
    for (int i = 0; lines[i] && r == 0; i++) {
        char *line = g_strstrip(lines[i]);
        if (!*line || *line == '#') {
            continue;
        }
        char *p = line;
        char *key = next_token(&p);
        char *v1 = next_token(&p);
        if (!g_ascii_strcasecmp(key, "CYLINDERS")) {
            r = parse_u64(v1, &cyl) ? 0 : -EINVAL;
        } else if (!g_ascii_strcasecmp(key, "HEADS")) {
            r = parse_u64(v1, &heads) ? 0 : -EINVAL;
        } else if (!g_ascii_strcasecmp(key, "SECTORS")) {
            r = parse_u64(v1, &secs) ? 0 : -EINVAL;
        } else if (!g_ascii_strcasecmp(key, "ACCESS") ||
                   !g_ascii_strcasecmp(key, "RDONLY")) {
            char *start = next_token(&p), *count = next_token(&p);
            ExtSpec sp = { .kind = EXT_FLAT, .has_start = true,
                           .writable = !g_ascii_strcasecmp(key, "ACCESS") };
            if (!v1 || !*v1 || (start && !parse_u64(start, &sp.offset)) ||
                (count && !parse_u64(count, &sp.sectors)) ||
                specs->len >= MAX_EXTENTS) {
                r = -EINVAL;
            } else {
                sp.file = g_strdup(v1);
                g_array_append_val(specs, sp);
            }
        }
        if (r < 0) {
            g_set_error(errp, BLK_ERROR, EINVAL, "%s:%d: bad plain disk line",
                        name, i + 1);
        }
    }
    g_strfreev(lines);
    if (r == 0 && specs->len == 0) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: plain disk names no files",
                    name);
        r = -EINVAL;
    }
    if (cyl && heads && secs && cyl < (1u << 24) && heads < 256 &&
        secs < 256) {
        *size = cyl * heads * secs * SECTOR;
    }
    return r;
}

/* ------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------ */

static BlockNode *vmdk_node(VmdkState *s, const char *name, int flags)
{
    BlockNode *bs = blk_node_new(&blk_driver_vmdk, name,
                                 flags & BLK_O_RDWR);
    bs->opaque = s;
    return bs;
}

static void state_free(VmdkState *s)
{
    for (int i = 0; i < s->n; i++) {
        extent_free(&s->ext[i]);
    }
    g_free(s->ext);
    g_free(s);
}

static BlockNode *open_extents(GArray *specs, const char *desc_path,
                               uint64_t plain_size, int flags, GError **errp)
{
    char *dir = g_path_get_dirname(desc_path);
    VmdkState *s = g_new0(VmdkState, 1);
    s->ext = g_new0(VmdkExtent, specs->len);
    bool plain = specs->len && g_array_index(specs, ExtSpec, 0).has_start;
    uint64_t pos = 0;
    int r = 0;
    for (guint i = 0; i < specs->len && r == 0; i++) {
        ExtSpec *sp = &g_array_index(specs, ExtSpec, i);
        VmdkExtent *e = &s->ext[s->n++];
        e->kind = sp->kind;
        e->writable = sp->writable && (flags & BLK_O_RDWR);
        if (sp->file) {
            char *path = g_path_is_absolute(sp->file)
                         ? g_strdup(sp->file)
                         : g_build_filename(dir, sp->file, NULL);
            int fl = !e->writable ? 0
                     : BLK_O_RDWR | (e->kind == EXT_SPARSE ? BLK_O_GROWABLE
                                                           : 0);
            e->file = blk_file_open(path, fl, errp);
            g_free(path);
            if (!e->file) {
                r = -ENOENT;
                break;
            }
        }
        if (plain) {
            /* start is where in the disk the file goes; sectors, if not
             * given, the whole file. */
            int64_t fsz = blk_node_size(e->file);
            e->start = sp->offset * SECTOR;
            e->size = sp->sectors ? sp->sectors * SECTOR
                                  : (uint64_t)MAX(fsz, 0) / SECTOR * SECTOR;
            if (sp->offset > MAX_DISK_BYTES / SECTOR || e->start < pos ||
                e->size > MAX_DISK_BYTES || e->size > (uint64_t)fsz) {
                g_set_error(errp, BLK_ERROR, EINVAL, "%s: extent %u overlaps "
                            "another or exceeds its file", desc_path, i + 1);
                r = -EINVAL;
                break;
            }
        } else {
            e->start = pos;
            e->size = sp->sectors * SECTOR;
            if (sp->sectors > MAX_DISK_BYTES / SECTOR ||
                pos + e->size > MAX_DISK_BYTES) {
                g_set_error(errp, BLK_ERROR, EINVAL, "%s: disk too large",
                            desc_path);
                r = -EINVAL;
                break;
            }
        }
        switch (e->kind) {
        case EXT_FLAT: {
            e->file_offset = sp->has_start ? 0 : sp->offset * SECTOR;
            int64_t fsz = blk_node_size(e->file);
            if (sp->offset > MAX_DISK_BYTES / SECTOR ||
                e->file_offset + e->size > (uint64_t)MAX(fsz, 0)) {
                g_set_error(errp, BLK_ERROR, EINVAL, "%s: flat extent is "
                            "shorter than its descriptor says",
                            e->file->filename);
                r = -EINVAL;
            }
            break;
        }
        case EXT_SPARSE:
            r = sparse_open(e, sp->sectors, errp);
            break;
        case EXT_COWD:
            r = cowd_open(e, errp);
            break;
        case EXT_ZERO:
            break;
        }
        pos = e->start + e->size;
    }
    g_free(dir);
    if (r < 0) {
        state_free(s);
        return NULL;
    }
    if (plain) {
        /* Gaps between plain extents read as zero. */
        GArray *all = g_array_new(FALSE, TRUE, sizeof(VmdkExtent));
        uint64_t at = 0;
        for (int i = 0; i < s->n; i++) {
            if (s->ext[i].start > at) {
                VmdkExtent z = { .kind = EXT_ZERO, .start = at,
                                 .size = s->ext[i].start - at };
                g_array_append_val(all, z);
            }
            g_array_append_val(all, s->ext[i]);
            at = s->ext[i].start + s->ext[i].size;
        }
        if (plain_size > at && plain_size <= MAX_DISK_BYTES) {
            VmdkExtent z = { .kind = EXT_ZERO, .start = at,
                             .size = plain_size - at };
            g_array_append_val(all, z);
            at = plain_size;
        }
        g_free(s->ext);
        s->n = (int)all->len;
        s->ext = (VmdkExtent *)g_array_free(all, FALSE);
        pos = at;
    }
    /* Drop empty extents (a plain file of size 0). */
    int k = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->ext[i].size > 0) {
            s->ext[k++] = s->ext[i];
        } else {
            extent_free(&s->ext[i]);
        }
    }
    s->n = k;
    if (s->n == 0) {
        state_free(s);
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: empty disk", desc_path);
        return NULL;
    }
    s->size = pos;
    return vmdk_node(s, desc_path, flags);
}

BlockNode *blk_vmdk_open_file(BlockNode *file, BlkFormat fmt, int flags,
                              GError **errp)
{
    char *name = g_strdup(file->filename);
    BlockNode *bs = NULL;
    if (fmt == BLK_FORMAT_VMDK || fmt == BLK_FORMAT_COWD) {
        VmdkState *s = g_new0(VmdkState, 1);
        s->ext = g_new0(VmdkExtent, 1);
        s->n = 1;
        VmdkExtent *e = &s->ext[0];
        e->kind = fmt == BLK_FORMAT_VMDK ? EXT_SPARSE : EXT_COWD;
        e->file = file;
        e->writable = (flags & BLK_O_RDWR) != 0;
        if (e->writable) {
            file->flags |= BLK_O_GROWABLE;     /* grains are appended */
        }
        int r = fmt == BLK_FORMAT_VMDK ? sparse_open(e, 0, errp)
                                       : cowd_open(e, errp);
        if (r < 0) {
            state_free(s);
        } else {
            s->size = e->size;
            bs = vmdk_node(s, name, flags);
        }
        g_free(name);
        return bs;
    }
    /* A text descriptor. */
    int64_t size = blk_node_size(file);
    if (size < 0 || size > MAX_DESCRIPTOR) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: descriptor too large", name);
        blk_node_close(file);
        g_free(name);
        return NULL;
    }
    char *text = g_malloc((size_t)size + 1);
    int r = blk_node_pread(file, 0, text, (size_t)size);
    text[size] = '\0';
    blk_node_close(file);
    if (r < 0) {
        blk_fail(errp, r, name);
    } else if (!blk_buffer_is_zero(text + strnlen(text, (size_t)size),
                                   (size_t)size - strnlen(text, (size_t)size))) {
        /* Text, then at most NUL padding (qemu-img pads to a sector). */
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: not a text descriptor",
                    name);
    } else {
        GArray *specs = g_array_new(FALSE, TRUE, sizeof(ExtSpec));
        uint64_t plain_size = 0;
        bool is_plain = strstr(text, "# Disk Descriptor") == NULL &&
                        strstr(text, "createType") == NULL;
        r = is_plain ? parse_plain_descriptor(text, specs, &plain_size, name,
                                              errp)
                     : parse_vmdk_descriptor(text, specs, name, errp);
        if (r == 0) {
            bs = open_extents(specs, name, plain_size, flags, errp);
        }
        specs_free(specs);
    }
    g_free(text);
    g_free(name);
    return bs;
}

/* ------------------------------------------------------------------------
 * Export
 * ------------------------------------------------------------------------ */

#define EXPORT_GRAIN_SECTORS 128u     /* 64 KiB */
#define EXPORT_GTES          512u
#define EXPORT_DESC_SECTORS  20u
#define EXPORT_CHUNK         ((size_t)2 << 20)

typedef struct ExportJob {
    BlockNode *src;
    BlkProgressFunc *progress;
    void *opaque;
    uint64_t done, total;
} ExportJob;

static void geometry(uint64_t sectors, uint64_t *c, uint64_t *h, uint64_t *s)
{
    *h = 16;
    *s = 63;
    *c = MIN(sectors / (16 * 63), (uint64_t)16383);
}

static char *descriptor_text(const char *create_type, const char *extents,
                             uint64_t sectors)
{
    uint64_t c, h, s;
    geometry(sectors, &c, &h, &s);
    return g_strdup_printf(
        "# Disk DescriptorFile\n"
        "version=1\n"
        "CID=%08x\n"
        "parentCID=ffffffff\n"
        "createType=\"%s\"\n"
        "\n"
        "# Extent description\n"
        "%s"
        "\n"
        "# The Disk Data Base\n"
        "#DDB\n"
        "\n"
        "ddb.virtualHWVersion = \"4\"\n"
        "ddb.geometry.cylinders = \"%" PRIu64 "\"\n"
        "ddb.geometry.heads = \"%" PRIu64 "\"\n"
        "ddb.geometry.sectors = \"%" PRIu64 "\"\n"
        "ddb.adapterType = \"buslogic\"\n",
        g_random_int(), create_type, extents, c, h, s);
}

/* Write one sparse extent file holding src[start, start + sectors·512). */
static int write_sparse_extent(ExportJob *j, const char *path, uint64_t start,
                               uint64_t sectors, const char *desc,
                               GError **errp)
{
    const uint64_t gs = EXPORT_GRAIN_SECTORS, gbytes = gs * SECTOR;
    uint64_t ngrains = (sectors + gs - 1) / gs;
    uint64_t ngt = (ngrains + EXPORT_GTES - 1) / EXPORT_GTES;
    uint64_t gd_sectors = (ngt * 4 + SECTOR - 1) / SECTOR;
    uint64_t gt_sectors = ngt * EXPORT_GTES * 4 / SECTOR;
    uint64_t desc_sectors = desc ? EXPORT_DESC_SECTORS : 0;
    uint64_t rgd = 1 + desc_sectors;
    uint64_t rgt = rgd + gd_sectors;
    uint64_t gd = rgt + gt_sectors;
    uint64_t gt = gd + gd_sectors;
    uint64_t overhead = round_up64(gt + gt_sectors, gs);
    if (desc && strlen(desc) > EXPORT_DESC_SECTORS * SECTOR) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: descriptor too long", path);
        return -EINVAL;
    }
    GError *err = NULL;
    BlockNode *f = blk_file_open(path, BLK_O_RDWR | BLK_O_CREATE | BLK_O_EXCL |
                                 BLK_O_GROWABLE, &err);
    if (!f) {
        g_propagate_error(errp, err);
        return -EEXIST;
    }
    uint32_t *table = g_new0(uint32_t, ngt * EXPORT_GTES);
    uint64_t next = overhead;
    int r = 0;
    /* Grains that are not all zero go to the file in disk order, so runs
     * of them are written with one request each. */
    uint64_t end = start + sectors * SECTOR;
    BlkReader *rd = blk_reader_new(j->src, start, end, EXPORT_CHUNK, gbytes,
                                   end - start > EXPORT_CHUNK
                                   ? BLK_READER_THREAD : 0);
    BlkWriteback wb;
    blk_writeback_init(&wb, f);
    const BlkChunk *c;
    while (r == 0 && (c = blk_reader_next(rd)) != NULL) {
        if (c->err) {
            r = c->err;
            blk_reader_release(rd, c);
            break;
        }
        if (!c->zero) {
            uint64_t padded = round_up64(c->len, gbytes);
            memset(c->buf + c->len, 0, (size_t)(padded - c->len));
            uint64_t run_at = 0, run_len = 0;
            for (uint64_t at = 0; at <= padded && r == 0; at += gbytes) {
                bool data = at < padded &&
                            !blk_buffer_is_zero(c->buf + at, (size_t)gbytes);
                if (data && next + run_len / SECTOR > UINT32_MAX - gs) {
                    r = -EFBIG;
                    break;
                }
                if (data) {
                    if (run_len == 0) {
                        run_at = at;
                    }
                    table[(c->off - start + at) / gbytes] =
                        (uint32_t)(next + run_len / SECTOR);
                    run_len += gbytes;
                } else if (run_len > 0) {
                    uint64_t woff = next * SECTOR;
                    r = blk_node_pwrite(f, woff, c->buf + run_at,
                                        (size_t)run_len);
                    blk_writeback_note(&wb, woff, run_len);
                    next += run_len / SECTOR;
                    run_len = 0;
                }
            }
        }
        j->done += c->len;
        blk_reader_release(rd, c);
        if (j->progress) {
            j->progress(j->opaque, j->done, j->total);
        }
    }
    blk_reader_free(rd);
    blk_writeback_finish(&wb);
    if (r == 0) {
        /* Tables, directories (both copies), descriptor, header last. */
        uint8_t *raw = g_malloc0(gt_sectors * SECTOR);
        for (uint64_t i = 0; i < ngt * EXPORT_GTES; i++) {
            st32(raw + i * 4, table[i]);
        }
        r = blk_node_pwrite(f, gt * SECTOR, raw, gt_sectors * SECTOR);
        if (r == 0) {
            r = blk_node_pwrite(f, rgt * SECTOR, raw, gt_sectors * SECTOR);
        }
        g_free(raw);
        uint8_t *dir = g_malloc0(gd_sectors * SECTOR);
        for (int copy = 0; copy < 2 && r == 0; copy++) {
            uint64_t base = copy ? rgt : gt;
            for (uint64_t i = 0; i < ngt; i++) {
                st32(dir + i * 4, (uint32_t)(base + i * EXPORT_GTES * 4 /
                                             SECTOR));
            }
            r = blk_node_pwrite(f, (copy ? rgd : gd) * SECTOR, dir,
                                gd_sectors * SECTOR);
        }
        g_free(dir);
    }
    if (r == 0 && desc) {
        uint8_t *d = g_malloc0(EXPORT_DESC_SECTORS * SECTOR);
        memcpy(d, desc, strlen(desc));
        r = blk_node_pwrite(f, SECTOR, d, EXPORT_DESC_SECTORS * SECTOR);
        g_free(d);
    }
    if (r == 0 && blk_node_size(f) < (int64_t)(next * SECTOR)) {
        r = blk_node_pwrite_zeroes(f, (uint64_t)blk_node_size(f),
                                   next * SECTOR - (uint64_t)blk_node_size(f));
    }
    if (r == 0) {
        uint8_t h[SECTOR] = { 0 };
        st32(h, KDMV_MAGIC);
        st32(h + 4, 1);
        st32(h + 8, FLAG_NL_TEST | FLAG_RGD);
        st64(h + 12, sectors);
        st64(h + 20, gs);
        st64(h + 28, desc ? 1 : 0);
        st64(h + 36, desc_sectors);
        st32(h + 44, EXPORT_GTES);
        st64(h + 48, rgd);
        st64(h + 56, gd);
        st64(h + 64, overhead);
        h[72] = 0;
        h[73] = '\n';
        h[74] = ' ';
        h[75] = '\r';
        h[76] = '\n';
        r = blk_node_pwrite(f, 0, h, SECTOR);
    }
    if (r == 0) {
        r = blk_node_flush(f);
    }
    g_free(table);
    blk_node_close(f);
    if (r < 0) {
        unlink(path);
        return blk_fail(errp, r, path);
    }
    return 0;
}

static int write_text(const char *path, const char *text, GError **errp)
{
    GError *err = NULL;
    BlockNode *f = blk_file_open(path, BLK_O_RDWR | BLK_O_CREATE | BLK_O_EXCL |
                                 BLK_O_GROWABLE, &err);
    if (!f) {
        g_propagate_error(errp, err);
        return -EEXIST;
    }
    int r = blk_node_pwrite(f, 0, text, strlen(text));
    if (r == 0) {
        r = blk_node_flush(f);
    }
    blk_node_close(f);
    if (r < 0) {
        unlink(path);
        return blk_fail(errp, r, path);
    }
    return 0;
}

int blk_vmdk_export(BlockNode *src, const char *path, VmdkSubformat fmt,
                    BlkProgressFunc *progress, void *opaque, GError **errp)
{
    int64_t size = blk_node_size(src);
    if (size < 0) {
        return blk_fail(errp, (int)size, src->filename);
    }
    if (size % SECTOR) {
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: size is not a whole number "
                    "of sectors", src->filename);
        return -EINVAL;
    }
    uint64_t sectors = (uint64_t)size / SECTOR;
    ExportJob j = { .src = src, .progress = progress, .opaque = opaque,
                    .total = (uint64_t)size };
    char *base = g_path_get_basename(path);
    char *dir = g_path_get_dirname(path);
    int r;
    if (fmt == VMDK_MONOLITHIC_SPARSE) {
        char *ext = g_strdup_printf("RW %" PRIu64 " SPARSE \"%s\"\n", sectors,
                                    base);
        char *desc = descriptor_text("monolithicSparse", ext, sectors);
        /* Built under a temporary name, renamed when complete. */
        char *tmp = g_strdup_printf("%s.part-%d", path, (int)getpid());
        r = write_sparse_extent(&j, tmp, 0, sectors, desc, errp);
        if (r == 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, path,
                                RENAME_NOREPLACE) < 0) {
            r = -errno;
            blk_fail(errp, r, path);
            unlink(tmp);
        }
        g_free(tmp);
        g_free(desc);
        g_free(ext);
    } else if (fmt == VMDK_TWOGB_SPARSE) {
        /* name.vmdk + name-s001.vmdk ... */
        char *stem = g_str_has_suffix(base, ".vmdk")
                     ? g_strndup(base, strlen(base) - 5) : g_strdup(base);
        GString *ext = g_string_new(NULL);
        GPtrArray *made = g_ptr_array_new_with_free_func(g_free);
        r = 0;
        for (uint64_t at = 0, n = 1; at < sectors && r == 0; n++) {
            uint64_t cnt = MIN(TWO_GB_EXTENT_SECTORS, sectors - at);
            char *fname = g_strdup_printf("%s-s%03" PRIu64 ".vmdk", stem, n);
            char *fpath = g_build_filename(dir, fname, NULL);
            r = write_sparse_extent(&j, fpath, at * SECTOR, cnt, NULL, errp);
            if (r == 0) {
                g_ptr_array_add(made, g_strdup(fpath));
                g_string_append_printf(ext, "RW %" PRIu64 " SPARSE \"%s\"\n",
                                       cnt, fname);
            }
            g_free(fname);
            g_free(fpath);
            at += cnt;
        }
        if (r == 0) {
            char *desc = descriptor_text("twoGbMaxExtentSparse", ext->str,
                                         sectors);
            r = write_text(path, desc, errp);
            g_free(desc);
        }
        if (r < 0) {
            for (guint i = 0; i < made->len; i++) {
                unlink(made->pdata[i]);
            }
        }
        g_ptr_array_free(made, TRUE);
        g_string_free(ext, TRUE);
        g_free(stem);
    } else {
        g_set_error(errp, BLK_ERROR, ENOTSUP, "%s: only sparse exports are "
                    "written", path);
        r = -ENOTSUP;
    }
    g_free(base);
    g_free(dir);
    return r;
}
