/*
 * A small blocking QMP client for vmware-control.
 */
#ifndef VMKEMU_TOOLS_QMP_CLIENT_H
#define VMKEMU_TOOLS_QMP_CLIENT_H

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct QmpClient QmpClient;

/* Connect, read the greeting, negotiate capabilities. */
QmpClient *qmp_client_connect(const char *socket_path, GError **errp);
void qmp_client_close(QmpClient *c);
/* Run a command with `args` (a JSON object's text, or NULL); returns the
 * "return" member (a new reference), or NULL with *errp holding the
 * error's class and description. */
JsonNode *qmp_client_execute(QmpClient *c, const char *command, const char *args,
                             GError **errp);

#endif
