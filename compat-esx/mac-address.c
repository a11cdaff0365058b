/*
 * MAC address generation and the host-wide registry (see include/esx-mac.h).
 *
 * Registry lines: "<mac> <nic> <cfg path>", e.g.
 *   00:50:56:0e:51:95 0 /home/vmware/vms/win2000/win2000.cfg
 * The manual leaves the hash function open; FNV-1a over the path, XOR-folded
 * to 8 bits, spreads similar names well and is stable across hosts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "atomic-file.h"
#include "esx-mac.h"

const char *esx_mac_registry_path(void)
{
    const char *env = g_getenv("VMKEMU_MAC_REGISTRY");
    return env && *env ? env : "/var/lib/vmkemu/mac-registry";
}

uint8_t esx_mac_cfg_hash(const char *cfg_path)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)cfg_path; *p; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return (h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24)) & 0xff;
}

/* The interface holding the default route, from /proc/net/route. */
static char *default_route_ifname(void)
{
    gchar *text = NULL;
    char *name = NULL;
    if (!g_file_get_contents("/proc/net/route", &text, NULL, NULL)) {
        return NULL;
    }
    gchar **lines = g_strsplit(text, "\n", -1);
    for (gchar **l = lines + (lines[0] ? 1 : 0); *l && !name; l++) {
        char ifname[IF_NAMESIZE + 1];
        unsigned dest, mask;
        if (sscanf(*l, "%16s %x %*x %*x %*d %*d %*d %x", ifname, &dest, &mask) == 3 &&
            dest == 0 && mask == 0) {
            name = g_strdup(ifname);
        }
    }
    g_strfreev(lines);
    g_free(text);
    return name;
}

int esx_mac_host_ipv4(uint32_t *ip, GError **errp)
{
    const char *env = g_getenv("VMKEMU_HOST_IP");
    if (env && *env) {
        struct in_addr a;
        if (inet_pton(AF_INET, env, &a) != 1) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "VMKEMU_HOST_IP: '%s' is not an IPv4 address", env);
            return -EINVAL;
        }
        *ip = ntohl(a.s_addr);
        return 0;
    }
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0) {
        int e = errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                    "cannot list the host's network interfaces: %s", g_strerror(e));
        return -e;
    }
    char *route_if = default_route_ifname();
    uint32_t best = 0;
    int best_rank = 0;          /* 2: default-route interface, 1: other */
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
            (i->ifa_flags & IFF_LOOPBACK)) {
            continue;
        }
        uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        int rank = route_if && !strcmp(route_if, i->ifa_name) ? 2 : 1;
        if (rank > best_rank) {
            best = a;
            best_rank = rank;
        }
    }
    freeifaddrs(ifs);
    g_free(route_if);
    if (!best_rank) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "the host has no IPv4 address to derive MAC addresses from "
                    "(set VMKEMU_HOST_IP)");
        return -ENOENT;
    }
    *ip = best;
    return 0;
}

bool esx_mac_parse(const char *s, EsxMac *mac)
{
    if (strlen(s) != 17) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        const char *p = s + 3 * i;
        if (!g_ascii_isxdigit(p[0]) || !g_ascii_isxdigit(p[1]) ||
            (i < 5 && p[2] != ':')) {
            return false;
        }
        mac->b[i] = g_ascii_xdigit_value(p[0]) << 4 | g_ascii_xdigit_value(p[1]);
    }
    return true;
}

void esx_mac_format(const EsxMac *mac, char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac->b[0], mac->b[1],
             mac->b[2], mac->b[3], mac->b[4], mac->b[5]);
}

bool esx_mac_is_manual_range(const EsxMac *mac)
{
    return mac->b[0] == 0x00 && mac->b[1] == 0x50 && mac->b[2] == 0x56 &&
           mac->b[3] <= 0x3f;
}

typedef struct Entry {
    EsxMac mac;
    int nic;
    char *cfg;
} Entry;

static void entry_clear(gpointer p)
{
    g_free(((Entry *)p)->cfg);
}

/* Registry entries; malformed lines are dropped with a warning in errp's
 * place (they cannot name a VM we could protect). */
static GArray *registry_load(const char *path, GError **errp)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(Entry));
    g_array_set_clear_func(a, entry_clear);
    gchar *text = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, NULL, &err)) {
        if (!g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            g_set_error(errp, G_FILE_ERROR, err->code, "%s: %s", path, err->message);
            g_error_free(err);
            g_array_free(a, TRUE);
            return NULL;
        }
        g_error_free(err);
        return a;
    }
    gchar **lines = g_strsplit(text, "\n", -1);
    for (gchar **l = lines; *l; l++) {
        gchar **f = g_strsplit(*l, " ", 3);
        Entry e = {0};
        if (g_strv_length(f) == 3 && esx_mac_parse(f[0], &e.mac) &&
            g_ascii_isdigit(f[1][0]) && f[2][0] == '/') {
            e.nic = atoi(f[1]);
            e.cfg = g_strdup(f[2]);
            g_array_append_val(a, e);
        }
        g_strfreev(f);
    }
    g_strfreev(lines);
    g_free(text);
    return a;
}

static int registry_store(const char *path, GArray *a, GError **errp)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < a->len; i++) {
        Entry *e = &g_array_index(a, Entry, i);
        char mac[18];
        esx_mac_format(&e->mac, mac);
        g_string_append_printf(s, "%s %d %s\n", mac, e->nic, e->cfg);
    }
    int r = file_replace_atomic(path, s->str, s->len, errp);
    g_string_free(s, TRUE);
    return r;
}

static Entry *find_mac(GArray *a, const EsxMac *mac)
{
    for (guint i = 0; i < a->len; i++) {
        Entry *e = &g_array_index(a, Entry, i);
        if (!memcmp(e->mac.b, mac->b, 6)) {
            return e;
        }
    }
    return NULL;
}

int esx_mac_assign(const char *registry, const char *cfg_path, int nic,
                   const EsxMac *manual, EsxMac *out, GError **errp)
{
    uint32_t ip = 0;
    char mac_text[18];

    if (manual && !esx_mac_is_manual_range(manual)) {
        esx_mac_format(manual, mac_text);
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "ethernet%d.address = %s: a manual MAC address must lie in "
                    "00:50:56:00:00:00-00:50:56:3F:FF:FF", nic, mac_text);
        return -EINVAL;
    }
    if (!manual && esx_mac_host_ipv4(&ip, errp) < 0) {
        return -ENOENT;
    }
    int lock = file_lock_exclusive(registry, errp);
    if (lock < 0) {
        return lock;
    }
    int r = 0;
    GArray *a = registry_load(registry, errp);
    if (!a) {
        close(lock);
        return -EIO;
    }
    /* Drop what this adapter held before (a restart after a crash). */
    for (guint i = a->len; i-- > 0;) {
        Entry *e = &g_array_index(a, Entry, i);
        if (e->nic == nic && !strcmp(e->cfg, cfg_path)) {
            g_array_remove_index(a, i);
        }
    }
    EsxMac mac;
    if (manual) {
        mac = *manual;
        Entry *holder = find_mac(a, &mac);
        if (holder) {
            esx_mac_format(&mac, mac_text);
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                        "ethernet%d.address = %s: already used by %s", nic,
                        mac_text, holder->cfg);
            r = -EEXIST;
        }
    } else {
        uint8_t h = esx_mac_cfg_hash(cfg_path);
        mac = (EsxMac){ { 0x00, 0x50, 0x56, (ip >> 8) & 0xff, ip & 0xff, h } };
        int tries = 0;
        while (find_mac(a, &mac) && tries < 256) {
            mac.b[5]++;
            tries++;
        }
        if (tries == 256) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSPC,
                        "%s: all 256 generated MAC addresses of this host are in use "
                        "by running or suspended VMs; set ethernet%d.address", cfg_path, nic);
            r = -ENOSPC;
        }
    }
    if (r == 0) {
        Entry e = { mac, nic, g_strdup(cfg_path) };
        g_array_append_val(a, e);
        r = registry_store(registry, a, errp);
        *out = mac;
    }
    g_array_free(a, TRUE);
    close(lock);
    return r;
}

bool esx_mac_lookup(const char *registry, const char *cfg_path, int nic, EsxMac *out)
{
    GError *err = NULL;
    int lock = file_lock_exclusive(registry, &err);
    bool found = false;
    if (lock < 0) {
        g_error_free(err);
        return false;
    }
    GArray *a = registry_load(registry, &err);
    if (a) {
        for (guint i = 0; i < a->len && !found; i++) {
            Entry *e = &g_array_index(a, Entry, i);
            if (e->nic == nic && !strcmp(e->cfg, cfg_path)) {
                *out = e->mac;
                found = true;
            }
        }
        g_array_free(a, TRUE);
    }
    g_clear_error(&err);
    close(lock);
    return found;
}

int esx_mac_release(const char *registry, const char *cfg_path, GError **errp)
{
    int lock = file_lock_exclusive(registry, errp);
    if (lock < 0) {
        return lock;
    }
    GArray *a = registry_load(registry, errp);
    int r = -EIO;
    if (a) {
        for (guint i = a->len; i-- > 0;) {
            if (!strcmp(g_array_index(a, Entry, i).cfg, cfg_path)) {
                g_array_remove_index(a, i);
            }
        }
        r = registry_store(registry, a, errp);
        g_array_free(a, TRUE);
    }
    close(lock);
    return r;
}
