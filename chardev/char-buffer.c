/*
 * The buffer backend, for tests: output collects in memory, input is queued
 * by the test and handed to the frontend synchronously, never more than
 * the frontend's can_read allows.  It behaves like a peer that always reads
 * and types exactly what the test says, with no main loop in between.
 */
#include <string.h>
#include "chardev-internal.h"

typedef struct BufferState {
    GByteArray *out;
    GByteArray *in;
    bool delivering;        /* guards against re-entry from the frontend */
} BufferState;

static int buffer_open(Chardev *cd, const char *arg, GError **errp)
{
    BufferState *b = g_new0(BufferState, 1);
    b->out = g_byte_array_new();
    b->in = g_byte_array_new();
    cd->be = b;
    return 0;
}

static void buffer_close(Chardev *cd)
{
    BufferState *b = cd->be;
    g_byte_array_unref(b->out);
    g_byte_array_unref(b->in);
    g_free(b);
}

static void buffer_write(Chardev *cd, const uint8_t *buf, size_t len)
{
    BufferState *b = cd->be;
    g_byte_array_append(b->out, buf, len);
}

static void buffer_deliver(Chardev *cd)
{
    BufferState *b = cd->be;

    if (b->delivering) {
        return;
    }
    b->delivering = true;
    while (b->in->len) {
        size_t room = chardev_frontend_room(cd);
        if (!room) {
            break;
        }
        size_t n = MIN(room, b->in->len);
        uint8_t *chunk = g_malloc(n);
        memcpy(chunk, b->in->data, n);
        g_byte_array_remove_range(b->in, 0, n);
        chardev_deliver(cd, chunk, n);
        g_free(chunk);
    }
    b->delivering = false;
}

uint8_t *chardev_buffer_take_output(Chardev *cd, size_t *len)
{
    BufferState *b = cd->be;
    uint8_t *data = g_malloc(b->out->len + 1);

    if (b->out->len) {
        memcpy(data, b->out->data, b->out->len);
    }
    data[b->out->len] = 0;
    if (len) {
        *len = b->out->len;
    }
    g_byte_array_set_size(b->out, 0);
    return data;
}

void chardev_buffer_push_input(Chardev *cd, const uint8_t *buf, size_t len)
{
    BufferState *b = cd->be;
    g_byte_array_append(b->in, buf, len);
    buffer_deliver(cd);
}

size_t chardev_buffer_pending_input(const Chardev *cd)
{
    const BufferState *b = cd->be;
    return b->in->len;
}

void chardev_buffer_send_event(Chardev *cd, ChardevEvent event)
{
    chardev_emit(cd, event);
}

const ChardevClass chardev_buffer_class = {
    .name = "buffer",
    .open = buffer_open,
    .close = buffer_close,
    .write = buffer_write,
    .accept_input = buffer_deliver,
};
