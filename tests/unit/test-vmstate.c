/*
 * The state-description mechanism (include/vmstate.h, util/vmstate.c):
 * every field type round-trips; versions, missing and unknown sections and
 * fields, type and size mismatches are clean errors; every truncation and
 * thousands of random mutations of a stream give an error or a load, never
 * a crash (run under ASan/UBSan).
 */
#include <string.h>
#include <glib.h>
#include "timer.h"
#include "vmstate.h"

typedef struct Inner {
    uint16_t a;
    int32_t b;
} Inner;

typedef struct Sample {
    bool flag;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    int32_t i32;
    int64_t i64;
    uint8_t bytes[5];
    uint32_t words[3];
    bool flags[2];
    Inner inner[2];
    struct { char text[12]; } blob;
    VTimer *timer;
    int post_loads;             /* not state: counts post_load calls */
    uint32_t added_in_v2;
} Sample;

static int post_load_fail;

static int inner_post_load(void *opaque, uint32_t version, GError **errp)
{
    Inner *in = opaque;
    if (in->b < 0 && post_load_fail) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "b must not be negative");
        return -1;
    }
    return 0;
}

static const VMStateDescription inner_vmsd = {
    .name = "inner",
    .version = 1,
    .post_load = inner_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_UINT16(Inner, a),
        VMSTATE_INT32(Inner, b),
        VMSTATE_END
    },
};

static int sample_post_load(void *opaque, uint32_t version, GError **errp)
{
    Sample *s = opaque;
    s->post_loads++;
    return 0;
}

#define SAMPLE_FIELDS \
    VMSTATE_BOOL(Sample, flag), \
    VMSTATE_UINT8(Sample, u8), \
    VMSTATE_UINT16(Sample, u16), \
    VMSTATE_UINT32(Sample, u32), \
    VMSTATE_UINT64(Sample, u64), \
    VMSTATE_INT32(Sample, i32), \
    VMSTATE_INT64(Sample, i64), \
    VMSTATE_UINT8_ARRAY(Sample, bytes, 5), \
    VMSTATE_UINT32_ARRAY(Sample, words, 3), \
    VMSTATE_BOOL_ARRAY(Sample, flags, 2), \
    VMSTATE_STRUCT_ARRAY(Sample, inner, 2, inner_vmsd, Inner), \
    VMSTATE_BUFFER(Sample, blob), \
    VMSTATE_VTIMER(Sample, timer)

static const VMStateDescription sample_v1 = {
    .name = "sample",
    .version = 1,
    .post_load = sample_post_load,
    .fields = (const VMStateField[]){ SAMPLE_FIELDS, VMSTATE_END },
};

/* Version 2 adds a field; it still reads version 1 streams. */
static const VMStateDescription sample_v2 = {
    .name = "sample",
    .version = 2,
    .post_load = sample_post_load,
    .fields = (const VMStateField[]){
        SAMPLE_FIELDS,
        { .name = "added_in_v2", .offset = offsetof(Sample, added_in_v2),
          .type = VMS_U32, .version_min = 2 },
        VMSTATE_END
    },
};

/* Version 3 no longer reads version 1. */
static const VMStateDescription sample_v3 = {
    .name = "sample",
    .version = 3,
    .minimum_version = 2,
    .fields = (const VMStateField[]){ SAMPLE_FIELDS, VMSTATE_END },
};

/* The same names with another type or size. */
static const VMStateDescription sample_u8_as_u16 = {
    .name = "sample",
    .version = 1,
    .fields = (const VMStateField[]){
        { .name = "u8", .offset = offsetof(Sample, u16), .type = VMS_U16 },
        VMSTATE_END
    },
};

static const VMStateDescription sample_only_u8 = {
    .name = "sample",
    .version = 1,
    .fields = (const VMStateField[]){ VMSTATE_UINT8(Sample, u8), VMSTATE_END },
};

static const VMStateDescription sample_only_flag = {
    .name = "sample",
    .version = 1,
    .fields = (const VMStateField[]){ VMSTATE_BOOL(Sample, flag), VMSTATE_END },
};

static void timer_noop(void *opaque)
{
}

static void sample_fill(Sample *s)
{
    *s = (Sample){
        .flag = true, .u8 = 0xa5, .u16 = 0xbeef, .u32 = 0xdeadbeef,
        .u64 = 0x0123456789abcdefULL, .i32 = -12345, .i64 = -(INT64_C(1) << 40),
        .bytes = { 1, 2, 3, 4, 5 }, .words = { 7, 0xffffffff, 9 },
        .flags = { false, true },
        .inner = { { 0x1111, -1 }, { 0x2222, 2 } },
        .blob = { "state blob" },
        .added_in_v2 = 77,
    };
    s->timer = vtimer_new(timer_noop, s);
    vtimer_mod(s->timer, 5000);
}

static void sample_clear(Sample *s)
{
    vtimer_free(s->timer);
    memset(s, 0, sizeof(*s));
}

static GByteArray *sample_stream(const VMStateDescription *vmsd, Sample *s)
{
    GByteArray *out = g_byte_array_new();
    g_assert_cmpint(vmstate_save_section(out, "sample", vmsd, s, NULL), ==, 0);
    return out;
}

static int load_into(const uint8_t *data, size_t len, const VMStateDescription *vmsd,
                     Sample *s, GError **errp)
{
    VMStateStream *st = vmstate_stream_parse(data, len, errp);
    if (!st) {
        return -1;
    }
    int ret = vmstate_stream_load(st, "sample", vmsd, s, errp);
    if (ret == 0) {
        ret = vmstate_stream_check_consumed(st, errp);
    }
    vmstate_stream_free(st);
    return ret;
}

static void test_round_trip(void)
{
    Sample a, b = {0};
    sample_fill(&a);
    GByteArray *out = sample_stream(&sample_v1, &a);

    b.timer = vtimer_new(timer_noop, &b);
    g_assert_false(vtimer_pending(b.timer));
    g_assert_cmpint(load_into(out->data, out->len, &sample_v1, &b, NULL), ==, 0);
    g_assert_true(b.flag);
    g_assert_cmpuint(b.u8, ==, 0xa5);
    g_assert_cmpuint(b.u16, ==, 0xbeef);
    g_assert_cmpuint(b.u32, ==, 0xdeadbeef);
    g_assert_cmpuint(b.u64, ==, 0x0123456789abcdefULL);
    g_assert_cmpint(b.i32, ==, -12345);
    g_assert_cmpint(b.i64, ==, -(INT64_C(1) << 40));
    g_assert_cmpmem(b.bytes, 5, a.bytes, 5);
    g_assert_cmpmem(b.words, sizeof(b.words), a.words, sizeof(a.words));
    g_assert_false(b.flags[0]);
    g_assert_true(b.flags[1]);
    g_assert_cmpuint(b.inner[0].a, ==, 0x1111);
    g_assert_cmpint(b.inner[0].b, ==, -1);
    g_assert_cmpuint(b.inner[1].a, ==, 0x2222);
    g_assert_cmpint(b.inner[1].b, ==, 2);
    g_assert_cmpstr(b.blob.text, ==, "state blob");
    /* The timer is armed again at the saved deadline. */
    g_assert_true(vtimer_pending(b.timer));
    g_assert_cmpint(vtimer_deadline(b.timer), ==, 5000);
    g_assert_cmpint(b.post_loads, ==, 1);
    g_assert_cmpuint(b.added_in_v2, ==, 0);     /* not a v1 field */

    /* Saving the loaded object gives the same bytes. */
    GByteArray *again = sample_stream(&sample_v1, &b);
    g_assert_cmpmem(again->data, again->len, out->data, out->len);

    /* An idle timer is saved as idle and disarms on load. */
    vtimer_del(a.timer);
    g_byte_array_unref(out);
    out = sample_stream(&sample_v1, &a);
    g_assert_cmpint(load_into(out->data, out->len, &sample_v1, &b, NULL), ==, 0);
    g_assert_false(vtimer_pending(b.timer));

    g_byte_array_unref(again);
    g_byte_array_unref(out);
    sample_clear(&a);
    sample_clear(&b);
}

static void expect_error(const uint8_t *data, size_t len, const VMStateDescription *vmsd,
                         const char *needle)
{
    Sample b = {0};
    GError *err = NULL;
    b.timer = vtimer_new(timer_noop, &b);
    g_assert_cmpint(load_into(data, len, vmsd, &b, &err), <, 0);
    g_assert_nonnull(err);
    if (!strstr(err->message, needle)) {
        g_printerr("error '%s' does not mention '%s'\n", err->message, needle);
        g_assert_not_reached();
    }
    g_assert_null(strchr(err->message, '\n'));
    g_error_free(err);
    sample_clear(&b);
}

static void test_versions(void)
{
    Sample a, b = {0};
    sample_fill(&a);
    GByteArray *v1 = sample_stream(&sample_v1, &a);
    GByteArray *v2 = sample_stream(&sample_v2, &a);

    /* A newer description reads the old stream; the new field keeps its
     * value. */
    b.timer = vtimer_new(timer_noop, &b);
    b.added_in_v2 = 5;
    g_assert_cmpint(load_into(v1->data, v1->len, &sample_v2, &b, NULL), ==, 0);
    g_assert_cmpuint(b.added_in_v2, ==, 5);
    g_assert_cmpuint(b.u32, ==, 0xdeadbeef);
    /* And its own stream, new field included. */
    g_assert_cmpint(load_into(v2->data, v2->len, &sample_v2, &b, NULL), ==, 0);
    g_assert_cmpuint(b.added_in_v2, ==, 77);
    sample_clear(&b);

    /* An older description refuses a newer section. */
    expect_error(v2->data, v2->len, &sample_v1, "version 2 is newer");
    /* A description past its minimum refuses old sections. */
    expect_error(v1->data, v1->len, &sample_v3, "version 1 is older");

    g_byte_array_unref(v1);
    g_byte_array_unref(v2);
    sample_clear(&a);
}

static void test_mismatches(void)
{
    Sample a;
    sample_fill(&a);
    GByteArray *v1 = sample_stream(&sample_v1, &a);
    GByteArray *small = sample_stream(&sample_u8_as_u16, &a);

    /* Another type under the same name, either way round. */
    expect_error(small->data, small->len, &sample_only_u8,
                 "section 'sample': field 'u8' is u16 in the file, u8 here");
    expect_error(v1->data, v1->len, &sample_u8_as_u16, "field 'u8' is u8 in the file, u16 here");
    /* A field the stream lacks; fields the description lacks. */
    expect_error(small->data, small->len, &sample_v1, "field 'flag' is missing");
    expect_error(v1->data, v1->len, &sample_only_flag, "unknown field 'u8'");

    /* A missing section, an unknown one. */
    GError *err = NULL;
    VMStateStream *st = vmstate_stream_parse(v1->data, v1->len, NULL);
    Sample b = {0};
    b.timer = vtimer_new(timer_noop, &b);
    g_assert_cmpint(vmstate_stream_load(st, "other", &sample_v1, &b, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "section 'other': missing from the file"));
    g_clear_error(&err);
    g_assert_cmpint(vmstate_stream_check_consumed(st, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "section 'sample': unknown to this machine"));
    g_clear_error(&err);
    vmstate_stream_free(st);

    /* The same section twice. */
    GByteArray *twice = g_byte_array_new();
    g_byte_array_append(twice, v1->data, v1->len);
    g_byte_array_append(twice, v1->data, v1->len);
    g_assert_null(vmstate_stream_parse(twice->data, twice->len, &err));
    g_assert_nonnull(strstr(err->message, "appears twice"));
    g_clear_error(&err);

    /* A boolean that is neither 0 nor 1: find the flag's data byte. */
    GByteArray *bad = g_byte_array_new();
    g_byte_array_append(bad, v1->data, v1->len);
    uint8_t *p = memmem(bad->data, bad->len, "\x04" "flag", 5);
    g_assert_nonnull(p);
    p[5 + 1 + 4 + 4 + 8] = 2;       /* name, type, count, size, length */
    expect_error(bad->data, bad->len, &sample_v1, "field 'flag': 2 is not a boolean");

    /* A post_load hook that refuses names the section and the element. */
    post_load_fail = 1;
    expect_error(v1->data, v1->len, &sample_v1, "inner[0]: b must not be negative");
    post_load_fail = 0;

    g_byte_array_unref(bad);
    g_byte_array_unref(twice);
    g_byte_array_unref(small);
    g_byte_array_unref(v1);
    sample_clear(&a);
    sample_clear(&b);
}

static void test_truncation(void)
{
    Sample a;
    sample_fill(&a);
    GByteArray *v1 = sample_stream(&sample_v1, &a);
    /* Every proper prefix is refused; the empty stream has no section. */
    for (size_t len = 1; len < v1->len; len++) {
        uint8_t *copy = g_memdup2(v1->data, len);  /* exact size for ASan */
        Sample b = {0};
        GError *err = NULL;
        b.timer = vtimer_new(timer_noop, &b);
        g_assert_cmpint(load_into(copy, len, &sample_v1, &b, &err), <, 0);
        g_assert_nonnull(err);
        g_error_free(err);
        sample_clear(&b);
        g_free(copy);
    }
    expect_error((const uint8_t *)"", 0, &sample_v1, "missing from the file");
    g_byte_array_unref(v1);
    sample_clear(&a);
}

static void test_fuzz(void)
{
    Sample a;
    sample_fill(&a);
    GByteArray *v1 = sample_stream(&sample_v1, &a);
    GRand *rnd = g_rand_new_with_seed(0x5eed);
    int loaded = 0, refused = 0;

    for (int iter = 0; iter < 20000; iter++) {
        size_t len = v1->len;
        uint8_t *buf = g_malloc(len + 16);
        memcpy(buf, v1->data, len);
        int nmut = g_rand_int_range(rnd, 1, 5);
        for (int k = 0; k < nmut; k++) {
            switch (g_rand_int_range(rnd, 0, 4)) {
            case 0:     /* flip a bit */
                buf[g_rand_int_range(rnd, 0, len)] ^= 1u << g_rand_int_range(rnd, 0, 8);
                break;
            case 1:     /* a random byte */
                buf[g_rand_int_range(rnd, 0, len)] = g_rand_int_range(rnd, 0, 256);
                break;
            case 2:     /* cut */
                len = g_rand_int_range(rnd, 0, len + 1);
                break;
            default:    /* an interesting value in a length */
                if (len >= 8) {
                    static const uint64_t vals[] = { 0, 1, 0xff, 0xffff, 0xffffffffu,
                                                     0x7fffffffffffffffULL, ~0ULL };
                    uint64_t v = vals[g_rand_int_range(rnd, 0, G_N_ELEMENTS(vals))];
                    size_t at = g_rand_int_range(rnd, 0, len - 7);
                    memcpy(buf + at, &v, g_rand_int_range(rnd, 1, 9));
                }
            }
            if (!len) {
                break;
            }
        }
        uint8_t *exact = g_memdup2(buf, len);
        Sample b = {0};
        GError *err = NULL;
        b.timer = vtimer_new(timer_noop, &b);
        if (load_into(exact, len, &sample_v1, &b, &err) == 0) {
            loaded++;
        } else {
            g_assert_nonnull(err);
            refused++;
            g_error_free(err);
        }
        sample_clear(&b);
        g_free(exact);
        g_free(buf);
    }
    /* Most mutations break something; some only change a value. */
    g_assert_cmpint(refused, >, 10000);
    g_assert_cmpint(loaded, >, 100);
    g_rand_free(rnd);
    g_byte_array_unref(v1);
    sample_clear(&a);
}

static void test_list(void)
{
    Sample a1, a2, b1 = {0}, b2 = {0};
    sample_fill(&a1);
    sample_fill(&a2);
    a2.u32 = 42;
    VMStateList *la = vmstate_list_new(), *lb = vmstate_list_new();
    vmstate_list_add(la, "one", &sample_v1, &a1);
    vmstate_list_add(la, "two", &sample_v1, &a2);
    b1.timer = vtimer_new(timer_noop, &b1);
    b2.timer = vtimer_new(timer_noop, &b2);
    vmstate_list_add(lb, "one", &sample_v1, &b1);
    vmstate_list_add(lb, "two", &sample_v1, &b2);
    char *ids = vmstate_list_ids(la, " ");
    g_assert_cmpstr(ids, ==, "one two");
    g_free(ids);

    GByteArray *out = g_byte_array_new();
    g_assert_cmpint(vmstate_list_save(la, out, NULL), ==, 0);
    VMStateStream *st = vmstate_stream_parse(out->data, out->len, NULL);
    const char **sids = vmstate_stream_ids(st);
    g_assert_cmpstr(sids[0], ==, "one");
    g_assert_cmpstr(sids[1], ==, "two");
    g_assert_null(sids[2]);
    g_free(sids);
    g_assert_cmpint(vmstate_list_load(lb, st, NULL), ==, 0);
    g_assert_cmpint(vmstate_stream_check_consumed(st, NULL), ==, 0);
    g_assert_cmpuint(b1.u32, ==, 0xdeadbeef);
    g_assert_cmpuint(b2.u32, ==, 42);
    vmstate_stream_free(st);

    /* A list with one section fewer than the stream: the extra is unknown. */
    vmstate_list_remove(lb, &b2);
    st = vmstate_stream_parse(out->data, out->len, NULL);
    GError *err = NULL;
    g_assert_cmpint(vmstate_list_load(lb, st, NULL), ==, 0);
    g_assert_cmpint(vmstate_stream_check_consumed(st, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "'two'"));
    g_error_free(err);
    vmstate_stream_free(st);

    g_byte_array_unref(out);
    vmstate_list_free(la);
    vmstate_list_free(lb);
    sample_clear(&a1);
    sample_clear(&a2);
    sample_clear(&b1);
    sample_clear(&b2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    vclock_set_manual(0);
    g_test_add_func("/vmstate/round-trip", test_round_trip);
    g_test_add_func("/vmstate/versions", test_versions);
    g_test_add_func("/vmstate/mismatches", test_mismatches);
    g_test_add_func("/vmstate/truncation", test_truncation);
    g_test_add_func("/vmstate/fuzz", test_fuzz);
    g_test_add_func("/vmstate/list", test_list);
    return g_test_run();
}
