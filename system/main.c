/*
 * vmkemu: one virtual machine per process.
 *
 * Exit status: the guest's, when it powers off (0) or writes the test-exit
 * port ((N << 1) | 1); 0 when a reset ends it under -no-reboot, when it
 * halts with interrupts off, or on a triple fault under -no-reboot (each
 * logged and, for the last two, reported on stderr); 1 when the machine
 * cannot be built or the accelerator fails; 2 for a bad command line.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib-unix.h>
#include "machine.h"
#include "main-loop.h"
#include "log.h"
#include "options.h"

static gboolean on_signal(gpointer data)
{
    Machine *m = data;
    machine_request_shutdown(m, SHUTDOWN_HOST_QUIT, 0);
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    MachineConfig cfg;
    GError *err = NULL;
    int status;

    machine_config_init(&cfg);
    switch (options_parse(argc, argv, &cfg)) {
    case 1:
        machine_config_clear(&cfg);
        return 0;
    case -1:
        machine_config_clear(&cfg);
        return EXIT_USAGE;
    }
    if (cfg.logfile) {
        int r = log_open(cfg.logfile);
        if (r < 0) {
            fprintf(stderr, "vmkemu: -D: %s: %s\n", cfg.logfile, g_strerror(-r));
            machine_config_clear(&cfg);
            return EXIT_USAGE;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    main_loop_init();

    Machine *m = machine_create(&cfg, &err);
    if (!m) {
        verror("%s", err->message);
        g_error_free(err);
        machine_config_clear(&cfg);
        return 1;
    }
    g_unix_signal_add(SIGINT, on_signal, m);
    g_unix_signal_add(SIGTERM, on_signal, m);
    g_unix_signal_add(SIGHUP, on_signal, m);

    vlog("starting: %" G_GUINT64_FORMAT " MiB RAM, %d CPU(s), accelerator %s",
         cfg.ram_size >> 20, cfg.smp, m->accel->name);
    if (machine_start(m, &err) < 0) {
        verror("%s", err->message);
        g_error_free(err);
        machine_destroy(m);
        machine_config_clear(&cfg);
        return 1;
    }
    status = main_loop_run();
    machine_destroy(m);
    machine_config_clear(&cfg);
    log_close();
    return status;
}
