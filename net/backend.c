/*
 * From a NetdevConfig to its backend, and how the log names it.
 */
#include "net.h"

NetClient *net_backend_new(const NetdevConfig *cfg, GError **errp)
{
    switch (cfg->kind) {
    case NETDEV_USER:
        return net_user_new(cfg, errp);
    case NETDEV_TAP:
        return net_tap_new(cfg, errp);
    default:
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "netdev %s: no backend given", cfg->id ? cfg->id : "?");
        return NULL;
    }
}

char *net_backend_describe(const NetdevConfig *cfg)
{
    switch (cfg->kind) {
    case NETDEV_USER: {
        GString *s = g_string_new(NULL);
        uint32_t a = cfg->net_addr;
        g_string_printf(s, "user-mode networking %u.%u.%u.%u/%d", a >> 24, (a >> 16) & 0xff,
                        (a >> 8) & 0xff, a & 0xff, cfg->net_bits);
        if (cfg->restrict_net) {
            g_string_append(s, ", restricted");
        }
        for (int i = 0; cfg->hostfwd && cfg->hostfwd[i]; i++) {
            g_string_append_printf(s, ", hostfwd %s", cfg->hostfwd[i]);
        }
        return g_string_free(s, FALSE);
    }
    case NETDEV_TAP:
        return g_strdup_printf("tap device %s", cfg->ifname ? cfg->ifname : "(new)");
    default:
        return g_strdup("not connected");
    }
}
