/*
 * Disks by name: open whatever an address names (a device, a file in a
 * VMFS, a host image of any format we read), and the operations on a disk
 * and its REDO log that vmkfstools and the disk modes share: create, open,
 * remove, commit.
 *
 * Reference: ESX Server 1.0 manual, "File System Management on SCSI Disks
 * and RAID" (-m/--commit, -r/--removefile; the REDO log is named by
 * appending .REDO to the disk's file name).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "block-int.h"

/* Lock byte of a host disk image in its file's lock space. */
#define IMAGE_LOCK_BYTE 1

BlockNode *blk_image_open(const char *path, int flags, GError **errp)
{
    BlockNode *file = blk_file_open(path, flags & (BLK_O_RDWR | BLK_O_GROWABLE),
                                    errp);
    if (!file) {
        return NULL;
    }
    /* Readers share a host image, a writer has it alone (a VM's base in
     * undoable mode cannot be committed into under it). */
    int r = blk_node_lock(file, IMAGE_LOCK_BYTE,
                          (flags & BLK_O_RDWR) ? BLK_LOCK_EXCL
                                               : BLK_LOCK_SHARED);
    if (r == -EAGAIN) {
        g_set_error(errp, BLK_ERROR, EBUSY, "%s: disk is in use", path);
        blk_node_close(file);
        return NULL;
    }
    BlkFormat fmt = blk_probe_format(file);
    switch (fmt) {
    case BLK_FORMAT_RAW:
    case BLK_FORMAT_VMFS:
        return file;
    case BLK_FORMAT_REDO:
        g_set_error(errp, BLK_ERROR, EINVAL,
                    "%s: is a REDO log; name the disk it belongs to", path);
        blk_node_close(file);
        return NULL;
    case BLK_FORMAT_VMDK:
    case BLK_FORMAT_COWD:
    case BLK_FORMAT_DESCRIPTOR:
        return blk_vmdk_open_file(file, fmt, flags, errp);
    }
    blk_node_close(file);
    return NULL;
}

/* Parse name; a would-be fsname:file that exists as a host file is one. */
static int parse_name(const char *name, BlkAddress *a, GError **errp)
{
    if (blk_address_parse(name, a, errp) < 0) {
        return -EINVAL;
    }
    if (a->kind == BLK_ADDR_VMFS_FILE && a->fsname &&
        g_file_test(name, G_FILE_TEST_EXISTS)) {
        blk_address_clear(a);
        a->kind = BLK_ADDR_HOST;
        a->path = g_strdup(name);
    }
    return 0;
}

BlockNode *blk_open_name(const char *name, int flags, GError **errp)
{
    BlkAddress a;
    if (parse_name(name, &a, errp) < 0) {
        return NULL;
    }
    BlockNode *bs = NULL;
    switch (a.kind) {
    case BLK_ADDR_DEVICE:
        bs = blk_device_open(a.adapter, a.target, a.lun, a.partition, flags,
                             NULL, errp);
        break;
    case BLK_ADDR_VMFS_FILE: {
        VmfsVolume *v = blk_vmfs_open_address(&a, flags & BLK_O_RDWR, errp);
        if (v) {
            bs = vmfs_file_open(v, a.file, flags, errp);
            vmfs_volume_close(v);
        }
        break;
    }
    case BLK_ADDR_HOST:
        bs = blk_image_open(a.path, flags, errp);
        break;
    }
    blk_address_clear(&a);
    return bs;
}

char *blk_redo_name(const char *name)
{
    return g_strconcat(name, ".REDO", NULL);
}

int blk_name_exists(const char *name, GError **errp)
{
    BlkAddress a;
    if (parse_name(name, &a, errp) < 0) {
        return -EINVAL;
    }
    int r = 0;
    switch (a.kind) {
    case BLK_ADDR_HOST:
        r = g_file_test(a.path, G_FILE_TEST_EXISTS) ? 1 : 0;
        break;
    case BLK_ADDR_DEVICE: {
        char *p = blk_devmap_lookup(a.adapter, a.target, a.lun, NULL);
        r = p ? 1 : 0;
        g_free(p);
        break;
    }
    case BLK_ADDR_VMFS_FILE: {
        VmfsVolume *v = blk_vmfs_open_address(&a, false, errp);
        if (!v) {
            r = -ENOENT;
            break;
        }
        VmfsFileInfo fi;
        r = vmfs_stat(v, a.file, &fi, NULL) == 0 ? 1 : 0;
        vmfs_volume_close(v);
        break;
    }
    }
    blk_address_clear(&a);
    return r;
}

static int fsync_parent(const char *path)
{
    char *dir = g_path_get_dirname(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    g_free(dir);
    if (fd < 0) {
        return -errno;
    }
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

typedef struct RedoFill {
    uint64_t parent_size;
    uint32_t grain;
} RedoFill;

static int redo_fill(BlockNode *node, void *opaque, GError **errp)
{
    RedoFill *f = opaque;
    return blk_redo_format(node, f->parent_size, f->grain, errp);
}

BlockNode *blk_redo_file_create(const char *name, uint64_t parent_size,
                                uint32_t grain, GError **errp)
{
    char *rname = blk_redo_name(name);
    BlkAddress a;
    BlockNode *bs = NULL;
    if (parse_name(rname, &a, errp) < 0) {
        g_free(rname);
        return NULL;
    }
    switch (a.kind) {
    case BLK_ADDR_DEVICE:
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: a raw device has no REDO "
                    "log; use a VMFS file", name);
        break;
    case BLK_ADDR_VMFS_FILE: {
        VmfsVolume *v = blk_vmfs_open_address(&a, true, errp);
        if (!v) {
            break;
        }
        RedoFill f = { parent_size, grain };
        if (vmfs_create(v, a.file, VMFS_FILE_PLAIN, 0, redo_fill, &f,
                        errp) == 0) {
            bs = vmfs_file_open(v, a.file, BLK_O_RDWR | BLK_O_GROWABLE, errp);
        }
        vmfs_volume_close(v);
        break;
    }
    case BLK_ADDR_HOST: {
        /* Build it under a temporary name, then move it in place without
         * replacing a log that appeared meanwhile. */
        char *tmp = g_strdup_printf("%s.new-%d", a.path, (int)getpid());
        bs = blk_file_open(tmp, BLK_O_RDWR | BLK_O_GROWABLE | BLK_O_CREATE |
                           BLK_O_EXCL, errp);
        if (!bs) {
            g_free(tmp);
            break;
        }
        if (blk_redo_format(bs, parent_size, grain, errp) < 0) {
            blk_node_close(bs);
            bs = NULL;
            unlink(tmp);
        } else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, a.path,
                             RENAME_NOREPLACE) < 0) {
            int e = errno;
            g_set_error(errp, BLK_ERROR, e, "%s: %s", a.path, g_strerror(e));
            blk_node_close(bs);
            bs = NULL;
            unlink(tmp);
        } else {
            fsync_parent(a.path);
            g_free(bs->filename);
            bs->filename = g_strdup(a.path);
        }
        g_free(tmp);
        break;
    }
    }
    blk_address_clear(&a);
    g_free(rname);
    return bs;
}

BlockNode *blk_redo_file_open(const char *name, int flags, GError **errp)
{
    char *rname = blk_redo_name(name);
    BlkAddress a;
    BlockNode *bs = NULL;
    if (parse_name(rname, &a, errp) < 0) {
        g_free(rname);
        return NULL;
    }
    int gflags = flags | ((flags & BLK_O_RDWR) ? BLK_O_GROWABLE : 0);
    switch (a.kind) {
    case BLK_ADDR_DEVICE:
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: a raw device has no REDO "
                    "log", name);
        break;
    case BLK_ADDR_VMFS_FILE: {
        VmfsVolume *v = blk_vmfs_open_address(&a, flags & BLK_O_RDWR, errp);
        if (v) {
            bs = vmfs_file_open(v, a.file, gflags, errp);
            vmfs_volume_close(v);
        }
        break;
    }
    case BLK_ADDR_HOST:
        bs = blk_file_open(a.path, gflags, errp);
        break;
    }
    blk_address_clear(&a);
    g_free(rname);
    return bs;
}

int blk_remove_name(const char *name, GError **errp)
{
    BlkAddress a;
    if (parse_name(name, &a, errp) < 0) {
        return -EINVAL;
    }
    int r = -EINVAL;
    switch (a.kind) {
    case BLK_ADDR_DEVICE:
        g_set_error(errp, BLK_ERROR, EINVAL, "%s: is a device, not a file",
                    name);
        break;
    case BLK_ADDR_VMFS_FILE: {
        VmfsVolume *v = blk_vmfs_open_address(&a, true, errp);
        if (v) {
            r = vmfs_remove(v, a.file, errp);
            vmfs_volume_close(v);
        }
        break;
    }
    case BLK_ADDR_HOST:
        if (unlink(a.path) < 0) {
            r = -errno;
            g_set_error(errp, BLK_ERROR, -r, "%s: %s", a.path, g_strerror(-r));
        } else {
            r = fsync_parent(a.path);
            if (r < 0) {
                g_set_error(errp, BLK_ERROR, -r, "%s: %s", a.path,
                            g_strerror(-r));
            }
        }
        break;
    }
    blk_address_clear(&a);
    return r;
}

int blk_commit_name(const char *name, BlkProgressFunc *progress, void *opaque,
                    GError **errp)
{
    char *rname = blk_redo_name(name);
    int r = blk_name_exists(rname, errp);
    if (r == 0) {
        g_set_error(errp, BLK_ERROR, ENOENT, "%s: no REDO log (%s) to commit",
                    name, rname);
        r = -ENOENT;
    }
    if (r < 0) {
        g_free(rname);
        return r;
    }
    BlockNode *base = blk_open_name(name, BLK_O_RDWR, errp);
    if (!base) {
        g_free(rname);
        return -EIO;
    }
    BlockNode *log = blk_redo_file_open(name, BLK_O_RDWR, errp);
    if (!log) {
        blk_node_close(base);
        g_free(rname);
        return -EIO;
    }
    BlockNode *redo = blk_redo_open(log, base, BLK_O_RDWR, errp);
    if (!redo) {
        g_free(rname);
        return -EIO;
    }
    r = blk_redo_commit(redo, progress, opaque, errp);
    blk_node_close(redo);
    if (r == 0) {
        /* The base holds everything: the log can go. */
        r = blk_remove_name(rname, errp);
    }
    g_free(rname);
    return r;
}
