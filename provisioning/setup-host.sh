#!/usr/bin/env bash
# Prepares a Debian 12 host (run as root) to build Somnus, run its tests, and run its VMs:
#   1. installs the build, test and VM packages (only when one is missing);
#   2. gives /dev/kvm group kvm and mode 0660 when the device exists;
#   3. starts virtlogd and libvirtd (daemonized when systemd is not PID 1, through their units when it is)
#      and waits until `virsh -c qemu:///system version` answers;
#   4. defines, starts and autostarts the isolated libvirt network `somnus` (no <forward>, bridge
#      virbr-somnus, host 192.168.213.1/24, DHCP .10-.250).
# Idempotent: every step is skipped when already done. Quiet on success; on failure it names the step that
# failed and shows the failing command's output. Environment: SOMNUS_SETUP_VERBOSE=1 prints every step.
set -euo pipefail

readonly NETWORK_NAME="somnus"
readonly NETWORK_BRIDGE="virbr-somnus"
readonly NETWORK_ADDRESS="192.168.213.1"
readonly NETWORK_NETMASK="255.255.255.0"
readonly DHCP_START="192.168.213.10"
readonly DHCP_END="192.168.213.250"
readonly LIBVIRT_URI="qemu:///system"
readonly PACKAGES=(
    # build
    pkg-config libvirt-dev libssh2-1-dev libsqlite3-dev libsystemd-dev libcurl4-openssl-dev
    # tests (a real sshd on loopback, journal upload, HTTP)
    openssh-server openssh-client systemd-journal-remote curl
    # VMs and the image recipe
    libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
    debootstrap dnsmasq-base iptables e2fsprogs
    # the host's pack cache (apt flat-repository index, wheel downloads)
    dpkg-dev python3-pip gnupg
)

verbose() {
    if [[ "${SOMNUS_SETUP_VERBOSE:-0}" == "1" ]]; then echo "setup-host: $*" >&2; fi
}
fail() { echo "setup-host: FAILED: $*" >&2; exit 1; }

# Runs a command quietly; on failure prints its output and the step name, then exits.
run_step() {
    local step="$1"; shift
    local output
    if ! output="$("$@" 2>&1)"; then
        echo "setup-host: FAILED: ${step}: command: $*" >&2
        echo "${output}" | tail -n 40 >&2
        exit 1
    fi
    verbose "${step}: done"
}

[[ "$(id -u)" == "0" ]] || fail "must run as root (uid is $(id -u))"

# Two runs at once (parallel engineers, CI retries) would race on apt and on the daemons.
exec 9>/run/somnus-setup-host.lock
flock 9 || fail "cannot lock /run/somnus-setup-host.lock"

# 1. Packages.
# dpkg-query prints nothing for a package it has never heard of, so compare names rather than count lines.
installed=" $(dpkg-query -W -f='${db:Status-Status}:${Package} ' "${PACKAGES[@]}" 2>/dev/null || true) "
missing=()
for package in "${PACKAGES[@]}"; do
    [[ "${installed}" == *" installed:${package} "* ]] || missing+=("${package}")
done
if (( ${#missing[@]} > 0 )); then
    verbose "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    run_step "apt-get update" apt-get update -q
    run_step "apt-get install ${missing[*]}" apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
fi

# 2. /dev/kvm: libvirt runs QEMU as libvirt-qemu (group kvm). Nested hosts may still need TCG; that is the
# domain XML's choice, not ours.
if [[ -c /dev/kvm ]]; then
    [[ "$(stat -c %G /dev/kvm)" == "kvm" ]] || run_step "chgrp kvm /dev/kvm" chgrp kvm /dev/kvm
    [[ "$(stat -c %a /dev/kvm)" == "660" ]] || run_step "chmod 0660 /dev/kvm" chmod 0660 /dev/kvm
fi

# 3. Daemons.
pid_alive() { # pidfile
    [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}
if [[ "$(ps -p 1 -o comm= 2>/dev/null)" == "systemd" ]]; then
    for unit in virtlogd.socket libvirtd.socket libvirtd.service; do
        systemctl is-active --quiet "${unit}" || run_step "systemctl enable --now ${unit}" \
            systemctl enable --now "${unit}"
    done
else
    # `9>&-`: the daemons must not inherit the lock, or they would hold it for their whole life.
    pid_alive /run/virtlogd.pid || run_step "start virtlogd" virtlogd -d 9>&-
    pid_alive /run/libvirtd.pid || run_step "start libvirtd" libvirtd -d 9>&-
fi
answered=0
for _ in $(seq 1 100); do
    if virsh -q -c "${LIBVIRT_URI}" version >/dev/null 2>&1; then answered=1; break; fi
    sleep 0.2
done
(( answered == 1 )) || run_step "virsh -c ${LIBVIRT_URI} version (libvirtd did not answer within 20 s)" \
    virsh -c "${LIBVIRT_URI}" version

# 4. The isolated network.
virsh_q() { virsh -q -c "${LIBVIRT_URI}" "$@"; }
if ! virsh_q net-info "${NETWORK_NAME}" >/dev/null 2>&1; then
    xml="$(mktemp)"
    trap 'rm -f "${xml}"' EXIT
    cat >"${xml}" <<XML
<network>
  <name>${NETWORK_NAME}</name>
  <bridge name='${NETWORK_BRIDGE}' stp='on' delay='0'/>
  <ip address='${NETWORK_ADDRESS}' netmask='${NETWORK_NETMASK}'>
    <dhcp>
      <range start='${DHCP_START}' end='${DHCP_END}'/>
    </dhcp>
  </ip>
</network>
XML
    run_step "virsh net-define ${NETWORK_NAME}" virsh_q net-define "${xml}"
fi
# A network defined by someone else under our name must still be isolated.
if virsh_q net-dumpxml "${NETWORK_NAME}" | grep -q '<forward'; then
    fail "network ${NETWORK_NAME} exists but has a <forward> element; it must be isolated" \
        "(virsh net-destroy ${NETWORK_NAME}; virsh net-undefine ${NETWORK_NAME}; then rerun)"
fi
net_info="$(virsh_q net-info "${NETWORK_NAME}")"
grep -Eq '^Active:[[:space:]]+yes' <<<"${net_info}" \
    || run_step "virsh net-start ${NETWORK_NAME}" virsh_q net-start "${NETWORK_NAME}"
grep -Eq '^Autostart:[[:space:]]+yes' <<<"${net_info}" \
    || run_step "virsh net-autostart ${NETWORK_NAME}" virsh_q net-autostart "${NETWORK_NAME}"
verbose "host ready"
