#!/bin/sh
# CPU test guests: each tests/cpu/*.asm is assembled with nasm, booted with
# `vmkemu -accel emu -bios IMAGE`, and must print (stdout or stderr) the
# text its "; expect:" comment names and exit with the status of its
# "; expect-status:" comment (default 67: port 0xf4 written with 0x21);
# "; args:" adds vmkemu options.
src="${VMKEMU_SRC:-.}/tests/cpu"
vmkemu="${VMKEMU_BUILD:-.}/vmkemu"
# The ROM loader keeps its buffer for the life of the process; do not let
# LeakSanitizer turn that into a failing exit status.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
set -- "$src"/*.asm
echo "1..$#"
if ! command -v nasm >/dev/null 2>&1; then
    n=0
    for f; do n=$((n+1)); echo "ok $n # skip nasm not installed"; done
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for f; do
    n=$((n+1))
    name=$(basename "$f" .asm)
    expect=$(sed -n 's/^; expect: //p' "$f")
    want=$(sed -n 's/^; expect-status: //p' "$f")
    want=${want:-67}
    args=$(sed -n 's/^; args: //p' "$f")
    if ! nasm -f bin -I"$src/" -o "$tmp/$name.bin" "$f" 2>"$tmp/$name.nasm"; then
        echo "not ok $n - $name: nasm failed: $(head -1 "$tmp/$name.nasm")"
        continue
    fi
    out=$(timeout 60 "$vmkemu" -accel emu -m 16 $args -bios "$tmp/$name.bin" 2>&1)
    rc=$?
    if [ "$rc" = "$want" ] && printf '%s\n' "$out" | grep -qF -- "$expect"; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name (exit $rc, expected $want and '$expect')"
        printf '%s\n' "$out" | sed 's/^/# /' | tail -5
    fi
done
