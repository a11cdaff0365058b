/*
 * Block layer basics: the generic node layer (bounds, growable nodes,
 * zero detection, copy), the `file` and `slice` drivers, host file locks,
 * and the BlockBackend's synchronous and asynchronous requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "block.h"

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 9)) & 0xff);
    }
}

static void test_file_rw(void)
{
    char *path = tmp_path("rw.img");
    GError *err = NULL;
    BlockNode *bs = blk_file_open(path, BLK_O_RDWR | BLK_O_CREATE, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_size(bs), ==, 0);
    /* Not growable: a write past the end is refused. */
    uint8_t buf[8192], back[8192];
    fill_pattern(buf, sizeof(buf), 1);
    g_assert_cmpint(blk_node_pwrite(bs, 0, buf, 512), ==, -EINVAL);
    blk_node_close(bs);

    bs = blk_file_open(path, BLK_O_RDWR | BLK_O_GROWABLE, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_pwrite(bs, 4096, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(blk_node_size(bs), ==, 4096 + 8192);
    /* Growable: a read past the end reads zeroes. */
    memset(back, 0xee, sizeof(back));
    g_assert_cmpint(blk_node_pread(bs, 4096 + 8192 - 100, back, 200), ==, 0);
    g_assert_cmpmem(back, 100, buf + 8092, 100);
    for (int i = 100; i < 200; i++) {
        g_assert_cmpint(back[i], ==, 0);
    }
    g_assert_cmpint(blk_node_pread(bs, 4096, back, sizeof(back)), ==, 0);
    g_assert_cmpmem(back, sizeof(back), buf, sizeof(buf));
    g_assert_cmpint(blk_node_flush(bs), ==, 0);
    blk_node_close(bs);

    /* Read-only: writes refused, reads fine, past the end refused. */
    bs = blk_file_open(path, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_pwrite(bs, 0, buf, 512), ==, -EROFS);
    g_assert_cmpint(blk_node_pread(bs, 4096, back, 512), ==, 0);
    g_assert_cmpmem(back, 512, buf, 512);
    g_assert_cmpint(blk_node_pread(bs, 12288, back, 1), ==, -EINVAL);
    g_assert_cmpint(blk_node_pread(bs, UINT64_MAX - 10, back, 100), ==,
                    -EINVAL);
    blk_node_close(bs);
    g_unlink(path);
    g_free(path);
}

static void test_file_open_errors(void)
{
    GError *err = NULL;
    char *path = tmp_path("does-not-exist.img");
    BlockNode *bs = blk_file_open(path, 0, &err);
    g_assert_null(bs);
    g_assert_error(err, BLK_ERROR, ENOENT);
    g_assert_nonnull(strstr(err->message, "does-not-exist.img"));
    g_clear_error(&err);
    bs = blk_file_open(tmpdir, 0, &err);
    g_assert_null(bs);
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_free(path);
}

static void test_zeroes_and_status(void)
{
    char *path = tmp_path("sparse.img");
    GError *err = NULL;
    BlockNode *bs = blk_file_open(path, BLK_O_RDWR | BLK_O_CREATE |
                                  BLK_O_GROWABLE, &err);
    g_assert_no_error(err);
    const uint64_t mb = 1 << 20;
    g_assert_cmpint(blk_node_pwrite_zeroes(bs, 0, 8 * mb), ==, 0);
    g_assert_cmpint(blk_node_size(bs), ==, 8 * mb);
    uint8_t *buf = g_malloc(mb);
    fill_pattern(buf, mb, 3);
    g_assert_cmpint(blk_node_pwrite(bs, 3 * mb, buf, mb), ==, 0);
    g_assert_cmpint(blk_node_flush(bs), ==, 0);

    uint64_t pnum;
    int st = blk_node_block_status(bs, 0, 8 * mb, &pnum);
    g_assert_cmpint(st, >=, 0);
    /* On a file system with holes the first 3 MiB are a hole. */
    if (st & BLK_STATUS_ZERO) {
        g_assert_cmpuint(pnum, ==, 3 * mb);
        st = blk_node_block_status(bs, 3 * mb, 5 * mb, &pnum);
        g_assert_true(st & BLK_STATUS_DATA);
        g_assert_cmpuint(pnum, >=, mb);
    }
    g_assert_cmpint(blk_node_is_zero(bs, 0, 3 * mb), ==, 1);
    g_assert_cmpint(blk_node_is_zero(bs, 0, 3 * mb + 1), ==, 0);
    g_assert_cmpint(blk_node_is_zero(bs, 4 * mb, 4 * mb), ==, 1);

    /* Zeroing inside the file really zeroes. */
    g_assert_cmpint(blk_node_pwrite_zeroes(bs, 3 * mb + 512, 1024), ==, 0);
    uint8_t back[2048];
    g_assert_cmpint(blk_node_pread(bs, 3 * mb, back, sizeof(back)), ==, 0);
    g_assert_cmpmem(back, 512, buf, 512);
    for (int i = 512; i < 1536; i++) {
        g_assert_cmpint(back[i], ==, 0);
    }
    g_assert_cmpmem(back + 1536, 512, buf + 1536, 512);

    /* Copy skipping zeroes into a fresh sparse file. */
    char *path2 = tmp_path("copy.img");
    BlockNode *dst = blk_file_open(path2, BLK_O_RDWR | BLK_O_CREATE |
                                   BLK_O_GROWABLE, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_pwrite_zeroes(dst, 0, 8 * mb), ==, 0);
    g_assert_cmpint(blk_node_copy(bs, dst, true, NULL, NULL, &err), ==, 0);
    g_assert_no_error(err);
    uint8_t *a = g_malloc(8 * mb), *b = g_malloc(8 * mb);
    g_assert_cmpint(blk_node_pread(bs, 0, a, 8 * mb), ==, 0);
    g_assert_cmpint(blk_node_pread(dst, 0, b, 8 * mb), ==, 0);
    g_assert_cmpmem(a, 8 * mb, b, 8 * mb);
    blk_node_close(dst);
    blk_node_close(bs);
    g_unlink(path);
    g_unlink(path2);
    g_free(a);
    g_free(b);
    g_free(buf);
    g_free(path);
    g_free(path2);
}

static void test_slice(void)
{
    uint8_t *data = g_malloc(64 * 1024);
    fill_pattern(data, 64 * 1024, 9);
    BlockNode *mem = blk_mem_open(data, 64 * 1024, BLK_O_RDWR);
    GError *err = NULL;
    BlockNode *sl = blk_slice_open(mem, 8192, 16384, "part", &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_node_size(sl), ==, 16384);
    uint8_t buf[1024];
    g_assert_cmpint(blk_node_pread(sl, 0, buf, sizeof(buf)), ==, 0);
    g_assert_cmpmem(buf, sizeof(buf), data + 8192, sizeof(buf));
    g_assert_cmpint(blk_node_pread(sl, 16384 - 512, buf, 1024), ==, -EINVAL);
    memset(buf, 0x5a, sizeof(buf));
    g_assert_cmpint(blk_node_pwrite(sl, 1024, buf, sizeof(buf)), ==, 0);
    uint8_t *m = blk_mem_data(mem, NULL);
    g_assert_cmpint(m[8192 + 1024], ==, 0x5a);
    g_assert_cmpint(m[8192 + 1023], ==, data[8192 + 1023]);
    blk_node_close(sl);

    mem = blk_mem_open(NULL, 4096, 0);
    sl = blk_slice_open(mem, 2048, 4096, "bad", &err);
    g_assert_null(sl);
    g_assert_error(err, BLK_ERROR, EINVAL);
    g_clear_error(&err);
    g_free(data);
}

static void test_locks(void)
{
    char *path = tmp_path("lock.img");
    GError *err = NULL;
    BlockNode *a = blk_file_open(path, BLK_O_RDWR | BLK_O_CREATE, &err);
    BlockNode *b = blk_file_open(path, BLK_O_RDWR, &err);
    g_assert_no_error(err);
    /* Two opens conflict even in one process. */
    g_assert_cmpint(blk_node_lock(a, 5, BLK_LOCK_EXCL), ==, 0);
    g_assert_cmpint(blk_node_lock(b, 5, BLK_LOCK_EXCL), ==, -EAGAIN);
    g_assert_cmpint(blk_node_lock(b, 5, BLK_LOCK_SHARED), ==, -EAGAIN);
    g_assert_cmpint(blk_node_lock(b, 6, BLK_LOCK_EXCL), ==, 0);
    g_assert_cmpint(blk_node_lock(a, 5, BLK_LOCK_UNLOCK), ==, 0);
    g_assert_cmpint(blk_node_lock(b, 5, BLK_LOCK_SHARED), ==, 0);
    g_assert_cmpint(blk_node_lock(a, 5, BLK_LOCK_SHARED), ==, 0);
    g_assert_cmpint(blk_node_lock(a, 5, BLK_LOCK_EXCL), ==, -EAGAIN);
    /* A slice shifts the lock byte by its offset. */
    BlockNode *sl = blk_slice_open(a, 0, 0, "empty", &err);
    g_assert_no_error(err);
    blk_node_close(sl);           /* closes a too */
    g_assert_cmpint(blk_node_lock(b, 5, BLK_LOCK_EXCL), ==, 0);
    blk_node_close(b);
    g_unlink(path);
    g_free(path);
}

static void test_probe(void)
{
    uint8_t buf[4096] = { 0 };
    BlockNode *bs = blk_mem_open(buf, sizeof(buf), 0);
    g_assert_cmpint(blk_probe_format(bs), ==, BLK_FORMAT_RAW);
    blk_node_close(bs);
    memcpy(buf, "KDMV", 4);
    bs = blk_mem_open(buf, sizeof(buf), 0);
    g_assert_cmpint(blk_probe_format(bs), ==, BLK_FORMAT_VMDK);
    blk_node_close(bs);
    memcpy(buf, "COWD", 4);
    bs = blk_mem_open(buf, sizeof(buf), 0);
    g_assert_cmpint(blk_probe_format(bs), ==, BLK_FORMAT_COWD);
    blk_node_close(bs);
    memcpy(buf, "# Disk DescriptorFile\n", 22);
    bs = blk_mem_open(buf, sizeof(buf), 0);
    g_assert_cmpint(blk_probe_format(bs), ==, BLK_FORMAT_DESCRIPTOR);
    blk_node_close(bs);
    memcpy(buf, "VMKREDO", 8);
    bs = blk_mem_open(buf, sizeof(buf), 0);
    g_assert_cmpint(blk_probe_format(bs), ==, BLK_FORMAT_REDO);
    blk_node_close(bs);
    /* A sparse magic without room for its header: raw. */
    memcpy(buf, "KDMV", 4);
    bs = blk_mem_open(buf, 100, 0);
    g_assert_cmpint(blk_probe_format(bs), ==, BLK_FORMAT_RAW);
    blk_node_close(bs);
    /* A short plain-disk descriptor that starts with a comment. */
    const char *pln = "# Plain Disk\nDRIVETYPE ide\nCYLINDERS 4\n"
                      "ACCESS \"x.dat\" 0\n";
    bs = blk_mem_open(pln, strlen(pln), 0);
    g_assert_cmpint(blk_probe_format(bs), ==, BLK_FORMAT_DESCRIPTOR);
    blk_node_close(bs);
    /* Binary data is not a descriptor even with the words in it. */
    memset(buf, 0, sizeof(buf));
    buf[0] = 0x01;
    memcpy(buf + 1, "createType", 10);
    bs = blk_mem_open(buf, sizeof(buf), 0);
    g_assert_cmpint(blk_probe_format(bs), ==, BLK_FORMAT_RAW);
    blk_node_close(bs);
}

/* ------------------------------------------------------------------------
 * BlockBackend
 * ------------------------------------------------------------------------ */

typedef struct AioState {
    int done;
    int errors;
    GThread *main_thread;
    int wrong_thread;
} AioState;

static void aio_cb(void *opaque, int ret)
{
    AioState *s = opaque;
    s->done++;
    if (ret < 0) {
        s->errors++;
    }
    if (g_thread_self() != s->main_thread) {
        s->wrong_thread++;
    }
}

static void test_backend_aio(void)
{
    const size_t size = 4 << 20;
    BlockNode *mem = blk_mem_open(NULL, size, BLK_O_RDWR);
    BlockBackend *blk = blk_backend_new(mem);
    g_assert_cmpint(blk_size(blk), ==, size);
    g_assert_cmpint(blk_backend_mode(blk), ==, BLK_MODE_PERSISTENT);

    AioState st = { .main_thread = g_thread_self() };
    enum { N = 64, LEN = 16384 };
    uint8_t *wbuf = g_malloc(N * LEN), *rbuf = g_malloc0(N * LEN);
    for (int i = 0; i < N; i++) {
        fill_pattern(wbuf + i * LEN, LEN, (uint32_t)i);
        blk_aio_pwrite(blk, (uint64_t)i * LEN * 3, wbuf + i * LEN, LEN,
                       aio_cb, &st);
    }
    /* Callbacks only run from the main context: none ran yet. */
    g_assert_cmpint(st.done, ==, 0);
    blk_drain(blk);
    g_assert_cmpint(st.done, ==, N);
    g_assert_cmpint(st.errors, ==, 0);
    g_assert_cmpint(st.wrong_thread, ==, 0);
    blk_aio_flush(blk, aio_cb, &st);
    for (int i = 0; i < N; i++) {
        blk_aio_pread(blk, (uint64_t)i * LEN * 3, rbuf + i * LEN, LEN,
                      aio_cb, &st);
    }
    /* A request past the end completes with an error. */
    blk_aio_pread(blk, size - 10, rbuf, 20, aio_cb, &st);
    blk_drain(blk);
    g_assert_cmpint(st.done, ==, 2 * N + 2);
    g_assert_cmpint(st.errors, ==, 1);
    g_assert_cmpint(st.wrong_thread, ==, 0);
    g_assert_cmpmem(rbuf, N * LEN, wbuf, N * LEN);

    /* The synchronous calls see the same data. */
    uint8_t one[LEN];
    g_assert_cmpint(blk_pread(blk, 5 * LEN * 3, one, LEN), ==, 0);
    g_assert_cmpmem(one, LEN, wbuf + 5 * LEN, LEN);
    g_assert_cmpint(blk_pwrite(blk, 0, one, LEN), ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    GError *err = NULL;
    g_assert_cmpint(blk_backend_close(blk, BLK_REDO_KEEP, &err), ==, 0);
    g_assert_no_error(err);
    g_free(wbuf);
    g_free(rbuf);
}

static void test_disk_mode_names(void)
{
    BlkDiskMode m;
    g_assert_cmpint(blk_disk_mode_parse("persistent", &m), ==, 0);
    g_assert_cmpint(m, ==, BLK_MODE_PERSISTENT);
    g_assert_cmpint(blk_disk_mode_parse("NonPersistent", &m), ==, 0);
    g_assert_cmpint(m, ==, BLK_MODE_NONPERSISTENT);
    g_assert_cmpint(blk_disk_mode_parse("undoable", &m), ==, 0);
    g_assert_cmpint(m, ==, BLK_MODE_UNDOABLE);
    g_assert_cmpint(blk_disk_mode_parse("append", &m), ==, 0);
    g_assert_cmpint(m, ==, BLK_MODE_APPEND);
    g_assert_cmpint(blk_disk_mode_parse("sometimes", &m), ==, -EINVAL);
    g_assert_cmpstr(blk_disk_mode_name(BLK_MODE_APPEND), ==, "append");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("vmkemu-block-XXXXXX", NULL);
    g_test_add_func("/block/file/rw", test_file_rw);
    g_test_add_func("/block/file/open-errors", test_file_open_errors);
    g_test_add_func("/block/file/zeroes-status-copy", test_zeroes_and_status);
    g_test_add_func("/block/slice", test_slice);
    g_test_add_func("/block/file/locks", test_locks);
    g_test_add_func("/block/probe", test_probe);
    g_test_add_func("/block/backend/aio", test_backend_aio);
    g_test_add_func("/block/backend/mode-names", test_disk_mode_names);
    int r = g_test_run();
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return r;
}
