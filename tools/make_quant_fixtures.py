#!/usr/bin/env python3
"""Reference dequantizations of GGUF block types by gguf-py (tests/fixtures/quant/blocks.json).

    .venv-tools/bin/python tools/make_quant_fixtures.py

For each type kvwb runs (Q8_0, Q4_0, Q4_1, Q4_K, Q6_K): a few blocks of random bytes whose f16
scale fields are overwritten with ordinary values (random bytes would often give inf/NaN
scales), and the floats gguf-py's `dequantize` (the numpy port of ggml's) makes of them.
kernels/quant.h's reference must reproduce them (tests/kernels/quant_test.cpp).
"""
import json
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "quant" / "blocks.json"
BLOCKS = 3
# Byte offsets of the f16 scale fields in one block of each type.
TYPES = {"q8_0": (T.Q8_0, 34, [0]), "q4_0": (T.Q4_0, 18, [0]), "q4_1": (T.Q4_1, 20, [0, 2]),
         "q4_k": (T.Q4_K, 144, [0, 2]), "q6_k": (T.Q6_K, 210, [208])}


def main():
    rng = np.random.default_rng(4)
    out = {"made_by": "tools/make_quant_fixtures.py", "types": {}}
    for name, (qtype, block_bytes, scale_offsets) in TYPES.items():
        raw = bytearray(rng.integers(0, 256, BLOCKS * block_bytes, dtype=np.uint8).tobytes())
        for b in range(BLOCKS):
            for off in scale_offsets:
                scale = np.float16(rng.uniform(0.001, 0.1) * rng.choice([-1.0, 1.0]))
                raw[b * block_bytes + off:b * block_bytes + off + 2] = scale.tobytes()
        values = dequantize(np.frombuffer(bytes(raw), dtype=np.uint8), qtype).astype(np.float32).ravel()
        out["types"][name] = {"hex": bytes(raw).hex(), "values": [float(v) for v in values]}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
