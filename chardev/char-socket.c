/*
 * The UNIX socket backend: -serial unix:PATH[,server][,nowait].
 *
 * Client (the default): connects to PATH when opened; a refused connection
 * is an error naming the spec.  When the server goes away, output is
 * dropped and no input arrives.
 *
 * Server: binds PATH (replacing a stale socket there, never another kind
 * of file), listens and serves one client at a time: while a client is
 * connected the listening socket is not polled, so a second client waits
 * in the backlog until the first leaves.  Without nowait, opening blocks
 * until the first client connects, so the VM starts with its console
 * attached.  Output while no client is connected is dropped.
 *
 * Options are also accepted in QEMU's newer spelling: server=on|off,
 * wait=on|off.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <glib-unix.h>
#include "chardev-internal.h"
#include "log.h"

typedef struct SocketState {
    char *path;
    bool server;
    bool wait;
    int listen_fd;          /* server */
    GSource *listen_src;    /* borrowed; while waiting for a client */
    int conn_fd;            /* the connection, -1 when none */
} SocketState;

static void socket_error(GError **errp, Chardev *cd, int err)
{
    g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(err), "%s: %s",
                cd->spec, g_strerror(err));
}

static int socket_parse(Chardev *cd, SocketState *s, const char *arg,
                        GError **errp)
{
    gchar **parts = g_strsplit(arg, ",", -1);
    int ret = 0;

    s->path = g_strdup(parts[0] ? parts[0] : "");
    s->wait = true;
    for (int i = 1; parts[0] && parts[i] && ret == 0; i++) {
        const char *o = parts[i];
        if (!strcmp(o, "server") || !strcmp(o, "server=on")) {
            s->server = true;
        } else if (!strcmp(o, "server=off")) {
            s->server = false;
        } else if (!strcmp(o, "nowait") || !strcmp(o, "wait=off")) {
            s->wait = false;
        } else if (!strcmp(o, "wait") || !strcmp(o, "wait=on")) {
            s->wait = true;
        } else {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "%s: unknown option '%s' (server, nowait)", cd->spec, o);
            ret = -1;
        }
    }
    g_strfreev(parts);
    if (ret == 0 && !*s->path) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: no socket path given", cd->spec);
        ret = -1;
    }
    return ret;
}

static int socket_address(Chardev *cd, SocketState *s, struct sockaddr_un *sa,
                          GError **errp)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(s->path) >= sizeof(sa->sun_path)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                    "%s: socket path too long (at most %zu bytes)", cd->spec,
                    sizeof(sa->sun_path) - 1);
        return -1;
    }
    strcpy(sa->sun_path, s->path);
    return 0;
}

static bool socket_connected(const Chardev *cd)
{
    const SocketState *s = cd->be;
    return s->conn_fd >= 0;
}

static void socket_listen_watch(Chardev *cd);

static void socket_set_connection(Chardev *cd, int fd)
{
    SocketState *s = cd->be;

    s->conn_fd = fd;
    chardev_attach_fds(cd, fd, fd, true, true);
}

/* The peer left or the connection failed. */
static void socket_hangup(Chardev *cd)
{
    SocketState *s = cd->be;

    if (s->conn_fd < 0) {
        return;
    }
    chardev_detach_fds(cd);
    close(s->conn_fd);
    s->conn_fd = -1;
    vlog("chardev %s: disconnected", cd->spec);
    chardev_emit(cd, CHARDEV_EVENT_CLOSED);
    if (s->server) {
        socket_listen_watch(cd);
    }
}

static gboolean socket_accept_ready(gint fd, GIOCondition cond, gpointer data)
{
    Chardev *cd = data;
    SocketState *s = cd->be;

    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            vlog("chardev %s: accept: %s", cd->spec, g_strerror(errno));
        }
        return G_SOURCE_CONTINUE;
    }
    s->listen_src = NULL;
    socket_set_connection(cd, conn);
    vlog("chardev %s: client connected", cd->spec);
    chardev_emit(cd, CHARDEV_EVENT_OPENED);
    return G_SOURCE_REMOVE;     /* one client at a time */
}

static void socket_listen_watch(Chardev *cd)
{
    SocketState *s = cd->be;

    if (s->listen_src || s->listen_fd < 0) {
        return;
    }
    GSource *src = g_unix_fd_source_new(s->listen_fd, G_IO_IN);
    g_source_set_callback(src, (GSourceFunc)(void (*)(void))socket_accept_ready,
                          cd, NULL);
    g_source_attach(src, NULL);
    s->listen_src = src;
    g_source_unref(src);
}

static int socket_open_client(Chardev *cd, SocketState *s,
                              const struct sockaddr_un *sa, GError **errp)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        socket_error(errp, cd, errno);
        return -1;
    }
    int r;
    do {
        r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        socket_error(errp, cd, errno);
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    socket_set_connection(cd, fd);
    return 0;
}

static int socket_open_server(Chardev *cd, SocketState *s,
                              const struct sockaddr_un *sa, GError **errp)
{
    struct stat st;

    /* A socket left behind by an earlier run is replaced; anything else at
     * PATH makes bind fail, and we say so. */
    if (lstat(s->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(s->path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        socket_error(errp, cd, errno);
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
        listen(fd, 1) < 0) {
        socket_error(errp, cd, errno);
        close(fd);
        return -1;
    }
    s->listen_fd = fd;
    if (s->wait) {
        fprintf(stderr, "vmkemu: %s: waiting for a connection on %s\n",
                cd->spec, s->path);
        int conn;
        do {
            conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        } while (conn < 0 && (errno == EINTR || errno == ECONNABORTED));
        if (conn < 0) {
            socket_error(errp, cd, errno);
            return -1;      /* socket_close cleans up */
        }
        socket_set_connection(cd, conn);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (s->conn_fd < 0) {
        socket_listen_watch(cd);
    }
    return 0;
}

static void socket_close(Chardev *cd);

static int socket_open(Chardev *cd, const char *arg, GError **errp)
{
    SocketState *s = g_new0(SocketState, 1);
    struct sockaddr_un sa;
    int r;

    s->listen_fd = -1;
    s->conn_fd = -1;
    cd->be = s;
    if (socket_parse(cd, s, arg, errp) < 0 ||
        socket_address(cd, s, &sa, errp) < 0) {
        socket_close(cd);
        return -1;
    }
    r = s->server ? socket_open_server(cd, s, &sa, errp)
                  : socket_open_client(cd, s, &sa, errp);
    if (r < 0) {
        socket_close(cd);
    }
    return r;
}

static void socket_close(Chardev *cd)
{
    SocketState *s = cd->be;

    chardev_detach_fds(cd);
    if (s->listen_src) {
        g_source_destroy(s->listen_src);
    }
    if (s->conn_fd >= 0) {
        close(s->conn_fd);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        unlink(s->path);
    }
    g_free(s->path);
    g_free(s);
    cd->be = NULL;
}

const ChardevClass chardev_socket_class = {
    .name = "unix",
    .open = socket_open,
    .close = socket_close,
    .connected = socket_connected,
    .hangup = socket_hangup,
};
