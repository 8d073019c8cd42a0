#!/usr/bin/env bash
# End-to-end smoke test of the VM chain on this host (run as root):
#   host set-up → guest image (built or cached) → qcow2 overlay → libvirt domain (TCG, q35, direct kernel
#   boot, isolated network `somnus`) → DHCP lease → SSH with the image's key, host key pinned from the
#   serial console → `systemctl is-system-running --wait` → live vCPU hot-add (nproc) → live memory DIMM
#   hot-plug (MemTotal) → optional: run a given somnus-agent binary in the guest → timings.
# Always destroys and undefines the domain and removes the overlay. On failure prints the serial console's
# tail and exits non-zero.
#
# Usage: boot-smoke.sh IMAGE_DIR [--agent PATH]
#   IMAGE_DIR  where Images/build-image.sh builds (or finds cached) the image; its SSH key pair for the test
#              lives in IMAGE_DIR/.e2e-ssh/ and is reused, so the image stays cached between runs.
#   --agent    a somnus-agent binary to copy into the guest and run with --version (checks its libraries).
# Environment: SOMNUS_SMOKE_TIMEOUT (seconds for each wait, default 600), SOMNUS_SMOKE_CPU (CPU model,
# default Westmere).
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
readonly REPO
readonly URI="qemu:///system"
readonly NETWORK="somnus"
readonly TIMEOUT="${SOMNUS_SMOKE_TIMEOUT:-600}"
readonly CPU_MODEL="${SOMNUS_SMOKE_CPU:-Westmere}"

say() { printf 'boot-smoke: %s\n' "$*"; }
usage() { echo "usage: $(basename "$0") IMAGE_DIR [--agent PATH]" >&2; exit 2; }

image_dir=""
agent=""
while (($# > 0)); do
    case "$1" in
        --agent) (($# >= 2)) || usage; agent="$2"; shift 2 ;;
        -h | --help) usage ;;
        -*) echo "boot-smoke: unknown option '$1'" >&2; usage ;;
        *) [[ -z "${image_dir}" ]] || usage; image_dir="$1"; shift ;;
    esac
done
[[ -n "${image_dir}" ]] || usage
[[ -z "${agent}" || -x "${agent}" ]] || { echo "boot-smoke: --agent '${agent}' is not an executable" >&2; exit 2; }
[[ "$(id -u)" == "0" ]] || { echo "boot-smoke: must run as root" >&2; exit 2; }

virsh_q() { virsh -q -c "${URI}" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

domain=""
run_dir=""
serial_log=""
passed=0
finish() {
    local status=$?
    if ((passed == 0)); then
        echo "boot-smoke: FAILED (exit ${status})" >&2
        if [[ -n "${serial_log}" && -f "${serial_log}" ]]; then
            echo "boot-smoke: last 40 lines of the serial console (${serial_log}):" >&2
            tail -n 40 "${serial_log}" | sed 's/^/    /' >&2
        fi
    fi
    local t_teardown
    t_teardown=$(now)
    if [[ -n "${domain}" ]]; then
        virsh_q destroy "${domain}" >/dev/null 2>&1 || true
        virsh_q undefine "${domain}" >/dev/null 2>&1 || true
    fi
    [[ -n "${run_dir}" ]] && rm -rf "${run_dir}"
    say "teardown (destroy, undefine, remove overlay) in $(since "${t_teardown}")s"
    ((passed == 1)) || exit "$((status == 0 ? 1 : status))"
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Polls a command until it succeeds or TIMEOUT seconds pass.
wait_for() { # description command...
    local description="$1" deadline=$((SECONDS + TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || { echo "boot-smoke: timed out after ${TIMEOUT}s waiting for ${description}" >&2; return 1; }
        [[ -z "${domain}" ]] || virsh_q domstate "${domain}" 2>/dev/null | grep -q running \
            || { echo "boot-smoke: domain ${domain} is no longer running" >&2; return 1; }
        sleep 1
    done
}

# 1. Host.
t=$(now)
"${REPO}/provisioning/setup-host.sh"
say "host ready in $(since "${t}")s"

# 2. Image.
mkdir -p "${image_dir}/.e2e-ssh"
key="${image_dir}/.e2e-ssh/id_ed25519"
[[ -f "${key}" ]] || ssh-keygen -q -t ed25519 -N "" -C "somnus-boot-smoke" -f "${key}"
t=$(now)
"${REPO}/Images/build-image.sh" "${image_dir}" --authorized-key "${key}.pub"
image_seconds="$(since "${t}")"
manifest="${image_dir}/manifest.json"
field() { sed -n "s/^ *\"$1\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "${manifest}"; }
base="${image_dir}/$(field disk)"
kernel="${image_dir}/$(field kernel)"
initrd="${image_dir}/$(field initrd)"
cmdline="$(field kernelCommandLine)"
for file in "${base}" "${kernel}" "${initrd}"; do
    [[ -f "${file}" ]] || { echo "boot-smoke: manifest names '${file}', which does not exist" >&2; exit 1; }
done
[[ -n "${cmdline}" ]] || { echo "boot-smoke: manifest has no kernelCommandLine" >&2; exit 1; }
say "image ready in ${image_seconds}s: $(field imageID) ($(($(field diskFileBytes) / 1048576)) MiB qcow2)"

# 3. Overlay and domain. QEMU runs as libvirt-qemu: the run directory must be traversable; libvirt chowns
# the overlay, kernel and initrd itself; virtlogd (root) writes the serial log.
run_dir="$(mktemp -d /var/tmp/somnus-smoke-XXXXXX)"
chmod 0755 "${run_dir}"
domain="somnus-smoke-${run_dir##*-}"
overlay="${run_dir}/overlay.qcow2"
serial_log="${run_dir}/serial.log"
qemu-img create -q -f qcow2 -F qcow2 -b "${base}" "${overlay}"
cat >"${run_dir}/domain.xml" <<XML
<domain type='qemu'>
  <name>${domain}</name>
  <memory unit='MiB'>1024</memory>
  <currentMemory unit='MiB'>1024</currentMemory>
  <maxMemory slots='16' unit='MiB'>8192</maxMemory>
  <vcpu placement='static' current='1'>4</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>${kernel}</kernel>
    <initrd>${initrd}</initrd>
    <cmdline>${cmdline}</cmdline>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>${CPU_MODEL}</model>
    <topology sockets='4' dies='1' cores='1' threads='1'/>
    <numa>
      <cell id='0' cpus='0-3' memory='1024' unit='MiB'/>
    </numa>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='${overlay}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='${NETWORK}'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='${serial_log}'/>
      <target port='0'/>
    </serial>
    <console type='file'>
      <source path='${serial_log}'/>
      <target type='serial' port='0'/>
    </console>
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
    </rng>
    <memballoon model='virtio'/>
    <video>
      <model type='none'/>
    </video>
  </devices>
</domain>
XML
virsh_q define "${run_dir}/domain.xml" >/dev/null
t_start=$(now)
virsh_q start "${domain}" >/dev/null
say "domain ${domain} started (TCG, ${CPU_MODEL}, 1/4 vCPU, 1024/8192 MiB)"

# 4. DHCP lease.
mac="$(virsh_q domiflist "${domain}" | awk '$3 == "'"${NETWORK}"'" { print $5; exit }')"
[[ -n "${mac}" ]] || { echo "boot-smoke: the domain has no interface on network ${NETWORK}" >&2; exit 1; }
# Columns: expiry date, expiry time, MAC, protocol, address/prefix, hostname, client id.
lease_ip() {
    virsh_q net-dhcp-leases "${NETWORK}" --mac "${mac}" \
        | awk '{ for (i = 1; i < NF; i++) if ($i == "ipv4") { sub(/\/.*/, "", $(i + 1)); print $(i + 1); exit } }'
}
has_lease() { [[ -n "$(lease_ip)" ]]; }
wait_for "a DHCP lease for ${mac} on ${NETWORK}" has_lease
ip="$(lease_ip)"
lease_seconds="$(since "${t_start}")"
say "lease ${ip} after ${lease_seconds}s"

# 5. SSH, with the host key pinned from the serial console (printed by somnus-ssh-host-keys).
known_hosts="${run_dir}/known_hosts"
host_key_printed() { grep -q '^SOMNUS-SSH-HOST-KEY ssh-ed25519 ' "${serial_log}"; }
wait_for "the SSH host key on the serial console" host_key_printed
grep '^SOMNUS-SSH-HOST-KEY ' "${serial_log}" | tr -d '\r' | awk -v ip="${ip}" '{ print ip, $2, $3 }' >"${known_hosts}"
ssh_options=(-i "${key}" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="${known_hosts}"
    -o ConnectTimeout=5 -o LogLevel=ERROR)
# Runs a command line in the guest (the remote shell parses it, like ssh does).
# shellcheck disable=SC2029
guest() { ssh "${ssh_options[@]}" "root@${ip}" "$@"; }
wait_for "SSH on ${ip}" guest true
ssh_seconds="$(since "${t_start}")"
say "ssh (key auth, pinned host key) after ${ssh_seconds}s"

# 6. Boot finished cleanly.
state="$(timeout "${TIMEOUT}" ssh "${ssh_options[@]}" "root@${ip}" systemctl is-system-running --wait || true)"
booted_seconds="$(since "${t_start}")"
if [[ "${state}" != "running" ]]; then
    echo "boot-smoke: system state is '${state}', not 'running'; failed units:" >&2
    guest systemctl --failed --no-legend >&2 || true
    exit 1
fi
say "system running after ${booted_seconds}s; $(guest systemd-analyze | head -n 1)"
say "slowest units: $(guest "systemd-analyze blame | head -n 5 | tr -s ' ' | paste -sd ';'")"
password_denied="$(ssh -o BatchMode=yes -o PreferredAuthentications=password,keyboard-interactive \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="${known_hosts}" -o ConnectTimeout=5 "root@${ip}" true 2>&1 || true)"
[[ "${password_denied}" == *"Permission denied (publickey)"* ]] \
    || { echo "boot-smoke: sshd offers more than publickey: ${password_denied}" >&2; exit 1; }
machine_id="$(guest cat /etc/machine-id)"
[[ "${machine_id}" =~ ^[0-9a-f]{32}$ ]] || { echo "boot-smoke: bad machine-id '${machine_id}'" >&2; exit 1; }
say "password login refused; machine-id ${machine_id}"

# 7. Live vCPU hot-add: the image's udev rule onlines the new CPU.
t=$(now)
virsh_q setvcpus "${domain}" 2 --live
two_cpus() { [[ "$(guest nproc)" == "2" ]]; }
wait_for "nproc to show 2 CPUs after setvcpus --live 2" two_cpus
say "vCPU hot-add: nproc 1 -> 2 in $(since "${t}")s"

# 8. Live memory hot-plug of a 512 MiB DIMM (memhp_default_state=online and the udev rule online it).
mem_total() { guest "awk '/^MemTotal:/ { print \$2 }' /proc/meminfo"; }
before_kib="$(mem_total)"
cat >"${run_dir}/dimm.xml" <<'XML'
<memory model='dimm'>
  <target>
    <size unit='MiB'>512</size>
    <node>0</node>
  </target>
</memory>
XML
t=$(now)
virsh_q attach-device "${domain}" "${run_dir}/dimm.xml" --live >/dev/null
memory_grew() { (($(mem_total) >= before_kib + 500 * 1024)); }
wait_for "MemTotal to grow by 512 MiB after attaching a DIMM" memory_grew
say "memory hot-plug: MemTotal ${before_kib} kB -> $(mem_total) kB in $(since "${t}")s"

# 9. Optional: the agent binary runs in the guest (all its shared libraries are in the image).
if [[ -n "${agent}" ]]; then
    t=$(now)
    scp -q "${ssh_options[@]}" "${agent}" "root@${ip}:/usr/local/bin/somnus-agent"
    missing="$(guest "ldd /usr/local/bin/somnus-agent | grep 'not found' || true")"
    [[ -z "${missing}" ]] || { echo "boot-smoke: the agent lacks libraries in the guest: ${missing}" >&2; exit 1; }
    say "agent copied and run in $(since "${t}")s: somnus-agent $(guest /usr/local/bin/somnus-agent --version)"
fi

say "PASS: image ${image_seconds}s, lease ${lease_seconds}s, ssh ${ssh_seconds}s, running ${booted_seconds}s"
passed=1
