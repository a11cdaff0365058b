/*
 * vmkfstools: create and manage VMFS volumes and the files in them.
 *
 * The options are those of the ESX Server 1.0 manual, "File System
 * Management on SCSI Disks and RAID" (short and long names as written
 * there), plus --commitfile (the troubleshooting section's spelling of
 * --commit) and --fsck (our own).  Usage: vmkfstools <options>
 * <device>[:<file>].  docs/vmkfstools.1 is the manual page.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "block.h"

#define EXIT_USAGE 2

typedef enum {
    OP_NONE, OP_CREATEFS, OP_SETFSNAME, OP_CONSOLENAME, OP_CREATEFILE,
    OP_EXPORTFILE, OP_IMPORTFILE, OP_EXPORTRAW, OP_IMPORTRAW, OP_LIST,
    OP_REMOVEFILE, OP_COMMIT, OP_FSCK,
} Op;

typedef struct Args {
    Op op;
    const char *op_opt;        /* the option that chose op, for messages */
    const char *op_arg;        /* its argument */
    uint64_t block_size;
    const char *block_size_arg;
    bool have_block_size;
    uint64_t num_files;
    const char *num_files_arg;
    bool have_num_files;
    const char *target;
    bool quiet;
} Args;

static const char *prog = "vmkfstools";

/* What is open, closed in reverse order when an error ends the program. */
typedef struct Deferred {
    void (*fn)(void *);
    void *p;
} Deferred;
static Deferred deferred[16];
static int ndeferred;

static void *defer(void (*fn)(void *), void *p)
{
    g_assert(ndeferred < (int)G_N_ELEMENTS(deferred));
    deferred[ndeferred].fn = fn;
    deferred[ndeferred].p = p;
    ndeferred++;
    return p;
}

/* Run and forget the deferred close of p now. */
static void release(void *p)
{
    for (int i = ndeferred - 1; i >= 0; i--) {
        if (deferred[i].p == p) {
            deferred[i].fn(p);
            memmove(&deferred[i], &deferred[i + 1],
                    (ndeferred - i - 1) * sizeof(Deferred));
            ndeferred--;
            return;
        }
    }
}

static void release_all(void)
{
    while (ndeferred > 0) {
        ndeferred--;
        deferred[ndeferred].fn(deferred[ndeferred].p);
    }
}

static void close_node(void *p)
{
    blk_node_close(p);
}

static void close_volume(void *p)
{
    vmfs_volume_close(p);
}

static void unlink_path(void *p)
{
    unlink(p);
    g_free(p);
}

static void fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    release_all();
    exit(EXIT_FAILURE);
}

static void usage_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;
static void usage_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see %s --help)\n", prog);
    va_end(ap);
    release_all();
    exit(EXIT_USAGE);
}

static void fail_error(GError *err) G_GNUC_NORETURN;
static void fail_error(GError *err)
{
    char *msg = g_strdup(err ? err->message : "failed");
    g_clear_error(&err);
    defer(g_free, msg);
    fail("%s", msg);
}

static void usage(void)
{
    printf("Usage: %s <options> <device>[:<file>]\n"
           "\n"
           "<device> is vmhbaA:T:L:P (adapter, target, LUN, partition; 0 is\n"
           "the whole disk), a VMFS name, or a host image file; <file> names\n"
           "a file in the VMFS on it (also written <fsname>:<file>).\n"
           "\n"
           "  -C, --createfs            create a VMFS on <device>\n"
           "  -b, --blocksize #[mMkK]   with -C: file block size (default 1m)\n"
           "  -n, --numfiles #          with -C: maximum files (default 64)\n"
           "  -S, --setfsname NAME      name the VMFS on <device>\n"
           "  -N, --consolename         print the host path of <device>\n"
           "  -c, --createfile #[mMkK]  create an empty disk of that size\n"
           "  -e, --exportfile DST      export the file as a VMware sparse disk\n"
           "  -i, --importfile SRC      import a VMware, plain or raw disk\n"
           "  -d, --copyfile SRC        the same as --importfile\n"
           "  -E, --exportraw DST       copy the file exactly to a host file\n"
           "  -I, --importraw SRC       copy a host file exactly into the file\n"
           "  -l, --list                list the files of the VMFS\n"
           "  -r, --removefile          remove the file\n"
           "  -m, --commit, --commitfile  commit the file's REDO log into it\n"
           "      --fsck                check the VMFS for consistency\n"
           "  -q, --quiet               no progress display\n"
           "  -h, --help                this text\n"
           "\n"
           "Devices come from %s ($VMKEMU_DEVMAP),\n"
           "one 'vmhbaA:T:L PATH' per line.\n", prog, blk_devmap_path());
}

/* "#[kKmMgG]" in bytes. */
static bool parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!g_ascii_isdigit(*s)) {
        return false;
    }
    uint64_t v = g_ascii_strtoull(s, &end, 10);
    if (errno) {
        return false;
    }
    uint64_t mul = 1;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': mul = 1ull << 10; break;
        case 'm': case 'M': mul = 1ull << 20; break;
        case 'g': case 'G': mul = 1ull << 30; break;
        default: return false;
        }
        if (end[1]) {
            return false;
        }
    }
    if (v > UINT64_MAX / mul) {
        return false;
    }
    *out = v * mul;
    return true;
}

/* ------------------------------------------------------------------------
 * Progress on a terminal
 * ------------------------------------------------------------------------ */

typedef struct Progress {
    const char *what;
    bool tty;
    int last;
} Progress;

static void progress_cb(void *opaque, uint64_t done, uint64_t total)
{
    Progress *p = opaque;
    if (!p->tty || total == 0) {
        return;
    }
    int pct = (int)(done * 100 / total);
    if (pct != p->last) {
        p->last = pct;
        fprintf(stderr, "\r%s: %3d%%", p->what, pct);
        fflush(stderr);
    }
}

static void progress_init(Progress *p, const char *what, bool quiet)
{
    p->what = what;
    p->tty = !quiet && isatty(STDERR_FILENO);
    p->last = -1;
}

static void progress_done(Progress *p)
{
    if (p->tty && p->last >= 0) {
        fprintf(stderr, "\r%s: done\n", p->what);
    }
}

/* ------------------------------------------------------------------------
 * Resolving the argument
 * ------------------------------------------------------------------------ */

static void clear_address(void *p)
{
    blk_address_clear(p);
}

/* A device: vmhbaA:T:L:P, a host image file, or a VMFS name.  Deferred. */
static BlockNode *open_device(const char *arg, int flags, uint8_t *part_type,
                              int *partition)
{
    GError *err = NULL;
    static BlkAddress a;
    if (blk_address_parse(arg, &a, &err) < 0) {
        fail_error(err);
    }
    defer(clear_address, &a);
    BlockNode *dev = NULL;
    if (part_type) {
        *part_type = 0;
    }
    if (partition) {
        *partition = 0;
    }
    switch (a.kind) {
    case BLK_ADDR_VMFS_FILE:
        fail("%s: expected a device (vmhbaA:T:L:P), not a file", arg);
    case BLK_ADDR_DEVICE:
        dev = blk_device_open(a.adapter, a.target, a.lun, a.partition, flags,
                              part_type, &err);
        if (partition) {
            *partition = a.partition;
        }
        break;
    case BLK_ADDR_HOST:
        if (g_file_test(a.path, G_FILE_TEST_EXISTS) || strchr(a.path, '/')) {
            dev = blk_file_open(a.path, flags, &err);
        } else {
            int ad, t, l, p;
            if (blk_vmfs_find(a.path, &ad, &t, &l, &p, NULL) < 0) {
                fail("%s: no such device, file or VMFS name", arg);
            }
            dev = blk_device_open(ad, t, l, p, flags, part_type, &err);
            if (partition) {
                *partition = p;
            }
        }
        break;
    }
    release(&a);
    if (!dev) {
        fail_error(err);
    }
    return defer(close_node, dev);
}

/* The VMFS on a device.  Deferred. */
static VmfsVolume *open_volume(const char *arg, bool writable)
{
    GError *err = NULL;
    BlockNode *dev = open_device(arg, writable ? BLK_O_RDWR : 0, NULL, NULL);
    /* The volume takes the device, also when it fails. */
    ndeferred--;
    VmfsVolume *v = vmfs_volume_open(dev, writable, &err);
    if (!v) {
        fail_error(err);
    }
    return defer(close_volume, v);
}

/* <device>:<file> or <fsname>:<file>: the volume (deferred) and the file
 * name (deferred too). */
static VmfsVolume *open_file_volume(const char *arg, bool writable,
                                    char **file)
{
    GError *err = NULL;
    static BlkAddress a;
    if (blk_address_parse(arg, &a, &err) < 0) {
        fail_error(err);
    }
    defer(clear_address, &a);
    if (a.kind != BLK_ADDR_VMFS_FILE) {
        fail("%s: expected a VMFS file (vmhbaA:T:L:P:file or fsname:file)",
             arg);
    }
    VmfsVolume *v = blk_vmfs_open_address(&a, writable, &err);
    if (!v) {
        fail_error(err);
    }
    *file = g_strdup(a.file);
    release(&a);
    defer(g_free, *file);
    return defer(close_volume, v);
}

/* A file in a VMFS, opened read-only.  Deferred with its volume. */
static BlockNode *open_vmfs_file(const char *target)
{
    char *file;
    VmfsVolume *v = open_file_volume(target, false, &file);
    GError *err = NULL;
    BlockNode *bs = vmfs_file_open(v, file, 0, &err);
    if (!bs) {
        fail_error(err);
    }
    return defer(close_node, bs);
}

/* ------------------------------------------------------------------------
 * Operations
 * ------------------------------------------------------------------------ */

static void op_createfs(const Args *a)
{
    uint64_t bs = a->have_block_size ? a->block_size : VMFS_DEFAULT_BLOCK_SIZE;
    uint64_t nf = a->have_num_files ? a->num_files : VMFS_DEFAULT_MAX_FILES;
    if (a->have_block_size &&
        (bs < 4096 || bs > (256u << 20) || (bs & (bs - 1)))) {
        fail("-b %s: the block size must be a power of two from 4k to 256m",
             a->block_size_arg);
    }
    if (a->have_num_files && (nf < 1 || nf > 16384)) {
        fail("-n %s: the number of files must be 1 to 16384",
             a->num_files_arg);
    }
    uint8_t type;
    int partition;
    BlockNode *dev = open_device(a->target, BLK_O_RDWR, &type, &partition);
    if (partition > 0 && type != BLK_PART_TYPE_VMFS &&
        type != BLK_PART_TYPE_VMFS_OLD) {
        fail("%s: partition type is 0x%02x, not 0xfb (VMFS); set it with "
             "fdisk first", a->target, type);
    }
    GError *err = NULL;
    if (vmfs_format(dev, (uint32_t)bs, (uint32_t)nf, NULL, &err) < 0) {
        fail_error(err);
    }
}

static void op_setfsname(const Args *a)
{
    VmfsVolume *v = open_volume(a->target, true);
    GError *err = NULL;
    if (vmfs_set_fsname(v, a->op_arg, &err) < 0) {
        fail_error(err);
    }
}

static void op_consolename(const Args *a)
{
    GError *err = NULL;
    static BlkAddress ad;
    if (blk_address_parse(a->target, &ad, &err) < 0) {
        fail_error(err);
    }
    defer(clear_address, &ad);
    int adp = ad.adapter, t = ad.target, l = ad.lun, p = ad.partition;
    if (ad.kind == BLK_ADDR_HOST) {
        if (blk_vmfs_find(ad.path, &adp, &t, &l, &p, NULL) < 0) {
            fail("%s: expected a device (vmhbaA:T:L:P)", a->target);
        }
    } else if (ad.kind != BLK_ADDR_DEVICE) {
        fail("%s: expected a device (vmhbaA:T:L:P), not a file", a->target);
    }
    char *path = blk_devmap_lookup(adp, t, l, &err);
    if (!path) {
        fail_error(err);
    }
    defer(g_free, path);
    if (p == 0) {
        printf("%s\n", path);
        return;
    }
    /* A partition: its own device node when the host has one, else the
     * disk with the partition's byte range. */
    BlockNode *disk = blk_file_open(path, 0, &err);
    if (!disk) {
        fail_error(err);
    }
    defer(close_node, disk);
    BlkPartition *parts;
    int np;
    if (blk_mbr_read(disk, &parts, &np, &err) < 0) {
        fail_error(err);
    }
    defer(g_free, parts);
    for (int i = 0; i < np; i++) {
        if (parts[i].number != p) {
            continue;
        }
        char *node = g_strdup_printf("%s%s%d", path,
                                     g_ascii_isdigit(path[strlen(path) - 1])
                                     ? "p" : "", p);
        if (g_str_has_prefix(path, "/dev/") &&
            g_file_test(node, G_FILE_TEST_EXISTS)) {
            printf("%s\n", node);
        } else {
            printf("%s offset=%" PRIu64 " size=%" PRIu64 "\n", path,
                   parts[i].offset, parts[i].size);
        }
        g_free(node);
        return;
    }
    fail("%s: no partition %d on the disk", a->target, p);
}

static void op_createfile(const Args *a)
{
    uint64_t size;
    if (!parse_size(a->op_arg, &size)) {
        usage_fail("%s %s: expected a size like 2000m, 512k or 1048576",
                   a->op_opt, a->op_arg);
    }
    char *file;
    VmfsVolume *v = open_file_volume(a->target, true, &file);
    GError *err = NULL;
    if (vmfs_create(v, file, VMFS_FILE_DISK, size, NULL, NULL, &err) < 0) {
        fail_error(err);
    }
}

typedef struct CopyJob {
    BlockNode *src;
    bool skip_zero;
    Progress progress;
} CopyJob;

static int copy_fill(BlockNode *dst, void *opaque, GError **errp)
{
    CopyJob *j = opaque;
    return blk_node_copy(j->src, dst, j->skip_zero, progress_cb, &j->progress,
                         errp);
}

static void op_import(const Args *a, bool raw)
{
    GError *err = NULL;
    BlockNode *src = raw ? blk_file_open(a->op_arg, 0, &err)
                         : blk_image_open(a->op_arg, 0, &err);
    if (!src) {
        fail_error(err);
    }
    defer(close_node, src);
    int64_t size = blk_node_size(src);
    if (size < 0) {
        fail("%s: %s", a->op_arg, g_strerror((int)-size));
    }
    VmfsFileType type = VMFS_FILE_DISK;
    if (raw && (size % BLK_SECTOR_SIZE ||
                blk_probe_format(src) == BLK_FORMAT_REDO ||
                g_str_has_suffix(a->target, ".REDO"))) {
        type = VMFS_FILE_PLAIN;
    }
    if (!raw && size % BLK_SECTOR_SIZE) {
        fail("%s: size %" PRId64 " is not a whole number of 512-byte sectors",
             a->op_arg, size);
    }
    char *file;
    VmfsVolume *v = open_file_volume(a->target, true, &file);
    CopyJob job = { .src = src, .skip_zero = true };
    progress_init(&job.progress, "importing", a->quiet);
    if (vmfs_create(v, file, type, (uint64_t)size, copy_fill, &job,
                    &err) < 0) {
        if (job.progress.tty && job.progress.last >= 0) {
            fputc('\n', stderr);
        }
        fail_error(err);
    }
    progress_done(&job.progress);
}

static void op_exportraw(const Args *a)
{
    BlockNode *src = open_vmfs_file(a->target);
    GError *err = NULL;
    if (g_file_test(a->op_arg, G_FILE_TEST_EXISTS)) {
        fail("%s: file exists; remove it first", a->op_arg);
    }
    /* Written under a temporary name, renamed when complete. */
    char *tmp = g_strdup_printf("%s.part-%d", a->op_arg, (int)getpid());
    BlockNode *dst = blk_file_open(tmp, BLK_O_RDWR | BLK_O_CREATE |
                                   BLK_O_EXCL | BLK_O_GROWABLE, &err);
    if (!dst) {
        g_free(tmp);
        fail_error(err);
    }
    defer(unlink_path, tmp);
    defer(close_node, dst);
    int64_t size = blk_node_size(src);
    Progress pr;
    progress_init(&pr, "exporting", a->quiet);
    int r = size < 0 ? (int)size : blk_node_pwrite_zeroes(dst, 0,
                                                          (uint64_t)size);
    if (r < 0) {
        fail("%s: %s", a->op_arg, g_strerror(-r));
    }
    if (blk_node_copy(src, dst, true, progress_cb, &pr, &err) < 0) {
        fail_error(err);
    }
    r = blk_node_flush(dst);
    if (r < 0) {
        fail("%s: %s", a->op_arg, g_strerror(-r));
    }
    if (rename(tmp, a->op_arg) < 0) {
        fail("%s: %s", a->op_arg, g_strerror(errno));
    }
    progress_done(&pr);
    release(dst);
    /* Renamed: nothing left to unlink. */
    for (int i = 0; i < ndeferred; i++) {
        if (deferred[i].p == tmp) {
            deferred[i].fn = g_free;
        }
    }
}

static void op_exportfile(const Args *a)
{
    BlockNode *src = open_vmfs_file(a->target);
    GError *err = NULL;
    if (g_file_test(a->op_arg, G_FILE_TEST_EXISTS)) {
        fail("%s: file exists; remove it first", a->op_arg);
    }
    int64_t size = blk_node_size(src);
    VmdkSubformat fmt = size > (int64_t)2 << 30 ? VMDK_TWOGB_SPARSE
                                                : VMDK_MONOLITHIC_SPARSE;
    Progress pr;
    progress_init(&pr, "exporting", a->quiet);
    if (blk_vmdk_export(src, a->op_arg, fmt, progress_cb, &pr, &err) < 0) {
        if (pr.tty && pr.last >= 0) {
            fputc('\n', stderr);
        }
        fail_error(err);
    }
    progress_done(&pr);
}

static void human(char *buf, size_t n, uint64_t bytes)
{
    if (bytes >= (1ull << 30)) {
        snprintf(buf, n, "%.1fG", bytes / (double)(1ull << 30));
    } else if (bytes >= (1ull << 20)) {
        snprintf(buf, n, "%.1fM", bytes / (double)(1ull << 20));
    } else {
        snprintf(buf, n, "%.1fK", bytes / 1024.0);
    }
}

static void op_list(const Args *a)
{
    VmfsVolume *v = open_volume(a->target, false);
    GError *err = NULL;
    VmfsVolumeInfo vi;
    VmfsFileInfo *files;
    int n;
    if (vmfs_volume_info(v, &vi, &err) < 0 ||
        vmfs_list(v, &files, &n, &err) < 0) {
        fail_error(err);
    }
    defer(g_free, files);
    char bsz[32], freeb[32], total[32];
    human(bsz, sizeof(bsz), vi.block_size);
    human(freeb, sizeof(freeb), vi.free_blocks * vi.block_size);
    human(total, sizeof(total), vi.total_blocks * vi.block_size);
    printf("%s: VMFS name '%s', block size %s, %u of %u files, "
           "%s free of %s (%" PRIu64 " of %" PRIu64 " blocks)\n",
           vmfs_volume_name(v), vi.fsname, bsz, vi.nfiles, vi.max_files,
           freeb, total, vi.free_blocks, vi.total_blocks);
    for (int i = 0; i < n; i++) {
        char when[32];
        time_t t = (time_t)files[i].mtime;
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M",
                 localtime_r(&t, &tm));
        printf("%-5s %15" PRIu64 " %s %s\n",
               files[i].type == VMFS_FILE_DISK ? "disk" : "file",
               files[i].length, when, files[i].name);
    }
}

static void op_removefile(const Args *a)
{
    char *file;
    VmfsVolume *v = open_file_volume(a->target, true, &file);
    GError *err = NULL;
    if (vmfs_remove(v, file, &err) < 0) {
        fail_error(err);
    }
}

static void op_commit(const Args *a)
{
    GError *err = NULL;
    Progress pr;
    progress_init(&pr, "committing", a->quiet);
    if (blk_commit_name(a->target, progress_cb, &pr, &err) < 0) {
        if (pr.tty && pr.last >= 0) {
            fputc('\n', stderr);
        }
        fail_error(err);
    }
    progress_done(&pr);
}

static void op_fsck(const Args *a)
{
    BlockNode *dev = open_device(a->target, 0, NULL, NULL);
    GString *report = g_string_new(NULL);
    GError *err = NULL;
    int r = vmfs_fsck(dev, report, &err);
    fputs(report->str, stdout);
    fflush(stdout);
    g_string_free(report, TRUE);
    if (r < 0) {
        fail_error(err);
    }
    printf("%s: VMFS is consistent\n", a->target);
}

/* ------------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------------ */

enum { OPT_FSCK = 256, OPT_COMMITFILE };

static const struct option long_opts[] = {
    { "createfs",    no_argument,       NULL, 'C' },
    { "blocksize",   required_argument, NULL, 'b' },
    { "numfiles",    required_argument, NULL, 'n' },
    { "setfsname",   required_argument, NULL, 'S' },
    { "consolename", no_argument,       NULL, 'N' },
    { "createfile",  required_argument, NULL, 'c' },
    { "exportfile",  required_argument, NULL, 'e' },
    { "importfile",  required_argument, NULL, 'i' },
    { "copyfile",    required_argument, NULL, 'd' },
    { "exportraw",   required_argument, NULL, 'E' },
    { "importraw",   required_argument, NULL, 'I' },
    { "list",        no_argument,       NULL, 'l' },
    { "removefile",  no_argument,       NULL, 'r' },
    { "commit",      no_argument,       NULL, 'm' },
    { "commitfile",  no_argument,       NULL, OPT_COMMITFILE },
    { "fsck",        no_argument,       NULL, OPT_FSCK },
    { "quiet",       no_argument,       NULL, 'q' },
    { "help",        no_argument,       NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void set_op(Args *a, Op op, const char *opt, const char *arg)
{
    if (a->op != OP_NONE) {
        usage_fail("%s and %s: give one operation at a time", a->op_opt, opt);
    }
    a->op = op;
    a->op_opt = opt;
    a->op_arg = arg;
}

int main(int argc, char **argv)
{
    Args a = { 0 };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":Cb:n:S:Nc:e:i:d:E:I:lrmqh",
                            long_opts, NULL)) != -1) {
        switch (c) {
        case 'C': set_op(&a, OP_CREATEFS, "-C", NULL); break;
        case 'S': set_op(&a, OP_SETFSNAME, "-S", optarg); break;
        case 'N': set_op(&a, OP_CONSOLENAME, "-N", NULL); break;
        case 'c': set_op(&a, OP_CREATEFILE, "-c", optarg); break;
        case 'e': set_op(&a, OP_EXPORTFILE, "-e", optarg); break;
        case 'i': set_op(&a, OP_IMPORTFILE, "-i", optarg); break;
        case 'd': set_op(&a, OP_IMPORTFILE, "-d", optarg); break;
        case 'E': set_op(&a, OP_EXPORTRAW, "-E", optarg); break;
        case 'I': set_op(&a, OP_IMPORTRAW, "-I", optarg); break;
        case 'l': set_op(&a, OP_LIST, "-l", NULL); break;
        case 'r': set_op(&a, OP_REMOVEFILE, "-r", NULL); break;
        case 'm': set_op(&a, OP_COMMIT, "-m", NULL); break;
        case OPT_COMMITFILE: set_op(&a, OP_COMMIT, "--commitfile", NULL); break;
        case OPT_FSCK: set_op(&a, OP_FSCK, "--fsck", NULL); break;
        case 'b':
            if (!parse_size(optarg, &a.block_size)) {
                usage_fail("-b %s: expected a block size like 1m or 512k",
                           optarg);
            }
            a.have_block_size = true;
            a.block_size_arg = optarg;
            break;
        case 'n':
            if (!parse_size(optarg, &a.num_files) || optarg[strlen(optarg) - 1]
                    < '0' || optarg[strlen(optarg) - 1] > '9') {
                usage_fail("-n %s: expected a number of files", optarg);
            }
            a.have_num_files = true;
            a.num_files_arg = optarg;
            break;
        case 'q': a.quiet = true; break;
        case 'h': usage(); return 0;
        case ':':
            usage_fail("%s: needs an argument",
                       optopt ? (char[]){ '-', (char)optopt, 0 }
                              : argv[optind - 1]);
        default:
            usage_fail("%s: unknown option",
                       optopt ? (char[]){ '-', (char)optopt, 0 }
                              : argv[optind - 1]);
        }
    }
    if (a.op == OP_NONE) {
        usage_fail("no operation given");
    }
    if ((a.have_block_size || a.have_num_files) && a.op != OP_CREATEFS) {
        usage_fail("%s: only goes with -C", a.have_block_size ? "-b" : "-n");
    }
    if (optind >= argc) {
        usage_fail("%s: no device given", a.op_opt);
    }
    if (optind + 1 < argc) {
        usage_fail("%s: one device at a time", argv[optind + 1]);
    }
    a.target = argv[optind];

    switch (a.op) {
    case OP_CREATEFS: op_createfs(&a); break;
    case OP_SETFSNAME: op_setfsname(&a); break;
    case OP_CONSOLENAME: op_consolename(&a); break;
    case OP_CREATEFILE: op_createfile(&a); break;
    case OP_EXPORTFILE: op_exportfile(&a); break;
    case OP_IMPORTFILE: op_import(&a, false); break;
    case OP_EXPORTRAW: op_exportraw(&a); break;
    case OP_IMPORTRAW: op_import(&a, true); break;
    case OP_LIST: op_list(&a); break;
    case OP_REMOVEFILE: op_removefile(&a); break;
    case OP_COMMIT: op_commit(&a); break;
    case OP_FSCK: op_fsck(&a); break;
    case OP_NONE: break;
    }
    release_all();
    return 0;
}
