/*
 * vmkemu: one virtual machine per process.
 *
 * Exit status: the guest's, when it powers off (0) or writes the test-exit
 * port ((N << 1) | 1); 0 when a reset ends it under -no-reboot, when it
 * halts with interrupts off, or on a triple fault under -no-reboot (each
 * logged and, for the last two, reported on stderr); 1 when the machine
 * cannot be built or the accelerator fails, or when a suspended state is
 * refused, or when a disk's REDO log could not be committed or removed at
 * power-off; 2 for a bad command line (a drive that cannot be opened
 * included).
 *
 * A VM launched from a .cfg whose .std file exists resumes from it instead
 * of booting, and the .std is deleted unless resume.repeatable = TRUE
 * (manual, "Suspending and Resuming Virtual Machines").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>
#include "machine.h"
#include "main-loop.h"
#include "log.h"
#include "options.h"
#include "esx-cfg.h"
#include "esx-runtime.h"
#include "esx-suspend.h"
#include "std-file.h"
#include "suspend.h"
#include "monitor.h"

/* Resume from the VM's .std when there is one; set where it suspends to.
 * Returns -1 after reporting why the launch cannot go on. */
static int resume_if_suspended(Machine *m, EsxCfg *esx, EsxVmSettings *vm)
{
    GError *err = NULL;
    uint8_t digest[STD_DIGEST_LEN];
    char *rel = esx_suspend_file(esx->path, vm);
    char *std = g_canonicalize_filename(rel, NULL);
    char *cfg_abs = esx_cfg_abspath(esx->path);
    int ret = 0;

    g_free(rel);
    if (std_file_digest(esx->path, digest, &err) < 0) {
        verror("%s", err->message);
        g_error_free(err);
        ret = -1;
    } else if (g_file_test(std, G_FILE_TEST_EXISTS)) {
        if (std_load(m, std, digest, &err) < 0) {
            verror("%s", err->message);
            g_error_free(err);
            ret = -1;
        } else if (vm->resume_repeatable) {
            vlog("resumed from %s (kept: resume.repeatable = TRUE)", std);
        } else if (unlink(std) < 0) {
            verror("%s: resumed, but cannot remove it: %s", std, g_strerror(errno));
            ret = -1;
        } else {
            /* Used once (manual, "Repeatable Resumes"): make the removal
             * durable before the guest runs on. */
            gchar *dir = g_path_get_dirname(std);
            int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd >= 0) {
                fsync(fd);
                close(fd);
            }
            g_free(dir);
            vlog("resumed from %s (removed)", std);
        }
    }
    if (ret == 0) {
        suspend_set_target(std, cfg_abs, digest, vm->resume_repeatable);
    }
    g_free(cfg_abs);
    g_free(std);
    return ret;
}

static gboolean on_signal(gpointer data)
{
    Machine *m = data;
    machine_request_shutdown(m, SHUTDOWN_HOST_SIGNAL, 0);
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    MachineConfig cfg;
    GError *err = NULL;
    int status;

    machine_config_init(&cfg);
    /* vmkemu VM.cfg [options]: the .cfg first, options override it. */
    EsxCfg *esx = NULL;
    EsxVmSettings vm = {0};
    char *cfg_abs = NULL;
    bool macs_registered = false;
    if (argc > 1 && argv[1][0] != '-') {
        esx = esx_cfg_load(argv[1], &err);
        if (!esx || esx_cfg_to_machine(esx, &cfg, &vm, &err) < 0) {
            fprintf(stderr, "vmkemu: %s\n", err->message);
            g_error_free(err);
            esx_cfg_free(esx);
            esx_vm_settings_clear(&vm);
            machine_config_clear(&cfg);
            return EXIT_USAGE;
        }
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    switch (options_parse(argc, argv, &cfg)) {
    case 1:
        status = 0;
        goto out;
    case -1:
        status = EXIT_USAGE;
        goto out;
    }
    bool log_from_cfg = esx && !cfg.logfile;
    if (log_from_cfg) {
        cfg.logfile = g_strdup(vm.log_filename);
    }
    if (esx && options_verbose()) {
        GPtrArray *unknown = esx_cfg_unknown_keys(esx);
        for (guint i = 0; i < unknown->len; i++) {
            EsxCfgEntry *e = g_ptr_array_index(unknown, i);
            fprintf(stderr, "vmkemu: %s:%d: %s: unknown key, ignored\n",
                    esx->path, e->line, e->key);
        }
        g_ptr_array_free(unknown, TRUE);
    }
    if (cfg.logfile) {
        int r = log_open(cfg.logfile);
        if (r < 0) {
            fprintf(stderr, "vmkemu: %s: %s: %s\n", log_from_cfg ? "log.filename" : "-D",
                    cfg.logfile, g_strerror(-r));
            status = EXIT_USAGE;
            goto out;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    main_loop_init();

    /* The .cfg's network adapters get their addresses from the host's MAC
     * registry, kept while the VM runs or stays suspended. */
    if (esx) {
        cfg_abs = esx_cfg_abspath(esx->path);
        char *std = esx_suspend_file(esx->path, &vm);
        bool resuming = g_file_test(std, G_FILE_TEST_EXISTS);
        g_free(std);
        if (esx_nics_assign_macs(cfg_abs, &cfg, resuming, &err) < 0) {
            verror("%s", err->message);
            g_error_free(err);
            status = 1;
            goto out;
        }
        macs_registered = true;
    }

    Machine *m = machine_create(&cfg, &err);
    if (!m) {
        verror("%s", err->message);
        /* A drive that cannot be opened is a bad argument, as in QEMU. */
        status = err->domain == DRIVE_ERROR ? EXIT_USAGE : 1;
        g_error_free(err);
        goto out;
    }
    if (esx && resume_if_suspended(m, esx, &vm) < 0) {
        machine_destroy(m);
        status = 1;
        goto out;
    }
    for (int i = 0; i < cfg.nqmp; i++) {
        if (monitor_listen(cfg.qmp[i], &err) < 0) {
            verror("%s", err->message);
            g_error_free(err);
            machine_destroy(m);
            status = EXIT_USAGE;
            goto out;
        }
    }
    /* A VM started from a .cfg is controlled through its runtime directory. */
    if (esx) {
        char *sock = esx_runtime_qmp_socket(esx->path);
        gchar *spec = g_strdup_printf("unix:%s,server,nowait", sock);
        if (esx_runtime_prepare(esx->path, &err) < 0 ||
            monitor_listen(spec, &err) < 0) {
            verror("%s", err->message);
            g_error_free(err);
            g_free(spec);
            g_free(sock);
            monitor_close_all();
            machine_destroy(m);
            status = 1;
            goto out;
        }
        g_free(spec);
        g_free(sock);
    }
    g_unix_signal_add(SIGINT, on_signal, m);
    g_unix_signal_add(SIGTERM, on_signal, m);
    g_unix_signal_add(SIGHUP, on_signal, m);

    vlog("starting: %" G_GUINT64_FORMAT " MiB RAM, %d CPU(s), accelerator %s",
         cfg.ram_size >> 20, cfg.smp, m->accel->name);
    if (machine_start(m, &err) < 0) {
        verror("%s", err->message);
        g_error_free(err);
        status = 1;
    } else {
        status = main_loop_run();
    }
    /* Undoable disks settle now, with the monitor still served (it may be
     * asked what to do with a REDO log). */
    if (machine_drives_power_off(m, m->shutdown_cause == SHUTDOWN_HOST_SUSPEND) < 0 &&
        status == 0) {
        status = 1;
    }
    monitor_close_all();
    if (esx) {
        esx_runtime_cleanup(esx->path);
    }
    machine_destroy(m);
out:
    if (macs_registered) {
        char *std = esx_suspend_file(esx->path, &vm);
        if (g_file_test(std, G_FILE_TEST_EXISTS)) {
            vlog("the MAC addresses stay registered: the VM is suspended in %s", std);
        } else {
            esx_nics_release_macs(cfg_abs, &cfg);
        }
        g_free(std);
    }
    g_free(cfg_abs);
    suspend_clear_target();
    machine_config_clear(&cfg);
    esx_cfg_free(esx);
    esx_vm_settings_clear(&vm);
    log_close();
    return status;
}
