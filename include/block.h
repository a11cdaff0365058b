/*
 * The block layer: drivers stacked into chains of nodes, and the
 * BlockBackend that device models and tools use.
 *
 * A BlockNode is one driver instance (a host file, a partition window, a
 * file inside a VMFS volume, a REDO log over another node, a VMware disk).
 * Format drivers sit on top of child nodes: `redo` over `vmfs` over `slice`
 * over `file`, for example.  Offsets and lengths are bytes; every call
 * returns 0 or a negative errno, or takes a GError.
 *
 * The BlockBackend adds the disk-mode policy of the ESX Server 1.0 manual
 * ("Using Disk Modes", "Access modes"): persistent, nonpersistent, undoable
 * and append, REDO logs named <file>.REDO, and asynchronous requests whose
 * completions run in the GLib main context of the thread that created the
 * backend.
 *
 * Addressing follows the manual's "File System Management on SCSI Disks and
 * RAID": vmhbaA:T:L:P, vmhbaA:T:L:P:file and fsname:file, with a device map
 * binding vmhbaA:T:L to host paths.
 *
 * On-disk formats: docs/vmfs-format.md, docs/redo-format.md.
 */
#ifndef VMKEMU_BLOCK_H
#define VMKEMU_BLOCK_H

#include <stdbool.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define BLK_SECTOR_SIZE 512

/* GError domain of the block layer; codes are positive errno values. */
#define BLK_ERROR blk_error_quark()
GQuark blk_error_quark(void);

/* ------------------------------------------------------------------------
 * Nodes and drivers
 * ------------------------------------------------------------------------ */

typedef struct BlockNode BlockNode;
typedef struct BlockDriver BlockDriver;

/* Open flags. */
enum {
    BLK_O_RDWR     = 1 << 0,   /* read-write; default read-only */
    BLK_O_GROWABLE = 1 << 1,   /* writes past the end extend the node */
    BLK_O_CREATE   = 1 << 2,   /* file driver: create the host file */
    BLK_O_EXCL     = 1 << 3,   /* with CREATE: fail if it exists */
};

/* block_status() result bits. */
enum {
    BLK_STATUS_DATA      = 1 << 0,  /* reads come from stored data */
    BLK_STATUS_ZERO      = 1 << 1,  /* reads are known to return zeroes */
    BLK_STATUS_ALLOCATED = 1 << 2,  /* stored in this node, not below it */
};

/* Progress report for long operations: done of total bytes. */
typedef void BlkProgressFunc(void *opaque, uint64_t done, uint64_t total);

struct BlockDriver {
    const char *name;
    /* Protocol drivers open a host path. */
    int (*open_path)(BlockNode *bs, const char *path, int flags, GError **errp);
    /* Format drivers interpret bs->file (already set by the caller). */
    int (*open_child)(BlockNode *bs, int flags, GError **errp);
    void (*close)(BlockNode *bs);
    int (*pread)(BlockNode *bs, uint64_t off, void *buf, size_t len);
    int (*pwrite)(BlockNode *bs, uint64_t off, const void *buf, size_t len);
    int (*pwrite_zeroes)(BlockNode *bs, uint64_t off, uint64_t len);
    int (*flush)(BlockNode *bs);
    int (*discard)(BlockNode *bs, uint64_t off, uint64_t len);
    int64_t (*get_size)(BlockNode *bs);
    /* Status of [off, off+len): returns BLK_STATUS_* bits and sets *pnum
     * to the length (>= 1 byte) that shares them. */
    int (*block_status)(BlockNode *bs, uint64_t off, uint64_t len,
                        uint64_t *pnum);
    /* Advisory lock of one byte (offset relative to this node) in the
     * host file's lock space, shared between processes: see blk_node_lock. */
    int (*lock)(BlockNode *bs, uint64_t byte, int how);
    /* Hint: begin writing [off, off+len) to stable storage, no waiting.
     * Nothing is durable until a flush says so. Optional. */
    int (*start_writeback)(BlockNode *bs, uint64_t off, uint64_t len);
    /* Hint: [off, off+len) will be read soon; start reading it, no
     * waiting.  Optional. */
    int (*prefetch)(BlockNode *bs, uint64_t off, uint64_t len);
};

struct BlockNode {
    const BlockDriver *drv;
    void *opaque;          /* driver state */
    char *filename;        /* for messages: host path or VMFS address */
    int flags;             /* BLK_O_* it was opened with */
    BlockNode *file;       /* the child a format driver interprets */
    BlockNode *backing;    /* the parent image under a REDO log */
};

extern const BlockDriver blk_driver_file;
extern const BlockDriver blk_driver_slice;
extern const BlockDriver blk_driver_vmfs;
extern const BlockDriver blk_driver_redo;
extern const BlockDriver blk_driver_vmdk;
extern const BlockDriver blk_driver_mem;

/* Allocate a node for drv (used by driver constructors). */
BlockNode *blk_node_new(const BlockDriver *drv, const char *filename, int flags);
/* Close the node, its driver state and its children. NULL is fine. */
void blk_node_close(BlockNode *bs);

/* Host file or block device. */
BlockNode *blk_file_open(const char *path, int flags, GError **errp);
/* A window [offset, offset+size) of child, e.g. an MBR partition. Takes
 * ownership of child. */
BlockNode *blk_slice_open(BlockNode *child, uint64_t offset, uint64_t size,
                          const char *name, GError **errp);

/* A disk in memory (tests, fuzzing).  With a journal it records every
 * write and flush, and blk_mem_crash_image() returns (g_free) the medium as
 * a power failure after `point` journal entries could leave it: everything
 * up to the last flush, and each later write whole, in part (by sectors)
 * or not at all, as rng picks (rng NULL: all of them whole). */
BlockNode *blk_mem_open(const void *data, uint64_t size, int flags);
/* Another node on the same memory (and journal), e.g. to reopen a disk
 * after a driver closed its node; flags may differ. */
BlockNode *blk_mem_share(BlockNode *mem, int flags);
uint8_t *blk_mem_data(BlockNode *bs, uint64_t *size);
void blk_mem_journal_start(BlockNode *bs);
size_t blk_mem_journal_length(BlockNode *bs);
uint8_t *blk_mem_crash_image(BlockNode *bs, size_t point, GRand *rng,
                             uint64_t *size);

/* Bounds-checked I/O; a read past the end of a growable node reads zeroes. */
int blk_node_pread(BlockNode *bs, uint64_t off, void *buf, size_t len);
int blk_node_pwrite(BlockNode *bs, uint64_t off, const void *buf, size_t len);
int blk_node_pwrite_zeroes(BlockNode *bs, uint64_t off, uint64_t len);
int blk_node_flush(BlockNode *bs);
int blk_node_discard(BlockNode *bs, uint64_t off, uint64_t len);
int64_t blk_node_size(BlockNode *bs);
int blk_node_block_status(BlockNode *bs, uint64_t off, uint64_t len,
                          uint64_t *pnum);
/* Begin the write-back of [off, off+len) without waiting for it (Linux
 * sync_file_range on a host file), so that a later flush has less to do.
 * Durability and ordering come from flushes only.  A hint: the range
 * should be one that was written; it may be called from another thread
 * than the writer's. */
int blk_node_start_writeback(BlockNode *bs, uint64_t off, uint64_t len);
/* Tell the node that [off, off+len) will be read soon (Linux readahead
 * on a host file, through the format's mapping), so that reading it later
 * waits less.  A hint: nothing to check, and errors do not matter. */
int blk_node_prefetch(BlockNode *bs, uint64_t off, uint64_t len);
/* Advisory byte-range locks on the host file under a node (Linux OFD
 * locks: per open file, so two opens in one process conflict too).  The
 * byte lives in the lock space, not in the data: any offset works. */
enum {
    BLK_LOCK_UNLOCK = 0,
    BLK_LOCK_SHARED = 1,
    BLK_LOCK_EXCL   = 2,
    BLK_LOCK_WAIT   = 4,     /* or'ed in: block until granted */
};
/* 0, -EAGAIN when held elsewhere (without WAIT), -ENOTSUP without a host
 * file underneath. */
int blk_node_lock(BlockNode *bs, uint64_t byte, int how);

/* True when all len bytes at buf are zero. */
bool blk_buffer_is_zero(const void *buf, size_t len);
/* True when [off, off+len) reads as zeroes (status or by reading it). */
int blk_node_is_zero(BlockNode *bs, uint64_t off, uint64_t len);

/* Copy all of src into dst from offset 0, skipping ranges of src that
 * read as zeroes when skip_zero (dst must then read zeroes there already). */
int blk_node_copy(BlockNode *src, BlockNode *dst, bool skip_zero,
                  BlkProgressFunc *progress, void *opaque, GError **errp);

/* What a host file holds, judged by its first bytes. */
typedef enum {
    BLK_FORMAT_RAW,
    BLK_FORMAT_REDO,        /* our REDO log */
    BLK_FORMAT_VMDK,        /* VMDK4 sparse (KDMV) */
    BLK_FORMAT_COWD,        /* Workstation 2.x / GSX sparse */
    BLK_FORMAT_DESCRIPTOR,  /* VMware text descriptor (vmdk or plain) */
    BLK_FORMAT_VMFS,        /* a VMFS volume */
} BlkFormat;
BlkFormat blk_probe_format(BlockNode *bs);
const char *blk_format_name(BlkFormat f);

/* Open a host image of any format we read, as the disk it represents. */
BlockNode *blk_image_open(const char *path, int flags, GError **errp);

/* ------------------------------------------------------------------------
 * MBR partitions
 * ------------------------------------------------------------------------ */

typedef struct BlkPartition {
    int number;            /* 1..4 primary, 5.. logical */
    uint8_t type;
    uint64_t offset;       /* bytes */
    uint64_t size;         /* bytes */
} BlkPartition;

#define BLK_PART_TYPE_VMFS      0xfb
#define BLK_PART_TYPE_VMFS_OLD  0xff   /* accepted, per the manual's FAQ */

/* Read the partition table; *parts is a g_new array of *nparts entries.
 * A disk without an MBR signature has no partitions (0, not an error). */
int blk_mbr_read(BlockNode *disk, BlkPartition **parts, int *nparts,
                 GError **errp);

/* ------------------------------------------------------------------------
 * Addressing and the device map
 * ------------------------------------------------------------------------ */

typedef enum {
    BLK_ADDR_HOST,        /* a host path */
    BLK_ADDR_DEVICE,      /* vmhbaA:T:L:P */
    BLK_ADDR_VMFS_FILE,   /* vmhbaA:T:L:P:file or fsname:file */
} BlkAddrKind;

typedef struct BlkAddress {
    BlkAddrKind kind;
    int adapter, target, lun, partition;   /* when fsname == NULL */
    char *fsname;                          /* fsname:file */
    char *file;                            /* file in the VMFS */
    char *path;                            /* BLK_ADDR_HOST */
} BlkAddress;

/* Parse "vmhbaA:T:L[:P][:file]", "scsiA:T:L[:P][:file]" (the manual's
 * other spelling), "fsname:file", or a host path.  `vmhbaA:T:L` means
 * partition 0 (the whole disk).  A string with a ':' that names neither is
 * taken as fsname:file when the part before ':' has no '/'. */
int blk_address_parse(const char *s, BlkAddress *addr, GError **errp);
void blk_address_clear(BlkAddress *addr);
/* Canonical text: "vmhba0:1:0:2", "vmhba0:1:0:2:f.dsk", "name:f.dsk". */
char *blk_address_format(const BlkAddress *addr);

/* The device map: /etc/vmkemu/devices.map or $VMKEMU_DEVMAP. */
const char *blk_devmap_path(void);
/* Host path bound to vmhbaA:T:L (g_free it). */
char *blk_devmap_lookup(int adapter, int target, int lun, GError **errp);
typedef struct BlkDevmapEntry {
    int adapter, target, lun;
    char *path;
} BlkDevmapEntry;
/* All entries in file order; free with blk_devmap_free. */
int blk_devmap_read(BlkDevmapEntry **entries, int *n, GError **errp);
void blk_devmap_free(BlkDevmapEntry *entries, int n);

/* Open vmhbaA:T:L:P: the whole disk (P = 0) or an MBR partition.
 * *part_type gets the partition type (0 for the whole disk) if non-NULL. */
BlockNode *blk_device_open(int adapter, int target, int lun, int partition,
                           int flags, uint8_t *part_type, GError **errp);

/* ------------------------------------------------------------------------
 * VMFS volumes (docs/vmfs-format.md)
 * ------------------------------------------------------------------------ */

typedef struct VmfsVolume VmfsVolume;

#define VMFS_DEFAULT_BLOCK_SIZE   (1u << 20)
#define VMFS_DEFAULT_MAX_FILES    64
#define VMFS_NAME_MAX             128      /* bytes, as the manual says */
#define VMFS_FSNAME_MAX           63
#define VMFS_DISK_HEADER_SIZE     512      /* the manual's attribute header */

typedef enum {
    VMFS_FILE_DISK  = 1,   /* disk image: 512-byte attribute header + data */
    VMFS_FILE_PLAIN = 2,   /* any other file, e.g. a REDO log */
} VmfsFileType;

typedef struct VmfsFileInfo {
    char name[VMFS_NAME_MAX + 1];
    VmfsFileType type;
    uint64_t length;       /* file length (disk images: data + 512) */
    uint64_t disk_size;    /* disk images: size of the disk it holds */
    uint64_t allocated;    /* bytes of volume blocks it holds */
    int64_t mtime;         /* seconds since the epoch */
} VmfsFileInfo;

typedef struct VmfsVolumeInfo {
    char fsname[VMFS_FSNAME_MAX + 1];
    uint32_t block_size;
    uint32_t max_files;
    uint32_t nfiles;
    uint64_t total_blocks;
    uint64_t free_blocks;
    uint64_t generation;
} VmfsVolumeInfo;

/* True when dev holds a VMFS superblock (cheap check, no full open). If
 * fsname is non-NULL it gets the volume's name (VMFS_FSNAME_MAX + 1). */
bool vmfs_probe(BlockNode *dev, char *fsname);

/* Make a new, empty VMFS on dev (vmkfstools -C).  Crash-safe: until the
 * new superblock is durable, a VMFS that was there stays intact. */
int vmfs_format(BlockNode *dev, uint32_t block_size, uint32_t max_files,
                const char *fsname, GError **errp);

/* Open the volume on dev; takes ownership of dev. */
VmfsVolume *vmfs_volume_open(BlockNode *dev, bool writable, GError **errp);
void vmfs_volume_close(VmfsVolume *vol);
const char *vmfs_volume_name(VmfsVolume *vol);   /* for messages */

int vmfs_volume_info(VmfsVolume *vol, VmfsVolumeInfo *info, GError **errp);
/* Files in table order (g_free the array). */
int vmfs_list(VmfsVolume *vol, VmfsFileInfo **files, int *n, GError **errp);
int vmfs_stat(VmfsVolume *vol, const char *name, VmfsFileInfo *info,
              GError **errp);
int vmfs_set_fsname(VmfsVolume *vol, const char *fsname, GError **errp);

/* Create a file.  For VMFS_FILE_DISK, size is the disk size and the file
 * reads as zeroes; for VMFS_FILE_PLAIN, size bytes are allocated.  If fill
 * is non-NULL it is called to write the contents into the open node before
 * the file becomes visible: a crash before the end leaves no file. */
typedef int VmfsFillFunc(BlockNode *node, void *opaque, GError **errp);
int vmfs_create(VmfsVolume *vol, const char *name, VmfsFileType type,
                uint64_t size, VmfsFillFunc *fill, void *opaque,
                GError **errp);
int vmfs_remove(VmfsVolume *vol, const char *name, GError **errp);

/* Open a file: for disk images the node is the disk (the header skipped);
 * for plain files it is the bytes.  The node keeps the volume open. */
BlockNode *vmfs_file_open(VmfsVolume *vol, const char *name, int flags,
                          GError **errp);

/* Check a volume read-only; report lines go to report.  Returns 0 when
 * consistent, -EUCLEAN when not (errp says the first problem). */
int vmfs_fsck(BlockNode *dev, GString *report, GError **errp);

/* Open the VMFS addressed by addr (vmhba... or fsname). */
VmfsVolume *blk_vmfs_open_address(const BlkAddress *addr, bool writable,
                                  GError **errp);
/* Find the device holding the VMFS named fsname. */
int blk_vmfs_find(const char *fsname, int *adapter, int *target, int *lun,
                  int *partition, GError **errp);

/* ------------------------------------------------------------------------
 * REDO logs (docs/redo-format.md)
 * ------------------------------------------------------------------------ */

#define REDO_DEFAULT_GRAIN_SIZE (64u * 1024)

typedef struct RedoInfo {
    uint32_t grain_size;
    uint32_t flags;               /* REDO_FLAG_* found at open */
    uint64_t parent_size;
    uint64_t allocated_grains;
} RedoInfo;

enum {
    REDO_FLAG_IN_USE     = 1 << 0,  /* a VM had it open for writing */
    REDO_FLAG_COMMITTING = 1 << 1,  /* a commit into the base began */
};

/* Write a fresh, empty REDO header and map into file (growable node). */
int blk_redo_format(BlockNode *file, uint64_t parent_size, uint32_t grain,
                    GError **errp);
/* Open a REDO node: file is the log, base the parent; takes both.
 * With BLK_O_RDWR the log is marked in use until closed. */
BlockNode *blk_redo_open(BlockNode *file, BlockNode *base, int flags,
                         GError **errp);
int blk_redo_get_info(BlockNode *redo, RedoInfo *info);
/* Read just the header of a REDO log file (no base needed). */
int blk_redo_read_info(BlockNode *file, RedoInfo *info, GError **errp);
/* Merge the log into its base (opened read-write) and flush the base.
 * The log stays valid throughout and is marked COMMITTING; running the
 * commit again after a crash finishes it.  Deleting the log afterwards is
 * the caller's job. */
int blk_redo_commit(BlockNode *redo, BlkProgressFunc *progress, void *opaque,
                    GError **errp);

/* ------------------------------------------------------------------------
 * VMware disks (vmdk driver)
 * ------------------------------------------------------------------------ */

typedef enum {
    VMDK_MONOLITHIC_SPARSE,
    VMDK_TWOGB_SPARSE,
    VMDK_MONOLITHIC_FLAT,
    VMDK_TWOGB_FLAT,
} VmdkSubformat;

/* Open a probed VMware disk (sparse, COWD, or a descriptor with its
 * extents) on the host file `file` (taken).  Used by blk_image_open. */
BlockNode *blk_vmdk_open_file(BlockNode *file, BlkFormat fmt, int flags,
                              GError **errp);

/* Export src to a new VMware disk at path, writing only non-zero grains. */
int blk_vmdk_export(BlockNode *src, const char *path, VmdkSubformat fmt,
                    BlkProgressFunc *progress, void *opaque, GError **errp);

/* ------------------------------------------------------------------------
 * Generic addressing-level operations (used by vmkfstools and the VMM)
 * ------------------------------------------------------------------------ */

/* Open whatever name addresses as a disk: a device, a VMFS file, or a host
 * image of any format. */
BlockNode *blk_open_name(const char *name, int flags, GError **errp);
/* Name of the REDO log of the disk `name` (name + ".REDO"). */
char *blk_redo_name(const char *name);
/* Does the file `name` exist (host or VMFS)? */
int blk_name_exists(const char *name, GError **errp);
/* Create a REDO log for `name`; returns the open growable log file. */
BlockNode *blk_redo_file_create(const char *name, uint64_t parent_size,
                                uint32_t grain, GError **errp);
BlockNode *blk_redo_file_open(const char *name, int flags, GError **errp);
int blk_remove_name(const char *name, GError **errp);
/* vmkfstools -m: commit name.REDO into name and remove it. */
int blk_commit_name(const char *name, BlkProgressFunc *progress, void *opaque,
                    GError **errp);

/* ------------------------------------------------------------------------
 * BlockBackend: what device models and tools hold
 * ------------------------------------------------------------------------ */

typedef struct BlockBackend BlockBackend;

typedef enum {
    BLK_MODE_PERSISTENT,
    BLK_MODE_NONPERSISTENT,
    BLK_MODE_UNDOABLE,
    BLK_MODE_APPEND,
} BlkDiskMode;

/* What happens to an undoable disk's REDO at power-off. */
typedef enum {
    BLK_REDO_KEEP,      /* keep it (append it on the next run) */
    BLK_REDO_COMMIT,    /* merge into the base, then delete */
    BLK_REDO_DISCARD,   /* delete */
} BlkRedoAction;

int blk_disk_mode_parse(const char *s, BlkDiskMode *mode);
const char *blk_disk_mode_name(BlkDiskMode mode);

typedef struct BlockBackendOptions {
    BlkDiskMode mode;
    bool read_only;
    uint32_t redo_grain;     /* 0: default */
    const char *tmpdir;      /* nonpersistent REDO; NULL: g_get_tmp_dir() */
} BlockBackendOptions;

/* Open the disk `name` (any address) with a disk mode.  A REDO left by a
 * crashed VM is kept and reported through blk_recovered_redo(); one whose
 * commit was interrupted is committed first. */
BlockBackend *blk_backend_open(const char *name, const BlockBackendOptions *o,
                               GError **errp);
/* A backend over an existing node (persistent; takes the node). */
BlockBackend *blk_backend_new(BlockNode *root);
/* Power off: the REDO action applies to undoable disks only
 * (nonpersistent always discards, append always keeps). Frees blk. */
int blk_backend_close(BlockBackend *blk, BlkRedoAction undoable_action,
                      GError **errp);

BlkDiskMode blk_backend_mode(BlockBackend *blk);
BlockNode *blk_backend_root(BlockBackend *blk);
const char *blk_backend_name(BlockBackend *blk);
/* Non-NULL when open found a REDO from a crashed VM: what was done. */
const char *blk_recovered_redo(BlockBackend *blk);

/* Synchronous I/O (any thread). */
int blk_pread(BlockBackend *blk, uint64_t off, void *buf, size_t len);
int blk_pwrite(BlockBackend *blk, uint64_t off, const void *buf, size_t len);
int blk_flush(BlockBackend *blk);
int blk_discard(BlockBackend *blk, uint64_t off, uint64_t len);
int64_t blk_size(BlockBackend *blk);
int blk_block_status(BlockBackend *blk, uint64_t off, uint64_t len,
                     uint64_t *pnum);

/* Asynchronous I/O: the request runs on the block thread pool; cb runs in
 * the main context the backend was created in, with 0 or -errno. */
typedef void BlkCompletionFunc(void *opaque, int ret);
void blk_aio_pread(BlockBackend *blk, uint64_t off, void *buf, size_t len,
                   BlkCompletionFunc *cb, void *opaque);
void blk_aio_pwrite(BlockBackend *blk, uint64_t off, const void *buf,
                    size_t len, BlkCompletionFunc *cb, void *opaque);
void blk_aio_flush(BlockBackend *blk, BlkCompletionFunc *cb, void *opaque);
void blk_aio_discard(BlockBackend *blk, uint64_t off, uint64_t len,
                     BlkCompletionFunc *cb, void *opaque);
/* Wait until every request of blk has completed and its callback ran
 * (call from the thread that owns the backend's main context). */
void blk_drain(BlockBackend *blk);

#endif
