/*
 * The syntax of VMware configuration (.cfg) files, as the ESX Server 1.0
 * manual writes them: `key = value` lines, values bare or double-quoted,
 * `#` comments, case-insensitive keys, the last of duplicate keys wins.
 */
#include <errno.h>
#include <string.h>
#include "esx-cfg.h"

static void entry_free(gpointer p)
{
    EsxCfgEntry *e = p;
    g_free(e->key);
    g_free(e->value);
    g_free(e);
}

void esx_cfg_free(EsxCfg *cfg)
{
    if (!cfg) {
        return;
    }
    g_hash_table_destroy(cfg->by_key);
    g_ptr_array_free(cfg->entries, TRUE);
    g_free(cfg->path);
    g_free(cfg);
}

static bool key_char_ok(char c)
{
    return g_ascii_isalnum(c) || c == '.' || c == ':' || c == '_' || c == '-';
}

static int fail(GError **errp, const char *path, int line, const char *why)
{
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: %s", path, line, why);
    return -EINVAL;
}

/* Parse one line (without its newline) into key/value; *key = NULL for a
 * blank or comment line. */
static int parse_line(const char *path, int lineno, const char *s, size_t n,
                      char **key, char **value, GError **errp)
{
    size_t i = 0;
    *key = *value = NULL;

    while (i < n && g_ascii_isspace(s[i])) {
        i++;
    }
    if (i == n || s[i] == '#') {
        return 0;
    }
    size_t k0 = i;
    while (i < n && key_char_ok(s[i])) {
        i++;
    }
    size_t k1 = i;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    if (k1 == k0) {
        return fail(errp, path, lineno, "expected a key (letters, digits, '.', ':', '_')");
    }
    if (i == n || s[i] != '=') {
        return fail(errp, path, lineno, "expected 'key = value'");
    }
    i++;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
        i++;
    }
    size_t v0, v1;
    if (i < n && s[i] == '"') {
        v0 = ++i;
        while (i < n && s[i] != '"') {
            i++;
        }
        if (i == n) {
            return fail(errp, path, lineno, "unterminated quoted value");
        }
        v1 = i++;
    } else {
        v0 = i;
        while (i < n && s[i] != '#') {
            i++;
        }
        v1 = i;
        while (v1 > v0 && g_ascii_isspace(s[v1 - 1])) {
            v1--;
        }
    }
    /* Only blanks or a comment may follow. */
    while (i < n && g_ascii_isspace(s[i])) {
        i++;
    }
    if (i < n && s[i] != '#') {
        return fail(errp, path, lineno, "unexpected text after the value");
    }
    for (size_t j = v0; j < v1; j++) {
        if (s[j] == '\0' || (unsigned char)s[j] < 0x20) {
            if (s[j] != '\t') {
                return fail(errp, path, lineno, "control character in the value");
            }
        }
    }
    *key = g_strndup(s + k0, k1 - k0);
    *value = g_strndup(s + v0, v1 - v0);
    return 0;
}

EsxCfg *esx_cfg_parse(const char *path, const char *text, size_t len,
                      GError **errp)
{
    EsxCfg *cfg = g_new0(EsxCfg, 1);
    cfg->path = g_strdup(path);
    cfg->entries = g_ptr_array_new_with_free_func(entry_free);
    cfg->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        size_t stripped = n;
        if (stripped && text[pos + stripped - 1] == '\r') {
            stripped--;             /* DOS line ends */
        }
        lineno++;
        char *key, *value;
        if (parse_line(path, lineno, text + pos, stripped, &key, &value, errp) < 0) {
            esx_cfg_free(cfg);
            return NULL;
        }
        if (key) {
            EsxCfgEntry *e = g_new0(EsxCfgEntry, 1);
            e->key = key;
            e->value = value;
            e->line = lineno;
            g_ptr_array_add(cfg->entries, e);
            g_hash_table_replace(cfg->by_key, g_ascii_strdown(key, -1), e);
        }
        pos += n + (nl ? 1 : 0);
    }
    return cfg;
}

EsxCfg *esx_cfg_load(const char *path, GError **errp)
{
    gchar *text;
    gsize len;
    GError *err = NULL;

    if (!g_file_get_contents(path, &text, &len, &err)) {
        int code = err->code;
        g_error_free(err);
        g_set_error(errp, G_FILE_ERROR, code, "%s: %s", path,
                    code == G_FILE_ERROR_NOENT ? "no such configuration file" :
                    code == G_FILE_ERROR_ACCES ? "permission denied" :
                    code == G_FILE_ERROR_ISDIR ? "is a directory, not a configuration file" :
                    "cannot be read");
        return NULL;
    }
    EsxCfg *cfg = esx_cfg_parse(path, text, len, errp);
    g_free(text);
    return cfg;
}

EsxCfgEntry *esx_cfg_lookup(EsxCfg *cfg, const char *key)
{
    gchar *lower = g_ascii_strdown(key, -1);
    EsxCfgEntry *e = g_hash_table_lookup(cfg->by_key, lower);
    g_free(lower);
    if (e) {
        e->used = true;
    }
    return e;
}

const char *esx_cfg_get(EsxCfg *cfg, const char *key)
{
    EsxCfgEntry *e = esx_cfg_lookup(cfg, key);
    return e ? e->value : NULL;
}

bool esx_cfg_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "yes", "1", "on", NULL };
    static const char *const no[] = { "false", "no", "0", "off", NULL };
    for (int i = 0; yes[i]; i++) {
        if (!g_ascii_strcasecmp(s, yes[i])) {
            *out = true;
            return true;
        }
        if (!g_ascii_strcasecmp(s, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

GPtrArray *esx_cfg_unknown_keys(EsxCfg *cfg)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < cfg->entries->len; i++) {
        EsxCfgEntry *e = g_ptr_array_index(cfg->entries, i);
        /* A duplicate that was overridden counts as known if its key is. */
        gchar *lower = g_ascii_strdown(e->key, -1);
        EsxCfgEntry *last = g_hash_table_lookup(cfg->by_key, lower);
        g_free(lower);
        if (!e->used && !(last && last->used)) {
            g_ptr_array_add(out, e);
        }
    }
    return out;
}
