/*
 * Cutting a byte stream into JSON texts (see json-stream.c).
 */
#ifndef VMKEMU_QAPI_JSON_STREAM_H
#define VMKEMU_QAPI_JSON_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

typedef struct JsonStream {
    GString *buf;
    size_t limit;
    int depth;
    bool in_string, escape, overflow;
} JsonStream;

/* Called for each complete text; `too_long` when it exceeded the limit
 * (then `text` is empty). */
typedef void (*JsonStreamEmit)(void *opaque, const char *text, size_t len,
                               bool too_long);

void json_stream_init(JsonStream *s, size_t limit);
void json_stream_clear(JsonStream *s);
void json_stream_feed(JsonStream *s, const char *data, size_t len,
                      JsonStreamEmit emit, void *opaque);

#endif
