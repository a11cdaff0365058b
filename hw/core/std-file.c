/*
 * The .std suspend file (include/std-file.h; the bytes are specified in
 * docs/std-format.md): a header, the chunks DESC (what machine this is),
 * STAT (the vmstate sections of the machine, its devices and its
 * accelerator), RAM_ (guest RAM: a bitmap of the pages that are not all
 * zero and one zlib stream of those pages) and END_, then a SHA-256 of
 * everything before it.
 *
 * Writing goes to a temporary file in the same directory; the chunk lengths
 * and the file size are patched in once known, the checksum is computed by
 * reading the file back, and the file is fsync'd and renamed into place.
 * Reading maps the file and checks, in this order, the magic, the format
 * version, the size, the checksum, the configuration digest and the machine
 * description before it changes anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "config.h"
#include "hw/pc.h"
#include "log.h"
#include "std-file.h"
#include "timer.h"
#include "vmstate.h"

#define STD_CHUNK_HEADER    16
#define STD_WRITE_BUF       (256 * 1024)

/* --- the machine's own section: the virtual clock -------------------------- */

typedef struct MachineSaved {
    int64_t vclock_ns;
} MachineSaved;

static int machine_post_load(void *opaque, uint32_t version, GError **errp)
{
    MachineSaved *ms = opaque;
    if (ms->vclock_ns < 0 || ms->vclock_ns >= (INT64_C(1) << 62)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "virtual time %" PRId64 " ns is out of range", ms->vclock_ns);
        return -EINVAL;
    }
    /* Every deadline in the device sections is on this clock. */
    vclock_set(ms->vclock_ns);
    return 0;
}

static const VMStateDescription machine_vmstate = {
    .name = "machine",
    .version = 1,
    .post_load = machine_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_INT64(MachineSaved, vclock_ns),
        VMSTATE_END
    },
};

/* --- the machine description ----------------------------------------------- */

static char *firmware_digest(Machine *m)
{
    if (!m->pc || !m->pc->bios_rom || !m->pc->bios_rom_size) {
        return g_strdup("none");
    }
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, m->pc->bios_rom,
                                       m->pc->bios_rom_size);
}

static char *describe(Machine *m, const char *cfg_path)
{
    GString *d = g_string_new(NULL);
    char *devices = m->vmstate ? vmstate_list_ids(m->vmstate, " ") : g_strdup("");
    char *fw = firmware_digest(m);
    GDateTime *now = g_date_time_new_now_utc();
    gchar *when = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");

    g_string_append_printf(d, "vmkemu=%s\n", PACKAGE_VERSION);
    g_string_append_printf(d, "accelerator=%s\n", m->accel->name);
    g_string_append_printf(d, "ram-size=%" G_GUINT64_FORMAT "\n", m->ram_size);
    g_string_append_printf(d, "cpus=%d\n", m->ncpus);
    g_string_append_printf(d, "devices=%s\n", devices);
    g_string_append_printf(d, "firmware-sha256=%s\n", fw);
    if (cfg_path) {
        g_string_append_printf(d, "cfg=%s\n", cfg_path);
    }
    g_string_append_printf(d, "suspended=%s\n", when);
    g_free(when);
    g_date_time_unref(now);
    g_free(fw);
    g_free(devices);
    return g_string_free(d, FALSE);
}

/* The value of `key` in a DESC chunk, or NULL (g_free it). */
static char *desc_get(const uint8_t *desc, size_t len, const char *key)
{
    size_t klen = strlen(key);
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *nl = memchr(desc + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - desc) : len;
        if (end - pos > klen && !memcmp(desc + pos, key, klen) && desc[pos + klen] == '=') {
            return g_strndup((const char *)desc + pos + klen + 1, end - pos - klen - 1);
        }
        pos = end + 1;
    }
    return NULL;
}

/* Does the machine being launched match the description? */
static int check_description(Machine *m, const uint8_t *desc, size_t len,
                             const char *what, GError **errp)
{
    static const char *const keys[] = { "accelerator", "ram-size", "cpus", "devices",
                                        "firmware-sha256" };
    char *have[G_N_ELEMENTS(keys)] = {0};
    char *want[G_N_ELEMENTS(keys)];
    int ret = 0;

    if (memchr(desc, '\0', len) || !g_utf8_validate((const char *)desc, len, NULL)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: the machine description is not text", what);
        return -EINVAL;
    }
    want[0] = g_strdup(m->accel->name);
    want[1] = g_strdup_printf("%" G_GUINT64_FORMAT, m->ram_size);
    want[2] = g_strdup_printf("%d", m->ncpus);
    want[3] = m->vmstate ? vmstate_list_ids(m->vmstate, " ") : g_strdup("");
    want[4] = firmware_digest(m);
    for (size_t i = 0; i < G_N_ELEMENTS(keys) && ret == 0; i++) {
        have[i] = desc_get(desc, len, keys[i]);
        if (!have[i]) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: the machine description has no %s", what, keys[i]);
            ret = -EINVAL;
        } else if (strcmp(have[i], want[i]) != 0) {
            static const char *const nice[] = {
                "the accelerator", "the RAM size (bytes)", "the CPU count",
                "the devices", "the firmware image (SHA-256)",
            };
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: suspended with another machine: %s: %s in the file, %s now",
                        what, nice[i], have[i], want[i]);
            ret = -EINVAL;
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        g_free(have[i]);
        g_free(want[i]);
    }
    return ret;
}

/* --- writing ----------------------------------------------------------------- */

typedef struct Writer {
    int fd;
    const char *path;           /* the final name, for messages */
    uint64_t off;               /* file offset of buf[0] + n */
    uint8_t *buf;
    size_t n;
    int err;                    /* first errno */
} Writer;

static void wr_flush(Writer *w)
{
    size_t done = 0;
    while (!w->err && done < w->n) {
        ssize_t r = write(w->fd, w->buf + done, w->n - done);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            w->err = r < 0 ? errno : EIO;
            break;
        }
        done += r;
    }
    w->n = 0;
}

static void wr_bytes(Writer *w, const void *p, size_t len)
{
    const uint8_t *b = p;
    w->off += len;
    while (len) {
        size_t k = MIN(len, STD_WRITE_BUF - w->n);
        memcpy(w->buf + w->n, b, k);
        w->n += k;
        b += k;
        len -= k;
        if (w->n == STD_WRITE_BUF) {
            wr_flush(w);
        }
    }
}

static void wr_le(Writer *w, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++) {
        b[i] = v >> (8 * i);
    }
    wr_bytes(w, b, n);
}

/* Overwrite `n` bytes at `at` with v (after the buffer was flushed). */
static void wr_patch_le(Writer *w, uint64_t at, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++) {
        b[i] = v >> (8 * i);
    }
    wr_flush(w);
    if (!w->err && pwrite(w->fd, b, n, at) != (ssize_t)n) {
        w->err = errno ? errno : EIO;
    }
}

/* A chunk header whose length is patched by chunk_end. */
static uint64_t chunk_begin(Writer *w, const char type[4])
{
    uint64_t at = w->off;
    wr_bytes(w, type, 4);
    wr_le(w, 0, 4);
    wr_le(w, 0, 8);
    return at;
}

static void chunk_end(Writer *w, uint64_t at)
{
    wr_patch_le(w, at + 8, w->off - at - STD_CHUNK_HEADER, 8);
}

static bool page_is_zero(const uint8_t *p)
{
    const uint64_t *q = (const uint64_t *)p;
    for (size_t i = 0; i < STD_PAGE_SIZE / 8; i++) {
        if (q[i]) {
            return false;
        }
    }
    return true;
}

static int write_ram(Writer *w, Machine *m)
{
    uint64_t npages = m->ram_size / STD_PAGE_SIZE;
    size_t bitmap_len = (npages + 7) / 8;
    uint8_t *bitmap = g_malloc0(bitmap_len ? bitmap_len : 1);
    uint64_t stored = 0;

    for (uint64_t i = 0; i < npages; i++) {
        if (!page_is_zero(m->ram + i * STD_PAGE_SIZE)) {
            bitmap[i / 8] |= 1u << (i % 8);
            stored++;
        }
    }
    uint64_t at = chunk_begin(w, "RAM_");
    wr_le(w, m->ram_size, 8);
    wr_le(w, STD_PAGE_SIZE, 4);
    wr_le(w, 0, 4);
    wr_le(w, stored, 8);
    wr_bytes(w, bitmap, bitmap_len);

    z_stream z = {0};
    uint8_t *out = g_malloc(STD_WRITE_BUF);
    int zr = deflateInit(&z, Z_BEST_SPEED);
    g_assert(zr == Z_OK);
    for (uint64_t i = 0; i <= npages && !w->err; i++) {
        bool last = i == npages;
        if (!last && !(bitmap[i / 8] & (1u << (i % 8)))) {
            continue;
        }
        z.next_in = last ? NULL : m->ram + i * STD_PAGE_SIZE;
        z.avail_in = last ? 0 : STD_PAGE_SIZE;
        do {
            z.next_out = out;
            z.avail_out = STD_WRITE_BUF;
            zr = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
            g_assert(zr != Z_STREAM_ERROR);
            wr_bytes(w, out, STD_WRITE_BUF - z.avail_out);
        } while (z.avail_out == 0 || (last && zr != Z_STREAM_END));
    }
    deflateEnd(&z);
    g_free(out);
    g_free(bitmap);
    chunk_end(w, at);
    return w->err ? -w->err : 0;
}

/* SHA-256 of the first `len` bytes of the file. */
static int digest_file_prefix(int fd, uint64_t len, uint8_t digest[STD_DIGEST_LEN])
{
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
    uint8_t *buf = g_malloc(STD_WRITE_BUF);
    uint64_t pos = 0;
    int ret = 0;

    while (pos < len) {
        ssize_t r = pread(fd, buf, MIN(STD_WRITE_BUF, len - pos), pos);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            ret = r < 0 ? -errno : -EIO;
            break;
        }
        g_checksum_update(ck, buf, r);
        pos += r;
    }
    gsize dlen = STD_DIGEST_LEN;
    g_checksum_get_digest(ck, digest, &dlen);
    g_checksum_free(ck);
    g_free(buf);
    return ret;
}

static void fsync_dir_of(const char *path)
{
    gchar *dir = g_path_get_dirname(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    g_free(dir);
}

int std_save(Machine *m, const char *path, const uint8_t *cfg_digest,
             const char *cfg_path, GError **errp)
{
    GByteArray *state = g_byte_array_new();
    GError *err = NULL;
    MachineSaved ms = { .vclock_ns = vclock_ns() };
    int ret;

    if (m->ram_size % STD_PAGE_SIZE) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: the RAM size is not a multiple of 4 KiB", path);
        g_byte_array_unref(state);
        return -EINVAL;
    }
    if (m->state == RUN_STATE_RUNNING) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: the machine must be paused to be saved", path);
        g_byte_array_unref(state);
        return -EBUSY;
    }
    if (!m->accel->save_state) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSYS,
                    "%s: the %s accelerator cannot save its state", path, m->accel->name);
        g_byte_array_unref(state);
        return -ENOSYS;
    }
    /* The state first, in memory (it is small): if a device cannot be
     * saved, no file is touched. */
    if (vmstate_save_section(state, "machine", &machine_vmstate, &ms, &err) < 0 ||
        (m->vmstate && vmstate_list_save(m->vmstate, state, &err) < 0) ||
        m->accel->save_state(m, state, &err) < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: cannot save the state: %s",
                    path, err ? err->message : "unknown error");
        g_clear_error(&err);
        g_byte_array_unref(state);
        return -EIO;
    }

    gchar *tmp = g_strdup_printf("%s.tmp-%d", path, (int)getpid());
    Writer w = { .path = path, .buf = g_malloc(STD_WRITE_BUF) };
    w.fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w.fd < 0) {
        int e = errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s: cannot create %s: %s", path, tmp, g_strerror(e));
        g_free(w.buf);
        g_free(tmp);
        g_byte_array_unref(state);
        return -e;
    }

    /* Header. */
    uint8_t zero[STD_DIGEST_LEN] = {0};
    wr_bytes(&w, STD_MAGIC, STD_MAGIC_LEN);
    wr_le(&w, STD_FORMAT_VERSION, 4);
    wr_le(&w, STD_HEADER_LEN, 4);
    wr_le(&w, 0, 8);                            /* file size, patched below */
    wr_bytes(&w, cfg_digest ? cfg_digest : zero, STD_DIGEST_LEN);
    wr_le(&w, 0, 8);

    char *desc = describe(m, cfg_path);
    uint64_t at = chunk_begin(&w, "DESC");
    wr_bytes(&w, desc, strlen(desc));
    chunk_end(&w, at);
    g_free(desc);

    at = chunk_begin(&w, "STAT");
    wr_bytes(&w, state->data, state->len);
    chunk_end(&w, at);

    ret = write_ram(&w, m);
    at = chunk_begin(&w, "END_");
    chunk_end(&w, at);

    uint64_t size = w.off + STD_DIGEST_LEN;
    wr_patch_le(&w, 16, size, 8);
    uint8_t digest[STD_DIGEST_LEN];
    if (!w.err) {
        ret = digest_file_prefix(w.fd, w.off, digest);
        if (ret < 0) {
            w.err = -ret;
        }
    }
    if (!w.err) {
        wr_bytes(&w, digest, STD_DIGEST_LEN);
        wr_flush(&w);
    }
    if (!w.err && fsync(w.fd) < 0) {
        w.err = errno;
    }
    if (close(w.fd) < 0 && !w.err) {
        w.err = errno;
    }
    if (!w.err && rename(tmp, path) < 0) {
        w.err = errno;
    }
    if (w.err) {
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(w.err),
                    "%s: cannot write: %s", path, g_strerror(w.err));
        unlink(tmp);
        ret = -w.err;
    } else {
        fsync_dir_of(path);
        vlog("suspend: wrote %s (%" G_GUINT64_FORMAT " bytes)", path, size);
        ret = 0;
    }
    g_free(w.buf);
    g_free(tmp);
    g_byte_array_unref(state);
    return ret;
}

/* --- reading ----------------------------------------------------------------- */

static uint64_t le(const uint8_t *b, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

typedef struct Chunks {
    const uint8_t *desc, *stat, *ram;
    uint64_t desc_len, stat_len, ram_len;
} Chunks;

static int parse_chunks(const uint8_t *p, uint64_t len, Chunks *c, const char *what,
                        GError **errp)
{
    static const char *const order[] = { "DESC", "STAT", "RAM_", "END_" };
    uint64_t pos = 0;

    for (size_t k = 0; k < G_N_ELEMENTS(order); k++) {
        if (len - pos < STD_CHUNK_HEADER) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: the %s chunk is missing", what, order[k]);
            return -EINVAL;
        }
        const uint8_t *h = p + pos;
        uint64_t clen = le(h + 8, 8);
        if (memcmp(h, order[k], 4) != 0) {
            char type[5];
            for (int i = 0; i < 4; i++) {
                type[i] = g_ascii_isprint(h[i]) ? h[i] : '?';
            }
            type[4] = '\0';
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: chunk '%s' where %s was expected", what, type, order[k]);
            return -EINVAL;
        }
        if (le(h + 4, 4) != 0 || clen > len - pos - STD_CHUNK_HEADER) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: the %s chunk has a bad length", what, order[k]);
            return -EINVAL;
        }
        const uint8_t *data = h + STD_CHUNK_HEADER;
        switch (k) {
        case 0: c->desc = data; c->desc_len = clen; break;
        case 1: c->stat = data; c->stat_len = clen; break;
        case 2: c->ram = data; c->ram_len = clen; break;
        default:
            if (clen != 0) {
                g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                            "%s: the END_ chunk is not empty", what);
                return -EINVAL;
            }
        }
        pos += STD_CHUNK_HEADER + clen;
    }
    if (pos != len) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: %" G_GUINT64_FORMAT " bytes after the END_ chunk", what, len - pos);
        return -EINVAL;
    }
    return 0;
}

/* Check the RAM chunk's header and bitmap against the machine. */
static int check_ram(Machine *m, const uint8_t *p, uint64_t len, const char *what,
                     GError **errp)
{
    if (len < 24) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: the RAM chunk is truncated",
                    what);
        return -EINVAL;
    }
    uint64_t size = le(p, 8), stored = le(p + 16, 8);
    uint64_t npages = m->ram_size / STD_PAGE_SIZE;
    if (size != m->ram_size || le(p + 8, 4) != STD_PAGE_SIZE || le(p + 12, 4) != 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: the RAM chunk holds %" G_GUINT64_FORMAT " bytes in pages of "
                    "%" G_GUINT64_FORMAT ", the machine has %" G_GUINT64_FORMAT,
                    what, size, le(p + 8, 4), m->ram_size);
        return -EINVAL;
    }
    uint64_t bitmap_len = (npages + 7) / 8;
    if (len - 24 < bitmap_len) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: the RAM page bitmap is truncated", what);
        return -EINVAL;
    }
    uint64_t counted = 0;
    for (uint64_t i = 0; i < npages; i++) {
        counted += (p[24 + i / 8] >> (i % 8)) & 1;
    }
    if (counted != stored || (npages % 8 && (p[24 + npages / 8] >> (npages % 8)))) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: the RAM page bitmap does not match its page count", what);
        return -EINVAL;
    }
    return 0;
}

static int load_ram(Machine *m, const uint8_t *p, uint64_t len, const char *what,
                    GError **errp)
{
    uint64_t npages = m->ram_size / STD_PAGE_SIZE;
    const uint8_t *bitmap = p + 24;
    uint64_t bitmap_len = (npages + 7) / 8;
    const uint8_t *zdata = bitmap + bitmap_len;
    uint64_t zlen = len - 24 - bitmap_len;
    z_stream z = {0};
    int ret = 0;

    if (inflateInit(&z) != Z_OK) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: zlib: out of memory", what);
        return -ENOMEM;
    }
    z.next_in = (uint8_t *)zdata;
    z.avail_in = zlen > UINT32_MAX ? UINT32_MAX : (uInt)zlen;
    uint64_t left_in = zlen - z.avail_in;
    for (uint64_t i = 0; i < npages && ret == 0; i++) {
        uint8_t *page = m->ram + i * STD_PAGE_SIZE;
        if (!(bitmap[i / 8] & (1u << (i % 8)))) {
            if (!page_is_zero(page)) {
                memset(page, 0, STD_PAGE_SIZE);
            }
            continue;
        }
        z.next_out = page;
        z.avail_out = STD_PAGE_SIZE;
        while (z.avail_out && ret == 0) {
            if (z.avail_in == 0 && left_in) {
                z.avail_in = left_in > UINT32_MAX ? UINT32_MAX : (uInt)left_in;
                left_in -= z.avail_in;
            }
            uLong in_before = z.total_in, out_before = z.total_out;
            int zr = inflate(&z, Z_NO_FLUSH);
            if (zr == Z_STREAM_END && z.avail_out) {
                ret = -EINVAL;          /* the stream ends before the page */
            } else if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
                ret = -EINVAL;          /* damaged data */
            } else if (z.total_in == in_before && z.total_out == out_before &&
                       (z.avail_in || !left_in)) {
                ret = -EINVAL;          /* no progress: the data ran out */
            }
        }
    }
    if (ret == 0) {
        /* The stream must end exactly after the last page. */
        uint8_t extra;
        z.next_out = &extra;
        z.avail_out = 1;
        int zr = inflate(&z, Z_FINISH);
        if (zr != Z_STREAM_END || z.avail_out != 1 || z.avail_in != 0 || left_in) {
            ret = -EINVAL;
        }
    }
    inflateEnd(&z);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: the compressed RAM is damaged", what);
    }
    return ret;
}

int std_load_buffer(Machine *m, const uint8_t *data, size_t len,
                    const uint8_t *cfg_digest, const char *what, GError **errp)
{
    static const uint8_t zero[STD_DIGEST_LEN];
    size_t min = STD_HEADER_LEN + STD_DIGEST_LEN;

    /* The header. */
    if (len < STD_MAGIC_LEN ? memcmp(data, STD_MAGIC, len) != 0
                            : memcmp(data, STD_MAGIC, STD_MAGIC_LEN) != 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: not a vmkemu suspend file", what);
        return -EINVAL;
    }
    if (len < min) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: truncated (%zu bytes)", what, len);
        return -EINVAL;
    }
    uint32_t version = le(data + 8, 4);
    if (version != STD_FORMAT_VERSION) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: format version %u; this vmkemu reads version %d", what,
                    version, STD_FORMAT_VERSION);
        return -EINVAL;
    }
    uint64_t size = le(data + 16, 8);
    if (le(data + 12, 4) != STD_HEADER_LEN || size < min || le(data + 56, 8) != 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: damaged header", what);
        return -EINVAL;
    }
    if (len < size) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: truncated (%zu of %" G_GUINT64_FORMAT " bytes)", what, len, size);
        return -EINVAL;
    }
    if (len > size) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: %" G_GUINT64_FORMAT " bytes after its end (%" G_GUINT64_FORMAT
                    " bytes)", what, len - size, size);
        return -EINVAL;
    }
    uint8_t digest[STD_DIGEST_LEN];
    gsize dlen = sizeof(digest);
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(ck, data, len - STD_DIGEST_LEN);
    g_checksum_get_digest(ck, digest, &dlen);
    g_checksum_free(ck);
    if (memcmp(digest, data + len - STD_DIGEST_LEN, STD_DIGEST_LEN) != 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: checksum mismatch: the file is damaged", what);
        return -EINVAL;
    }

    /* The configuration it was suspended with. */
    const uint8_t *saved_cfg = data + 24;
    if (memcmp(saved_cfg, cfg_digest ? cfg_digest : zero, STD_DIGEST_LEN) != 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: %s", what,
                    !cfg_digest ? "suspended from a .cfg; resume it from that .cfg" :
                    !memcmp(saved_cfg, zero, STD_DIGEST_LEN) ?
                    "not suspended from a .cfg" :
                    "the configuration file changed since the suspend; resume refused "
                    "(restore the .cfg, or delete this .std to power on afresh)");
        return -EINVAL;
    }

    Chunks c = {0};
    if (parse_chunks(data + STD_HEADER_LEN, len - STD_HEADER_LEN - STD_DIGEST_LEN, &c,
                     what, errp) < 0 ||
        check_description(m, c.desc, c.desc_len, what, errp) < 0 ||
        check_ram(m, c.ram, c.ram_len, what, errp) < 0) {
        return -EINVAL;
    }
    GError *err = NULL;
    VMStateStream *st = vmstate_stream_parse(c.stat, c.stat_len, &err);
    if (!st) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: %s", what, err->message);
        g_error_free(err);
        return -EINVAL;
    }

    /* From here on the machine changes.  RAM first: the CPU state may
     * point into it (KVM reads the PAE page-directory pointers on
     * KVM_SET_SREGS); then the clock, the devices and the accelerator. */
    MachineSaved ms = {0};
    int ret = load_ram(m, c.ram, c.ram_len, what, errp);
    if (ret == 0 &&
        (vmstate_stream_load(st, "machine", &machine_vmstate, &ms, &err) < 0 ||
         (m->vmstate && vmstate_list_load(m->vmstate, st, &err) < 0) ||
         !m->accel->load_state || m->accel->load_state(m, st, &err) < 0 ||
         vmstate_stream_check_consumed(st, &err) < 0)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: %s", what,
                    err ? err->message : "the accelerator cannot load its state");
        g_clear_error(&err);
        ret = -EINVAL;
    }
    vmstate_stream_free(st);
    return ret;
}

int std_load(Machine *m, const char *path, const uint8_t *cfg_digest, GError **errp)
{
    GError *err = NULL;
    GMappedFile *f = g_mapped_file_new(path, FALSE, &err);
    if (!f) {
        g_set_error(errp, G_FILE_ERROR, err->code, "%s", err->message);
        g_error_free(err);
        return -ENOENT;
    }
    const uint8_t *data = (const uint8_t *)g_mapped_file_get_contents(f);
    size_t len = g_mapped_file_get_length(f);
    static const uint8_t empty[1];
    int ret = std_load_buffer(m, data ? data : empty, len, cfg_digest, path, errp);
    g_mapped_file_unref(f);
    if (ret == 0) {
        vlog("resume: loaded %s", path);
    }
    return ret;
}

int std_file_digest(const char *path, uint8_t digest[STD_DIGEST_LEN], GError **errp)
{
    gchar *text = NULL;
    gsize len = 0;
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, &len, &err)) {
        g_set_error(errp, G_FILE_ERROR, err->code, "%s", err->message);
        g_error_free(err);
        return -EIO;
    }
    GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(ck, (const guchar *)text, len);
    gsize dlen = STD_DIGEST_LEN;
    g_checksum_get_digest(ck, digest, &dlen);
    g_checksum_free(ck);
    g_free(text);
    return 0;
}
