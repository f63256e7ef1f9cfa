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
from fab2token.workloads.memory import (
    RECIPES,
    check_recompute,
    fit_in_memory,
    memory_per_accelerator_gb,
    min_data_parallel_to_fit,
    state_bytes_per_param,
)
from fab2token.workloads.reliability import cluster_reliability, goodput_frac, young_daly_interval_s

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
    check_recompute(recompute)
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
    peak = _peak_flop_per_s(acc, precision)
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
    mem, fits, min_dp = fit_in_memory(m, acc, seq, micro_batch, tp_eff, pp, dp, zero_stage, recipe, recompute)
    capacity = acc["hbm_gb"]
    if require_fit and not fits:
        raise ModelError(
            f"{m['name']} does not fit on {acc['name']} ({capacity:g} GB) with TP={tp_eff}, PP={pp}, DP={dp}, "
            f"ZeRO-{zero_stage}: weights {float(mem['weights_gb']):.1f} GB + gradients {float(mem['gradients_gb']):.1f}"
            f" GB + optimizer {float(mem['optimizer_gb']):.1f} GB + activations {float(mem['activations_gb']):.1f} GB"
            f" = {float(mem['total_gb']):.1f} GB per accelerator"
        )

    mfu_used, source = _mfu(
        mfu,
        m,
        acc,
        fpt,
        seq,
        global_batch_tokens,
        count,
        tp_eff,
        pp,
        peak,
        precision,
        micro_batch,
        recompute,
        virtual_stages,
    )
    compute_s = flops / (count * peak * mfu_used)

    lam, mtbf_s, interval, good = cluster_reliability(
        failure_rate_per_accelerator_hour, count, checkpoint_write_s, restart_s
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


def _peak_flop_per_s(acc: dict[str, Any], precision: str) -> float:
    """The accelerator's dense peak at ``precision``; a clear error when unknown or unpublished."""
    peak_col = {"bf16": "dense_bf16_flop_per_s", "fp8": "dense_fp8_flop_per_s"}.get(precision)
    if peak_col is None:
        raise ModelError(f"unknown precision {precision!r}; expected bf16 or fp8")
    peak = acc[peak_col]
    if not _known(peak):
        raise ModelError(
            f"accelerator {acc['name']}: {peak_col} is not published; choose another precision or set "
            f"catalog.accelerators.{acc['name']}.{peak_col}"
        )
    return float(peak)


def _mfu(
    mfu: float | None,
    m: dict[str, Any],
    acc: dict[str, Any],
    fpt: float,
    seq: float,
    global_batch_tokens: float,
    count: int,
    tp_eff: int,
    pp: int,
    peak: float,
    precision: str,
    micro_batch: int,
    recompute: str,
    virtual_stages: int,
) -> tuple[float, str]:
    """The MFU used and where it came from: as given, or estimated (:func:`estimate_mfu`)."""
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
    return mfu_used, source
