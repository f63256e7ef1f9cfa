"""MPT training throughput on H100 from the analytical performance model, against MosaicML's published llm-foundry
benchmarks, with the published settings and no fitted factor (issue 14).

Source
------
[MML] MosaicML, llm-foundry ``scripts/train/benchmarking/README.md`` (https://github.com/mosaicml/llm-foundry, commit
      8c8dd48f72168c5d51e2f7b151595892a8fba43d; the H100 tables regenerated in 5e85bd62, 2024-01-06): the 77 rows of
      "H100 80GB BF16 (Large Scale, >= 128 GPUs)", "H100 80GB BF16" and "H100 80GB FP8", transcribed in
      ``data/mosaicml_mpt_h100.csv``: model size, sequence length, GPUs, MFU, HFU, micro-batch, gradient
      accumulation, global batch, tokens/s per GPU, precision, FSDP sharding strategy, activation checkpointing,
      parameter count. The MFU definition in the same README: ``(3 * 2 * n_params * seq_len + 3 * n_layers * 2 * 2 *
      d_model * seq_len**2) * seq_per_sec / (gpu_num * GPU_AVAILABLE_FLOPS)``, with composer's H100-SXM
      ``GPU_AVAILABLE_FLOPS`` of 989.5 TFLOP/s in amp_bf16 and 1979 in amp_fp8 (``composer/callbacks/speed_monitor.py``).
[MPT] The model shapes: ``scripts/train/yamls/pretrain/mpt-<size>.yaml`` at the same commit (d_model, n_heads,
      n_layers; expansion ratio 4, vocabulary 50,368, no biases, learned position embeddings: ``NumParams`` grows
      with the sequence by ``seq_len x d_model``).
[ATT] The attention kernel of each table, from llm-foundry's git history: the large-scale table's sweep
      (``scripts/train/benchmarking/sweep.py`` at 5e85bd62) passes ``--attn_impl flash`` for 1b, 3b, 7b and 70b and
      ``--attn_impl triton`` for 13b and 30b, and installs ``.[gpu-flash2]`` (``setup.py`` at 5e85bd62:
      ``flash-attn==2.4.2``), so its flash rows ran FlashAttention-2; the regular H100 BF16 table (added in
      b2a43a14, when ``submit_benchmarks.py`` defaulted to ``--attn_impl triton``) ran llm-foundry's Triton kernel;
      the FP8 table does not say.

Settings, each from the row: data parallelism only (TP = PP = 1), FSDP ``FULL_SHARD`` = ZeRO-3 and
``SHARD_GRAD_OP`` = ZeRO-2, activation checkpointing = full recomputation (else none), the micro-batch and global
batch as published, FlashAttention at FlashAttention-2's published H100 rates (``catalog/attention_kernels.csv``) on
the 12 rows that ran it [ATT], and at the flat share of peak (``flat``) on the rest, whose kernels' H100 rates are not
published (llm-foundry's Triton kernel; the FP8 table's unstated one), amp_fp8 rows with the GEMMs at the catalog's FP8 peak and measured FP8 matmul share (attention stays BF16). The
H100 cluster's network is not stated in [MML]: the catalog's 400 Gb/s per GPU is assumed (FSDP's traffic is hidden
behind compute in every row, so this does not move the answer).

Compared quantity: tokens/s per GPU (published) against the global batch's tokens over the modelled iteration time,
independent of any FLOP count. Tolerance +-15 % (the issue's bound).

The part's GEMM table by shape is the one a user's run gets, for the BF16 rows (OpenXLA's H100 table,
``catalog/gemm_shapes.csv``; none is published for FP8).

Result: the model is faster than every published row, by 27-164 % (median 63 %; median 67 % with the flat attention
share on every row, 70 % before the GEMMs ran at their shapes, which takes 3-7 % off the 760M-3B BF16 rows and
nothing off 7B and up): these runs reach 37-46 % MFU at 1-13B parameters and seq 2,048. FlashAttention-2's H100
rates take the 12 rows that ran it from +33-83 % to +29-67 %; the longest sequences, the furthest off, ran the Triton
kernel, whose H100 rate is unpublished. The missing physics is not identified yet; what the model leaves out and
could explain it: per-kernel launch and framework time (eager PyTorch, FSDP's pre- and post-forward hooks), the
Triton kernel's rate, and the casts of FSDP's mixed-precision mode. So every row is an expected failure
(``xfail(strict=True)``), to flip to a failure once the model improves; the transcription itself is checked (the
published MFU from the published throughput, below). No factor is fitted on these figures. In-sample note: the
attention kernel became a run's choice after this test had shown the flat share's gap; the kernel of each row is
taken from [ATT], not from the match.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from fab2token import catalog
from fab2token.workloads.architecture import flops_per_token_training, param_counts
from fab2token.workloads.attention_kernel import attention_table
from fab2token.workloads.perf import Layout, Shape, catalog_gemm_table, hardware_from_figures, iteration

DATA = Path(__file__).parent / "data" / "mosaicml_mpt_h100.csv"
TOLERANCE = 0.15
VOCAB = 50368
# [MPT] d_model, n_heads, n_layers per size
MPT_SHAPES = {
    "125m": (768, 12, 12),
    "350m": (1024, 16, 24),
    "760m": (1536, 12, 24),
    "1b": (2048, 16, 24),
    "3b": (2560, 20, 32),
    "7b": (4096, 32, 32),
    "13b": (5120, 40, 40),
    "30b": (7168, 56, 48),
    "70b": (8192, 64, 80),
}
PEAK = {"amp_bf16": 989.5e12, "amp_fp8": 1979e12}  # composer's GPU_AVAILABLE_FLOPS for h100-sxm [MML]
# [ATT] the rows run with FlashAttention-2: the large-scale table's 1b, 3b, 7b and 70b (``--attn_impl flash``)
FA2_ROWS = {f"MPT-{size} {gpus}xH100 s2048 amp_bf16" for size in ("1b", "3b", "7b", "70b") for gpus in (128, 256, 512)}
MISSING = (
    "the model is 27-164 % faster than MosaicML's MPT runs; not yet modelled: kernel launch and framework time, the "
    "Triton attention kernel's rate on H100, FSDP mixed-precision casts"
)


def rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@cache
def modelled() -> dict[str, np.ndarray]:
    """Published and modelled tokens/s per GPU of every row (one vectorised call of the model)."""
    r = rows()
    col = lambda k, t=float: np.array([t(x[k]) for x in r])  # noqa: E731
    d, h, L = (np.array([MPT_SHAPES[x["Model"]][i] for x in r], dtype=float) for i in range(3))
    seq, gpus, gbs = col("SeqLen (T)"), col("# GPUs"), col("GlobalBatchSize")
    params = param_counts(L, d, h, h, d / h, 4 * d, vocab=VOCAB, gated_mlp=0, tied_embeddings=1)[0]
    shape = Shape(L, d, h, h, d / h, 4 * d, VOCAB, params, gated_mlp=0.0)
    acc = catalog.lookup("accelerators", "H100")
    fp8 = col("Precision", str) == "amp_fp8"
    figures = (
        np.where(fp8, acc["dense_fp8_flop_per_s"], acc["dense_bf16_flop_per_s"]),
        np.where(fp8, acc["compute_efficiency_fp8_frac"], acc["compute_efficiency_frac"]),
        acc["hbm_tb_per_s"],
        acc["scaleup_gb_per_s"],
        acc["scaleup_domain"],
        acc["scaleout_gb_per_s"],
    )
    lay = Layout(
        count=gpus,
        tp=1,
        pp=1,
        seq_len=seq,
        global_batch_tokens=gbs * seq,
        micro_batch=col("MicroBatchSize"),
        recompute=np.where(col("Activation Checkpointing", str) == "True", "full", "none"),
        zero_stage=np.where(col("Sharding Strategy", str) == "FULL_SHARD", 3.0, 2.0),
        sequence_parallel=False,
    )
    fpt = flops_per_token_training(params, L, h, d / h, seq)
    # the catalog's GEMM table for the part, as a user's run gets it (FP8 GEMMs: no table); FlashAttention-2's H100
    # rates where the run used it, the flat share of peak where its kernel's H100 rate is unpublished
    fa2 = np.array([x in FA2_ROWS for x in _ids()])

    def iteration_s(f: bool, kernel: str) -> np.ndarray:
        hw = hardware_from_figures(
            *figures,
            attention_flop_per_s=acc["dense_bf16_flop_per_s"],
            gemm_table=catalog_gemm_table(acc, f),
            attention_table=attention_table(acc["name"], kernel),
        )
        return iteration(shape, hw, lay, fpt)["iteration_s"]

    flat = np.where(fp8, iteration_s(True, "flat"), iteration_s(False, "flat"))
    iteration_s = np.where(fa2, iteration_s(False, "fa2"), flat)
    return {
        "published": col("Throughput (T/s/GPU)"),
        "ours": gbs * seq / iteration_s / gpus,
        "mfu_published": col("MFU") / 100.0,
        "params": col("NumParams"),
        "seq": seq,
        "layers": L,
        "hidden": d,
        "peak": np.array([PEAK[x["Precision"]] for x in r]),
    }


def _ids() -> list[str]:
    return [f"MPT-{x['Model']} {x['# GPUs']}xH100 s{x['SeqLen (T)']} {x['Precision']}" for x in rows()]


def test_the_transcription_gives_the_published_mfu():
    # [MML]'s own formula on the transcribed throughput and parameter count reproduces its MFU column (to the
    # rounding of the throughput to whole tokens/s and of MFU to 0.01 %)
    m = modelled()
    per_token = 6.0 * m["params"] + 12.0 * m["layers"] * m["hidden"] * m["seq"]
    assert np.allclose(per_token * m["published"] / m["peak"], m["mfu_published"], rtol=0.01)
    assert len(m["published"]) == 77


def test_our_parameter_count_is_the_published_one_without_position_embeddings():
    m = modelled()
    r = rows()
    ours = np.array([float(param_counts(*_shape(x)[0], **_shape(x)[1])[0]) for x in r])
    assert np.allclose(ours + m["seq"] * m["hidden"], m["params"], rtol=2e-3)


def _shape(x: dict[str, str]) -> tuple:
    d, h, L = MPT_SHAPES[x["Model"]]
    return (L, d, h, h, d / h, 4 * d), {"vocab": VOCAB, "gated_mlp": 0, "tied_embeddings": 1}


@pytest.mark.parametrize(
    "i", [pytest.param(i, marks=pytest.mark.xfail(strict=True, reason=MISSING)) for i in range(77)], ids=_ids()
)
def test_throughput_within_tolerance(i: int):
    m = modelled()
    assert float(m["ours"][i]) == pytest.approx(float(m["published"][i]), rel=TOLERANCE)


def validation_rows() -> list[dict]:
    """Every row evaluated now, for the validation page (all expected failures: the gap is the measured one)."""
    m = modelled()
    return [
        {"case": case, "published": float(p), "ours": float(o), "unit": "tokens/s per GPU", "tolerance": TOLERANCE}
        for case, p, o in zip(_ids(), m["published"], m["ours"], strict=True)
    ]
