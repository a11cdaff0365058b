/*
 * The .std file's place (include/esx-suspend.h; manual, "Suspend
 * Directory").
 */
#include <string.h>
#include "esx-suspend.h"

char *esx_suspend_file(const char *cfg_path, const EsxVmSettings *vm)
{
    gchar *base = g_path_get_basename(cfg_path);
    size_t n = strlen(base);
    if (n > 4 && !g_ascii_strcasecmp(base + n - 4, ".cfg")) {
        base[n - 4] = '\0';
    }
    gchar *name = g_strconcat(base, ".std", NULL);
    gchar *dir = vm->suspend_dir ? g_strdup(vm->suspend_dir) : g_path_get_dirname(cfg_path);
    char *path = g_build_filename(dir, name, NULL);
    g_free(dir);
    g_free(name);
    g_free(base);
    return path;
}

char *esx_suspend_file_of_cfg(const char *cfg_path, GError **errp)
{
    EsxCfg *cfg = esx_cfg_load(cfg_path, errp);
    if (!cfg) {
        return NULL;
    }
    MachineConfig mc;
    EsxVmSettings vm = {0};
    char *path = NULL;
    machine_config_init(&mc);
    /* Devices vmkemu refuses do not change where the .std is. */
    GError *err = NULL;
    esx_cfg_to_machine(cfg, &mc, &vm, &err);
    if (vm.suspend_dir) {
        path = esx_suspend_file(cfg->path, &vm);
        g_clear_error(&err);
    } else {
        g_propagate_error(errp, err);
    }
    machine_config_clear(&mc);
    esx_vm_settings_clear(&vm);
    esx_cfg_free(cfg);
    return path;
}
