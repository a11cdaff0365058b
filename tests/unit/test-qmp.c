/*
 * QMP framing and dispatch (qapi/json-stream.c, qapi/qmp-dispatch.c).
 */
#include <string.h>
#include <glib.h>
#include "json-stream.h"
#include "monitor.h"

typedef struct Texts {
    GPtrArray *got;
    int too_long;
} Texts;

static void collect(void *opaque, const char *text, size_t len, bool too_long)
{
    Texts *t = opaque;
    if (too_long) {
        t->too_long++;
    } else {
        g_ptr_array_add(t->got, g_strndup(text, len));
    }
}

static void test_stream_split(void)
{
    Texts t = { g_ptr_array_new_with_free_func(g_free), 0 };
    JsonStream s;
    json_stream_init(&s, 64);
    const char *input = "{\"a\": \"}{\\\"\"}  {\"b\":[1,{\"c\":2}]}\n[3]";
    /* Feed a byte at a time: texts split across reads must come out whole. */
    for (size_t i = 0; i < strlen(input); i++) {
        json_stream_feed(&s, input + i, 1, collect, &t);
    }
    g_assert_cmpint(t.got->len, ==, 3);
    g_assert_cmpstr(t.got->pdata[0], ==, "{\"a\": \"}{\\\"\"}");
    g_assert_cmpstr(t.got->pdata[1], ==, "{\"b\":[1,{\"c\":2}]}");
    g_assert_cmpstr(t.got->pdata[2], ==, "[3]");
    /* Garbage between texts comes out as one-character texts (errors). */
    json_stream_feed(&s, "x{}", 3, collect, &t);
    g_assert_cmpstr(t.got->pdata[3], ==, "x");
    g_assert_cmpstr(t.got->pdata[4], ==, "{}");
    /* A text over the limit is dropped whole and reported once. */
    GString *big = g_string_new("{\"k\":\"");
    for (int i = 0; i < 200; i++) {
        g_string_append_c(big, 'v');
    }
    g_string_append(big, "\"}{\"ok\":1}");
    json_stream_feed(&s, big->str, big->len, collect, &t);
    g_assert_cmpint(t.too_long, ==, 1);
    g_assert_cmpstr(t.got->pdata[t.got->len - 1], ==, "{\"ok\":1}");
    g_string_free(big, TRUE);
    json_stream_clear(&s);
    g_ptr_array_free(t.got, TRUE);
}

static JsonObject *request(const char *json)
{
    JsonParser *p = json_parser_new();
    g_assert_true(json_parser_load_from_data(p, json, -1, NULL));
    JsonObject *o = json_object_ref(json_node_get_object(json_parser_get_root(p)));
    g_object_unref(p);
    return o;
}

static char *run(const char *json, bool negotiated, bool *negotiates)
{
    JsonObject *req = request(json);
    bool dummy;
    JsonObject *resp = qmp_dispatch(req, negotiated, negotiates ? negotiates : &dummy);
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, resp);
    char *text = json_to_string(n, FALSE);
    json_node_unref(n);
    json_object_unref(req);
    return text;
}

static void expect(const char *json, bool negotiated, const char *want)
{
    char *got = run(json, negotiated, NULL);
    g_assert_cmpstr(got, ==, want);
    g_free(got);
}

static void test_negotiation(void)
{
    bool neg = false;
    expect("{\"execute\":\"query-version\",\"id\":1}", false,
           "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"Expecting capabilities "
           "negotiation with 'qmp_capabilities'\"},\"id\":1}");
    char *r = run("{\"execute\":\"qmp_capabilities\",\"id\":\"a\"}", false, &neg);
    g_assert_cmpstr(r, ==, "{\"return\":{},\"id\":\"a\"}");
    g_assert_true(neg);
    g_free(r);
    expect("{\"execute\":\"qmp_capabilities\"}", true,
           "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"Capabilities negotiation "
           "is already complete, command ignored\"}}");
}

static void test_errors(void)
{
    expect("{\"execute\":\"no-such\",\"id\":[1,2]}", true,
           "{\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"The command no-such has not "
           "been found\"},\"id\":[1,2]}");
    expect("{\"exec\":\"stop\"}", true,
           "{\"error\":{\"class\":\"GenericError\",\"desc\":\"QMP input member 'execute' is "
           "missing or not a string\"}}");
    expect("{\"execute\":\"stop\",\"extra\":1}", true,
           "{\"error\":{\"class\":\"GenericError\",\"desc\":\"QMP input member 'extra' is "
           "unexpected\"}}");
    expect("{\"execute\":\"stop\",\"arguments\":[]}", true,
           "{\"error\":{\"class\":\"GenericError\",\"desc\":\"QMP input member 'arguments' "
           "must be an object\"}}");
    expect("{\"execute\":\"query-version\",\"arguments\":{\"x\":1}}", true,
           "{\"error\":{\"class\":\"GenericError\",\"desc\":\"Parameter 'x' is unexpected\"}}");
    /* Commands that need a machine say so when there is none. */
    expect("{\"execute\":\"query-status\"}", true,
           "{\"error\":{\"class\":\"GenericError\",\"desc\":\"No machine is running\"}}");
}

static void test_queries(void)
{
    char *r = run("{\"execute\":\"query-commands\"}", true, NULL);
    for (const QmpCommand *c = qmp_commands; c->name; c++) {
        gchar *needle = g_strdup_printf("{\"name\":\"%s\"}", c->name);
        g_assert_nonnull(strstr(r, needle));
        g_free(needle);
    }
    g_free(r);
    r = run("{\"execute\":\"query-version\"}", true, NULL);
    g_assert_true(g_str_has_prefix(r, "{\"return\":{\"qemu\":{\"major\":"));
    g_free(r);
    expect("{\"execute\":\"query-block\",\"id\":7}", true, "{\"return\":[],\"id\":7}");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/stream-split", test_stream_split);
    g_test_add_func("/qmp/negotiation", test_negotiation);
    g_test_add_func("/qmp/errors", test_errors);
    g_test_add_func("/qmp/queries", test_queries);
    return g_test_run();
}
