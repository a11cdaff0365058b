# Helpers for the test-guest TAP scripts (tests/guest/*.t), which source
# this file.  Each script boots tiny guests (tests/guest/*.asm, assembled to
# $VMKEMU_BUILD/tests/guest/*.bin) with -bios and checks how vmkemu ends:
# its exit status (a guest writes N to the test-exit port: status
# (N << 1) | 1), its stdout (the debug console, port 0xe9) and its stderr.
#
# Accelerators: every name in VMKEMU_TEST_ACCELS (default "kvm emu").  Each
# is first asked to run the hello guest; while vmkemu refuses it with a
# one-line "-accel NAME: ..." error (no usable /dev/kvm, or "not available
# yet" from the emulator) its tests are TAP skips that quote that line.
# KVM runs every guest twice: with its in-kernel irqchip and with
# -userspace-irqchip (vmkemu's own PIC/PIT models).
#
# A guest prints "SKIP: reason" and exits with GUEST_SKIP when a device it
# needs does not answer (a model that has not landed yet): a TAP skip too.

VMKEMU="$VMKEMU_BUILD/vmkemu"
GUEST_DIR="$VMKEMU_BUILD/tests/guest"
: "${VMKEMU_TEST_ACCELS:=kvm emu}"
: "${GUEST_TIMEOUT:=30}"

# Exit statuses for the guests' exit codes (tests/guest/common.inc).
ST_PASS=65
ST_HELLO=85
ST_FAIL=97
ST_SKIP=113
ST_UNEXPECTED=117

work=$(mktemp -d "${TMPDIR:-/tmp}/vmkemu-guest.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP

# --- TAP ---------------------------------------------------------------------
tap_n=0
tap_ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
tap_not_ok() { tap_n=$((tap_n + 1)); echo "not ok $tap_n - $*"; }
tap_skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n # skip $*"; }
# tap_diag FILE...: the files' last lines as TAP comments, printable only.
tap_diag() {
    for f in "$@"; do
        [ -s "$f" ] || continue
        echo "# --- $(basename "$f"):"
        tail -n 15 "$f" | tr -c '[:print:]\n' '?' | sed 's/^/#   /'
    done
}
tap_done() { echo "1..$tap_n"; }

# --- running vmkemu ------------------------------------------------------------

# run_vmkemu ARGS...: run vmkemu under a timeout, stdin from /dev/null;
# sets rc, leaves stdout in $work/out and stderr in $work/err.
run_vmkemu() {
    timeout -k 5 "$GUEST_TIMEOUT" "$VMKEMU" "$@" </dev/null >"$work/out" 2>"$work/err"
    rc=$?
}

# run_guest GUEST ARGS...: boot GUEST.bin with -bios and -nographic.
run_guest() {
    guest=$1
    shift
    run_vmkemu -bios "$GUEST_DIR/$guest.bin" -nographic "$@"
}

# accel_usable NAME: false (with the reason in accel_why) while vmkemu
# refuses -accel NAME with a one-line error.
accel_usable() {
    accel_why=
    run_guest hello -accel "$1" -serial null
    [ "$rc" = "$ST_HELLO" ] && return 0
    accel_why=$(grep -m1 -e "-accel $1:" "$work/err" | sed 's/^vmkemu: //')
    # It starts but hello fails: the tests will show how.
    [ -z "$accel_why" ]
}

# for_each_variant FUNC: call FUNC ACCEL LABEL [EXTRA-ARGS...] for every
# usable accelerator and mode; a skip for each unusable accelerator.
for_each_variant() {
    fn=$1
    for accel in $VMKEMU_TEST_ACCELS; do
        if ! accel_usable "$accel"; then
            tap_skip "$accel_why"
            continue
        fi
        "$fn" "$accel" "$accel"
        if [ "$accel" = kvm ]; then
            "$fn" kvm "kvm -userspace-irqchip" -userspace-irqchip
        fi
    done
}

# --- checks --------------------------------------------------------------------

sanitizer_report() {
    grep -q -E 'Sanitizer|runtime error:' "$work/err"
}

# expect_status DESC STATUS: the last run ended with STATUS.  A guest skip
# (unless STATUS is the skip status) becomes a TAP skip.  False when the
# test did not pass, so that checks of the same run can be chained with &&.
expect_status() {
    desc=$1
    want=$2
    if [ "$rc" = "$ST_SKIP" ] && [ "$want" != "$ST_SKIP" ]; then
        tap_skip "$desc: $(grep -a -m1 '^SKIP: ' "$work/out" | sed 's/^SKIP: //')"
        return 1
    fi
    if sanitizer_report; then
        tap_not_ok "$desc (sanitizer report on stderr)"
        tap_diag "$work/err"
        return 1
    fi
    if [ "$rc" = "$want" ]; then
        tap_ok "$desc"
        return 0
    fi
    why="exit status $rc, expected $want"
    [ "$rc" = 124 ] && why="$why: timed out after ${GUEST_TIMEOUT}s"
    tap_not_ok "$desc ($why)"
    tap_diag "$work/out" "$work/err"
    return 1
}

# expect_out PATTERN DESC / expect_err PATTERN DESC: the last run's stdout
# (stderr) has a line matching the basic regular expression PATTERN.
expect_out() {
    if grep -a -q -e "$1" "$work/out"; then
        tap_ok "$2"
    else
        tap_not_ok "$2 (no '$1' on stdout)"
        tap_diag "$work/out" "$work/err"
    fi
}

expect_err() {
    if grep -a -q -e "$1" "$work/err"; then
        tap_ok "$2"
    else
        tap_not_ok "$2 (no '$1' on stderr)"
        tap_diag "$work/err"
    fi
}

# expect_no_out PATTERN DESC: no stdout line matches PATTERN.
expect_no_out() {
    if grep -a -q -e "$1" "$work/out"; then
        tap_not_ok "$2 ('$1' on stdout)"
        tap_diag "$work/out"
    else
        tap_ok "$2"
    fi
}

# expect_no_err PATTERN DESC: no stderr line matches PATTERN.
expect_no_err() {
    if grep -a -q -e "$1" "$work/err"; then
        tap_not_ok "$2 ('$1' on stderr)"
        tap_diag "$work/err"
    else
        tap_ok "$2"
    fi
}
