/*
 * Network options as QEMU spells them: -netdev BACKEND,id=ID,...,
 * -device MODEL,netdev=ID[,mac=...] and the -nic BACKEND[,model=...]
 * shorthand, parsed into NetdevConfig / NicConfig (include/net.h).
 * Values are checked here, so that a bad one is refused on the command
 * line with one line naming it, before any machine is built.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "net.h"

#define IFNAME_MAX 15           /* IFNAMSIZ - 1 */

static int fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int fail(GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gchar *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, msg);
    g_free(msg);
    return -EINVAL;
}

bool net_mac_parse(const char *s, uint8_t mac[NET_ETH_ALEN])
{
    if (strlen(s) != 17) {
        return false;
    }
    char sep = s[2];
    if (sep != ':' && sep != '-') {
        return false;
    }
    for (int i = 0; i < NET_ETH_ALEN; i++) {
        const char *p = s + 3 * i;
        if (!g_ascii_isxdigit(p[0]) || !g_ascii_isxdigit(p[1]) ||
            (i < NET_ETH_ALEN - 1 && p[2] != sep)) {
            return false;
        }
        mac[i] = g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]);
    }
    return true;
}

void net_mac_format(const uint8_t mac[NET_ETH_ALEN], char out[18])
{
    g_snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
               mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

bool net_nic_model_known(const char *model)
{
    return !strcmp(model, "pcnet");
}

void net_netdev_config_clear(NetdevConfig *nd)
{
    g_free(nd->id);
    g_strfreev(nd->hostfwd);
    g_free(nd->ifname);
    *nd = (NetdevConfig){0};
}

void net_nic_config_clear(NicConfig *nic)
{
    g_free(nic->model);
    g_free(nic->netdev);
    *nic = (NicConfig){ .esx_index = -1 };
}

/* --- key=value lists -------------------------------------------------------- */

/* "kind,a=1,b=2": the kind, then pairs.  An empty element is an error. */
static gchar **split_spec(const char *spec, GError **errp)
{
    if (!spec || !*spec) {
        fail(errp, "empty value");
        return NULL;
    }
    gchar **parts = g_strsplit(spec, ",", -1);
    for (int i = 0; parts[i]; i++) {
        if (!*parts[i]) {
            fail(errp, "'%s': empty element", spec);
            g_strfreev(parts);
            return NULL;
        }
        if (i > 0 && !strchr(parts[i], '=')) {
            fail(errp, "'%s': expected key=value", parts[i]);
            g_strfreev(parts);
            return NULL;
        }
    }
    return parts;
}

static bool parse_onoff(const char *v, bool *out)
{
    static const char *const on[] = { "on", "yes", "y", "true", NULL };
    static const char *const off[] = { "off", "no", "n", "false", NULL };
    for (int i = 0; on[i]; i++) {
        if (!g_ascii_strcasecmp(v, on[i])) {
            *out = true;
            return true;
        }
        if (!g_ascii_strcasecmp(v, off[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool id_ok(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.') {
            return false;
        }
    }
    return strlen(id) <= 64;
}

static bool parse_ipv4(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) {
        return false;
    }
    *out = ntohl(a.s_addr);
    return true;
}

static bool parse_port(const char *s, int *out)
{
    char *end;
    if (!g_ascii_isdigit(*s)) {
        return false;
    }
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < 1 || v > 65535) {
        return false;
    }
    *out = (int)v;
    return true;
}

/* "[ADDR]:PORT" */
static bool parse_addr_port(const char *s, uint32_t *addr, int *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon) {
        return false;
    }
    *addr = 0;
    if (colon > s) {
        gchar *a = g_strndup(s, colon - s);
        bool ok = parse_ipv4(a, addr);
        g_free(a);
        if (!ok) {
            return false;
        }
    }
    return parse_port(colon + 1, port);
}

int net_hostfwd_parse(const char *rule, NetHostFwd *out, GError **errp)
{
    static const char form[] = "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT";
    *out = (NetHostFwd){0};
    const char *colon = strchr(rule, ':');
    const char *dash = strchr(rule, '-');
    if (!colon || !dash || dash < colon) {
        return fail(errp, "hostfwd=%s: expected %s", rule, form);
    }
    gchar *proto = g_strndup(rule, colon - rule);
    if (!*proto || !strcmp(proto, "tcp")) {
        out->udp = false;
    } else if (!strcmp(proto, "udp")) {
        out->udp = true;
    } else {
        int r = fail(errp, "hostfwd=%s: '%s' is not tcp or udp", rule, proto);
        g_free(proto);
        return r;
    }
    g_free(proto);
    gchar *host = g_strndup(colon + 1, dash - colon - 1);
    bool ok = parse_addr_port(host, &out->host_addr, &out->host_port);
    g_free(host);
    if (!ok) {
        return fail(errp, "hostfwd=%s: bad host address or port (expected %s)", rule, form);
    }
    if (!parse_addr_port(dash + 1, &out->guest_addr, &out->guest_port)) {
        return fail(errp, "hostfwd=%s: bad guest address or port (expected %s)", rule, form);
    }
    return 0;
}

/* "ADDR[/BITS]" of net= */
static bool parse_net(const char *v, uint32_t *addr, int *bits)
{
    gchar **p = g_strsplit(v, "/", 2);
    bool ok = parse_ipv4(p[0], addr);
    *bits = 24;
    if (ok && p[1]) {
        char *end;
        long b = strtol(p[1], &end, 10);
        ok = g_ascii_isdigit(p[1][0]) && !*end && b >= 8 && b <= 30;
        *bits = (int)b;
    }
    g_strfreev(p);
    if (ok) {
        uint32_t mask = ~0u << (32 - *bits);
        ok = (*addr & ~mask) == 0;
    }
    return ok;
}

/* --- -netdev ------------------------------------------------------------------- */

/* Backend keys from `parts` (from index 1); `skip` are keys the caller takes. */
static int netdev_from_parts(gchar **parts, NetdevConfig *nd,
                             const char *const *skip, GError **errp)
{
    const char *kind = parts[0];
    GPtrArray *fwd = g_ptr_array_new_with_free_func(g_free);
    int r = 0;

    *nd = (NetdevConfig){ .net_addr = 0x0a000200, .net_bits = 24 };
    if (!strcmp(kind, "user")) {
        nd->kind = NETDEV_USER;
        if (!net_user_available()) {
            g_ptr_array_free(fwd, TRUE);
            return fail(errp, "user: user-mode networking is not available: this vmkemu "
                        "was built without libslirp");
        }
    } else if (!strcmp(kind, "tap")) {
        nd->kind = NETDEV_TAP;
    } else {
        g_ptr_array_free(fwd, TRUE);
        return fail(errp, "'%s': unknown network backend (user or tap)", kind);
    }
    for (int i = 1; parts[i] && r == 0; i++) {
        char *eq = strchr(parts[i], '=');
        gchar *key = g_strndup(parts[i], eq - parts[i]);
        const char *v = eq + 1;
        bool skipped = false;
        for (int k = 0; skip && skip[k]; k++) {
            skipped |= !strcmp(key, skip[k]);
        }
        if (skipped) {
            /* the caller's */
        } else if (!strcmp(key, "id")) {
            if (!id_ok(v)) {
                r = fail(errp, "id=%s: an id is a letter followed by letters, digits, "
                         "'-', '_' or '.'", v);
            } else {
                g_free(nd->id);
                nd->id = g_strdup(v);
            }
        } else if (nd->kind == NETDEV_USER && !strcmp(key, "hostfwd")) {
            NetHostFwd h;
            r = net_hostfwd_parse(v, &h, errp);
            g_ptr_array_add(fwd, g_strdup(v));
        } else if (nd->kind == NETDEV_USER && !strcmp(key, "restrict")) {
            if (!parse_onoff(v, &nd->restrict_net)) {
                r = fail(errp, "restrict=%s: expected on or off", v);
            }
        } else if (nd->kind == NETDEV_USER && !strcmp(key, "net")) {
            if (!parse_net(v, &nd->net_addr, &nd->net_bits)) {
                r = fail(errp, "net=%s: expected a network address ADDR[/BITS], "
                         "BITS from 8 to 30", v);
            }
        } else if (nd->kind == NETDEV_TAP && !strcmp(key, "ifname")) {
            if (!*v || strlen(v) > IFNAME_MAX || strchr(v, '/') || strchr(v, ' ')) {
                r = fail(errp, "ifname=%s: not an interface name (1-%d characters, "
                         "no '/' or space)", v, IFNAME_MAX);
            } else {
                g_free(nd->ifname);
                nd->ifname = g_strdup(v);
            }
        } else if (nd->kind == NETDEV_TAP &&
                   (!strcmp(key, "script") || !strcmp(key, "downscript"))) {
            if (strcmp(v, "no")) {
                r = fail(errp, "%s=%s: only %s=no is supported (configure the tap "
                         "device beforehand)", key, v, key);
            }
        } else {
            r = fail(errp, "%s: '%s' is not a parameter of this backend (%s)", kind, key,
                     nd->kind == NETDEV_USER ? "id, hostfwd, restrict, net" :
                                               "id, ifname, script=no");
        }
        g_free(key);
    }
    if (r == 0 && fwd->len) {
        g_ptr_array_add(fwd, NULL);
        nd->hostfwd = (char **)g_ptr_array_free(fwd, FALSE);
    } else {
        g_ptr_array_free(fwd, TRUE);
    }
    if (r < 0) {
        net_netdev_config_clear(nd);
    }
    return r;
}

int net_netdev_parse(const char *spec, NetdevConfig *out, GError **errp)
{
    gchar **parts = split_spec(spec, errp);
    if (!parts) {
        return -EINVAL;
    }
    int r = netdev_from_parts(parts, out, NULL, errp);
    if (r == 0 && !out->id) {
        r = fail(errp, "%s: id= is missing (a -device or -nic names the backend by it)",
                 spec);
        net_netdev_config_clear(out);
    }
    g_strfreev(parts);
    return r;
}

/* --- -device / -nic ----------------------------------------------------------- */

static int nic_mac(const char *v, NicConfig *nic, GError **errp)
{
    if (!net_mac_parse(v, nic->mac)) {
        return fail(errp, "mac=%s: not a MAC address (six hex bytes, e.g. 00:50:56:00:00:01)", v);
    }
    if (nic->mac[0] & 1) {
        return fail(errp, "mac=%s: a multicast address cannot be an adapter's address", v);
    }
    nic->has_mac = true;
    return 0;
}

int net_nic_device_parse(const char *spec, NicConfig *out, GError **errp)
{
    gchar **parts = split_spec(spec, errp);
    int r = 0;
    if (!parts) {
        return -EINVAL;
    }
    *out = (NicConfig){ .esx_index = -1 };
    if (!net_nic_model_known(parts[0])) {
        r = fail(errp, "'%s': unknown device (this vmkemu has: pcnet)", parts[0]);
    } else {
        out->model = g_strdup(parts[0]);
    }
    for (int i = 1; parts[i] && r == 0; i++) {
        char *eq = strchr(parts[i], '=');
        *eq = '\0';
        const char *key = parts[i], *v = eq + 1;
        if (!strcmp(key, "netdev")) {
            if (!id_ok(v)) {
                r = fail(errp, "netdev=%s: not a backend id", v);
            } else {
                g_free(out->netdev);
                out->netdev = g_strdup(v);
            }
        } else if (!strcmp(key, "mac")) {
            r = nic_mac(v, out, errp);
        } else if (!strcmp(key, "id")) {
            if (!id_ok(v)) {
                r = fail(errp, "id=%s: not an id", v);
            }
        } else {
            r = fail(errp, "%s: '%s' is not a parameter of this device (netdev, mac, id)",
                     parts[0], key);
        }
    }
    g_strfreev(parts);
    if (r < 0) {
        net_nic_config_clear(out);
    }
    return r;
}

int net_nic_parse(const char *spec, int index, NetdevConfig *nd, NicConfig *nic,
                  GError **errp)
{
    static const char *const nic_keys[] = { "model", "mac", NULL };
    gchar **parts = split_spec(spec, errp);
    int r;
    if (!parts) {
        return -EINVAL;
    }
    *nic = (NicConfig){ .esx_index = -1 };
    if (!strcmp(parts[0], "none") && !parts[1]) {
        g_strfreev(parts);
        *nd = (NetdevConfig){0};
        return 1;
    }
    r = netdev_from_parts(parts, nd, nic_keys, errp);
    for (int i = 1; parts[i] && r == 0; i++) {
        char *eq = strchr(parts[i], '=');
        *eq = '\0';
        const char *key = parts[i], *v = eq + 1;
        if (!strcmp(key, "model")) {
            if (!net_nic_model_known(v)) {
                r = fail(errp, "model=%s: unknown adapter model (this vmkemu has: pcnet)", v);
            } else {
                g_free(nic->model);
                nic->model = g_strdup(v);
            }
        } else if (!strcmp(key, "mac")) {
            r = nic_mac(v, nic, errp);
        }
    }
    g_strfreev(parts);
    if (r == 0) {
        if (!nd->id) {
            nd->id = g_strdup_printf("nic%d", index);
        }
        if (!nic->model) {
            nic->model = g_strdup("pcnet");
        }
        nic->netdev = g_strdup(nd->id);
    } else {
        net_netdev_config_clear(nd);
        net_nic_config_clear(nic);
    }
    return r;
}
