"""Transformer architecture arithmetic shared by training and inference: parameters, FLOPs, KV cache.

Every function takes arrays (scalars work) named after the ``models.csv`` columns, so a whole table of
configurations is evaluated in one call.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.errors import ModelError

__all__ = [
    "model_spec",
    "param_counts",
    "flops_per_token_training",
    "flops_per_token_forward",
    "kv_cache_bytes_per_token",
    "chinchilla_optimal",
]

Array = NDArray[np.float64]


def model_spec(name: str, overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A ``models.csv`` row (by name or alias) with scenario overrides, derived fields filled in."""
    row = dict(catalog.lookup("models", name, overrides))
    for key in ("layers", "hidden", "heads", "vocab"):
        if _nan(row.get(key)):
            raise ModelError(f"model {row['name']}: {key} is not given; set catalog.models.{row['name']}.{key}")
    if _nan(row.get("kv_heads")):
        row["kv_heads"] = row["heads"]
    if _nan(row.get("head_dim")):
        row["head_dim"] = row["hidden"] / row["heads"]
    if _nan(row.get("ffn")):
        row["ffn"] = 4 * row["hidden"]
    for key, default in (
        ("experts", 0.0),
        ("active_experts", 0.0),
        ("shared_experts", 0.0),
        ("dense_layers", 0.0),
        ("gated_mlp", 1.0),
        ("tied_embeddings", 0.0),
    ):
        if _nan(row.get(key)):
            row[key] = default
    if _nan(row.get("moe_ffn")):
        row["moe_ffn"] = row["ffn"]
    total, active = param_counts(**{k: row[k] for k in _ARCH})
    if _nan(row.get("params_total")):
        row["params_total"] = float(total)
    if _nan(row.get("params_active")):
        row["params_active"] = float(active)
    return row


_ARCH = (
    "layers",
    "hidden",
    "heads",
    "kv_heads",
    "head_dim",
    "ffn",
    "moe_ffn",
    "experts",
    "active_experts",
    "shared_experts",
    "dense_layers",
    "vocab",
    "gated_mlp",
    "tied_embeddings",
    "attn_params_per_layer",
)


def _nan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def param_counts(
    layers: ArrayLike,
    hidden: ArrayLike,
    heads: ArrayLike,
    kv_heads: ArrayLike,
    head_dim: ArrayLike,
    ffn: ArrayLike,
    moe_ffn: ArrayLike = 0,
    experts: ArrayLike = 0,
    active_experts: ArrayLike = 0,
    shared_experts: ArrayLike = 0,
    dense_layers: ArrayLike = 0,
    vocab: ArrayLike = 0,
    gated_mlp: ArrayLike = 1,
    tied_embeddings: ArrayLike = 0,
    attn_params_per_layer: ArrayLike = math.nan,
) -> tuple[Array, Array]:
    """Total and active (per token) parameters of a decoder-only transformer.

    Attention: Q and O projections ``2 d H Dh`` plus K and V ``2 d KV Dh``. MLP: ``3 d f`` when gated (SwiGLU),
    else ``2 d f``. MoE layers (all but the first ``dense_layers``, when ``experts`` > 0) hold ``experts +
    shared_experts`` MLPs of width ``moe_ffn`` and a router; ``active_experts + shared_experts`` run per token.
    Embeddings ``V d`` (twice when untied). Norms and biases are ignored (< 0.01 %). ``attn_params_per_layer``
    replaces the attention count for other attention designs (MLA).
    """
    L, d, H, KV, Dh = (np.asarray(x, dtype=float) for x in (layers, hidden, heads, kv_heads, head_dim))
    f, fm, E, k, S, Ld, V = (
        np.asarray(x, dtype=float) for x in (ffn, moe_ffn, experts, active_experts, shared_experts, dense_layers, vocab)
    )
    mlp_mult = np.where(np.asarray(gated_mlp, dtype=float) > 0, 3.0, 2.0)
    attn = 2 * d * H * Dh + 2 * d * KV * Dh
    given = np.asarray(attn_params_per_layer, dtype=float)
    attn = np.where(np.isnan(given), attn, given)  # e.g. multi-head latent attention (MLA)
    dense_mlp = mlp_mult * d * f
    expert_mlp = mlp_mult * d * fm
    moe = E > 0
    n_moe = np.where(moe, L - Ld, 0.0)
    n_dense = L - n_moe
    total_mlp = n_dense * dense_mlp + n_moe * ((E + S) * expert_mlp + d * E)
    active_mlp = n_dense * dense_mlp + n_moe * ((k + S) * expert_mlp + d * E)
    embed = V * d * np.where(np.asarray(tied_embeddings, dtype=float) > 0, 1.0, 2.0)
    return L * attn + total_mlp + embed, L * attn + active_mlp + embed


def flops_per_token_forward(
    params_active: ArrayLike,
    layers: ArrayLike,
    heads: ArrayLike,
    head_dim: ArrayLike,
    context: ArrayLike,
    causal: bool = True,
) -> Array:
    """Forward FLOPs per token at a context length: ``2 N`` for the matmuls plus attention scores and values.

    Attention per token per layer is ``4 T H Dh`` (QK^T and AV over ``T`` positions); ``causal`` halves it to the
    mean over positions of a causal sequence.
    """
    attn = (
        4.0
        * np.asarray(layers, dtype=float)
        * np.asarray(context, dtype=float)
        * np.asarray(heads, dtype=float)
        * np.asarray(head_dim, dtype=float)
    )
    return 2.0 * np.asarray(params_active, dtype=float) + (0.5 if causal else 1.0) * attn


def flops_per_token_training(
    params_active: ArrayLike,
    layers: ArrayLike,
    heads: ArrayLike,
    head_dim: ArrayLike,
    seq_len: ArrayLike,
    causal: bool = True,
) -> Array:
    """Training model FLOPs per token: 3 x forward, i.e. ``6 N + 12 L H Dh T`` (PaLM, Chowdhery et al. 2022,
    appendix B) with the attention term halved for causal masking (``causal=True``, what FlashAttention computes;
    ``False`` gives PaLM's full count). Recomputation is not counted (model FLOPs, not hardware FLOPs).
    """
    return 3.0 * flops_per_token_forward(params_active, layers, heads, head_dim, seq_len, causal=causal)


def kv_cache_bytes_per_token(
    layers: ArrayLike,
    kv_heads: ArrayLike,
    head_dim: ArrayLike,
    bytes_per_value: ArrayLike,
    kv_dim_per_layer: ArrayLike = math.nan,
) -> Array:
    """KV-cache bytes per token: ``2 L KV Dh b`` (keys and values), or ``L c b`` for a latent cache of width c (MLA)."""
    kvd = np.asarray(kv_dim_per_layer, dtype=float)
    std = 2.0 * np.asarray(kv_heads, dtype=float) * np.asarray(head_dim, dtype=float)
    width = np.where(np.isnan(kvd), std, kvd)
    return np.asarray(layers, dtype=float) * width * np.asarray(bytes_per_value, dtype=float)


def chinchilla_optimal(flops: ArrayLike, tokens_per_param: ArrayLike = 20.0) -> tuple[Array, Array]:
    """Compute-optimal parameters and tokens for a FLOP budget with ``C = 6 N D`` and ``D = r N``.

    ``r`` = 20 tokens per parameter is the rule of thumb from Hoffmann et al. (2022), "Training Compute-Optimal
    Large Language Models" (Chinchilla: 70B parameters, 1.4T tokens).
    """
    c = np.asarray(flops, dtype=float)
    r = np.asarray(tokens_per_param, dtype=float)
    n = np.sqrt(c / (6.0 * r))
    return n, r * n
