"""Reference values for the tokenizer and data tests (tests/data), from an independent Python
implementation: nothing here comes from our C++ code.

- GPT-2's pre-tokenisation pattern, run by Python's `re` engine. `re` lacks \\p{L} and \\p{N}, so the
  classes are spelt out from unicodedata's general categories; \\s is Unicode's White_Space property
  (what the `regex` module and tiktoken use).
- GPT-2's published encoder (openai/gpt-2, src/encoder.py): bytes_to_unicode, get_pairs, bpe(), encode(),
  applied to a vocab.json and merges.txt of our own making.
- A plain byte-level BPE trainer (recount every pair at every step; the most frequent pair wins,
  ties to the smallest (left id, right id)), whose merges the C++ trainer must reproduce.
- torch.randint for the training-window starts.

Run: make_data_refs.py OUT_DIR
"""
import collections
import json
import os
import random
import re
import sys
import unicodedata

import torch

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)


# --- GPT-2's pattern with explicit Unicode classes ----------------------------------------------
def category_class(prefix):
    parts, start = [], None
    for cp in range(0x110001):
        inside = cp <= 0x10FFFF and unicodedata.category(chr(cp)).startswith(prefix)
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            parts.append(f"\\U{start:08X}-\\U{cp - 1:08X}")
            start = None
    return "".join(parts)


WHITE_SPACE = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029,
               0x202F, 0x205F, 0x3000]
WS = "".join(f"\\U{c:08X}" for c in WHITE_SPACE)
L = category_class("L")
N = category_class("N")
# 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
GPT2_PATTERN = re.compile(
    rf"""'s|'t|'re|'ve|'m|'ll|'d| ?[{L}]+| ?[{N}]+| ?[^{WS}{L}{N}]+|[{WS}]+(?![^{WS}])|[{WS}]+""")


# --- GPT-2's encoder.py ---------------------------------------------------------------------------
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    cs = [chr(n) for n in cs]
    return dict(zip(bs, cs))


def get_pairs(word):
    pairs = set()
    prev_char = word[0]
    for char in word[1:]:
        pairs.add((prev_char, char))
        prev_char = char
    return pairs


class Encoder:
    def __init__(self, encoder, bpe_merges):
        self.encoder = encoder
        self.byte_encoder = bytes_to_unicode()
        self.bpe_ranks = dict(zip(bpe_merges, range(len(bpe_merges))))
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        pairs = get_pairs(word)
        if not pairs:
            return token
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        word = " ".join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        bpe_tokens = []
        for token in re.findall(GPT2_PATTERN, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            bpe_tokens.extend(self.encoder[bpe_token] for bpe_token in self.bpe(token).split(" "))
        return bpe_tokens


# --- a plain BPE trainer ----------------------------------------------------------------------------
def train_bpe(text, vocab_size):
    words = collections.Counter(tuple(piece.encode("utf-8")) for piece in re.findall(GPT2_PATTERN, text))
    words = [(list(w), f) for w, f in words.items()]
    merges = []
    next_id = 256
    while next_id < vocab_size:
        counts = collections.Counter()
        for w, f in words:
            for pair in zip(w, w[1:]):
                counts[pair] += f
        if not counts:
            break
        best = max(counts, key=lambda p: (counts[p], -p[0], -p[1]))
        merges.append(best)
        for k, (w, f) in enumerate(words):
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(next_id)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[k] = (out, f)
        next_id += 1
    return merges


# --- texts -------------------------------------------------------------------------------------------
TEXTS = [
    "Hello, world! This is a test.",
    "I'm sure they'll say we've done what she'd want; it's theirs, don't you think? 'S 'T 'RE",
    "''s quotes 'tis 'll'd 're've",
    "Numbers: 2024, 3.14159, 1,000,000 and 42nd; x2 v1.2.3",
    "  two leading spaces, three trailing   ",
    "\n\n\nnewlines\n\nand\ttabs\t\tx\r\nCRLF line\r\n",
    "   \n   indented\n\t\n end",
    "naïve café résumé — Ωmega; Ελληνικά κείμενα; Русский текст.",
    "日本語のテキストです。中文文本。한국어 텍스트.",
    "العربية: مرحبا بالعالم! हिन्दी पाठ (नमस्ते)",
    "emoji 🙂👍🏽 and ZWJ 👩‍👩‍👧 flags 🇫🇷!!",
    "Ⅻ roman, ² superscript, ½ fraction, ٣ Arabic-Indic, ０１２ fullwidth",
    "nbsp\u00a0here, ideographic\u3000space, en\u2002space, line\u2028sep",
    "controls \x1c\x1d\x1e\x1f and \x00 nul, \x7f del",
    "combining e\u0301 and a\u0308, ligature ﬁ, zero\u200bwidth, bom\ufeff.",
    "$$$ %%% ^^^ ... --- ___ *** !!! ??? ~~~ ``` \"\"\"",
    "MiXeD CaSe WoRdS and snake_case and camelCase and kebab-case",
    "      ",
    "x",
    "",
]

CORPUS = "\n".join([
    "First Citizen: Before we proceed any further, hear me speak. All: Speak, speak.",
    "You are all resolved rather to die than to famish? We know't, we know't.",
    "Let us kill him, and we'll have corn at our own price. Is't a verdict?",
    "The quick brown fox jumps over the lazy dog; the lazy dog sleeps, the fox runs.",
    "naïve café résumé déjà vu — Ωmega Ελληνικά; Привет, мир! Привет, друзья!",
    "日本語のテキスト、日本語の文章。東京と京都。 한국어 텍스트, 한국어 문장.",
    "In 2024 there were 1,000,000 tokens; in 2025, 2,000,000. 3.14159 2.71828",
    "    indented code:\n\tif (x) {\n\t\treturn y;\n\t}\n",
] * 3 + [TEXTS[i] for i in range(len(TEXTS))])

# --- write ----------------------------------------------------------------------------------------------
with open(os.path.join(OUT, "pretokenize.json"), "w", encoding="utf-8") as f:
    json.dump([{"text": t, "pieces": re.findall(GPT2_PATTERN, t)} for t in TEXTS + [CORPUS]], f, ensure_ascii=False)

TRAIN_VOCAB = 256 + 220
merges = train_bpe(CORPUS, TRAIN_VOCAB)
with open(os.path.join(OUT, "bpe_train.json"), "w", encoding="utf-8") as f:
    json.dump({"corpus": CORPUS, "vocab_size": TRAIN_VOCAB, "merges": merges}, f, ensure_ascii=False)

# GPT-2-format files from those merges: ids in GPT-2's order (the 256 byte characters in
# bytes_to_unicode's order, then the merges, then <|endoftext|>).
b2u = bytes_to_unicode()
token_str = {b: b2u[b] for b in range(256)}
vocab = {b2u[b]: i for i, b in enumerate(b2u)}
merge_lines = []
for k, (a, b) in enumerate(merges):
    token_str[256 + k] = token_str[a] + token_str[b]
    vocab[token_str[256 + k]] = len(vocab)
    merge_lines.append(f"{token_str[a]} {token_str[b]}")
vocab["<|endoftext|>"] = len(vocab)
with open(os.path.join(OUT, "vocab.json"), "w", encoding="utf-8") as f:
    json.dump(vocab, f, ensure_ascii=False)
with open(os.path.join(OUT, "merges.txt"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n" + "\n".join(merge_lines) + "\n")

# Read back as GPT-2's code does.
with open(os.path.join(OUT, "merges.txt"), encoding="utf-8") as f:
    bpe_merges = [tuple(m.split()) for m in f.read().split("\n")[1:-1]]
with open(os.path.join(OUT, "vocab.json"), encoding="utf-8") as f:
    enc = Encoder(json.load(f), bpe_merges)
rng = random.Random(5)
words = CORPUS.split()
extra = [" ".join(rng.choice(words) for _ in range(40)) for _ in range(5)]
with open(os.path.join(OUT, "gpt2_encode.json"), "w", encoding="utf-8") as f:
    json.dump([{"text": t, "ids": enc.encode(t)} for t in TEXTS + extra + [CORPUS]], f, ensure_ascii=False)

# Training-window starts: torch.randint(n - T, (B,)) after torch.manual_seed(seed).
cases = []
for seed, n, T, B in [(1337, 1003854, 64, 12), (0, 100, 8, 32), (7, 11, 3, 50), (42, 20000000, 256, 8)]:
    torch.manual_seed(seed)
    first = torch.randint(n - T, (B,)).tolist()
    second = torch.randint(n - T, (B,)).tolist()
    cases.append({"seed": seed, "n": n, "block_size": T, "batch_size": B, "starts": [first, second]})
with open(os.path.join(OUT, "random_starts.json"), "w") as f:
    json.dump(cases, f)
print("wrote data references to", OUT)
