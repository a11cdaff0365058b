/*
 * Per-VM runtime directories (see include/esx-runtime.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "esx-runtime.h"

char *esx_cfg_abspath(const char *cfg_path)
{
    char *real = realpath(cfg_path, NULL);
    if (real) {
        char *dup = g_strdup(real);
        free(real);
        return dup;
    }
    return g_canonicalize_filename(cfg_path, NULL);
}

static char *runtime_base(void)
{
    const char *env = g_getenv("VMKEMU_RUNTIME_DIR");
    if (env && *env) {
        return g_strdup(env);
    }
    if (getuid() == 0) {
        return g_strdup("/run/vmkemu");
    }
    const char *xdg = g_getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg) {
        return g_build_filename(xdg, "vmkemu", NULL);
    }
    return g_strdup_printf("/tmp/vmkemu-%u", (unsigned)getuid());
}

char *esx_runtime_dir(const char *cfg_path)
{
    char *abs = esx_cfg_abspath(cfg_path);
    gchar *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, abs, -1);
    char *base = runtime_base();
    gchar *name = g_strdup_printf("vm-%.16s", sum);
    char *dir = g_build_filename(base, name, NULL);
    g_free(name);
    g_free(base);
    g_free(sum);
    g_free(abs);
    return dir;
}

char *esx_runtime_qmp_socket(const char *cfg_path)
{
    char *dir = esx_runtime_dir(cfg_path);
    char *sock = g_build_filename(dir, "qmp.sock", NULL);
    g_free(dir);
    return sock;
}

int esx_runtime_prepare(const char *cfg_path, GError **errp)
{
    char *dir = esx_runtime_dir(cfg_path);
    int r = 0;
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        int e = errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                    "%s: cannot create the VM's runtime directory: %s", dir, g_strerror(e));
        r = -e;
    } else {
        char *abs = esx_cfg_abspath(cfg_path);
        gchar *cfg_file = g_build_filename(dir, "config", NULL);
        gchar *pid_file = g_build_filename(dir, "pid", NULL);
        gchar *pid = g_strdup_printf("%d\n", (int)getpid());
        if (!g_file_set_contents(cfg_file, abs, -1, errp) ||
            !g_file_set_contents(pid_file, pid, -1, errp)) {
            r = -EIO;
        }
        g_free(pid);
        g_free(pid_file);
        g_free(cfg_file);
        g_free(abs);
    }
    g_free(dir);
    return r;
}

void esx_runtime_cleanup(const char *cfg_path)
{
    char *dir = esx_runtime_dir(cfg_path);
    static const char *const files[] = { "qmp.sock", "config", "pid", NULL };
    for (int i = 0; files[i]; i++) {
        gchar *f = g_build_filename(dir, files[i], NULL);
        g_unlink(f);
        g_free(f);
    }
    g_rmdir(dir);
    g_free(dir);
}
