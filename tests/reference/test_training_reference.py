"""Training iteration time from the analytical performance model (``workloads.perf``) against published Megatron-LM
runs on A100, with the published configurations and no fitted factor (issue 14).

Sources
-------
[N21]  Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", SC 2021
       (https://arxiv.org/abs/2104.04473), Table 1: GPT models 1.7B-1T, vocabulary 51,200, sequence 2,048, on
       Selene (DGX A100, 8 x 200 Gb/s HDR per node): attention heads, hidden size, layers, TP, PP, GPUs, batch size
       and achieved teraFLOP/s per GPU. The same rows (hidden size, layers, parameters, model-parallel size TP x PP,
       GPUs, batch size, teraFLOP/s per GPU) are in the Megatron-LM README image ``images/cases_april2021.png``
       (https://github.com/NVIDIA/Megatron-LM, commit 50a4b5f, 2021-04-08).
[N21c] What Table 1 does not list, from Megatron-LM as released with the paper (commit fda81a2, May 2021):
       ``examples/pretrain_gpt3_175B.sh`` runs ``--micro-batch-size 1``, ``--fp16``, ``--checkpoint-activations``
       (full recomputation) and no virtual pipeline stages (plain 1F1B); ``megatron/model/distributed.py`` adds each
       gradient to ``main_grad`` in a hook (no fused accumulation) and all-reduces after the backward pass
       (``allreduce_gradients``: no overlap); no sequence parallelism and no FlashAttention existed yet.
[K22]  Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models" (2022,
       https://arxiv.org/abs/2205.05198), Table 5: iteration time [s] of the 22B, 175B, 530B and 1T models with full
       recomputation and with sequence parallelism + selective recomputation, as transcribed in Calculon's validation
       (calculon-ai/calculon, ``calculon/llm/validation.py``, ``seqsel_tab5``; Isaev et al., SC 2023), whose
       ``validation/seqsel/tab5/*.json`` and ``models/*.json`` give the configurations used here (TP, PP, DP 1,
       batch, micro-batch, interleaving, fp16, TP all-reduce vs reduce-scatter/all-gather with the backward
       re-gather). Cross-check of the transcription: the Megatron-LM README (commit 2e90a34, 2022) publishes the
       model FLOPs utilisation of the same sequence-parallel + selective runs, 41.5 / 51.4 / 56.0 / 56.3 %, which
       Megatron's model-FLOP count (72 B s l h^2 (1 + s/6h + V/12lh)) reproduces from these times (test below).

Published iteration time of [N21]: the paper counts hardware FLOPs including the recomputed forward pass (its
eq. 3, 96 B s l h^2 (1 + s/6h + V/16lh)); dividing those FLOPs per iteration by the achieved teraFLOP/s per GPU and
the GPU count gives the time. Model FLOPs (MFU) drop the recomputed forward: 72 B s l h^2 (1 + s/6h + V/12lh) in
Megatron's count; fab2token reports MFU in its own count (6 N + causal attention), identical for the published and
the modelled run, so MFU error = time error.

Tolerance: +-15 % on each iteration time, the issue's acceptance bound (Calculon reports 3.65 % mean, 8.87 % max on
[K22] with system files tuned to Selene). No factor is fitted on these figures; every layout fact comes from the
papers' or the code's configuration. In-sample note: the unfused-gradient-accumulation term was added after seeing
the residuals on both tables (its setting for these runs is fixed by [N21c], not chosen by fit), and the alternatives
(interleaving, DP overlap) were looked at before [N21c] settled them; no figure here selected a parameter value.
Rows still outside the bound are marked ``xfail(strict=True)`` with the missing physics named, so they flip to a
failure once the model improves.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pytest

from fab2token import catalog
from fab2token.workloads.architecture import flops_per_token_training, param_counts
from fab2token.workloads.perf import Layout, Shape, hardware_from_catalog, iteration

VOCAB, SEQ = 51200, 2048
TOLERANCE = 0.15

# [N21] Table 1: params (B), heads, hidden, layers, TP, PP, GPUs, batch (sequences), achieved teraFLOP/s per GPU
NARAYANAN_TABLE_1 = [
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
# [K22] Table 5 via Calculon: name, hidden, heads, layers, TP, PP, GPUs, batch, micro-batch, interleaving,
# iteration time [s] with full recomputation, with sequence parallelism + selective recomputation
KORTHIKANTI_TABLE_5 = [
    ("22B", 6144, 64, 48, 8, 1, 8, 4, 4, 1, 1.42, 1.10),
    ("175B", 12288, 96, 96, 8, 8, 64, 64, 1, 3, 18.13, 13.75),
    ("530B", 20480, 128, 105, 8, 35, 280, 280, 1, 3, 49.05, 37.83),
    ("1T", 25600, 160, 128, 8, 64, 512, 512, 1, 1, 94.42, 71.49),
]
# [K22] sequence parallel + selective, model FLOPs utilisation, Megatron-LM README (2022)
KORTHIKANTI_README_MFU = {"22B": 0.415, "175B": 0.514, "530B": 0.560, "1T": 0.563}

# rows outside the bound, with what the model does not have yet
KNOWN_MISSES = {
    "N21 1.7B": "small-GEMM fall-off (hidden 2,304 at TP 1) and bias-gradient reductions are not modelled",
    "N21 3.6B": "small-GEMM fall-off and message-size-dependent NVLink bus bandwidth are not modelled",
    "N21 76.1B": "message-size-dependent bus bandwidth and pipeline p2p latency are not modelled",
}


def _gpt(hidden: Any, heads: Any, layers: Any) -> Shape:
    """GPT-3-style model of [N21]/[K22]: MLP 4h ungated, tied embeddings, vocabulary 51,200."""
    h, a, L = (np.asarray(x, dtype=float) for x in (hidden, heads, layers))
    params = param_counts(L, h, a, a, h / a, 4 * h, vocab=VOCAB, gated_mlp=0, tied_embeddings=1)[0]
    return Shape(L, h, a, a, h / a, 4 * h, VOCAB, params, gated_mlp=0.0)


def _megatron_2021(shape: Shape, rows: np.ndarray, **kw: Any) -> dict[str, np.ndarray]:
    _, _, _, _, tp, pp, gpus, batch = rows[:8]
    lay = Layout(
        count=gpus,
        tp=tp,
        pp=pp,
        seq_len=SEQ,
        global_batch_tokens=batch * SEQ,
        flash_attention=False,
        zero_stage=0,
        dp_overlap=False,
        grad_accumulation_fused=False,
        **kw,
    )
    a100 = hardware_from_catalog(catalog.lookup("accelerators", "A100"))
    fpt = flops_per_token_training(shape.params_total, shape.layers, shape.heads, shape.head_dim, SEQ)
    return iteration(shape, a100, lay, fpt)


@cache
def narayanan() -> dict[str, np.ndarray]:
    """[N21] published and modelled iteration times [s] of all Table 1 rows (one vectorised call)."""
    r = np.array(NARAYANAN_TABLE_1, dtype=float).T
    _, heads, h, layers, _, _, gpus, batch, tflops = r
    shape = _gpt(h, heads, layers)
    hw_flops = 96.0 * batch * SEQ * layers * h**2 * (1 + SEQ / (6 * h) + VOCAB / (16 * layers * h))
    published = hw_flops / (tflops * 1e12 * gpus)
    out = _megatron_2021(shape, r, micro_batch=1, virtual_stages=1, recompute="full", sequence_parallel=False)
    return out | {"published_s": published, "ours_s": out["iteration_s"]}


@cache
def korthikanti(mode: str) -> dict[str, np.ndarray]:
    """[K22] published and modelled iteration times [s]; ``mode``: ``full`` or ``seqsel``."""
    r = np.array([row[1:] for row in KORTHIKANTI_TABLE_5], dtype=float).T
    h, heads, layers, tp, pp, gpus, batch, micro, v, full, seqsel = r
    rows = np.array([h, heads, layers, layers, tp, pp, gpus, batch])
    out = _megatron_2021(
        _gpt(h, heads, layers),
        rows,
        micro_batch=micro,
        virtual_stages=v,
        recompute="full" if mode == "full" else "selective",
        sequence_parallel=mode != "full",
    )
    return out | {"published_s": full if mode == "full" else seqsel, "ours_s": out["iteration_s"]}


def _cases() -> list[Any]:
    cases = []
    for i, row in enumerate(NARAYANAN_TABLE_1):
        cases.append(("N21", f"N21 {row[0]}B", i))
    for mode in ("full", "seqsel"):
        for i, row in enumerate(KORTHIKANTI_TABLE_5):
            cases.append((f"K22-{mode}", f"K22 {row[0]} {mode}", i))
    return [
        pytest.param(*c, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[c[1]]), id=c[1])
        if c[1] in KNOWN_MISSES
        else pytest.param(*c, id=c[1])
        for c in cases
    ]


def results(table: str) -> dict[str, np.ndarray]:
    return narayanan() if table == "N21" else korthikanti(table.split("-")[1])


@pytest.mark.parametrize(("table", "label", "i"), _cases())
def test_iteration_time_within_tolerance(table: str, label: str, i: int) -> None:
    r = results(table)
    assert float(r["ours_s"][i]) == pytest.approx(float(r["published_s"][i]), rel=TOLERANCE), label


def test_published_times_reproduce_the_readme_mfu():
    # [K22] transcription check: Megatron's model FLOPs / (time x GPUs x 312 TFLOP/s) = the README's MFU (+-1 %)
    for name, h, _, layers, _, _, gpus, batch, _, _, _, seqsel in KORTHIKANTI_TABLE_5:
        flops = 72 * batch * SEQ * layers * h**2 * (1 + SEQ / (6 * h) + VOCAB / (12 * layers * h))
        assert flops / (seqsel * gpus * 312e12) == pytest.approx(KORTHIKANTI_README_MFU[name], rel=0.01)


def test_breakdown_sums_to_the_iteration_and_nothing_is_negative():
    keys = ("compute_s", "grad_accumulation_s", "recompute_s", "tp_comm_s", "pp_comm_s", "bubble_s")
    for r in (narayanan(), korthikanti("full"), korthikanti("seqsel")):
        parts = [r[k] for k in (*keys, "dp_comm_exposed_s", "optimizer_s")]
        assert np.allclose(sum(parts), r["iteration_s"]) and all(np.all(p >= 0) for p in parts)


def test_sequence_parallel_selective_beats_full_recomputation_as_published():
    # [K22]: 26-29 % faster per model; the model must at least get the direction and rough size
    full, sel = korthikanti("full")["ours_s"], korthikanti("seqsel")["ours_s"]
    published = np.array([r[10] / r[11] for r in KORTHIKANTI_TABLE_5])
    assert np.all(full / sel > 1.15) and np.allclose(full / sel, published, rtol=0.10)


def validation_rows() -> list[dict]:
    """Every row evaluated now, for the validation page: iteration time published and modelled."""
    rows = []
    for i, row in enumerate(NARAYANAN_TABLE_1):
        r = results("N21")
        rows.append(("N21", f"Narayanan 2021 Table 1, {row[0]}B on {row[6]:,} A100", r, i))
    for mode in ("full", "seqsel"):
        for i, row in enumerate(KORTHIKANTI_TABLE_5):
            rows.append((mode, f"Korthikanti 2022 Table 5, {row[0]} {mode}", results(f"K22-{mode}"), i))
    return [
        {
            "case": case,
            "published": float(r["published_s"][i]),
            "ours": float(r["ours_s"][i]),
            "unit": "s per iteration",
            "tolerance": TOLERANCE,
        }
        for _, case, r, i in rows
    ]
