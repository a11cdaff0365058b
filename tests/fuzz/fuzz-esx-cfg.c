/*
 * libFuzzer target: the .cfg parser and its mapping onto a machine.
 */
#include <stddef.h>
#include <stdint.h>
#include "esx-cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    GError *err = NULL;
    EsxCfg *cfg = esx_cfg_parse("fuzz.cfg", (const char *)data, len, &err);
    if (cfg) {
        MachineConfig mc;
        EsxVmSettings vm = {0};
        machine_config_init(&mc);
        esx_cfg_to_machine(cfg, &mc, &vm, &err);
        GPtrArray *unknown = esx_cfg_unknown_keys(cfg);
        g_ptr_array_free(unknown, TRUE);
        machine_config_clear(&mc);
        esx_vm_settings_clear(&vm);
        esx_cfg_free(cfg);
    }
    g_clear_error(&err);
    return 0;
}
