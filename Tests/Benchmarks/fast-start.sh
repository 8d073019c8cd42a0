#!/usr/bin/env bash
# Times the ways to get a VM with a healthy agent, side by side in one run on this host: a cold `up --no-pool`
# (boot and deploy; the image cached), `up` from the warm pool (restore), `vm suspend`, `vm resume` → agent
# healthy, the guest's clock error after the resume, what a parked VM costs on disk (save file, overlay), and
# the cold boot as systemd-analyze saw it in the guest, with its slowest units.
# It makes a pool of one, two VMs (fast-start-cold, fast-start-pool) and deletes them all at the end.
#
# Usage: Tests/Benchmarks/fast-start.sh AGENT_BINARY [STATE_DIR]
#   STATE_DIR defaults to /var/lib/somnus; its pool is drained at the end. SOMNUS names the CLI (default
#   .build/debug/somnus).
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
agent=$1
state=${2:-/var/lib/somnus}
somnus=${SOMNUS:-.build/debug/somnus}
run() { "$somnus" --state-dir "$state" "$@"; }
field() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.1f s' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
cleanup() {
    run down fast-start-cold > /dev/null 2>&1 || true
    run down fast-start-pool > /dev/null 2>&1 || true
    run pool drain > /dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

fill=$(run pool fill --size 1 --agent-binary "$agent" --json)
parked=$(field '"%d MiB save file, %d MiB overlay" % (d["status"]["vms"][0]["save_bytes"] / 1048576, d["status"]["vms"][0]["disk_bytes"] / 1048576)' <<< "$fill")

start=$(now)
run up fast-start-cold --no-pool --agent-binary "$agent" --json > /dev/null
cold=$(elapsed "$start" "$(now)")
boot=$(run exec fast-start-cold -- systemd-analyze | head -1)
slowest=$(run exec fast-start-cold -- systemd-analyze blame --no-pager | head -8)

start=$(now)
pooled=$(run up fast-start-pool --agent-binary "$agent" --json)
pool=$(elapsed "$start" "$(now)")
[[ $(field 'd["from_pool"]' <<< "$pooled") == True ]] || { echo "up did not take the pool VM" >&2; exit 1; }

start=$(now)
run vm suspend fast-start-cold > /dev/null
suspend=$(elapsed "$start" "$(now)")
start=$(now)
resume_report=$(run vm resume fast-start-cold --json)
resume=$(elapsed "$start" "$(now)")
drift=$(field '"%.0f ms before the push" % d["drift_ms"]' <<< "$resume_report")
before=$(now)
guest=$(run exec fast-start-cold -- date +%s.%N)
after=$(now)
clock=$(python3 -c "
import sys
b, g, a = map(float, sys.argv[1:])
print('%.3f s outside the host window of %.3f s' % (max(0.0, b - g, g - a), a - b))" "$before" "$guest" "$after")

printf '%-44s %s\n' \
    "up --no-pool (cold boot + deploy), command" "$cold" \
    "up from the pool (restore), command" "$pool" \
    "vm suspend, command" "$suspend" \
    "vm resume → agent healthy, command" "$resume" \
    "guest clock after resume" "$clock" \
    "guest clock drift corrected by resume" "$drift" \
    "one parked VM on disk" "$parked"
printf '\ncold boot in the guest: %s\nslowest units:\n%s\n' "$boot" "$slowest"
