#!/bin/sh
# Run every libFuzzer target briefly (VMKEMU_FUZZ_SECONDS each, default 8)
# from its seed corpus.  A crash, leak or sanitizer report fails the test and
# leaves the reproducer in the log.
build="$VMKEMU_BUILD"
src="$VMKEMU_SRC"
secs=${VMKEMU_FUZZ_SECONDS:-8}
targets=$(ls "$build"/tests/fuzz/fuzz-* 2>/dev/null | grep -v '\.[a-z]*$')
if [ -z "$targets" ]; then
    echo "1..0 # SKIP no libFuzzer targets built (clang with -fsanitize=fuzzer not found)"
    exit 0
fi
echo "1..$(echo "$targets" | wc -l)"
n=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in $targets; do
    n=$((n+1))
    name=${t##*/fuzz-}
    mkdir -p "$work/$name"
    if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$work/$name-" "$work/$name" "$src/tests/fuzz/corpus/$name" \
            >"$work/$name.log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$')
        echo "ok $n - fuzz-$name: ${runs:-?} inputs, no crash"
    else
        echo "not ok $n - fuzz-$name"
        tail -40 "$work/$name.log" | sed 's/^/# /'
    fi
done
