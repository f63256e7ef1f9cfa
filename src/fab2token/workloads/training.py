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
from fab2token.options import Choice, Number, check_options, refuse
from fab2token.workloads.architecture import flops_per_token_forward, flops_per_token_training, model_spec
from fab2token.workloads.memory import (
    RECIPES,
    RECOMPUTE_MODES,
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


#: what each argument of :func:`train` may be (checked before any work; the CLI passes its options through)
TRAIN_OPTIONS: dict[str, Number | Choice] = {
    "tokens": Number(0, low_open=True, unit="tokens"),
    "count": Number(1, whole=True, unit="accelerators"),
    "mfu": Number(0, 1, low_open=True, optional=True),
    "seq_len": Number(1, whole=True, optional=True, unit="tokens"),
    "tp": Number(1, whole=True),
    "pp": Number(1, whole=True),
    "micro_batch": Number(1, whole=True, unit="sequences"),
    "global_batch_tokens": Number(0, low_open=True, unit="tokens"),
    "zero_stage": Number(0, 3, whole=True),
    "recipe": Choice(tuple(RECIPES)),
    "recompute": Choice(RECOMPUTE_MODES),
    "precision": Choice(("bf16", "fp8")),
    "virtual_stages": Number(1, whole=True),
    "failure_rate_per_accelerator_hour": Number(0, optional=True, unit="interruptions per accelerator-hour"),
    "checkpoint_write_s": Number(0, unit="s"),
    "restart_s": Number(0, unit="s"),
    "pue": Number(1, 3, optional=True),  # PUE >= 1 by definition; 3 is the scenario's bound on a site's PUE
    "usd_per_accelerator_hour": Number(0, optional=True, unit="USD"),
}
#: command-line flags whose name is not the argument's (an empty flag: a Python-only argument)
TRAIN_FLAGS = {
    "failure_rate_per_accelerator_hour": "--failure-rate",
    "count": "--count",
    "micro_batch": "",
    "global_batch_tokens": "",
    "recipe": "",
}


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
    opts = {k: v for k, v in locals().items() if k not in ("model", "accelerator", "overrides", "require_fit")}
    check_options("train", opts, TRAIN_OPTIONS, TRAIN_FLAGS)
    overrides = overrides or {}
    m = model_spec(model, overrides.get("models"))
    acc = catalog.lookup("accelerators", accelerator, overrides.get("accelerators"))
    peak = _peak_flop_per_s(acc, precision)
    tp_eff = min(tp, count)
    _check_layout(m, count, tp_eff, pp, virtual_stages)
    seq = float(seq_len or min(m["context"], 8192))
    fpt = float(flops_per_token_training(m["params_active"], m["layers"], m["heads"], m["head_dim"], seq))
    mem, fits, min_dp = _memory(m, acc, seq, micro_batch, tp_eff, pp, count, zero_stage, recipe, recompute, require_fit)
    mfu_used, source = _mfu(opts, m, acc, fpt, seq, tp_eff, peak)
    compute_s = fpt * tokens / (count * peak * mfu_used)
    lam, mtbf_s, interval, good = cluster_reliability(
        failure_rate_per_accelerator_hour, count, checkpoint_write_s, restart_s
    )
    hours = compute_s / good / 3600.0
    kw = float(all_in_it_kw(acc["board_power_w"], acc["server_power_w_per_accelerator"]))
    pue_used = pue if pue is not None else catalog.overhead("pue_default")
    rate = usd_per_accelerator_hour if usd_per_accelerator_hour is not None else math.nan
    return TrainResult(
        model=m["name"],
        accelerator=acc["name"],
        count=float(count),
        tokens=float(tokens),
        flops=fpt * tokens,
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
        energy_mwh=count * kw * pue_used * hours / 1000.0,
        cost_usd=count * hours * rate,
        memory_per_accelerator_gb={k: float(v) for k, v in mem.items()},
        fits_in_memory=fits,
        min_accelerators_to_fit=min_dp * tp_eff * pp,
    )


def _memory(
    m: dict[str, Any],
    acc: dict[str, Any],
    seq: float,
    micro_batch: int,
    tp: int,
    pp: int,
    count: int,
    zero_stage: int,
    recipe: str,
    recompute: str,
    require_fit: bool,
) -> tuple[dict[str, Any], bool, int]:
    """Memory per accelerator, whether it fits, and the least data-parallel degree that fits; with
    ``require_fit`` a layout that does not fit is an error that itemises the memory."""
    dp = max(count // (tp * pp), 1)
    mem, fits, min_dp = fit_in_memory(m, acc, seq, micro_batch, tp, pp, dp, zero_stage, recipe, recompute)
    if require_fit and not fits:
        raise ModelError(
            f"{m['name']} does not fit on {acc['name']} ({acc['hbm_gb']:g} GB) with TP={tp}, PP={pp}, DP={dp}, "
            f"ZeRO-{zero_stage}: weights {float(mem['weights_gb']):.1f} GB + gradients {float(mem['gradients_gb']):.1f}"
            f" GB + optimizer {float(mem['optimizer_gb']):.1f} GB + activations {float(mem['activations_gb']):.1f} GB"
            f" = {float(mem['total_gb']):.1f} GB per accelerator"
        )
    return mem, fits, min_dp


def _check_layout(m: dict[str, Any], count: int, tp: int, pp: int, virtual_stages: int) -> None:
    """The parallel layout fits the model and the cluster: TP divides the attention heads, PP at most the layers,
    TP x PP accelerators at least, interleaving only with a pipeline."""
    if m["heads"] % tp:
        refuse(
            "train",
            "tp",
            tp,
            f"a divisor of {m['name']}'s {m['heads']:g} attention heads (each TP rank holds whole heads)",
        )
    if pp > m["layers"]:
        refuse("train", "pp", pp, f"at most {m['name']}'s {m['layers']:g} layers (each stage holds whole layers)")
    if count < tp * pp:
        refuse(
            "train",
            "count",
            count,
            f"at least TP x PP = {tp} x {pp} = {tp * pp} accelerators (one model replica)",
            TRAIN_FLAGS,
        )
    if virtual_stages > 1 and pp < 2:
        refuse("train", "virtual_stages", virtual_stages, f"1 without pipeline parallelism (pp is {pp})")


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
    opts: dict[str, Any], m: dict[str, Any], acc: dict[str, Any], fpt: float, seq: float, tp_eff: int, peak: float
) -> tuple[float, str]:
    """The MFU used and where it came from: as given, or estimated (:func:`estimate_mfu`). ``opts``: the
    arguments of :func:`train`."""
    mfu, precision, recompute, pp = opts["mfu"], opts["precision"], opts["recompute"], opts["pp"]
    eff = catalog.compute_efficiency(acc, fp8=precision == "fp8")
    if mfu is None:
        est = estimate_mfu(
            fpt,
            m["params_total"],
            m["hidden"],
            m["layers"],
            seq,
            opts["global_batch_tokens"],
            opts["count"],
            tp_eff,
            pp,
            peak,
            eff,
            acc["scaleup_gb_per_s"] if _known(acc["scaleup_gb_per_s"]) else 450.0,
            acc["scaleout_gb_per_s"] if _known(acc["scaleout_gb_per_s"]) else 50.0,
            opts["micro_batch"],
            recompute_flops=recompute_flops_per_token(
                recompute, m["params_active"], m["layers"], m["heads"], m["head_dim"], seq
            ),
            virtual_stages=opts["virtual_stages"],
        )
        mfu_used, source = float(est["mfu"]), "estimated"
    else:
        mfu_used, source = float(mfu), "given"
    return mfu_used, source
