"""Analytical training performance model: iteration time of a transformer under tensor, pipeline and data
parallelism, from the model and system description alone (the approach of Calculon, Isaev et al., SC 2023).

Per micro-batch and layer, on one accelerator:

- the GEMMs of attention (QKV, output projection) and of the MLP (dense, or the active experts of an MoE layer) at
  the catalog's measured matmul rate (``compute_efficiency_frac``: maximum achievable matmul FLOPS, large shapes),
  times each GEMM's shape factor where the part has a measured table (:mod:`.gemm_shape`): forward ``tokens x in``
  by ``in x out``, and in the backward pass the input gradient (``tokens x out`` by ``out x in``) and the weight
  gradient (``in x tokens`` by ``tokens x out``), each at its own shape;
- the attention core: FlashAttention at the kernel's published rates for the part by head dimension and sequence
  length (:mod:`.attention_kernel`), or at ``flash_attention_efficiency_frac`` of peak where none are published
  (causal: half the score matrix computed; backward 2.5x the forward FLOPs, FlashAttention-2's count), or, without it,
  the materialised score
  matrix: two batched GEMMs and the softmax and dropout kernels, each on a roofline (``max`` of compute and HBM
  time) over the bytes they read and write;
- element-wise work (layer norms, bias + GeLU / SwiGLU, bias + dropout + residual) as HBM-bound kernels, counted
  from each kernel's inputs and outputs; the backward pass of an element-wise kernel moves twice its forward bytes
  (it reads the saved input and the incoming gradient and writes one gradient);
- recomputation: ``full`` repeats the forward pass (and its TP communication), ``selective`` the attention core.

Communication (:mod:`.perf_comm`), the pipeline schedule (1F1B: ``(p - 1) / v`` idle stage slots around
``m`` micro-batches; the last stage, which also computes the logits, sets the pace) and the optimizer step are
added to give the iteration time and its breakdown. Every array argument broadcasts: one call evaluates many
configurations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.workloads import perf_comm
from fab2token.workloads.attention_kernel import AttentionTable, attention_table
from fab2token.workloads.gemm_shape import GemmTable, gemm_table
from fab2token.workloads.perf_comm import ACT_BYTES

__all__ = [
    "Shape",
    "Hardware",
    "Layout",
    "shape_from_spec",
    "hardware_from_figures",
    "hardware_from_catalog",
    "layer_times",
    "iteration",
    "STEP_PARTS",
]

STEP_PARTS = (
    "compute_s",
    "grad_accumulation_s",
    "recompute_s",
    "tp_comm_s",
    "ep_comm_s",
    "cp_comm_s",
    "pp_comm_s",
    "bubble_s",
    "dp_comm_exposed_s",
    "optimizer_s",
)
"""The parts of one iteration :func:`iteration` returns; they sum to ``iteration_s``."""

Array = NDArray[np.float64]


def _a(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=float)


@dataclass(frozen=True)
class Shape:
    """A decoder-only transformer (``models.csv`` columns). ``ffn``: dense MLP width; MoE layers (all but the first
    ``dense_layers`` when ``experts`` > 0) run ``active_experts + shared_experts`` MLPs of width ``moe_ffn``."""

    layers: ArrayLike
    hidden: ArrayLike
    heads: ArrayLike
    kv_heads: ArrayLike
    head_dim: ArrayLike
    ffn: ArrayLike
    vocab: ArrayLike
    params_total: ArrayLike
    gated_mlp: ArrayLike = 1.0
    experts: ArrayLike = 0.0
    active_experts: ArrayLike = 0.0
    shared_experts: ArrayLike = 0.0
    moe_ffn: ArrayLike = 0.0
    dense_layers: ArrayLike = 0.0


@dataclass(frozen=True)
class Hardware:
    """One accelerator and its fabrics. Rates in FLOP/s and bytes/s; ``scaleup_domain``: accelerators per scale-up
    domain (NVLink / NVL72); the ``*_frac`` are achievable shares of the datasheet figures."""

    peak_flop_per_s: ArrayLike
    matmul_efficiency_frac: ArrayLike
    attention_flop_per_s: ArrayLike
    flash_attention_efficiency_frac: ArrayLike
    hbm_bytes_per_s: ArrayLike
    hbm_efficiency_frac: ArrayLike
    scaleup_bytes_per_s: ArrayLike
    scaleup_busbw_frac: ArrayLike
    scaleup_domain: ArrayLike
    scaleout_bytes_per_s: ArrayLike
    scaleout_busbw_frac: ArrayLike
    gemm_table: GemmTable | None = None  # measured GEMM rates by shape (None: every GEMM at the large-shape rate)
    attention_table: AttentionTable | None = None  # the attention kernel's rates (None: the flat efficiency)


@dataclass(frozen=True)
class Layout:
    """How one training iteration is laid out. ``global_batch_tokens`` per iteration; ``micro_batch`` in sequences;
    ``recompute``: ``none`` / ``selective`` / ``full``; state bytes per parameter from the precision recipe.
    ``grad_accumulation_fused``: the weight-gradient GEMMs accumulate into the main gradient in their epilogue
    (Megatron's gradient-accumulation fusion, from 2022); without it every micro-batch writes the gradient and adds
    it to the main gradient in a separate pass."""

    count: ArrayLike
    tp: ArrayLike
    pp: ArrayLike
    seq_len: ArrayLike
    global_batch_tokens: ArrayLike
    micro_batch: ArrayLike = 1.0
    virtual_stages: ArrayLike = 1.0
    ep: ArrayLike = 1.0  # expert parallelism: each MoE layer's routed experts split over ep data-parallel ranks
    cp: ArrayLike = 1.0  # context parallelism: each sequence split over cp ranks (laid out after TP)
    recompute: ArrayLike = "selective"
    sequence_parallel: ArrayLike = True
    flash_attention: ArrayLike = True
    zero_stage: ArrayLike = 1.0
    dp_overlap: ArrayLike = True
    grad_accumulation_fused: ArrayLike = True
    weight_bytes: ArrayLike = 2.0
    grad_bytes: ArrayLike = 2.0
    optimizer_bytes: ArrayLike = 12.0


def shape_from_spec(m: Mapping[str, Any]) -> Shape:
    """The :class:`Shape` of a :func:`~fab2token.workloads.architecture.model_spec` row."""
    moe_ffn = m.get("moe_ffn", m["ffn"])
    return Shape(
        layers=m["layers"],
        hidden=m["hidden"],
        heads=m["heads"],
        kv_heads=m["kv_heads"],
        head_dim=m["head_dim"],
        ffn=m["ffn"],
        vocab=m["vocab"],
        params_total=m["params_total"],
        gated_mlp=m.get("gated_mlp", 1.0),
        experts=m.get("experts", 0.0),
        active_experts=m.get("active_experts", 0.0),
        shared_experts=m.get("shared_experts", 0.0),
        moe_ffn=m["ffn"] if isinstance(moe_ffn, float) and math.isnan(moe_ffn) else moe_ffn,
        dense_layers=m.get("dense_layers", 0.0),
    )


def _known(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def hardware_from_figures(
    peak_flop_per_s: ArrayLike,
    matmul_efficiency_frac: ArrayLike,
    hbm_tb_per_s: ArrayLike,
    scaleup_gb_per_s: ArrayLike,
    scaleup_domain: ArrayLike,
    scaleout_gb_per_s: ArrayLike,
    attention_flop_per_s: ArrayLike | None = None,
    hbm_efficiency_frac: ArrayLike | None = None,
    gemm_table: GemmTable | None = None,
    attention_table: AttentionTable | None = None,
) -> Hardware:
    """A :class:`Hardware` from datasheet-style figures (``accelerators.csv`` units: TB/s, GB/s); the collective
    bus-bandwidth shares, the FlashAttention efficiency and, when not given, the HBM efficiency come from
    ``overheads.csv``. ``attention_flop_per_s`` defaults to ``peak_flop_per_s``; ``gemm_table``: the part's GEMM
    rates by shape; ``attention_table``: its attention kernel's rates (in place of the flat efficiency)."""
    return Hardware(
        peak_flop_per_s=peak_flop_per_s,
        matmul_efficiency_frac=matmul_efficiency_frac,
        attention_flop_per_s=peak_flop_per_s if attention_flop_per_s is None else attention_flop_per_s,
        flash_attention_efficiency_frac=catalog.overhead("flash_attention_efficiency_frac"),
        hbm_bytes_per_s=_a(hbm_tb_per_s) * 1e12,
        hbm_efficiency_frac=(
            catalog.overhead("hbm_bw_efficiency_default_frac") if hbm_efficiency_frac is None else hbm_efficiency_frac
        ),
        scaleup_bytes_per_s=_a(scaleup_gb_per_s) * 1e9,
        scaleup_busbw_frac=catalog.overhead("scaleup_busbw_frac"),
        scaleup_domain=scaleup_domain,
        scaleout_bytes_per_s=_a(scaleout_gb_per_s) * 1e9,
        scaleout_busbw_frac=catalog.overhead("scaleout_busbw_frac"),
        gemm_table=gemm_table,
        attention_table=attention_table,
    )


def catalog_gemm_table(acc: Mapping[str, Any], fp8: bool) -> GemmTable | None:
    """The GEMM table of an ``accelerators.csv`` row for :func:`hardware_from_figures`: BF16 GEMMs only (None for
    ``fp8``: no trustworthy per-shape FP8 table is published), None for a part without one."""
    return None if fp8 else gemm_table(str(acc.get("name", "")))


def hardware_from_catalog(acc: Mapping[str, Any], fp8: bool = False, attention_kernel: str = "auto") -> Hardware:
    """The :class:`Hardware` of an ``accelerators.csv`` row; GEMMs at the FP8 peak when ``fp8``, attention at BF16
    with ``attention_kernel`` (:mod:`.attention_kernel`). Figures the catalog lacks stay NaN (the times that need
    them come out NaN)."""
    bf16 = float(acc["dense_bf16_flop_per_s"])
    hbm_eff = acc.get("hbm_bw_efficiency_frac", math.nan)
    return hardware_from_figures(
        float(acc["dense_fp8_flop_per_s"]) if fp8 else bf16,
        catalog.compute_efficiency(acc, fp8=fp8),
        float(acc["hbm_tb_per_s"]),
        float(acc["scaleup_gb_per_s"]),
        float(acc["scaleup_domain"]),
        float(acc["scaleout_gb_per_s"]),
        attention_flop_per_s=bf16,
        hbm_efficiency_frac=hbm_eff if _known(hbm_eff) else None,
        gemm_table=catalog_gemm_table(acc, fp8),
        attention_table=attention_table(str(acc.get("name", "")), attention_kernel),
    )


def routed_expert_params(shape: Shape) -> Array:
    """Parameters of the routed experts (what expert parallelism shards): the MoE layers' ``experts`` MLPs of width
    ``moe_ffn`` (gated: 3 matrices, else 2); 0 for a dense model."""
    moe = _a(shape.experts) > 0  # an unpublished (NaN) expert count is a dense model
    mult = np.where(_a(shape.gated_mlp) > 0, 3.0, 2.0)
    with np.errstate(invalid="ignore"):
        params = (_a(shape.layers) - _a(shape.dense_layers)) * _a(shape.experts) * mult * _a(shape.hidden)
        params = params * _a(shape.moe_ffn)
    return np.where(moe, params, 0.0)


def _mlp_per_token(shape: Shape) -> tuple[Array, Array]:
    """Mean over layers of the MLP GEMM FLOPs per token (forward) and of the MLP intermediate width."""
    L, d = _a(shape.layers), _a(shape.hidden)
    mult = np.where(_a(shape.gated_mlp) > 0, 3.0, 2.0)
    moe = _a(shape.experts) > 0
    n_moe = np.where(moe, L - _a(shape.dense_layers), 0.0)
    width_moe = (_a(shape.active_experts) + _a(shape.shared_experts)) * _a(shape.moe_ffn)
    width = ((L - n_moe) * _a(shape.ffn) + n_moe * width_moe) / L
    router = n_moe / L * 2.0 * d * _a(shape.experts)
    return 2.0 * mult * d * width + router, width


def _roofline(flops: Array, bytes_: Array, flop_rate: Array, byte_rate: Array) -> Array:
    return np.maximum(flops / flop_rate, bytes_ / byte_rate)


def _attention_core(shape: Shape, hw: Hardware, lay: Layout, tokens: Array) -> tuple[Array, Array]:
    """Attention core of one layer and micro-batch on one rank, forward and backward [s]: the rank's ``tokens``
    queries against the whole sequence's keys (under context parallelism the causal work is balanced over the
    ranks, Llama 3's 2 x CP chunks, so each does ``1/cp`` of it)."""
    t, s = _a(lay.tp), _a(lay.seq_len)
    heads_here, dh = _a(shape.heads) / t, _a(shape.head_dim)
    hbm = _a(hw.hbm_bytes_per_s) * _a(hw.hbm_efficiency_frac)
    # FlashAttention: causal, half the score matrix; backward 2.5x forward FLOPs; at the kernel's rates by shape
    fa_flops = 0.5 * 4.0 * tokens * s * heads_here * dh
    if hw.attention_table is not None:
        fwd_rate, bwd_rate = hw.attention_table.rates(dh, s / _a(lay.cp))  # a rank's own queries
    else:
        fwd_rate = bwd_rate = _a(hw.attention_flop_per_s) * _a(hw.flash_attention_efficiency_frac)
    fa_fwd, fa_bwd = fa_flops / fwd_rate, 2.5 * (fa_flops / bwd_rate)
    # materialised: scores of tokens x s per head; 2 bytes per score, 1 per dropout-mask element
    gemm_rate = _a(hw.attention_flop_per_s) * _a(hw.matmul_efficiency_frac)
    bmm = 2.0 * tokens * s * heads_here * dh
    scores = tokens * s * heads_here
    qkvo = tokens * heads_here * dh * ACT_BYTES
    fwd = (
        _roofline(bmm, 2.0 * scores + 2.0 * qkvo, gemm_rate, hbm)  # Q K^T: read Q, K, write the scores
        + (4.0 + 5.0) * scores / hbm  # fused scale-mask-softmax (read, write); dropout (read, write, mask)
        + _roofline(bmm, 2.0 * scores + 2.0 * qkvo, gemm_rate, hbm)  # A V: read probabilities, V, write O
    )
    bwd = (
        _roofline(2.0 * bmm, 4.0 * scores + 3.0 * qkvo, gemm_rate, hbm)  # dP = dO V^T, dV = P^T dO
        + (5.0 + 6.0) * scores / hbm  # dropout backward; softmax backward (read y, dy, write dx)
        + _roofline(2.0 * bmm, 4.0 * scores + 4.0 * qkvo, gemm_rate, hbm)  # dQ = dS K, dK = dS^T Q
    )
    flash = np.asarray(lay.flash_attention, dtype=bool)
    return np.where(flash, fa_fwd, fwd), np.where(flash, fa_bwd, bwd)


def layer_times(shape: Shape, hw: Hardware, lay: Layout) -> dict[str, Array]:
    """Compute time of one layer for one micro-batch on one rank [s]: ``forward_s``, ``backward_s`` and
    ``recompute_s`` (the extra forward work of the recomputation mode), with the GEMM, attention-core and
    element-wise parts of the forward pass."""
    t, d = _a(lay.tp), _a(shape.hidden)
    tokens = _a(lay.micro_batch) * _a(lay.seq_len) / _a(lay.cp)  # a rank's share of the micro-batch's tokens
    rate = _a(hw.peak_flop_per_s) * _a(hw.matmul_efficiency_frac)
    hbm = _a(hw.hbm_bytes_per_s) * _a(hw.hbm_efficiency_frac)
    q_kv = (_a(shape.heads) + 2.0 * _a(shape.kv_heads)) * _a(shape.head_dim)
    attn_gemm = 2.0 * d * q_kv + 2.0 * _a(shape.heads) * _a(shape.head_dim) * d  # QKV and output projection
    mlp_gemm, width = _mlp_per_token(shape)
    gemm_fwd = tokens * (attn_gemm + mlp_gemm) / t / rate
    gemm_bwd = 2.0 * gemm_fwd
    if hw.gemm_table is not None:
        gemm_fwd, gemm_bwd = _shaped_gemms_s(shape, hw.gemm_table, lay, tokens, rate)
    core_fwd, core_bwd = _attention_core(shape, hw, lay, tokens)
    # two layer norms (read, write) and two bias-dropout-residual adds (read 2, write 1, mask): 22 h bytes per
    # token, sharded by TP only under sequence parallelism; bias + GeLU reads and writes the MLP width (4 f),
    # SwiGLU reads two and writes one (6 f)
    sp = np.asarray(lay.sequence_parallel, dtype=bool)
    replicated = 22.0 * d / np.where(sp, t, 1.0)
    act = np.where(_a(shape.gated_mlp) > 0, 6.0, 4.0) * width / t
    elem_fwd = tokens * (replicated + act) / hbm
    forward = gemm_fwd + core_fwd + elem_fwd
    backward = gemm_bwd + core_bwd + 2.0 * elem_fwd
    mode = np.asarray(lay.recompute)
    recompute = np.where(mode == "full", forward, np.where(mode == "selective", core_fwd, 0.0))
    return {
        "forward_s": forward,
        "backward_s": backward,
        "recompute_s": recompute,
        "gemm_forward_s": gemm_fwd,
        "attention_core_forward_s": core_fwd,
        "elementwise_forward_s": elem_fwd,
    }


def _gemm_pair_s(table: GemmTable, tokens: Array, n_out: Array, n_in: Array, rate: Array) -> tuple[Array, Array]:
    """A weight GEMM of ``tokens x n_in`` by ``n_in x n_out`` at its shape factors: forward, and backward (the input
    gradient ``tokens x n_out`` by ``n_out x n_in`` and the weight gradient ``n_in x tokens`` by ``tokens x n_out``)
    [s]."""
    flops = 2.0 * tokens * n_out * n_in
    fwd = flops / (rate * table.factor(tokens, n_out, n_in))
    bwd = flops / (rate * table.factor(tokens, n_in, n_out)) + flops / (rate * table.factor(n_in, n_out, tokens))
    return fwd, bwd


def _shaped_gemms_s(shape: Shape, table: GemmTable, lay: Layout, tokens: Array, rate: Array) -> tuple[Array, Array]:
    """One layer's weight GEMMs on one rank, forward and backward [s], each at its shape (:func:`_gemm_pair_s`),
    the mean over the dense and MoE layers: QKV and the output projection, the MLP's up (gate and up fused when
    gated) and down projections, and in an MoE layer each active routed expert on its tokens (``tokens x ep x k /
    E`` an expert under uniform routing) and the shared experts on all; the router at the large-shape rate."""
    t, d, dh = _a(lay.tp), _a(shape.hidden), _a(shape.head_dim)
    up = np.where(_a(shape.gated_mlp) > 0, 2.0, 1.0)
    parts = [
        _gemm_pair_s(table, tokens, (_a(shape.heads) + 2.0 * _a(shape.kv_heads)) * dh / t, d, rate),
        _gemm_pair_s(table, tokens, d, _a(shape.heads) * dh / t, rate),
    ]
    fwd, bwd = sum(p[0] for p in parts), sum(p[1] for p in parts)

    def mlp(rows: Array, width: Array) -> tuple[Array, Array]:
        a, b = _gemm_pair_s(table, rows, up * width / t, d, rate), _gemm_pair_s(table, rows, d, width / t, rate)
        return a[0] + b[0], a[1] + b[1]

    dense_f, dense_b = mlp(tokens, _a(shape.ffn))
    L, e, k = _a(shape.layers), _a(shape.experts), _a(shape.active_experts)
    moe = e > 0
    n_moe = np.where(moe, L - _a(shape.dense_layers), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_expert = np.where(moe, tokens * _a(lay.ep) * k / e, tokens)
    routed_f, routed_b = mlp(per_expert, _a(shape.moe_ffn))
    shared_f, shared_b = mlp(tokens, _a(shape.shared_experts) * _a(shape.moe_ffn))
    # the routed experts' work on this rank: k experts' worth of its tokens, spread over experts of per_expert rows
    scale = np.where(moe, tokens * k / np.where(moe, per_expert, 1.0), 0.0)
    moe_f = scale * routed_f + np.where(_a(shape.shared_experts) > 0, shared_f, 0.0)
    moe_b = scale * routed_b + np.where(_a(shape.shared_experts) > 0, shared_b, 0.0)
    router = tokens * 2.0 * d * np.where(moe, e, 0.0) / t / rate
    mean = lambda x_dense, x_moe: ((L - n_moe) * x_dense + n_moe * x_moe) / L  # noqa: E731
    return fwd + mean(dense_f, moe_f + router), bwd + mean(dense_b, moe_b + 2.0 * router)


def _logits_s(shape: Shape, hw: Hardware, lay: Layout, tokens: Array) -> Array:
    """Output layer of one micro-batch on the last stage [s]: the vocabulary GEMM (TP-split, forward and backward)
    and the cross-entropy reading and writing the logits in each direction (8 bytes per logit)."""
    t, vocab = _a(lay.tp), _a(shape.vocab)
    rate = _a(hw.peak_flop_per_s) * _a(hw.matmul_efficiency_frac)
    hbm = _a(hw.hbm_bytes_per_s) * _a(hw.hbm_efficiency_frac)
    if hw.gemm_table is not None:
        fwd, bwd = _gemm_pair_s(hw.gemm_table, tokens, vocab / t, _a(shape.hidden), rate)
        return fwd + bwd + 8.0 * tokens * vocab / t / hbm
    return 6.0 * tokens * _a(shape.hidden) * vocab / t / rate + 8.0 * tokens * vocab / t / hbm


def _grad_accumulation_s(shape: Shape, hw: Hardware, lay: Layout) -> Array:
    """Unfused gradient accumulation of one micro-batch on one rank [s]: the weight-gradient GEMM writes the
    gradient, then ``main_grad += grad`` reads both and writes the sum, ``4 g`` bytes per parameter held (Megatron-LM
    2021-2022 in fp16: ``param.main_grad.add_(param.grad)`` in its DDP hook); zero when fused."""
    params_here = perf_comm.sharded_params(shape, lay) / (_a(lay.tp) * _a(lay.pp))
    hbm = _a(hw.hbm_bytes_per_s) * _a(hw.hbm_efficiency_frac)
    unfused = 4.0 * _a(lay.grad_bytes) * params_here / hbm
    return np.where(np.asarray(lay.grad_accumulation_fused, dtype=bool), 0.0, unfused)


def iteration(shape: Shape, hw: Hardware, lay: Layout, model_flops_per_token: ArrayLike) -> dict[str, Array]:
    """One training iteration [s] and its breakdown (:data:`STEP_PARTS`; they sum to ``iteration_s``), the
    data-parallel degree, micro-batches and ``mfu``: model FLOPs (``model_flops_per_token`` x tokens) over
    iteration time x ``count`` x peak.

    Ranks are laid out [TP, CP, PP, DP] (Llama 3's order): ``count / (tp x cp x pp)`` data-parallel replicas, each
    micro-batch's sequences split over the ``cp`` ranks, whose gradients and optimizer shards are reduced with the
    data-parallel ranks' (they hold the same weights).

    The pipeline runs ``m`` micro-batches plus ``(p - 1) / v`` idle slots of the slowest stage (1F1B; interleaved
    with ``v`` chunks per rank, Narayanan et al. 2021 section 2.2); the last stage, holding the logits, sets it.
    """
    n, t, p, c = _a(lay.count), _a(lay.tp), _a(lay.pp), _a(lay.cp)
    v = _a(lay.virtual_stages)
    dp = np.maximum(np.floor(n / (t * p * c)), 1.0)
    sequences = _a(lay.micro_batch) * _a(lay.seq_len)  # tokens of one micro-batch, over its cp ranks
    m = np.maximum(_a(lay.global_batch_tokens) / (dp * sequences), 1.0)
    tokens = sequences / c  # one rank's share
    lt = layer_times(shape, hw, lay)
    per_stage = _a(shape.layers) / p
    tp_layer = perf_comm.tp_comm_per_layer_s(shape, hw, lay, tokens)
    ep_layer = perf_comm.ep_comm_per_layer_s(shape, hw, lay, tokens)
    cp_layer = perf_comm.cp_comm_per_layer_s(shape, hw, lay, tokens)
    pp_mb = perf_comm.pp_comm_per_microbatch_s(shape, hw, lay, tokens)
    compute_mb = per_stage * (lt["forward_s"] + lt["backward_s"]) + _logits_s(shape, hw, lay, tokens)
    accumulate_mb = _grad_accumulation_s(shape, hw, lay)
    stage_mb = compute_mb + accumulate_mb + per_stage * (lt["recompute_s"] + tp_layer + ep_layer + cp_layer) + pp_mb
    window = per_stage * (lt["backward_s"] + lt["recompute_s"])  # the last micro-batch's backward pass
    dp_c = perf_comm.dp_comm_s(shape, hw, lay, dp * c, m, window, m * compute_mb)  # CP ranks share the weights
    out = {
        "compute_s": m * compute_mb,
        "grad_accumulation_s": m * accumulate_mb,
        "recompute_s": m * per_stage * lt["recompute_s"],
        "tp_comm_s": m * per_stage * tp_layer,
        "ep_comm_s": m * per_stage * ep_layer,
        "cp_comm_s": m * per_stage * cp_layer,
        "pp_comm_s": m * pp_mb,
        "bubble_s": (p - 1.0) / v * stage_mb,
        "dp_comm_exposed_s": dp_c["dp_comm_exposed_s"],
        "optimizer_s": perf_comm.optimizer_s(shape, hw, lay, dp * c),
    }
    step = sum(out.values())
    flops = _a(model_flops_per_token) * _a(lay.global_batch_tokens)
    return out | {
        "iteration_s": step,
        "dp_comm_s": dp_c["dp_comm_s"],
        "data_parallel": dp,
        "microbatches": m,
        "mfu": flops / (step * n * _a(hw.peak_flop_per_s)),
    }
