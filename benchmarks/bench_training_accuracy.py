"""How far the MFU estimator (``training.estimate_mfu``) is from published training throughput (not a test).

References (model FLOPs utilisation in our FLOP count, 6N + causal attention, recomputation not counted):
- Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", SC 2021
  (arXiv:2104.04473), Table 1: GPT models 1.7B-1T on A100 (V = 51,200, s = 2,048, full activation recomputation),
  achieved teraFLOP/s per GPU in the paper's hardware count (Eq. 3: 96 B s l h^2 (1 + s/6h + V/16lh), which counts
  the recomputed forward pass). Converted here to tokens/s per GPU with that same equation, then to our MFU.
- Llama Team, "The Llama 3 Herd of Models" (2024), Table 4: Llama 3 405B on H100, TP 8, PP 16, 16M tokens per batch
  at sequence 8,192: 8,192 GPUs (DP 64) 43 % BF16 MFU, 16,384 GPUs (DP 128) 41 %.
The estimator is a non-interleaved 1F1B pipeline with the catalog's measured matmul efficiency; Megatron's runs used
the interleaved schedule and its own kernels. Printed: ours / published, and what the step time is made of.
"""

from __future__ import annotations

import numpy as np

from fab2token import catalog
from fab2token.workloads.architecture import flops_per_token_training, model_spec, param_counts
from fab2token.workloads.training import estimate_mfu, recompute_flops_per_token

VOCAB, SEQ = 51200, 2048
# params (B), heads, hidden, layers, TP, PP, GPUs, batch (sequences), achieved teraFLOP/s per GPU
MEGATRON_TABLE_1 = [
    (1.7, 24, 2304, 24, 1, 1, 32, 512, 137),
    (3.6, 32, 3072, 30, 2, 1, 64, 512, 138),
    (7.5, 32, 4096, 36, 4, 1, 128, 512, 142),
    (18.4, 48, 6144, 40, 8, 1, 256, 1024, 135),
    (39.1, 64, 8192, 48, 8, 2, 512, 1536, 138),
    (76.1, 80, 10240, 60, 8, 4, 1024, 1792, 140),
    (145.6, 96, 12288, 80, 8, 8, 1536, 2304, 148),
    (310.1, 128, 16384, 96, 8, 16, 1920, 2160, 155),
    (529.6, 128, 20480, 105, 8, 35, 2520, 2520, 163),
    (1008.0, 160, 25600, 128, 8, 64, 3072, 3072, 163),
]
LLAMA3_TABLE_4 = [(8192, 0.43), (16384, 0.41)]  # GPUs, published BF16 MFU (TP 8, PP 16, seq 8,192, 16M tokens)


def main() -> None:
    a100 = catalog.lookup("accelerators", "A100")
    ratios = []
    print("Megatron-LM Table 1 (A100, full recomputation):")
    for p_b, heads, h, layers, tp, pp, gpus, batch, tflops in MEGATRON_TABLE_1:
        n = float(
            param_counts(layers, h, heads, heads, h / heads, 4 * h, vocab=VOCAB, gated_mlp=0, tied_embeddings=1)[0]
        )
        tokens_per_s = tflops * 1e12 / (96.0 * layers * h * h * (1 + SEQ / (6 * h) + VOCAB / (16 * layers * h)))
        fpt = float(flops_per_token_training(n, layers, heads, h / heads, SEQ))
        published = tokens_per_s * fpt / a100["dense_bf16_flop_per_s"]
        e = estimate_mfu(
            fpt,
            n,
            h,
            layers,
            SEQ,
            batch * SEQ,
            gpus,
            tp,
            pp,
            a100["dense_bf16_flop_per_s"],
            catalog.compute_efficiency(a100),
            a100["scaleup_gb_per_s"],
            a100["scaleout_gb_per_s"],
            recompute_flops=recompute_flops_per_token("full", n, layers, heads, h / heads, SEQ),  # as the runs did
        )
        ours = float(e["mfu"])
        ratios.append(ours / published)
        print(
            f"  {p_b:7.1f}B TP{tp} PP{pp:<3d} {gpus:5d} GPUs: published MFU {published:.3f}, ours {ours:.3f} "
            f"(ratio {ours / published:.2f}; bubble {float(e['bubble_frac']):.2f}, TP comm "
            f"{float(e['tp_comm_s'] / e['step_s']):.2f} of the step)"
        )
    r = np.array(ratios)
    print(f"  ours / published: min {r.min():.2f}, median {np.median(r):.2f}, max {r.max():.2f}")
    h100 = catalog.lookup("accelerators", "H100")
    m = model_spec("llama-3.1-405b")
    fpt = float(flops_per_token_training(m["params_active"], m["layers"], m["heads"], m["head_dim"], 8192))
    print("Llama 3 405B (H100, Table 4; selective recomputation assumed):")
    extra = recompute_flops_per_token("selective", m["params_active"], m["layers"], m["heads"], m["head_dim"], 8192)
    for gpus, published in LLAMA3_TABLE_4:
        e = estimate_mfu(
            fpt,
            m["params_total"],
            m["hidden"],
            m["layers"],
            8192,
            16 * 2**20,
            gpus,
            8,
            16,
            h100["dense_bf16_flop_per_s"],
            catalog.compute_efficiency(h100),
            h100["scaleup_gb_per_s"],
            h100["scaleout_gb_per_s"],
            recompute_flops=extra,
        )
        print(
            f"  {gpus:6d} GPUs: published MFU {published:.2f}, ours {float(e['mfu']):.3f} (ratio "
            f"{float(e['mfu']) / published:.2f}; bubble {float(e['bubble_frac']):.2f} at "
            f"{float(e['microbatches']):.0f} micro-batches, non-interleaved)"
        )
