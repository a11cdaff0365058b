/*
 * The `file` driver: a raw host file or host block device.
 *
 * Reference: POSIX pread/pwrite/fdatasync; Linux fallocate(2)
 * (FALLOC_FL_ZERO_RANGE, FALLOC_FL_PUNCH_HOLE), lseek(2) SEEK_DATA/SEEK_HOLE,
 * sync_file_range(2) (SYNC_FILE_RANGE_WRITE starts write-back only),
 * posix_fadvise(2) (POSIX_FADV_WILLNEED starts readahead),
 * and the BLKGETSIZE64/BLKZEROOUT/BLKDISCARD block-device ioctls.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>
#include "block.h"

/* Crash tests: with VMKEMU_TEST_KILL_AFTER_IO=N the process kills itself
 * with SIGKILL before its (N+1)th write, zeroing or flush of a host file,
 * so a test can stop an operation at each of its I/O points in turn. */
static void test_kill_point(void)
{
    static long kill_after = -2, count;
    if (kill_after == -2) {
        const char *e = getenv("VMKEMU_TEST_KILL_AFTER_IO");
        kill_after = e && *e ? atol(e) : -1;
    }
    if (kill_after >= 0 && count++ >= kill_after) {
        raise(SIGKILL);
    }
}

typedef struct FileState {
    int fd;
    bool is_blockdev;
    uint64_t blockdev_size;
} FileState;

static int file_open_path(BlockNode *bs, const char *path, int flags,
                          GError **errp)
{
    int oflags = O_CLOEXEC | ((flags & BLK_O_RDWR) ? O_RDWR : O_RDONLY);
    if (flags & BLK_O_CREATE) {
        oflags |= O_CREAT | ((flags & BLK_O_EXCL) ? O_EXCL : 0);
    }
    int fd = open(path, oflags, 0644);
    if (fd < 0) {
        int e = errno;
        g_set_error(errp, BLK_ERROR, e, "%s: %s", path, g_strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        g_set_error(errp, BLK_ERROR, e, "%s: %s", path, g_strerror(e));
        return -e;
    }
    FileState *s = g_new0(FileState, 1);
    s->fd = fd;
    if (S_ISBLK(st.st_mode)) {
        uint64_t sz = 0;
        if (ioctl(fd, BLKGETSIZE64, &sz) < 0) {
            int e = errno;
            close(fd);
            g_free(s);
            g_set_error(errp, BLK_ERROR, e, "%s: size: %s", path,
                        g_strerror(e));
            return -e;
        }
        s->is_blockdev = true;
        s->blockdev_size = sz;
        bs->flags &= ~BLK_O_GROWABLE;
    } else if (!S_ISREG(st.st_mode)) {
        close(fd);
        g_free(s);
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "%s: not a regular file or block device", path);
        return -EINVAL;
    }
    bs->opaque = s;
    return 0;
}

static void file_close(BlockNode *bs)
{
    FileState *s = bs->opaque;
    if (s) {
        close(s->fd);
        g_free(s);
    }
}

static int file_pread(BlockNode *bs, uint64_t off, void *buf, size_t len)
{
    FileState *s = bs->opaque;
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(s->fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            /* The file shrank under us: what is not there reads zeroes. */
            memset(p, 0, len);
            return 0;
        }
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int file_pwrite(BlockNode *bs, uint64_t off, const void *buf, size_t len)
{
    FileState *s = bs->opaque;
    test_kill_point();
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(s->fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            return -EIO;
        }
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int64_t file_get_size(BlockNode *bs)
{
    FileState *s = bs->opaque;
    if (s->is_blockdev) {
        return (int64_t)s->blockdev_size;
    }
    struct stat st;
    if (fstat(s->fd, &st) < 0) {
        return -errno;
    }
    return st.st_size;
}

static int file_pwrite_zeroes(BlockNode *bs, uint64_t off, uint64_t len)
{
    FileState *s = bs->opaque;
    test_kill_point();
    if (s->is_blockdev) {
        uint64_t range[2] = { off, len };
        if (ioctl(s->fd, BLKZEROOUT, range) == 0) {
            return 0;
        }
        return -ENOTSUP;
    }
    int64_t size = file_get_size(bs);
    if (size < 0) {
        return (int)size;
    }
    /* Inside the file: punch a hole (reads zero, frees space); past the
     * end: extend with a hole. */
    uint64_t inside_end = MIN(off + len, (uint64_t)size);
    if (off < inside_end) {
        if (fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)off, (off_t)(inside_end - off)) < 0 &&
            fallocate(s->fd, FALLOC_FL_ZERO_RANGE, (off_t)off,
                      (off_t)(inside_end - off)) < 0) {
            return -ENOTSUP;
        }
    }
    if (off + len > (uint64_t)size) {
        if (ftruncate(s->fd, (off_t)(off + len)) < 0) {
            return -errno;
        }
    }
    return 0;
}

static int file_flush(BlockNode *bs)
{
    FileState *s = bs->opaque;
    test_kill_point();
    if (fdatasync(s->fd) < 0) {
        return -errno;
    }
    return 0;
}

static int file_start_writeback(BlockNode *bs, uint64_t off, uint64_t len)
{
    FileState *s = bs->opaque;
    if (sync_file_range(s->fd, (off_t)off, (off_t)len,
                        SYNC_FILE_RANGE_WRITE) < 0) {
        return -errno;
    }
    return 0;
}

static int file_prefetch(BlockNode *bs, uint64_t off, uint64_t len)
{
    FileState *s = bs->opaque;
    return -posix_fadvise(s->fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
}

static int file_discard(BlockNode *bs, uint64_t off, uint64_t len)
{
    FileState *s = bs->opaque;
    if (s->is_blockdev) {
        uint64_t range[2] = { off, len };
        (void)ioctl(s->fd, BLKDISCARD, range);
        return 0;
    }
    /* Discard is advisory: a file system without hole punching keeps data. */
    (void)fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    (off_t)off, (off_t)len);
    return 0;
}

static int file_block_status(BlockNode *bs, uint64_t off, uint64_t len,
                             uint64_t *pnum)
{
    FileState *s = bs->opaque;
    if (s->is_blockdev) {
        *pnum = len;
        return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED;
    }
    off_t data = lseek(s->fd, (off_t)off, SEEK_DATA);
    if (data < 0) {
        if (errno == ENXIO) {
            /* No data from off to the end of the file. */
            *pnum = len;
            return BLK_STATUS_ZERO;
        }
        *pnum = len;
        return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED;
    }
    if ((uint64_t)data > off) {
        *pnum = MIN(len, (uint64_t)data - off);
        return BLK_STATUS_ZERO;
    }
    off_t hole = lseek(s->fd, (off_t)off, SEEK_HOLE);
    if (hole < 0 || (uint64_t)hole <= off) {
        *pnum = len;
    } else {
        *pnum = MIN(len, (uint64_t)hole - off);
    }
    return BLK_STATUS_DATA | BLK_STATUS_ALLOCATED;
}

/* Lock bytes live far above any data offset so they never shadow a
 * byte-range lock some other program takes on the data itself. */
#define FILE_LOCK_BASE ((uint64_t)1 << 62)

static int file_lock(BlockNode *bs, uint64_t byte, int how)
{
    FileState *s = bs->opaque;
    struct flock fl = {
        .l_whence = SEEK_SET,
        .l_start = (off_t)(FILE_LOCK_BASE + (byte & (FILE_LOCK_BASE - 1))),
        .l_len = 1,
    };
    switch (how & 3) {
    case BLK_LOCK_UNLOCK: fl.l_type = F_UNLCK; break;
    case BLK_LOCK_SHARED: fl.l_type = F_RDLCK; break;
    default:              fl.l_type = F_WRLCK; break;
    }
    /* A read lock needs a readable fd and a write lock a writable one. */
    if (fl.l_type == F_WRLCK && !(bs->flags & BLK_O_RDWR)) {
        fl.l_type = F_RDLCK;
    }
    int cmd = (how & BLK_LOCK_WAIT) ? F_OFD_SETLKW : F_OFD_SETLK;
    while (fcntl(s->fd, cmd, &fl) < 0) {
        if (errno == EINTR) {
            continue;
        }
        return (errno == EACCES || errno == EAGAIN) ? -EAGAIN : -errno;
    }
    return 0;
}

const BlockDriver blk_driver_file = {
    .lock = file_lock,
    .name = "file",
    .open_path = file_open_path,
    .close = file_close,
    .pread = file_pread,
    .pwrite = file_pwrite,
    .pwrite_zeroes = file_pwrite_zeroes,
    .flush = file_flush,
    .discard = file_discard,
    .get_size = file_get_size,
    .block_status = file_block_status,
    .start_writeback = file_start_writeback,
    .prefetch = file_prefetch,
};

BlockNode *blk_file_open(const char *path, int flags, GError **errp)
{
    BlockNode *bs = blk_node_new(&blk_driver_file, path, flags);
    if (file_open_path(bs, path, flags, errp) < 0) {
        g_free(bs->filename);
        g_free(bs);
        return NULL;
    }
    return bs;
}

/* ------------------------------------------------------------------------
 * The `slice` driver: a fixed window of a child node (an MBR partition).
 * ------------------------------------------------------------------------ */

typedef struct SliceState {
    uint64_t offset, size;
} SliceState;

static int slice_pread(BlockNode *bs, uint64_t off, void *buf, size_t len)
{
    SliceState *s = bs->opaque;
    return blk_node_pread(bs->file, s->offset + off, buf, len);
}

static int slice_pwrite(BlockNode *bs, uint64_t off, const void *buf,
                        size_t len)
{
    SliceState *s = bs->opaque;
    return blk_node_pwrite(bs->file, s->offset + off, buf, len);
}

static int slice_pwrite_zeroes(BlockNode *bs, uint64_t off, uint64_t len)
{
    SliceState *s = bs->opaque;
    return blk_node_pwrite_zeroes(bs->file, s->offset + off, len);
}

static int slice_flush(BlockNode *bs)
{
    return blk_node_flush(bs->file);
}

static int slice_start_writeback(BlockNode *bs, uint64_t off, uint64_t len)
{
    SliceState *s = bs->opaque;
    return blk_node_start_writeback(bs->file, s->offset + off, len);
}

static int slice_prefetch(BlockNode *bs, uint64_t off, uint64_t len)
{
    SliceState *s = bs->opaque;
    return blk_node_prefetch(bs->file, s->offset + off, len);
}

static int slice_discard(BlockNode *bs, uint64_t off, uint64_t len)
{
    SliceState *s = bs->opaque;
    return blk_node_discard(bs->file, s->offset + off, len);
}

static int64_t slice_get_size(BlockNode *bs)
{
    SliceState *s = bs->opaque;
    return (int64_t)s->size;
}

static int slice_block_status(BlockNode *bs, uint64_t off, uint64_t len,
                              uint64_t *pnum)
{
    SliceState *s = bs->opaque;
    return blk_node_block_status(bs->file, s->offset + off, len, pnum);
}

static int slice_lock(BlockNode *bs, uint64_t byte, int how)
{
    SliceState *s = bs->opaque;
    return blk_node_lock(bs->file, s->offset + byte, how);
}

static void slice_close(BlockNode *bs)
{
    g_free(bs->opaque);
}

const BlockDriver blk_driver_slice = {
    .name = "slice",
    .lock = slice_lock,
    .close = slice_close,
    .pread = slice_pread,
    .pwrite = slice_pwrite,
    .pwrite_zeroes = slice_pwrite_zeroes,
    .flush = slice_flush,
    .discard = slice_discard,
    .get_size = slice_get_size,
    .block_status = slice_block_status,
    .start_writeback = slice_start_writeback,
    .prefetch = slice_prefetch,
};

BlockNode *blk_slice_open(BlockNode *child, uint64_t offset, uint64_t size,
                          const char *name, GError **errp)
{
    int64_t csize = blk_node_size(child);
    if (csize < 0 || offset + size < offset || offset + size > (uint64_t)csize) {
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "%s: range %" PRIu64 "+%" PRIu64 " lies outside %s",
                    name, offset, size, child->filename);
        blk_node_close(child);
        return NULL;
    }
    BlockNode *bs = blk_node_new(&blk_driver_slice, name,
                                 child->flags & ~BLK_O_GROWABLE);
    SliceState *s = g_new0(SliceState, 1);
    s->offset = offset;
    s->size = size;
    bs->opaque = s;
    bs->file = child;
    return bs;
}
