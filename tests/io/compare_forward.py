"""Runs `llm-journey forward` on a case written by make_io_refs.py and compares its output and per-head
attention weights with PyTorch's. Usage: compare_forward.py LLM_JOURNEY REFS_DIR CASE"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ATOL = 1e-5
binary, refs, case = sys.argv[1:4]
flags = json.load(open(os.path.join(refs, case + ".json")))["flags"]
with tempfile.TemporaryDirectory() as tmp:
    y_path, a_path = os.path.join(tmp, "y.npy"), os.path.join(tmp, "attn.npy")
    cmd = [binary, "forward", *flags, "--weights", os.path.join(refs, case + ".safetensors"),
           "--input", os.path.join(refs, case + ".x.npy"), "--output", y_path, "--attention-weights", a_path]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{case}: llm-journey forward failed ({r.returncode}): {r.stderr}")
    ok = True
    for what, got_path in (("y", y_path), ("attn", a_path)):
        want = np.load(os.path.join(refs, f"{case}.{what}.npy"))
        got = np.load(got_path)
        if got.shape != want.shape or got.dtype != want.dtype:
            print(f"{case} {what}: got {got.dtype}{got.shape}, want {want.dtype}{want.shape}")
            ok = False
            continue
        diff = float(np.abs(got.astype(np.float64) - want).max())
        print(f"{case} {what} {want.shape}: max |ours - torch| = {diff:.3g} (tolerance {ATOL})")
        ok = ok and diff <= ATOL
sys.exit(0 if ok else 1)
