/*
 * Splitting a byte stream into JSON texts, as a QMP server must: clients
 * send objects back to back, with or without newlines, possibly split across
 * reads.  We track nesting depth outside strings and cut at each top-level
 * close; json-glib then parses each piece.  A text longer than the limit is
 * dropped as a whole and reported, so one client cannot exhaust memory.
 */
#include <string.h>
#include "json-stream.h"

void json_stream_init(JsonStream *s, size_t limit)
{
    memset(s, 0, sizeof(*s));
    s->buf = g_string_new(NULL);
    s->limit = limit;
}

void json_stream_clear(JsonStream *s)
{
    g_string_free(s->buf, TRUE);
    s->buf = NULL;
}

static void reset_text(JsonStream *s)
{
    g_string_truncate(s->buf, 0);
    s->depth = 0;
    s->in_string = s->escape = false;
    s->overflow = false;
}

void json_stream_feed(JsonStream *s, const char *data, size_t len,
                      JsonStreamEmit emit, void *opaque)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (s->depth == 0 && !s->in_string) {
            /* Between texts: skip blanks; anything that is not an opening
             * bracket is a (one-character) bad text of its own. */
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                continue;
            }
            if (c != '{' && c != '[') {
                char one[2] = { c, 0 };
                emit(opaque, one, 1, false);
                continue;
            }
        }
        if (!s->overflow) {
            g_string_append_c(s->buf, c);
            if (s->buf->len > s->limit) {
                s->overflow = true;
                g_string_truncate(s->buf, 0);
            }
        }
        if (s->in_string) {
            if (s->escape) {
                s->escape = false;
            } else if (c == '\\') {
                s->escape = true;
            } else if (c == '"') {
                s->in_string = false;
            }
            continue;
        }
        if (c == '"') {
            s->in_string = true;
        } else if (c == '{' || c == '[') {
            s->depth++;
        } else if (c == '}' || c == ']') {
            if (--s->depth == 0) {
                emit(opaque, s->buf->str, s->buf->len, s->overflow);
                reset_text(s);
            }
        }
    }
}
