/*
 * QMP command handlers (the schema in qmp-schema.c names them).  They run
 * in the main loop with the big lock held.
 */
#include <stdio.h>
#include <string.h>
#include "config.h"
#include "machine.h"
#include "hw/i8042.h"
#include "hw/pc.h"
#include "keycodes.h"
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

/* QEMU's BlockInfo, with the disk mode and REDO log of vmkemu's drives
 * (include/drive.h) in "inserted" and the slot at the top level. */
JsonNode *qmp_cmd_query_block(JsonObject *args, GError **errp)
{
    Machine *m = current_machine();
    JsonArray *a = json_array_new();
    for (int i = 0; m && i < machine_drive_count(m); i++) {
        Drive *d = machine_drive_get(m, i);
        JsonObject *o = json_object_new();
        json_object_set_string_member(o, "device", d->id);
        json_object_set_boolean_member(o, "locked", FALSE);
        json_object_set_boolean_member(o, "removable", d->media == DRIVE_MEDIA_CDROM);
        json_object_set_string_member(o, "type", "unknown");
        json_object_set_string_member(o, "interface", drive_interface_name(d->iface));
        json_object_set_int_member(o, "bus", d->bus);
        json_object_set_int_member(o, "unit", d->unit);
        json_object_set_string_member(o, "media",
                                      d->media == DRIVE_MEDIA_CDROM ? "cdrom" : "disk");
        if (d->media == DRIVE_MEDIA_CDROM) {
            json_object_set_boolean_member(o, "tray_open", FALSE);
        }
        if (d->blk) {
            JsonObject *in = json_object_new();
            json_object_set_string_member(in, "file", d->file);
            json_object_set_string_member(in, "drv", d->format);
            json_object_set_boolean_member(in, "ro", d->read_only);
            json_object_set_boolean_member(in, "encrypted", FALSE);
            json_object_set_int_member(in, "size", (gint64)d->size);
            json_object_set_string_member(in, "mode", blk_disk_mode_name(d->mode));
            if (d->redo) {
                json_object_set_string_member(in, "redo", d->redo);
            }
            if (d->mode == BLK_MODE_UNDOABLE) {
                json_object_set_string_member(in, "on-poweroff",
                                              drive_poweroff_name(d->poweroff));
            }
            json_object_set_object_member(o, "inserted", in);
        }
        json_array_add_object_element(a, o);
    }
    return array_node(a);
}

JsonNode *qmp_cmd_vmkemu_redo_action(JsonObject *args, GError **errp)
{
    Machine *m = need_machine(errp);
    if (!m) {
        return NULL;
    }
    const char *dev = json_object_get_string_member(args, "device");
    const char *act = json_object_get_string_member(args, "action");
    Drive *d = machine_drive_by_id(m, dev);
    DrivePoweroff p;
    GError *err = NULL;
    if (!d) {
        g_set_error(errp, qmp_error_quark(), QMP_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", dev);
    } else if (drive_poweroff_parse(act, &p) < 0) {
        g_set_error(errp, qmp_error_quark(), QMP_ERROR_GENERIC,
                    "Parameter 'action': '%s' is not commit, discard, keep or ask", act);
    } else if (!d->blk) {
        g_set_error(errp, qmp_error_quark(), QMP_ERROR_GENERIC,
                    "Drive '%s' has been closed", dev);
    } else if (machine_drive_set_poweroff(d, p, &err) < 0) {
        g_set_error(errp, qmp_error_quark(), QMP_ERROR_GENERIC, "%s", err->message);
        g_error_free(err);
    }
    return NULL;
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

/* Keys pressed by send-key, released after the hold time. */
typedef struct HeldKeys {
    uint16_t codes[16];
    int n;
} HeldKeys;

static gboolean release_keys(gpointer data)
{
    HeldKeys *h = data;
    Machine *m = current_machine();
    if (m && m->pc && m->pc->i8042) {
        for (int i = h->n - 1; i >= 0; i--) {
            i8042_key_event(m->pc->i8042, h->codes[i], false);
        }
    }
    g_free(h);
    return G_SOURCE_REMOVE;
}

JsonNode *qmp_cmd_send_key(JsonObject *args, GError **errp)
{
    Machine *m = need_machine(errp);
    if (!m) {
        return NULL;
    }
    if (!m->pc || !m->pc->i8042) {
        g_set_error(errp, qmp_error_quark(), QMP_ERROR_DEVICE_NOT_FOUND,
                    "The machine has no keyboard");
        return NULL;
    }
    JsonNode *keys = json_object_get_member(args, "keys");
    if (JSON_NODE_TYPE(keys) != JSON_NODE_ARRAY) {
        g_set_error(errp, qmp_error_quark(), QMP_ERROR_GENERIC,
                    "Parameter 'keys' expects an array");
        return NULL;
    }
    JsonArray *a = json_node_get_array(keys);
    guint n = json_array_get_length(a);
    if (n == 0 || n > 16) {
        g_set_error(errp, qmp_error_quark(), QMP_ERROR_GENERIC,
                    "Parameter 'keys' must hold 1 to 16 keys");
        return NULL;
    }
    HeldKeys *h = g_new0(HeldKeys, 1);
    for (guint i = 0; i < n; i++) {
        JsonNode *k = json_array_get_element(a, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(k) ? json_node_get_object(k) : NULL;
        const char *type = o ? json_object_get_string_member_with_default(o, "type", "") : "";
        JsonNode *d = o ? json_object_get_member(o, "data") : NULL;
        const char *name = d && JSON_NODE_HOLDS_VALUE(d) &&
                           json_node_get_value_type(d) == G_TYPE_STRING ?
                           json_node_get_string(d) : NULL;
        uint16_t code = name ? keycode_qcode_to_set2(name) : 0;
        if (strcmp(type, "qcode") || !code) {
            g_set_error(errp, qmp_error_quark(), QMP_ERROR_GENERIC,
                        "Parameter 'keys': element %u is not a known "
                        "{\"type\": \"qcode\", \"data\": KEY}", i);
            g_free(h);
            return NULL;
        }
        h->codes[h->n++] = code;
    }
    for (int i = 0; i < h->n; i++) {
        i8042_key_event(m->pc->i8042, h->codes[i], true);
    }
    int64_t hold = json_object_get_int_member_with_default(args, "hold-time", 100);
    g_timeout_add(CLAMP(hold, 0, 10000), release_keys, h);
    return NULL;
}
