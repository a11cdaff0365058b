/*
 * The 16550A UART, after the National Semiconductor (now TI) PC16550D
 * datasheet: "PC16550D Universal Asynchronous Receiver/Transmitter with
 * FIFOs", sections 8 (registers), 8.4 (FCR), 8.5 (IIR), 8.6 (IER), 8.7
 * (MCR, loopback), 8.8 (MSR) and 8.9 (FIFO interrupt and polled modes).
 *
 * Registers: RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, and the divisor
 * latch DLL/DLM behind LCR.DLAB.  Without FIFOs (FCR bit 0 clear) the chip
 * is a 16450: one-byte holding registers, an unread byte is overwritten on
 * overrun.  With FIFOs the receiver holds 16 bytes with a trigger level of
 * 1/4/8/14, flags overrun when a byte arrives at a full FIFO (the byte is
 * lost), reports line errors (PE/FE/BI) of the byte at the top of the FIFO
 * and LSR bit 7 while any errored byte is queued, and raises the character
 * timeout indication when bytes have waited 4 character times (at the
 * programmed divisor and word format, on the virtual clock) with neither a
 * new byte nor a CPU read.
 *
 * 64-byte FIFOs: the issue asks for 64-byte FIFOs, which the 16550A does
 * not have; the TI TL16C750 does.  This model resets to the 16550A's 16-byte
 * FIFOs and also implements the 16750's FCR bit 5, which can be written only
 * while LCR.DLAB is set and selects 64-byte FIFOs with trigger levels
 * 1/16/32/56; IIR bit 5 then reads 1.  Software that knows the 16750 (Linux
 * probes exactly this) gets 64 bytes; software that does not sees a 16550A.
 * The 16750's other extras (auto flow control, sleep modes) are absent.
 *
 * Interrupts, by priority (IIR bits 3-1): receiver line status (OE, PE,
 * FE, BI; cleared by reading LSR), received data at the trigger level or
 * character timeout (cleared by reading below the trigger level / reading a
 * byte), THR empty (set when the THR or transmit FIFO empties, and when
 * ETBEI goes from 0 to 1 while it is empty; cleared by reading IIR when it
 * is the source shown, or by writing THR), modem status (MSR deltas;
 * cleared by reading MSR).  As on every PC, the INTR output reaches the
 * interrupt line only while MCR.OUT2 is set.  PC chipsets gate INTR with
 * the OUT2 register bit itself, so the gate follows the bit in loopback
 * mode too, where the datasheet forces the OUT2 pin inactive.
 *
 * Loopback (MCR bit 4): transmitted bytes come back to the receiver (the
 * backend neither sees them nor delivers input), a break set with LCR bit 6
 * is received as a 0 byte with BI, and the modem outputs drive the modem
 * inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD, with MSR delta bits as
 * for real input changes (TERI when RI falls).
 *
 * Transmission: by default each byte goes to the backend as soon as the
 * guest writes it, and THRE/TEMT and the THRE interrupt behave as after a
 * transmitter that is infinitely fast; serial16550a_set_paced(true) shifts
 * bytes out at the programmed rate on the virtual clock instead (THRE when
 * the holding register/FIFO is empty, TEMT when the shift register is too).
 * The datasheet's one-character delay of the first THRE after a single byte
 * in FIFO mode is not modelled.  Reception takes from the backend only as
 * many bytes as the FIFO (or holding register) has room for.
 */
#include <string.h>
#include "hw/serial-16550a.h"
#include "vmstate.h"

static const uint8_t trigger16[4] = { 1, 4, 8, 14 };
static const uint8_t trigger64[4] = { 1, 16, 32, 56 };

static bool fifo_enabled(const Serial16550A *s)
{
    return s->r.fcr & UART_FCR_ENABLE;
}

static unsigned fifo_capacity(const Serial16550A *s)
{
    if (!fifo_enabled(s)) {
        return 1;
    }
    return (s->r.fcr & UART_FCR_FIFO64) ? 64 : 16;
}

static unsigned rx_trigger(const Serial16550A *s)
{
    if (!fifo_enabled(s)) {
        return 1;
    }
    const uint8_t *t = (s->r.fcr & UART_FCR_FIFO64) ? trigger64 : trigger16;
    return t[s->r.fcr >> 6];
}

static bool loopback(const Serial16550A *s)
{
    return s->r.mcr & UART_MCR_LOOP;
}

int64_t serial16550a_char_time_ns(const Serial16550A *s)
{
    unsigned data = 5 + (s->r.lcr & UART_LCR_WLS);
    unsigned parity = (s->r.lcr & UART_LCR_PEN) ? 1 : 0;
    /* In half bits: start, data, parity, then 1, 1.5 or 2 stop bits. */
    unsigned stop2 = !(s->r.lcr & UART_LCR_STB) ? 2 : data == 5 ? 3 : 4;
    int64_t half_bits = 2 * (1 + data + parity) + stop2;
    int64_t divisor = s->r.divisor ? s->r.divisor : 65536;
    return half_bits * divisor * 16 * NS_PER_SEC / (2 * (int64_t)UART_CLOCK_HZ);
}

/* --- interrupts ---------------------------------------------------------- */

/* The IIR identification of the highest-priority pending source. */
static uint8_t serial_pending(const Serial16550A *s)
{
    const Serial16550ARegs *r = &s->r;

    if ((r->ier & UART_IER_ELSI) &&
        (r->lsr & (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI))) {
        return UART_IIR_RLSI;
    }
    if (r->ier & UART_IER_ERBFI) {
        if (r->rx_count && r->rx_count >= rx_trigger(s)) {
            return UART_IIR_RDI;
        }
        if (r->timeout_pending) {
            return UART_IIR_CTI;
        }
    }
    if ((r->ier & UART_IER_ETBEI) && r->thr_pending) {
        return UART_IIR_THRI;
    }
    if ((r->ier & UART_IER_EDSSI) && (r->msr & 0x0f)) {
        return UART_IIR_MSI;
    }
    return UART_IIR_NO_INT;
}

static void serial_update_irq(Serial16550A *s)
{
    int level = serial_pending(s) != UART_IIR_NO_INT &&
                (s->r.mcr & UART_MCR_OUT2);
    if (s->irq && s->irq->level != level) {
        irq_set(s->irq, level);
    }
}

/* --- receiver ------------------------------------------------------------ */

static void timeout_arm(Serial16550A *s)
{
    s->r.timeout_deadline = vclock_ns() + 4 * serial16550a_char_time_ns(s);
    vtimer_mod(s->timeout_timer, s->r.timeout_deadline);
}

static void timeout_stop(Serial16550A *s)
{
    s->r.timeout_deadline = -1;
    vtimer_del(s->timeout_timer);
}

static void timeout_fire(void *opaque)
{
    Serial16550A *s = opaque;

    s->r.timeout_deadline = -1;
    if (fifo_enabled(s) && s->r.rx_count) {
        s->r.timeout_pending = true;
        serial_update_irq(s);
    }
}

/* Any errored byte queued behind the top one (LSR bit 7 after an LSR read). */
static bool rx_errors_behind_top(const Serial16550A *s)
{
    for (unsigned i = 1; i < s->r.rx_count; i++) {
        if (s->r.rx_err[(s->r.rx_head + i) % UART_FIFO_MAX]) {
            return true;
        }
    }
    return false;
}

void serial16550a_receive(Serial16550A *s, uint8_t c, uint8_t lsr_errors)
{
    Serial16550ARegs *r = &s->r;
    uint8_t err = lsr_errors & (UART_LSR_PE | UART_LSR_FE | UART_LSR_BI);

    if (r->rx_count >= fifo_capacity(s)) {
        r->lsr |= UART_LSR_OE;
        if (!fifo_enabled(s)) {
            /* 16450 mode: the new byte overwrites the unread one. */
            r->rx_fifo[r->rx_head] = c;
            r->rx_err[r->rx_head] = err;
            r->lsr |= err;
        }
        /* FIFO mode: the byte in the shift register is lost. */
    } else {
        unsigned idx = (r->rx_head + r->rx_count) % UART_FIFO_MAX;
        r->rx_fifo[idx] = c;
        r->rx_err[idx] = err;
        r->rx_count++;
        if (r->rx_count == 1) {
            r->lsr |= err;          /* it is at the top: its errors show */
        }
        if (err) {
            r->rx_fifo_error = true;
        }
    }
    if (fifo_enabled(s) && !r->timeout_pending) {
        timeout_arm(s);
    }
    serial_update_irq(s);
}

static uint8_t rbr_read(Serial16550A *s)
{
    Serial16550ARegs *r = &s->r;

    if (!r->rx_count) {
        return r->rbr_last;
    }
    uint8_t c = r->rx_fifo[r->rx_head];
    r->rx_head = (r->rx_head + 1) % UART_FIFO_MAX;
    r->rx_count--;
    r->rbr_last = c;
    if (r->rx_count) {
        r->lsr |= r->rx_err[r->rx_head];
    }
    r->timeout_pending = false;
    if (fifo_enabled(s) && r->rx_count) {
        timeout_arm(s);
    } else {
        timeout_stop(s);
    }
    serial_update_irq(s);
    chardev_accept_input(s->chr);
    return c;
}

static void rx_reset(Serial16550A *s)
{
    s->r.rx_head = s->r.rx_count = 0;
    s->r.rx_fifo_error = false;
    s->r.timeout_pending = false;
    timeout_stop(s);
}

/* --- transmitter --------------------------------------------------------- */

static void tx_emit(Serial16550A *s, uint8_t c)
{
    if (loopback(s)) {
        serial16550a_receive(s, c, 0);
    } else if (s->chr) {
        chardev_write(s->chr, &c, 1);
    }
}

static uint8_t tx_pop(Serial16550A *s)
{
    uint8_t c = s->r.tx_fifo[s->r.tx_head];
    s->r.tx_head = (s->r.tx_head + 1) % UART_FIFO_MAX;
    s->r.tx_count--;
    if (s->r.tx_count == 0) {
        s->r.thr_pending = true;    /* the holding register/FIFO emptied */
    }
    return c;
}

/* Start shifting out if the transmitter is idle. */
static void tx_kick(Serial16550A *s)
{
    Serial16550ARegs *r = &s->r;

    if (r->tsr_busy || !r->tx_count) {
        return;
    }
    if (!s->paced) {
        while (r->tx_count) {
            tx_emit(s, tx_pop(s));
        }
        return;
    }
    r->tsr = tx_pop(s);
    r->tsr_busy = true;
    r->tx_deadline = vclock_ns() + serial16550a_char_time_ns(s);
    vtimer_mod(s->tx_timer, r->tx_deadline);
}

static void tx_fire(void *opaque)
{
    Serial16550A *s = opaque;

    s->r.tx_deadline = -1;
    if (s->r.tsr_busy) {
        s->r.tsr_busy = false;
        tx_emit(s, s->r.tsr);
    }
    tx_kick(s);
    serial_update_irq(s);
}

static void thr_write(Serial16550A *s, uint8_t v)
{
    Serial16550ARegs *r = &s->r;

    if (r->tx_count < fifo_capacity(s)) {
        r->tx_fifo[(r->tx_head + r->tx_count) % UART_FIFO_MAX] = v;
        r->tx_count++;
    }
    /* A byte written to a full FIFO is lost. */
    r->thr_pending = false;
    tx_kick(s);
    serial_update_irq(s);
}

static void tx_reset(Serial16550A *s)
{
    if (s->r.tx_count) {
        s->r.tx_count = 0;
        s->r.thr_pending = true;
    }
    s->r.tx_head = 0;
}

/* --- modem lines --------------------------------------------------------- */

static void msr_update(Serial16550A *s)
{
    Serial16550ARegs *r = &s->r;
    uint8_t lines;

    if (loopback(s)) {
        lines = ((r->mcr & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
                ((r->mcr & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
                ((r->mcr & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
                ((r->mcr & UART_MCR_OUT2) ? UART_MSR_DCD : 0);
    } else {
        lines = r->msr_ext & 0xf0;
    }
    uint8_t old = r->msr & 0xf0;
    uint8_t changed = old ^ lines;
    if (changed & UART_MSR_CTS) {
        r->msr |= UART_MSR_DCTS;
    }
    if (changed & UART_MSR_DSR) {
        r->msr |= UART_MSR_DDSR;
    }
    if (changed & UART_MSR_DCD) {
        r->msr |= UART_MSR_DDCD;
    }
    if ((old & UART_MSR_RI) && !(lines & UART_MSR_RI)) {
        r->msr |= UART_MSR_TERI;
    }
    r->msr = (r->msr & 0x0f) | lines;
}

void serial16550a_set_modem_inputs(Serial16550A *s, uint8_t msr_lines)
{
    s->r.msr_ext = msr_lines & 0xf0;
    msr_update(s);
    serial_update_irq(s);
}

/* --- registers ----------------------------------------------------------- */

static uint8_t lsr_value(const Serial16550A *s)
{
    const Serial16550ARegs *r = &s->r;
    uint8_t v = r->lsr & (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI);

    if (r->rx_count) {
        v |= UART_LSR_DR;
    }
    if (!r->tx_count) {
        v |= UART_LSR_THRE;
        if (!r->tsr_busy) {
            v |= UART_LSR_TEMT;
        }
    }
    if (fifo_enabled(s) && r->rx_fifo_error) {
        v |= UART_LSR_FIFOE;
    }
    return v;
}

static void fcr_write(Serial16550A *s, uint8_t v)
{
    Serial16550ARegs *r = &s->r;
    bool was_enabled = fifo_enabled(s);

    if (!(v & UART_FCR_ENABLE)) {
        /* FIFOs off: the other bits are not programmed; both FIFOs clear. */
        if (was_enabled) {
            rx_reset(s);
            tx_reset(s);
        }
        r->fcr = 0;
    } else {
        uint8_t fifo64 = (r->lcr & UART_LCR_DLAB) ? (v & UART_FCR_FIFO64)
                                                  : (r->fcr & UART_FCR_FIFO64);
        if (!was_enabled || fifo64 != (r->fcr & UART_FCR_FIFO64)) {
            rx_reset(s);
            tx_reset(s);
        }
        r->fcr = (v & (UART_FCR_ENABLE | UART_FCR_DMA | UART_FCR_TRIGGER)) | fifo64;
        if (v & UART_FCR_RX_RESET) {
            rx_reset(s);
        }
        if (v & UART_FCR_TX_RESET) {
            tx_reset(s);
        }
    }
    serial_update_irq(s);
    chardev_accept_input(s->chr);
}

static uint64_t serial_read(void *opaque, uint64_t offset, unsigned size)
{
    Serial16550A *s = opaque;
    Serial16550ARegs *r = &s->r;
    bool dlab = r->lcr & UART_LCR_DLAB;
    uint8_t v;

    switch (offset) {
    case UART_RBR:
        return dlab ? (r->divisor & 0xff) : rbr_read(s);
    case UART_IER:
        return dlab ? (r->divisor >> 8) : r->ier;
    case UART_IIR: {
        uint8_t id = serial_pending(s);
        v = id;
        if (fifo_enabled(s)) {
            v |= UART_IIR_FIFOS | ((r->fcr & UART_FCR_FIFO64) ? UART_IIR_FIFO64 : 0);
        }
        if (id == UART_IIR_THRI) {
            r->thr_pending = false;
            serial_update_irq(s);
        }
        return v;
    }
    case UART_LCR:
        return r->lcr;
    case UART_MCR:
        return r->mcr;
    case UART_LSR:
        v = lsr_value(s);
        r->lsr &= ~(UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI);
        r->rx_fifo_error = rx_errors_behind_top(s);
        serial_update_irq(s);
        return v;
    case UART_MSR:
        v = r->msr;
        r->msr &= 0xf0;
        serial_update_irq(s);
        return v;
    case UART_SCR:
        return r->scr;
    }
    return 0xff;
}

static void serial_write(void *opaque, uint64_t offset, uint64_t value,
                         unsigned size)
{
    Serial16550A *s = opaque;
    Serial16550ARegs *r = &s->r;
    bool dlab = r->lcr & UART_LCR_DLAB;
    uint8_t v = value;

    switch (offset) {
    case UART_THR:
        if (dlab) {
            r->divisor = (r->divisor & 0xff00) | v;
        } else {
            thr_write(s, v);
        }
        break;
    case UART_IER:
        if (dlab) {
            r->divisor = (r->divisor & 0x00ff) | (v << 8);
        } else {
            uint8_t old = r->ier;
            r->ier = v & 0x0f;
            if (!(old & UART_IER_ETBEI) && (r->ier & UART_IER_ETBEI) &&
                !r->tx_count) {
                r->thr_pending = true;
            }
            serial_update_irq(s);
        }
        break;
    case UART_FCR:
        fcr_write(s, v);
        break;
    case UART_LCR: {
        uint8_t old = r->lcr;
        r->lcr = v;
        if (loopback(s) && (v & UART_LCR_SBC) && !(old & UART_LCR_SBC)) {
            serial16550a_receive(s, 0, UART_LSR_BI);
        }
        break;
    }
    case UART_MCR: {
        uint8_t old = r->mcr;
        r->mcr = v & 0x1f;
        msr_update(s);
        serial_update_irq(s);
        if ((old & UART_MCR_LOOP) && !loopback(s)) {
            chardev_accept_input(s->chr);
        }
        break;
    }
    case UART_LSR:
    case UART_MSR:
        break;      /* factory test registers: writes are ignored */
    case UART_SCR:
        r->scr = v;
        break;
    }
}

static const IoOps serial_ops = {
    .read = serial_read,
    .write = serial_write,
    .max_access = 1,
};

/* --- backend ------------------------------------------------------------- */

static size_t serial_can_read(void *opaque)
{
    Serial16550A *s = opaque;

    if (loopback(s)) {
        return 0;           /* SIN is disconnected */
    }
    return fifo_capacity(s) - s->r.rx_count;
}

static void serial_chr_read(void *opaque, const uint8_t *buf, size_t len)
{
    Serial16550A *s = opaque;

    for (size_t i = 0; i < len; i++) {
        serial16550a_receive(s, buf[i], 0);
    }
}

static void serial_chr_event(void *opaque, ChardevEvent event)
{
    Serial16550A *s = opaque;

    if (event == CHARDEV_EVENT_BREAK && !loopback(s)) {
        serial16550a_receive(s, 0, UART_LSR_BI);
    }
}

/* --- life cycle ---------------------------------------------------------- */

void serial16550a_reset(Serial16550A *s)
{
    Serial16550ARegs *r = &s->r;

    r->ier = 0;
    r->fcr = 0;
    r->lcr = 0;
    r->mcr = 0;
    r->lsr = 0;
    r->msr = r->msr_ext & 0xf0;
    r->rbr_last = 0;
    rx_reset(s);
    r->tx_head = r->tx_count = 0;
    r->tsr_busy = false;
    r->tx_deadline = -1;
    vtimer_del(s->tx_timer);
    r->thr_pending = false;
    serial_update_irq(s);
    chardev_accept_input(s->chr);
}

void serial16550a_set_paced(Serial16550A *s, bool paced)
{
    s->paced = paced;
    if (!paced) {
        tx_kick(s);
        serial_update_irq(s);
    }
}

void serial16550a_post_load(Serial16550A *s)
{
    if (s->r.timeout_deadline >= 0) {
        vtimer_mod(s->timeout_timer, s->r.timeout_deadline);
    } else {
        vtimer_del(s->timeout_timer);
    }
    if (s->r.tx_deadline >= 0) {
        vtimer_mod(s->tx_timer, s->r.tx_deadline);
    } else {
        vtimer_del(s->tx_timer);
    }
    serial_update_irq(s);
}

static int serial_vmstate_post_load(void *opaque, uint32_t version, GError **errp)
{
    Serial16550A *s = opaque;
    Serial16550ARegs *r = &s->r;

    if (r->rx_head >= UART_FIFO_MAX || r->rx_count > UART_FIFO_MAX ||
        r->tx_head >= UART_FIFO_MAX || r->tx_count > UART_FIFO_MAX ||
        r->timeout_deadline < -1 || r->tx_deadline < -1) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "FIFO positions or deadlines out of range");
        return -1;
    }
    serial16550a_post_load(s);
    chardev_accept_input(s->chr);
    return 0;
}

const VMStateDescription serial16550a_vmstate = {
    .name = "serial-16550a",
    .version = 1,
    .post_load = serial_vmstate_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8(Serial16550A, r.ier),
        VMSTATE_UINT8(Serial16550A, r.fcr),
        VMSTATE_UINT8(Serial16550A, r.lcr),
        VMSTATE_UINT8(Serial16550A, r.mcr),
        VMSTATE_UINT8(Serial16550A, r.scr),
        VMSTATE_UINT8(Serial16550A, r.lsr),
        VMSTATE_UINT8(Serial16550A, r.msr),
        VMSTATE_UINT8(Serial16550A, r.msr_ext),
        VMSTATE_UINT16(Serial16550A, r.divisor),
        VMSTATE_UINT8(Serial16550A, r.rbr_last),
        VMSTATE_UINT8_ARRAY(Serial16550A, r.rx_fifo, UART_FIFO_MAX),
        VMSTATE_UINT8_ARRAY(Serial16550A, r.rx_err, UART_FIFO_MAX),
        VMSTATE_UINT8(Serial16550A, r.rx_head),
        VMSTATE_UINT8(Serial16550A, r.rx_count),
        VMSTATE_BOOL(Serial16550A, r.rx_fifo_error),
        VMSTATE_BOOL(Serial16550A, r.timeout_pending),
        VMSTATE_INT64(Serial16550A, r.timeout_deadline),
        VMSTATE_UINT8_ARRAY(Serial16550A, r.tx_fifo, UART_FIFO_MAX),
        VMSTATE_UINT8(Serial16550A, r.tx_head),
        VMSTATE_UINT8(Serial16550A, r.tx_count),
        VMSTATE_BOOL(Serial16550A, r.tsr_busy),
        VMSTATE_UINT8(Serial16550A, r.tsr),
        VMSTATE_INT64(Serial16550A, r.tx_deadline),
        VMSTATE_BOOL(Serial16550A, r.thr_pending),
        VMSTATE_END
    },
};

Serial16550A *serial16550a_new(AddressSpace *as, uint16_t base, IrqLine *irq,
                               Chardev *chr)
{
    Serial16550A *s = g_new0(Serial16550A, 1);

    s->as = as;
    s->base = base;
    s->irq = irq;
    s->chr = chr;
    s->timeout_timer = vtimer_new(timeout_fire, s);
    s->tx_timer = vtimer_new(tx_fire, s);
    s->r.divisor = 12;          /* 9600 baud until the guest says otherwise */
    s->r.msr_ext = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
    serial16550a_reset(s);
    if (as) {
        if (as_add_ports(as, "serial-16550a", base, 8, &serial_ops, s) < 0) {
            serial16550a_free(s);
            return NULL;
        }
        s->ports_mapped = true;
    }
    if (chr) {
        chardev_set_frontend(chr, serial_can_read, serial_chr_read, s);
        chardev_set_event_handler(chr, serial_chr_event);
    }
    return s;
}

void serial16550a_free(Serial16550A *s)
{
    if (!s) {
        return;
    }
    if (s->chr) {
        chardev_set_frontend(s->chr, NULL, NULL, NULL);
    }
    if (s->ports_mapped) {
        as_remove_ports(s->as, s->base);
    }
    vtimer_free(s->timeout_timer);
    vtimer_free(s->tx_timer);
    g_free(s);
}
