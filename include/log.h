/*
 * Logging.  vlog() writes to the log file (-D FILE, or a cfg's vmware.log)
 * when one is open; verror()/vwarn() also go to stderr, prefixed "vmkemu: ".
 * Messages are single lines; a trailing newline is added.
 */
#ifndef VMKEMU_LOG_H
#define VMKEMU_LOG_H

#include <stdbool.h>

int log_open(const char *path);     /* -errno */
void log_close(void);
bool log_enabled(void);

void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vwarn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void verror(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
