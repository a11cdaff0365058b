/*
 * Choosing the accelerator: -accel kvm|emu|auto (tcg is an alias of emu).
 * auto takes KVM only where /dev/kvm opens and the host CPU advertises
 * hardware virtualization (vmx or svm in /proc/cpuinfo); otherwise the
 * emulator.  DESIGN.md explains why the CPU flag matters: some hosts offer
 * a /dev/kvm that is a slow software implementation.
 */
#include <string.h>
#include <glib.h>
#include "accel.h"

static bool host_has_hw_virt(void)
{
    gchar *text = NULL;
    bool found = false;

    if (!g_file_get_contents("/proc/cpuinfo", &text, NULL, NULL)) {
        return false;
    }
    for (gchar **lines = g_strsplit(text, "\n", -1), **l = lines; *l; l++) {
        if (g_str_has_prefix(*l, "flags")) {
            gchar **words = g_strsplit_set(*l, " \t", -1);
            for (gchar **w = words; *w; w++) {
                if (!strcmp(*w, "vmx") || !strcmp(*w, "svm")) {
                    found = true;
                }
            }
            g_strfreev(words);
        }
        if (!l[1]) {
            g_strfreev(lines);
            break;
        }
    }
    g_free(text);
    return found;
}

const AccelOps *accel_select(const char *name, GError **errp)
{
    const char *why = NULL;

    if (!name || !strcmp(name, "auto")) {
        if (host_has_hw_virt() && accel_kvm_ops.available(&why)) {
            return &accel_kvm_ops;
        }
        name = "emu";
    }
    const AccelOps *ops;
    if (!strcmp(name, "kvm")) {
        ops = &accel_kvm_ops;
    } else if (!strcmp(name, "emu") || !strcmp(name, "tcg")) {
        ops = &accel_emu_ops;
    } else {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "-accel: unknown accelerator '%s' (kvm, emu, tcg or auto)", name);
        return NULL;
    }
    if (!ops->available(&why)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "-accel %s: %s", name, why ? why : "not available");
        return NULL;
    }
    return ops;
}
