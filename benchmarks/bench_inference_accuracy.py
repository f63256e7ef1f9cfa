"""How far the inference roofline is from published serving throughput (not a test: the gap is open work).

Reference: NVIDIA TensorRT-LLM performance overview, docs/source/performance/perf-overview.md (commit 00f3768,
https://github.com/NVIDIA/TensorRT-LLM/blob/main/docs/source/performance/perf-overview.md): total output tokens/s of
trtllm-bench at infinite request rate, FP8 weights, fixed input/output lengths, on DGX H100 / DGX H200. Llama 3.3 70B
has Llama-3-70B's architecture. Printed: ours / published per configuration and the spread.
"""

from __future__ import annotations

import numpy as np

from fab2token.inference import infer

# (model, accelerator, tp, [(isl, osl, published tokens/s)])
PUBLISHED = [
    (
        "llama-3-70b",
        "H200",
        1,
        [
            (128, 2048, 4336),
            (1000, 1000, 2909),
            (500, 2000, 3666),
            (2048, 2048, 2003),
            (128, 128, 3803),
            (2048, 128, 442),
        ],
    ),
    (
        "llama-3-70b",
        "H100",
        2,
        [
            (128, 2048, 6651),
            (1000, 1000, 4205),
            (500, 2000, 5222),
            (2048, 2048, 3082),
            (128, 128, 6378),
            (2048, 128, 762),
        ],
    ),
    (
        "llama-3-8b",
        "H100",
        1,
        [
            (128, 2048, 22714),
            (1000, 1000, 15220),
            (500, 2000, 17660),
            (2048, 2048, 9305),
            (128, 128, 28312),
            (2048, 128, 3450),
        ],
    ),
    (
        "llama-3-8b",
        "H200",
        1,
        [
            (128, 2048, 26221),
            (1000, 1000, 17744),
            (500, 2000, 20770),
            (2048, 2048, 12194),
            (128, 128, 27911),
            (2048, 128, 3538),
        ],
    ),
    ("llama-3.1-405b", "H200", 8, [(128, 2048, 5348), (1000, 1000, 3330), (2048, 2048, 2948), (2048, 128, 456)]),
    ("llama-3.1-405b", "H100", 8, [(128, 2048, 4340), (1000, 1000, 2919), (2048, 2048, 2296), (2048, 128, 453)]),
]


def main() -> None:
    ratios = []
    for model, acc, tp, rows in PUBLISHED:
        for isl, osl, pub in rows:
            r = infer(
                model, acc, tp, tp=tp, precision="fp8", input_tokens=isl, output_tokens=osl, tpot_ms=1e7, ttft_ms=1e9
            )
            ratios.append(r.tokens_per_s / pub)
            print(
                f"{model:15s} {acc:5s} TP{tp} {isl:5d}/{osl:<5d} ours {r.tokens_per_s:8,.0f}  published {pub:7,d}  "
                f"ratio {r.tokens_per_s / pub:4.2f}  ({r.bound}, batch {r.batch:,.0f})"
            )
    q = np.percentile(ratios, [0, 50, 100])
    within = np.mean(np.abs(np.array(ratios) - 1) <= 0.25)
    print(
        f"ours / published over {len(ratios)} configurations: min {q[0]:.2f}, median {q[1]:.2f}, max {q[2]:.2f}; "
        f"{within:.0%} within +-25 %"
    )
