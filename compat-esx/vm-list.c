/*
 * The vm-list registry (see include/esx-vmlist.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "atomic-file.h"
#include "esx-runtime.h"
#include "esx-vmlist.h"

const char *esx_vmlist_path(void)
{
    const char *env = g_getenv("VMKEMU_VMLIST");
    return env && *env ? env : "/etc/vmware/vm-list";
}

/* The path inside a `config "..."` line, or NULL for any other line. */
static char *config_line_path(const char *line)
{
    const char *p = line;
    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (strncmp(p, "config", 6) || !g_ascii_isspace(p[6])) {
        return NULL;
    }
    p += 6;
    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (*p != '"') {
        return NULL;
    }
    const char *end = strchr(p + 1, '"');
    if (!end || end == p + 1) {
        return NULL;
    }
    return g_strndup(p + 1, end - p - 1);
}

static int fail(GError **errp, int err, const char *fmt, const char *a, const char *b)
{
    g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(err), fmt, a, b);
    return -err;
}

/* The file's text; a missing file is an empty list. */
static gchar *read_text(const char *list_path, GError **errp)
{
    gchar *text;
    GError *err = NULL;
    if (!g_file_get_contents(list_path, &text, NULL, &err)) {
        if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            g_error_free(err);
            return g_strdup("");
        }
        g_set_error(errp, G_FILE_ERROR, err->code, "%s: %s", list_path, err->message);
        g_error_free(err);
        return NULL;
    }
    return text;
}

/* The file's lines, without the empty piece after a final newline. */
static gchar **read_lines(const char *list_path, GError **errp)
{
    gchar *text = read_text(list_path, errp);
    if (!text) {
        return NULL;
    }
    gchar **lines = g_strsplit(text, "\n", -1);
    g_free(text);
    guint n = g_strv_length(lines);
    if (n && !*lines[n - 1]) {
        g_free(lines[n - 1]);
        lines[n - 1] = NULL;
    }
    return lines;
}

gchar **esx_vmlist_parse(const char *text)
{
    gchar **lines = g_strsplit(text, "\n", -1);
    GPtrArray *out = g_ptr_array_new();
    for (gchar **l = lines; *l; l++) {
        char *p = config_line_path(*l);
        if (p) {
            g_ptr_array_add(out, p);
        }
    }
    g_strfreev(lines);
    g_ptr_array_add(out, NULL);
    return (gchar **)g_ptr_array_free(out, FALSE);
}

gchar **esx_vmlist_read(const char *list_path, GError **errp)
{
    gchar *text = read_text(list_path, errp);
    if (!text) {
        return NULL;
    }
    gchar **paths = esx_vmlist_parse(text);
    g_free(text);
    return paths;
}

static int update(const char *list_path, const char *cfg_path, bool add,
                  GError **errp)
{
    if (strchr(cfg_path, '"') || strchr(cfg_path, '\n')) {
        return fail(errp, EINVAL, "%s: a path with a quote or newline cannot be registered%s",
                    cfg_path, "");
    }
    int lock = file_lock_exclusive(list_path, errp);
    if (lock < 0) {
        return lock;
    }
    int r = 0;
    char *abs = esx_cfg_abspath(cfg_path);
    gchar **lines = read_lines(list_path, errp);
    if (!lines) {
        r = -EIO;
        goto out;
    }
    GPtrArray *out = g_ptr_array_new();
    bool found = false;
    for (gchar **l = lines; *l; l++) {
        char *p = config_line_path(*l);
        bool match = p && !strcmp(p, abs);
        g_free(p);
        found |= match;
        if (!(match && !add)) {
            g_ptr_array_add(out, *l);
        }
    }
    gchar *new_line = NULL;
    if (add && found) {
        r = fail(errp, EEXIST, "%s: already registered in %s", abs, list_path);
    } else if (!add && !found) {
        r = fail(errp, ENOENT, "%s: not registered in %s", abs, list_path);
    } else {
        if (add) {
            new_line = g_strdup_printf("config \"%s\"", abs);
            g_ptr_array_add(out, new_line);
        }
        GString *text = g_string_new(NULL);
        for (guint i = 0; i < out->len; i++) {
            g_string_append_printf(text, "%s\n", (char *)out->pdata[i]);
        }
        r = file_replace_atomic(list_path, text->str, text->len, errp);
        g_string_free(text, TRUE);
    }
    g_ptr_array_free(out, TRUE);
    g_free(new_line);
    g_strfreev(lines);
out:
    g_free(abs);
    close(lock);
    return r;
}

int esx_vmlist_register(const char *list_path, const char *cfg_path, GError **errp)
{
    return update(list_path, cfg_path, true, errp);
}

int esx_vmlist_unregister(const char *list_path, const char *cfg_path, GError **errp)
{
    return update(list_path, cfg_path, false, errp);
}
