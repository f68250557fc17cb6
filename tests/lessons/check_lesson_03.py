"""Lesson 03 in its quick mode (--quick: a few training steps), three ways.

1. With no corpus where it looks (an empty working folder): it says so, naming the places it looked and
   `make data`, trains on the built-in soliloquy, holds out the sonnet (a different text), and still
   draws every figure.
2. With tiny-shakespeare (--data, when the corpus is at hand; else this part is skipped): nanoGPT's
   split, 1,003,854 characters to train on and 111,540 held out, 65 characters in the vocabulary.
3. With a --data file that does not exist: it fails, naming the file.

In every run it prints its sections in order, the speed of the fp32 and the bf16 run, and the PNGs it
says it saved are PNGs.

Usage: check_lesson_03.py LLM_JOURNEY WORK_DIR CORPUS
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

tool, work, corpus = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
SECTIONS = ["1. Embeddings", "2. Positional encoding", "3. The corpus", "4. The model", "5. Training",
            "6. Samples", "7. What bf16 rounds away", "8. fp32 and bf16 side by side"]
FIGURES = ["positional_encoding", "loss_curve", "bf16_weight_update", "fp32_vs_bf16"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run_lesson(folder, *extra):
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    p = subprocess.run([tool, "lesson", "03", "--quick", "--figures", "figures", *extra], cwd=folder,
                       capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def check_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "not a PNG signature"
    pos, width, height = 8, 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]:
            return f"bad CRC in {kind}"
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        pos += 12 + n
    return None if width >= 200 and height >= 150 else f"{width}x{height} pixels"


def check_run(name, folder, out):
    at = 0
    for s in SECTIONS:  # the sections, in order
        i = out.find("## " + s, at)
        check(i >= 0, f"{name}: section '{s}' missing or out of order")
        at = max(at, i)
    for f in FIGURES:
        check(f"[figure: figures/{f}.png]" in out, f"{name}: figure {f} not reported")
        path = os.path.join(folder, "figures", f + ".png")
        err = check_png(path) if os.path.exists(path) else "missing"
        check(err is None, f"{name}: {path}: {err}")
    check(re.search(r"speed over the first \d+ steps: fp32 [\d,]+ tokens/s, bf16 [\d,]+ tokens/s", out),
          f"{name}: no fp32 and bf16 speeds")
    check("1 + 1/512  1 " in out, f"{name}: 1 + 1/512 should print as 1 in bf16")
    check(re.search(r"after 1000 updates: fp32 0\.100\d+, bf16 0\.050049", out),
          f"{name}: the weight-update example")


# 1. No corpus.
folder = os.path.join(work, "no_corpus")
rc, out, err = run_lesson(folder)
check(rc == 0, f"no corpus: exit code {rc}\n{err}")
check("No corpus found: looked for ../shared/data/tinyshakespeare.txt and data/tinyshakespeare.txt" in out,
      "no corpus: does not say where it looked")
check("`make data`" in out, "no corpus: does not mention make data")
# The soliloquy (1,407 characters) is trained on; the sonnet (619) is the held-out text.
check("2,026 characters: 1,407 to train on, 619 held out" in out, "no corpus: the split is not soliloquy / sonnet")
check_run("no corpus", folder, out)

# 2. tiny-shakespeare.
if os.path.exists(corpus):
    folder = os.path.join(work, "corpus")
    rc, out, err = run_lesson(folder, "--data", os.path.abspath(corpus))
    check(rc == 0, f"corpus: exit code {rc}\n{err}")
    check("1,115,394 characters: 1,003,854 to train on, 111,540 held out" in out, "corpus: not nanoGPT's split")
    check("vocabulary: 65 characters" in out, "corpus: vocabulary is not 65 characters")
    check(re.search(r"val loss over the first 16 of the 1,742 held-out windows of 64 characters \(--quick\): \d\.\d{4}", out),
          "corpus: no validation loss on the held-out windows")
    check_run("corpus", folder, out)
else:
    print(f"corpus {corpus} not present: the tiny-shakespeare run is skipped")

# 3. A --data file that does not exist.
rc, out, err = run_lesson(os.path.join(work, "missing"), "--data", "/nonexistent/corpus.txt")
check(rc != 0 and "/nonexistent/corpus.txt" in err, f"missing --data: exit code {rc}, message {err!r}")

if failures:
    print("FAILED:\n" + "\n".join(failures))
    sys.exit(1)
print("lesson 03 runs cleanly")
