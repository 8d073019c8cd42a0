#!/usr/bin/env bash
# Prepares a Debian 12 host (run as root) to build Somnus, run its tests, and run its VMs:
#   1. installs the build, test and VM packages (only when one is missing);
#   2. gives /dev/kvm group kvm and mode 0660 when the device exists;
#   3. starts virtlogd and libvirtd (daemonized when systemd is not PID 1, through their units when it is)
#      and waits until `virsh -c qemu:///system version` answers;
#   4. defines, starts and autostarts the isolated libvirt network `somnus` (no <forward>, bridge
#      virbr-somnus, host 192.168.213.1/24, DHCP .10-.250, <port isolated='yes'/>: guests cannot reach each
#      other); an existing `somnus` network without port isolation is redefined (same uuid) when no running
#      domain is attached to it, and refused with the steps to take otherwise;
#   5. installs the host firewall: the nftables table `inet somnus` (only DHCP, DNS to libvirt's dnsmasq and the
#      pack cache's port are accepted from the bridge), loaded now and by the libvirt network hook
#      /etc/libvirt/hooks/network whenever the network starts (host reboot, libvirtd restart);
#   6. makes the host's shutdown suspend running VMs instead of shutting them down: libvirt-guests with
#      ON_SHUTDOWN=suspend and ON_BOOT=ignore, so a VM stays suspended after the host boots until
#      `somnus vm start` or `somnus up` resumes it and pushes the host's clock (enabled when systemd runs).
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
# PackCacheServer.defaultPort: the only host TCP service a guest may open a connection to.
readonly PACK_CACHE_PORT=9902
readonly NFT_TABLE_FILE="/etc/somnus/somnus.nft"
readonly NETWORK_HOOK="/etc/libvirt/hooks/network"
readonly PACKAGES=(
    # build
    pkg-config libvirt-dev libssh2-1-dev libsqlite3-dev libsystemd-dev libcurl4-openssl-dev
    # tests (a real sshd on loopback, journal upload, HTTP)
    openssh-server openssh-client systemd-journal-remote curl
    # VMs and the image recipe
    libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils
    debootstrap dnsmasq-base iptables e2fsprogs
    # the host firewall for the VM network, and captures in the end-to-end isolation step
    nftables tcpdump
    # the host's pack cache (apt flat-repository index, wheel downloads)
    dpkg-dev python3-pip gnupg
    # the reference parser that checks `somnus daemon`'s Prometheus metrics in the tests
    python3-prometheus-client
    # schemathesis' virtual environment (Tests/Schemathesis/run.sh)
    python3-venv
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

# 3. The firewall's rule file and the libvirt network hook that loads it, then the daemons.
# The table is replaced atomically (`nft -f` of a file that creates, deletes and redefines it). Its input chain
# sees every packet from the bridge addressed to any host address (IPv4 and IPv6); a drop in a base chain is
# final whatever libvirt's own (accept) rules in other tables say. The forward chain keeps bridged or routed
# traffic from the bridge away from every other interface.
install_if_changed() { # path mode content -> returns 0 when the file was written
    local path="$1" mode="$2" content="$3"
    if [[ -f "${path}" ]] && [[ "$(cat "${path}")" == "${content}" ]] \
        && [[ "$(stat -c %a "${path}")" == "${mode}" ]]; then
        return 1
    fi
    mkdir -p "$(dirname "${path}")"
    local temporary="${path}.tmp.$$"
    (umask 077 && printf '%s\n' "${content}" >"${temporary}") || fail "cannot write ${temporary}"
    chmod "${mode}" "${temporary}" && mv -f "${temporary}" "${path}" || fail "cannot install ${path}"
    verbose "installed ${path}"
    return 0
}
nft_rules="$(cat <<NFT
# Written by provisioning/setup-host.sh; loaded by ${NETWORK_HOOK} when the network ${NETWORK_NAME} starts.
table inet somnus {}
delete table inet somnus
table inet somnus {
    chain input {
        type filter hook input priority filter - 10; policy accept;
        iifname "${NETWORK_BRIDGE}" ct state established,related accept
        iifname "${NETWORK_BRIDGE}" udp sport 68 udp dport 67 accept
        iifname "${NETWORK_BRIDGE}" ip daddr ${NETWORK_ADDRESS} udp dport 53 accept
        iifname "${NETWORK_BRIDGE}" ip daddr ${NETWORK_ADDRESS} tcp dport 53 accept
        iifname "${NETWORK_BRIDGE}" ip daddr ${NETWORK_ADDRESS} tcp dport ${PACK_CACHE_PORT} accept
        iifname "${NETWORK_BRIDGE}" counter drop
    }
    chain forward {
        type filter hook forward priority filter - 10; policy accept;
        iifname "${NETWORK_BRIDGE}" counter drop
        oifname "${NETWORK_BRIDGE}" counter drop
    }
}
NFT
)"
hook_script="$(cat <<HOOK
#!/bin/sh
# Written by provisioning/setup-host.sh. libvirt calls it as: network <name> <operation> <sub-operation> -
# (network XML on stdin). Reloads the Somnus host firewall whenever the ${NETWORK_NAME} network starts.
if [ "\$1" = "${NETWORK_NAME}" ]; then
    case "\$2" in
        start|started|port-created) exec /usr/sbin/nft -f ${NFT_TABLE_FILE} ;;
    esac
fi
exit 0
HOOK
)"
install_if_changed "${NFT_TABLE_FILE}" 600 "${nft_rules}" || true
hook_changed=0
install_if_changed "${NETWORK_HOOK}" 755 "${hook_script}" && hook_changed=1
run_step "nft -f ${NFT_TABLE_FILE}" nft -f "${NFT_TABLE_FILE}"

# 6. Host shutdown suspends VMs (libvirt-clients' libvirt-guests service reads this file).
guests_settings="$(cat <<GUESTS
# Written by provisioning/setup-host.sh: the host's shutdown saves running VMs to their managed save files;
# its boot leaves them suspended for \`somnus vm start\` or \`somnus up\`, which push the host's clock.
URIS=${LIBVIRT_URI}
ON_BOOT=ignore
ON_SHUTDOWN=suspend
GUESTS
)"
install_if_changed /etc/default/libvirt-guests 644 "${guests_settings}" || true

pid_alive() { # pidfile
    [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}
if [[ "$(ps -p 1 -o comm= 2>/dev/null)" == "systemd" ]]; then
    for unit in virtlogd.socket libvirtd.socket libvirtd.service libvirt-guests.service; do
        systemctl is-active --quiet "${unit}" || run_step "systemctl enable --now ${unit}" \
            systemctl enable --now "${unit}"
    done
    # libvirtd reads its hook scripts only at start-up; running VMs survive the restart.
    if (( hook_changed == 1 )); then
        run_step "systemctl restart libvirtd.service (new network hook)" systemctl restart libvirtd.service
    fi
else
    # `9>&-`: the daemons must not inherit the lock, or they would hold it for their whole life.
    pid_alive /run/virtlogd.pid || run_step "start virtlogd" virtlogd -d 9>&-
    if (( hook_changed == 1 )) && pid_alive /run/libvirtd.pid; then
        # libvirtd reads its hook scripts only at start-up; running VMs survive the restart.
        old_pid="$(cat /run/libvirtd.pid)"
        run_step "stop libvirtd (new network hook)" kill "${old_pid}"
        for _ in $(seq 1 100); do
            kill -0 "${old_pid}" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "${old_pid}" 2>/dev/null && fail "libvirtd (pid ${old_pid}) did not stop within 10 s"
    fi
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
xml="$(mktemp)"
trap 'rm -f "${xml}"' EXIT
if ! virsh_q net-info "${NETWORK_NAME}" >/dev/null 2>&1; then
    cat >"${xml}" <<XML
<network>
  <name>${NETWORK_NAME}</name>
  <bridge name='${NETWORK_BRIDGE}' stp='on' delay='0'/>
  <port isolated='yes'/>
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
if virsh_q net-dumpxml --inactive "${NETWORK_NAME}" | grep -q '<forward'; then
    fail "network ${NETWORK_NAME} exists but has a <forward> element; it must be isolated" \
        "(virsh net-destroy ${NETWORK_NAME}; virsh net-undefine ${NETWORK_NAME}; then rerun)"
fi
# Port isolation: guests on the bridge cannot reach one another. It applies to ports attached after the network
# (re)starts, so an older network is redefined (same uuid, DHCP host entries kept) and restarted, which is only
# safe while no running domain has an interface on it (libvirt 9.0 does not re-attach running guests' taps).
if ! virsh_q net-dumpxml --inactive "${NETWORK_NAME}" | grep -Eq "<port isolated=['\"]yes['\"]"; then
    attached=()
    while read -r domain; do
        [[ -n "${domain}" ]] || continue
        if virsh_q domiflist "${domain}" 2>/dev/null | awk '{ print $3 }' | grep -qx "${NETWORK_NAME}"; then
            attached+=("${domain}")
        fi
    done < <(virsh_q list --name --state-running)
    if (( ${#attached[@]} > 0 )); then
        echo "setup-host: FAILED: network ${NETWORK_NAME} has no port isolation and running VMs use it:" \
            "${attached[*]}." >&2
        echo "Isolation applies only to ports attached after the network restarts. Stop those VMs," \
            "then rerun this script:" >&2
        for domain in "${attached[@]}"; do
            echo "  somnus vm stop ${domain}    # or: virsh -c ${LIBVIRT_URI} shutdown ${domain}" >&2
        done
        echo "  provisioning/setup-host.sh" >&2
        exit 1
    fi
    virsh_q net-dumpxml --inactive "${NETWORK_NAME}" \
        | sed "s|^\([[:space:]]*\)\(<bridge [^>]*/>\)|\1\2\n\1<port isolated='yes'/>|" >"${xml}"
    grep -q "<port isolated='yes'/>" "${xml}" || fail "cannot add <port isolated='yes'/> to ${NETWORK_NAME}'s XML"
    if grep -Eq '^Active:[[:space:]]+yes' <<<"$(virsh_q net-info "${NETWORK_NAME}")"; then
        run_step "virsh net-destroy ${NETWORK_NAME} (to add port isolation)" virsh_q net-destroy "${NETWORK_NAME}"
    fi
    run_step "virsh net-define ${NETWORK_NAME} (with port isolation)" virsh_q net-define "${xml}"
    verbose "network ${NETWORK_NAME}: port isolation added"
fi
net_info="$(virsh_q net-info "${NETWORK_NAME}")"
grep -Eq '^Active:[[:space:]]+yes' <<<"${net_info}" \
    || run_step "virsh net-start ${NETWORK_NAME}" virsh_q net-start "${NETWORK_NAME}"
grep -Eq '^Autostart:[[:space:]]+yes' <<<"${net_info}" \
    || run_step "virsh net-autostart ${NETWORK_NAME}" virsh_q net-autostart "${NETWORK_NAME}"
nft list table inet somnus >/dev/null 2>&1 || fail "the nftables table inet somnus is not loaded"
verbose "host ready"
