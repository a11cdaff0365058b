/*
 * MAC address generation and registry (compat-esx/mac-address.c).
 */
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "esx-mac.h"

static char *registry;

static void mac_eq(const EsxMac *m, const char *text)
{
    char s[18];
    esx_mac_format(m, s);
    g_assert_cmpstr(s, ==, text);
}

static void test_parse_format(void)
{
    EsxMac m;
    g_assert_true(esx_mac_parse("00:50:56:3F:ff:01", &m));
    mac_eq(&m, "00:50:56:3f:ff:01");
    g_assert_true(esx_mac_is_manual_range(&m));
    g_assert_true(esx_mac_parse("00:50:56:40:00:00", &m));
    g_assert_false(esx_mac_is_manual_range(&m));
    g_assert_true(esx_mac_parse("00:0c:29:00:00:00", &m));
    g_assert_false(esx_mac_is_manual_range(&m));
    g_assert_false(esx_mac_parse("00:50:56:3F:FF", &m));
    g_assert_false(esx_mac_parse("00-50-56-3F-FF-FF", &m));
    g_assert_false(esx_mac_parse("00:50:56:3G:FF:FF", &m));
}

/* The manual's example: host 192.34.14.81 gives 00:50:56:0e:51:<hash>. */
static void test_manual_example(void)
{
    EsxMac m;
    GError *err = NULL;
    const char *cfg = "/home/vmware/vms/win2000/win2000.cfg";
    g_setenv("VMKEMU_HOST_IP", "192.34.14.81", TRUE);
    g_assert_cmpint(esx_mac_assign(registry, cfg, 0, NULL, &m, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(m.b[0], ==, 0x00);
    g_assert_cmpint(m.b[1], ==, 0x50);
    g_assert_cmpint(m.b[2], ==, 0x56);
    g_assert_cmpint(m.b[3], ==, 0x0e);
    g_assert_cmpint(m.b[4], ==, 0x51);
    g_assert_cmpint(m.b[5], ==, esx_mac_cfg_hash(cfg));
    /* The same VM asking again (restart) keeps its address. */
    EsxMac again;
    g_assert_cmpint(esx_mac_assign(registry, cfg, 0, NULL, &again, &err), ==, 0);
    g_assert_cmpmem(m.b, 6, again.b, 6);
    g_assert_cmpint(esx_mac_release(registry, cfg, &err), ==, 0);
}

static void test_hash_spread(void)
{
    /* Different names should rarely collide; identical names always hash alike. */
    int seen[256] = {0}, distinct = 0;
    for (int i = 0; i < 64; i++) {
        gchar *p = g_strdup_printf("/vms/vm%d/vm%d.cfg", i, i);
        uint8_t h = esx_mac_cfg_hash(p);
        g_assert_cmpint(h, ==, esx_mac_cfg_hash(p));
        distinct += !seen[h]++;
        g_free(p);
    }
    g_assert_cmpint(distinct, >, 48);
}

/* Uniqueness among running VMs: collisions probe to the next free value,
 * and all 256 values can be handed out before the registry is full. */
static void test_unique_and_full(void)
{
    GError *err = NULL;
    g_setenv("VMKEMU_HOST_IP", "10.1.2.3", TRUE);
    GHashTable *used = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (int i = 0; i < 256; i++) {
        gchar *p = g_strdup_printf("/vms/x%d.cfg", i);
        EsxMac m;
        g_assert_cmpint(esx_mac_assign(registry, p, 0, NULL, &m, &err), ==, 0);
        g_assert_no_error(err);
        g_assert_cmpint(m.b[3], ==, 2);
        g_assert_cmpint(m.b[4], ==, 3);
        g_assert_false(g_hash_table_contains(used, GINT_TO_POINTER(m.b[5] + 1)));
        g_hash_table_add(used, GINT_TO_POINTER(m.b[5] + 1));
        g_free(p);
    }
    EsxMac m;
    g_assert_cmpint(esx_mac_assign(registry, "/vms/one-too-many.cfg", 0, NULL, &m, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "all 256 generated MAC addresses"));
    g_clear_error(&err);
    /* Powering one off frees its address for the next VM. */
    g_assert_cmpint(esx_mac_release(registry, "/vms/x17.cfg", &err), ==, 0);
    g_assert_cmpint(esx_mac_assign(registry, "/vms/one-too-many.cfg", 0, NULL, &m, &err), ==, 0);
    g_hash_table_destroy(used);
    g_unlink(registry);
}

static void test_manual_addresses(void)
{
    GError *err = NULL;
    EsxMac want, got;
    g_assert_true(esx_mac_parse("00:50:56:01:02:03", &want));
    g_assert_cmpint(esx_mac_assign(registry, "/vms/a.cfg", 0, &want, &got, &err), ==, 0);
    g_assert_cmpmem(want.b, 6, got.b, 6);
    g_assert_cmpint(esx_mac_assign(registry, "/vms/b.cfg", 1, &want, &got, &err), ==, -EEXIST);
    g_assert_cmpstr(err->message, ==, "ethernet1.address = 00:50:56:01:02:03: already used by /vms/a.cfg");
    g_clear_error(&err);
    g_assert_true(esx_mac_parse("00:50:56:40:00:00", &want));
    g_assert_cmpint(esx_mac_assign(registry, "/vms/b.cfg", 0, &want, &got, &err), ==, -EINVAL);
    g_clear_error(&err);
    g_unlink(registry);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    gchar *dir = g_dir_make_tmp("vmkemu-mac-XXXXXX", NULL);
    registry = g_build_filename(dir, "mac-registry", NULL);
    g_test_add_func("/esx-mac/parse-format", test_parse_format);
    g_test_add_func("/esx-mac/manual-example", test_manual_example);
    g_test_add_func("/esx-mac/hash-spread", test_hash_spread);
    g_test_add_func("/esx-mac/unique-and-full", test_unique_and_full);
    g_test_add_func("/esx-mac/manual-addresses", test_manual_addresses);
    int r = g_test_run();
    g_unlink(registry);
    gchar *lock = g_strconcat(registry, ".lock", NULL);
    g_unlink(lock);
    g_rmdir(dir);
    g_free(lock);
    g_free(registry);
    g_free(dir);
    return r;
}
