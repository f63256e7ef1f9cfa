"""Serving: prefill and decode time (roofline), KV cache, the largest batch that fits, and the highest throughput
that still meets a latency SLO, under continuous batching.

Model of one serving replica (``tp`` accelerators holding the whole model) in steady state with continuous batching
and chunked prefill: ``B`` requests decode together; as ``B / O`` of them finish each step, as many new requests
join, so each step also prefills ``B I / O`` prompt tokens. One step then takes

    max(GEMM compute, weight reads) + max(attention compute, KV-cache reads) + tensor-parallel all-reduces
    GEMM compute      = (B + B I / O) 2 N / (tp x peak x compute efficiency)
    weight reads      = weights touched / (tp x HBM bandwidth x bandwidth efficiency)
    attention compute = [B 4 L H Dh c + (B I / O) 2 L H Dh I] / (tp x peak x compute efficiency)
    KV-cache reads    = B c KV-bytes-per-token / (tp x HBM bandwidth x bandwidth efficiency)

The roofline is applied per operator class, not to the step's totals: the weight GEMMs and the attention kernels
run one after the other, each bound by its own compute or memory, so a step whose GEMMs are compute-bound and whose
attention is memory-bound pays both (the per-operator roofline of LLM-Viewer, Yuan et al., "LLM Inference
Unveiled: Survey and Roofline Model Insights", arXiv:2402.16363, 2024).

with ``c = I + O / 2`` the mean context while decoding. TPOT is the step time; a new request's prompt is spread
over ``O / B`` steps, so TTFT = max(1, O / B) x TPOT; output tokens/s = B / TPOT. Throughput rises with ``B``, so the
best batch is the largest one that fits in memory and meets both SLOs (found by vectorised bisection).

Engine efficiency. The roofline above, with the measured GEMM and HBM efficiencies, is what the kernels could do; a
production engine also runs normalisation, rotary, quantisation, sampling and scheduling work that the roofline
does not count. Every step time is divided by one ``serving_engine_efficiency_frac`` (``catalog/overheads.csv``),
fitted once as the inverse geometric mean of roofline / published throughput over NVIDIA's 32 TensorRT-LLM
configurations (``python -m benchmarks accuracy`` refits and prints it) and checked out of sample against MLPerf
Inference v5.1 (``tests/reference/test_inference_reference.py``). ``engine_efficiency=1`` gives the bare roofline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.options import Choice, Number, check_options, refuse
from fab2token.workloads.architecture import kv_cache_bytes_per_token, model_spec
from fab2token.workloads.infer_result import INFER_KEYS, InferResult
from fab2token.workloads.serving_inputs import (
    BYTES,
    FP4_FORMATS,
    FP4_KV_DEFAULT,
    Attention,
    all_to_all_bw,
    attention_of,
    known,
    serving_rates,
    weight_split,
)
from fab2token.workloads.serving_step import _a, best_batch, ep_all_to_all_s, moe_weight_bytes_touched, step_time_s
from fab2token.workloads.token_cost import TOKEN_COST_KEYS, token_energy_and_cost

__all__ = [
    "BYTES",
    "step_time_s",
    "serve",
    "replica",
    "Replica",
    "best_batch",
    "InferResult",
    "infer",
    "INFER_KEYS",
    "MEMORY_USABLE_FRAC",
]

Array = NDArray[np.float64]

#: share of HBM a serving engine lets itself use (vLLM's default ``gpu_memory_utilization=0.9``,
#: https://docs.vllm.ai/en/latest/serving/engine_args.html)
MEMORY_USABLE_FRAC = 0.9


@dataclass(frozen=True)
class Replica:
    """One serving replica's fixed figures (:func:`replica`); :meth:`step` times a step at any batch."""

    model: dict[str, Any]
    acc: dict[str, Any]
    rates: tuple[float, float, float, float, float]  # peak, compute share, HBM share, engine efficiency, scale-up B/s
    wbytes: float
    kv_tok: float
    tp: Array
    ep: Array
    input_tokens: Array
    output_tokens: Array
    max_batch: Array
    weights_gb_per_accelerator: Array
    parts: tuple[float, float, float, float]  # MoE layers, params of one expert, experts' bytes, the rest's bytes
    a2a_bw: Array
    attention: Attention

    def weights_touched(self, tokens: Array) -> Array:
        """Bytes of weights a step of ``tokens`` reads: the experts they route to, and every attention group's copy
        of the non-expert weights."""
        m, (moe_layers, expert_params, _, shared_total) = self.model, self.parts
        experts = moe_weight_bytes_touched(
            tokens, m["params_total"], expert_params, moe_layers, m["experts"], m["active_experts"], self.wbytes
        )
        return experts + (self.ep - 1.0) * shared_total

    def expert_comm_s(self, tokens: Array) -> Array:
        """The experts' dispatch and combine for a step of ``tokens`` [s]: dispatch in the weights' 8-bit format
        where they have one, combine in 16-bit (DeepSeek-V3/R1 inference system: "dispatch transmissions adopt the
        FP8 format ... combine transmissions use the BF16 format"); none without expert parallelism."""
        m, moe_layers = self.model, self.parts[0]
        ranks = self.tp * self.ep
        out = ep_all_to_all_s(
            tokens, ranks, moe_layers, m["active_experts"], m["hidden"], self.a2a_bw, min(self.wbytes, 2.0)
        )
        return np.where(self.ep > 1, out, 0.0)

    def step(self, b: ArrayLike, prefill_in_step: bool = True) -> dict[str, Array]:
        """One step at batch ``b`` (the replica's sequences) [s] and its parts, engine efficiency applied."""
        m, (peak, ce, be, engine, scaleup) = self.model, self.rates
        i, o, b = self.input_tokens, self.output_tokens, _a(b)
        tokens_per_step = b * (1.0 + i / o) if prefill_in_step else b
        touched, a2a = self.weights_touched(tokens_per_step), self.expert_comm_s(tokens_per_step)
        p = step_time_s(
            b, i, o, m["params_active"], touched, self.kv_tok, m["layers"], m["heads"], m["head_dim"], m["hidden"],
            self.tp, peak, self.acc["hbm_tb_per_s"] * 1e12, ce, be, scaleup, prefill_in_step, ep=self.ep, ep_comm_s=a2a,
            two_batch_overlap=self.ep > 1, decode_attention_dim=self.attention.decode_dim,
            attention_flop_per_s=self.attention.flop_per_s, prefill_attention_dim=self.attention.prefill_dim,
        )  # fmt: skip
        return {k: v / engine for k, v in p.items()}


def replica(
    model: dict[str, Any],
    acc: dict[str, Any],
    tp: ArrayLike,
    precision: str,
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    kv_precision: str | None = None,
    engine_efficiency: float | None = None,
    ep: ArrayLike = 1,
) -> Replica:
    """A replica of ``tp`` accelerators, or with ``ep`` > 1 (an MoE model) of ``ep`` attention groups of ``tp``:
    data-parallel attention (each group its own copy of the non-expert weights and ``1/ep`` of the sequences) and
    the routed experts split over all ``tp x ep`` (wide expert parallelism, as DeepSeek-V3 is served), their
    dispatch and combine on the scale-up fabric while the replica fits one domain, else on the scale-out network,
    hidden behind the work by two-batch overlap (both published wide-EP deployments run it: DeepSeek's dual
    micro-batch overlap, SGLang's two-batch overlap).
    ``engine_efficiency`` (default: the catalog's ``serving_engine_efficiency_frac``) divides every step time."""
    rates = serving_rates(acc, precision, kv_precision, engine_efficiency)
    wbytes = BYTES[precision]
    kv_format = kv_precision or (FP4_KV_DEFAULT if precision in FP4_FORMATS else precision)
    kvb = BYTES[kv_format]
    tp_a, ep_a = _a(tp), _a(ep)
    ranks = tp_a * ep_a
    i, o = _a(input_tokens), _a(output_tokens)
    kv_tok = float(
        kv_cache_bytes_per_token(
            model["layers"], model["kv_heads"], model["head_dim"], kvb, model.get("kv_dim_per_layer", math.nan)
        )
    )
    parts = weight_split(model, wbytes)
    _, _, experts_total, shared_total = parts
    kv_room = ranks * acc["hbm_gb"] * 1e9 * MEMORY_USABLE_FRAC - (ep_a * shared_total + experts_total)
    return Replica(
        model=model,
        acc=acc,
        rates=rates,
        wbytes=wbytes,
        kv_tok=kv_tok,
        tp=tp_a,
        ep=ep_a,
        input_tokens=i,
        output_tokens=o,
        max_batch=np.where(kv_room > 0, np.floor(kv_room / (kv_tok * (i + o))), 0.0),
        weights_gb_per_accelerator=(shared_total / tp_a + experts_total / ranks) / 1e9,
        parts=parts,
        a2a_bw=all_to_all_bw(acc, ranks, rates[4]),
        attention=attention_of(model, acc, kv_format),
    )


def serve(
    model: dict[str, Any],
    acc: dict[str, Any],
    tp: ArrayLike,
    precision: str,
    input_tokens: ArrayLike,
    output_tokens: ArrayLike,
    tpot_slo_s: ArrayLike,
    ttft_slo_s: ArrayLike,
    kv_precision: str | None = None,
    engine_efficiency: float | None = None,
    ep: ArrayLike = 1,
    disaggregate: bool = False,
    batch: ArrayLike | None = None,
) -> dict[str, Array]:
    """Best serving point per replica (:func:`replica`) for arrays of (tp, input, output, SLO) configurations;
    ``disaggregate``: prefill and decode on pools of their own (:mod:`.disaggregate`). ``batch``: the sequences a
    replica decodes together, fixed (an engine's ``max_num_seqs`` with its queue kept full), capped by the KV cache
    that fits, instead of the largest batch within the SLOs; the SLOs are then only checked (``meets_slo``)."""
    r = replica(model, acc, tp, precision, input_tokens, output_tokens, kv_precision, engine_efficiency, ep)
    if disaggregate:
        from fab2token.workloads.disaggregate import disaggregated

        return disaggregated(r, tpot_slo_s, ttft_slo_s)
    o = r.output_tokens
    if batch is None:
        batch, tpot, ttft = best_batch(lambda b: r.step(b)["step_s"], r.max_batch, _a(tpot_slo_s), _a(ttft_slo_s), o)
        meets = batch >= 1
    else:
        batch = np.minimum(np.floor(_a(batch)), r.max_batch)
        tpot = r.step(np.maximum(batch, 1.0))["step_s"]
        ttft = np.maximum(1.0, o / np.maximum(batch, 1.0)) * tpot
        meets = (batch >= 1) & (tpot <= _a(tpot_slo_s)) & (ttft <= _a(ttft_slo_s))
    p = r.step(np.maximum(batch, 1.0))
    return {
        "batch": batch,
        "max_batch": r.max_batch,
        "tpot_s": tpot,
        "ttft_s": ttft,
        "tokens_per_s": np.where(batch > 0, batch / tpot, 0.0),
        "kv_bytes_per_token": np.full_like(batch, r.kv_tok),
        "kv_gb": batch * (r.input_tokens + o) * r.kv_tok / 1e9,
        "weights_gb_per_accelerator": r.weights_gb_per_accelerator * np.ones_like(batch),
        "compute_bound": p["compute_s"] >= p["memory_s"],
        "meets_slo": meets,
    }


#: what each argument of :func:`infer` may be (checked before any work; the CLI passes its options through)
INFER_OPTIONS: dict[str, Number | Choice] = {
    "count": Number(1, whole=True, unit="accelerators"),
    "tp": Number(1, whole=True, optional=True),
    "ep": Number(1, whole=True),
    "precision": Choice(tuple(BYTES)),
    "kv_precision": Choice(tuple(BYTES), optional=True),
    "input_tokens": Number(1, whole=True, unit="tokens"),
    "output_tokens": Number(1, whole=True, unit="tokens"),
    "tpot_ms": Number(0, low_open=True, unit="ms"),
    "ttft_ms": Number(0, low_open=True, unit="ms"),
    "usd_per_accelerator_hour": Number(0, optional=True, unit="USD"),
    "engine_efficiency": Number(0, 1, low_open=True, optional=True),
    "pue": Number(1, optional=True),
    "power_frac": Number(0, 1, low_open=True),
    "batch": Number(1, whole=True, optional=True, unit="sequences"),
    "electricity_usd_per_mwh": Number(0, optional=True, unit="USD/MWh"),
    "price_usd": Number(0, optional=True, unit="USD"),
    "useful_life_years": Number(0, 30, low_open=True, optional=True, unit="years"),
}
INFER_FLAGS = {"count": "--count"}


def infer(
    model: str,
    accelerator: str,
    count: int = 8,
    tp: int | None = None,
    precision: str = "bf16",
    kv_precision: str | None = None,
    input_tokens: int = 1024,
    output_tokens: int = 256,
    tpot_ms: float = 50.0,
    ttft_ms: float = 2000.0,
    usd_per_accelerator_hour: float | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    engine_efficiency: float | None = None,
    pue: float | None = None,
    power_frac: float = 1.0,
    electricity_usd_per_mwh: float | None = None,
    price_usd: float | None = None,
    useful_life_years: float | None = None,
    ep: int = 1,
    disaggregate: bool = False,
    batch: int | None = None,
) -> InferResult:
    """Highest-throughput serving of ``model`` on ``count`` accelerators within the TPOT and TTFT SLOs.

    ``tp`` defaults to the degree (a power of two up to the scale-up domain and ``count``) with the highest tokens/s
    per accelerator. ``ep`` > 1 serves an MoE model with wide expert parallelism (:func:`serve`): a replica is
    ``tp x ep`` accelerators. Replicas = count // (tp x ep). ``disaggregate``: prefill and decode on pools of their
    own, the fleet split between them (``disaggregated`` in the result gives the pools' figures). Energy and cost per
    token: :func:`.token_cost.token_energy_and_cost` (``pue``, ``power_frac``, ``electricity_usd_per_mwh``,
    ``price_usd``, ``useful_life_years``).

    Parameters
    ----------
    model, accelerator : str
        Catalog names or aliases.
    count : int
        Accelerators serving.
    tp, ep : int
        Tensor-parallel degree (None: the best) and expert-parallel attention groups (an MoE model).
    precision, kv_precision : str
        Weights' and KV cache's formats (``bf16``, ``fp8``, ``nvfp4``, ...; the cache defaults to the weights').
    input_tokens, output_tokens : int
        Prompt and output lengths.
    tpot_ms, ttft_ms : float
        The latency SLOs.
    disaggregate : bool
        Prefill and decode on pools of their own.
    batch : int, optional
        Sequences each replica decodes together, fixed (an engine's ``max_num_seqs`` with a full queue), capped by
        the KV cache that fits; the SLOs are then checked, not used to choose the batch (``meets_slo``).
    engine_efficiency : float, optional
        Share of the roofline an engine reaches (default: the catalog's).
    usd_per_accelerator_hour, pue, power_frac, electricity_usd_per_mwh, price_usd, useful_life_years
        For energy and cost per token (unknown terms are named, never guessed).
    overrides : dict, optional
        Catalog rows to add or change, by table.

    Returns
    -------
    InferResult
        The keys of ``fab2token infer --json`` (:data:`~fab2token.workloads.infer_result.INFER_KEYS`).

    Raises
    ------
    OptionError
        A bad option, named with its value and what was expected.
    ModelError
        A figure the model needs is not in the catalog.

    References
    ----------
    .. [1] S. Williams, A. Waterman and D. Patterson, "Roofline: an insightful visual performance model for
       multicore architectures", Communications of the ACM 52(4), 2009 (the step's compute and memory bounds).
    .. [2] NVIDIA TensorRT-LLM, performance overview (docs/source/performance/perf-overview.md at commit 00f3768):
       the 32 configurations the engine efficiency is fitted on (``catalog/overheads.csv``).
    .. [3] DeepSeek-AI, "DeepSeek-V3/R1 inference system overview" (open-infra-index, 2025): FP8 dispatch, BF16
       combine and two overlapped micro-batches under expert parallelism.
    .. [4] DeepSeek-AI, DeepEP README at commit ebfe47e (2025): the rate of the expert all-to-all across nodes.
    """
    opts = {k: v for k, v in locals().items() if k not in ("model", "accelerator", "overrides")}
    check_options("infer", opts, INFER_OPTIONS, INFER_FLAGS)
    overrides = overrides or {}
    m = model_spec(model, overrides.get("models"))
    acc = catalog.lookup("accelerators", accelerator, overrides.get("accelerators"))
    if engine_efficiency is None:  # the catalog's, or a scenario's catalog.overheads override of it
        engine_efficiency = catalog.overhead("serving_engine_efficiency_frac", overrides.get("overheads"))
    _check_layout(m, tp, ep, count)
    fixed = batch
    if fixed is not None and disaggregate:
        refuse("infer", "batch", fixed, "no --batch with --disaggregate (each pool sizes its own batch)")

    def at(degrees: ArrayLike) -> dict[str, Array]:
        slo = (tpot_ms / 1e3, ttft_ms / 1e3)
        args = (precision, input_tokens, output_tokens, *slo, kv_precision, engine_efficiency)
        return serve(m, acc, degrees, *args, ep=ep, disaggregate=disaggregate, batch=fixed)

    tp = _best_tp(at, m, acc, count // ep) if tp is None else tp
    res = at(tp)
    replicas = count // (tp * ep)
    batch = float(res["batch"])
    max_b = float(res["max_batch"])
    tps = float(res["tokens_per_s"]) * replicas
    reason = _reason(res, tp, input_tokens + output_tokens, tpot_ms, ttft_ms, fixed)
    money = (electricity_usd_per_mwh, price_usd, useful_life_years, usd_per_accelerator_hour)
    cost = token_energy_and_cost(acc, tps / count, pue, power_frac, *money)
    return InferResult(
        model=m["name"],
        accelerator=acc["name"],
        count=count,
        tp=int(tp),
        ep=int(ep),
        replicas=replicas,
        precision=precision,
        batch=batch,
        max_batch_memory=max_b,
        tokens_per_s=tps,
        tokens_per_s_per_accelerator=tps / count,
        ttft_ms=float(res["ttft_s"]) * 1e3,
        tpot_ms=float(res["tpot_s"]) * 1e3,
        kv_cache_gb=float(res["kv_gb"]),
        kv_cache_bytes_per_token=float(res["kv_bytes_per_token"]),
        weights_gb_per_accelerator=float(res["weights_gb_per_accelerator"]),
        bound="compute" if bool(res["compute_bound"]) else "memory-bandwidth",
        usd_per_million_tokens=cost["usd_per_million_tokens"],
        meets_slo=bool(res["meets_slo"]) if "meets_slo" in res else batch >= 1,
        reason=reason,
        engine_efficiency=engine_efficiency,
        disaggregated={k: float(res[k]) for k in _POOLS} if disaggregate else None,
        **{k: cost[k] for k in TOKEN_COST_KEYS if k != "usd_per_million_tokens"},
    )


_POOLS = (
    "prefill_share",
    "prefill_prompts_per_step",
    "prefill_tokens_per_s_per_accelerator",
    "decode_tokens_per_s_per_accelerator",
    "kv_transfer_s",
)


def _check_layout(m: dict[str, Any], tp: int | None, ep: int, count: int) -> None:
    """TP divides the heads and stays within the accelerators given; expert parallelism only for an MoE model, and
    a replica of ``tp x ep`` within the accelerators given."""
    if tp is not None and m["heads"] % tp:
        refuse("infer", "tp", tp, f"a divisor of {m['name']}'s {m['heads']:g} attention heads")
    if tp is not None and tp > count:
        refuse("infer", "tp", tp, f"at most the {count} accelerators given (--count)")
    tp = tp or 1
    experts = m.get("experts")
    if ep > 1 and not (isinstance(experts, float | int) and experts > 0):
        refuse("infer", "ep", ep, f"1: {m['name']} is a dense model (no experts to split)")
    if tp * ep > count:
        refuse("infer", "ep", ep, f"a degree with TP x EP = {tp} x {ep} within the {count} accelerators (--count)")


def _best_tp(at: Any, m: dict[str, Any], acc: dict[str, Any], count: int) -> int:
    """The tensor parallel degree with the highest tokens/s per accelerator: every power of two (and 72, an NVL72
    domain) up to the scale-up domain and ``count`` that divides the heads, evaluated at once (vectorised)."""
    domain = int(acc["scaleup_domain"]) if known(acc["scaleup_domain"]) else 8
    fit = [t for t in (1, 2, 4, 8, 16, 32, 64, 72) if t <= min(count, max(domain, 1)) and m["heads"] % t == 0]
    candidates = np.array(fit or [1])
    res = at(candidates)
    per_acc = res["tokens_per_s"] * np.floor(count / candidates) / count
    fits = res["max_batch"] >= 1
    if per_acc.max() > 0:
        return int(candidates[int(np.argmax(per_acc))])
    return int(candidates[fits][0] if fits.any() else candidates[-1])


def _reason(
    res: dict[str, Array], tp: int, seq_tokens: int, tpot_ms: float, ttft_ms: float, fixed: int | None = None
) -> str:
    """Why the batch is what it is, in a sentence (with the way out when nothing meets the SLOs)."""
    if float(res["max_batch"]) < 1:
        return (
            f"weights ({float(res['weights_gb_per_accelerator']):.1f} GB per accelerator at TP={tp}) leave no "
            f"room for one {seq_tokens}-token sequence of KV cache: raise --tp or use fp8"
        )
    if fixed is not None:
        capped = float(res["batch"]) < fixed
        said = f"batch fixed at {fixed:g} (--batch)" + (
            f", capped at {float(res['batch']):g} by memory (KV cache)" if capped else ""
        )
        slo = "within" if bool(res["meets_slo"]) else "outside"
        return f"{said}; {slo} the SLO (TPOT {tpot_ms:g} ms, TTFT {ttft_ms:g} ms)"
    if float(res["batch"]) < 1:
        return (
            f"even at batch 1 TPOT is {float(res['tpot_s']) * 1e3:.1f} ms / TTFT {float(res['ttft_s']) * 1e3:.0f}"
            f" ms, above the SLO (TPOT {tpot_ms:g} ms, TTFT {ttft_ms:g} ms): raise --tp or relax the SLO"
        )
    limit = "memory (KV cache)" if float(res["batch"]) >= float(res["max_batch"]) else "latency SLO"
    return f"batch limited by {limit}"
