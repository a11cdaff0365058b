/*
 * The monitor: a QMP-compatible JSON protocol on UNIX sockets, the one
 * control API of a running VM (docs/qmp.md).  Commands are described once in
 * the schema (qapi/qmp-schema.c); arguments are checked against it before a
 * handler runs, and query-commands lists it.
 */
#ifndef VMKEMU_MONITOR_H
#define VMKEMU_MONITOR_H

#include <stdbool.h>
#include <glib.h>
#include <json-glib/json-glib.h>

/* -qmp unix:PATH[,server][,nowait] (vmkemu always serves; "server" is
 * accepted for QEMU compatibility). */
int monitor_listen(const char *spec, GError **errp);
/* Stop listening, close every client and remove the socket files. */
void monitor_close_all(void);

/* Clients connected and past negotiation (who would see an event). */
int monitor_client_count(void);

/* Send an asynchronous event to every client past negotiation; takes
 * ownership of `data` (may be NULL). */
void monitor_event(const char *name, JsonObject *data);

/* --- the schema -------------------------------------------------------- */

typedef enum QmpType { QMP_STR, QMP_INT, QMP_BOOL, QMP_NUMBER, QMP_ANY } QmpType;

typedef struct QmpArg {
    const char *name;
    QmpType type;
    bool optional;
} QmpArg;

typedef enum QmpErrorClass {
    QMP_ERROR_GENERIC,            /* GenericError */
    QMP_ERROR_COMMAND_NOT_FOUND,  /* CommandNotFound */
    QMP_ERROR_DEVICE_NOT_ACTIVE,  /* DeviceNotActive */
    QMP_ERROR_DEVICE_NOT_FOUND,   /* DeviceNotFound */
    QMP_ERROR_KVM_MISSING_CAP,    /* KVMMissingCap */
} QmpErrorClass;

/* A handler returns the "return" value (NULL means {}), or sets *errp
 * (domain: qmp_error_quark(), code: QmpErrorClass). */
typedef JsonNode *(*QmpHandler)(JsonObject *args, GError **errp);

typedef struct QmpCommand {
    const char *name;
    const QmpArg *args;         /* terminated by a NULL name */
    QmpHandler handler;
    bool allowed_before_negotiation;
} QmpCommand;

GQuark qmp_error_quark(void);
const char *qmp_error_class_name(QmpErrorClass c);
/* The schema: every command, terminated by a NULL name. */
extern const QmpCommand qmp_commands[];
const QmpCommand *qmp_find_command(const char *name);

/* Dispatch one request object; returns the response object to send (with
 * "id" copied), or NULL for nothing. */
JsonObject *qmp_dispatch(JsonObject *request, bool negotiated,
                         bool *negotiates);

#endif
