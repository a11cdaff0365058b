/*
 * Disk modes in the BlockBackend (block/block-backend.c), as the ESX
 * Server 1.0 manual describes them: persistent, nonpersistent, undoable
 * (commit, discard or keep at power-off) and append (a REDO log that stays
 * until vmkfstools -m commits it or it is removed).  A REDO left by a VM
 * that died (a child process that _exit()s without closing) is found and
 * kept; a commit that died half-way is finished at the next open.  Run on a
 * disk in a VMFS and on a host image file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "block.h"

#define KB 1024u
#define DISK (256 * KB)

static char *tmpdir;
static char *host_disk;

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)((i * 13 + seed * 71 + (i >> 8)) & 0xff);
    }
}

static void setup(void)
{
    char *img = g_build_filename(tmpdir, "vol.img", NULL);
    uint8_t *z = g_malloc0(8 << 20);
    g_assert_true(g_file_set_contents(img, (char *)z, 8 << 20, NULL));
    char *map = g_build_filename(tmpdir, "devices.map", NULL);
    g_assert_true(g_file_set_contents(map, "vmhba0:0:0 vol.img\n", -1, NULL));
    g_setenv("VMKEMU_DEVMAP", map, TRUE);
    BlockNode *dev = blk_file_open(img, BLK_O_RDWR, NULL);
    g_assert_cmpint(vmfs_format(dev, 64 * KB, 16, "vol", NULL), ==, 0);
    VmfsVolume *v = vmfs_volume_open(dev, true, NULL);
    g_assert_cmpint(vmfs_create(v, "d.dsk", VMFS_FILE_DISK, DISK, NULL, NULL,
                                NULL), ==, 0);
    BlockNode *f = vmfs_file_open(v, "d.dsk", BLK_O_RDWR, NULL);
    uint8_t *pat = g_malloc(DISK);
    fill_pattern(pat, DISK, 1);
    g_assert_cmpint(blk_node_pwrite(f, 0, pat, DISK), ==, 0);
    blk_node_close(f);
    vmfs_volume_close(v);
    host_disk = g_build_filename(tmpdir, "host.dsk", NULL);
    g_assert_true(g_file_set_contents(host_disk, (char *)pat, DISK, NULL));
    g_free(pat);
    g_free(z);
    g_free(img);
    g_free(map);
}

/* The base's bytes at off (opened directly, no REDO). */
static uint8_t base_byte(const char *name, uint64_t off)
{
    BlockNode *bs = blk_open_name(name, 0, NULL);
    g_assert_nonnull(bs);
    uint8_t b;
    g_assert_cmpint(blk_node_pread(bs, off, &b, 1), ==, 0);
    blk_node_close(bs);
    return b;
}

static uint8_t orig_byte(uint64_t off)
{
    uint8_t b[1];
    uint8_t *pat = g_malloc(DISK);
    fill_pattern(pat, DISK, 1);
    b[0] = pat[off];
    g_free(pat);
    return b[0];
}

static bool redo_exists(const char *name)
{
    char *r = blk_redo_name(name);
    int e = blk_name_exists(r, NULL);
    g_free(r);
    return e == 1;
}

static BlockBackend *open_mode(const char *name, BlkDiskMode mode)
{
    BlockBackendOptions o = { .mode = mode, .redo_grain = 4 * KB,
                              .tmpdir = tmpdir };
    GError *err = NULL;
    BlockBackend *blk = blk_backend_open(name, &o, &err);
    g_assert_no_error(err);
    g_assert_nonnull(blk);
    return blk;
}

static void put(BlockBackend *blk, uint64_t off, uint8_t val)
{
    uint8_t b[512];
    memset(b, val, sizeof(b));
    g_assert_cmpint(blk_pwrite(blk, off, b, sizeof(b)), ==, 0);
}

static uint8_t get(BlockBackend *blk, uint64_t off)
{
    uint8_t b;
    g_assert_cmpint(blk_pread(blk, off, &b, 1), ==, 0);
    return b;
}

static void check_modes(const char *name)
{
    GError *err = NULL;
    /* Persistent: straight to the disk. */
    BlockBackend *blk = open_mode(name, BLK_MODE_PERSISTENT);
    put(blk, 0, 0x11);
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_KEEP, &err), ==, 0);
    g_assert_cmpint(base_byte(name, 0), ==, 0x11);
    g_assert_false(redo_exists(name));

    /* Nonpersistent: gone at power-off, nothing left behind. */
    blk = open_mode(name, BLK_MODE_NONPERSISTENT);
    put(blk, 4096, 0x22);
    g_assert_cmpint(get(blk, 4096), ==, 0x22);
    g_assert_cmpint(base_byte(name, 4096), ==, orig_byte(4096));
    g_assert_false(redo_exists(name));
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_COMMIT, &err), ==, 0);
    g_assert_cmpint(base_byte(name, 4096), ==, orig_byte(4096));
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    const char *e;
    while ((e = g_dir_read_name(d))) {
        g_assert_false(g_str_has_prefix(e, "vmkemu-redo-"));
    }
    g_dir_close(d);

    /* Undoable, kept: the REDO stays and the next run continues it. */
    blk = open_mode(name, BLK_MODE_UNDOABLE);
    put(blk, 8192, 0x33);
    g_assert_true(redo_exists(name));
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_KEEP, &err), ==, 0);
    g_assert_true(redo_exists(name));
    g_assert_cmpint(base_byte(name, 8192), ==, orig_byte(8192));
    blk = open_mode(name, BLK_MODE_UNDOABLE);
    g_assert_null(blk_recovered_redo(blk));
    g_assert_cmpint(get(blk, 8192), ==, 0x33);
    put(blk, 12288, 0x44);
    /* Discarded: both changes go. */
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_DISCARD, &err), ==, 0);
    g_assert_false(redo_exists(name));
    g_assert_cmpint(base_byte(name, 8192), ==, orig_byte(8192));
    g_assert_cmpint(base_byte(name, 12288), ==, orig_byte(12288));
    /* Committed: into the base, REDO gone. */
    blk = open_mode(name, BLK_MODE_UNDOABLE);
    put(blk, 16384, 0x55);
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_COMMIT, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_false(redo_exists(name));
    g_assert_cmpint(base_byte(name, 16384), ==, 0x55);

    /* Append: the REDO stays whatever the power-off says, until a commit
     * (vmkfstools -m) or removal. */
    blk = open_mode(name, BLK_MODE_APPEND);
    put(blk, 20480, 0x66);
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_DISCARD, &err), ==, 0);
    g_assert_true(redo_exists(name));
    blk = open_mode(name, BLK_MODE_APPEND);
    g_assert_cmpint(get(blk, 20480), ==, 0x66);
    /* While it runs, nobody else can take the disk's REDO. */
    BlockBackendOptions o = { .mode = BLK_MODE_APPEND };
    g_assert_null(blk_backend_open(name, &o, &err));
    g_assert_error(err, BLK_ERROR, EBUSY);
    g_clear_error(&err);
    g_assert_cmpint(blk_commit_name(name, NULL, NULL, &err), <, 0);
    g_assert_error(err, BLK_ERROR, EBUSY);
    g_clear_error(&err);
    /* Nor write the disk itself. */
    BlockBackendOptions po = { .mode = BLK_MODE_PERSISTENT };
    g_assert_null(blk_backend_open(name, &po, &err));
    g_assert_error(err, BLK_ERROR, EBUSY);
    g_clear_error(&err);
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_KEEP, &err), ==, 0);
    g_assert_cmpint(blk_commit_name(name, NULL, NULL, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_false(redo_exists(name));
    g_assert_cmpint(base_byte(name, 20480), ==, 0x66);
}

static void test_modes_vmfs(void)
{
    check_modes("vol:d.dsk");
}

static void test_modes_host(void)
{
    check_modes(host_disk);
}

/* A VM that dies with its REDO open: the log is kept and reported. */
static void check_crashed_vm(const char *name, BlkDiskMode mode)
{
    pid_t pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        BlockBackendOptions o = { .mode = mode, .redo_grain = 4 * KB };
        BlockBackend *blk = blk_backend_open(name, &o, NULL);
        if (!blk) {
            _exit(2);
        }
        uint8_t b[512];
        memset(b, 0x77, sizeof(b));
        blk_pwrite(blk, 24576, b, sizeof(b));
        blk_flush(blk);
        memset(b, 0x78, sizeof(b));
        blk_pwrite(blk, 28672, b, sizeof(b));   /* never flushed */
        _exit(0);
    }
    int status;
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_true(redo_exists(name));
    BlockBackend *blk = open_mode(name, mode);
    g_assert_nonnull(blk_recovered_redo(blk));
    g_assert_nonnull(strstr(blk_recovered_redo(blk), "did not power off"));
    g_assert_cmpint(get(blk, 24576), ==, 0x77);
    GError *err = NULL;
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_KEEP, &err), ==, 0);
    /* Cleanly closed now: nothing to report the next time. */
    blk = open_mode(name, mode);
    g_assert_null(blk_recovered_redo(blk));
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_DISCARD, &err), ==, 0);
    if (mode == BLK_MODE_APPEND) {
        char *r = blk_redo_name(name);
        g_assert_cmpint(blk_remove_name(r, &err), ==, 0);
        g_free(r);
    }
    g_assert_false(redo_exists(name));
}

static void test_crashed_vm(void)
{
    check_crashed_vm("vol:d.dsk", BLK_MODE_UNDOABLE);
    check_crashed_vm("vol:d.dsk", BLK_MODE_APPEND);
    check_crashed_vm(host_disk, BLK_MODE_UNDOABLE);
}

static void die_midway(void *opaque, uint64_t done, uint64_t total)
{
    if (done == 3) {
        _exit(0);
    }
}

/* A commit that dies half-way is finished at the next start. */
static void check_interrupted_commit(const char *name)
{
    BlockBackend *blk = open_mode(name, BLK_MODE_UNDOABLE);
    for (int i = 0; i < 8; i++) {
        put(blk, (uint64_t)i * 8192, (uint8_t)(0x80 + i));
    }
    GError *err = NULL;
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_KEEP, &err), ==, 0);
    pid_t pid = fork();
    if (pid == 0) {
        blk_commit_name(name, die_midway, NULL, NULL);
        _exit(3);
    }
    int status;
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    g_assert_true(redo_exists(name));
    blk = open_mode(name, BLK_MODE_UNDOABLE);
    g_assert_nonnull(blk_recovered_redo(blk));
    g_assert_nonnull(strstr(blk_recovered_redo(blk), "interrupted commit"));
    for (int i = 0; i < 8; i++) {
        g_assert_cmpint(get(blk, (uint64_t)i * 8192), ==, 0x80 + i);
    }
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_DISCARD, &err), ==, 0);
    for (int i = 0; i < 8; i++) {
        g_assert_cmpint(base_byte(name, (uint64_t)i * 8192), ==, 0x80 + i);
    }
}

static void test_interrupted_commit(void)
{
    check_interrupted_commit("vol:d.dsk");
    check_interrupted_commit(host_disk);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("vmkemu-modes-XXXXXX", NULL);
    setup();
    g_test_add_func("/block/modes/vmfs", test_modes_vmfs);
    g_test_add_func("/block/modes/host", test_modes_host);
    g_test_add_func("/block/modes/crashed-vm", test_crashed_vm);
    g_test_add_func("/block/modes/interrupted-commit",
                    test_interrupted_commit);
    int r = g_test_run();
    char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(cmd);
    g_free(tmpdir);
    g_free(host_disk);
    return r;
}
