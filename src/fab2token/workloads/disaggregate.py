"""Disaggregated serving: prefill and decode on separate pools of the same replica layout (as DeepSeek and SGLang
serve DeepSeek-V3, and as NVIDIA Dynamo does), each pool at its own best batch.

The prefill pool runs prefill-only steps (:func:`~fab2token.workloads.serving_step.prefill_time_s`): as many
prompts a step as meet the TTFT SLO and fit in memory. The decode pool runs decode-only steps at the largest batch
that meets the TPOT SLO and fits (its requests' KV cache arrives from the prefill pool). For requests of ``I``
prompt and ``O`` output tokens the fleet splits so both pools keep pace: an accelerator-second serves ``I / p``
prompt-seconds of prefill and ``O / d`` of decode (``p``, ``d`` the pools' tokens/s per accelerator), so the
fleet's output tokens/s per accelerator is ``O / (I / p + O / d)`` and the prefill pool's share ``(I / p) / (I / p +
O / d)``.

Two things differ from a mixed step, each as the published deployment runs it ([SGL]: SGLang's PD disaggregation
of DeepSeek-V3 on 96 H100, LMSYS blog 2025-05-05):

- the prefill pool's experts' dispatch and combine run DeepEP's normal (throughput) kernels, once per destination
  node over RDMA (:func:`~fab2token.workloads.serving_step.ep_all_to_all_s` with ``node_size``, at the share of the
  NIC's line rate DeepEP's benchmark of them reaches, ``ep_all_to_all_normal_efficiency_frac``); decode keeps the
  low-latency kernels ("normal dispatch for the prefill phase and low-latency dispatch for the decode phase" [SGL]);
- each prompt's KV cache moves from the prefill pool to the decode pool over the scale-out network, at the NIC's
  line rate (no measured share of it is in the catalog: an optimistic bound), "non-blocking ... in a background
  thread" [SGL]: a step's transfer overlaps the next step, so the prefill pool's cycle is the longer of its step
  and its NIC's work (the transfer and the all-to-all), and TTFT is one prefill step plus its transfer.

Not modelled: queueing for a prefill slot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from fab2token import catalog
from fab2token.errors import ModelError
from fab2token.workloads.serving_inputs import known
from fab2token.workloads.serving_step import _a, best_batch, ep_all_to_all_s, prefill_time_s

if TYPE_CHECKING:
    from fab2token.workloads.inference import Replica

__all__ = ["prefill_step_s", "prefill_expert_comm_s", "kv_transfer_s", "disaggregated"]

Array = NDArray[np.float64]


def _scaleout_bytes_per_s(r: Replica) -> float:
    """The scale-out NIC's line rate of ``r``'s part [B/s]; refused where the catalog does not hold it."""
    bw = r.acc.get("scaleout_gb_per_s")
    if not known(bw):
        name = r.acc["name"]
        raise ModelError(
            f"accelerator {name}: scaleout_gb_per_s is not published; disaggregated serving moves the KV cache "
            f"between pools over the scale-out network: set catalog.accelerators.{name}.scaleout_gb_per_s"
        )
    return float(bw) * 1e9


def prefill_expert_comm_s(r: Replica, tokens: Any) -> Array:
    """The prefill pool's dispatch and combine for a step of ``tokens`` [s]: within one scale-up domain as a mixed
    step's (:meth:`~fab2token.workloads.inference.Replica.expert_comm_s`), across nodes by DeepEP's normal kernels
    (:func:`~fab2token.workloads.serving_step.ep_all_to_all_s` with ``node_size``)."""
    m, moe_layers, ranks = r.model, r.parts[0], r.tp * r.ep
    domain = float(r.acc["scaleup_domain"]) if known(r.acc["scaleup_domain"]) else 1.0
    within = r.expert_comm_s(tokens)
    if not np.any(ranks > domain):
        return within
    rate = _scaleout_bytes_per_s(r) * catalog.overhead("ep_all_to_all_normal_efficiency_frac")
    wide = ep_all_to_all_s(
        tokens, ranks, moe_layers, m["active_experts"], m["hidden"], rate, min(r.wbytes, 2.0), node_size=domain
    )
    return np.where(r.ep > 1, np.where(ranks > domain, wide, within), 0.0)


def prefill_step_s(r: Replica, prompts: Any) -> Array:
    """One prefill-only step of ``prompts`` prompts on replica ``r`` [s], engine efficiency applied."""
    m, (peak, ce, be, engine, scaleup) = r.model, r.rates
    tokens = _a(prompts) * r.input_tokens
    touched, a2a = r.weights_touched(tokens), prefill_expert_comm_s(r, tokens)
    t = prefill_time_s(
        prompts, r.input_tokens, m["params_active"], touched, r.kv_tok, m["layers"], m["heads"], m["head_dim"],
        m["hidden"], r.tp, peak, r.acc["hbm_tb_per_s"] * 1e12, ce, be, scaleup, r.ep, a2a,
        r.attention.flop_per_s, r.attention.prefill_dim,
    )  # fmt: skip
    return t / engine


def kv_transfer_s(r: Replica, prompts: Any) -> Array:
    """Moving one prefill step's KV cache (``prompts x I`` tokens) to the decode pool [s]: each of the replica's
    ``tp x ep`` accelerators sends its share over its own scale-out NIC at line rate."""
    ranks = r.tp * r.ep
    return _a(prompts) * r.input_tokens * r.kv_tok / ranks / _scaleout_bytes_per_s(r)


def disaggregated(r: Replica, tpot_slo_s: Any, ttft_slo_s: Any) -> dict[str, Array]:
    """The prefill and decode pools' best points on replica ``r`` and the fleet they make together, as
    :func:`~fab2token.workloads.inference.serve` reports a point (``tokens_per_s`` per replica's worth of
    accelerators, ``ttft_s`` one prefill step and its KV transfer, ``tpot_s`` the decode step), with the pools' own
    figures."""
    i, o = r.input_tokens, r.output_tokens
    ranks = r.tp * r.ep
    never = np.full_like(r.max_batch, np.inf)
    # prefill: the most prompts a step within the TTFT SLO whose KV cache fits
    prompts_max = np.floor(r.max_batch * (i + o) / np.maximum(i, 1.0))
    prompts, ttft, _ = best_batch(
        lambda p: prefill_step_s(r, p) + kv_transfer_s(r, p), prompts_max, _a(ttft_slo_s), never, 0.0 * o
    )
    one = np.maximum(prompts, 1.0)
    kv = kv_transfer_s(r, one)
    cycle = np.maximum(prefill_step_s(r, one), kv + prefill_expert_comm_s(r, one * i))  # the NIC's work overlaps
    batch, tpot, _ = best_batch(
        lambda b: r.step(b, prefill_in_step=False)["step_s"], r.max_batch, _a(tpot_slo_s), never, o
    )
    p = np.where(prompts > 0, prompts * i / cycle / ranks, 0.0)  # prompt tokens/s per accelerator
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
        "ttft_s": ttft,
        "tokens_per_s": per_acc * ranks,
        "kv_bytes_per_token": np.full_like(batch, r.kv_tok),
        "kv_gb": batch * (i + o) * r.kv_tok / 1e9,
        "weights_gb_per_accelerator": r.weights_gb_per_accelerator * np.ones_like(batch),
        "compute_bound": step["compute_s"] >= step["memory_s"],
        "prefill_prompts_per_step": prompts,
        "prefill_tokens_per_s_per_accelerator": p,
        "decode_tokens_per_s_per_accelerator": d,
        "prefill_share": np.where(ok, prefill_s / (prefill_s + decode_s), np.nan),
        "kv_transfer_s": np.where(prompts > 0, kv, np.nan),
    }
