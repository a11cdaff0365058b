/*
 * The state stream of suspend/resume (see include/vmstate.h; the bytes are
 * specified in docs/std-format.md, "State stream").
 *
 * Every integer is little-endian.  A field list is
 *     u32 field count, then per field:
 *     u8 name length, name, u8 type, u32 element count, u32 element size,
 *     u64 data length, data
 * where a VMS_STRUCT field's data is, per element, a u32 length and a
 * nested field list.  A section is
 *     u8 id length, id, u32 version, u64 payload length, payload
 * and a stream is sections back to back up to its end.
 *
 * Readers check every length against what is left before they look at the
 * bytes, so a damaged stream gives an error, never an out-of-bounds read.
 */
#include <errno.h>
#include <string.h>
#include "timer.h"
#include "vmstate.h"

#define VMS_MAX_DEPTH   8       /* nested structs */
#define VMS_MAX_FIELDS  4096    /* per field list */

/* --- writing ---------------------------------------------------------------- */

static void put_u8(GByteArray *o, uint8_t v)
{
    g_byte_array_append(o, &v, 1);
}

static void put_le(GByteArray *o, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++) {
        b[i] = v >> (8 * i);
    }
    g_byte_array_append(o, b, n);
}

static void patch_le(GByteArray *o, size_t at, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        o->data[at + i] = v >> (8 * i);
    }
}

static void put_name(GByteArray *o, const char *s)
{
    size_t n = strlen(s);
    g_assert(n > 0 && n < 256);
    put_u8(o, n);
    g_byte_array_append(o, (const uint8_t *)s, n);
}

static unsigned scalar_size(VMStateType t)
{
    switch (t) {
    case VMS_BOOL: case VMS_U8: return 1;
    case VMS_U16: return 2;
    case VMS_U32: case VMS_I32: return 4;
    case VMS_U64: case VMS_I64: case VMS_VTIMER: return 8;
    default: return 0;
    }
}

static uint32_t field_count(const VMStateField *f)
{
    return f->count ? f->count : 1;
}

/* Bytes of one element in the stream (0: variable, VMS_STRUCT). */
static uint32_t field_elem_size(const VMStateField *f)
{
    if (f->type == VMS_BUFFER) {
        return f->size;
    }
    return scalar_size(f->type);
}

static uint32_t field_version(const VMStateField *f)
{
    return f->version_min ? f->version_min : 1;
}

static int save_list(GByteArray *out, const VMStateDescription *vmsd,
                     void *opaque, int depth, GError **errp);

static int save_field(GByteArray *out, const VMStateField *f, uint8_t *base,
                      int depth, GError **errp)
{
    uint32_t n = field_count(f);

    put_name(out, f->name);
    put_u8(out, f->type);
    put_le(out, n, 4);
    put_le(out, field_elem_size(f), 4);
    size_t len_at = out->len;
    put_le(out, 0, 8);
    size_t start = out->len;

    for (uint32_t i = 0; i < n; i++) {
        uint8_t *p = base + f->offset;
        switch (f->type) {
        case VMS_BOOL:
            put_u8(out, ((bool *)p)[i] ? 1 : 0);
            break;
        case VMS_U8:
            put_u8(out, p[i]);
            break;
        case VMS_U16:
            put_le(out, ((uint16_t *)p)[i], 2);
            break;
        case VMS_U32:
            put_le(out, ((uint32_t *)p)[i], 4);
            break;
        case VMS_I32:
            put_le(out, (uint32_t)((int32_t *)p)[i], 4);
            break;
        case VMS_U64:
            put_le(out, ((uint64_t *)p)[i], 8);
            break;
        case VMS_I64:
            put_le(out, (uint64_t)((int64_t *)p)[i], 8);
            break;
        case VMS_VTIMER: {
            VTimer *t = ((VTimer **)p)[i];
            put_le(out, (uint64_t)(t ? vtimer_deadline(t) : -1), 8);
            break;
        }
        case VMS_BUFFER:
            g_byte_array_append(out, p + (size_t)i * f->size, f->size);
            break;
        case VMS_STRUCT: {
            size_t at = out->len;
            put_le(out, 0, 4);
            if (save_list(out, f->vmsd, p + (size_t)i * f->size, depth + 1, errp) < 0) {
                return -1;
            }
            patch_le(out, at, out->len - at - 4, 4);
            break;
        }
        }
    }
    patch_le(out, len_at, out->len - start, 8);
    return 0;
}

static int save_list(GByteArray *out, const VMStateDescription *vmsd,
                     void *opaque, int depth, GError **errp)
{
    g_assert(depth < VMS_MAX_DEPTH);
    if (vmsd->pre_save && vmsd->pre_save(opaque, errp) < 0) {
        return -1;
    }
    uint32_t n = 0;
    while (vmsd->fields[n].name) {
        n++;
    }
    put_le(out, n, 4);
    for (uint32_t i = 0; i < n; i++) {
        if (save_field(out, &vmsd->fields[i], opaque, depth, errp) < 0) {
            return -1;
        }
    }
    return 0;
}

int vmstate_save_fields(GByteArray *out, const VMStateDescription *vmsd,
                        void *opaque, GError **errp)
{
    return save_list(out, vmsd, opaque, 0, errp);
}

int vmstate_save_section(GByteArray *out, const char *id,
                         const VMStateDescription *vmsd, void *opaque,
                         GError **errp)
{
    put_name(out, id);
    put_le(out, vmsd->version, 4);
    size_t len_at = out->len;
    put_le(out, 0, 8);
    size_t start = out->len;
    if (vmstate_save_fields(out, vmsd, opaque, errp) < 0) {
        g_prefix_error(errp, "section '%s': ", id);
        return -1;
    }
    patch_le(out, len_at, out->len - start, 8);
    return 0;
}

/* --- reading ---------------------------------------------------------------- */

typedef struct Reader {
    const uint8_t *p;
    size_t len, pos;
} Reader;

static bool rd_bytes(Reader *r, size_t n, const uint8_t **out)
{
    if (n > r->len - r->pos) {
        return false;
    }
    *out = r->p + r->pos;
    r->pos += n;
    return true;
}

static bool rd_le(Reader *r, unsigned n, uint64_t *v)
{
    const uint8_t *b;
    if (!rd_bytes(r, n, &b)) {
        return false;
    }
    *v = 0;
    for (unsigned i = 0; i < n; i++) {
        *v |= (uint64_t)b[i] << (8 * i);
    }
    return true;
}

static uint64_t get_le(const uint8_t *b, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

/* A name: 1-255 printable ASCII characters, copied NUL-terminated. */
static bool rd_name(Reader *r, char out[256])
{
    uint64_t n;
    const uint8_t *b;
    if (!rd_le(r, 1, &n) || n == 0 || !rd_bytes(r, n, &b)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (b[i] < 0x20 || b[i] > 0x7e) {
            return false;
        }
        out[i] = b[i];
    }
    out[n] = '\0';
    return true;
}

typedef struct FieldRec {
    char name[256];
    uint8_t type;
    uint32_t count, elem_size;
    const uint8_t *data;
    uint64_t len;
    bool used;
} FieldRec;

static int bad(GError **errp, const char *what, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int bad(GError **errp, const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gchar *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: %s", what, msg);
    g_free(msg);
    return -EINVAL;
}

static const char *type_name(unsigned t)
{
    static const char *const names[] = {
        [VMS_BOOL] = "bool", [VMS_U8] = "u8", [VMS_U16] = "u16", [VMS_U32] = "u32",
        [VMS_U64] = "u64", [VMS_I32] = "i32", [VMS_I64] = "i64",
        [VMS_BUFFER] = "bytes", [VMS_VTIMER] = "timer", [VMS_STRUCT] = "struct",
    };
    return t < G_N_ELEMENTS(names) && names[t] ? names[t] : "unknown";
}

static int load_list(const uint8_t *data, size_t len, uint32_t version,
                     const VMStateDescription *vmsd, void *opaque,
                     const char *what, int depth, GError **errp);

static int load_field(const VMStateField *f, FieldRec *rec, uint8_t *base,
                      uint32_t version, const char *what, int depth, GError **errp)
{
    uint32_t n = field_count(f);
    uint32_t esize = field_elem_size(f);
    uint8_t *p = base + f->offset;

    if (rec->type != f->type) {
        return bad(errp, what, "field '%s' is %s in the file, %s here", f->name,
                   type_name(rec->type), type_name(f->type));
    }
    if (rec->count != n) {
        return bad(errp, what, "field '%s' has %u elements in the file, %u here",
                   f->name, rec->count, n);
    }
    if (rec->elem_size != esize) {
        return bad(errp, what, "field '%s' has %u-byte elements in the file, %u here",
                   f->name, rec->elem_size, esize);
    }
    if (f->type != VMS_STRUCT && rec->len != (uint64_t)n * esize) {
        return bad(errp, what, "field '%s': %" G_GUINT64_FORMAT " bytes of data, "
                   "%" G_GUINT64_FORMAT " expected", f->name, rec->len,
                   (uint64_t)n * esize);
    }

    Reader r = { rec->data, rec->len, 0 };
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *b = rec->data + (size_t)i * esize;
        switch (f->type) {
        case VMS_BOOL:
            if (b[0] > 1) {
                return bad(errp, what, "field '%s': %u is not a boolean", f->name, b[0]);
            }
            ((bool *)p)[i] = b[0];
            break;
        case VMS_U8:
            p[i] = b[0];
            break;
        case VMS_U16:
            ((uint16_t *)p)[i] = get_le(b, 2);
            break;
        case VMS_U32:
            ((uint32_t *)p)[i] = get_le(b, 4);
            break;
        case VMS_I32:
            ((int32_t *)p)[i] = (int32_t)(uint32_t)get_le(b, 4);
            break;
        case VMS_U64:
            ((uint64_t *)p)[i] = get_le(b, 8);
            break;
        case VMS_I64:
            ((int64_t *)p)[i] = (int64_t)get_le(b, 8);
            break;
        case VMS_VTIMER: {
            int64_t d = (int64_t)get_le(b, 8);
            VTimer *t = ((VTimer **)p)[i];
            if (d < -1 || (!t && d != -1)) {
                return bad(errp, what, "field '%s': bad timer deadline %" G_GINT64_FORMAT,
                           f->name, d);
            }
            if (t && d < 0) {
                vtimer_del(t);
            } else if (t) {
                vtimer_mod(t, d);
            }
            break;
        }
        case VMS_BUFFER:
            memcpy(p + (size_t)i * f->size, b, f->size);
            break;
        case VMS_STRUCT: {
            uint64_t sublen;
            const uint8_t *sub;
            if (!rd_le(&r, 4, &sublen) || !rd_bytes(&r, sublen, &sub)) {
                return bad(errp, what, "field '%s': element %u is truncated", f->name, i);
            }
            gchar *elem = g_strdup_printf("%s: %s[%u]", what, f->name, i);
            int ret = load_list(sub, sublen, version, f->vmsd, p + (size_t)i * f->size,
                                elem, depth + 1, errp);
            g_free(elem);
            if (ret < 0) {
                return ret;
            }
            break;
        }
        default:
            return bad(errp, what, "field '%s' has an unknown type", f->name);
        }
    }
    if (f->type == VMS_STRUCT && r.pos != r.len) {
        return bad(errp, what, "field '%s': trailing bytes", f->name);
    }
    return 0;
}

static int load_list(const uint8_t *data, size_t len, uint32_t version,
                     const VMStateDescription *vmsd, void *opaque,
                     const char *what, int depth, GError **errp)
{
    Reader r = { data, len, 0 };
    uint64_t nfields;
    int ret = 0;

    if (depth >= VMS_MAX_DEPTH) {
        return bad(errp, what, "structures nested too deeply");
    }
    if (!rd_le(&r, 4, &nfields)) {
        return bad(errp, what, "truncated field list");
    }
    if (nfields > VMS_MAX_FIELDS || nfields > len / 19) {
        return bad(errp, what, "%" G_GUINT64_FORMAT " fields cannot fit", nfields);
    }
    FieldRec *recs = g_new0(FieldRec, nfields ? nfields : 1);
    for (uint64_t i = 0; i < nfields; i++) {
        FieldRec *fr = &recs[i];
        uint64_t type, count, esize;
        if (!rd_name(&r, fr->name) || !rd_le(&r, 1, &type) || !rd_le(&r, 4, &count) ||
            !rd_le(&r, 4, &esize) || !rd_le(&r, 8, &fr->len) ||
            !rd_bytes(&r, fr->len, &fr->data)) {
            ret = bad(errp, what, "field %" G_GUINT64_FORMAT " is damaged or truncated", i);
            goto out;
        }
        fr->type = type;
        fr->count = count;
        fr->elem_size = esize;
        for (uint64_t j = 0; j < i; j++) {
            if (!strcmp(recs[j].name, fr->name)) {
                ret = bad(errp, what, "field '%s' appears twice", fr->name);
                goto out;
            }
        }
    }
    if (r.pos != r.len) {
        ret = bad(errp, what, "%zu bytes after the last field", r.len - r.pos);
        goto out;
    }
    if (vmsd->pre_load) {
        vmsd->pre_load(opaque);
    }
    for (const VMStateField *f = vmsd->fields; f->name; f++) {
        if (field_version(f) > version) {
            continue;           /* added later: keeps its current value */
        }
        FieldRec *fr = NULL;
        for (uint64_t i = 0; i < nfields; i++) {
            if (!recs[i].used && !strcmp(recs[i].name, f->name)) {
                fr = &recs[i];
                break;
            }
        }
        if (!fr) {
            ret = bad(errp, what, "field '%s' is missing", f->name);
            goto out;
        }
        fr->used = true;
        if ((ret = load_field(f, fr, opaque, version, what, depth, errp)) < 0) {
            goto out;
        }
    }
    for (uint64_t i = 0; i < nfields; i++) {
        if (!recs[i].used) {
            ret = bad(errp, what, "unknown field '%s'", recs[i].name);
            goto out;
        }
    }
    if (vmsd->post_load && (ret = vmsd->post_load(opaque, version, errp)) < 0) {
        if (errp && !*errp) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "invalid state");
        }
        g_prefix_error(errp, "%s: ", what);
    }
out:
    g_free(recs);
    return ret < 0 ? ret : 0;
}

int vmstate_load_fields(const uint8_t *data, size_t len, uint32_t version,
                        const VMStateDescription *vmsd, void *opaque,
                        const char *what, GError **errp)
{
    return load_list(data, len, version, vmsd, opaque, what, 0, errp);
}

/* --- streams of sections --------------------------------------------------- */

typedef struct Section {
    char id[256];
    uint32_t version;
    const uint8_t *data;
    uint64_t len;
    bool consumed;
} Section;

struct VMStateStream {
    GArray *sections;           /* Section */
};

VMStateStream *vmstate_stream_parse(const uint8_t *data, size_t len, GError **errp)
{
    VMStateStream *s = g_new0(VMStateStream, 1);
    Reader r = { data, len, 0 };

    s->sections = g_array_new(FALSE, TRUE, sizeof(Section));
    while (r.pos < r.len) {
        Section sec = {0};
        uint64_t version;
        if (!rd_name(&r, sec.id) || !rd_le(&r, 4, &version) ||
            !rd_le(&r, 8, &sec.len) || !rd_bytes(&r, sec.len, &sec.data)) {
            bad(errp, "state stream", "section %u is damaged or truncated",
                s->sections->len + 1);
            vmstate_stream_free(s);
            return NULL;
        }
        sec.version = version;
        if (vmstate_stream_has(s, sec.id)) {
            bad(errp, "state stream", "section '%s' appears twice", sec.id);
            vmstate_stream_free(s);
            return NULL;
        }
        g_array_append_val(s->sections, sec);
    }
    return s;
}

void vmstate_stream_free(VMStateStream *s)
{
    if (s) {
        g_array_free(s->sections, TRUE);
        g_free(s);
    }
}

static Section *stream_find(const VMStateStream *s, const char *id)
{
    for (guint i = 0; i < s->sections->len; i++) {
        Section *sec = &g_array_index(s->sections, Section, i);
        if (!strcmp(sec->id, id)) {
            return sec;
        }
    }
    return NULL;
}

bool vmstate_stream_has(const VMStateStream *s, const char *id)
{
    return stream_find(s, id) != NULL;
}

int vmstate_stream_load(VMStateStream *s, const char *id,
                        const VMStateDescription *vmsd, void *opaque,
                        GError **errp)
{
    Section *sec = stream_find(s, id);
    gchar *what = g_strdup_printf("section '%s'", id);
    uint32_t min = vmsd->minimum_version ? vmsd->minimum_version : 1;
    int ret;

    if (!sec) {
        ret = bad(errp, what, "missing from the file");
    } else if (sec->version > vmsd->version) {
        ret = bad(errp, what, "version %u is newer than this vmkemu's %u",
                  sec->version, vmsd->version);
    } else if (sec->version < min) {
        ret = bad(errp, what, "version %u is older than this vmkemu reads (%u-%u)",
                  sec->version, min, vmsd->version);
    } else {
        sec->consumed = true;
        ret = vmstate_load_fields(sec->data, sec->len, sec->version, vmsd, opaque,
                                  what, errp);
    }
    g_free(what);
    return ret;
}

int vmstate_stream_check_consumed(const VMStateStream *s, GError **errp)
{
    for (guint i = 0; i < s->sections->len; i++) {
        Section *sec = &g_array_index(s->sections, Section, i);
        if (!sec->consumed) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "section '%s': unknown to this machine", sec->id);
            return -EINVAL;
        }
    }
    return 0;
}

const char **vmstate_stream_ids(const VMStateStream *s)
{
    const char **ids = g_new0(const char *, s->sections->len + 1);
    for (guint i = 0; i < s->sections->len; i++) {
        ids[i] = g_array_index(s->sections, Section, i).id;
    }
    return ids;
}

/* --- the machine's list ----------------------------------------------------- */

typedef struct ListEntry {
    char *id;
    const VMStateDescription *vmsd;
    void *opaque;
} ListEntry;

struct VMStateList {
    GArray *entries;            /* ListEntry */
};

VMStateList *vmstate_list_new(void)
{
    VMStateList *l = g_new0(VMStateList, 1);
    l->entries = g_array_new(FALSE, TRUE, sizeof(ListEntry));
    return l;
}

void vmstate_list_free(VMStateList *l)
{
    if (!l) {
        return;
    }
    for (guint i = 0; i < l->entries->len; i++) {
        g_free(g_array_index(l->entries, ListEntry, i).id);
    }
    g_array_free(l->entries, TRUE);
    g_free(l);
}

void vmstate_list_add(VMStateList *l, const char *id,
                      const VMStateDescription *vmsd, void *opaque)
{
    for (guint i = 0; i < l->entries->len; i++) {
        g_assert(strcmp(g_array_index(l->entries, ListEntry, i).id, id) != 0);
    }
    g_assert(strlen(id) > 0 && strlen(id) < 256);
    ListEntry e = { g_strdup(id), vmsd, opaque };
    g_array_append_val(l->entries, e);
}

void vmstate_list_remove(VMStateList *l, void *opaque)
{
    for (guint i = l->entries->len; i-- > 0;) {
        ListEntry *e = &g_array_index(l->entries, ListEntry, i);
        if (e->opaque == opaque) {
            g_free(e->id);
            g_array_remove_index(l->entries, i);
        }
    }
}

int vmstate_list_save(VMStateList *l, GByteArray *out, GError **errp)
{
    for (guint i = 0; i < l->entries->len; i++) {
        ListEntry *e = &g_array_index(l->entries, ListEntry, i);
        if (vmstate_save_section(out, e->id, e->vmsd, e->opaque, errp) < 0) {
            return -1;
        }
    }
    return 0;
}

int vmstate_list_load(VMStateList *l, VMStateStream *s, GError **errp)
{
    for (guint i = 0; i < l->entries->len; i++) {
        ListEntry *e = &g_array_index(l->entries, ListEntry, i);
        int ret = vmstate_stream_load(s, e->id, e->vmsd, e->opaque, errp);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

char *vmstate_list_ids(VMStateList *l, const char *sep)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < l->entries->len; i++) {
        if (i) {
            g_string_append(s, sep);
        }
        g_string_append(s, g_array_index(l->entries, ListEntry, i).id);
    }
    return g_string_free(s, FALSE);
}
