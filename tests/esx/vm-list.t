#!/bin/sh
# vm-list registration through vmware-control -s, and concurrent writers.
ctl="$VMKEMU_BUILD/vmware-control"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export VMKEMU_VMLIST="$dir/vm-list"
n=0
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }

echo "1..12"
printf 'memsize = 64\n' > "$dir/a.cfg"
printf 'memsize = 64\n' > "$dir/b.cfg"
printf '# my VMs\n' > "$VMKEMU_VMLIST"

check "register a" '"$ctl" -s register "$dir/a.cfg"'
check "register b by a relative path" '(cd "$dir" && "$ctl" -s register b.cfg)'
check "list shows both, absolute, in order" \
    '[ "$("$ctl" -s list)" = "$(printf "%s\n%s" "$dir/a.cfg" "$dir/b.cfg")" ]'
check "the file has the manual's config lines and keeps the comment" \
    'grep -qx "config \"$dir/a.cfg\"" "$VMKEMU_VMLIST" && head -1 "$VMKEMU_VMLIST" | grep -qx "# my VMs"'
out=$("$ctl" -s register "$dir/a.cfg" 2>&1); rc=$?
check "registering twice is an error naming the file" \
    '[ $rc = 1 ] && echo "$out" | grep -q "a.cfg: already registered"'
check "unregister a" '"$ctl" -s unregister "$dir/a.cfg" && [ "$("$ctl" -s list)" = "$dir/b.cfg" ]'
out=$("$ctl" -s unregister "$dir/a.cfg" 2>&1); rc=$?
check "unregistering an unknown VM is an error" '[ $rc = 1 ] && echo "$out" | grep -q "not registered"'
out=$("$ctl" -s register "$dir/none.cfg" 2>&1); rc=$?
check "registering a missing file is an error" '[ $rc = 1 ] && echo "$out" | grep -q "none.cfg: no such configuration file"'
out=$("$ctl" -s frob 2>&1); rc=$?
check "unknown server command: status 2" '[ $rc = 2 ] && echo "$out" | grep -q "unknown server command"'

# 40 concurrent registrations: all land, the file is never half-written.
"$ctl" -s unregister "$dir/b.cfg"
i=0
while [ $i -lt 40 ]; do printf 'memsize = 64\n' > "$dir/c$i.cfg"; i=$((i+1)); done
i=0
while [ $i -lt 40 ]; do "$ctl" -s register "$dir/c$i.cfg" & i=$((i+1)); done
bad=0
for k in 1 2 3 4 5 6 7 8; do
    # Every reader sees only whole lines.
    [ -f "$VMKEMU_VMLIST" ] && grep -v -x -e '# my VMs' -e "config \"$dir/c[0-9]*.cfg\"" "$VMKEMU_VMLIST" && bad=1
done
wait
check "concurrent registrations all land" '[ "$("$ctl" -s list | wc -l)" = 40 ]'
check "no reader saw a partial line" '[ $bad = 0 ]'
check "no temporary files left" '[ -z "$(ls "$dir" | grep tmp)" ]'
