"""One serving step on the roofline (the equations of :mod:`fab2token.workloads.inference`'s docstring), the expert
weights a step touches, wide expert parallelism's dispatch and combine, and the largest batch within the latency
SLOs, each vectorised over configurations."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "step_time_s",
    "prefill_time_s",
    "moe_weight_bytes_touched",
    "ep_all_to_all_s",
    "best_batch",
]

Array = NDArray[np.float64]


def _a(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=float)


def step_time_s(
    batch: ArrayLike,
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    params_active: ArrayLike,
    weight_bytes_touched: ArrayLike,
    kv_bytes_per_token: ArrayLike,
    layers: ArrayLike,
    heads: ArrayLike,
    head_dim: ArrayLike,
    hidden: ArrayLike,
    tp: ArrayLike,
    peak_flop_per_s: ArrayLike,
    hbm_bytes_per_s: ArrayLike,
    compute_eff: ArrayLike,
    bw_eff: ArrayLike,
    scaleup_bytes_per_s: ArrayLike,
    prefill_in_step: bool = True,
    ep: ArrayLike = 1.0,
    ep_comm_s: ArrayLike = 0.0,
    two_batch_overlap: ArrayLike = False,
    decode_attention_dim: ArrayLike | None = None,
    attention_flop_per_s: ArrayLike | None = None,
    prefill_attention_dim: ArrayLike | None = None,
) -> dict[str, Array]:
    """One continuous-batching step [s] and its parts (see the module docstring). All arguments broadcast.

    ``prefill_in_step=False`` gives a pure decode step at context ``input_tokens + output_tokens / 2``. With expert
    parallelism the replica is ``ep`` attention groups of ``tp`` accelerators (attention data-parallel over the
    groups, each with ``batch / ep`` of the sequences; ``weight_bytes_touched`` counts every group's copy of the
    non-expert weights) and the experts split over all ``tp x ep``: the work and bytes are shared by ``tp x ep``
    ranks, the TP all-reduces run within a group on its tokens, and ``ep_comm_s`` (the experts' dispatch and
    combine, :func:`ep_all_to_all_s`) is added. ``two_batch_overlap``: the step runs as two micro-batches, one's
    dispatch and combine hidden behind the other's work (DeepSeek's "dual micro-batch overlap", SGLang's two-batch
    overlap), at the price of reading the weights once per micro-batch: ``2 max(half the work with the weights
    read whole, half the expert communication)``. ``decode_attention_dim`` (default ``head_dim``): the width each
    query head's scores and values span while decoding, the mean of the two (MLA's absorbed attention scores over
    its latent KV and RoPE key and reads the latent as values); ``prefill_attention_dim`` (default ``head_dim``) the
    same while prefilling (MLA runs unabsorbed there: queries and keys of ``qk_head_dim``, values of ``head_dim``);
    ``attention_flop_per_s`` (default ``peak_flop_per_s``): the attention kernels' peak, in the KV cache's format.
    """
    b, i, o = _a(batch), _a(input_tokens), _a(output_tokens)
    n, lhd = _a(params_active), _a(layers) * _a(heads) * _a(head_dim)
    lhd_decode = lhd if decode_attention_dim is None else _a(layers) * _a(heads) * _a(decode_attention_dim)
    lhd_prefill = lhd if prefill_attention_dim is None else _a(layers) * _a(heads) * _a(prefill_attention_dim)
    groups = _a(ep)
    t = _a(tp) * groups  # ranks sharing the replica's work
    c = i + o / 2.0
    prefill_tokens = b * i / o if prefill_in_step else 0.0 * b
    denom_c = t * _a(peak_flop_per_s) * _a(compute_eff)
    denom_m = t * _a(hbm_bytes_per_s) * _a(bw_eff)
    gemm_c = (b + prefill_tokens) * 2.0 * n / denom_c
    gemm_m = _a(weight_bytes_touched) / denom_m
    attn_peak = _a(peak_flop_per_s) if attention_flop_per_s is None else _a(attention_flop_per_s)
    attn_c = (b * 4.0 * lhd_decode * c + prefill_tokens * 2.0 * lhd_prefill * i) / (t * attn_peak * _a(compute_eff))
    attn_m = b * c * _a(kv_bytes_per_token) / denom_m
    compute, memory = gemm_c + attn_c, gemm_m + attn_m
    comm = _tp_comm_s((b + prefill_tokens) / groups, tp, layers, hidden, scaleup_bytes_per_s)
    ep_comm = _a(ep_comm_s)
    step = _step_s((gemm_c, gemm_m, attn_c, attn_m), comm, ep_comm, two_batch_overlap)
    return {"step_s": step, "compute_s": compute, "memory_s": memory, "comm_s": comm + ep_comm}


def _tp_comm_s(tokens: Array, tp: ArrayLike, layers: ArrayLike, hidden: ArrayLike, bytes_per_s: ArrayLike) -> Array:
    """Two all-reduces per layer of a TP group's ``tokens`` activations (attention and MLP outputs), ring algorithm."""
    g = _a(tp)
    return np.where(g > 1, 2.0 * _a(layers) * 2.0 * (g - 1) / g * tokens * _a(hidden) * 2.0 / _a(bytes_per_s), 0.0)


def _step_s(roofs: tuple[Array, Array, Array, Array], comm: Array, ep_comm: Array, overlap: ArrayLike) -> Array:
    """A step from its (GEMM compute, weight reads, attention compute, attention memory) times, the TP all-reduces
    and the experts' communication: one after the other, or with two-batch overlap ``2 max(half the work with the
    weights read whole, half the expert communication)``."""
    gemm_c, gemm_m, attn_c, attn_m = roofs
    plain = np.maximum(gemm_c, gemm_m) + np.maximum(attn_c, attn_m) + comm + ep_comm
    half = np.maximum(gemm_c / 2.0, gemm_m) + np.maximum(attn_c, attn_m) / 2.0 + comm / 2.0
    return np.where(np.asarray(overlap, dtype=bool), 2.0 * np.maximum(half, ep_comm / 2.0), plain)


def moe_weight_bytes_touched(
    batch: ArrayLike,
    total_params: ArrayLike,
    expert_params_per_layer: ArrayLike,
    moe_layers: ArrayLike,
    experts: ArrayLike,
    active_experts: ArrayLike,
    bytes_per_param: ArrayLike,
) -> Array:
    """Weights read per step: all non-expert weights, and per MoE layer the experts at least one of the ``B x
    (tokens per step)`` tokens routes to, ``E (1 - (1 - k/E)^B)`` under uniform routing."""
    e, k, b = _a(experts), _a(active_experts), _a(batch)
    with np.errstate(divide="ignore", invalid="ignore"):
        touched = np.where(e > 0, e * (1.0 - (1.0 - k / e) ** b), 0.0)
    expert_total = _a(moe_layers) * e * _a(expert_params_per_layer)
    return (_a(total_params) - expert_total + _a(moe_layers) * touched * _a(expert_params_per_layer)) * _a(
        bytes_per_param
    )


def ep_all_to_all_s(
    tokens_per_step: ArrayLike,
    ranks: ArrayLike,
    moe_layers: ArrayLike,
    active_experts: ArrayLike,
    hidden: ArrayLike,
    bytes_per_s: ArrayLike,
    dispatch_bytes: ArrayLike = 2.0,
    combine_bytes: ArrayLike = 2.0,
    node_size: ArrayLike | None = None,
) -> Array:
    """Expert-parallel dispatch and combine of one step [s]: per MoE layer, every token's hidden state to its
    ``active_experts`` experts (``dispatch_bytes`` a value) and their outputs back (``combine_bytes``) at
    ``bytes_per_s`` (an achieved rate: the caller passes the NIC's line rate times what DeepEP's kernels reach of
    it, which holds their per-message overheads; no separate latency term).

    Low-latency kernels (``node_size`` None, decode): each of the ``ranks`` sends ``(ranks - 1) / ranks`` of its
    tokens' copies, one per expert. Normal kernels (``node_size`` the ranks a node holds, prefill): each token goes
    once to every node its experts are on and fans out within the node over the scale-up fabric, to the ``N (1 -
    (1 - 1/N)^k)`` distinct nodes ``k = active_experts`` uniformly routed experts reach among ``N = ranks /
    node_size`` (the own node counted, as DeepEP's benchmark counts the bytes its rate is measured in; an upper
    bound where the model's routing limits the nodes a token reaches); nothing crosses the NIC within one node."""
    r, k, value_bytes = _a(ranks), _a(active_experts), _a(dispatch_bytes) + _a(combine_bytes)
    if node_size is None:
        copies = _a(tokens_per_step) / r * k * _a(hidden) * value_bytes
        return np.where(r > 1, _a(moe_layers) * (r - 1.0) / r * copies / _a(bytes_per_s), 0.0)
    nodes = np.maximum(r / _a(node_size), 1.0)
    reached = nodes * (1.0 - (1.0 - 1.0 / nodes) ** k)
    per_rank = _a(tokens_per_step) / r * reached * _a(hidden) * value_bytes
    return np.where(nodes > 1.0, _a(moe_layers) * per_rank / _a(bytes_per_s), 0.0)


def best_batch(
    tpot_of: Any, max_batch: Array, tpot_slo_s: Array, ttft_slo_s: Array, output_tokens: Array, iterations: int = 20
) -> tuple[Array, Array, Array]:
    """Largest batch <= ``max_batch`` with TPOT <= SLO and TTFT <= SLO; 0 where even batch 1 fails.

    ``tpot_of(batch)`` must be vectorised and non-decreasing in ``batch``. Returns (batch, tpot, ttft).
    """
    lo = np.zeros_like(max_batch)
    hi = np.maximum(np.floor(max_batch), 0.0)

    def ok(b: Array) -> Array:
        tp = tpot_of(np.maximum(b, 1.0))
        # TTFT falls with B below O (the prompt is split over fewer steps) and rises with TPOT above it; TPOT only
        # rises. Above O, TTFT = TPOT, so the TTFT SLO caps B like the TPOT SLO does.
        return (tp <= tpot_slo_s) & ((b < output_tokens) | (tp <= ttft_slo_s))

    for _ in range(iterations):  # bisection on integers: fixed count, vectorised over configurations
        mid = np.floor((lo + hi + 1.0) / 2.0)
        good = ok(mid) & (mid <= hi)
        lo = np.where(good, mid, lo)
        hi = np.where(good, hi, mid - 1.0)
    b = lo
    tpot = tpot_of(np.maximum(b, 1.0))
    ttft = np.maximum(1.0, output_tokens / np.maximum(b, 1.0)) * tpot
    feasible = (b >= 1) & (ttft <= ttft_slo_s)
    return np.where(feasible, b, 0.0), tpot, ttft


def prefill_time_s(
    prompts: ArrayLike,
    input_tokens: ArrayLike,
    params_active: ArrayLike,
    weight_bytes_touched: ArrayLike,
    kv_bytes_per_token: ArrayLike,
    layers: ArrayLike,
    heads: ArrayLike,
    head_dim: ArrayLike,
    hidden: ArrayLike,
    tp: ArrayLike,
    peak_flop_per_s: ArrayLike,
    hbm_bytes_per_s: ArrayLike,
    compute_eff: ArrayLike,
    bw_eff: ArrayLike,
    scaleup_bytes_per_s: ArrayLike,
    ep: ArrayLike = 1.0,
    ep_comm_s: ArrayLike = 0.0,
    attention_flop_per_s: ArrayLike | None = None,
    prefill_attention_dim: ArrayLike | None = None,
) -> Array:
    """One prefill-only step of ``prompts`` prompts of ``input_tokens`` each [s] (a disaggregated prefill pool), on
    the roofline of :func:`step_time_s`: the prompt tokens' GEMMs against the weights read once, their causal
    attention (``2 L H Dh I`` a token, ``Dh`` the ``prefill_attention_dim`` where given, as a chunk of prefill
    counts in :func:`step_time_s`) against writing their
    KV cache, the TP all-reduces within a group and the experts' dispatch and combine, the latter hidden by
    two-batch overlap where ``ep`` > 1."""
    tokens = _a(prompts) * _a(input_tokens)
    t = _a(tp) * _a(ep)
    width = _a(head_dim) if prefill_attention_dim is None else _a(prefill_attention_dim)
    lhd = _a(layers) * _a(heads) * width
    attn_peak = _a(peak_flop_per_s) if attention_flop_per_s is None else _a(attention_flop_per_s)
    gemm_c = tokens * 2.0 * _a(params_active) / (t * _a(peak_flop_per_s) * _a(compute_eff))
    gemm_m = _a(weight_bytes_touched) / (t * _a(hbm_bytes_per_s) * _a(bw_eff))
    attn_c = tokens * 2.0 * lhd * _a(input_tokens) / (t * attn_peak * _a(compute_eff))
    attn_m = tokens * _a(kv_bytes_per_token) / (t * _a(hbm_bytes_per_s) * _a(bw_eff))
    comm = _tp_comm_s(tokens / _a(ep), tp, layers, hidden, scaleup_bytes_per_s)
    return _step_s((gemm_c, gemm_m, attn_c, attn_m), comm, _a(ep_comm_s), _a(ep) > 1)
