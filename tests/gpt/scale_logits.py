"""scale_logits.py IN OUT FACTOR: a copy of a checkpoint whose tied output weights are multiplied by
FACTOR (both stored copies, the checksum dropped), so its loss on any text is as large as asked."""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "torch_ref"))
import safetensors_lite as st  # noqa: E402

src, dst, factor = sys.argv[1], sys.argv[2], float(sys.argv[3])
tensors = st.load(src)
with open(src, "rb") as f:
    meta = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))["__metadata__"]
for name in ("transformer.wte.weight", "lm_head.weight"):
    tensors[name] = tensors[name] * factor
meta.pop("data_checksum", None)
st.save(tensors, dst, meta)
