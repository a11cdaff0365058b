/*
 * Handlers of the QMP commands; the schema (qmp-schema.c) names them.
 */
#ifndef VMKEMU_QAPI_QMP_COMMANDS_H
#define VMKEMU_QAPI_QMP_COMMANDS_H

#include "monitor.h"

/* {"qemu": {"major", "minor", "micro"}, "package"}: query-version and the
 * greeting. */
JsonObject *qmp_version_object(void);

JsonNode *qmp_cmd_capabilities(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_query_status(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_stop(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_cont(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_system_reset(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_system_powerdown(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_quit(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_query_version(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_query_commands(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_query_block(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_query_cpus_fast(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_query_name(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_send_key(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_vmkemu_suspend(JsonObject *args, GError **errp);
JsonNode *qmp_cmd_vmkemu_redo_action(JsonObject *args, GError **errp);

#endif
