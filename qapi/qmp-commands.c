/*
 * QMP command handlers (the schema in qmp-schema.c names them).  They run
 * in the main loop with the big lock held.
 */
#include <stdio.h>
#include <string.h>
#include "config.h"
#include "machine.h"
#include "qmp-commands.h"
#include "suspend.h"

static JsonNode *object_node(JsonObject *o)
{
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

static JsonNode *array_node(JsonArray *a)
{
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, a);
    return n;
}

static Machine *need_machine(GError **errp)
{
    Machine *m = current_machine();
    if (!m) {
        g_set_error(errp, qmp_error_quark(), QMP_ERROR_GENERIC, "No machine is running");
    }
    return m;
}

JsonNode *qmp_cmd_capabilities(JsonObject *args, GError **errp)
{
    if (json_object_has_member(args, "enable")) {
        JsonNode *en = json_object_get_member(args, "enable");
        if (JSON_NODE_TYPE(en) != JSON_NODE_ARRAY ||
            json_array_get_length(json_node_get_array(en)) > 0) {
            g_set_error(errp, qmp_error_quark(), QMP_ERROR_GENERIC,
                        "Parameter 'enable': vmkemu offers no optional capabilities");
        }
    }
    return NULL;
}

JsonNode *qmp_cmd_query_status(JsonObject *args, GError **errp)
{
    Machine *m = need_machine(errp);
    if (!m) {
        return NULL;
    }
    JsonObject *o = json_object_new();
    json_object_set_boolean_member(o, "running", m->state == RUN_STATE_RUNNING);
    json_object_set_boolean_member(o, "singlestep", FALSE);
    json_object_set_string_member(o, "status", machine_state_name(m));
    return object_node(o);
}

JsonNode *qmp_cmd_stop(JsonObject *args, GError **errp)
{
    Machine *m = need_machine(errp);
    if (m) {
        machine_pause(m);
    }
    return NULL;
}

JsonNode *qmp_cmd_cont(JsonObject *args, GError **errp)
{
    Machine *m = need_machine(errp);
    if (m && m->state == RUN_STATE_SHUTDOWN) {
        g_set_error(errp, qmp_error_quark(), QMP_ERROR_GENERIC,
                    "The machine has shut down and cannot continue");
    } else if (m) {
        machine_resume(m);
    }
    return NULL;
}

JsonNode *qmp_cmd_system_reset(JsonObject *args, GError **errp)
{
    Machine *m = need_machine(errp);
    if (m) {
        machine_request_reset(m, SHUTDOWN_HOST_RESET);
    }
    return NULL;
}

JsonNode *qmp_cmd_system_powerdown(JsonObject *args, GError **errp)
{
    Machine *m = need_machine(errp);
    if (m) {
        machine_request_powerdown(m);
    }
    return NULL;
}

JsonNode *qmp_cmd_quit(JsonObject *args, GError **errp)
{
    Machine *m = need_machine(errp);
    if (m) {
        machine_request_shutdown(m, SHUTDOWN_HOST_QUIT, 0);
    }
    return NULL;
}

JsonObject *qmp_version_object(void)
{
    int major = 0, minor = 0, micro = 0;
    sscanf(PACKAGE_VERSION, "%d.%d.%d", &major, &minor, &micro);
    JsonObject *v = json_object_new();
    json_object_set_int_member(v, "major", major);
    json_object_set_int_member(v, "minor", minor);
    json_object_set_int_member(v, "micro", micro);
    JsonObject *o = json_object_new();
    json_object_set_object_member(o, "qemu", v);
    json_object_set_string_member(o, "package", "vmkemu " PACKAGE_VERSION);
    return o;
}

JsonNode *qmp_cmd_query_version(JsonObject *args, GError **errp)
{
    return object_node(qmp_version_object());
}

JsonNode *qmp_cmd_query_commands(JsonObject *args, GError **errp)
{
    JsonArray *a = json_array_new();
    for (const QmpCommand *c = qmp_commands; c->name; c++) {
        JsonObject *o = json_object_new();
        json_object_set_string_member(o, "name", c->name);
        json_array_add_object_element(a, o);
    }
    return array_node(a);
}

JsonNode *qmp_cmd_query_block(JsonObject *args, GError **errp)
{
    /* No disk controller is modelled yet: the machine has no block devices. */
    return array_node(json_array_new());
}

JsonNode *qmp_cmd_query_cpus_fast(JsonObject *args, GError **errp)
{
    Machine *m = need_machine(errp);
    if (!m) {
        return NULL;
    }
    JsonArray *a = json_array_new();
    for (int i = 0; i < m->ncpus; i++) {
        JsonObject *o = json_object_new();
        json_object_set_int_member(o, "cpu-index", i);
        gchar *path = g_strdup_printf("/machine/cpu[%d]", i);
        json_object_set_string_member(o, "qom-path", path);
        g_free(path);
        json_object_set_string_member(o, "target", "x86_64");
        JsonObject *props = json_object_new();
        json_object_set_int_member(props, "core-id", i);
        json_object_set_int_member(props, "socket-id", 0);
        json_object_set_int_member(props, "thread-id", 0);
        json_object_set_object_member(o, "props", props);
        json_array_add_object_element(a, o);
    }
    return array_node(a);
}

JsonNode *qmp_cmd_vmkemu_suspend(JsonObject *args, GError **errp)
{
    Machine *m = need_machine(errp);
    GError *err = NULL;
    char *file = NULL;
    if (!m) {
        return NULL;
    }
    if (machine_suspend(m, &file, &err) < 0) {
        g_set_error(errp, qmp_error_quark(), QMP_ERROR_GENERIC, "%s", err->message);
        g_error_free(err);
        return NULL;
    }
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "file", file);
    g_free(file);
    return object_node(o);
}

JsonNode *qmp_cmd_query_name(JsonObject *args, GError **errp)
{
    JsonObject *o = json_object_new();
    Machine *m = current_machine();
    if (m && m->cfg->name) {
        json_object_set_string_member(o, "name", m->cfg->name);
    }
    return object_node(o);
}
