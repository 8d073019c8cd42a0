#!/usr/bin/env bash
# Property-based acceptance of the agent against its own OpenAPI document: starts a real somnus-agent on loopback
# (plain HTTP, a bearer token, every file in a temporary directory) and runs schemathesis (PyPI, pinned below, in a
# virtual environment of its own) against the document the agent serves at /v1/openapi.json, for every operation
# except those that act on the machine. Fails on a server error (5xx), an answer the document does not describe
# (status code, content type, body schema) and on schemathesis' warnings that the document and the agent disagree.
#
# usage: Tests/Schemathesis/run.sh [AGENT_BINARY]   (default: .build/debug/somnus-agent, built when missing)
# SCHEMATHESIS_VENV names the virtual environment (default .build/schemathesis-venv); SCHEMATHESIS_MAX_EXAMPLES
# the test cases per operation and phase (default 30).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
schemathesis_version="4.32.5"

agent="${1:-${root}/.build/debug/somnus-agent}"
if [[ $# -eq 0 && ! -x "${agent}" ]]; then
    swift build --package-path "${root}" --product somnus-agent
fi

venv="${SCHEMATHESIS_VENV:-${root}/.build/schemathesis-venv}"
if [[ "$("${venv}/bin/schemathesis" --version 2>/dev/null || true)" != *"${schemathesis_version}"* ]]; then
    python3 -m venv "${venv}"
    "${venv}/bin/pip" install --quiet --disable-pip-version-check "schemathesis==${schemathesis_version}"
fi

work="$(mktemp -d)"
agent_pid=""
cleanup() {
    if [[ -n "${agent_pid}" ]]; then
        kill "${agent_pid}" 2>/dev/null || true
        wait "${agent_pid}" 2>/dev/null || true
    fi
    rm -rf "${work}"
}
trap cleanup EXIT

token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "${token}" >"${work}/token"
chmod 600 "${work}/token"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat >"${work}/agent.json" <<JSON
{"listen": "127.0.0.1:${port}", "token_file": "${work}/token", "tls_dir": "${work}/tls",
 "socket": "${work}/agent.sock", "data_dir": "${work}/data", "packs_dir": "${work}/packs",
 "packs_root": "${work}/packs-root", "journal": false, "monitored_units": [], "log_files": {}}
JSON
mkdir -p "${work}/data"

"${agent}" serve --config "${work}/agent.json" >"${work}/agent.log" 2>&1 &
agent_pid=$!
base="http://127.0.0.1:${port}"
for _ in $(seq 100); do
    if curl -fsS "${base}/v1/health/live" >/dev/null 2>&1; then break; fi
    if ! kill -0 "${agent_pid}" 2>/dev/null; then
        cat "${work}/agent.log" >&2
        echo "the agent exited before answering" >&2
        exit 1
    fi
    sleep 0.1
done

status=0
(
    cd "${work}"
    PYTHONPATH="${here}" "${venv}/bin/schemathesis" --config-file "${here}/schemathesis.toml" run \
        "${base}/v1/openapi.json" \
        --header "Authorization: Bearer ${token}" \
        --checks all --exclude-checks ignored_auth,unsupported_method,negative_data_rejection \
        --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-30}" \
        --workers 1 --seed 1 --suppress-health-check all \
        --exclude-operation-id startExec --exclude-operation-id softReboot \
        --exclude-operation-id freezeFilesystems --exclude-operation-id thawFilesystems \
        --exclude-operation-id syncTime --exclude-operation-id installPack \
        --report-dir "${work}/report"
) || status=$?
if ((status != 0)); then
    echo "== the agent's log" >&2
    tail -n 50 "${work}/agent.log" >&2
fi
exit "${status}"
