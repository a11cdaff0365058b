/*
 * What the chardev core shares with its backends (chardev/char-*.c).
 *
 * A backend fills in a ChardevClass.  Backends that talk through file
 * descriptors hand them to the core with chardev_attach_fds and let it do
 * the polling, the bounded output buffer and the flow control; the others
 * (null, buffer) override write and accept_input.
 */
#ifndef VMKEMU_CHARDEV_INTERNAL_H
#define VMKEMU_CHARDEV_INTERNAL_H

#include <gio/gio.h>
#include "chardev.h"

typedef struct ChardevClass {
    const char *name;
    /* `arg` is what follows "name:" in the spec ("" when there is none). */
    int (*open)(Chardev *cd, const char *arg, GError **errp);
    void (*close)(Chardev *cd);
    /* Optional overrides of the fd-based defaults. */
    void (*write)(Chardev *cd, const uint8_t *buf, size_t len);
    void (*accept_input)(Chardev *cd);
    bool (*connected)(const Chardev *cd);
    /* Raw input bytes, before the frontend sees them (stdio escapes);
     * default: chardev_deliver. */
    void (*input)(Chardev *cd, const uint8_t *buf, size_t len);
    /* The peer closed its end or an I/O error happened (input EOF, EPIPE);
     * default: stop using the descriptors. */
    void (*hangup)(Chardev *cd);
} ChardevClass;

struct Chardev {
    const ChardevClass *cls;
    char *spec;
    void *be;                   /* backend state */

    /* Frontend. */
    ChardevCanRead can_read;
    ChardevRead read;
    ChardevEventFn event;
    void *opaque;

    /* Descriptor I/O, run by the core. */
    int in_fd, out_fd;          /* -1 when none */
    bool out_nonblock;          /* out_fd is ours and O_NONBLOCK */
    bool out_socket;            /* send with MSG_NOSIGNAL */
    bool in_eof;                /* input ended; do not poll it again */
    bool out_dead;              /* output failed; drop from now on */
    GSource *in_src, *out_src;  /* borrowed: the default context owns them */
    GByteArray *out_buf;        /* what the peer has not taken yet */
    size_t out_max;
    bool out_stalled;           /* the buffer overflowed; drop until drained */
    uint64_t dropped;
};

/* Start polling `in_fd` (when a frontend is set) and writing to `out_fd`.
 * Either may be -1.  `nonblock` says out_fd is ours and O_NONBLOCK. */
void chardev_attach_fds(Chardev *cd, int in_fd, int out_fd, bool nonblock,
                        bool socket);
/* Stop polling and forget the descriptors (the backend closes them);
 * output still buffered is dropped. */
void chardev_detach_fds(Chardev *cd);
/* Try for up to `timeout_ms` to hand the buffered output to the peer. */
void chardev_flush(Chardev *cd, int timeout_ms);
/* Give bytes to the frontend (at most what its can_read said). */
void chardev_deliver(Chardev *cd, const uint8_t *buf, size_t len);
size_t chardev_frontend_room(Chardev *cd);
void chardev_emit(Chardev *cd, ChardevEvent event);

extern const ChardevClass chardev_null_class;
extern const ChardevClass chardev_file_class;
extern const ChardevClass chardev_stdio_class;
extern const ChardevClass chardev_socket_class;
extern const ChardevClass chardev_buffer_class;

#endif
