"""Training runs: FLOPs, memory feasibility, achieved throughput, reliability at scale, time, energy and cost.

All functions are vectorised: pass arrays of configurations (accelerator counts, MFUs, failure rates…) and get
arrays back. :func:`train` is the convenience entry point behind ``fab2token train``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.deploy.placement import all_in_it_kw
from fab2token.errors import ModelError
from fab2token.workloads.architecture import flops_per_token_forward, flops_per_token_training, model_spec

__all__ = [
    "RECIPES",
    "state_bytes_per_param",
    "memory_per_accelerator_gb",
    "min_data_parallel_to_fit",
    "pipeline_bubble_frac",
    "recompute_flops_per_token",
    "estimate_mfu",
    "young_daly_interval_s",
    "goodput_frac",
    "TrainResult",
    "train",
    "TRAIN_KEYS",
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


def _check_recompute(recompute: str) -> None:
    if recompute not in RECOMPUTE_MODES:
        raise ModelError(f"unknown recompute mode {recompute!r}; expected {', '.join(RECOMPUTE_MODES)}")


def _activations_gb(
    seq_len: Array, micro_batch: Array, hidden: Array, heads: Array, layers: Array, tp: Array, recompute: str
) -> Array:
    """Activation memory of the first pipeline stage [GB] (Korthikanti et al., "Reducing Activation Recomputation
    in Large Transformer Models", MLSys 2023, eqs. 2-5, with sequence parallelism). Under 1F1B scheduling the first
    stage holds ``pp`` micro-batches of ``L/pp`` layers, i.e. ``L`` layers' worth."""
    _check_recompute(recompute)
    sbh = seq_len * micro_batch * hidden
    if recompute == "none":
        per_layer = sbh * (34.0 + 5.0 * heads * seq_len / hidden) / tp
    elif recompute == "selective":
        per_layer = sbh * 34.0 / tp
    else:  # full
        per_layer = 2.0 * sbh / tp
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
    zero_stage: int = 1,
    recipe: str = "mixed-adam",
    recompute: str = "selective",
) -> dict[str, Array]:
    """Memory per accelerator [GB]: weights, gradients, optimizer states (sharded by TP x PP, and by DP per the ZeRO
    stage: 1 shards optimizer states, 2 also gradients, 3 also weights) and activations."""
    w, g, o = state_bytes_per_param(recipe)
    p = np.asarray(params_total, dtype=float) / (np.asarray(tp, dtype=float) * np.asarray(pp, dtype=float))
    d = np.asarray(dp, dtype=float)
    weights = p * w / (d if zero_stage >= 3 else 1.0) / 1e9
    grads = p * g / (d if zero_stage >= 2 else 1.0) / 1e9
    opt = p * o / (d if zero_stage >= 1 else 1.0) / 1e9
    act = _activations_gb(
        *(np.asarray(x, dtype=float) for x in (seq_len, micro_batch, hidden, heads, layers, tp)), recompute=recompute
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
) -> Array:
    """Smallest data-parallel degree whose per-accelerator memory fits ``capacity_gb``; ``inf`` where none does."""
    one = memory_per_accelerator_gb(
        params_total, layers, hidden, heads, seq_len, micro_batch, tp, pp, 1, zero_stage, recipe, recompute
    )
    sharded = sum(
        one[k] for k, stage in (("weights_gb", 3), ("gradients_gb", 2), ("optimizer_gb", 1)) if zero_stage >= stage
    )
    fixed = one["total_gb"] - sharded
    room = np.asarray(capacity_gb, dtype=float) - fixed
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(room > 0, np.ceil(sharded / room - 1e-12), np.inf)
    return np.where(one["total_gb"] <= capacity_gb, 1.0, np.maximum(need, 1.0))


def pipeline_bubble_frac(pp: ArrayLike, microbatches: ArrayLike, virtual_stages: ArrayLike = 1) -> Array:
    """Idle fraction of a 1F1B pipeline: ``(p - 1) / (v m + p - 1)``; the interleaved schedule with ``v`` model chunks
    per device shrinks the bubble by ``v`` (Narayanan et al., SC 2021, section 2.2.2)."""
    p = np.asarray(pp, dtype=float)
    m = np.asarray(microbatches, dtype=float)
    v = np.asarray(virtual_stages, dtype=float)
    return (p - 1.0) / (v * m + p - 1.0)


def recompute_flops_per_token(
    recompute: str,
    params_active: ArrayLike,
    layers: ArrayLike,
    heads: ArrayLike,
    head_dim: ArrayLike,
    seq_len: ArrayLike,
) -> Array:
    """Extra forward FLOPs per token that activation recomputation costs: ``full`` re-runs the whole forward pass,
    ``selective`` only the attention core (QK^T, softmax, AV; Korthikanti et al. 2023), ``none`` nothing."""
    _check_recompute(recompute)
    fwd = flops_per_token_forward(params_active, layers, heads, head_dim, seq_len)
    if recompute == "full":
        return fwd
    if recompute == "selective":
        return fwd - 2.0 * np.asarray(params_active, dtype=float)
    return 0.0 * fwd  # none


def estimate_mfu(
    flops_per_token: ArrayLike,
    params_total: ArrayLike,
    hidden: ArrayLike,
    layers: ArrayLike,
    seq_len: ArrayLike,
    global_batch_tokens: ArrayLike,
    count: ArrayLike,
    tp: ArrayLike,
    pp: ArrayLike,
    peak_flop_per_s: ArrayLike,
    compute_efficiency: ArrayLike,
    scaleup_gb_per_s: ArrayLike,
    scaleout_gb_per_s: ArrayLike,
    micro_batch: ArrayLike = 1,
    dp_overlap_frac: ArrayLike = 0.9,
    recompute_flops: ArrayLike = 0.0,
    virtual_stages: ArrayLike = 1,
) -> dict[str, Array]:
    """MFU from a simple parallelism model (state its limits: see README "Compute model").

    Step time = compute (model FLOPs plus ``recompute_flops`` per token, from :func:`recompute_flops_per_token`) at
    the achievable matmul rate, stretched by the pipeline bubble (``virtual_stages`` > 1: interleaved); plus tensor-parallel
    communication (4 all-reduces of the layer activations per layer and micro-batch, forward and backward, over the
    scale-up link, not overlapped); plus the data-parallel gradient all-reduce over the scale-out network, of which
    ``dp_overlap_frac`` hides behind the backward pass.
    """
    n = np.asarray(count, dtype=float)
    t, p = np.asarray(tp, dtype=float), np.asarray(pp, dtype=float)
    dp = np.maximum(np.floor(n / (t * p)), 1.0)
    tokens_per_step = np.asarray(global_batch_tokens, dtype=float)
    mb_tokens = np.asarray(micro_batch, dtype=float) * np.asarray(seq_len, dtype=float)
    microbatches = np.maximum(tokens_per_step / (dp * mb_tokens), 1.0)
    step_flops = np.asarray(flops_per_token, dtype=float) * tokens_per_step
    peak = np.asarray(peak_flop_per_s, dtype=float)
    hw_flops = step_flops + np.asarray(recompute_flops, dtype=float) * tokens_per_step
    compute_s = hw_flops / (n * peak * np.asarray(compute_efficiency, dtype=float))
    bubble = pipeline_bubble_frac(p, microbatches, virtual_stages)
    compute_s = compute_s / (1.0 - bubble)
    act_bytes = mb_tokens * np.asarray(hidden, dtype=float) * 2.0
    layers_per_stage = np.asarray(layers, dtype=float) / p
    tp_s = np.where(
        t > 1,
        4.0
        * 2.0
        * (t - 1)
        / t
        * act_bytes
        / (np.asarray(scaleup_gb_per_s, dtype=float) * 1e9)
        * layers_per_stage
        * microbatches,
        0.0,
    )
    grad_bytes = np.asarray(params_total, dtype=float) / (t * p) * 2.0
    dp_s = np.where(dp > 1, 2.0 * (dp - 1) / dp * grad_bytes / (np.asarray(scaleout_gb_per_s, dtype=float) * 1e9), 0.0)
    exposed_dp = np.maximum(dp_s - np.asarray(dp_overlap_frac, dtype=float) * compute_s * 2.0 / 3.0, 0.0)
    step_s = compute_s + tp_s + exposed_dp
    mfu = step_flops / (n * peak * step_s)
    return {
        "mfu": mfu,
        "step_s": step_s,
        "bubble_frac": bubble,
        "tp_comm_s": tp_s,
        "dp_comm_exposed_s": exposed_dp,
        "data_parallel": dp,
        "microbatches": microbatches,
    }


def young_daly_interval_s(checkpoint_write_s: ArrayLike, mtbf_s: ArrayLike) -> Array:
    """Optimal time between checkpoints [s]: Daly's first-order ``sqrt(2 d M) - d`` (Daly, FGCS 22(3), 2006),
    which refines Young's ``sqrt(2 d M)`` (CACM 17(9), 1974); at least ``d``."""
    d = np.asarray(checkpoint_write_s, dtype=float)
    m = np.asarray(mtbf_s, dtype=float)
    return np.maximum(np.sqrt(2.0 * d * m) - d, d)


def goodput_frac(
    interval_s: ArrayLike, checkpoint_write_s: ArrayLike, restart_s: ArrayLike, mtbf_s: ArrayLike
) -> Array:
    """Fraction of wall time that advances training: checkpoint writes take ``d / (tau + d)``; each failure costs the
    restart plus, on average, half a checkpoint segment of lost work."""
    tau = np.asarray(interval_s, dtype=float)
    d = np.asarray(checkpoint_write_s, dtype=float)
    r = np.asarray(restart_s, dtype=float)
    m = np.asarray(mtbf_s, dtype=float)
    waste = d / (tau + d) + (r + (tau + d) / 2.0) / m
    return np.clip(1.0 - waste, 0.0, 1.0)


TRAIN_KEYS = (
    "model",
    "accelerator",
    "count",
    "tokens",
    "flops",
    "flops_per_token",
    "mfu",
    "mfu_source",
    "days",
    "compute_days",
    "accelerator_hours",
    "interruptions_expected",
    "mtbf_hours",
    "goodput",
    "checkpoint_interval_minutes",
    "energy_mwh",
    "cost_usd",
    "memory_per_accelerator_gb",
    "fits_in_memory",
    "min_accelerators_to_fit",
)


@dataclass(frozen=True)
class TrainResult:
    """One training run; the keys of ``fab2token train --json``."""

    model: str
    accelerator: str
    count: float
    tokens: float
    flops: float
    flops_per_token: float
    mfu: float
    mfu_source: str
    days: float
    compute_days: float
    accelerator_hours: float
    interruptions_expected: float
    mtbf_hours: float
    goodput: float
    checkpoint_interval_minutes: float
    energy_mwh: float
    cost_usd: float
    memory_per_accelerator_gb: dict[str, float]
    fits_in_memory: bool
    min_accelerators_to_fit: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _known(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def train(
    model: str,
    tokens: float,
    accelerator: str,
    count: int,
    mfu: float | None = None,
    seq_len: int | None = None,
    tp: int = 8,
    pp: int = 1,
    micro_batch: int = 1,
    global_batch_tokens: float = 16e6,
    zero_stage: int = 1,
    recipe: str = "mixed-adam",
    recompute: str = "selective",
    precision: str = "bf16",
    virtual_stages: int = 1,
    failure_rate_per_accelerator_hour: float | None = None,
    checkpoint_write_s: float = 60.0,
    restart_s: float = 600.0,
    pue: float | None = None,
    usd_per_accelerator_hour: float | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    require_fit: bool = False,
) -> TrainResult:
    """Time, reliability, energy and cost of training ``model`` on ``tokens`` with ``count`` accelerators.

    ``mfu`` given: used as is. Otherwise estimated with :func:`estimate_mfu`. ``precision`` picks the peak rate
    (``bf16`` or ``fp8``). Energy uses the accelerator's all-in IT power x PUE (default: ``pue_default`` from
    ``overheads.csv``). Cost is accelerator-hours x ``usd_per_accelerator_hour`` (NaN when not given).
    """
    overrides = overrides or {}
    m = model_spec(model, overrides.get("models"))
    acc = catalog.lookup("accelerators", accelerator, overrides.get("accelerators"))
    peak_col = {"bf16": "dense_bf16_flop_per_s", "fp8": "dense_fp8_flop_per_s"}.get(precision)
    if peak_col is None:
        raise ModelError(f"unknown precision {precision!r}; expected bf16 or fp8")
    peak = acc[peak_col]
    if not _known(peak):
        raise ModelError(
            f"accelerator {acc['name']}: {peak_col} is not published; choose another precision or set "
            f"catalog.accelerators.{acc['name']}.{peak_col}"
        )
    if count <= 0 or tokens <= 0:
        raise ModelError("count and tokens must be positive")
    if virtual_stages < 1 or (virtual_stages > 1 and pp < 2):
        raise ModelError(
            f"virtual_stages must be >= 1, and above 1 only with pipeline parallelism (pp >= 2); got {virtual_stages} with pp={pp}"
        )
    seq = float(seq_len or min(m["context"], 8192))
    fpt = float(flops_per_token_training(m["params_active"], m["layers"], m["heads"], m["head_dim"], seq))
    flops = fpt * tokens

    tp_eff = min(tp, count)
    dp = max(count // (tp_eff * pp), 1)
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
        )
    )
    if require_fit and not fits:
        raise ModelError(
            f"{m['name']} does not fit on {acc['name']} ({capacity:g} GB) with TP={tp_eff}, PP={pp}, DP={dp}, "
            f"ZeRO-{zero_stage}: weights {float(mem['weights_gb']):.1f} GB + gradients {float(mem['gradients_gb']):.1f}"
            f" GB + optimizer {float(mem['optimizer_gb']):.1f} GB + activations {float(mem['activations_gb']):.1f} GB"
            f" = {float(mem['total_gb']):.1f} GB per accelerator"
        )

    eff = catalog.compute_efficiency(acc, fp8=precision == "fp8")
    if mfu is None:
        est = estimate_mfu(
            fpt,
            m["params_total"],
            m["hidden"],
            m["layers"],
            seq,
            global_batch_tokens,
            count,
            tp_eff,
            pp,
            peak,
            eff,
            acc["scaleup_gb_per_s"] if _known(acc["scaleup_gb_per_s"]) else 450.0,
            acc["scaleout_gb_per_s"] if _known(acc["scaleout_gb_per_s"]) else 50.0,
            micro_batch,
            recompute_flops=recompute_flops_per_token(
                recompute, m["params_active"], m["layers"], m["heads"], m["head_dim"], seq
            ),
            virtual_stages=virtual_stages,
        )
        mfu_used, source = float(est["mfu"]), "estimated"
    else:
        mfu_used, source = float(mfu), "given"
    compute_s = flops / (count * peak * mfu_used)

    lam = (
        failure_rate_per_accelerator_hour
        if failure_rate_per_accelerator_hour is not None
        else catalog.overhead("failure_rate_per_accelerator_hour")
    )
    mtbf_s = 3600.0 / (lam * count) if lam > 0 else math.inf
    interval = float(young_daly_interval_s(checkpoint_write_s, mtbf_s)) if math.isfinite(mtbf_s) else math.inf
    good = float(goodput_frac(interval, checkpoint_write_s, restart_s, mtbf_s)) if math.isfinite(mtbf_s) else 1.0
    if good <= 0:
        raise ModelError(
            f"no forward progress: the cluster fails every {mtbf_s / 60:.1f} minutes, faster than a "
            f"checkpoint ({checkpoint_write_s:g} s) and restart ({restart_s:g} s) cycle"
        )
    wall_s = compute_s / good
    hours = wall_s / 3600.0
    kw = float(all_in_it_kw(acc["board_power_w"], acc["server_power_w_per_accelerator"]))
    pue_used = pue if pue is not None else catalog.overhead("pue_default")
    energy = count * kw * pue_used * hours / 1000.0
    rate = usd_per_accelerator_hour if usd_per_accelerator_hour is not None else math.nan
    return TrainResult(
        model=m["name"],
        accelerator=acc["name"],
        count=float(count),
        tokens=float(tokens),
        flops=flops,
        flops_per_token=fpt,
        mfu=mfu_used,
        mfu_source=source,
        days=hours / 24.0,
        compute_days=compute_s / 86400.0,
        accelerator_hours=count * hours,
        interruptions_expected=lam * count * hours,
        mtbf_hours=mtbf_s / 3600.0,
        goodput=good,
        checkpoint_interval_minutes=interval / 60.0,
        energy_mwh=energy,
        cost_usd=count * hours * rate,
        memory_per_accelerator_gb={k: float(v) for k, v in mem.items()},
        fits_in_memory=fits,
        min_accelerators_to_fit=min_dp * tp_eff * pp,
    )
