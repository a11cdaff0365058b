/*
 * libFuzzer target: what a QMP client can send: the stream framing, the
 * JSON parse and the dispatch (with no machine: commands that need one
 * answer with an error), before and after negotiation.
 */
#include <stddef.h>
#include <stdint.h>
#include "json-stream.h"
#include "monitor.h"

static bool negotiated;

static void on_text(void *opaque, const char *text, size_t len, bool too_long)
{
    if (too_long) {
        return;
    }
    JsonParser *p = json_parser_new_immutable();
    if (json_parser_load_from_data(p, text, len, NULL)) {
        JsonNode *root = json_parser_get_root(p);
        if (root && JSON_NODE_TYPE(root) == JSON_NODE_OBJECT) {
            bool negotiates;
            JsonObject *resp = qmp_dispatch(json_node_get_object(root), negotiated,
                                            &negotiates);
            negotiated |= negotiates;
            if (resp) {
                json_object_unref(resp);
            }
        }
    }
    g_object_unref(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    JsonStream s;
    negotiated = len && (data[0] & 1);
    json_stream_init(&s, 1 << 16);
    json_stream_feed(&s, (const char *)data, len, on_text, NULL);
    json_stream_clear(&s);
    return 0;
}
