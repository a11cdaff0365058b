/*
 * vmware-control: register virtual machines and control running ones
 * (ESX Server 1.0 manual, "Registering Your Virtual Machines" and
 * "Gracefully Powering Off or Resetting a Virtual Machine").
 *
 *   vmware-control -s register CFG | -s unregister CFG | -s list
 *   vmware-control CFG start|stop|reset|suspend|request_stop|request_reset|getstate
 *
 * The per-VM commands speak to the VM's monitor socket; they arrive with the
 * monitor (ESX layer issue) and answer "not available yet" until then.
 */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "esx-vmlist.h"

#define EXIT_USAGE 2

static int usage(void)
{
    fputs("usage: vmware-control -s register CFG\n"
          "       vmware-control -s unregister CFG\n"
          "       vmware-control -s list\n"
          "       vmware-control CFG start|stop|reset|suspend|request_stop|request_reset|getstate\n"
          "The vm-list is /etc/vmware/vm-list, or $VMKEMU_VMLIST.\n", stderr);
    return EXIT_USAGE;
}

static int server_command(int argc, char **argv)
{
    const char *list = esx_vmlist_path();
    GError *err = NULL;
    int r;

    if (argc == 1 && !strcmp(argv[0], "list")) {
        gchar **cfgs = esx_vmlist_read(list, &err);
        if (!cfgs) {
            fprintf(stderr, "vmware-control: %s\n", err->message);
            g_error_free(err);
            return 1;
        }
        for (gchar **c = cfgs; *c; c++) {
            printf("%s\n", *c);
        }
        g_strfreev(cfgs);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[0], "register")) {
        if (!g_file_test(argv[1], G_FILE_TEST_IS_REGULAR)) {
            fprintf(stderr, "vmware-control: %s: no such configuration file\n", argv[1]);
            return 1;
        }
        r = esx_vmlist_register(list, argv[1], &err);
    } else if (argc == 2 && !strcmp(argv[0], "unregister")) {
        r = esx_vmlist_unregister(list, argv[1], &err);
    } else {
        if (argc >= 1) {
            fprintf(stderr, "vmware-control: -s %s: unknown server command "
                    "(register CFG, unregister CFG or list)\n", argv[0]);
            return EXIT_USAGE;
        }
        return usage();
    }
    if (r < 0) {
        fprintf(stderr, "vmware-control: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const vm_commands[] = {
        "start", "stop", "reset", "suspend", "request_stop", "request_reset",
        "getstate", NULL
    };

    if (argc >= 2 && !strcmp(argv[1], "-s")) {
        return server_command(argc - 2, argv + 2);
    }
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage();
        return 0;
    }
    if (argc != 3 || argv[1][0] == '-') {
        return usage();
    }
    for (int i = 0; vm_commands[i]; i++) {
        if (!strcmp(argv[2], vm_commands[i])) {
            fprintf(stderr, "vmware-control: %s %s: not available yet (needs the VM monitor)\n",
                    argv[1], argv[2]);
            return 1;
        }
    }
    fprintf(stderr, "vmware-control: %s: unknown command (start, stop, reset, suspend, "
            "request_stop, request_reset or getstate)\n", argv[2]);
    return EXIT_USAGE;
}
