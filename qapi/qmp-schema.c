/*
 * The QMP schema: every command the monitor accepts, its arguments with
 * their types, and its handler.  Dispatch checks requests against this
 * table and query-commands lists it; docs/qmp.md describes each command.
 */
#include "qmp-commands.h"

static const QmpArg no_args[] = { { NULL } };

const QmpCommand qmp_commands[] = {
    { "qmp_capabilities", (const QmpArg[]){ { "enable", QMP_ANY, true }, { NULL } },
      qmp_cmd_capabilities, true },
    { "query-status", no_args, qmp_cmd_query_status },
    { "stop", no_args, qmp_cmd_stop },
    { "cont", no_args, qmp_cmd_cont },
    { "system_reset", no_args, qmp_cmd_system_reset },
    { "system_powerdown", no_args, qmp_cmd_system_powerdown },
    { "quit", no_args, qmp_cmd_quit },
    { "query-version", no_args, qmp_cmd_query_version },
    { "query-commands", no_args, qmp_cmd_query_commands },
    { "query-block", no_args, qmp_cmd_query_block },
    { "query-cpus-fast", no_args, qmp_cmd_query_cpus_fast },
    { "query-name", no_args, qmp_cmd_query_name },
    { "send-key", (const QmpArg[]){ { "keys", QMP_ANY }, { "hold-time", QMP_INT, true },
                                    { NULL } },
      qmp_cmd_send_key },
    { "vmkemu-suspend", no_args, qmp_cmd_vmkemu_suspend },
    { "vmkemu-redo-action", (const QmpArg[]){ { "device", QMP_STR }, { "action", QMP_STR },
                                              { NULL } },
      qmp_cmd_vmkemu_redo_action },
    { NULL }
};
