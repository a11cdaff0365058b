/*
 * A small blocking QMP client (see qmp-client.h).  The server writes one
 * JSON object per line; events arriving before a response are skipped.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "qmp-client.h"

struct QmpClient {
    int fd;
    GString *in;
};

static JsonObject *read_object(QmpClient *c, GError **errp)
{
    for (;;) {
        char *nl = memchr(c->in->str, '\n', c->in->len);
        if (nl) {
            size_t len = nl - c->in->str;
            JsonParser *p = json_parser_new();
            JsonObject *o = NULL;
            if (json_parser_load_from_data(p, c->in->str, len, NULL) &&
                JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
                o = json_object_ref(json_node_get_object(json_parser_get_root(p)));
            }
            g_object_unref(p);
            g_string_erase(c->in, 0, len + 1);
            if (!o) {
                g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                            "the monitor sent something that is not a JSON object");
            }
            return o;
        }
        char buf[4096];
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                        "the monitor closed the connection");
            return NULL;
        }
        g_string_append_len(c->in, buf, n);
    }
}

QmpClient *qmp_client_connect(const char *socket_path, GError **errp)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(socket_path) >= sizeof(sa.sun_path)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: socket path too long", socket_path);
        return NULL;
    }
    strcpy(sa.sun_path, socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(e), "%s: %s",
                    socket_path, g_strerror(e));
        if (fd >= 0) {
            close(fd);
        }
        return NULL;
    }
    QmpClient *c = g_new0(QmpClient, 1);
    c->fd = fd;
    c->in = g_string_new(NULL);
    JsonObject *greeting = read_object(c, errp);
    if (!greeting || !json_object_has_member(greeting, "QMP")) {
        if (greeting) {
            json_object_unref(greeting);
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "%s: no QMP greeting", socket_path);
        }
        qmp_client_close(c);
        return NULL;
    }
    json_object_unref(greeting);
    JsonNode *r = qmp_client_execute(c, "qmp_capabilities", NULL, errp);
    if (!r) {
        qmp_client_close(c);
        return NULL;
    }
    json_node_unref(r);
    return c;
}

void qmp_client_close(QmpClient *c)
{
    if (c) {
        close(c->fd);
        g_string_free(c->in, TRUE);
        g_free(c);
    }
}

JsonNode *qmp_client_execute(QmpClient *c, const char *command, const char *args,
                             GError **errp)
{
    gchar *req = args ?
        g_strdup_printf("{\"execute\": \"%s\", \"arguments\": %s, \"id\": \"vmware-control\"}\n",
                        command, args) :
        g_strdup_printf("{\"execute\": \"%s\", \"id\": \"vmware-control\"}\n", command);
    size_t len = strlen(req), done = 0;
    while (done < len) {
        ssize_t n = send(c->fd, req + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
                        "cannot send to the monitor: %s", g_strerror(errno));
            g_free(req);
            return NULL;
        }
        done += n;
    }
    g_free(req);
    for (;;) {
        JsonObject *o = read_object(c, errp);
        if (!o) {
            return NULL;
        }
        if (json_object_has_member(o, "event")) {
            json_object_unref(o);
            continue;
        }
        JsonNode *ret = NULL;
        if (json_object_has_member(o, "return")) {
            ret = json_node_copy(json_object_get_member(o, "return"));
        } else {
            JsonObject *err = json_object_get_object_member(o, "error");
            const char *cls = err ? json_object_get_string_member_with_default(err, "class", "?") : "?";
            const char *desc = err ? json_object_get_string_member_with_default(err, "desc", "") : "";
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", cls, desc);
        }
        json_object_unref(o);
        return ret;
    }
}
