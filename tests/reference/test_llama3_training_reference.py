"""Llama 3 405B pre-training throughput on H100 from the analytical performance model, against the published
Table 4 of the Llama 3 report, with the published layout and no fitted factor (issue 14).

Source
------
[L3]  Llama Team, AI @ Meta, "The Llama 3 Herd of Models" (2024, https://arxiv.org/abs/2407.21783), section 3.3.2
      "Parallelism for Model Scaling" and Table 4 ("Scaling configurations and MFU for each stage of Llama 3 405B
      pre-training"): GPUs, TP, CP, PP, DP, sequence length, batch size per DP group, tokens per batch (16M),
      TFLOPs/GPU and BF16 MFU. The third row prints DP = 4; one of the authors confirmed it is a typo for 8
      (https://github.com/meta-llama/llama3/issues/324: "DP should be 8, so we have TP * CP * PP * DP=16384"), which
      16,384 / (8 x 16 x 16) and 8 x 16 x 131,072 = 16M tokens agree with. The model is the catalog's Llama-3.1-405B
      (126 layers, hidden 16,384, GQA with 8 KV heads, SwiGLU FFN 53,248, vocabulary 128,256; [L3] Table 3 and the
      released config) and the H100-SXM row (989 TFLOP/s dense BF16, 8 per NVLink domain, 400 Gb/s per GPU: [L3]
      section 3.3.1, "Both RoCE and Infiniband clusters leverage 400 Gbps interconnects between GPUs").

Layout, from the text of [L3] 3.3.2 (not from the figures):
- ranks ordered [TP, CP, PP, DP]; TP 8 within the server's NVLink; CP by all-gather of K and V, exposed ("the
  all-gather latency is exposed in the critical path"), on 2 x CP load-balanced chunks;
- FSDP "shards optimizer states and gradients, but ... we do not reshard after forward computation": ZeRO stage 2;
  data parallelism overlapped ("asynchronously prefetching sharded model weights and reducing gradients");
- "we could pre-train Llama 3 on sequences of 8K tokens without activation checkpointing": recomputation none;
- FP32 gradient accumulation and FP32 gradient reduce-scatter: the ``mixed-adam`` recipe's 4-byte gradients;
- an interleaved pipeline schedule ("an interleaved schedule ... with V pipeline stages on one pipeline rank"),
  with V and the micro-batch size not published.

The attention kernel is not published either. The rows use the default, ``attention_kernel: auto``:
FlashAttention-3's published H100 rates (``catalog/attention_kernels.csv``), the newest kernel with published rates
for the part; that default was set by that rule before these rows were computed with it. For the record, the MFU
errors with each choice (V = 4 in all): fa3 / auto +11.7 / +7.7 / +4.5 %, flat (0.50 of peak) +11.2 / +7.2 / +0.5 %,
fa2 +7.7 / +4.0 / -22.3 % (the 131K row, attention-bound, falls outside the tolerance with FlashAttention-2's rates).
Which kernel Meta ran is not known, so these rows check the model with the default, not the kernel choice.

What is not published is searched (``search_layout`` with the published parts fixed): the interleaving V and the
micro-batch size, as a user without Meta's settings would get them. The search takes V = 4 of (1, 2, 4, 8) (8
chunks of 16 stages would need 128 layers; the model has 126) and micro-batch 1. This was settled after the
model's MFU had been printed for V = 1..8 (V = 1 gives 0.375 and 0.283 on the first two rows, V = 8 would give
0.503 and 0.471), so the choice of "the search decides V" was made knowing its effect: read these rows as a check
of the model with the paper's layout and the search's V, not as a blind prediction of Meta's V.

Compared quantity: MFU = model FLOPs / (time x GPUs x 989 TFLOP/s). The published MFU is TFLOPs/GPU / 989 (430,
400 and 380: 0.435, 0.404, 0.384; the rounded percentages 43/41/38 agree). [L3] does not state its FLOP count;
fab2token counts 6 N + causal attention (PaLM's 12 L H Dh T per token, halved for the causal mask), which adds 4 %
to 6 N at 8,192 tokens and 67 % at 131,072. The published count is assumed to include attention the same way (an
assumption, stated: were it 6 N only, the third row would be off by that factor of 1.67, the first two by 4 %).
Tolerance +-15 % (the issue's bound, as for the Megatron-LM tables).
"""

from __future__ import annotations

from functools import cache

import pytest

from fab2token.workloads.layout import search_layout

H100_BF16_TFLOPS = 989.4  # catalog H100-SXM dense BF16 (9.894e14 FLOP/s)
TOLERANCE = 0.15
TOKENS_PER_BATCH = 16 * 2**20  # "16M"
# [L3] Table 4: GPUs, TP, CP, PP, DP (row 3 corrected), sequence, batch size per DP group, TFLOPs/GPU
LLAMA3_TABLE_4 = [
    (8192, 8, 1, 16, 64, 8192, 32, 430),
    (16384, 8, 1, 16, 128, 8192, 16, 400),
    (16384, 8, 16, 16, 8, 131072, 16, 380),
]


@cache
def modelled(i: int) -> dict:
    gpus, tp, cp, pp, _, seq, _, _ = LLAMA3_TABLE_4[i]
    fixed = {"tp": tp, "cp": cp, "pp": pp, "zero_stage": 2, "recompute": "none" if seq <= 8192 else None}
    return search_layout("llama-3.1-405b", "H100", gpus, seq, global_batch_tokens=TOKENS_PER_BATCH, fixed=fixed)


def test_the_table_is_self_consistent():
    # the transcription: TP x CP x PP x DP = GPUs and DP x batch per DP x sequence = 16M tokens (within the 2 % of
    # 16M = 16.8M vs 2^24)
    for gpus, tp, cp, pp, dp, seq, per_dp, _ in LLAMA3_TABLE_4:
        assert tp * cp * pp * dp == gpus
        assert dp * per_dp * seq == pytest.approx(16e6, rel=0.05)


@pytest.mark.parametrize("i", range(len(LLAMA3_TABLE_4)), ids=["8K GPUs", "16K GPUs", "16K GPUs CP16 128K"])
def test_mfu_within_tolerance(i: int):
    _, _, cp, _, dp, _, _, tflops = LLAMA3_TABLE_4[i]
    r = modelled(i)
    assert r["layout"]["dp"] == dp and r["layout"]["cp"] == cp
    assert r["mfu"] == pytest.approx(tflops / H100_BF16_TFLOPS, rel=TOLERANCE)
    assert r["memory_per_accelerator_gb"]["total_gb"] <= 80.0  # the layout the search returns fits in HBM


def test_the_published_ordering_holds():
    # [L3]: "the slight drop in MFU to 41% on 16K GPUs with DP=128 compared to 43% on 8K GPUs with DP=64 is due to
    # the lower batch size per DP group"; the 128K-token stage is lower still
    mfu = [modelled(i)["mfu"] for i in range(3)]
    assert mfu[0] > mfu[1] > mfu[2]


def validation_rows() -> list[dict]:
    """Each row evaluated now, for the validation page: MFU published (TFLOPs/GPU / 989.4) and modelled."""
    return [
        {
            "case": f"Llama 3 405B, {row[0]:,} H100, TP{row[1]} CP{row[2]} PP{row[3]}, seq {row[5]:,}",
            "published": row[7] / H100_BF16_TFLOPS,
            "ours": modelled(i)["mfu"],
            "unit": "MFU",
            "tolerance": TOLERANCE,
        }
        for i, row in enumerate(LLAMA3_TABLE_4)
    ]
