"""Training memory per accelerator: weights, gradients and optimizer states by recipe and ZeRO stage, activations
by recomputation mode (Korthikanti et al. 2022), and the least data parallelism that fits."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token.errors import ModelError

__all__ = [
    "RECIPES",
    "RECOMPUTE_MODES",
    "state_bytes_per_param",
    "memory_per_accelerator_gb",
    "min_data_parallel_to_fit",
]

Array = NDArray[np.float64]

#: bytes per parameter (weights, gradients, optimizer states) of common precision recipes. Mixed-precision Adam
#: keeps bf16 weights and gradients and fp32 master weights, momentum and variance: 2 + 2 + 12 = 16 bytes
#: (Rajbhandari et al., "ZeRO", SC 2020, section 3.1). FP8 training keeps an extra fp8 copy of the weights.
RECIPES: dict[str, tuple[float, float, float]] = {
    "mixed-adam": (2.0, 2.0, 12.0),
    "fp8-adam": (3.0, 2.0, 12.0),
    "fp32-adam": (4.0, 4.0, 8.0),
}


def state_bytes_per_param(recipe: str) -> tuple[float, float, float]:
    if recipe not in RECIPES:
        raise ModelError(f"unknown precision recipe {recipe!r}; expected one of {', '.join(RECIPES)}")
    return RECIPES[recipe]


RECOMPUTE_MODES = ("none", "selective", "full")


def check_recompute(recompute: str) -> None:
    if recompute not in RECOMPUTE_MODES:
        raise ModelError(f"unknown recompute mode {recompute!r}; expected {', '.join(RECOMPUTE_MODES)}")


def _activations_gb(
    seq_len: Array,
    micro_batch: Array,
    hidden: Array,
    heads: Array,
    layers: Array,
    tp: Array,
    recompute: ArrayLike,
    cp: ArrayLike = 1.0,
    flash_attention: ArrayLike = True,
) -> Array:
    """Activation memory of the first pipeline stage [GB] (Korthikanti et al., "Reducing Activation Recomputation
    in Large Transformer Models", MLSys 2023, eqs. 2-5, with sequence parallelism). Under 1F1B scheduling the first
    stage holds ``pp`` micro-batches of ``L/pp`` layers, i.e. ``L`` layers' worth. ``recompute`` may be an array of
    modes (one per configuration). Context parallelism leaves each rank ``1/cp`` of every sequence's tokens (its
    queries' scores still span the whole sequence). With FlashAttention (the performance model's default) no
    score matrix is stored, only per-row softmax statistics (Dao et al., "FlashAttention", NeurIPS 2022: memory
    linear in the sequence length), so no recomputation keeps the 34 s b h / t of selective recomputation."""
    modes = np.asarray(recompute)
    for mode in np.unique(modes):
        check_recompute(str(mode))
    sbh = seq_len / np.asarray(cp, dtype=float) * micro_batch * hidden
    scores = np.where(np.asarray(flash_attention, dtype=bool), 0.0, 5.0 * heads * seq_len / hidden)
    per_layer = np.where(
        modes == "none",
        sbh * (34.0 + scores) / tp,
        np.where(modes == "selective", sbh * 34.0 / tp, 2.0 * sbh / tp),
    )
    return per_layer * layers / 1e9


def memory_per_accelerator_gb(
    params_total: ArrayLike,
    layers: ArrayLike,
    hidden: ArrayLike,
    heads: ArrayLike,
    seq_len: ArrayLike,
    micro_batch: ArrayLike = 1,
    tp: ArrayLike = 1,
    pp: ArrayLike = 1,
    dp: ArrayLike = 1,
    zero_stage: ArrayLike = 1,
    recipe: str = "mixed-adam",
    recompute: ArrayLike = "selective",
    expert_params: ArrayLike = 0.0,
    ep: ArrayLike = 1,
    cp: ArrayLike = 1,
    flash_attention: ArrayLike = True,
) -> dict[str, Array]:
    """Memory per accelerator [GB]: weights, gradients, optimizer states (sharded by TP x PP, and by DP x CP per the
    ZeRO stage: 1 shards optimizer states, 2 also gradients, 3 also weights; the ``cp`` context-parallel ranks of a
    replica hold the same weights and shard them with the ``dp`` replicas) and activations; ``expert_params`` of them
    split further over ``ep`` expert-parallel ranks. Every argument but the recipe broadcasts (the ZeRO stage and the
    recomputation mode too)."""
    w, g, o = state_bytes_per_param(recipe)
    held = np.asarray(params_total, dtype=float) - np.asarray(expert_params, dtype=float) * (
        1.0 - 1.0 / np.asarray(ep, dtype=float)
    )  # expert parallelism splits the routed experts over ep ranks
    p = held / (np.asarray(tp, dtype=float) * np.asarray(pp, dtype=float))
    d = np.asarray(dp, dtype=float) * np.asarray(cp, dtype=float)
    z = np.asarray(zero_stage, dtype=float)
    weights = p * w / np.where(z >= 3, d, 1.0) / 1e9
    grads = p * g / np.where(z >= 2, d, 1.0) / 1e9
    opt = p * o / np.where(z >= 1, d, 1.0) / 1e9
    act = _activations_gb(
        *(np.asarray(x, dtype=float) for x in (seq_len, micro_batch, hidden, heads, layers, tp)),
        recompute=recompute,
        cp=cp,
        flash_attention=flash_attention,
    )
    return {
        "weights_gb": weights,
        "gradients_gb": grads,
        "optimizer_gb": opt,
        "activations_gb": act,
        "total_gb": weights + grads + opt + act,
    }


def min_data_parallel_to_fit(
    capacity_gb: ArrayLike,
    params_total: ArrayLike,
    layers: ArrayLike,
    hidden: ArrayLike,
    heads: ArrayLike,
    seq_len: ArrayLike,
    micro_batch: ArrayLike = 1,
    tp: ArrayLike = 1,
    pp: ArrayLike = 1,
    zero_stage: int = 3,
    recipe: str = "mixed-adam",
    recompute: str = "selective",
    expert_params: ArrayLike = 0.0,
    ep: ArrayLike = 1,
    cp: ArrayLike = 1,
) -> Array:
    """Smallest data-parallel degree (replicas of ``tp x cp x pp`` accelerators) whose per-accelerator memory fits
    ``capacity_gb``; ``inf`` where none does."""
    one = memory_per_accelerator_gb(
        params_total,
        layers,
        hidden,
        heads,
        seq_len,
        micro_batch,
        tp,
        pp,
        1,
        zero_stage,
        recipe,
        recompute,
        expert_params,
        ep,
        cp,
    )
    sharded = sum(
        one[k] for k, stage in (("weights_gb", 3), ("gradients_gb", 2), ("optimizer_gb", 1)) if zero_stage >= stage
    )
    fixed = one["total_gb"] - sharded
    room = np.asarray(capacity_gb, dtype=float) - fixed
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(room > 0, np.ceil(sharded / room - 1e-12), np.inf)
    return np.where(one["total_gb"] <= capacity_gb, 1.0, np.maximum(need, 1.0))


def fit_in_memory(
    m: dict[str, Any],
    acc: dict[str, Any],
    seq: float,
    micro_batch: int,
    tp_eff: int,
    pp: int,
    dp: int,
    zero_stage: int,
    recipe: str,
    recompute: str,
    ep: int = 1,
    cp: int = 1,
) -> tuple[dict[str, Any], bool, float]:
    """Memory per accelerator, whether it fits in HBM, and the least data parallelism that would fit (ZeRO-3);
    ``ep`` splits the routed experts (:func:`fab2token.workloads.perf.routed_expert_params`), ``cp`` the
    sequences (context parallelism)."""
    from fab2token.workloads.perf import routed_expert_params, shape_from_spec

    experts = float(routed_expert_params(shape_from_spec(m)))
    mem = memory_per_accelerator_gb(
        m["params_total"],
        m["layers"],
        m["hidden"],
        m["heads"],
        seq,
        micro_batch,
        tp_eff,
        pp,
        dp,
        zero_stage,
        recipe,
        recompute,
        experts,
        ep,
        cp,
    )
    capacity = acc["hbm_gb"]
    fits = bool(mem["total_gb"] <= capacity)
    min_dp = float(
        min_data_parallel_to_fit(
            capacity,
            m["params_total"],
            m["layers"],
            m["hidden"],
            m["heads"],
            seq,
            micro_batch,
            tp_eff,
            pp,
            3,
            recipe,
            recompute,
            experts,
            ep,
            cp,
        )
    )
    return mem, fits, min_dp
