#!/usr/bin/env bash
# Regenerates Guest/SomnusAgent/steady-functions.order: the functions the agent runs once start-up is over, which
# the linker places side by side at the start of the code: first what an idle agent runs (monitor ticks, log
# tailing and classification, giving memory back), then what answering the host's polls adds, then what the other
# routes add. The kernel maps code in 64 KiB blocks around each page a process touches, so an idle agent whose
# steady functions lie spread over 16 MB of code keeps most of those blocks resident, one nobody polls keeps the
# blocks of the request path too when those functions lie among its own, and a polled one those of routes nobody
# asks for.
#
# Usage: Tests/Benchmarks/agent-function-order.sh [SWIFT-BUILD-OPTION…]
#   Builds the agent as it ships (provisioning/release-build.sh: the flags decide what is inlined) with its
#   symbols, runs it under valgrind's callgrind on loopback with a temporary configuration, dumps the start-up
#   profile as it starts to release its start-up memory, then the profile of SECONDS_IDLE seconds (default 40) of
#   monitor ticks and log lines, then that of polling after the first requests (as the host does, on one
#   kept-alive connection), then that of the other routes, writes the functions of the last three profiles, and
#   relinks the stripped agent with them (SwiftPM does not track the file). Needs valgrind and python3. Rerun it
#   after large changes to the agent; a stale list only costs locality (the linker skips names it does not know).
set -euo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
cd "$(dirname "$0")/../.."
seconds=${SECONDS_IDLE:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
# Start-up ends when the agent starts to give back its start-up memory: callgrind writes a profile each time that
# function is entered. Whatever runs after it faults its pages back in (the release itself too: it reads and
# unmaps mapping after mapping), so it counts as steady, except what only the first requests run (the connection's
# set-up, the request path's type metadata): the agent gives that back after them.
python3 - "$work" "$seconds" << 'RUN'
import http.client, json, os, socket, subprocess, sys, time
work, seconds = sys.argv[1], int(sys.argv[2])
with open(f"{work}/token", "w") as file:
    file.write("profile-token")
with open(f"{work}/app.log", "w") as file:
    file.write('Traceback (most recent call last):\n  File "a.py", line 1\nModuleNotFoundError: No module named x\n')
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
with open(f"{work}/agent.json", "w") as file:
    json.dump({"listen": f"127.0.0.1:{port}", "token_file": f"{work}/token", "socket": f"{work}/agent.sock",
               "data_dir": f"{work}/data", "log_files": {"app": f"{work}/app.log"}, "journal": False,
               "monitor_interval_seconds": 5}, file)
# Names as the symbol table spells them: C++ names (the Swift runtime's) not demangled.
agent = subprocess.Popen(
    ["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={work}/profile",
     "--dump-before=*FootprintO20releaseStartUpMemory*", f"{work}/somnus-agent", "serve", "--config",
     f"{work}/agent.json"],
    env={"PATH": "/usr/bin:/bin", "MALLOC_ARENA_MAX": "2"}, stderr=open(f"{work}/agent.log", "w"))
def dump(name):
    subprocess.run(["callgrind_control", f"--dump={name}", str(agent.pid)], stdout=subprocess.DEVNULL, check=True)
try:
    deadline = time.time() + 1200
    while not os.path.exists(f"{work}/profile.1"):
        if time.time() > deadline or agent.poll() is not None:
            sys.exit("the agent never released its start-up memory; its log: " + open(f"{work}/agent.log").read())
        time.sleep(1)
    # Idle: monitor ticks and new log lines, nobody asks the agent anything.
    for round in range(3):
        with open(f"{work}/app.log", "a") as file:
            file.write(f"2026-11-24 ERROR connection to db.internal:5432 timed out (round {round})\n")
        time.sleep(seconds / 3)
    dump("idle")
    # Polled: as the host polls (one kept-alive connection, the status and readiness routes every few seconds).
    # The agent releases its memory again once the first requests are over (callgrind's third profile): what only
    # they ran is not listed. Then the other routes the host and the agents inside the VM ask for, a connection
    # each, in a profile of their own.
    headers = {"Authorization": "Bearer profile-token"}
    host = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    def poll():
        for route in ("/v1/status", "/v1/health/ready"):
            host.request("GET", route, headers=headers)
            host.getresponse().read()
    poll()
    while not os.path.exists(f"{work}/profile.3"):
        if time.time() > deadline or agent.poll() is not None:
            sys.exit("the agent never released its memory after its first requests")
        time.sleep(1)
    for round in range(3):
        time.sleep(2)
        poll()
    dump("polled")
    for route in ("/v1/health/live", "/v1/stats", "/v1/events?after=0", "/v1/errors", "/metrics",
                  "/v1/memories/stats"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", route, headers=headers)
        connection.getresponse().read()
        connection.close()
    host.close()
    dump("routes")
finally:
    agent.terminate()
    agent.wait()
RUN

python3 - "$work" "$binary" Guest/SomnusAgent/steady-functions.order << 'EOF'
import collections, glob, re, subprocess, sys
work, binary, output = sys.argv[1:]
# Dumps are numbered in order: start-up, idle, the first requests, polled, the other routes (the profile written at
# exit holds the shutdown).
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
polled = executed(dumps[3]) - idle
routes = executed(dumps[4]) - idle - polled
symbols = subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True, check=True)
functions = [line.split()[2] for line in symbols.stdout.splitlines()
             if len(line.split()) == 3 and line.split()[1] in "tT"]
copies = collections.Counter(functions)
# The package's own objects are compiled with one section per function; the prebuilt Swift runtime, standard
# library and Foundation put most of a module in one section, which any listed function drags along. Those go last,
# so the package's steady functions lie together in front of them. What answering the host's polls adds follows
# what idling runs, and what the other routes add follows that, so that an agent nobody polls touches none of
# the request path's blocks and a polled one none of the other routes'.
objects = open(f"{binary}.product/Objects.LinkFileList").read().split()
defined = subprocess.run(["nm", "--defined-only", *[o.strip("'\"") for o in objects]], capture_output=True, text=True)
own_functions = collections.Counter(line.split()[2] for line in defined.stdout.splitlines()
                                    if len(line.split()) == 3 and line.split()[1] in "tT")
own = {line.split()[2] for line in defined.stdout.splitlines() if len(line.split()) == 3}
# A name defined more than once (local helpers such as `$sSqwst` or `__swift_memcpy8_8`, one copy per object)
# moves every copy, and lld places a section where the first name it holds is listed. Such a name goes in its
# group when each copy has a section of its own in the package's objects; otherwise last, where the prebuilt
# sections holding other copies land behind everything else, and the package's copies still lie together.
def shared(name):
    return copies[name] > 1 and own_functions[name] < copies[name]
def listed(names, keep):
    return [name for name in dict.fromkeys(functions) if name in names and keep(name)]
groups = (idle & own, polled & own, routes & own, idle - own, polled - own, routes - own)
ordered = [name for group in groups for name in listed(group, lambda name: not shared(name))]
ordered += [name for group in (idle, polled, routes) for name in listed(group, shared)]
with open(output, "w") as file:
    file.write("".join(name + "\n" for name in ordered))
print(f"{len(ordered)} steady functions ({len(idle)} idle, {len(polled)} when polled, {len(routes)} for other routes) "
      f"written to {output}")
EOF
rm -f "$binary"
provisioning/release-build.sh --product somnus-agent "$@"
