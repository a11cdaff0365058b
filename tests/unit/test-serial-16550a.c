/*
 * The 16550A UART (hw/serial-16550a.c) and the PC's COM ports
 * (hw/pc-serial.c), driven register by register through port I/O on an
 * AddressSpace, with the manual virtual clock and the buffer chardev as
 * the other end of the cable.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <glib.h>
#include "hw/pc.h"
#include "hw/serial-16550a.h"

#define BASE 0x3f8

typedef struct Probe {
    int level;
    int rises;
} Probe;

typedef struct Fixture {
    AddressSpace *as;
    Chardev *chr;
    Probe probe;
    IrqLine *irq;
    Serial16550A *s;
} Fixture;

static void probe_set(void *opaque, int n, int level)
{
    Probe *p = opaque;
    if (level && !p->level) {
        p->rises++;
    }
    p->level = level;
}

static void fx_init(Fixture *f)
{
    memset(f, 0, sizeof(*f));
    vclock_set_manual(0);
    f->as = as_new();
    f->chr = chardev_open_buffer();
    f->irq = irq_line_new(probe_set, &f->probe, 0);
    f->s = serial16550a_new(f->as, BASE, f->irq, f->chr);
    g_assert_nonnull(f->s);
}

static void fx_fini(Fixture *f)
{
    serial16550a_free(f->s);
    chardev_close(f->chr);
    irq_line_free(f->irq);
    as_free(f->as);
}

static uint8_t inb(Fixture *f, int reg)
{
    return as_port_read(f->as, BASE + reg, 1);
}

static void outb(Fixture *f, int reg, uint8_t v)
{
    as_port_write(f->as, BASE + reg, v, 1);
}

static void push(Fixture *f, const char *s)
{
    chardev_buffer_push_input(f->chr, (const uint8_t *)s, strlen(s));
}

static char *output(Fixture *f)
{
    return (char *)chardev_buffer_take_output(f->chr, NULL);
}

static void assert_output(Fixture *f, const char *expect)
{
    char *got = output(f);
    g_assert_cmpstr(got, ==, expect);
    g_free(got);
}

/* 8N1 at divisor 1 (115200 baud), FIFOs with the given FCR bits. */
static void setup_fast(Fixture *f, uint8_t fcr)
{
    outb(f, UART_LCR, UART_LCR_DLAB);
    outb(f, UART_DLL, 1);
    outb(f, UART_DLM, 0);
    outb(f, UART_LCR, 0x03);
    outb(f, UART_FCR, fcr);
}

/* --- registers ----------------------------------------------------------- */

static void test_reset_values(void)
{
    Fixture f;
    fx_init(&f);
    g_assert_cmphex(inb(&f, UART_IER), ==, 0);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);
    g_assert_cmphex(inb(&f, UART_LCR), ==, 0);
    g_assert_cmphex(inb(&f, UART_MCR), ==, 0);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x60);
    /* A terminal on the cable: CTS, DSR, DCD, no deltas. */
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0xb0);
    g_assert_cmpint(f.probe.level, ==, 0);
    fx_fini(&f);
}

static void test_scratch_and_masks(void)
{
    Fixture f;
    fx_init(&f);
    outb(&f, UART_SCR, 0x5a);
    g_assert_cmphex(inb(&f, UART_SCR), ==, 0x5a);
    outb(&f, UART_SCR, 0xa5);
    g_assert_cmphex(inb(&f, UART_SCR), ==, 0xa5);
    outb(&f, UART_IER, 0xff);
    g_assert_cmphex(inb(&f, UART_IER), ==, 0x0f);   /* bits 7-4 read 0 */
    outb(&f, UART_MCR, 0xff);
    g_assert_cmphex(inb(&f, UART_MCR), ==, 0x1f);   /* bits 7-5 read 0 */
    outb(&f, UART_MCR, 0);
    outb(&f, UART_LCR, 0x5b);
    g_assert_cmphex(inb(&f, UART_LCR), ==, 0x5b);
    /* LSR and MSR ignore writes. */
    outb(&f, UART_LSR, 0x1f);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x60);
    fx_fini(&f);
}

static void test_divisor_latch(void)
{
    Fixture f;
    fx_init(&f);
    outb(&f, UART_IER, 0x05);
    outb(&f, UART_LCR, UART_LCR_DLAB | 0x03);
    outb(&f, UART_DLL, 0x34);
    outb(&f, UART_DLM, 0x12);
    g_assert_cmphex(inb(&f, UART_DLL), ==, 0x34);
    g_assert_cmphex(inb(&f, UART_DLM), ==, 0x12);
    g_assert_cmphex(f.s->r.divisor, ==, 0x1234);
    /* Offset 0 under DLAB is not THR, offset 1 not IER. */
    assert_output(&f, "");
    outb(&f, UART_LCR, 0x03);
    g_assert_cmphex(inb(&f, UART_IER), ==, 0x05);
    outb(&f, UART_THR, 'k');
    assert_output(&f, "k");
    outb(&f, UART_LCR, UART_LCR_DLAB | 0x03);
    g_assert_cmphex(inb(&f, UART_DLL), ==, 0x34);   /* THR did not touch it */

    /* Character times: 8N1 at 115200 is 10 bits of 16/1.8432 MHz. */
    outb(&f, UART_DLL, 1);
    outb(&f, UART_DLM, 0);
    g_assert_cmpint(serial16550a_char_time_ns(f.s), ==, 86805);
    /* 5 data bits with 1.5 stop bits at 9600: 7.5 bits. */
    outb(&f, UART_DLL, 12);
    outb(&f, UART_LCR, UART_LCR_DLAB | UART_LCR_STB);
    g_assert_cmpint(serial16550a_char_time_ns(f.s), ==, 781250);
    /* 7 data bits, parity, 2 stop bits: 11 bits. */
    outb(&f, UART_LCR, UART_LCR_DLAB | UART_LCR_STB | UART_LCR_PEN | 0x02);
    g_assert_cmpint(serial16550a_char_time_ns(f.s), ==, 1145833);
    fx_fini(&f);
}

/* --- transmitter --------------------------------------------------------- */

static void test_transmit_instant(void)
{
    Fixture f;
    fx_init(&f);
    setup_fast(&f, 0);
    for (const char *p = "hello"; *p; p++) {
        outb(&f, UART_THR, *p);
        g_assert_cmphex(inb(&f, UART_LSR) & 0x60, ==, 0x60);
    }
    assert_output(&f, "hello");
    fx_fini(&f);
}

static void test_thre_interrupt(void)
{
    Fixture f;
    fx_init(&f);
    setup_fast(&f, 0);
    outb(&f, UART_MCR, UART_MCR_OUT2);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);
    /* Enabling ETBEI while THR is empty raises it. */
    outb(&f, UART_IER, UART_IER_ETBEI);
    g_assert_cmpint(f.probe.level, ==, 1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x02);
    /* Reading IIR with THRE as the source clears it. */
    g_assert_cmpint(f.probe.level, ==, 0);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);
    /* Writing IER with ETBEI already set does not raise it again... */
    outb(&f, UART_IER, UART_IER_ETBEI);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);
    /* ...but turning it off and on does. */
    outb(&f, UART_IER, 0);
    outb(&f, UART_IER, UART_IER_ETBEI);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x02);
    /* The THR empties again after each write. */
    int rises = f.probe.rises;
    outb(&f, UART_THR, 'x');
    g_assert_cmpint(f.probe.rises, ==, rises + 1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x02);
    fx_fini(&f);
}

static void test_transmit_paced(void)
{
    Fixture f;
    fx_init(&f);
    serial16550a_set_paced(f.s, true);
    setup_fast(&f, 0);                          /* 86805 ns a character */
    outb(&f, UART_MCR, UART_MCR_OUT2);
    outb(&f, UART_IER, UART_IER_ETBEI);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x02);

    outb(&f, UART_THR, 'a');                    /* straight into the TSR */
    g_assert_cmphex(inb(&f, UART_LSR) & 0x60, ==, UART_LSR_THRE);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x02);   /* THR emptied */
    outb(&f, UART_THR, 'b');                    /* waits in the THR */
    g_assert_cmphex(inb(&f, UART_LSR) & 0x60, ==, 0);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);
    vclock_advance(86804);
    assert_output(&f, "");
    vclock_advance(1);
    assert_output(&f, "a");
    g_assert_cmphex(inb(&f, UART_LSR) & 0x60, ==, UART_LSR_THRE);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x02);
    vclock_advance(86805);
    assert_output(&f, "b");
    g_assert_cmphex(inb(&f, UART_LSR) & 0x60, ==, 0x60);

    /* With FIFOs: the TSR plus 16 bytes; a 18th byte is lost. */
    outb(&f, UART_FCR, UART_FCR_ENABLE);
    for (int i = 0; i < 18; i++) {
        outb(&f, UART_THR, 'A' + i);
    }
    vclock_advance(86805 * 10);
    assert_output(&f, "ABCDEFGHIJ");
    g_assert_cmphex(inb(&f, UART_LSR) & 0x60, ==, 0);
    vclock_advance(86805 * 20);
    assert_output(&f, "KLMNOPQ");
    g_assert_cmphex(inb(&f, UART_LSR) & 0x60, ==, 0x60);

    /* A TX FIFO reset drops what waits, not what is being shifted. */
    outb(&f, UART_THR, '1');
    outb(&f, UART_THR, '2');
    outb(&f, UART_THR, '3');
    outb(&f, UART_FCR, UART_FCR_ENABLE | UART_FCR_TX_RESET);
    g_assert_cmphex(inb(&f, UART_LSR) & 0x60, ==, UART_LSR_THRE);
    vclock_advance(86805 * 5);
    assert_output(&f, "1");
    fx_fini(&f);
}

static void test_out2_gating(void)
{
    Fixture f;
    fx_init(&f);
    outb(&f, UART_IER, UART_IER_ETBEI);
    g_assert_cmpint(f.probe.level, ==, 0);      /* OUT2 off: line stays low */
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x02);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);   /* the read cleared it */
    outb(&f, UART_IER, 0);
    outb(&f, UART_IER, UART_IER_ETBEI);         /* pending again */
    g_assert_cmpint(f.probe.level, ==, 0);      /* OUT2 off: line stays low */
    outb(&f, UART_MCR, UART_MCR_OUT2);
    g_assert_cmpint(f.probe.level, ==, 1);
    outb(&f, UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
    g_assert_cmpint(f.probe.level, ==, 0);
    outb(&f, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR);
    g_assert_cmpint(f.probe.level, ==, 1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x02);
    g_assert_cmpint(f.probe.level, ==, 0);
    fx_fini(&f);
}

/* --- receiver ------------------------------------------------------------ */

static void test_receive_no_fifo(void)
{
    Fixture f;
    fx_init(&f);
    setup_fast(&f, 0);
    outb(&f, UART_MCR, UART_MCR_OUT2);
    outb(&f, UART_IER, UART_IER_ERBFI);
    push(&f, "xy");
    /* One holding register: the backend keeps the second byte. */
    g_assert_cmpuint(chardev_buffer_pending_input(f.chr), ==, 1);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x61);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x04);
    g_assert_cmpint(f.probe.level, ==, 1);
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'x');
    g_assert_cmpuint(chardev_buffer_pending_input(f.chr), ==, 0);
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'y');
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x60);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);
    g_assert_cmpint(f.probe.level, ==, 0);
    /* No FIFO, no timeout indication. */
    push(&f, "z");
    vclock_advance(NS_PER_SEC);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x04);

    /* Overrun in 16450 mode: the unread byte is overwritten. */
    serial16550a_receive(f.s, 'q', 0);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x63);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x61);   /* OE cleared by reading */
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'q');
    fx_fini(&f);
}

static void test_fifo_trigger_levels(void)
{
    static const struct { uint8_t bits; int level; } levels[] = {
        { 0x00, 1 }, { 0x40, 4 }, { 0x80, 8 }, { 0xc0, 14 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(levels); i++) {
        Fixture f;
        fx_init(&f);
        setup_fast(&f, UART_FCR_ENABLE | levels[i].bits);
        outb(&f, UART_MCR, UART_MCR_OUT2);
        outb(&f, UART_IER, UART_IER_ERBFI);
        for (int n = 1; n < levels[i].level; n++) {
            push(&f, "a");
            g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);
            g_assert_cmphex(inb(&f, UART_LSR) & UART_LSR_DR, ==, UART_LSR_DR);
        }
        g_assert_cmpint(f.probe.level, ==, 0);
        push(&f, "b");
        g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc4);
        g_assert_cmpint(f.probe.level, ==, 1);
        /* Reading one byte takes it below the trigger level. */
        inb(&f, UART_RBR);
        g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);
        g_assert_cmpint(f.probe.level, ==, 0);
        fx_fini(&f);
    }
}

static void test_fifo_capacity_and_overrun(void)
{
    Fixture f;
    fx_init(&f);
    setup_fast(&f, UART_FCR_ENABLE | 0xc0);
    push(&f, "0123456789abcdefghij");
    /* 16 bytes in the FIFO, the rest waits in the backend: no overrun. */
    g_assert_cmpuint(chardev_buffer_pending_input(f.chr), ==, 4);
    g_assert_cmphex(inb(&f, UART_LSR) & UART_LSR_OE, ==, 0);
    /* A byte arriving at a full FIFO is lost and flags OE at once. */
    serial16550a_receive(f.s, '!', 0);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x63);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x61);
    char got[21] = "";
    for (int i = 0; i < 20; i++) {
        g_assert_cmphex(inb(&f, UART_LSR) & UART_LSR_DR, ==, UART_LSR_DR);
        got[i] = inb(&f, UART_RBR);
    }
    g_assert_cmpstr(got, ==, "0123456789abcdefghij");
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x60);

    /* RX FIFO reset empties it. */
    push(&f, "xyz");
    outb(&f, UART_FCR, UART_FCR_ENABLE | UART_FCR_RX_RESET);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x60);
    /* Turning the FIFOs off clears them too. */
    push(&f, "xyz");
    outb(&f, UART_FCR, 0);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);   /* no FIFO bits */
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x60);
    fx_fini(&f);
}

static void test_character_timeout(void)
{
    Fixture f;
    fx_init(&f);
    setup_fast(&f, UART_FCR_ENABLE | 0xc0);     /* trigger 14 */
    const int64_t ct = 86805;                   /* 8N1 at 115200 */
    outb(&f, UART_MCR, UART_MCR_OUT2);
    outb(&f, UART_IER, UART_IER_ERBFI);
    push(&f, "abc");
    vclock_advance(4 * ct - 1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);
    vclock_advance(1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xcc);
    g_assert_cmpint(f.probe.level, ==, 1);
    /* Reading a byte clears it and restarts the timer. */
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'a');
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);
    g_assert_cmpint(f.probe.level, ==, 0);
    vclock_advance(4 * ct - 1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);
    /* A new byte restarts it as well. */
    push(&f, "d");
    vclock_advance(4 * ct - 1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);
    vclock_advance(1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xcc);
    /* Once indicated, a new byte does not clear it; only a read does. */
    push(&f, "e");
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xcc);
    while (inb(&f, UART_LSR) & UART_LSR_DR) {
        inb(&f, UART_RBR);
    }
    vclock_advance(100 * ct);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);  /* empty: no timeout */

    /* The timeout follows the programmed rate: 7E2 at 1200 baud. */
    outb(&f, UART_LCR, UART_LCR_DLAB);
    outb(&f, UART_DLL, 96);
    outb(&f, UART_LCR, 0x02 | UART_LCR_PEN | UART_LCR_EPS | UART_LCR_STB);
    const int64_t slow = serial16550a_char_time_ns(f.s);
    g_assert_cmpint(slow, ==, 9166666);         /* 11 bits at 1200 baud */
    push(&f, "z");
    vclock_advance(4 * slow - 1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);
    vclock_advance(1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xcc);
    fx_fini(&f);
}

static void test_line_errors(void)
{
    Fixture f;
    fx_init(&f);
    setup_fast(&f, UART_FCR_ENABLE);
    outb(&f, UART_MCR, UART_MCR_OUT2);
    outb(&f, UART_IER, UART_IER_ELSI | UART_IER_ERBFI);
    inb(&f, UART_RBR);
    serial16550a_receive(f.s, 'a', 0);
    serial16550a_receive(f.s, 'b', UART_LSR_FE);
    serial16550a_receive(f.s, 'c', UART_LSR_PE);
    /* 'a' is at the top: no error shown yet, but one is in the FIFO. */
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc4);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0xe1);
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'a');
    /* 'b' reaches the top: FE and the line status interrupt. */
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc6);
    g_assert_cmpint(f.probe.level, ==, 1);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0xe9);
    /* Reading LSR cleared FE; 'c' behind keeps bit 7. */
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0xe1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc4);
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'b');
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0xe5);  /* PE of 'c' */
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x61);  /* no errors left */
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'c');
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x60);

    /* A break from the backend: one 0 byte with BI. */
    chardev_buffer_send_event(f.chr, CHARDEV_EVENT_BREAK);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc6);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0xf1);
    g_assert_cmphex(inb(&f, UART_RBR), ==, 0);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);

    /* Overrun raises the line status interrupt too. */
    for (int i = 0; i < 17; i++) {
        serial16550a_receive(f.s, 'o', 0);
    }
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc6);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x63);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc4);
    fx_fini(&f);
}

static void test_interrupt_priorities(void)
{
    Fixture f;
    fx_init(&f);
    setup_fast(&f, UART_FCR_ENABLE);            /* trigger 1 */
    outb(&f, UART_MCR, UART_MCR_OUT2);
    inb(&f, UART_MSR);
    /* All four sources at once. */
    serial16550a_set_modem_inputs(f.s, UART_MSR_DSR | UART_MSR_DCD);  /* CTS drops */
    serial16550a_receive(f.s, 'p', UART_LSR_PE);
    outb(&f, UART_IER, 0x0f);
    g_assert_cmpint(f.probe.level, ==, 1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc6);  /* line status */
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc6);  /* reading IIR keeps it */
    inb(&f, UART_LSR);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc4);  /* received data */
    inb(&f, UART_RBR);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc2);  /* THR empty */
    g_assert_cmpint(f.probe.level, ==, 1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc0);  /* modem status */
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0xa1);  /* DCTS */
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);
    g_assert_cmpint(f.probe.level, ==, 0);

    /* Disabled sources are not shown. */
    serial16550a_receive(f.s, 'q', UART_LSR_FE);
    outb(&f, UART_IER, UART_IER_ERBFI);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc4);
    outb(&f, UART_IER, 0);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);
    g_assert_cmpint(f.probe.level, ==, 0);
    fx_fini(&f);
}

/* --- modem lines and loopback -------------------------------------------- */

static void test_modem_status_deltas(void)
{
    Fixture f;
    fx_init(&f);
    outb(&f, UART_MCR, UART_MCR_OUT2);
    outb(&f, UART_IER, UART_IER_EDSSI);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);
    serial16550a_set_modem_inputs(f.s, UART_MSR_CTS | UART_MSR_DSR);  /* DCD off */
    g_assert_cmpint(f.probe.level, ==, 1);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x00);
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0x38);   /* DDCD */
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0x30);   /* deltas cleared */
    g_assert_cmpint(f.probe.level, ==, 0);
    /* RI rising is no event; RI falling sets TERI. */
    serial16550a_set_modem_inputs(f.s, UART_MSR_CTS | UART_MSR_DSR | UART_MSR_RI);
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0x70);
    g_assert_cmpint(f.probe.level, ==, 0);
    serial16550a_set_modem_inputs(f.s, UART_MSR_CTS | UART_MSR_DSR);
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0x34);
    /* Several changes accumulate until read. */
    serial16550a_set_modem_inputs(f.s, 0);
    serial16550a_set_modem_inputs(f.s, UART_MSR_CTS);
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0x13);   /* DCTS | DDSR */
    fx_fini(&f);
}

static void test_loopback(void)
{
    Fixture f;
    fx_init(&f);
    setup_fast(&f, UART_FCR_ENABLE);
    serial16550a_set_modem_inputs(f.s, 0);
    inb(&f, UART_MSR);

    /* The probe Linux does: LOOP | RTS | OUT2 reads back CTS | DCD. */
    outb(&f, UART_MCR, UART_MCR_LOOP | 0x0a);
    g_assert_cmphex(inb(&f, UART_MSR) & 0xf0, ==, 0x90);
    outb(&f, UART_MCR, UART_MCR_LOOP);
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0x09);   /* DCTS, DDCD */
    outb(&f, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0x22);   /* DSR, DDSR */
    outb(&f, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_OUT1);
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0x60);   /* RI rose: no delta */
    outb(&f, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0x24);   /* TERI */

    /* Transmitted bytes come back and do not reach the backend; input
     * from the backend waits. */
    push(&f, "in");
    g_assert_cmpuint(chardev_buffer_pending_input(f.chr), ==, 2);
    outb(&f, UART_THR, 'L');
    outb(&f, UART_THR, 'B');
    assert_output(&f, "");
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x61);
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'L');
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'B');
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x60);

    /* A break set in LCR is received as a 0 byte with BI. */
    outb(&f, UART_LCR, 0x03 | UART_LCR_SBC);
    outb(&f, UART_LCR, 0x03);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0xf1);
    g_assert_cmphex(inb(&f, UART_RBR), ==, 0);

    /* Interrupts work in loopback, gated by the OUT2 bit. */
    outb(&f, UART_IER, UART_IER_ERBFI);
    outb(&f, UART_THR, 'i');
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc4);
    g_assert_cmpint(f.probe.level, ==, 0);
    outb(&f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
    g_assert_cmpint(f.probe.level, ==, 1);
    inb(&f, UART_RBR);
    g_assert_cmpint(f.probe.level, ==, 0);

    /* Seventeen bytes overrun the receive FIFO. */
    for (int i = 0; i < 17; i++) {
        outb(&f, UART_THR, 'a' + i);
    }
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x63);
    for (int i = 0; i < 16; i++) {
        g_assert_cmphex(inb(&f, UART_RBR), ==, 'a' + i);
    }

    /* Leaving loopback: the cable's lines and the backend's input return. */
    outb(&f, UART_MCR, UART_MCR_OUT2);
    /* DSR fell and DCD rose with MCR = LOOP | OUT2, then DCD fell again. */
    g_assert_cmphex(inb(&f, UART_MSR), ==, 0x0a);
    g_assert_cmpuint(chardev_buffer_pending_input(f.chr), ==, 0);
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'i');
    g_assert_cmphex(inb(&f, UART_RBR), ==, 'n');
    outb(&f, UART_THR, 'o');
    assert_output(&f, "o");
    fx_fini(&f);
}

/* --- 16750 64-byte mode -------------------------------------------------- */

static void test_fifo64(void)
{
    Fixture f;
    fx_init(&f);
    /* The sequence Linux uses to tell a 16750 from a 16550A. */
    outb(&f, UART_LCR, 0);
    outb(&f, UART_FCR, UART_FCR_ENABLE | UART_FCR_FIFO64);
    uint8_t status1 = inb(&f, UART_IIR) >> 5;
    outb(&f, UART_FCR, UART_FCR_ENABLE);
    outb(&f, UART_LCR, UART_LCR_DLAB);
    outb(&f, UART_FCR, UART_FCR_ENABLE | UART_FCR_FIFO64);
    uint8_t status2 = inb(&f, UART_IIR) >> 5;
    g_assert_cmphex(status1, ==, 6);            /* bit 5 ignored without DLAB */
    g_assert_cmphex(status2, ==, 7);
    /* Still 64 bytes after DLAB is cleared, until written with DLAB. */
    outb(&f, UART_LCR, 0x03);
    outb(&f, UART_FCR, UART_FCR_ENABLE | 0xc0);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xe1);
    outb(&f, UART_IER, UART_IER_ERBFI);
    char in[71];
    memset(in, 'x', 70);
    in[70] = 0;
    push(&f, in);
    g_assert_cmpuint(chardev_buffer_pending_input(f.chr), ==, 6);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xe4);  /* >= 56 */
    for (int i = 0; i < 9; i++) {
        inb(&f, UART_RBR);      /* the backend refills the first 6 reads */
    }
    g_assert_cmpuint(chardev_buffer_pending_input(f.chr), ==, 0);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xe4);   /* 61 >= 56 */
    for (int i = 0; i < 6; i++) {
        inb(&f, UART_RBR);
    }
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xe1);   /* 55 < 56 */
    /* Trigger levels 16 and 32. */
    outb(&f, UART_FCR, UART_FCR_ENABLE | 0x40 | UART_FCR_RX_RESET);
    memset(in, 'y', 15);
    in[15] = 0;
    push(&f, in);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xe1);
    push(&f, "y");
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xe4);
    outb(&f, UART_FCR, UART_FCR_ENABLE | 0x80);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xe1);   /* 16 < 32 */
    /* Clearing bit 5 (with DLAB) returns to 16 bytes and empties. */
    outb(&f, UART_LCR, UART_LCR_DLAB | 0x03);
    outb(&f, UART_FCR, UART_FCR_ENABLE);
    outb(&f, UART_LCR, 0x03);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0xc1);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x60);
    fx_fini(&f);
}

static void test_master_reset(void)
{
    Fixture f;
    fx_init(&f);
    setup_fast(&f, UART_FCR_ENABLE | 0x80);
    outb(&f, UART_SCR, 0x77);
    outb(&f, UART_MCR, 0x1f);
    outb(&f, UART_IER, 0x0f);
    serial16550a_receive(f.s, 'e', UART_LSR_FE);
    outb(&f, UART_THR, 'l');
    serial16550a_reset(f.s);
    g_assert_cmphex(inb(&f, UART_IER), ==, 0);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);
    g_assert_cmphex(inb(&f, UART_LCR), ==, 0);
    g_assert_cmphex(inb(&f, UART_MCR), ==, 0);
    g_assert_cmphex(inb(&f, UART_LSR), ==, 0x60);
    g_assert_cmphex(inb(&f, UART_MSR) & 0xf0, ==, 0xb0);
    g_assert_cmphex(inb(&f, UART_SCR), ==, 0x77);
    g_assert_cmpint(f.probe.level, ==, 0);
    g_assert_cmphex(f.s->r.divisor, ==, 1);
    vclock_advance(NS_PER_SEC);
    g_assert_cmphex(inb(&f, UART_IIR), ==, 0x01);
    fx_fini(&f);
}

/* --- the PC's COM ports -------------------------------------------------- */

typedef struct PCFixture {
    MachineConfig cfg;
    Machine m;
    Probe gsi[PC_NUM_GSI];
} PCFixture;

static void pcfx_init(PCFixture *p, const char *const *specs)
{
    memset(p, 0, sizeof(*p));
    vclock_set_manual(0);
    machine_config_init(&p->cfg);
    for (int i = 0; specs[i]; i++) {
        p->cfg.serial[p->cfg.nserial++] = g_strdup(specs[i]);
    }
    p->m.cfg = &p->cfg;
    p->m.as = as_new();
    machine_set_current(&p->m);     /* a fresh list of reset hooks */
    for (int i = 0; i < PC_NUM_GSI; i++) {
        p->m.gsi[i] = irq_line_new(probe_set, &p->gsi[i], i);
    }
}

static void pcfx_fini(PCFixture *p)
{
    for (int i = 0; i < PC_NUM_GSI; i++) {
        irq_line_free(p->m.gsi[i]);
    }
    as_free(p->m.as);
    machine_set_current(NULL);
    machine_config_clear(&p->cfg);
}

static void test_pc_com_ports(void)
{
    static const char *const specs[] = { "null", "null", "null", "null", NULL };
    PCFixture p;
    pcfx_init(&p, specs);
    GError *err = NULL;
    PCSerial *ps = pc_serial_new(&p.m, &err);
    g_assert_no_error(err);
    g_assert_nonnull(ps);

    /* Each port answers at its base: scratch registers are separate. */
    for (int i = 0; i < 4; i++) {
        as_port_write(p.m.as, pc_serial_base[i] + UART_SCR, 0x10 + i, 1);
    }
    for (int i = 0; i < 4; i++) {
        g_assert_cmphex(as_port_read(p.m.as, pc_serial_base[i] + UART_SCR, 1),
                        ==, 0x10 + i);
        g_assert_cmphex(as_port_read(p.m.as, pc_serial_base[i] + UART_LSR, 1),
                        ==, 0x60);
    }
    g_assert_cmphex(pc_serial_base[0], ==, 0x3f8);
    g_assert_cmphex(pc_serial_base[3], ==, 0x2e8);

    /* COM1 raises IRQ4, COM2 IRQ3. */
    as_port_write(p.m.as, 0x3f8 + UART_MCR, UART_MCR_OUT2, 1);
    as_port_write(p.m.as, 0x3f8 + UART_IER, UART_IER_ETBEI, 1);
    g_assert_cmpint(p.gsi[4].level, ==, 1);
    g_assert_cmpint(p.gsi[3].level, ==, 0);
    as_port_write(p.m.as, 0x2f8 + UART_MCR, UART_MCR_OUT2, 1);
    as_port_write(p.m.as, 0x2f8 + UART_IER, UART_IER_ETBEI, 1);
    g_assert_cmpint(p.gsi[3].level, ==, 1);

    /* COM3 shares IRQ4: the line stays up while either asks for it. */
    as_port_write(p.m.as, 0x3e8 + UART_MCR, UART_MCR_OUT2, 1);
    as_port_write(p.m.as, 0x3e8 + UART_IER, UART_IER_ETBEI, 1);
    g_assert_cmpint(p.gsi[4].level, ==, 1);
    as_port_read(p.m.as, 0x3f8 + UART_IIR, 1);     /* COM1 acknowledged */
    g_assert_cmpint(p.gsi[4].level, ==, 1);
    as_port_read(p.m.as, 0x3e8 + UART_IIR, 1);     /* and COM3 */
    g_assert_cmpint(p.gsi[4].level, ==, 0);
    /* A port with OUT2 off does not pull the shared line. */
    as_port_write(p.m.as, 0x3e8 + UART_MCR, 0, 1);
    as_port_write(p.m.as, 0x3e8 + UART_IER, 0, 1);
    as_port_write(p.m.as, 0x3e8 + UART_IER, UART_IER_ETBEI, 1);
    g_assert_cmpint(p.gsi[4].level, ==, 0);

    /* The reset hook resets every port. */
    machine_run_reset_hooks(&p.m);
    g_assert_cmphex(as_port_read(p.m.as, 0x2f8 + UART_IER, 1), ==, 0);
    g_assert_cmpint(p.gsi[3].level, ==, 0);

    pc_serial_free(ps);
    /* The ports are gone again. */
    g_assert_cmphex(as_port_read(p.m.as, 0x3f8 + UART_SCR, 1), ==, 0xff);
    pcfx_fini(&p);
}

static void test_pc_only_given_ports(void)
{
    static const char *const specs[] = { "null", NULL };
    PCFixture p;
    pcfx_init(&p, specs);
    GError *err = NULL;
    PCSerial *ps = pc_serial_new(&p.m, &err);
    g_assert_no_error(err);
    g_assert_cmphex(as_port_read(p.m.as, 0x3f8 + UART_LSR, 1), ==, 0x60);
    g_assert_cmphex(as_port_read(p.m.as, 0x2f8 + UART_LSR, 1), ==, 0xff);
    g_assert_null(ps->port[1]);
    pc_serial_free(ps);
    pcfx_fini(&p);
}

static void test_pc_backend_errors(void)
{
    char *dir = g_dir_make_tmp("vmkemu-serial-XXXXXX", NULL);
    char *sock = g_build_filename(dir, "refuses", NULL);
    char *spec = g_strdup_printf("unix:%s", sock);

    /* A socket nobody listens on: connection refused. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_strlcpy(sa.sun_path, sock, sizeof(sa.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);

    const char *specs[] = { "null", spec, NULL };
    PCFixture p;
    pcfx_init(&p, specs);
    GError *err = NULL;
    g_assert_null(pc_serial_new(&p.m, &err));
    g_assert_nonnull(err);
    char *want = g_strdup_printf("-serial unix:%s: Connection refused", sock);
    g_assert_cmpstr(err->message, ==, want);
    g_free(want);
    g_clear_error(&err);
    /* Nothing is left mapped after the failure. */
    g_assert_cmphex(as_port_read(p.m.as, 0x3f8 + UART_LSR, 1), ==, 0xff);
    pcfx_fini(&p);

    const char *specs2[] = { "file:/nonexistent-dir/x/out", NULL };
    pcfx_init(&p, specs2);
    g_assert_null(pc_serial_new(&p.m, &err));
    g_assert_cmpstr(err->message, ==,
                    "-serial file:/nonexistent-dir/x/out: No such file or directory");
    g_clear_error(&err);
    pcfx_fini(&p);

    close(fd);
    unlink(sock);
    rmdir(dir);
    g_free(spec);
    g_free(sock);
    g_free(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/serial/reset-values", test_reset_values);
    g_test_add_func("/serial/scratch-and-masks", test_scratch_and_masks);
    g_test_add_func("/serial/divisor-latch", test_divisor_latch);
    g_test_add_func("/serial/transmit-instant", test_transmit_instant);
    g_test_add_func("/serial/thre-interrupt", test_thre_interrupt);
    g_test_add_func("/serial/transmit-paced", test_transmit_paced);
    g_test_add_func("/serial/out2-gating", test_out2_gating);
    g_test_add_func("/serial/receive-no-fifo", test_receive_no_fifo);
    g_test_add_func("/serial/fifo-trigger-levels", test_fifo_trigger_levels);
    g_test_add_func("/serial/fifo-capacity-overrun", test_fifo_capacity_and_overrun);
    g_test_add_func("/serial/character-timeout", test_character_timeout);
    g_test_add_func("/serial/line-errors", test_line_errors);
    g_test_add_func("/serial/interrupt-priorities", test_interrupt_priorities);
    g_test_add_func("/serial/modem-status-deltas", test_modem_status_deltas);
    g_test_add_func("/serial/loopback", test_loopback);
    g_test_add_func("/serial/fifo64", test_fifo64);
    g_test_add_func("/serial/master-reset", test_master_reset);
    g_test_add_func("/serial/pc-com-ports", test_pc_com_ports);
    g_test_add_func("/serial/pc-only-given-ports", test_pc_only_given_ports);
    g_test_add_func("/serial/pc-backend-errors", test_pc_backend_errors);
    return g_test_run();
}
