/*
 * A .cfg's ethernetN adapters onto the machine's network
 * (compat-esx/cfg-ethernet.c): the keys the manual spells, the backend
 * chosen for each connection type, vmkemu.ethernetN.hostfwd, refusals with
 * their line, and the addresses settled at launch through the MAC registry
 * (assignment, a resumed VM keeping its address, release).
 */
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <glib/gstdio.h>
#include "config.h"
#include "esx-cfg.h"
#include "esx-mac.h"

#define CFG_PATH "/vms/net/vm.cfg"

static int map(const char *text, MachineConfig *mc, GError **err)
{
    EsxVmSettings vm = {0};
    EsxCfg *c = esx_cfg_parse(CFG_PATH, text, strlen(text), err);
    g_assert_nonnull(c);
    machine_config_init(mc);
    int r = esx_cfg_to_machine(c, mc, &vm, err);
    esx_vm_settings_clear(&vm);
    esx_cfg_free(c);
    return r;
}

static void expect_error(const char *text, const char *message)
{
    MachineConfig mc;
    GError *err = NULL;
    g_assert_cmpint(map(text, &mc, &err), <, 0);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, message);
    g_error_free(err);
    machine_config_clear(&mc);
}

static void test_vlance_mapping(void)
{
    if (!net_user_available()) {
        g_test_skip("no user-mode networking in this build");
        return;
    }
    MachineConfig mc;
    GError *err = NULL;
    g_assert_cmpint(map("ethernet0.present = TRUE\n"
                        "ethernet0.connectionType = monitor_dev\n"
                        "ethernet0.virtualDev = vlance\n"
                        "ethernet0.devName = vmnic0\n"
                        "ethernet0.exclusive = TRUE\n"
                        "ethernet2.present = TRUE\n"          /* virtualDev defaults to vlance */
                        "ethernet2.connectionType = hostonly\n"
                        "ethernet2.address = 00:50:56:3f:00:02\n"
                        "vmkemu.ethernet2.hostfwd = \"tcp::2222-:22  udp:127.0.0.1:5353-:53\"\n"
                        "ethernet1.present = FALSE\n"
                        "ethernet1.virtualDev = vmxnet\n",      /* not present: no refusal */
                        &mc, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(mc.nnic, ==, 2);
    g_assert_cmpint(mc.nnetdev, ==, 2);
    /* ethernet0: generated address later, user-mode networking. */
    g_assert_cmpstr(mc.nic[0].model, ==, "pcnet");
    g_assert_cmpstr(mc.nic[0].netdev, ==, "ethernet0");
    g_assert_cmpint(mc.nic[0].esx_index, ==, 0);
    g_assert_false(mc.nic[0].has_mac);
    g_assert_false(mc.nic[0].esx_manual_mac);
    g_assert_cmpstr(mc.netdev[0].id, ==, "ethernet0");
    g_assert_cmpint(mc.netdev[0].kind, ==, NETDEV_USER);
    g_assert_false(mc.netdev[0].restrict_net);
    /* ethernet2: manual address, host-only = restricted user networking. */
    g_assert_cmpint(mc.nic[1].esx_index, ==, 2);
    g_assert_true(mc.nic[1].esx_manual_mac);
    g_assert_cmphex(mc.nic[1].mac[3], ==, 0x3f);
    g_assert_cmphex(mc.nic[1].mac[5], ==, 0x02);
    g_assert_true(mc.netdev[1].restrict_net);
    g_assert_cmpint(g_strv_length(mc.netdev[1].hostfwd), ==, 2);
    g_assert_cmpstr(mc.netdev[1].hostfwd[1], ==, "udp:127.0.0.1:5353-:53");
    machine_config_clear(&mc);

    /* addressType = generated ignores an address. */
    g_assert_cmpint(map("ethernet0.present = TRUE\nethernet0.addressType = generated\n"
                        "ethernet0.address = 00:50:56:00:00:07\n", &mc, &err), ==, 0);
    g_assert_false(mc.nic[0].esx_manual_mac);
    machine_config_clear(&mc);
}

static void test_refusals(void)
{
    expect_error("ethernet0.present = TRUE\nethernet0.virtualDev = vmxnet\n",
                 CFG_PATH ":2: ethernet0.virtualDev = vmxnet: not available yet");
    expect_error("ethernet0.present = TRUE\nethernet0.virtualDev = e1000\n",
                 CFG_PATH ":2: ethernet0.virtualDev = e1000: not a network adapter (vmxnet or vlance)");
    expect_error("ethernet0.present = TRUE\nethernet0.addressType = static\n",
                 CFG_PATH ":2: ethernet0.addressType = static: a static address needs "
                 "ethernet0.address");
    expect_error("ethernet0.addressType = vpx\n",
                 CFG_PATH ":1: ethernet0.addressType = vpx: not an address type (generated or static)");
    expect_error("ethernet0.present = TRUE\nethernet0.address = 00:50:56:40:00:00\n",
                 CFG_PATH ":2: ethernet0.address = 00:50:56:40:00:00: a manual MAC address must "
                 "lie in 00:50:56:00:00:00-00:50:56:3F:FF:FF");
    if (net_user_available()) {
        expect_error("ethernet3.present = TRUE\nvmkemu.ethernet3.hostfwd = \"tcp::22\"\n",
                     CFG_PATH ":2: vmkemu.ethernet3.hostfwd = tcp::22: hostfwd=tcp::22: expected "
                     "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT");
    } else {
        expect_error("ethernet0.present = TRUE\n",
                     CFG_PATH ":1: ethernet0.present = TRUE: this vmkemu has no user-mode "
                     "networking (built without libslirp); name a host tap device in "
                     "ethernet0.devName");
    }
}

static char *tmpdir;

static void test_registry_at_launch(void)
{
    gchar *registry = g_build_filename(tmpdir, "sub", "mac-registry", NULL);
    g_setenv("VMKEMU_MAC_REGISTRY", registry, TRUE);
    g_setenv("VMKEMU_HOST_IP", "192.34.14.81", TRUE);
    GError *err = NULL;
    MachineConfig mc;
    machine_config_init(&mc);
    mc.nic[0] = (NicConfig){ .model = g_strdup("pcnet"), .esx_index = 0 };
    mc.nic[1] = (NicConfig){ .model = g_strdup("pcnet"), .esx_index = 1,
                             .esx_manual_mac = true,
                             .mac = { 0x00, 0x50, 0x56, 0x00, 0x10, 0x01 } };
    mc.nic[2] = (NicConfig){ .model = g_strdup("pcnet"), .esx_index = -1 };   /* -nic */
    mc.nnic = 3;
    const char *cfg = "/vms/net/vm.cfg";
    uint8_t want[6] = { 0x00, 0x50, 0x56, 0x0e, 0x51, esx_mac_cfg_hash(cfg) };
    EsxMac m;

    /* Another VM holds the generated address by hand: this one probes on. */
    MachineConfig other;
    machine_config_init(&other);
    other.nic[0] = (NicConfig){ .model = g_strdup("pcnet"), .esx_index = 0,
                                .esx_manual_mac = true };
    memcpy(other.nic[0].mac, want, 6);
    other.nnic = 1;
    g_assert_cmpint(esx_nics_assign_macs("/vms/other.cfg", &other, false, &err), ==, 0);
    g_assert_no_error(err);             /* the registry's directory was made */
    g_assert_cmpint(esx_nics_assign_macs(cfg, &mc, false, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_true(mc.nic[0].has_mac);
    uint8_t probed[6];
    memcpy(probed, want, 6);
    probed[5]++;
    g_assert_cmpmem(mc.nic[0].mac, 6, probed, 6);
    g_assert_cmphex(mc.nic[1].mac[4], ==, 0x10);
    g_assert_false(mc.nic[2].has_mac);
    g_assert_true(esx_mac_lookup(registry, cfg, 0, &m));
    g_assert_cmpmem(m.b, 6, probed, 6);
    g_assert_true(esx_mac_lookup(registry, cfg, 1, &m));
    g_assert_false(esx_mac_lookup(registry, cfg, 2, &m));

    /* The other VM powers off while this one is suspended: on resume this
     * one keeps what its adapter had, not the now free generated value. */
    esx_nics_release_macs("/vms/other.cfg", &other);
    MachineConfig again;
    machine_config_init(&again);
    again.nic[0] = (NicConfig){ .model = g_strdup("pcnet"), .esx_index = 0 };
    again.nnic = 1;
    g_assert_cmpint(esx_nics_assign_macs(cfg, &again, true, &err), ==, 0);
    g_assert_cmpmem(again.nic[0].mac, 6, probed, 6);
    /* A fresh start (not a resume) takes the generated value again. */
    g_assert_cmpint(esx_nics_assign_macs(cfg, &again, false, &err), ==, 0);
    g_assert_cmpmem(again.nic[0].mac, 6, want, 6);

    /* A clash of a manual address is refused, naming the holder. */
    memcpy(other.nic[0].mac, (uint8_t[]){ 0x00, 0x50, 0x56, 0x00, 0x10, 0x01 }, 6);
    g_assert_cmpint(esx_nics_assign_macs("/vms/other.cfg", &other, false, &err), <, 0);
    g_assert_cmpstr(err->message, ==, "/vms/other.cfg: ethernet0.address = 00:50:56:00:10:01: "
                    "already used by /vms/net/vm.cfg");
    g_clear_error(&err);
    g_assert_false(esx_mac_lookup(registry, "/vms/other.cfg", 0, &m));

    /* Power-off forgets the VM. */
    esx_nics_release_macs(cfg, &mc);
    g_assert_false(esx_mac_lookup(registry, cfg, 0, &m));
    g_assert_false(esx_mac_lookup(registry, cfg, 1, &m));
    machine_config_clear(&mc);
    machine_config_clear(&other);
    machine_config_clear(&again);
    g_unlink(registry);
    gchar *lock = g_strconcat(registry, ".lock", NULL);
    g_unlink(lock);
    g_free(lock);
    gchar *dir = g_path_get_dirname(registry);
    g_rmdir(dir);
    g_free(dir);
    g_free(registry);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-esx-ethernet-XXXXXX", NULL);
    g_test_add_func("/esx-ethernet/vlance-mapping", test_vlance_mapping);
    g_test_add_func("/esx-ethernet/refusals", test_refusals);
    g_test_add_func("/esx-ethernet/registry-at-launch", test_registry_at_launch);
    int r = g_test_run();
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return r;
}
