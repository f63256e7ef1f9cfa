"""Disaggregated serving: prefill and decode on separate pools of the same replica layout (as DeepSeek and SGLang
serve DeepSeek-V3, and as NVIDIA Dynamo does), each pool at its own best batch.

The prefill pool runs prefill-only steps (:func:`~fab2token.workloads.serving_step.prefill_time_s`): as many
prompts a step as meet the TTFT SLO and fit in memory. The decode pool runs decode-only steps at the largest batch
that meets the TPOT SLO and fits (its requests' KV cache arrives from the prefill pool). For requests of ``I``
prompt and ``O`` output tokens the fleet splits so both pools keep pace: an accelerator-second serves ``I / p``
prompt-seconds of prefill and ``O / d`` of decode (``p``, ``d`` the pools' tokens/s per accelerator), so the
fleet's output tokens/s per accelerator is ``O / (I / p + O / d)`` and the prefill pool's share ``(I / p) / (I / p +
O / d)``. Not modelled: moving the KV cache from one pool to the other, and queueing for a prefill slot (TTFT is
one prefill step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from fab2token.workloads.serving_step import (
    _a,
    best_batch,
    prefill_time_s,
)

if TYPE_CHECKING:
    from fab2token.workloads.inference import Replica

__all__ = ["prefill_step_s", "disaggregated"]

Array = NDArray[np.float64]


def prefill_step_s(r: Replica, prompts: Any) -> Array:
    """One prefill-only step of ``prompts`` prompts on replica ``r`` [s], engine efficiency applied."""
    m, (peak, ce, be, engine, scaleup) = r.model, r.rates
    tokens = _a(prompts) * r.input_tokens
    touched, a2a = r.weights_touched(tokens), r.expert_comm_s(tokens)
    t = prefill_time_s(
        prompts, r.input_tokens, m["params_active"], touched, r.kv_tok, m["layers"], m["heads"], m["head_dim"],
        m["hidden"], r.tp, peak, r.acc["hbm_tb_per_s"] * 1e12, ce, be, scaleup, r.ep, a2a,
        r.attention[1],
    )  # fmt: skip
    return t / engine


def disaggregated(r: Replica, tpot_slo_s: Any, ttft_slo_s: Any) -> dict[str, Array]:
    """The prefill and decode pools' best points on replica ``r`` and the fleet they make together, as
    :func:`~fab2token.workloads.inference.serve` reports a point (``tokens_per_s`` per replica's worth of
    accelerators, ``ttft_s`` one prefill step, ``tpot_s`` the decode step), with the pools' own figures."""
    i, o = r.input_tokens, r.output_tokens
    ranks = r.tp * r.ep
    never = np.full_like(r.max_batch, np.inf)
    # prefill: the most prompts a step within the TTFT SLO whose KV cache fits
    prompts_max = np.floor(r.max_batch * (i + o) / np.maximum(i, 1.0))
    prompts, t_pre, _ = best_batch(lambda p: prefill_step_s(r, p), prompts_max, _a(ttft_slo_s), never, 0.0 * o)
    batch, tpot, _ = best_batch(
        lambda b: r.step(b, prefill_in_step=False)["step_s"], r.max_batch, _a(tpot_slo_s), never, o
    )
    p = np.where(prompts > 0, prompts * i / t_pre / ranks, 0.0)  # prompt tokens/s per accelerator
    d = np.where(batch > 0, batch / tpot / ranks, 0.0)  # output tokens/s per accelerator
    ok = (p > 0) & (d > 0)
    prefill_s = np.where(ok, i / np.where(ok, p, 1.0), np.inf)
    decode_s = np.where(ok, o / np.where(ok, d, 1.0), np.inf)
    per_acc = np.where(ok, o / (prefill_s + decode_s), 0.0)
    step = r.step(np.maximum(batch, 1.0), prefill_in_step=False)
    return {
        "batch": np.where(ok, batch, 0.0),
        "max_batch": r.max_batch,
        "tpot_s": tpot,
        "ttft_s": t_pre,
        "tokens_per_s": per_acc * ranks,
        "kv_bytes_per_token": np.full_like(batch, r.kv_tok),
        "kv_gb": batch * (i + o) * r.kv_tok / 1e9,
        "weights_gb_per_accelerator": r.weights_gb_per_accelerator * np.ones_like(batch),
        "compute_bound": step["compute_s"] >= step["memory_s"],
        "prefill_prompts_per_step": prompts,
        "prefill_tokens_per_s_per_accelerator": p,
        "decode_tokens_per_s_per_accelerator": d,
        "prefill_share": np.where(ok, prefill_s / (prefill_s + decode_s), np.nan),
    }
