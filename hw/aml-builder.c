/*
 * ACPI Machine Language encoder (ACPI 6.x chapter 20: 20.2.2 name objects,
 * 20.2.3 data objects, 20.2.4 package length, 20.2.5 term objects) and
 * small resource descriptors (6.4.2.5 I/O port, 6.4.2.9 end tag) and the
 * Word and DWord address space descriptors (6.4.3.5.2-3).
 */
#include <string.h>
#include "hw/aml-builder.h"

enum {
    AML_OP_ZERO = 0x00, AML_OP_ONE = 0x01, AML_OP_NAME = 0x08,
    AML_OP_BYTE = 0x0a, AML_OP_WORD = 0x0b, AML_OP_DWORD = 0x0c,
    AML_OP_STRING = 0x0d, AML_OP_QWORD = 0x0e, AML_OP_SCOPE = 0x10,
    AML_OP_BUFFER = 0x11, AML_OP_PACKAGE = 0x12, AML_OP_METHOD = 0x14,
    AML_OP_DUAL_NAME = 0x2e, AML_OP_MULTI_NAME = 0x2f,
    AML_OP_EXT = 0x5b, AML_OP_DEVICE = 0x82,     /* ExtOpPrefix 0x82 */
    AML_OP_ROOT = 0x5c, AML_OP_PARENT = 0x5e,
    AML_OP_RETURN = 0xa4, AML_OP_ONES = 0xff,
};

typedef enum AmlKind {
    AML_BYTES,          /* body as is */
    AML_BLOCK,          /* op PkgLength head body */
    AML_PACKAGE,        /* op PkgLength NumElements body */
    AML_BUFFER,         /* op PkgLength BufferSize body */
    AML_RESOURCES,      /* a buffer whose body ends with an End Tag */
} AmlKind;

struct Aml {
    AmlKind kind;
    uint8_t op[2];
    unsigned oplen;
    GByteArray *head;
    GByteArray *body;
    unsigned count;     /* children appended */
};

static Aml *aml_alloc(AmlKind kind)
{
    Aml *a = g_new0(Aml, 1);
    a->kind = kind;
    a->head = g_byte_array_new();
    a->body = g_byte_array_new();
    return a;
}

Aml *aml_new(void)
{
    return aml_alloc(AML_BYTES);
}

void aml_free(Aml *a)
{
    if (a) {
        g_byte_array_unref(a->head);
        g_byte_array_unref(a->body);
        g_free(a);
    }
}

static void put8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void put_le(GByteArray *b, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        put8(b, v >> (8 * i));
    }
}

unsigned aml_encode_pkglength(uint32_t total, uint8_t out[4])
{
    if (total <= 0x3f) {
        out[0] = total;
        return 1;
    }
    unsigned n = total < (1u << 12) ? 2 : total < (1u << 20) ? 3 :
                 total < (1u << 28) ? 4 : 0;
    if (n == 0) {
        return 0;
    }
    out[0] = ((n - 1) << 6) | (total & 0x0f);
    for (unsigned i = 1; i < n; i++) {
        out[i] = total >> (4 + 8 * (i - 1));
    }
    return n;
}

/* PkgLength for `len` bytes following it: the smallest encoding whose
 * total (itself included) it can express. */
static void put_pkglength(GByteArray *b, uint32_t len)
{
    uint8_t enc[4];
    for (unsigned n = 1; n <= 4; n++) {
        unsigned got = aml_encode_pkglength(len + n, enc);
        if (got == n) {
            g_byte_array_append(b, enc, n);
            return;
        }
    }
    g_error("aml: package of %u bytes is too long", len);
}

static void put_int(GByteArray *b, uint64_t v)
{
    if (v == 0) {
        put8(b, AML_OP_ZERO);
    } else if (v == 1) {
        put8(b, AML_OP_ONE);
    } else if (v == UINT64_MAX) {
        put8(b, AML_OP_ONES);
    } else if (v <= 0xff) {
        put8(b, AML_OP_BYTE);
        put8(b, v);
    } else if (v <= 0xffff) {
        put8(b, AML_OP_WORD);
        put_le(b, v, 2);
    } else if (v <= 0xffffffff) {
        put8(b, AML_OP_DWORD);
        put_le(b, v, 4);
    } else {
        put8(b, AML_OP_QWORD);
        put_le(b, v, 8);
    }
}

static bool name_char_ok(char c, bool lead)
{
    return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

/* NameString (20.2.2): prefixes, then NullName, one NameSeg, DualNamePath
 * or MultiNamePath. */
static void put_namestring(GByteArray *b, const char *path)
{
    const char *p = path;
    if (*p == '\\') {
        put8(b, AML_OP_ROOT);
        p++;
    } else {
        while (*p == '^') {
            put8(b, AML_OP_PARENT);
            p++;
        }
    }
    gchar **segs = *p ? g_strsplit(p, ".", -1) : g_new0(gchar *, 1);
    unsigned n = g_strv_length(segs);
    if (n == 0) {
        put8(b, 0x00);
    } else if (n == 2) {
        put8(b, AML_OP_DUAL_NAME);
    } else if (n > 2) {
        if (n > 255) {
            g_error("aml: name '%s' has too many segments", path);
        }
        put8(b, AML_OP_MULTI_NAME);
        put8(b, n);
    }
    for (unsigned i = 0; i < n; i++) {
        size_t len = strlen(segs[i]);
        if (len == 0 || len > 4) {
            g_error("aml: bad name segment in '%s'", path);
        }
        for (size_t k = 0; k < 4; k++) {
            char c = k < len ? segs[i][k] : '_';
            if (!name_char_ok(c, k == 0)) {
                g_error("aml: bad character in name '%s'", path);
            }
            put8(b, c);
        }
    }
    g_strfreev(segs);
}

static void serialize(const Aml *a, GByteArray *out)
{
    GByteArray *inner;

    switch (a->kind) {
    case AML_BYTES:
        g_byte_array_append(out, a->body->data, a->body->len);
        return;
    case AML_BLOCK:
        g_byte_array_append(out, a->op, a->oplen);
        put_pkglength(out, a->head->len + a->body->len);
        g_byte_array_append(out, a->head->data, a->head->len);
        g_byte_array_append(out, a->body->data, a->body->len);
        return;
    case AML_PACKAGE:
        if (a->count > 255) {
            g_error("aml: package with %u elements", a->count);
        }
        put8(out, AML_OP_PACKAGE);
        put_pkglength(out, 1 + a->body->len);
        put8(out, a->count);
        g_byte_array_append(out, a->body->data, a->body->len);
        return;
    case AML_BUFFER:
    case AML_RESOURCES:
        inner = g_byte_array_new();
        g_byte_array_append(inner, a->body->data, a->body->len);
        if (a->kind == AML_RESOURCES) {
            /* End Tag: small item 0xf, length 1; checksum 0 = "valid". */
            put8(inner, 0x79);
            put8(inner, 0x00);
        }
        GByteArray *size = g_byte_array_new();
        put_int(size, inner->len);
        put8(out, AML_OP_BUFFER);
        put_pkglength(out, size->len + inner->len);
        g_byte_array_append(out, size->data, size->len);
        g_byte_array_append(out, inner->data, inner->len);
        g_byte_array_unref(size);
        g_byte_array_unref(inner);
        return;
    }
}

void aml_append(Aml *parent, Aml *child)
{
    serialize(child, parent->body);
    parent->count++;
    aml_free(child);
}

GByteArray *aml_to_bytes(Aml *a)
{
    GByteArray *out = g_byte_array_new();
    serialize(a, out);
    return out;
}

Aml *aml_int(uint64_t v)
{
    Aml *a = aml_new();
    put_int(a->body, v);
    return a;
}

Aml *aml_string(const char *s)
{
    Aml *a = aml_new();
    put8(a->body, AML_OP_STRING);
    g_byte_array_append(a->body, (const guint8 *)s, strlen(s) + 1);
    return a;
}

Aml *aml_name(const char *path)
{
    Aml *a = aml_new();
    put_namestring(a->body, path);
    return a;
}

static int hexval(char c)
{
    return g_ascii_xdigit_value(c);
}

Aml *aml_eisaid(const char *id)
{
    if (strlen(id) != 7 || !g_ascii_isupper(id[0]) || !g_ascii_isupper(id[1]) ||
        !g_ascii_isupper(id[2])) {
        g_error("aml: bad EISA id '%s'", id);
    }
    uint32_t c1 = id[0] - 0x40, c2 = id[1] - 0x40, c3 = id[2] - 0x40;
    uint32_t v = ((c1 << 2) | (c2 >> 3)) | (((c2 & 7) << 5 | c3) << 8);
    for (int i = 0; i < 4; i++) {
        int h = hexval(id[3 + i]);
        if (h < 0) {
            g_error("aml: bad EISA id '%s'", id);
        }
        /* Product id bytes: digits 0-1 in byte 2, digits 2-3 in byte 3. */
        v |= (uint32_t)h << (16 + 8 * (i / 2) + (i % 2 ? 0 : 4));
    }
    Aml *a = aml_new();
    put8(a->body, AML_OP_DWORD);
    put_le(a->body, v, 4);
    return a;
}

Aml *aml_package(void)
{
    return aml_alloc(AML_PACKAGE);
}

Aml *aml_buffer(const uint8_t *data, unsigned len)
{
    Aml *a = aml_alloc(AML_BUFFER);
    g_byte_array_append(a->body, data, len);
    return a;
}

Aml *aml_name_decl(const char *name, Aml *value)
{
    Aml *a = aml_new();
    put8(a->body, AML_OP_NAME);
    put_namestring(a->body, name);
    serialize(value, a->body);
    aml_free(value);
    return a;
}

static Aml *aml_block(const uint8_t *op, unsigned oplen, const char *name)
{
    Aml *a = aml_alloc(AML_BLOCK);
    memcpy(a->op, op, oplen);
    a->oplen = oplen;
    put_namestring(a->head, name);
    return a;
}

Aml *aml_scope(const char *path)
{
    static const uint8_t op[] = { AML_OP_SCOPE };
    return aml_block(op, 1, path);
}

Aml *aml_device(const char *name)
{
    static const uint8_t op[] = { AML_OP_EXT, AML_OP_DEVICE };
    return aml_block(op, 2, name);
}

Aml *aml_method(const char *name, unsigned nargs, bool serialized)
{
    static const uint8_t op[] = { AML_OP_METHOD };
    if (nargs > 7) {
        g_error("aml: method %s with %u arguments", name, nargs);
    }
    Aml *a = aml_block(op, 1, name);
    put8(a->head, nargs | (serialized ? 0x08 : 0));    /* MethodFlags */
    return a;
}

Aml *aml_return(Aml *value)
{
    Aml *a = aml_new();
    put8(a->body, AML_OP_RETURN);
    serialize(value, a->body);
    aml_free(value);
    return a;
}

Aml *aml_resource_template(void)
{
    return aml_alloc(AML_RESOURCES);
}

Aml *aml_io(uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
    Aml *a = aml_new();
    put8(a->body, 0x47);            /* small item 0x08, length 7 */
    put8(a->body, 0x01);            /* decodes 16 address bits */
    put_le(a->body, min, 2);
    put_le(a->body, max, 2);
    put8(a->body, align);
    put8(a->body, len);
    return a;
}

/* Address space descriptor fields shared by the Word and DWord forms. */
enum {
    AML_ADDR_MEMORY = 0, AML_ADDR_IO = 1, AML_ADDR_BUS = 2,     /* _RT */
    /* General flags: _MAF, _MIF; _DEC = 0 (positive), bit 0 = 0 (producer). */
    AML_ADDR_FIXED = 0x0c,
};

static Aml *aml_address(uint8_t tag, unsigned width, uint8_t type, uint8_t tflags,
                        uint64_t min, uint64_t max)
{
    Aml *a = aml_new();
    put8(a->body, tag);
    put_le(a->body, 3 + 5 * width, 2);      /* bytes after the length field */
    put8(a->body, type);
    put8(a->body, AML_ADDR_FIXED);
    put8(a->body, tflags);
    put_le(a->body, 0, width);              /* granularity */
    put_le(a->body, min, width);
    put_le(a->body, max, width);
    put_le(a->body, 0, width);              /* translation offset */
    put_le(a->body, max - min + 1, width);  /* length */
    return a;
}

Aml *aml_word_bus_number(uint16_t min, uint16_t max)
{
    return aml_address(0x88, 2, AML_ADDR_BUS, 0, min, max);
}

Aml *aml_word_io(uint16_t min, uint16_t max)
{
    /* _RNG = 3: ISA and non-ISA ranges. */
    return aml_address(0x88, 2, AML_ADDR_IO, 0x03, min, max);
}

Aml *aml_dword_memory(uint32_t min, uint32_t max)
{
    /* _RW = 1 (read/write), _MEM = 1 (cacheable), _MTP = 0 (memory). */
    return aml_address(0x87, 4, AML_ADDR_MEMORY, 0x03, min, max);
}
