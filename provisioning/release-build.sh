#!/usr/bin/env bash
# Builds the release products the way they ship: the Swift standard library linked in statically (the guest has
# no Swift runtime), optimised for size, one section per function (Swift and C) so the linker drops every
# function nothing calls and can place the functions an idle agent runs side by side
# (Guest/SomnusAgent/steady-functions.order), and stripped. Each Swift module is told that the executable it is
# linked into is its only client (-internalize-at-link): otherwise every public declaration of a library module is
# marked to be retained (SHF_GNU_RETAIN) and the linker keeps it whether anything calls it or not.
#
# Usage: provisioning/release-build.sh [--keep-symbols] [SWIFT-BUILD-OPTION…]
#   e.g. `provisioning/release-build.sh --product somnus-agent`; the binaries land in .build/release.
#   --keep-symbols leaves the symbol table in (for profiling; Tests/Benchmarks/agent-function-order.sh).
set -euo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
strip=(-Xlinker -s)
if [[ ${1:-} == --keep-symbols ]]; then
    strip=()
    shift
fi
cd "$(dirname "$0")/.."
exec swift build -c release --static-swift-stdlib -Xswiftc -Osize -Xswiftc -Xfrontend -Xswiftc -function-sections \
    -Xswiftc -Xfrontend -Xswiftc -internalize-at-link \
    -Xcc -ffunction-sections -Xcc -fdata-sections "${strip[@]}" "$@"
