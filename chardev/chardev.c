/*
 * The chardev core: picks a backend from a -serial spec, connects it to its
 * frontend (a UART), and runs descriptor I/O for the backends that have
 * descriptors (see include/chardev.h and chardev-internal.h).
 *
 * Input: a GLib fd source reads only as much as the frontend's can_read
 * allows; when that is 0 the source is removed and comes back when the
 * frontend calls chardev_accept_input, so bytes wait in the kernel (pipe,
 * socket, tty) instead of being lost.
 *
 * Output: written at once as far as the peer takes it without blocking;
 * the rest goes to a bounded buffer that a GLib fd source drains.  When the
 * buffer is full the writer waits up to CHARDEV_STALL_WAIT_MS for the peer,
 * then drops and keeps dropping until the buffer has drained, so a stuck
 * peer costs the VM one short wait, never a hang.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <glib-unix.h>
#include "chardev-internal.h"
#include "log.h"

#define CHARDEV_OUT_MAX         (256 * 1024)
#define CHARDEV_STALL_WAIT_MS   200
#define CHARDEV_CLOSE_FLUSH_MS  500
/* Writes to a descriptor that is not ours (stdout) go in chunks no larger
 * than a pipe's atomic size after poll said it is writable. */
#define CHARDEV_CHUNK           512

static const ChardevClass *const classes[] = {
    &chardev_stdio_class,
    &chardev_file_class,
    &chardev_socket_class,
    &chardev_null_class,
};

static Chardev *chardev_new(const ChardevClass *cls, const char *spec)
{
    Chardev *cd = g_new0(Chardev, 1);
    cd->cls = cls;
    cd->spec = g_strdup(spec);
    cd->in_fd = cd->out_fd = -1;
    cd->out_buf = g_byte_array_new();
    cd->out_max = CHARDEV_OUT_MAX;
    return cd;
}

static void chardev_free(Chardev *cd)
{
    g_byte_array_unref(cd->out_buf);
    g_free(cd->spec);
    g_free(cd);
}

Chardev *chardev_open(const char *spec, GError **errp)
{
    for (size_t i = 0; i < G_N_ELEMENTS(classes); i++) {
        const ChardevClass *cls = classes[i];
        size_t n = strlen(cls->name);
        const char *arg;

        if (strncmp(spec, cls->name, n)) {
            continue;
        }
        if (spec[n] == '\0') {
            arg = "";
        } else if (spec[n] == ':') {
            arg = spec + n + 1;
        } else {
            continue;
        }
        Chardev *cd = chardev_new(cls, spec);
        if (cls->open(cd, arg, errp) < 0) {
            chardev_free(cd);
            return NULL;
        }
        return cd;
    }
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "%s: unknown backend (stdio, file:PATH, unix:PATH, null)", spec);
    return NULL;
}

Chardev *chardev_open_buffer(void)
{
    Chardev *cd = chardev_new(&chardev_buffer_class, "buffer");
    chardev_buffer_class.open(cd, "", NULL);
    return cd;
}

void chardev_close(Chardev *cd)
{
    if (!cd) {
        return;
    }
    cd->can_read = NULL;
    cd->read = NULL;
    cd->event = NULL;
    if (cd->out_buf->len && !cd->out_dead && cd->out_fd >= 0) {
        chardev_flush(cd, CHARDEV_CLOSE_FLUSH_MS);
    }
    cd->cls->close(cd);
    chardev_detach_fds(cd);
    chardev_free(cd);
}

const char *chardev_spec(const Chardev *cd)
{
    return cd->spec;
}

bool chardev_connected(const Chardev *cd)
{
    return cd->cls->connected ? cd->cls->connected(cd) : true;
}

uint64_t chardev_dropped(const Chardev *cd)
{
    return cd->dropped;
}

/* --- frontend ------------------------------------------------------------ */

size_t chardev_frontend_room(Chardev *cd)
{
    return cd->can_read && cd->read ? cd->can_read(cd->opaque) : 0;
}

void chardev_deliver(Chardev *cd, const uint8_t *buf, size_t len)
{
    if (len && cd->read) {
        cd->read(cd->opaque, buf, len);
    }
}

void chardev_emit(Chardev *cd, ChardevEvent event)
{
    if (cd->event) {
        cd->event(cd->opaque, event);
    }
}

static void input_watch_start(Chardev *cd);
static void input_watch_stop(Chardev *cd);

void chardev_set_frontend(Chardev *cd, ChardevCanRead can_read,
                          ChardevRead read, void *opaque)
{
    cd->can_read = can_read;
    cd->read = read;
    cd->opaque = opaque;
    if (!read) {
        cd->event = NULL;
        input_watch_stop(cd);
    }
    chardev_accept_input(cd);
}

void chardev_set_event_handler(Chardev *cd, ChardevEventFn event)
{
    cd->event = event;
}

void chardev_accept_input(Chardev *cd)
{
    if (!cd) {
        return;
    }
    if (cd->cls->accept_input) {
        cd->cls->accept_input(cd);
    } else {
        input_watch_start(cd);
    }
}

/* --- descriptor input ---------------------------------------------------- */

static void chardev_hangup(Chardev *cd)
{
    if (cd->cls->hangup) {
        cd->cls->hangup(cd);
    } else {
        chardev_detach_fds(cd);
    }
}

static gboolean input_ready(gint fd, GIOCondition cond, gpointer data)
{
    Chardev *cd = data;
    uint8_t buf[4096];
    size_t room = chardev_frontend_room(cd);

    if (room == 0) {
        /* Full: wait for chardev_accept_input. */
        cd->in_src = NULL;
        return G_SOURCE_REMOVE;
    }
    ssize_t n = read(fd, buf, MIN(room, sizeof(buf)));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        if (n < 0) {
            vlog("chardev %s: read: %s", cd->spec, g_strerror(errno));
        }
        cd->in_src = NULL;
        cd->in_eof = true;
        chardev_hangup(cd);
        return G_SOURCE_REMOVE;
    }
    if (cd->cls->input) {
        cd->cls->input(cd, buf, n);
    } else {
        chardev_deliver(cd, buf, n);
    }
    return G_SOURCE_CONTINUE;
}

static void input_watch_start(Chardev *cd)
{
    if (cd->in_src || cd->in_fd < 0 || cd->in_eof || !cd->read) {
        return;
    }
    GSource *src = g_unix_fd_source_new(cd->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))input_ready, cd, NULL);
    g_source_attach(src, NULL);
    cd->in_src = src;
    g_source_unref(src);
}

static void input_watch_stop(Chardev *cd)
{
    if (cd->in_src) {
        g_source_destroy(cd->in_src);
        cd->in_src = NULL;
    }
}

/* --- descriptor output --------------------------------------------------- */

/* Write what the peer takes without blocking (or, for a descriptor that is
 * not ours, without blocking for long): bytes written, or -errno. */
static ssize_t output_try(Chardev *cd, const uint8_t *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        size_t chunk = len - done;
        ssize_t n;

        if (!cd->out_nonblock) {
            struct pollfd p = { .fd = cd->out_fd, .events = POLLOUT };
            int r = poll(&p, 1, 0);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                break;
            }
            chunk = MIN(chunk, CHARDEV_CHUNK);
        }
        if (cd->out_socket) {
            n = send(cd->out_fd, buf + done, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
        } else {
            n = write(cd->out_fd, buf + done, chunk);
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            return -errno;
        }
        if (n == 0) {
            break;
        }
        done += n;
    }
    return done;
}

static void output_failed(Chardev *cd, int err)
{
    vlog("chardev %s: write: %s; output dropped from now on", cd->spec,
         g_strerror(err));
    cd->dropped += cd->out_buf->len;
    g_byte_array_set_size(cd->out_buf, 0);
    cd->out_dead = true;
    if (cd->out_src) {
        g_source_destroy(cd->out_src);
        cd->out_src = NULL;
    }
    chardev_hangup(cd);
}

/* Write from the buffer; false if the output failed. */
static bool output_drain(Chardev *cd)
{
    ssize_t n = output_try(cd, cd->out_buf->data, cd->out_buf->len);
    if (n < 0) {
        output_failed(cd, (int)-n);
        return false;
    }
    g_byte_array_remove_range(cd->out_buf, 0, n);
    if (cd->out_buf->len == 0 && cd->out_stalled) {
        cd->out_stalled = false;
        vlog("chardev %s: peer is reading again", cd->spec);
    }
    return true;
}

static gboolean output_ready(gint fd, GIOCondition cond, gpointer data)
{
    Chardev *cd = data;

    if (!output_drain(cd)) {
        return G_SOURCE_REMOVE;     /* output_failed destroyed us */
    }
    if (cd->out_buf->len == 0) {
        cd->out_src = NULL;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void output_watch_start(Chardev *cd)
{
    if (cd->out_src || cd->out_fd < 0) {
        return;
    }
    GSource *src = g_unix_fd_source_new(cd->out_fd, G_IO_OUT | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))output_ready, cd, NULL);
    g_source_attach(src, NULL);
    cd->out_src = src;
    g_source_unref(src);
}

void chardev_flush(Chardev *cd, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

    while (cd->out_buf->len && cd->out_fd >= 0 && !cd->out_dead) {
        gint64 left = (end - g_get_monotonic_time()) / 1000;
        if (left <= 0) {
            break;
        }
        struct pollfd p = { .fd = cd->out_fd, .events = POLLOUT };
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno != EINTR) {
            break;
        }
        if (r > 0 && !output_drain(cd)) {
            break;
        }
    }
}

static void fd_write(Chardev *cd, const uint8_t *buf, size_t len)
{
    if (cd->out_fd < 0 || cd->out_dead) {
        cd->dropped += len;
        return;
    }
    if (cd->out_buf->len == 0) {
        ssize_t n = output_try(cd, buf, len);
        if (n < 0) {
            cd->dropped += len;
            output_failed(cd, (int)-n);
            return;
        }
        buf += n;
        len -= n;
        if (!len) {
            return;
        }
    }
    size_t room = cd->out_max - cd->out_buf->len;
    if (len > room && !cd->out_stalled) {
        chardev_flush(cd, CHARDEV_STALL_WAIT_MS);
        if (cd->out_fd < 0 || cd->out_dead) {
            cd->dropped += len;
            return;
        }
        room = cd->out_max - cd->out_buf->len;
    }
    size_t take = MIN(len, room);
    g_byte_array_append(cd->out_buf, buf, take);
    if (take < len) {
        cd->dropped += len - take;
        if (!cd->out_stalled) {
            cd->out_stalled = true;
            vlog("chardev %s: peer is not reading; output dropped until it does",
                 cd->spec);
        }
    }
    if (cd->out_buf->len) {
        output_watch_start(cd);
    }
}

void chardev_write(Chardev *cd, const uint8_t *buf, size_t len)
{
    if (!cd || !len) {
        return;
    }
    if (cd->cls->write) {
        cd->cls->write(cd, buf, len);
    } else {
        fd_write(cd, buf, len);
    }
}

/* --- attaching descriptors ----------------------------------------------- */

void chardev_attach_fds(Chardev *cd, int in_fd, int out_fd, bool nonblock,
                        bool socket)
{
    chardev_detach_fds(cd);
    cd->in_fd = in_fd;
    cd->out_fd = out_fd;
    cd->out_nonblock = nonblock;
    cd->out_socket = socket;
    cd->in_eof = false;
    cd->out_dead = false;
    cd->out_stalled = false;
    input_watch_start(cd);
}

void chardev_detach_fds(Chardev *cd)
{
    input_watch_stop(cd);
    if (cd->out_src) {
        g_source_destroy(cd->out_src);
        cd->out_src = NULL;
    }
    cd->dropped += cd->out_buf->len;
    g_byte_array_set_size(cd->out_buf, 0);
    cd->out_stalled = false;
    cd->in_fd = cd->out_fd = -1;
}
