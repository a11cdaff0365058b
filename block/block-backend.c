/*
 * BlockBackend: a disk as a device model or a tool holds it, with the disk
 * mode of the ESX Server 1.0 manual ("Using Disk Modes", "Access modes"):
 *
 *   persistent     writes go straight to the disk;
 *   nonpersistent  writes go to a temporary REDO log, gone at power-off;
 *   undoable       writes go to <disk>.REDO; at power-off the log is
 *                  committed, discarded or kept (appended to next time);
 *   append         writes go to <disk>.REDO until vmkfstools -m commits it
 *                  or it is removed.
 *
 * A REDO log left behind by a VM that did not power off cleanly is found at
 * the next open (its in-use flag is still set) and kept, never dropped; one
 * whose commit was interrupted is committed first (the manual's FAQ, "I get
 * an error message when I try to commit changes to an undoable disk").
 *
 * Requests run synchronously, or asynchronously on a shared GLib thread
 * pool with the completion delivered in the main context of the thread
 * that opened the backend.
 */
#include <errno.h>
#include <unistd.h>
#include "block-int.h"

struct BlockBackend {
    BlockNode *root;
    char *name;
    BlkDiskMode mode;
    bool read_only;
    GMutex lock;               /* serialises requests on the chain */
    GMainContext *ctx;
    gint inflight;
    char *recovered;
};

typedef enum { REQ_READ, REQ_WRITE, REQ_FLUSH, REQ_DISCARD } BlkReqKind;

typedef struct BlkRequest {
    BlockBackend *blk;
    BlkReqKind kind;
    uint64_t off;
    void *buf;
    uint64_t len;
    BlkCompletionFunc *cb;
    void *opaque;
    int ret;
} BlkRequest;

static const char *const mode_names[] = {
    [BLK_MODE_PERSISTENT] = "persistent",
    [BLK_MODE_NONPERSISTENT] = "nonpersistent",
    [BLK_MODE_UNDOABLE] = "undoable",
    [BLK_MODE_APPEND] = "append",
};

int blk_disk_mode_parse(const char *s, BlkDiskMode *mode)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(mode_names); i++) {
        if (g_ascii_strcasecmp(s, mode_names[i]) == 0) {
            *mode = (BlkDiskMode)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *blk_disk_mode_name(BlkDiskMode mode)
{
    return (unsigned)mode < G_N_ELEMENTS(mode_names) ? mode_names[mode] : "?";
}

static BlockBackend *backend_new(BlockNode *root, const char *name,
                                 BlkDiskMode mode)
{
    BlockBackend *blk = g_new0(BlockBackend, 1);
    blk->root = root;
    blk->name = g_strdup(name);
    blk->mode = mode;
    blk->read_only = !(root->flags & BLK_O_RDWR);
    g_mutex_init(&blk->lock);
    blk->ctx = g_main_context_ref_thread_default();
    return blk;
}

BlockBackend *blk_backend_new(BlockNode *root)
{
    return backend_new(root, root->filename, BLK_MODE_PERSISTENT);
}

/* A REDO log in the temporary directory, unlinked at once. */
static BlockNode *temp_redo_open(BlockNode *base, const BlockBackendOptions *o,
                                 GError **errp)
{
    const char *dir = o->tmpdir ? o->tmpdir : g_get_tmp_dir();
    char *path = g_build_filename(dir, "vmkemu-redo-XXXXXX", NULL);
    int fd = g_mkstemp(path);
    if (fd < 0) {
        int e = errno;
        g_set_error(errp, BLK_ERROR, e, "%s: %s", path, g_strerror(e));
        g_free(path);
        blk_node_close(base);
        return NULL;
    }
    BlockNode *log = blk_file_open(path, BLK_O_RDWR | BLK_O_GROWABLE, errp);
    close(fd);
    unlink(path);
    g_free(path);
    if (!log) {
        blk_node_close(base);
        return NULL;
    }
    int64_t size = blk_node_size(base);
    if (size < 0 ||
        blk_redo_format(log, (uint64_t)size, o->redo_grain, errp) < 0) {
        if (size < 0) {
            blk_fail(errp, (int)size, base->filename);
        }
        blk_node_close(log);
        blk_node_close(base);
        return NULL;
    }
    return blk_redo_open(log, base, BLK_O_RDWR, errp);
}

/* Undoable and append: <name>.REDO, created or picked up. */
static BlockNode *named_redo_open(const char *name,
                                  const BlockBackendOptions *o,
                                  char **recovered, GError **errp)
{
    char *rname = blk_redo_name(name);
    int exists = blk_name_exists(rname, errp);
    if (exists < 0) {
        g_free(rname);
        return NULL;
    }
    if (exists) {
        BlockNode *log = blk_redo_file_open(name, 0, errp);
        if (!log) {
            g_free(rname);
            return NULL;
        }
        RedoInfo ri;
        int r = blk_redo_read_info(log, &ri, errp);
        blk_node_close(log);
        if (r < 0) {
            g_free(rname);
            return NULL;
        }
        if (ri.flags & REDO_FLAG_COMMITTING) {
            /* Someone chose to commit and it did not finish: finish it. */
            if (blk_commit_name(name, NULL, NULL, errp) < 0) {
                g_free(rname);
                return NULL;
            }
            *recovered = g_strdup_printf("%s: finished the interrupted commit "
                                         "of %s", name, rname);
            exists = 0;
        } else if (ri.flags & REDO_FLAG_IN_USE) {
            *recovered = g_strdup_printf("%s: %s was left by a virtual "
                                         "machine that did not power off; "
                                         "its changes are kept", name, rname);
        }
    }
    BlockNode *base = blk_open_name(name, 0, errp);
    if (!base) {
        g_free(rname);
        return NULL;
    }
    BlockNode *log;
    if (exists) {
        log = blk_redo_file_open(name, BLK_O_RDWR, errp);
    } else {
        int64_t size = blk_node_size(base);
        log = size < 0 ? NULL : blk_redo_file_create(name, (uint64_t)size,
                                                     o->redo_grain, errp);
    }
    g_free(rname);
    if (!log) {
        blk_node_close(base);
        return NULL;
    }
    return blk_redo_open(log, base, BLK_O_RDWR, errp);
}

BlockBackend *blk_backend_open(const char *name, const BlockBackendOptions *o,
                               GError **errp)
{
    BlockBackendOptions defaults = { .mode = BLK_MODE_PERSISTENT };
    if (!o) {
        o = &defaults;
    }
    BlockNode *root = NULL;
    char *recovered = NULL;
    switch (o->mode) {
    case BLK_MODE_PERSISTENT:
        root = blk_open_name(name, o->read_only ? 0 : BLK_O_RDWR, errp);
        break;
    case BLK_MODE_NONPERSISTENT: {
        BlockNode *base = blk_open_name(name, 0, errp);
        if (base) {
            root = o->read_only ? base : temp_redo_open(base, o, errp);
        }
        break;
    }
    case BLK_MODE_UNDOABLE:
    case BLK_MODE_APPEND:
        root = named_redo_open(name, o, &recovered, errp);
        break;
    }
    if (!root) {
        g_free(recovered);
        return NULL;
    }
    BlockBackend *blk = backend_new(root, name, o->mode);
    blk->recovered = recovered;
    return blk;
}

BlkDiskMode blk_backend_mode(BlockBackend *blk)
{
    return blk->mode;
}

BlockNode *blk_backend_root(BlockBackend *blk)
{
    return blk->root;
}

const char *blk_backend_name(BlockBackend *blk)
{
    return blk->name;
}

const char *blk_recovered_redo(BlockBackend *blk)
{
    return blk->recovered;
}

int blk_backend_close(BlockBackend *blk, BlkRedoAction undoable_action,
                      GError **errp)
{
    if (!blk) {
        return 0;
    }
    blk_drain(blk);
    int r = blk_node_flush(blk->root);
    if (r < 0) {
        blk_fail(errp, r, blk->name);
    }
    blk_node_close(blk->root);
    blk->root = NULL;
    if (r == 0 && blk->mode == BLK_MODE_UNDOABLE) {
        char *rname = blk_redo_name(blk->name);
        if (undoable_action == BLK_REDO_COMMIT) {
            r = blk_commit_name(blk->name, NULL, NULL, errp);
        } else if (undoable_action == BLK_REDO_DISCARD) {
            r = blk_remove_name(rname, errp);
        }
        g_free(rname);
    }
    g_main_context_unref(blk->ctx);
    g_mutex_clear(&blk->lock);
    g_free(blk->recovered);
    g_free(blk->name);
    g_free(blk);
    return r;
}

/* ------------------------------------------------------------------------
 * Synchronous requests
 * ------------------------------------------------------------------------ */

int blk_pread(BlockBackend *blk, uint64_t off, void *buf, size_t len)
{
    g_mutex_lock(&blk->lock);
    int r = blk_node_pread(blk->root, off, buf, len);
    g_mutex_unlock(&blk->lock);
    return r;
}

int blk_pwrite(BlockBackend *blk, uint64_t off, const void *buf, size_t len)
{
    g_mutex_lock(&blk->lock);
    int r = blk_node_pwrite(blk->root, off, buf, len);
    g_mutex_unlock(&blk->lock);
    return r;
}

int blk_flush(BlockBackend *blk)
{
    g_mutex_lock(&blk->lock);
    int r = blk_node_flush(blk->root);
    g_mutex_unlock(&blk->lock);
    return r;
}

int blk_discard(BlockBackend *blk, uint64_t off, uint64_t len)
{
    g_mutex_lock(&blk->lock);
    int r = blk_node_discard(blk->root, off, len);
    g_mutex_unlock(&blk->lock);
    return r;
}

int64_t blk_size(BlockBackend *blk)
{
    g_mutex_lock(&blk->lock);
    int64_t r = blk_node_size(blk->root);
    g_mutex_unlock(&blk->lock);
    return r;
}

int blk_block_status(BlockBackend *blk, uint64_t off, uint64_t len,
                     uint64_t *pnum)
{
    g_mutex_lock(&blk->lock);
    int r = blk_node_block_status(blk->root, off, len, pnum);
    g_mutex_unlock(&blk->lock);
    return r;
}

/* ------------------------------------------------------------------------
 * Asynchronous requests
 * ------------------------------------------------------------------------ */

#define BLK_POOL_THREADS 4

static gboolean request_complete(gpointer data)
{
    BlkRequest *req = data;
    BlockBackend *blk = req->blk;
    if (req->cb) {
        req->cb(req->opaque, req->ret);
    }
    g_free(req);
    g_atomic_int_dec_and_test(&blk->inflight);
    return G_SOURCE_REMOVE;
}

static void request_run(gpointer data, gpointer user_data)
{
    BlkRequest *req = data;
    BlockBackend *blk = req->blk;
    g_mutex_lock(&blk->lock);
    switch (req->kind) {
    case REQ_READ:
        req->ret = blk_node_pread(blk->root, req->off, req->buf,
                                  (size_t)req->len);
        break;
    case REQ_WRITE:
        req->ret = blk_node_pwrite(blk->root, req->off, req->buf,
                                   (size_t)req->len);
        break;
    case REQ_FLUSH:
        req->ret = blk_node_flush(blk->root);
        break;
    case REQ_DISCARD:
        req->ret = blk_node_discard(blk->root, req->off, req->len);
        break;
    }
    g_mutex_unlock(&blk->lock);
    GSource *src = g_idle_source_new();
    g_source_set_callback(src, request_complete, req, NULL);
    g_source_attach(src, blk->ctx);
    g_source_unref(src);
}

static GThreadPool *request_pool(void)
{
    static gsize once;
    static GThreadPool *pool;
    if (g_once_init_enter(&once)) {
        pool = g_thread_pool_new(request_run, NULL, BLK_POOL_THREADS, FALSE,
                                 NULL);
        g_once_init_leave(&once, 1);
    }
    return pool;
}

static void submit(BlockBackend *blk, BlkReqKind kind, uint64_t off,
                   void *buf, uint64_t len, BlkCompletionFunc *cb,
                   void *opaque)
{
    BlkRequest *req = g_new0(BlkRequest, 1);
    req->blk = blk;
    req->kind = kind;
    req->off = off;
    req->buf = buf;
    req->len = len;
    req->cb = cb;
    req->opaque = opaque;
    g_atomic_int_inc(&blk->inflight);
    g_thread_pool_push(request_pool(), req, NULL);
}

void blk_aio_pread(BlockBackend *blk, uint64_t off, void *buf, size_t len,
                   BlkCompletionFunc *cb, void *opaque)
{
    submit(blk, REQ_READ, off, buf, len, cb, opaque);
}

void blk_aio_pwrite(BlockBackend *blk, uint64_t off, const void *buf,
                    size_t len, BlkCompletionFunc *cb, void *opaque)
{
    submit(blk, REQ_WRITE, off, (void *)buf, len, cb, opaque);
}

void blk_aio_flush(BlockBackend *blk, BlkCompletionFunc *cb, void *opaque)
{
    submit(blk, REQ_FLUSH, 0, NULL, 0, cb, opaque);
}

void blk_aio_discard(BlockBackend *blk, uint64_t off, uint64_t len,
                     BlkCompletionFunc *cb, void *opaque)
{
    submit(blk, REQ_DISCARD, off, NULL, len, cb, opaque);
}

void blk_drain(BlockBackend *blk)
{
    while (g_atomic_int_get(&blk->inflight) > 0) {
        g_main_context_iteration(blk->ctx, TRUE);
    }
}
