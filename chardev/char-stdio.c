/*
 * The stdio backend (-serial stdio, and what -nographic gives COM1): input
 * from standard input, output to standard output.
 *
 * When standard input is a terminal in the foreground, it is put in raw
 * mode (no echo, no line editing, no signals from Ctrl-C: those bytes go to
 * the guest) once the main loop runs, and restored at close, at exit and on
 * fatal signals.  Output processing (newline to CR-LF) is left as it was.
 * In raw mode Ctrl-A starts an escape, as on QEMU's console multiplexer:
 *   Ctrl-A x        quit vmkemu
 *   Ctrl-A b        send a break to the guest
 *   Ctrl-A Ctrl-A   send Ctrl-A
 *   Ctrl-A h        list these
 * Otherwise (pipes, files) bytes pass through untouched.  At most one
 * chardev uses stdio at a time.  Standard output is shared with the shell,
 * so it is never made non-blocking; the core polls before it writes.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include "chardev-internal.h"
#include "machine.h"
#include "main-loop.h"
#include "log.h"

#define STDIO_ESCAPE_CHAR 0x01  /* Ctrl-A */

typedef struct StdioState {
    bool escapes;           /* stdin is our terminal */
    bool escape_pending;    /* the last byte was Ctrl-A */
    guint raw_idle;         /* entering raw mode when the main loop runs */
} StdioState;

static bool stdio_in_use;

/* --- terminal mode ------------------------------------------------------- */

static struct termios tty_saved;
static volatile sig_atomic_t tty_is_raw;
static bool tty_hooks_installed;

static const int tty_fatal_signals[] = {
    SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT,
};
static struct sigaction tty_old_actions[G_N_ELEMENTS(tty_fatal_signals)];

/* Async-signal-safe: tcsetattr is. */
static void tty_restore(void)
{
    if (tty_is_raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &tty_saved);
        tty_is_raw = 0;
    }
}

static void tty_fatal_signal(int sig, siginfo_t *info, void *ctx)
{
    tty_restore();
    for (size_t i = 0; i < G_N_ELEMENTS(tty_fatal_signals); i++) {
        if (tty_fatal_signals[i] == sig) {
            sigaction(sig, &tty_old_actions[i], NULL);
        }
    }
    /* A fault raised by the CPU happens again on return and then reaches
     * the previous handler with its real details; anything else is sent
     * again (it stays pending until we return). */
    bool fault = (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
                  sig == SIGFPE) && info && info->si_code > 0;
    if (!fault) {
        raise(sig);
    }
}

static void tty_install_hooks(void)
{
    if (tty_hooks_installed) {
        return;
    }
    tty_hooks_installed = true;
    atexit(tty_restore);
    for (size_t i = 0; i < G_N_ELEMENTS(tty_fatal_signals); i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = tty_fatal_signal;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(tty_fatal_signals[i], &sa, &tty_old_actions[i]);
    }
}

static void tty_enter_raw(void)
{
    struct termios raw;

    if (tty_is_raw || tcgetattr(STDIN_FILENO, &tty_saved) < 0) {
        return;
    }
    raw = tty_saved;
    raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                     ICRNL | IXON);
    raw.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    raw.c_cflag &= ~(CSIZE | PARENB);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tty_install_hooks();
    tty_is_raw = 1;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
        tty_is_raw = 0;
        vwarn("-serial stdio: cannot put the terminal in raw mode: %s",
              g_strerror(errno));
    }
}

static gboolean stdio_raw_idle(gpointer data)
{
    Chardev *cd = data;
    StdioState *st = cd->be;

    st->raw_idle = 0;
    tty_enter_raw();
    return G_SOURCE_REMOVE;
}

/* --- escapes ------------------------------------------------------------- */

static void stdio_help(Chardev *cd)
{
    static const char help[] =
        "\r\n"
        "C-a h    print this help\r\n"
        "C-a x    exit vmkemu\r\n"
        "C-a b    send break\r\n"
        "C-a C-a  send C-a\r\n";
    chardev_write(cd, (const uint8_t *)help, sizeof(help) - 1);
}

static void stdio_quit(void)
{
    Machine *m = current_machine();
    if (m) {
        machine_request_shutdown(m, SHUTDOWN_HOST_QUIT, 0);
    } else {
        main_loop_quit(0);
    }
}

static void stdio_input(Chardev *cd, const uint8_t *buf, size_t len)
{
    StdioState *st = cd->be;
    uint8_t out[4096];
    size_t n = 0;

    if (!st->escapes) {
        chardev_deliver(cd, buf, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if (!st->escape_pending) {
            if (c == STDIO_ESCAPE_CHAR) {
                st->escape_pending = true;
            } else if (n < sizeof(out)) {
                out[n++] = c;
            }
            continue;
        }
        st->escape_pending = false;
        switch (c) {
        case STDIO_ESCAPE_CHAR:
            out[n++] = c;
            break;
        case 'x':
        case 'X':
            chardev_deliver(cd, out, n);
            n = 0;
            stdio_quit();
            break;
        case 'b':
        case 'B':
            chardev_deliver(cd, out, n);
            n = 0;
            chardev_emit(cd, CHARDEV_EVENT_BREAK);
            break;
        case 'h':
        case 'H':
        case '?':
            stdio_help(cd);
            break;
        default:
            break;      /* unknown escape: both bytes are swallowed */
        }
    }
    chardev_deliver(cd, out, n);
}

/* --- backend ------------------------------------------------------------- */

static int stdio_open(Chardev *cd, const char *arg, GError **errp)
{
    if (*arg) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: stdio takes no argument", cd->spec);
        return -1;
    }
    if (stdio_in_use) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                    "%s: standard input/output is already used by another port",
                    cd->spec);
        return -1;
    }
    stdio_in_use = true;

    StdioState *st = g_new0(StdioState, 1);
    cd->be = st;
    int in_fd = STDIN_FILENO;
    if (isatty(STDIN_FILENO)) {
        if (tcgetpgrp(STDIN_FILENO) == getpgrp()) {
            st->escapes = true;
            st->raw_idle = g_idle_add(stdio_raw_idle, cd);
        } else {
            /* In the background, reading the terminal would stop us. */
            in_fd = -1;
        }
    }
    chardev_attach_fds(cd, in_fd, STDOUT_FILENO, false, false);
    return 0;
}

static void stdio_close(Chardev *cd)
{
    StdioState *st = cd->be;

    chardev_detach_fds(cd);
    if (st->raw_idle) {
        g_source_remove(st->raw_idle);
    }
    tty_restore();
    g_free(st);
    stdio_in_use = false;
}

static void stdio_hangup(Chardev *cd)
{
    /* Input ended (in_eof keeps it from being polled again) or output
     * failed (out_dead drops it); the other direction carries on. */
}

const ChardevClass chardev_stdio_class = {
    .name = "stdio",
    .open = stdio_open,
    .close = stdio_close,
    .input = stdio_input,
    .hangup = stdio_hangup,
};
