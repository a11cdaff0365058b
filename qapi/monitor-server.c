/*
 * The monitor's socket side: listening UNIX sockets, one connection state
 * per client (greeting, negotiation, a JSON stream), responses and events
 * written as one line of JSON each.  Runs in the main loop.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <glib-unix.h>
#include "config.h"
#include "json-stream.h"
#include "log.h"
#include "monitor.h"
#include "qmp-commands.h"

#define QMP_MAX_REQUEST (1 << 20)       /* bytes of one JSON text */
#define QMP_MAX_OUTPUT  (4 << 20)       /* unsent bytes before we drop a client */

typedef struct Client {
    int fd;
    guint watch;
    bool negotiated;
    JsonStream stream;
    GString *out;
    guint out_watch;
} Client;

typedef struct Listener {
    int fd;
    guint watch;
    char *path;
} Listener;

static GList *listeners;
static GList *clients;

static void client_close(Client *c)
{
    clients = g_list_remove(clients, c);
    if (c->watch) {
        g_source_remove(c->watch);
    }
    if (c->out_watch) {
        g_source_remove(c->out_watch);
    }
    close(c->fd);
    json_stream_clear(&c->stream);
    g_string_free(c->out, TRUE);
    g_free(c);
}

static gboolean client_flush(gint fd, GIOCondition cond, gpointer data);

/* Write what we can now; keep the rest for when the socket is writable. */
static bool client_send_pending(Client *c)
{
    while (c->out->len) {
        ssize_t n = send(c->fd, c->out->str, c->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->out->len > QMP_MAX_OUTPUT) {
                return false;       /* a client that never reads */
            }
            if (!c->out_watch) {
                c->out_watch = g_unix_fd_add(c->fd, G_IO_OUT, client_flush, c);
            }
            return true;
        }
        if (n <= 0) {
            return false;
        }
        g_string_erase(c->out, 0, n);
    }
    return true;
}

static gboolean client_flush(gint fd, GIOCondition cond, gpointer data)
{
    Client *c = data;
    c->out_watch = 0;
    if (!client_send_pending(c)) {
        client_close(c);
    }
    return G_SOURCE_REMOVE;
}

static void client_send(Client *c, JsonObject *obj)
{
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(n, obj);
    gchar *text = json_to_string(n, FALSE);
    json_node_unref(n);
    g_string_append(c->out, text);
    g_string_append_c(c->out, '\n');
    g_free(text);
}

static void send_error(Client *c, const char *desc)
{
    JsonObject *err = json_object_new();
    json_object_set_string_member(err, "class", "GenericError");
    json_object_set_string_member(err, "desc", desc);
    JsonObject *resp = json_object_new();
    json_object_set_object_member(resp, "error", err);
    client_send(c, resp);
    json_object_unref(resp);
}

static void on_text(void *opaque, const char *text, size_t len, bool too_long)
{
    Client *c = opaque;
    if (too_long) {
        send_error(c, "JSON parse error, request too large");
        return;
    }
    JsonParser *p = json_parser_new_immutable();
    GError *err = NULL;
    if (!json_parser_load_from_data(p, text, len, &err)) {
        gchar *d = g_strdup_printf("JSON parse error, %s", err->message);
        send_error(c, d);
        g_free(d);
        g_error_free(err);
    } else {
        JsonNode *root = json_parser_get_root(p);
        if (!root || JSON_NODE_TYPE(root) != JSON_NODE_OBJECT) {
            send_error(c, "QMP input must be a JSON object");
        } else {
            bool negotiates;
            JsonObject *resp = qmp_dispatch(json_node_get_object(root), c->negotiated,
                                            &negotiates);
            c->negotiated |= negotiates;
            if (resp) {
                client_send(c, resp);
                json_object_unref(resp);
            }
        }
    }
    g_object_unref(p);
}

static gboolean client_readable(gint fd, GIOCondition cond, gpointer data)
{
    Client *c = data;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        c->watch = 0;
        client_close(c);
        return G_SOURCE_REMOVE;
    }
    json_stream_feed(&c->stream, buf, n, on_text, c);
    if (!client_send_pending(c)) {
        c->watch = 0;
        client_close(c);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void send_greeting(Client *c)
{
    JsonObject *qmp = json_object_new();
    json_object_set_object_member(qmp, "version", qmp_version_object());
    json_object_set_array_member(qmp, "capabilities", json_array_new());
    JsonObject *greeting = json_object_new();
    json_object_set_object_member(greeting, "QMP", qmp);
    client_send(c, greeting);
    json_object_unref(greeting);
}

static gboolean accept_client(gint fd, GIOCondition cond, gpointer data)
{
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0) {
        return G_SOURCE_CONTINUE;
    }
    Client *c = g_new0(Client, 1);
    c->fd = cfd;
    c->out = g_string_new(NULL);
    json_stream_init(&c->stream, QMP_MAX_REQUEST);
    clients = g_list_append(clients, c);
    c->watch = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, client_readable, c);
    send_greeting(c);
    if (!client_send_pending(c)) {
        client_close(c);
    }
    return G_SOURCE_CONTINUE;
}

int monitor_listen(const char *spec, GError **errp)
{
    if (!g_str_has_prefix(spec, "unix:") || !spec[5]) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-qmp: %s: expected unix:PATH[,server][,nowait]", spec);
        return -EINVAL;
    }
    gchar **parts = g_strsplit(spec + 5, ",", -1);
    const char *path = parts[0];
    for (gchar **p = parts + 1; *p; p++) {
        if (strcmp(*p, "server") && strcmp(*p, "nowait") && strcmp(*p, "server=on") &&
            strcmp(*p, "wait=off")) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "-qmp: %s: unknown flag '%s' (server, nowait)", spec, *p);
            g_strfreev(parts);
            return -EINVAL;
        }
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NAMETOOLONG,
                    "-qmp: %s: socket path too long", path);
        g_strfreev(parts);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    unlink(path);       /* a stale socket from a crashed run */
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
        int e = errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                    "-qmp: %s: %s", path, g_strerror(e));
        if (fd >= 0) {
            close(fd);
        }
        g_strfreev(parts);
        return -e;
    }
    Listener *l = g_new0(Listener, 1);
    l->fd = fd;
    l->path = g_strdup(path);
    l->watch = g_unix_fd_add(fd, G_IO_IN, accept_client, l);
    listeners = g_list_append(listeners, l);
    vlog("monitor listening on %s", path);
    g_strfreev(parts);
    return 0;
}

void monitor_close_all(void)
{
    while (clients) {
        Client *c = clients->data;
        client_send_pending(c);
        client_close(c);
    }
    for (GList *i = listeners; i; i = i->next) {
        Listener *l = i->data;
        g_source_remove(l->watch);
        close(l->fd);
        unlink(l->path);
        g_free(l->path);
        g_free(l);
    }
    g_list_free(listeners);
    listeners = NULL;
}

int monitor_client_count(void)
{
    int n = 0;
    for (GList *i = clients; i; i = i->next) {
        Client *c = i->data;
        n += c->negotiated;
    }
    return n;
}

void monitor_event(const char *name, JsonObject *data)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    JsonObject *stamp = json_object_new();
    json_object_set_int_member(stamp, "seconds", ts.tv_sec);
    json_object_set_int_member(stamp, "microseconds", ts.tv_nsec / 1000);
    JsonObject *ev = json_object_new();
    json_object_set_string_member(ev, "event", name);
    if (data) {
        json_object_set_object_member(ev, "data", data);
    }
    json_object_set_object_member(ev, "timestamp", stamp);
    vlog("event %s", name);
    for (GList *i = clients; i;) {
        Client *c = i->data;
        i = i->next;
        if (c->negotiated) {
            client_send(c, ev);
            if (!c->out_watch) {
                c->out_watch = g_unix_fd_add(c->fd, G_IO_OUT, client_flush, c);
            }
        }
    }
    json_object_unref(ev);
}
