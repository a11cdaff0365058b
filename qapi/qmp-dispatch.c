/*
 * QMP request dispatch: the request's shape, capability negotiation, the
 * command's arguments checked against the schema, the handler, and the
 * response with the request's "id" (docs/qmp.md; QMP error classes as QEMU
 * names them).
 */
#include <string.h>
#include "monitor.h"

G_DEFINE_QUARK(vmkemu-qmp-error, qmp_error)

const char *qmp_error_class_name(QmpErrorClass c)
{
    switch (c) {
    case QMP_ERROR_COMMAND_NOT_FOUND: return "CommandNotFound";
    case QMP_ERROR_DEVICE_NOT_ACTIVE: return "DeviceNotActive";
    case QMP_ERROR_DEVICE_NOT_FOUND: return "DeviceNotFound";
    case QMP_ERROR_KVM_MISSING_CAP: return "KVMMissingCap";
    default: return "GenericError";
    }
}

const QmpCommand *qmp_find_command(const char *name)
{
    for (const QmpCommand *c = qmp_commands; c->name; c++) {
        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

static JsonObject *error_response(QmpErrorClass cls, const char *desc)
{
    JsonObject *err = json_object_new();
    json_object_set_string_member(err, "class", qmp_error_class_name(cls));
    json_object_set_string_member(err, "desc", desc);
    JsonObject *resp = json_object_new();
    json_object_set_object_member(resp, "error", err);
    return resp;
}

static const char *type_name(QmpType t)
{
    switch (t) {
    case QMP_STR: return "a string";
    case QMP_INT: return "an integer";
    case QMP_BOOL: return "a boolean";
    case QMP_NUMBER: return "a number";
    default: return "a value";
    }
}

static bool type_ok(QmpType t, JsonNode *n)
{
    if (t == QMP_ANY) {
        return true;
    }
    if (JSON_NODE_TYPE(n) != JSON_NODE_VALUE) {
        return false;
    }
    GType vt = json_node_get_value_type(n);
    switch (t) {
    case QMP_STR: return vt == G_TYPE_STRING;
    case QMP_INT: return vt == G_TYPE_INT64;
    case QMP_BOOL: return vt == G_TYPE_BOOLEAN;
    case QMP_NUMBER: return vt == G_TYPE_INT64 || vt == G_TYPE_DOUBLE;
    default: return false;
    }
}

/* Check `args` against the command's schema; NULL when they fit. */
static char *check_args(const QmpCommand *cmd, JsonObject *args)
{
    static const QmpArg none[] = { { NULL } };
    const QmpArg *spec = cmd->args ? cmd->args : none;
    GList *members = json_object_get_members(args);
    char *why = NULL;

    for (GList *m = members; m && !why; m = m->next) {
        const QmpArg *a = spec;
        while (a->name && strcmp(a->name, m->data)) {
            a++;
        }
        if (!a->name) {
            why = g_strdup_printf("Parameter '%s' is unexpected", (char *)m->data);
        } else if (!type_ok(a->type, json_object_get_member(args, a->name))) {
            why = g_strdup_printf("Parameter '%s' expects %s", a->name, type_name(a->type));
        }
    }
    g_list_free(members);
    for (const QmpArg *a = spec; a->name && !why; a++) {
        if (!a->optional && !json_object_has_member(args, a->name)) {
            why = g_strdup_printf("Parameter '%s' is missing", a->name);
        }
    }
    return why;
}

JsonObject *qmp_dispatch(JsonObject *request, bool negotiated, bool *negotiates)
{
    JsonObject *resp;
    JsonNode *id = json_object_get_member(request, "id");
    JsonNode *exec = json_object_get_member(request, "execute");
    JsonNode *argn = json_object_get_member(request, "arguments");
    GList *members = json_object_get_members(request);
    const char *stray = NULL;

    *negotiates = false;
    for (GList *m = members; m; m = m->next) {
        if (strcmp(m->data, "execute") && strcmp(m->data, "arguments") &&
            strcmp(m->data, "id")) {
            stray = m->data;
        }
    }
    if (!exec || JSON_NODE_TYPE(exec) != JSON_NODE_VALUE ||
        json_node_get_value_type(exec) != G_TYPE_STRING) {
        resp = error_response(QMP_ERROR_GENERIC,
                              "QMP input member 'execute' is missing or not a string");
    } else if (stray) {
        gchar *d = g_strdup_printf("QMP input member '%s' is unexpected", stray);
        resp = error_response(QMP_ERROR_GENERIC, d);
        g_free(d);
    } else if (argn && JSON_NODE_TYPE(argn) != JSON_NODE_OBJECT) {
        resp = error_response(QMP_ERROR_GENERIC, "QMP input member 'arguments' must be an object");
    } else {
        const char *name = json_node_get_string(exec);
        const QmpCommand *cmd = qmp_find_command(name);
        JsonObject *args = argn ? json_object_ref(json_node_get_object(argn))
                                : json_object_new();
        char *why = NULL;
        if (!cmd) {
            gchar *d = g_strdup_printf("The command %s has not been found", name);
            resp = error_response(QMP_ERROR_COMMAND_NOT_FOUND, d);
            g_free(d);
        } else if (!negotiated && !cmd->allowed_before_negotiation) {
            resp = error_response(QMP_ERROR_COMMAND_NOT_FOUND,
                                  "Expecting capabilities negotiation with 'qmp_capabilities'");
        } else if (negotiated && !strcmp(name, "qmp_capabilities")) {
            resp = error_response(QMP_ERROR_COMMAND_NOT_FOUND,
                                  "Capabilities negotiation is already complete, command ignored");
        } else if ((why = check_args(cmd, args))) {
            resp = error_response(QMP_ERROR_GENERIC, why);
            g_free(why);
        } else {
            GError *err = NULL;
            JsonNode *ret = cmd->handler(args, &err);
            if (err) {
                resp = error_response(err->domain == qmp_error_quark() ? err->code
                                                                       : QMP_ERROR_GENERIC,
                                      err->message);
                g_error_free(err);
                if (ret) {
                    json_node_unref(ret);
                }
            } else {
                resp = json_object_new();
                if (!ret) {
                    ret = json_node_new(JSON_NODE_OBJECT);
                    json_node_take_object(ret, json_object_new());
                }
                json_object_set_member(resp, "return", ret);
                *negotiates = !strcmp(name, "qmp_capabilities");
            }
        }
        json_object_unref(args);
    }
    g_list_free(members);
    if (id) {
        json_object_set_member(resp, "id", json_node_copy(id));
    }
    return resp;
}
