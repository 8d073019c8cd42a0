#!/usr/bin/env bash
# Times a capability pack on a running VM, phase by phase: the host cache fetch cold and then warm, the
# snapshot, the install, the verify checks, and a revert to the snapshot taken before the pack (so the VM ends
# as it started and the benchmark can be run again).
#
# Usage: Tests/Benchmarks/pack-phases.sh VM PACK [STATE_DIR]
#   STATE_DIR defaults to /var/lib/somnus. Its pack cache is emptied first so the cold fetch downloads
#   everything; it is a cache, and what it held is downloaded again when a pack needs it.
#   SOMNUS names the CLI (default .build/debug/somnus).
set -euo pipefail

if [[ $# -lt 2 || $1 == -h || $1 == --help ]]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
vm=$1
pack=$2
state=${3:-/var/lib/somnus}
somnus=${SOMNUS:-.build/debug/somnus}
run() { "$somnus" "$@" --state-dir "$state"; }
field() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

run vm show "$vm" > /dev/null
rm -rf "${state:?}/pack-cache"
cold=$(run pack fetch "$pack" --json |
    field '"%.1f s, %d .debs, %d wheels" % (d["seconds"], len(d["apt_downloaded"]), len(d["wheels_downloaded"]))')
warm=$(run pack fetch "$pack" --json | field '"%.1f s, %d downloaded" % (d["seconds"], len(d["apt_downloaded"]))')
size=$(du -sh "$state/pack-cache" | cut -f1)

install=$(run pack install "$vm" "$pack" --json)
summary=$(field '"; ".join("%s: %s, snapshot %.1f s, install %.1f s, verify %.1f s" % (r["pack"], r["outcome"],
    r["phases"].get("snapshot") or 0, r["phases"].get("install") or 0, r["phases"].get("verify") or 0) for r in d["results"])' <<< "$install")

snapshot=before-$pack
start=$(date +%s.%N)
run snapshot revert "$vm" "$snapshot" > /dev/null
revert=$(python3 -c "import time; print(f'{time.time() - $start:.1f} s')")

printf 'pack %s on %s (load average %s)\n' "$pack" "$vm" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '  fetch cold: %s (cache %s)\n  fetch warm: %s\n' "$cold" "$size" "$warm"
printf '  %s\n' "$summary"
printf '  revert to %s: %s\n' "$snapshot" "$revert"
