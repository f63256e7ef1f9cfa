"""Communication time of a training iteration: tensor-parallel collectives on the scale-up fabric, pipeline
point-to-point between stages, data-parallel gradient reduction on the scale-out fabric, and the optimizer step.

Collectives use the ring algorithm's bandwidth term: an all-reduce moves ``2 (n - 1) / n`` of the buffer through each
rank, a reduce-scatter or an all-gather ``(n - 1) / n``. The bandwidth of a fabric is the achievable bus bandwidth:
the catalog's link figure (``scaleup_gb_per_s``, ``scaleout_gb_per_s`` in ``accelerators.csv``) times the measured
share ``scaleup_busbw_frac`` / ``scaleout_busbw_frac`` (``overheads.csv``). Latency terms are not modelled (no sourced
per-message latency in the catalog yet); they matter only for small messages, i.e. small models on many ranks.

All functions take arrays that broadcast together (one element per configuration) and return seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from fab2token.workloads.perf import Hardware, Layout, Shape

__all__ = [
    "ring_allreduce_s",
    "tp_comm_per_layer_s",
    "ep_comm_per_layer_s",
    "cp_comm_per_layer_s",
    "pp_comm_per_microbatch_s",
    "dp_comm_s",
    "optimizer_s",
]

Array = NDArray[np.float64]
ACT_BYTES = 2.0  # activations and their gradients travel in 16-bit floats (bf16 / fp16)


def sharded_params(shape: Shape, lay: Layout) -> Array:
    """Parameters one TP x PP slice holds once expert parallelism splits the routed experts over ``ep`` ranks."""
    from fab2token.workloads.perf import routed_expert_params

    e = np.asarray(lay.ep, dtype=float)
    return np.asarray(shape.params_total, dtype=float) - routed_expert_params(shape) * (1.0 - 1.0 / e)


def ring_allreduce_s(buffer_bytes: Array, ranks: Array, busbw_bytes_per_s: Array) -> Array:
    """Ring all-reduce of ``buffer_bytes`` over ``ranks`` at ``busbw_bytes_per_s`` [s]: ``2 (n - 1) / n B / bw``."""
    n = np.maximum(ranks, 1.0)
    return 2.0 * (n - 1.0) / n * buffer_bytes / busbw_bytes_per_s


def _scaleup_bw(hw: Hardware) -> Array:
    return np.asarray(hw.scaleup_bytes_per_s, dtype=float) * np.asarray(hw.scaleup_busbw_frac, dtype=float)


def _scaleout_bw(hw: Hardware) -> Array:
    return np.asarray(hw.scaleout_bytes_per_s, dtype=float) * np.asarray(hw.scaleout_busbw_frac, dtype=float)


def _fabric_bw(hw: Hardware, ranks_spanned: Array) -> Array:
    """The scale-up bandwidth while ``ranks_spanned`` consecutive ranks fit in one scale-up domain, else the
    scale-out bandwidth of one accelerator's NIC."""
    inside = ranks_spanned <= np.asarray(hw.scaleup_domain, dtype=float)
    return np.where(inside, _scaleup_bw(hw), _scaleout_bw(hw))


def tp_comm_per_layer_s(shape: Shape, hw: Hardware, lay: Layout, tokens_per_microbatch: Array) -> Array:
    """Tensor-parallel communication of one layer and one micro-batch, forward + backward (+ recomputed forward)
    [s], not overlapped with compute (Megatron-LM as published in 2021-2022).

    Megatron TP (Shoeybi et al. 2019): two all-reduces of the layer activations in the forward pass (after
    attention and after the MLP) and two in the backward pass (the input gradients of the QKV and FC1 GEMMs); full
    recomputation repeats the forward two. With sequence parallelism (Korthikanti et al. 2022) each all-reduce
    becomes a reduce-scatter plus an all-gather (same bytes), and the backward pass re-gathers the two sequence-
    sharded inputs of the column-parallel GEMMs unless the whole forward is recomputed (Megatron's default).
    Counted in units of one reduce-scatter or all-gather, ``(t - 1) / t`` of the activation buffer.
    """
    t = np.asarray(lay.tp, dtype=float)
    buffer = tokens_per_microbatch * np.asarray(shape.hidden, dtype=float) * ACT_BYTES
    full = np.asarray(lay.recompute) == "full"
    sp = np.asarray(lay.sequence_parallel, dtype=bool)
    units = 8.0 + np.where(full, 4.0, 0.0) + np.where(sp & ~full, 2.0, 0.0)
    one = (t - 1.0) / t * buffer / _fabric_bw(hw, t)
    return np.where(t > 1, units * one, 0.0)


def ep_comm_per_layer_s(shape: Shape, hw: Hardware, lay: Layout, tokens_per_microbatch: Array) -> Array:
    """Expert-parallel all-to-all of one layer and one micro-batch, averaged over the layers (only MoE layers
    have it) [s], not overlapped: each MoE layer dispatches every token's hidden state to its ``active_experts``
    routed experts and combines the results back, twice forward and twice backward (full recomputation adds the
    forward two), each rank sending ``(ep - 1) / ep`` of its tokens' copies (GShard, Lepikhin et al. 2020;
    Megatron-Core's MoE). The EP group's ranks sit ``tp`` apart (TP fastest, then DP), so it runs on the scale-up
    domain while ``tp x ep`` fits in one. Under sequence parallelism each TP rank holds ``1/tp`` of the tokens."""
    t, e = np.asarray(lay.tp, dtype=float), np.asarray(lay.ep, dtype=float)
    moe = np.asarray(shape.experts, dtype=float) > 0
    layers = np.asarray(shape.layers, dtype=float)
    sp = np.asarray(lay.sequence_parallel, dtype=bool)
    tokens = tokens_per_microbatch / np.where(sp, t, 1.0)
    with np.errstate(invalid="ignore"):
        moe_share = (layers - np.asarray(shape.dense_layers, dtype=float)) / layers
        copies = tokens * np.asarray(shape.active_experts, dtype=float) * np.asarray(shape.hidden, dtype=float)
        one = (e - 1.0) / e * copies * ACT_BYTES / _fabric_bw(hw, t * e)
    full = np.asarray(lay.recompute) == "full"
    units = 4.0 + np.where(full, 2.0, 0.0)
    return np.where((e > 1) & moe, units * one * moe_share, 0.0)


def cp_comm_per_layer_s(shape: Shape, hw: Hardware, lay: Layout, tokens_per_rank: Array) -> Array:
    """Context-parallel communication of one layer and one micro-batch [s], exposed (Llama 3, Dubey et al. 2024
    section 3.3.2: an all-gather of the keys and values before each attention, its latency "exposed in the critical
    path"): forward, each of the ``cp`` ranks gathers the others' K and V chunks, ``(cp - 1)`` chunks of
    ``tokens_per_rank x 2 x kv_heads x head_dim`` values split over the TP ranks by head (at least one head each);
    backward, the K and V gradients reduce-scatter back, the same bytes; recomputation of the attention core
    (selective or full) gathers them again. The CP group's ranks sit ``tp`` apart, so it runs on the scale-up
    domain while ``tp x cp`` fits in one."""
    t, c = np.asarray(lay.tp, dtype=float), np.asarray(lay.cp, dtype=float)
    kv_here = np.maximum(np.asarray(shape.kv_heads, dtype=float) / t, 1.0) * np.asarray(shape.head_dim, dtype=float)
    chunk = tokens_per_rank * 2.0 * kv_here * ACT_BYTES
    again = np.isin(np.asarray(lay.recompute), ("selective", "full"))
    units = 2.0 + np.where(again, 1.0, 0.0)
    return np.where(c > 1, units * (c - 1.0) * chunk / _fabric_bw(hw, t * c), 0.0)


def pp_comm_per_microbatch_s(shape: Shape, hw: Hardware, lay: Layout, tokens_per_microbatch: Array) -> Array:
    """Pipeline point-to-point of one micro-batch on the critical stage [s]: the activations forward and their
    gradient backward, once per model chunk (``virtual_stages``). Each TP rank sends its ``1/t`` share (Megatron's
    scatter/gather optimisation, Narayanan et al. 2021 section 4.1; with sequence parallelism the activations are
    already sharded), then, without sequence parallelism, the ranks all-gather it on the scale-up fabric. Stages
    sit in different scale-up domains once TP x CP x PP exceeds one domain."""
    t, p = np.asarray(lay.tp, dtype=float), np.asarray(lay.pp, dtype=float)
    v = np.asarray(lay.virtual_stages, dtype=float)
    buffer = tokens_per_microbatch * np.asarray(shape.hidden, dtype=float) * ACT_BYTES
    send = buffer / t / _fabric_bw(hw, t * np.asarray(lay.cp, dtype=float) * p)  # stages sit tp x cp apart
    sp = np.asarray(lay.sequence_parallel, dtype=bool)
    gather = np.where(sp | (t <= 1), 0.0, (t - 1.0) / t * buffer / _scaleup_bw(hw))
    return np.where(p > 1, 2.0 * v * (send + gather), 0.0)


def _hierarchical_allreduce_s(buffer_bytes: Array, dp: Array, tp: Array, hw: Hardware) -> Array:
    """All-reduce over ``dp`` ranks laid out after ``tp`` (Megatron's rank order: TP fastest, then DP): the ``g``
    ranks that share a scale-up domain reduce-scatter and all-gather on it, and the domains all-reduce their
    ``1/g`` shares over the scale-out network, each rank on its own NIC."""
    domain = np.asarray(hw.scaleup_domain, dtype=float)
    g = np.clip(np.floor(domain / tp), 1.0, dp)
    nodes = dp / g
    inside = np.where(g > 1, ring_allreduce_s(buffer_bytes, g, _scaleup_bw(hw)), 0.0)
    across = np.where(nodes > 1, ring_allreduce_s(buffer_bytes / g, nodes, _scaleout_bw(hw)), 0.0)
    return inside + across


def dp_comm_s(
    shape: Shape, hw: Hardware, lay: Layout, dp: Array, microbatches: Array, overlap_window_s: Array, compute_s: Array
) -> dict[str, Array]:
    """Data-parallel communication per iteration [s] over ``dp`` ranks (with context parallelism, the CP ranks
    too: they hold the same weights): the gradient all-reduce (ZeRO 0) or reduce-scatter +
    parameter all-gather (ZeRO 1-2, the same bytes), and with ZeRO 3 the weight all-gathers of every micro-batch's
    forward and backward passes.

    Overlap assumption (``dp_overlap``): gradients are final only after the last micro-batch's backward pass, so
    the gradient reduction can hide behind that pass alone (``overlap_window_s``: Megatron's overlapped,
    bucketed reduction); ZeRO-3 weight gathers are prefetched behind the whole compute. Without ``dp_overlap``
    (Megatron-LM 2021-2022 reduced after the backward pass) all of it is exposed.
    """
    t, p = np.asarray(lay.tp, dtype=float), np.asarray(lay.pp, dtype=float)
    params_here = sharded_params(shape, lay) / (t * p)
    grads = _hierarchical_allreduce_s(params_here * np.asarray(lay.grad_bytes, dtype=float), dp, t, hw)
    grads = np.where(dp > 1, grads, 0.0)
    z3 = np.asarray(lay.zero_stage, dtype=float) >= 3
    gather_once = 0.5 * _hierarchical_allreduce_s(params_here * np.asarray(lay.weight_bytes, dtype=float), dp, t, hw)
    gathers = np.where(z3 & (dp > 1), 2.0 * microbatches * gather_once, 0.0)
    overlap = np.asarray(lay.dp_overlap, dtype=bool)
    exposed = np.where(overlap, np.maximum(grads - overlap_window_s, 0.0), grads)
    exposed = exposed + np.where(overlap, np.maximum(gathers - compute_s, 0.0), gathers)
    return {"dp_comm_s": grads + gathers, "dp_comm_exposed_s": exposed}


def optimizer_s(shape: Shape, hw: Hardware, lay: Layout, dp: Array) -> Array:
    """Optimizer step [s], memory-bound: Adam reads its states and the gradient (twice: once for the global norm),
    and writes the states and the 16-bit weights, ``2 o + 2 g + w`` bytes per parameter held (sharded by DP from
    ZeRO 1, the distributed optimizer), at the achievable HBM bandwidth."""
    t, p = np.asarray(lay.tp, dtype=float), np.asarray(lay.pp, dtype=float)
    shard = np.where(np.asarray(lay.zero_stage, dtype=float) >= 1, dp, 1.0)
    params_here = sharded_params(shape, lay) / (t * p * shard)
    o, g, w = (np.asarray(x, dtype=float) for x in (lay.optimizer_bytes, lay.grad_bytes, lay.weight_bytes))
    hbm = np.asarray(hw.hbm_bytes_per_s, dtype=float) * np.asarray(hw.hbm_efficiency_frac, dtype=float)
    return params_here * (2.0 * o + 2.0 * g + w) / hbm
