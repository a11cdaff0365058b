/*
 * The `vmfs` driver: vmkemu's VMFS volume and the files in it.
 *
 * Models the VMware ESX Server file system as the ESX Server 1.0 manual
 * describes it ("File System Management on SCSI Disks and RAID", "Utility
 * to Mount VMFS File Systems", "Limitations"): a flat namespace of files
 * with names of up to 128 bytes, a file block size (default 1 MB), a
 * maximum file count (default 64), a file system name, and disk-image files
 * that are 512 bytes longer than the disk they hold, the extra 512 bytes
 * being an attribute header with the image size.
 *
 * The on-disk layout is our own, specified in docs/vmfs-format.md: two
 * generation-numbered superblocks, each paired with one copy of the
 * metadata (file table, free-block bitmap, extent list).  An update writes
 * the copy that the older superblock points to, flushes, then writes that
 * superblock with the next generation and flushes again, so a crash at any
 * point leaves either the old or the new state.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "block-int.h"

#define SB_SLOT_OFFSET(i)   (0x10000u + (uint64_t)(i) * 0x1000u)
#define SB_SIZE             512
#define SB_END              0x12000u
#define META_BASE           0x20000u
#define META_HDR_SIZE       64
#define ENTRY_SIZE          256
#define EXTENT_SIZE         8
#define EXTENTS_PER_FILE    128          /* extent capacity per file slot */
#define VMFS_VERSION        1
#define VMFS_MAX_FILES_LIMIT 16384
#define VMFS_MIN_BLOCK      4096u
#define VMFS_MAX_BLOCK      (256u << 20)

#define FILE_USED           1u
#define FILE_INCOMPLETE     2u

/* Lock bytes (in the host file's lock space, relative to the volume). */
#define LOCK_TXN            0
#define LOCK_FILE(i)        (16 + (uint64_t)(i))

static const char sb_magic[8] = "VMKEMUFS";
static const char meta_magic[8] = "VMFSMETA";
static const char disk_magic[8] = "VMFSDISK";

typedef struct VmfsSuper {
    uint64_t gen;
    uint8_t uuid[16];
    uint32_t block_size;
    uint32_t max_files;
    uint32_t ext_capacity;
    uint32_t flags;
    uint64_t device_size;
    uint64_t data_offset;
    uint64_t nblocks;
    uint64_t meta_offset[2];
    uint64_t meta_capacity;
    uint64_t meta_length;
    uint32_t meta_crc;
    char fsname[64];
} VmfsSuper;

typedef struct VmfsExtent {
    uint32_t start, count;
} VmfsExtent;

typedef struct VmfsFile {
    char name[VMFS_NAME_MAX + 1];
    uint32_t flags;
    uint32_t type;
    uint64_t length;
    uint64_t ctime, mtime;
    VmfsExtent *ext;
    uint32_t next;
    uint64_t nalloc;           /* blocks */
} VmfsFile;

typedef struct VmfsState {
    VmfsSuper sb;
    VmfsFile *files;           /* sb.max_files entries */
    uint8_t *bitmap;           /* bit i set: data block i in use */
} VmfsState;

/* How this instance uses a file slot.  Lock bytes are per open file
 * description, so a second open in the same instance must not touch the
 * byte again (that would convert or drop the first one's lock). */
typedef struct SlotUse {
    int opens;                 /* nodes open on the slot */
    int lockers;               /* of which hold the slot's lock byte */
    bool writer;               /* the lock is held exclusively */
} SlotUse;

struct VmfsVolume {
    BlockNode *dev;
    bool owns_dev;
    bool writable;
    int refcnt;
    GMutex lock;               /* in-process: guards st and use */
    VmfsState st;
    SlotUse *use;              /* per file slot, this instance only */
    bool in_txn;
};

/* ------------------------------------------------------------------------
 * Geometry
 * ------------------------------------------------------------------------ */

static uint64_t bitmap_bytes(uint64_t nblocks)
{
    return round_up64(nblocks, 64) / 8;
}

static uint64_t meta_size(uint32_t max_files, uint64_t nblocks,
                          uint64_t nextents)
{
    return META_HDR_SIZE + (uint64_t)max_files * ENTRY_SIZE +
           bitmap_bytes(nblocks) + nextents * EXTENT_SIZE;
}

static inline bool bm_test(const uint8_t *bm, uint64_t i)
{
    return bm[i >> 3] & (1u << (i & 7));
}

static inline void bm_set(uint8_t *bm, uint64_t i)
{
    bm[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static inline void bm_clear(uint8_t *bm, uint64_t i)
{
    bm[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

/* ------------------------------------------------------------------------
 * Superblock encoding
 * ------------------------------------------------------------------------ */

static void sb_encode(const VmfsSuper *s, uint8_t *b)
{
    memset(b, 0, SB_SIZE);
    memcpy(b, sb_magic, 8);
    st32(b + 8, VMFS_VERSION);
    st32(b + 12, SB_SIZE);
    st64(b + 16, s->gen);
    memcpy(b + 24, s->uuid, 16);
    st32(b + 40, s->block_size);
    st32(b + 44, s->max_files);
    st64(b + 48, s->device_size);
    st64(b + 56, s->data_offset);
    st64(b + 64, s->nblocks);
    st32(b + 72, s->ext_capacity);
    st32(b + 76, s->flags);
    st64(b + 80, s->meta_offset[0]);
    st64(b + 88, s->meta_offset[1]);
    st64(b + 96, s->meta_capacity);
    st64(b + 104, s->meta_length);
    st32(b + 112, s->meta_crc);
    memcpy(b + 120, s->fsname, 64);
    st32(b + 508, blk_crc32(b, 508));
}

/* Decode and check one superblock slot; *why says what is wrong. */
static int sb_decode(const uint8_t *b, int slot, uint64_t devsize,
                     VmfsSuper *s, const char **why)
{
    if (memcmp(b, sb_magic, 8) != 0) {
        *why = "no VMFS superblock";
        return -ENOENT;
    }
    if (ld32(b + 508) != blk_crc32(b, 508)) {
        *why = "superblock checksum mismatch";
        return -EUCLEAN;
    }
    if (ld32(b + 8) != VMFS_VERSION || ld32(b + 12) != SB_SIZE) {
        *why = "unsupported VMFS version";
        return -ENOTSUP;
    }
    memset(s, 0, sizeof(*s));
    s->gen = ld64(b + 16);
    memcpy(s->uuid, b + 24, 16);
    s->block_size = ld32(b + 40);
    s->max_files = ld32(b + 44);
    s->device_size = ld64(b + 48);
    s->data_offset = ld64(b + 56);
    s->nblocks = ld64(b + 64);
    s->ext_capacity = ld32(b + 72);
    s->flags = ld32(b + 76);
    s->meta_offset[0] = ld64(b + 80);
    s->meta_offset[1] = ld64(b + 88);
    s->meta_capacity = ld64(b + 96);
    s->meta_length = ld64(b + 104);
    s->meta_crc = ld32(b + 112);
    memcpy(s->fsname, b + 120, 64);

    *why = "bad superblock geometry";
    if (s->gen == 0 || (int)(s->gen % 2) != slot) {
        *why = "superblock generation does not match its slot";
        return -EUCLEAN;
    }
    if (!is_pow2_u64(s->block_size) || s->block_size < VMFS_MIN_BLOCK ||
        s->block_size > VMFS_MAX_BLOCK) {
        return -EUCLEAN;
    }
    if (s->max_files < 1 || s->max_files > VMFS_MAX_FILES_LIMIT ||
        s->ext_capacity < s->max_files ||
        s->ext_capacity > (uint32_t)s->max_files * EXTENTS_PER_FILE * 4) {
        return -EUCLEAN;
    }
    if (s->nblocks < 1 || s->nblocks > UINT32_MAX || s->flags != 0) {
        return -EUCLEAN;
    }
    if (s->fsname[63] != '\0') {
        return -EUCLEAN;
    }
    if (s->data_offset % 512 || s->data_offset > devsize ||
        s->nblocks > (devsize - s->data_offset) / s->block_size) {
        *why = "volume larger than its device";
        return -EUCLEAN;
    }
    uint64_t need = meta_size(s->max_files, s->nblocks, s->ext_capacity);
    if (s->meta_capacity < need || s->meta_capacity > ((uint64_t)1 << 31) ||
        s->meta_capacity % 512) {
        return -EUCLEAN;
    }
    for (int i = 0; i < 2; i++) {
        if (s->meta_offset[i] < SB_END || s->meta_offset[i] % 512 ||
            s->meta_offset[i] > s->data_offset ||
            s->data_offset - s->meta_offset[i] < s->meta_capacity) {
            return -EUCLEAN;
        }
    }
    uint64_t lo = MIN(s->meta_offset[0], s->meta_offset[1]);
    uint64_t hi = MAX(s->meta_offset[0], s->meta_offset[1]);
    if (hi - lo < s->meta_capacity) {
        return -EUCLEAN;
    }
    if (s->meta_length < meta_size(s->max_files, s->nblocks, 0) ||
        s->meta_length > s->meta_capacity ||
        (s->meta_length - meta_size(s->max_files, s->nblocks, 0)) %
            EXTENT_SIZE) {
        return -EUCLEAN;
    }
    *why = NULL;
    return 0;
}

/* ------------------------------------------------------------------------
 * Metadata encoding
 * ------------------------------------------------------------------------ */

static void state_free(VmfsState *st)
{
    if (st->files) {
        for (uint32_t i = 0; i < st->sb.max_files; i++) {
            g_free(st->files[i].ext);
        }
    }
    g_free(st->files);
    g_free(st->bitmap);
    st->files = NULL;
    st->bitmap = NULL;
}

static uint64_t state_extents(const VmfsState *st)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < st->sb.max_files; i++) {
        if (st->files[i].flags & FILE_USED) {
            n += st->files[i].next;
        }
    }
    return n;
}

/* Serialize into a new buffer; returns its length or -ENOSPC when the
 * extents no longer fit the metadata area. */
static int64_t meta_encode(const VmfsState *st, uint64_t gen, uint8_t **out)
{
    const VmfsSuper *s = &st->sb;
    uint64_t next = state_extents(st);
    if (next > s->ext_capacity) {
        return -ENOSPC;
    }
    uint64_t len = meta_size(s->max_files, s->nblocks, next);
    uint8_t *b = g_malloc0(len);
    memcpy(b, meta_magic, 8);
    st32(b + 8, VMFS_VERSION);
    st32(b + 12, s->max_files);
    st64(b + 16, gen);
    memcpy(b + 24, s->uuid, 16);
    st64(b + 40, s->nblocks);
    st32(b + 48, (uint32_t)next);
    st32(b + 52, s->ext_capacity);
    st32(b + 56, ENTRY_SIZE);

    uint8_t *tab = b + META_HDR_SIZE;
    uint8_t *bm = tab + (uint64_t)s->max_files * ENTRY_SIZE;
    uint8_t *ext = bm + bitmap_bytes(s->nblocks);
    memcpy(bm, st->bitmap, bitmap_bytes(s->nblocks));
    uint32_t used = 0;
    for (uint32_t i = 0; i < s->max_files; i++) {
        const VmfsFile *f = &st->files[i];
        uint8_t *e = tab + (uint64_t)i * ENTRY_SIZE;
        if (!(f->flags & FILE_USED)) {
            continue;
        }
        memcpy(e, f->name, strnlen(f->name, VMFS_NAME_MAX));
        st32(e + 128, f->flags);
        st32(e + 132, f->type);
        st64(e + 136, f->length);
        st64(e + 144, f->ctime);
        st64(e + 152, f->mtime);
        st32(e + 160, used);
        st32(e + 164, f->next);
        st64(e + 168, f->nalloc);
        for (uint32_t j = 0; j < f->next; j++, used++) {
            st32(ext + (uint64_t)used * EXTENT_SIZE, f->ext[j].start);
            st32(ext + (uint64_t)used * EXTENT_SIZE + 4, f->ext[j].count);
        }
    }
    *out = b;
    return (int64_t)len;
}

static int meta_decode(const uint8_t *b, uint64_t len, VmfsState *st,
                       const char **why)
{
    const VmfsSuper *s = &st->sb;
    *why = "metadata header does not match the superblock";
    if (memcmp(b, meta_magic, 8) != 0 || ld32(b + 8) != VMFS_VERSION ||
        ld32(b + 12) != s->max_files || ld64(b + 16) != s->gen ||
        memcmp(b + 24, s->uuid, 16) != 0 || ld64(b + 40) != s->nblocks ||
        ld32(b + 52) != s->ext_capacity || ld32(b + 56) != ENTRY_SIZE) {
        return -EUCLEAN;
    }
    uint32_t next = ld32(b + 48);
    if (next > s->ext_capacity ||
        meta_size(s->max_files, s->nblocks, next) != len) {
        *why = "metadata length does not match its extent count";
        return -EUCLEAN;
    }
    const uint8_t *tab = b + META_HDR_SIZE;
    const uint8_t *bm = tab + (uint64_t)s->max_files * ENTRY_SIZE;
    const uint8_t *ext = bm + bitmap_bytes(s->nblocks);

    st->files = g_new0(VmfsFile, s->max_files);
    st->bitmap = g_memdup2(bm, bitmap_bytes(s->nblocks));
    for (uint32_t i = 0; i < s->max_files; i++) {
        const uint8_t *e = tab + (uint64_t)i * ENTRY_SIZE;
        VmfsFile *f = &st->files[i];
        f->flags = ld32(e + 128);
        if (!(f->flags & FILE_USED)) {
            f->flags = 0;
            continue;
        }
        *why = "bad file table entry";
        if (f->flags & ~(FILE_USED | FILE_INCOMPLETE)) {
            return -EUCLEAN;
        }
        size_t nl = strnlen((const char *)e, VMFS_NAME_MAX);
        if (nl == 0) {
            return -EUCLEAN;
        }
        memcpy(f->name, e, nl);
        f->name[nl] = '\0';
        f->type = ld32(e + 132);
        f->length = ld64(e + 136);
        f->ctime = ld64(e + 144);
        f->mtime = ld64(e + 152);
        uint32_t first = ld32(e + 160);
        uint32_t count = ld32(e + 164);
        f->nalloc = ld64(e + 168);
        if (f->type != VMFS_FILE_DISK && f->type != VMFS_FILE_PLAIN) {
            return -EUCLEAN;
        }
        if ((uint64_t)first + count > next) {
            *why = "file extents outside the extent list";
            return -EUCLEAN;
        }
        f->ext = g_new(VmfsExtent, MAX(count, 1));
        f->next = count;
        uint64_t sum = 0;
        for (uint32_t j = 0; j < count; j++) {
            const uint8_t *x = ext + (uint64_t)(first + j) * EXTENT_SIZE;
            f->ext[j].start = ld32(x);
            f->ext[j].count = ld32(x + 4);
            if (f->ext[j].count == 0 || f->ext[j].start >= s->nblocks ||
                f->ext[j].count > s->nblocks - f->ext[j].start) {
                *why = "file extent outside the volume";
                return -EUCLEAN;
            }
            sum += f->ext[j].count;
        }
        if (sum != f->nalloc) {
            *why = "file block count does not match its extents";
            return -EUCLEAN;
        }
        if (f->length > f->nalloc * s->block_size ||
            (f->type == VMFS_FILE_DISK && f->length < VMFS_DISK_HEADER_SIZE)) {
            *why = "file length does not fit its blocks";
            return -EUCLEAN;
        }
    }
    *why = NULL;
    return 0;
}

/* ------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------ */

typedef struct SbSlot {
    int err;                   /* 0: decoded */
    const char *why;
    VmfsSuper sb;
} SbSlot;

static int read_slots(BlockNode *dev, SbSlot slot[2])
{
    int64_t devsize = blk_node_size(dev);
    if (devsize < 0) {
        return (int)devsize;
    }
    for (int i = 0; i < 2; i++) {
        uint8_t b[SB_SIZE];
        slot[i].why = "device too small for a VMFS";
        slot[i].err = -ENOENT;
        if ((uint64_t)devsize < SB_END) {
            continue;
        }
        int r = blk_node_pread(dev, SB_SLOT_OFFSET(i), b, SB_SIZE);
        if (r < 0) {
            return r;
        }
        slot[i].err = sb_decode(b, i, (uint64_t)devsize, &slot[i].sb,
                                &slot[i].why);
    }
    return 0;
}

/* Load the newest consistent state.  Reports what it sees when report is
 * non-NULL (fsck).  *used_fallback tells that the newest superblock's
 * update was interrupted and the previous generation is in force. */
static int state_load(BlockNode *dev, VmfsState *st, GString *report,
                      bool *used_fallback, GError **errp)
{
    SbSlot slot[2];
    int r = read_slots(dev, slot);
    if (r < 0) {
        return blk_fail(errp, r, dev->filename);
    }
    int order[2] = { 0, 1 };
    if (slot[1].err == 0 &&
        (slot[0].err != 0 || slot[1].sb.gen > slot[0].sb.gen)) {
        order[0] = 1;
        order[1] = 0;
    }
    if (report) {
        for (int i = 0; i < 2; i++) {
            if (slot[i].err == 0) {
                g_string_append_printf(report, "superblock %d: generation %"
                                       PRIu64 "\n", i, slot[i].sb.gen);
            } else {
                g_string_append_printf(report, "superblock %d: %s\n", i,
                                       slot[i].why);
            }
        }
    }
    if (used_fallback) {
        *used_fallback = false;
    }
    const char *first_why = NULL;
    int first_err = 0;
    for (int k = 0; k < 2; k++) {
        SbSlot *sl = &slot[order[k]];
        if (sl->err != 0) {
            if (!first_why) {
                first_why = sl->why;
                first_err = sl->err;
            }
            continue;
        }
        if (k == 1 && slot[order[0]].err == 0 &&
            memcmp(slot[order[0]].sb.uuid, sl->sb.uuid, 16) != 0) {
            /* A superblock of an older, reformatted volume. */
            continue;
        }
        memset(st, 0, sizeof(*st));
        st->sb = sl->sb;
        uint8_t *m = g_malloc(sl->sb.meta_length);
        r = blk_node_pread(dev, sl->sb.meta_offset[order[k]], m,
                           sl->sb.meta_length);
        const char *why = "metadata unreadable";
        if (r == 0) {
            if (blk_crc32(m, sl->sb.meta_length) != sl->sb.meta_crc) {
                why = "metadata checksum mismatch";
                r = -EUCLEAN;
            } else {
                r = meta_decode(m, sl->sb.meta_length, st, &why);
            }
        }
        g_free(m);
        if (r == 0) {
            if (k == 1 && used_fallback) {
                *used_fallback = true;
            }
            if (report && k == 1) {
                /* Metadata is flushed before its superblock is written, so
                 * no crash leaves a valid superblock over bad metadata:
                 * this is damage, survived by the older generation. */
                g_string_append_printf(report,
                    "generation %" PRIu64 " has damaged metadata; generation %"
                    PRIu64 " is in force\n", slot[order[0]].sb.gen,
                    sl->sb.gen);
            }
            return 0;
        }
        state_free(st);
        if (report) {
            g_string_append_printf(report, "generation %" PRIu64 ": %s\n",
                                   sl->sb.gen, why);
        }
        if (!first_why || first_err == -ENOENT) {
            first_why = why;
            first_err = r;
        }
    }
    if (!first_why) {
        first_why = "no VMFS superblock";
        first_err = -ENOENT;
    }
    if (first_err == -ENOENT) {
        g_set_error(errp, BLK_ERROR, ENOENT, "%s: no VMFS file system",
                    dev->filename);
    } else {
        g_set_error(errp, BLK_ERROR, -first_err, "%s: VMFS damaged: %s",
                    dev->filename, first_why);
    }
    return first_err;
}

/* Cross-checks beyond what decoding ensures: blocks owned by one file at
 * most, the bitmap equal to the union of the extents, names unique. */
static int state_check(const VmfsState *st, GString *report, int max_lines)
{
    const VmfsSuper *s = &st->sb;
    int problems = 0;
    uint8_t *owned = g_malloc0(bitmap_bytes(s->nblocks));
#define PROBLEM(...) do { \
        if (report && problems < max_lines) { \
            g_string_append_printf(report, __VA_ARGS__); \
        } \
        problems++; \
    } while (0)
    for (uint32_t i = 0; i < s->max_files; i++) {
        const VmfsFile *f = &st->files[i];
        if (!(f->flags & FILE_USED)) {
            continue;
        }
        for (uint32_t j = 0; j < f->next; j++) {
            for (uint64_t b = f->ext[j].start;
                 b < (uint64_t)f->ext[j].start + f->ext[j].count; b++) {
                if (bm_test(owned, b)) {
                    PROBLEM("block %" PRIu64 " belongs to more than one file"
                            " ('%s' and another)\n", b, f->name);
                } else {
                    bm_set(owned, b);
                }
            }
        }
        if (!(f->flags & FILE_INCOMPLETE)) {
            for (uint32_t k = i + 1; k < s->max_files; k++) {
                const VmfsFile *g = &st->files[k];
                if ((g->flags & (FILE_USED | FILE_INCOMPLETE)) == FILE_USED &&
                    strcmp(f->name, g->name) == 0) {
                    PROBLEM("file name '%s' appears twice\n", f->name);
                }
            }
        }
    }
    for (uint64_t b = 0; b < s->nblocks; b++) {
        bool in_map = bm_test(st->bitmap, b);
        bool in_file = bm_test(owned, b);
        if (in_map && !in_file) {
            PROBLEM("block %" PRIu64 " is marked used but no file holds it "
                    "(lost block)\n", b);
        } else if (!in_map && in_file) {
            PROBLEM("block %" PRIu64 " is held by a file but marked free\n",
                    b);
        }
    }
    for (uint64_t b = s->nblocks; b < round_up64(s->nblocks, 64); b++) {
        if (bm_test(st->bitmap, b)) {
            PROBLEM("free-space map has bits set past the last block\n");
            break;
        }
    }
#undef PROBLEM
    g_free(owned);
    if (report && problems > max_lines) {
        g_string_append_printf(report, "... and %d more problems\n",
                               problems - max_lines);
    }
    return problems;
}

/* ------------------------------------------------------------------------
 * Volumes and transactions
 * ------------------------------------------------------------------------ */

bool vmfs_probe(BlockNode *dev, char *fsname)
{
    SbSlot slot[2];
    if (read_slots(dev, slot) < 0) {
        return false;
    }
    int best = -1;
    for (int i = 0; i < 2; i++) {
        if (slot[i].err == 0 &&
            (best < 0 || slot[i].sb.gen > slot[best].sb.gen)) {
            best = i;
        }
    }
    if (best < 0) {
        return false;
    }
    if (fsname) {
        memcpy(fsname, slot[best].sb.fsname, VMFS_FSNAME_MAX + 1);
    }
    return true;
}

const char *vmfs_volume_name(VmfsVolume *vol)
{
    return vol->dev->filename;
}

static VmfsVolume *volume_new(BlockNode *dev, bool writable, bool owns)
{
    VmfsVolume *v = g_new0(VmfsVolume, 1);
    v->dev = dev;
    v->owns_dev = owns;
    v->writable = writable;
    v->refcnt = 1;
    g_mutex_init(&v->lock);
    return v;
}

static void volume_unref(VmfsVolume *v)
{
    if (!v || --v->refcnt > 0) {
        return;
    }
    state_free(&v->st);
    g_free(v->use);
    g_mutex_clear(&v->lock);
    if (v->owns_dev) {
        blk_node_close(v->dev);
    }
    g_free(v);
}

VmfsVolume *vmfs_volume_open(BlockNode *dev, bool writable, GError **errp)
{
    if (writable && !(dev->flags & BLK_O_RDWR)) {
        g_set_error(errp, BLK_ERROR, EROFS, "%s: opened read-only",
                    dev->filename);
        blk_node_close(dev);
        return NULL;
    }
    VmfsVolume *v = volume_new(dev, writable, true);
    if (state_load(dev, &v->st, NULL, NULL, errp) < 0) {
        volume_unref(v);
        return NULL;
    }
    if (writable && state_check(&v->st, NULL, 0) > 0) {
        g_set_error(errp, BLK_ERROR, EUCLEAN,
                    "%s: VMFS is inconsistent; run vmkfstools --fsck %s",
                    dev->filename, dev->filename);
        volume_unref(v);
        return NULL;
    }
    v->use = g_new0(SlotUse, v->st.sb.max_files);
    return v;
}

void vmfs_volume_close(VmfsVolume *vol)
{
    volume_unref(vol);
}

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

/* Write the in-memory state as the next generation. */
static int state_commit(BlockNode *dev, VmfsState *st, GError **errp)
{
    VmfsSuper ns = st->sb;
    ns.gen++;
    int k = (int)(ns.gen % 2);
    uint8_t *m = NULL;
    int64_t len = meta_encode(st, ns.gen, &m);
    if (len < 0) {
        g_set_error(errp, BLK_ERROR, ENOSPC,
                    "%s: VMFS metadata full (too many extents; the volume is "
                    "too fragmented)", dev->filename);
        return (int)len;
    }
    ns.meta_length = (uint64_t)len;
    ns.meta_crc = blk_crc32(m, (size_t)len);
    int r = blk_node_pwrite(dev, ns.meta_offset[k], m, (size_t)len);
    g_free(m);
    if (r == 0) {
        r = blk_node_flush(dev);
    }
    if (r == 0) {
        uint8_t b[SB_SIZE];
        sb_encode(&ns, b);
        r = blk_node_pwrite(dev, SB_SLOT_OFFSET(k), b, SB_SIZE);
    }
    if (r == 0) {
        r = blk_node_flush(dev);
    }
    if (r < 0) {
        return blk_fail(errp, r, dev->filename);
    }
    st->sb = ns;
    return 0;
}

/* Is file slot i an interrupted create nobody is finishing? */
static bool slot_is_stale(VmfsVolume *v, uint32_t i)
{
    if (v->use[i].opens > 0) {
        return false;
    }
    if (blk_node_lock(v->dev, LOCK_FILE(i), BLK_LOCK_EXCL) < 0) {
        return false;
    }
    blk_node_lock(v->dev, LOCK_FILE(i), BLK_LOCK_UNLOCK);
    return true;
}

static void file_free_blocks(VmfsState *st, VmfsFile *f)
{
    for (uint32_t j = 0; j < f->next; j++) {
        for (uint64_t b = f->ext[j].start;
             b < (uint64_t)f->ext[j].start + f->ext[j].count; b++) {
            bm_clear(st->bitmap, b);
        }
    }
    g_free(f->ext);
    memset(f, 0, sizeof(*f));
}

/* Begin an update: take the volume's update lock (other processes wait),
 * pick up their changes, and reclaim interrupted creates. Called with
 * v->lock held. */
static int txn_begin(VmfsVolume *v, GError **errp)
{
    if (!v->writable) {
        g_set_error(errp, BLK_ERROR, EROFS, "%s: opened read-only",
                    v->dev->filename);
        return -EROFS;
    }
    int r = blk_node_lock(v->dev, LOCK_TXN, BLK_LOCK_EXCL | BLK_LOCK_WAIT);
    if (r < 0 && r != -ENOTSUP) {
        return blk_fail(errp, r, v->dev->filename);
    }
    /* Reload when another process moved the volume on. */
    SbSlot slot[2];
    r = read_slots(v->dev, slot);
    bool changed = r < 0;
    for (int i = 0; r == 0 && i < 2; i++) {
        if (slot[i].err == 0 && slot[i].sb.gen > v->st.sb.gen) {
            changed = true;
        }
    }
    if (changed) {
        VmfsState ns;
        if (state_load(v->dev, &ns, NULL, NULL, errp) < 0) {
            blk_node_lock(v->dev, LOCK_TXN, BLK_LOCK_UNLOCK);
            return -EIO;
        }
        if (ns.sb.max_files != v->st.sb.max_files ||
            memcmp(ns.sb.uuid, v->st.sb.uuid, 16) != 0) {
            state_free(&ns);
            g_set_error(errp, BLK_ERROR, ESTALE,
                        "%s: the VMFS was reformatted while open",
                        v->dev->filename);
            blk_node_lock(v->dev, LOCK_TXN, BLK_LOCK_UNLOCK);
            return -ESTALE;
        }
        state_free(&v->st);
        v->st = ns;
    }
    v->in_txn = true;
    /* Interrupted creates go with the caller's change. */
    for (uint32_t i = 0; i < v->st.sb.max_files; i++) {
        VmfsFile *f = &v->st.files[i];
        if ((f->flags & FILE_INCOMPLETE) && slot_is_stale(v, i)) {
            file_free_blocks(&v->st, f);
        }
    }
    return 0;
}

static void txn_end(VmfsVolume *v)
{
    v->in_txn = false;
    blk_node_lock(v->dev, LOCK_TXN, BLK_LOCK_UNLOCK);
}

/* Throw away in-memory changes: reload what is on disk. */
static void txn_abort(VmfsVolume *v)
{
    VmfsState ns;
    if (state_load(v->dev, &ns, NULL, NULL, NULL) == 0) {
        state_free(&v->st);
        v->st = ns;
    }
    txn_end(v);
}

static int txn_commit(VmfsVolume *v, GError **errp)
{
    int r = state_commit(v->dev, &v->st, errp);
    if (r < 0) {
        txn_abort(v);
        return r;
    }
    txn_end(v);
    return 0;
}

/* ------------------------------------------------------------------------
 * Allocation
 * ------------------------------------------------------------------------ */

static void file_add_extent(VmfsFile *f, uint32_t start, uint32_t count)
{
    if (f->next > 0 &&
        (uint64_t)f->ext[f->next - 1].start + f->ext[f->next - 1].count ==
            start &&
        (uint64_t)f->ext[f->next - 1].count + count <= UINT32_MAX) {
        f->ext[f->next - 1].count += count;
    } else {
        f->ext = g_renew(VmfsExtent, f->ext, f->next + 1);
        f->ext[f->next].start = start;
        f->ext[f->next].count = count;
        f->next++;
    }
    f->nalloc += count;
}

static uint64_t count_free(const VmfsState *st)
{
    uint64_t n = 0;
    for (uint64_t b = 0; b < st->sb.nblocks; b++) {
        n += !bm_test(st->bitmap, b);
    }
    return n;
}

/* Give f `need` more blocks: right after its last extent when free, else
 * the first free run that holds them all, else free runs in order. */
static int alloc_blocks(VmfsState *st, VmfsFile *f, uint64_t need)
{
    uint64_t nb = st->sb.nblocks;
    if (need == 0) {
        return 0;
    }
    if (count_free(st) < need) {
        return -ENOSPC;
    }
    if (f->next > 0) {
        uint64_t b = (uint64_t)f->ext[f->next - 1].start +
                     f->ext[f->next - 1].count;
        uint64_t run = 0;
        while (b + run < nb && run < need && !bm_test(st->bitmap, b + run)) {
            run++;
        }
        if (run == need) {
            for (uint64_t i = 0; i < run; i++) {
                bm_set(st->bitmap, b + i);
            }
            file_add_extent(f, (uint32_t)b, (uint32_t)run);
            return 0;
        }
    }
    /* First run large enough for everything. */
    for (uint64_t b = 0; b < nb;) {
        if (bm_test(st->bitmap, b)) {
            b++;
            continue;
        }
        uint64_t run = 0;
        while (b + run < nb && !bm_test(st->bitmap, b + run)) {
            run++;
        }
        if (run >= need) {
            for (uint64_t i = 0; i < need; i++) {
                bm_set(st->bitmap, b + i);
            }
            file_add_extent(f, (uint32_t)b, (uint32_t)need);
            return 0;
        }
        b += run;
    }
    /* Fragmented: take runs in address order. */
    for (uint64_t b = 0; b < nb && need > 0; b++) {
        if (bm_test(st->bitmap, b)) {
            continue;
        }
        uint64_t run = 0;
        while (b + run < nb && run < need && !bm_test(st->bitmap, b + run)) {
            bm_set(st->bitmap, b + run);
            run++;
        }
        file_add_extent(f, (uint32_t)b, (uint32_t)run);
        need -= run;
        b += run;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------ */

static int check_name(const char *name, GError **errp)
{
    size_t n = strlen(name);
    if (n == 0 || n > VMFS_NAME_MAX) {
        g_set_error(errp, BLK_ERROR, ENAMETOOLONG,
                    "file name '%s': must be 1 to %d bytes", name,
                    VMFS_NAME_MAX);
        return -ENAMETOOLONG;
    }
    if (strchr(name, '/') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0) {
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "file name '%s': VMFS has no directories", name);
        return -EINVAL;
    }
    for (const char *p = name; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            g_set_error(errp, BLK_ERROR, EINVAL,
                        "file name '%s': control characters are not allowed",
                        name);
            return -EINVAL;
        }
    }
    return 0;
}

static int find_file(const VmfsState *st, const char *name)
{
    for (uint32_t i = 0; i < st->sb.max_files; i++) {
        const VmfsFile *f = &st->files[i];
        if ((f->flags & (FILE_USED | FILE_INCOMPLETE)) == FILE_USED &&
            strcmp(f->name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int find_any(const VmfsState *st, const char *name)
{
    for (uint32_t i = 0; i < st->sb.max_files; i++) {
        const VmfsFile *f = &st->files[i];
        if ((f->flags & FILE_USED) && strcmp(f->name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void file_info(const VmfsState *st, const VmfsFile *f, VmfsFileInfo *fi)
{
    memset(fi, 0, sizeof(*fi));
    g_strlcpy(fi->name, f->name, sizeof(fi->name));
    fi->type = f->type;
    fi->length = f->length;
    fi->disk_size = f->type == VMFS_FILE_DISK ?
                    f->length - VMFS_DISK_HEADER_SIZE : 0;
    fi->allocated = f->nalloc * st->sb.block_size;
    fi->mtime = (int64_t)f->mtime;
}

int vmfs_volume_info(VmfsVolume *v, VmfsVolumeInfo *info, GError **errp)
{
    g_mutex_lock(&v->lock);
    memset(info, 0, sizeof(*info));
    g_strlcpy(info->fsname, v->st.sb.fsname, sizeof(info->fsname));
    info->block_size = v->st.sb.block_size;
    info->max_files = v->st.sb.max_files;
    info->total_blocks = v->st.sb.nblocks;
    info->generation = v->st.sb.gen;
    uint64_t used = 0;
    for (uint32_t i = 0; i < v->st.sb.max_files; i++) {
        const VmfsFile *f = &v->st.files[i];
        if (f->flags & FILE_USED) {
            used += f->nalloc;
            if (!(f->flags & FILE_INCOMPLETE)) {
                info->nfiles++;
            }
        }
    }
    info->free_blocks = v->st.sb.nblocks - MIN(used, v->st.sb.nblocks);
    g_mutex_unlock(&v->lock);
    return 0;
}

int vmfs_list(VmfsVolume *v, VmfsFileInfo **files, int *n, GError **errp)
{
    g_mutex_lock(&v->lock);
    VmfsFileInfo *out = g_new0(VmfsFileInfo, MAX(v->st.sb.max_files, 1));
    int k = 0;
    for (uint32_t i = 0; i < v->st.sb.max_files; i++) {
        const VmfsFile *f = &v->st.files[i];
        if ((f->flags & (FILE_USED | FILE_INCOMPLETE)) == FILE_USED) {
            file_info(&v->st, f, &out[k++]);
        }
    }
    g_mutex_unlock(&v->lock);
    *files = out;
    *n = k;
    return 0;
}

int vmfs_stat(VmfsVolume *v, const char *name, VmfsFileInfo *info,
              GError **errp)
{
    g_mutex_lock(&v->lock);
    int i = find_file(&v->st, name);
    if (i >= 0) {
        file_info(&v->st, &v->st.files[i], info);
    }
    g_mutex_unlock(&v->lock);
    if (i < 0) {
        g_set_error(errp, BLK_ERROR, ENOENT, "%s:%s: no such file",
                    v->dev->filename, name);
        return -ENOENT;
    }
    return 0;
}

static int check_fsname(const char *fsname, GError **errp)
{
    size_t n = strlen(fsname);
    if (n == 0 || n > VMFS_FSNAME_MAX) {
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "file system name '%s': must be 1 to %d characters",
                    fsname, VMFS_FSNAME_MAX);
        return -EINVAL;
    }
    for (const char *p = fsname; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("._-+", *p)) {
            g_set_error(errp, BLK_ERROR, EINVAL,
                        "file system name '%s': use letters, digits and "
                        "._-+ only", fsname);
            return -EINVAL;
        }
    }
    int a, t;
    char c;
    if (sscanf(fsname, "vmhba%d%c", &a, &c) == 1 ||
        sscanf(fsname, "scsi%d%c", &t, &c) == 1) {
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "file system name '%s': looks like an adapter name",
                    fsname);
        return -EINVAL;
    }
    return 0;
}

int vmfs_set_fsname(VmfsVolume *v, const char *fsname, GError **errp)
{
    if (check_fsname(fsname, errp) < 0) {
        return -EINVAL;
    }
    g_mutex_lock(&v->lock);
    int r = txn_begin(v, errp);
    if (r == 0) {
        memset(v->st.sb.fsname, 0, sizeof(v->st.sb.fsname));
        g_strlcpy(v->st.sb.fsname, fsname, sizeof(v->st.sb.fsname));
        r = txn_commit(v, errp);
    }
    g_mutex_unlock(&v->lock);
    return r;
}

/* ------------------------------------------------------------------------
 * The file driver
 * ------------------------------------------------------------------------ */

typedef struct VmfsFileState {
    VmfsVolume *vol;
    uint32_t idx;
    uint64_t base;              /* 512 for disk images, 0 for plain files */
    uint64_t length;            /* plain files: current length in memory */
    bool length_dirty;
    bool locked;                /* holds the file's lock byte */
} VmfsFileState;

/* Device offset of file byte foff and how many bytes follow contiguously. */
static int file_map(VmfsVolume *v, uint32_t idx, uint64_t foff,
                    uint64_t *devoff, uint64_t *contig)
{
    const VmfsFile *f = &v->st.files[idx];
    uint64_t bs = v->st.sb.block_size;
    uint64_t blk = foff / bs, within = foff % bs;
    for (uint32_t j = 0; j < f->next; j++) {
        if (blk < f->ext[j].count) {
            *devoff = v->st.sb.data_offset +
                      ((uint64_t)f->ext[j].start + blk) * bs + within;
            *contig = ((uint64_t)f->ext[j].count - blk) * bs - within;
            return 0;
        }
        blk -= f->ext[j].count;
    }
    return -EIO;
}

typedef enum {
    IO_READ, IO_WRITE, IO_ZERO, IO_DISCARD, IO_STATUS, IO_WRITEBACK,
    IO_PREFETCH
} IoKind;

static int file_io(BlockNode *bs, IoKind kind, uint64_t off, void *buf,
                   uint64_t len, uint64_t *pnum)
{
    VmfsFileState *s = bs->opaque;
    VmfsVolume *v = s->vol;
    uint64_t foff = s->base + off;
    uint8_t *p = buf;
    while (len > 0) {
        uint64_t devoff, contig;
        g_mutex_lock(&v->lock);
        int r = file_map(v, s->idx, foff, &devoff, &contig);
        g_mutex_unlock(&v->lock);
        if (r < 0) {
            return r;
        }
        uint64_t n = MIN(len, contig);
        switch (kind) {
        case IO_READ:
            r = blk_node_pread(v->dev, devoff, p, (size_t)n);
            break;
        case IO_WRITE:
            r = blk_node_pwrite(v->dev, devoff, p, (size_t)n);
            break;
        case IO_ZERO:
            r = blk_node_pwrite_zeroes(v->dev, devoff, n);
            break;
        case IO_DISCARD:
            r = blk_node_discard(v->dev, devoff, n);
            break;
        case IO_WRITEBACK:
            r = blk_node_start_writeback(v->dev, devoff, n);
            break;
        case IO_PREFETCH:
            r = blk_node_prefetch(v->dev, devoff, n);
            break;
        case IO_STATUS:
            r = blk_node_block_status(v->dev, devoff, n, pnum);
            return r < 0 ? r : r | BLK_STATUS_ALLOCATED;
        }
        if (r < 0) {
            return r;
        }
        foff += n;
        len -= n;
        if (p) {
            p += n;
        }
    }
    return 0;
}

static int64_t vmfs_file_get_size(BlockNode *bs)
{
    VmfsFileState *s = bs->opaque;
    if (s->base == 0) {
        return (int64_t)s->length;
    }
    VmfsVolume *v = s->vol;
    g_mutex_lock(&v->lock);
    int64_t len = (int64_t)(v->st.files[s->idx].length - s->base);
    g_mutex_unlock(&v->lock);
    return len;
}

static int vmfs_file_pread(BlockNode *bs, uint64_t off, void *buf, size_t len)
{
    return file_io(bs, IO_READ, off, buf, len, NULL);
}

/* Make sure the file has blocks through byte `end` (plain files grow). */
static int file_grow(BlockNode *bs, uint64_t end)
{
    VmfsFileState *s = bs->opaque;
    VmfsVolume *v = s->vol;
    g_mutex_lock(&v->lock);
    uint64_t bsz = v->st.sb.block_size;
    int r = 0;
    if (v->st.files[s->idx].nalloc * bsz < end) {
        GError *err = NULL;
        r = txn_begin(v, &err);
        if (r == 0) {
            VmfsFile *f = &v->st.files[s->idx];
            uint64_t have = f->nalloc * bsz;
            if (have < end) {
                r = alloc_blocks(&v->st, f, (end - have + bsz - 1) / bsz);
            }
            if (r == 0) {
                r = txn_commit(v, &err);
            } else {
                txn_abort(v);
            }
        }
        g_clear_error(&err);
    }
    g_mutex_unlock(&v->lock);
    return r;
}

static int vmfs_file_pwrite(BlockNode *bs, uint64_t off, const void *buf,
                            size_t len)
{
    VmfsFileState *s = bs->opaque;
    if (s->base == 0 && off + len > s->length) {
        int r = file_grow(bs, off + len);
        if (r < 0) {
            return r;
        }
    }
    int r = file_io(bs, IO_WRITE, off, (void *)buf, len, NULL);
    if (r == 0 && s->base == 0 && off + len > s->length) {
        s->length = off + len;
        s->length_dirty = true;
    }
    return r;
}

static int vmfs_file_pwrite_zeroes(BlockNode *bs, uint64_t off, uint64_t len)
{
    VmfsFileState *s = bs->opaque;
    if (s->base == 0 && off + len > s->length) {
        int r = file_grow(bs, off + len);
        if (r < 0) {
            return r;
        }
    }
    int r = file_io(bs, IO_ZERO, off, NULL, len, NULL);
    if (r == 0 && s->base == 0 && off + len > s->length) {
        s->length = off + len;
        s->length_dirty = true;
    }
    return r;
}

static int vmfs_file_discard(BlockNode *bs, uint64_t off, uint64_t len)
{
    VmfsFileState *s = bs->opaque;
    if (s->base == 0) {
        return 0;
    }
    return file_io(bs, IO_DISCARD, off, NULL, len, NULL);
}

static int vmfs_file_block_status(BlockNode *bs, uint64_t off, uint64_t len,
                                  uint64_t *pnum)
{
    return file_io(bs, IO_STATUS, off, NULL, len, pnum);
}

static int vmfs_file_start_writeback(BlockNode *bs, uint64_t off,
                                     uint64_t len)
{
    return file_io(bs, IO_WRITEBACK, off, NULL, len, NULL);
}

static int vmfs_file_prefetch(BlockNode *bs, uint64_t off, uint64_t len)
{
    return file_io(bs, IO_PREFETCH, off, NULL, len, NULL);
}

static int vmfs_file_flush(BlockNode *bs)
{
    VmfsFileState *s = bs->opaque;
    VmfsVolume *v = s->vol;
    int r = blk_node_flush(v->dev);
    if (r < 0 || !s->length_dirty) {
        return r;
    }
    g_mutex_lock(&v->lock);
    GError *err = NULL;
    r = txn_begin(v, &err);
    if (r == 0) {
        VmfsFile *f = &v->st.files[s->idx];
        f->length = s->length;
        f->mtime = (uint64_t)now_seconds();
        r = txn_commit(v, &err);
        if (r == 0) {
            s->length_dirty = false;
        }
    }
    g_clear_error(&err);
    g_mutex_unlock(&v->lock);
    return r;
}

static void vmfs_file_close(BlockNode *bs)
{
    VmfsFileState *s = bs->opaque;
    if (!s) {
        return;
    }
    VmfsVolume *v = s->vol;
    if (bs->flags & BLK_O_RDWR) {
        vmfs_file_flush(bs);
    }
    g_mutex_lock(&v->lock);
    SlotUse *u = &v->use[s->idx];
    u->opens--;
    if (s->locked && --u->lockers == 0) {
        u->writer = false;
        blk_node_lock(v->dev, LOCK_FILE(s->idx), BLK_LOCK_UNLOCK);
    }
    g_mutex_unlock(&v->lock);
    volume_unref(v);
    g_free(s);
}

const BlockDriver blk_driver_vmfs = {
    .name = "vmfs",
    .close = vmfs_file_close,
    .pread = vmfs_file_pread,
    .pwrite = vmfs_file_pwrite,
    .pwrite_zeroes = vmfs_file_pwrite_zeroes,
    .flush = vmfs_file_flush,
    .discard = vmfs_file_discard,
    .get_size = vmfs_file_get_size,
    .block_status = vmfs_file_block_status,
    .start_writeback = vmfs_file_start_writeback,
    .prefetch = vmfs_file_prefetch,
};

/* Open slot idx (v->lock held).  take_lock: take the file's lock byte
 * (shared to read, exclusive to write). */
static BlockNode *file_node_new(VmfsVolume *v, uint32_t idx, int flags,
                                bool take_lock, GError **errp)
{
    const VmfsFile *f = &v->st.files[idx];
    SlotUse *u = &v->use[idx];
    if (take_lock) {
        bool rw = flags & BLK_O_RDWR;
        int r = 0;
        if (rw ? u->opens > 0 : u->writer) {
            r = -EAGAIN;
        } else if (u->lockers == 0) {
            r = blk_node_lock(v->dev, LOCK_FILE(idx),
                              rw ? BLK_LOCK_EXCL : BLK_LOCK_SHARED);
        }
        if (r == -EAGAIN) {
            g_set_error(errp, BLK_ERROR, EBUSY, "%s:%s: file is in use",
                        v->dev->filename, f->name);
            return NULL;
        }
        if (r < 0 && r != -ENOTSUP) {
            blk_fail(errp, r, v->dev->filename);
            return NULL;
        }
        u->lockers++;
        u->writer = rw;
    }
    char *name = g_strdup_printf("%s:%s", v->dev->filename, f->name);
    if (f->type == VMFS_FILE_DISK) {
        flags &= ~BLK_O_GROWABLE;
    }
    BlockNode *bs = blk_node_new(&blk_driver_vmfs, name, flags);
    g_free(name);
    VmfsFileState *s = g_new0(VmfsFileState, 1);
    s->vol = v;
    s->idx = idx;
    s->base = f->type == VMFS_FILE_DISK ? VMFS_DISK_HEADER_SIZE : 0;
    s->length = f->length;
    s->locked = take_lock;
    bs->opaque = s;
    u->opens++;
    v->refcnt++;
    return bs;
}

BlockNode *vmfs_file_open(VmfsVolume *v, const char *name, int flags,
                          GError **errp)
{
    if ((flags & BLK_O_RDWR) && !v->writable) {
        g_set_error(errp, BLK_ERROR, EROFS, "%s:%s: volume opened read-only",
                    v->dev->filename, name);
        return NULL;
    }
    g_mutex_lock(&v->lock);
    int i = find_file(&v->st, name);
    BlockNode *bs = NULL;
    if (i < 0) {
        g_set_error(errp, BLK_ERROR, ENOENT, "%s:%s: no such file",
                    v->dev->filename, name);
    } else {
        bs = file_node_new(v, (uint32_t)i, flags, true, errp);
    }
    g_mutex_unlock(&v->lock);
    return bs;
}

/* ------------------------------------------------------------------------
 * Create and remove
 * ------------------------------------------------------------------------ */

static void disk_header_encode(uint8_t *b, uint64_t disk_size, uint64_t ctime)
{
    memset(b, 0, VMFS_DISK_HEADER_SIZE);
    memcpy(b, disk_magic, 8);
    st32(b + 8, 1);
    st32(b + 12, VMFS_DISK_HEADER_SIZE);
    st64(b + 16, disk_size);
    st64(b + 24, disk_size / BLK_SECTOR_SIZE);
    st64(b + 32, ctime);
    st32(b + 508, blk_crc32(b, 508));
}

/* 0 when b is a valid header for a disk of disk_size bytes. */
static const char *disk_header_check(const uint8_t *b, uint64_t disk_size)
{
    if (memcmp(b, disk_magic, 8) != 0) {
        return "no disk attribute header";
    }
    if (ld32(b + 508) != blk_crc32(b, 508)) {
        return "disk attribute header checksum mismatch";
    }
    if (ld32(b + 8) != 1 || ld32(b + 12) != VMFS_DISK_HEADER_SIZE) {
        return "unknown disk attribute header version";
    }
    if (ld64(b + 16) != disk_size) {
        return "disk attribute header size differs from the file length";
    }
    return NULL;
}

static int remove_slot(VmfsVolume *v, uint32_t idx, GError **errp);

int vmfs_create(VmfsVolume *v, const char *name, VmfsFileType type,
                uint64_t size, VmfsFillFunc *fill, void *opaque,
                GError **errp)
{
    if (check_name(name, errp) < 0) {
        return -EINVAL;
    }
    if (type == VMFS_FILE_DISK && size % BLK_SECTOR_SIZE) {
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "%s: disk size %" PRIu64 " is not a multiple of 512 bytes",
                    name, size);
        return -EINVAL;
    }
    uint64_t length = size + (type == VMFS_FILE_DISK ? VMFS_DISK_HEADER_SIZE
                                                     : 0);
    if (length < size) {
        g_set_error(errp, BLK_ERROR, EFBIG, "%s: size too large", name);
        return -EFBIG;
    }
    g_mutex_lock(&v->lock);
    int r = txn_begin(v, errp);
    if (r < 0) {
        g_mutex_unlock(&v->lock);
        return r;
    }
    /* Phase 1: an incomplete entry holding the blocks (invisible). */
    int i = find_any(&v->st, name);
    if (i >= 0) {
        bool busy = v->st.files[i].flags & FILE_INCOMPLETE;
        g_set_error(errp, BLK_ERROR, EEXIST, "%s:%s: %s", v->dev->filename,
                    name, busy ? "file is being created" : "file exists");
        txn_abort(v);
        g_mutex_unlock(&v->lock);
        return -EEXIST;
    }
    for (uint32_t k = 0; k < v->st.sb.max_files; k++) {
        if (!(v->st.files[k].flags & FILE_USED)) {
            i = (int)k;
            break;
        }
    }
    if (i < 0) {
        g_set_error(errp, BLK_ERROR, ENOSPC,
                    "%s: file table full (%u files; see -n)",
                    v->dev->filename, v->st.sb.max_files);
        txn_abort(v);
        g_mutex_unlock(&v->lock);
        return -ENOSPC;
    }
    /* The slot's lock byte: ours until the create is finished. */
    r = blk_node_lock(v->dev, LOCK_FILE(i), BLK_LOCK_EXCL);
    if (r < 0 && r != -ENOTSUP) {
        g_set_error(errp, BLK_ERROR, EBUSY, "%s: file slot %d is busy",
                    v->dev->filename, i);
        txn_abort(v);
        g_mutex_unlock(&v->lock);
        return -EBUSY;
    }
    VmfsFile *f = &v->st.files[i];
    memset(f, 0, sizeof(*f));
    g_strlcpy(f->name, name, sizeof(f->name));
    f->flags = FILE_USED | FILE_INCOMPLETE;
    f->type = type;
    f->length = length;
    f->ctime = f->mtime = (uint64_t)now_seconds();
    uint64_t bsz = v->st.sb.block_size;
    r = alloc_blocks(&v->st, f, (length + bsz - 1) / bsz);
    if (r < 0) {
        uint64_t freeb = count_free(&v->st);
        g_set_error(errp, BLK_ERROR, ENOSPC,
                    "%s: not enough free space for %s (%" PRIu64 " bytes "
                    "needed, %" PRIu64 " free)", v->dev->filename, name,
                    length, freeb * bsz);
        blk_node_lock(v->dev, LOCK_FILE(i), BLK_LOCK_UNLOCK);
        txn_abort(v);
        g_mutex_unlock(&v->lock);
        return r;
    }
    uint64_t ctime = f->ctime;
    r = txn_commit(v, errp);
    if (r < 0) {
        blk_node_lock(v->dev, LOCK_FILE(i), BLK_LOCK_UNLOCK);
        g_mutex_unlock(&v->lock);
        return r;
    }
    /* Phase 2: contents, then flush. */
    /* Plain files may grow while they are filled (a REDO log's map). */
    BlockNode *node = file_node_new(v, (uint32_t)i, BLK_O_RDWR |
                                    (type == VMFS_FILE_PLAIN ? BLK_O_GROWABLE
                                                             : 0),
                                    false, errp);
    g_mutex_unlock(&v->lock);
    if (type == VMFS_FILE_DISK) {
        uint8_t hdr[VMFS_DISK_HEADER_SIZE];
        disk_header_encode(hdr, size, ctime);
        uint64_t devoff, contig;
        g_mutex_lock(&v->lock);
        r = file_map(v, (uint32_t)i, 0, &devoff, &contig);
        g_mutex_unlock(&v->lock);
        if (r == 0) {
            r = blk_node_pwrite(v->dev, devoff, hdr, sizeof(hdr));
        }
        if (r < 0) {
            blk_fail(errp, r, node->filename);
        }
    }
    if (r == 0 && size > 0) {
        /* Blocks may hold a removed file's data: the new file reads zero. */
        r = blk_node_pwrite_zeroes(node, 0, size);
        if (r < 0) {
            blk_fail(errp, r, node->filename);
        }
    }
    if (r == 0 && fill) {
        r = fill(node, opaque, errp);
        if (r >= 0) {
            r = 0;
        }
    }
    if (r == 0) {
        r = blk_node_flush(v->dev);
        if (r < 0) {
            blk_fail(errp, r, node->filename);
        }
    }
    VmfsFileState *ns = node->opaque;
    uint64_t final_length = ns->length;
    ns->length_dirty = false;
    node->flags &= ~BLK_O_RDWR;    /* no flush at close */
    /* Phase 3: make it visible (or take it back on failure). */
    g_mutex_lock(&v->lock);
    if (r == 0) {
        r = txn_begin(v, errp);
        if (r == 0) {
            f = &v->st.files[i];
            f->flags &= ~FILE_INCOMPLETE;
            if (type == VMFS_FILE_PLAIN) {
                f->length = final_length;
            }
            f->mtime = (uint64_t)now_seconds();
            r = txn_commit(v, errp);
        }
    } else {
        remove_slot(v, (uint32_t)i, NULL);
    }
    g_mutex_unlock(&v->lock);
    blk_node_close(node);
    blk_node_lock(v->dev, LOCK_FILE(i), BLK_LOCK_UNLOCK);
    return r;
}

/* Free slot idx in a transaction (v->lock held). */
static int remove_slot(VmfsVolume *v, uint32_t idx, GError **errp)
{
    int r = txn_begin(v, errp);
    if (r < 0) {
        return r;
    }
    file_free_blocks(&v->st, &v->st.files[idx]);
    return txn_commit(v, errp);
}

int vmfs_remove(VmfsVolume *v, const char *name, GError **errp)
{
    g_mutex_lock(&v->lock);
    int r = txn_begin(v, errp);
    if (r < 0) {
        g_mutex_unlock(&v->lock);
        return r;
    }
    int i = find_file(&v->st, name);
    if (i < 0) {
        g_set_error(errp, BLK_ERROR, ENOENT, "%s:%s: no such file",
                    v->dev->filename, name);
        txn_abort(v);
        g_mutex_unlock(&v->lock);
        return -ENOENT;
    }
    if (v->use[i].opens > 0 ||
        (r = blk_node_lock(v->dev, LOCK_FILE(i), BLK_LOCK_EXCL)) == -EAGAIN) {
        g_set_error(errp, BLK_ERROR, EBUSY,
                    "%s:%s: file is in use (is a virtual machine running?)",
                    v->dev->filename, name);
        txn_abort(v);
        g_mutex_unlock(&v->lock);
        return -EBUSY;
    }
    VmfsFile *f = &v->st.files[i];
    uint32_t next = f->next;
    VmfsExtent *ext = g_memdup2(f->ext, sizeof(VmfsExtent) * MAX(next, 1));
    file_free_blocks(&v->st, f);
    r = state_commit(v->dev, &v->st, errp);
    if (r < 0) {
        txn_abort(v);
    } else {
        /* The blocks are free on disk now: give them back to the host (a
         * hole in an image file), so that the volume stays thin and a new
         * file there has no old pages to drop.  Still under the update
         * lock, so nobody has allocated them again yet. */
        uint64_t bsz = v->st.sb.block_size;
        for (uint32_t k = 0; k < next; k++) {
            blk_node_discard(v->dev, v->st.sb.data_offset +
                             (uint64_t)ext[k].start * bsz,
                             (uint64_t)ext[k].count * bsz);
        }
        txn_end(v);
    }
    g_free(ext);
    blk_node_lock(v->dev, LOCK_FILE(i), BLK_LOCK_UNLOCK);
    g_mutex_unlock(&v->lock);
    return r;
}

/* ------------------------------------------------------------------------
 * Format
 * ------------------------------------------------------------------------ */

int vmfs_format(BlockNode *dev, uint32_t block_size, uint32_t max_files,
                const char *fsname, GError **errp)
{
    if (!is_pow2_u64(block_size) || block_size < VMFS_MIN_BLOCK ||
        block_size > VMFS_MAX_BLOCK) {
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "block size %u: must be a power of two from 4k to 256m",
                    block_size);
        return -EINVAL;
    }
    if (max_files < 1 || max_files > VMFS_MAX_FILES_LIMIT) {
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "number of files %u: must be 1 to %d", max_files,
                    VMFS_MAX_FILES_LIMIT);
        return -EINVAL;
    }
    if (fsname && check_fsname(fsname, errp) < 0) {
        return -EINVAL;
    }
    if (!(dev->flags & BLK_O_RDWR)) {
        g_set_error(errp, BLK_ERROR, EROFS, "%s: opened read-only",
                    dev->filename);
        return -EROFS;
    }
    int64_t devsize = blk_node_size(dev);
    if (devsize < 0) {
        return blk_fail(errp, (int)devsize, dev->filename);
    }
    int r = blk_node_lock(dev, LOCK_TXN, BLK_LOCK_EXCL);
    if (r == -EAGAIN) {
        g_set_error(errp, BLK_ERROR, EBUSY, "%s: VMFS is being changed by "
                    "another program", dev->filename);
        return -EBUSY;
    }
    /* What is there now decides where the new metadata may go. */
    SbSlot slot[2];
    r = read_slots(dev, slot);
    if (r < 0) {
        blk_node_lock(dev, LOCK_TXN, BLK_LOCK_UNLOCK);
        return blk_fail(errp, r, dev->filename);
    }
    uint64_t maxgen = 0;
    for (int i = 0; i < 2; i++) {
        if (slot[i].err == 0) {
            maxgen = MAX(maxgen, slot[i].sb.gen);
        }
    }
    VmfsState old;
    bool have_old = state_load(dev, &old, NULL, NULL, NULL) == 0;
    uint64_t old_lo = 0, old_hi = 0;
    uint32_t locked_files = 0;
    if (have_old) {
        int k = (int)(old.sb.gen % 2);
        old_lo = old.sb.meta_offset[k];
        old_hi = old_lo + old.sb.meta_length;
        /* Refuse to format a volume whose files are open. */
        for (; locked_files < old.sb.max_files; locked_files++) {
            if (blk_node_lock(dev, LOCK_FILE(locked_files), BLK_LOCK_EXCL) ==
                -EAGAIN) {
                g_set_error(errp, BLK_ERROR, EBUSY,
                            "%s: a file of the VMFS on it is in use",
                            dev->filename);
                r = -EBUSY;
                break;
            }
        }
        state_free(&old);
    }

    VmfsState st;
    memset(&st, 0, sizeof(st));
    VmfsSuper *s = &st.sb;
    if (r == 0) {
        s->gen = maxgen + 1;
        if (getrandom(s->uuid, sizeof(s->uuid), 0) != sizeof(s->uuid)) {
            uint64_t t = (uint64_t)g_get_real_time() ^ (uint64_t)g_random_int();
            memcpy(s->uuid, &t, sizeof(t));
        }
        s->block_size = block_size;
        s->max_files = max_files;
        s->ext_capacity = max_files * EXTENTS_PER_FILE;
        s->device_size = (uint64_t)devsize;
        uint64_t nb0 = (uint64_t)devsize / block_size;
        if (nb0 > UINT32_MAX) {
            nb0 = UINT32_MAX;
        }
        s->meta_capacity = round_up64(meta_size(max_files, nb0,
                                                s->ext_capacity), 4096);
        int k = (int)(s->gen % 2);
        uint64_t base = META_BASE;
        for (int attempt = 0; attempt < 2; attempt++) {
            s->meta_offset[0] = base;
            s->meta_offset[1] = base + s->meta_capacity;
            uint64_t lo = s->meta_offset[k], hi = lo + s->meta_capacity;
            if (!have_old || hi <= old_lo || lo >= old_hi) {
                break;
            }
            /* Would overwrite the old volume's current metadata before the
             * new superblock is in place: go past it. */
            base = round_up64(old_hi, 4096);
        }
        s->data_offset = round_up64(s->meta_offset[1] + s->meta_capacity,
                                    block_size);
        if (s->data_offset >= (uint64_t)devsize ||
            ((uint64_t)devsize - s->data_offset) / block_size < 1) {
            g_set_error(errp, BLK_ERROR, ENOSPC,
                        "%s: device too small for a VMFS with %u files and "
                        "%u-byte blocks (%" PRId64 " bytes)", dev->filename,
                        max_files, block_size, devsize);
            r = -ENOSPC;
        } else {
            s->nblocks = MIN(((uint64_t)devsize - s->data_offset) / block_size,
                             nb0);
        }
    }
    if (r == 0) {
        if (fsname) {
            g_strlcpy(s->fsname, fsname, sizeof(s->fsname));
        }
        st.files = g_new0(VmfsFile, max_files);
        st.bitmap = g_malloc0(bitmap_bytes(s->nblocks));
        /* state_commit writes generation sb.gen + 1: start one below. */
        s->gen--;
        r = state_commit(dev, &st, errp);
        if (r == 0) {
            /* Second generation: both slots now belong to the new volume. */
            r = state_commit(dev, &st, errp);
        }
    }
    state_free(&st);
    for (uint32_t i = 0; i < locked_files; i++) {
        blk_node_lock(dev, LOCK_FILE(i), BLK_LOCK_UNLOCK);
    }
    blk_node_lock(dev, LOCK_TXN, BLK_LOCK_UNLOCK);
    return r;
}

/* ------------------------------------------------------------------------
 * fsck
 * ------------------------------------------------------------------------ */

int vmfs_fsck(BlockNode *dev, GString *report, GError **errp)
{
    VmfsVolume *v = volume_new(dev, false, false);
    bool fallback = false;
    int r = state_load(dev, &v->st, report, &fallback, errp);
    if (r < 0) {
        volume_unref(v);
        return r;
    }
    v->use = g_new0(SlotUse, v->st.sb.max_files);
    VmfsSuper *s = &v->st.sb;
    g_string_append_printf(report, "volume '%s': generation %" PRIu64
                           ", block size %u, %" PRIu64 " blocks, %u file "
                           "slots\n", s->fsname, s->gen, s->block_size,
                           s->nblocks, s->max_files);
    int problems = state_check(&v->st, report, 50) + (fallback ? 1 : 0);
    for (uint32_t i = 0; i < s->max_files; i++) {
        VmfsFile *f = &v->st.files[i];
        if (!(f->flags & FILE_USED)) {
            continue;
        }
        if (f->flags & FILE_INCOMPLETE) {
            bool busy = blk_node_lock(dev, LOCK_FILE(i), BLK_LOCK_SHARED) ==
                        -EAGAIN;
            if (!busy) {
                blk_node_lock(dev, LOCK_FILE(i), BLK_LOCK_UNLOCK);
            }
            g_string_append_printf(report, "'%s': %s (%" PRIu64 " blocks; "
                                   "not a file yet)\n", f->name,
                                   busy ? "being created" :
                                   "interrupted create, reclaimed by the "
                                   "next change to the volume",
                                   f->nalloc);
            continue;
        }
        if (f->type == VMFS_FILE_DISK) {
            uint8_t hdr[VMFS_DISK_HEADER_SIZE];
            uint64_t devoff, contig;
            const char *why = "unreadable";
            if (file_map(v, i, 0, &devoff, &contig) == 0 &&
                blk_node_pread(dev, devoff, hdr, sizeof(hdr)) == 0) {
                why = disk_header_check(hdr, f->length -
                                        VMFS_DISK_HEADER_SIZE);
            }
            if (why) {
                g_string_append_printf(report, "'%s': %s\n", f->name, why);
                problems++;
            }
        } else if (g_str_has_suffix(f->name, ".REDO")) {
            BlockNode *node = file_node_new(v, i, 0, false, NULL);
            RedoInfo ri;
            GError *err = NULL;
            if (blk_redo_read_info(node, &ri, &err) < 0) {
                g_string_append_printf(report, "'%s': %s\n", f->name,
                                       err->message);
                g_clear_error(&err);
                problems++;
            } else {
                char *base = g_strndup(f->name, strlen(f->name) - 5);
                int bi = find_file(&v->st, base);
                if (bi < 0) {
                    g_string_append_printf(report, "'%s': REDO log without "
                                           "its disk '%s'\n", f->name, base);
                } else if (v->st.files[bi].length - VMFS_DISK_HEADER_SIZE !=
                               ri.parent_size &&
                           v->st.files[bi].type == VMFS_FILE_DISK) {
                    g_string_append_printf(report, "'%s': REDO log is for a "
                                           "disk of %" PRIu64 " bytes, '%s' "
                                           "has %" PRIu64 "\n", f->name,
                                           ri.parent_size, base,
                                           v->st.files[bi].length -
                                           VMFS_DISK_HEADER_SIZE);
                    problems++;
                }
                if (ri.flags & REDO_FLAG_COMMITTING) {
                    g_string_append_printf(report, "'%s': commit into '%s' "
                                           "was interrupted; run vmkfstools "
                                           "-m to finish it\n", f->name, base);
                } else if (ri.flags & REDO_FLAG_IN_USE) {
                    g_string_append_printf(report, "'%s': in use, or left by "
                                           "a virtual machine that did not "
                                           "power off cleanly\n", f->name);
                }
                g_free(base);
            }
            blk_node_close(node);
        }
    }
    g_string_append_printf(report, "%" PRIu64 " of %" PRIu64 " blocks free\n",
                           count_free(&v->st), s->nblocks);
    volume_unref(v);
    if (problems > 0) {
        g_set_error(errp, BLK_ERROR, EUCLEAN, "%s: VMFS is inconsistent (%d "
                    "problem%s)", dev->filename, problems,
                    problems == 1 ? "" : "s");
        return -EUCLEAN;
    }
    return 0;
}
