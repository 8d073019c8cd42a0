#!/usr/bin/env bash
# Regenerates Guest/SomnusAgent/steady-functions.order: the functions the agent runs once start-up is over, which
# the linker places side by side at the start of the code: first what an idle agent runs (monitor ticks, log
# tailing and classification), then what only answering the routes the host polls runs. The kernel maps code in
# 64 KiB blocks around each page a process touches, so an idle agent whose steady functions lie spread over 16 MB
# of code keeps most of those blocks resident, and one nobody polls keeps the blocks of the request path too when
# those functions lie among its own.
#
# Usage: Tests/Benchmarks/agent-function-order.sh [SWIFT-BUILD-OPTION…]
#   Builds the agent as it ships (provisioning/release-build.sh: the flags decide what is inlined) with its
#   symbols, runs it under valgrind's callgrind on loopback with a temporary configuration, dumps the start-up
#   profile once it is ready and its memory store is open, then the profile of SECONDS_IDLE seconds (default 40)
#   of monitor ticks and log lines, then polls its routes, writes the functions of the last two profiles, and
#   relinks the stripped agent with them (SwiftPM does not track the file). Needs valgrind and python3. Rerun it
#   after large changes to the agent; a stale list only costs locality (the linker skips names it does not know).
set -euo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
cd "$(dirname "$0")/../.."
seconds=${SECONDS_IDLE:-40}
work=$(mktemp -d)
trap 'kill "${agent:-0}" 2> /dev/null || true; rm -rf "$work"' EXIT

provisioning/release-build.sh --keep-symbols --product somnus-agent "$@"
binary=$(provisioning/release-build.sh --keep-symbols "$@" --show-bin-path)/somnus-agent
objcopy --strip-debug "$binary" "$work/somnus-agent"
# valgrind 3.19's sigsuspend wrapper writes into the caller's signal mask, and libdispatch's is a constant in the
# read-only segment (Guest/SomnusAgent/rodata.ld): the profiled copy's read-only segments are made writable.
python3 - "$work/somnus-agent" << 'ELF'
import struct, sys
with open(sys.argv[1], "r+b") as file:
    header = file.read(64)
    table, = struct.unpack_from("<Q", header, 0x20)
    size, count = struct.unpack_from("<HH", header, 0x36)
    for index in range(count):
        file.seek(table + index * size)
        kind, flags = struct.unpack("<II", file.read(8))
        if kind == 1 and flags == 4:  # PT_LOAD, PF_R
            file.seek(table + index * size + 4)
            file.write(struct.pack("<I", 6))  # PF_R | PF_W
ELF
echo profile-token > "$work/token"
printf 'Traceback (most recent call last):\n  File "a.py", line 1\nModuleNotFoundError: No module named x\n' \
    > "$work/app.log"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/agent.json" << EOF
{"listen": "127.0.0.1:$port", "token_file": "$work/token", "socket": "$work/agent.sock",
 "data_dir": "$work/data", "log_files": {"app": "$work/app.log"}, "monitor_interval_seconds": 5}
EOF

# Names as the symbol table spells them: C++ names (the Swift runtime's) not demangled.
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/profile" "$work/somnus-agent" serve \
    --config "$work/agent.json" 2> "$work/agent.log" &
agent=$!
get() { curl -sf -m 30 -H "Authorization: Bearer profile-token" "http://127.0.0.1:$port$1" > /dev/null; }
# Start-up is over once the agent is ready and its memory store is open.
for _ in $(seq 600); do get /v1/health/ready && get /v1/memories/stats && break || sleep 1; done
callgrind_control --dump=start-up "$agent" > /dev/null

# Idle: monitor ticks and new log lines, nothing asks the agent anything.
for round in $(seq 3); do
    echo "2026-11-24 ERROR connection to db.internal:5432 timed out (round $round)" >> "$work/app.log"
    sleep $((seconds / 3))
done
callgrind_control --dump=idle "$agent" > /dev/null

# Polled: the routes the host and the agents inside the VM ask for.
for round in $(seq 3); do
    for route in /v1/health/live /v1/health/ready /v1/stats /v1/status "/v1/events?after=0" /v1/errors /metrics; do
        get "$route"
    done
    sleep 2
done
kill -TERM "$agent"
wait "$agent" || true

python3 - "$work" "$binary" Guest/SomnusAgent/steady-functions.order << 'EOF'
import collections, glob, re, subprocess, sys
work, binary, output = sys.argv[1:]
# Dumps are numbered in order (start-up, then idle); the polled phase is the profile written at exit.
dumps = sorted(glob.glob(f"{work}/profile.*"), key=lambda path: int(path.rsplit(".", 1)[1]))
def executed(path):
    names, ids = set(), {}
    for line in open(path, errors="replace"):
        match = re.match(r"^c?fn=\((\d+)\)(?: (.*))?$", line.strip())
        if match:
            if match.group(2):
                ids[match.group(1)] = match.group(2)
            # A function that called itself shows up a second time as `name'2`.
            names.add(re.sub(r"'\d+$", "", ids.get(match.group(1)) or ""))
    return names
idle = executed(dumps[1])
polled = executed(f"{work}/profile") - idle
symbols = subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True, check=True)
functions = [line.split()[2] for line in symbols.stdout.splitlines()
             if len(line.split()) == 3 and line.split()[1] in "tT"]
copies = collections.Counter(functions)
# The package's own objects are compiled with one section per function; the prebuilt Swift runtime, standard
# library and Foundation put most of a module in one section, which any listed function drags along. Those go last,
# so the package's steady functions lie together in front of them. What only answering a request runs follows
# what idling runs, so that an agent nobody polls touches none of its blocks.
objects = open(f"{binary}.product/Objects.LinkFileList").read().split()
defined = subprocess.run(["nm", "--defined-only", *[o.strip("'\"") for o in objects]], capture_output=True, text=True)
own_functions = collections.Counter(line.split()[2] for line in defined.stdout.splitlines()
                                    if len(line.split()) == 3 and line.split()[1] in "tT")
own = {line.split()[2] for line in defined.stdout.splitlines() if len(line.split()) == 3}
# A name defined more than once (local helpers such as `$sSqwst` or `__swift_memcpy8_8`, one copy per object)
# moves every copy: listed only when each copy has a section of its own, in the package's objects.
def listed(names):
    return list(dict.fromkeys(name for name in functions
                              if name in names and (copies[name] == 1 or own_functions[name] >= copies[name])))
ordered = [name for group in (idle & own, polled & own, idle - own, polled - own) for name in listed(group)]
with open(output, "w") as file:
    file.write("".join(name + "\n" for name in ordered))
print(f"{len(ordered)} steady functions ({len(idle)} idle, {len(polled)} only when polled) written to {output}")
EOF
rm -f "$binary"
provisioning/release-build.sh --product somnus-agent "$@"
