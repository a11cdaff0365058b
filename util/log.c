/*
 * Logging (see include/log.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "log.h"
#include "timer.h"

static FILE *log_file;
static GMutex log_lock;

int log_open(const char *path)
{
    FILE *f = fopen(path, "a");
    if (!f) {
        return -errno;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    log_close();
    log_file = f;
    return 0;
}

void log_close(void)
{
    if (log_file) {
        fclose(log_file);
        log_file = NULL;
    }
}

bool log_enabled(void)
{
    return log_file != NULL;
}

static void log_line(const char *tag, const char *fmt, va_list ap)
{
    if (!log_file) {
        return;
    }
    g_mutex_lock(&log_lock);
    fprintf(log_file, "%10.6f %s", vclock_ns() / 1e9, tag);
    vfprintf(log_file, fmt, ap);
    fputc('\n', log_file);
    g_mutex_unlock(&log_lock);
}

void vlog(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line("", fmt, ap);
    va_end(ap);
}

static void to_stderr(const char *tag, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    fprintf(stderr, "vmkemu: %s", tag);
    vfprintf(stderr, fmt, copy);
    fputc('\n', stderr);
    va_end(copy);
    log_line(tag, fmt, ap);
}

void vwarn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    to_stderr("warning: ", fmt, ap);
    va_end(ap);
}

void verror(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    to_stderr("", fmt, ap);
    va_end(ap);
}
