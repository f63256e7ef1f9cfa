"""Training runs: FLOPs, memory feasibility, achieved throughput, reliability at scale, time, energy and cost.

All functions are vectorised: pass arrays of configurations (accelerator counts, MFUs, failure rates…) and get
arrays back. :func:`train` is the convenience entry point behind ``fab2token train``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.deploy.placement import all_in_it_kw
from fab2token.errors import ModelError
from fab2token.options import Choice, Number, check_options, refuse
from fab2token.workloads import perf
from fab2token.workloads.architecture import flops_per_token_forward, flops_per_token_training, model_spec
from fab2token.workloads.attention_kernel import ATTENTION_KERNELS, AttentionTable, attention_table, kernel_used
from fab2token.workloads.gemm_shape import GemmTable
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
from fab2token.workloads.train_result import TRAIN_KEYS, TrainResult

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
    virtual_stages: ArrayLike = 1,
    *,
    heads: ArrayLike | None = None,
    kv_heads: ArrayLike | None = None,
    head_dim: ArrayLike | None = None,
    ffn: ArrayLike | None = None,
    vocab: ArrayLike = 0.0,
    moe: Mapping[str, ArrayLike] | None = None,
    hbm_tb_per_s: ArrayLike = math.nan,
    hbm_efficiency: ArrayLike | None = None,
    scaleup_domain: ArrayLike = math.nan,
    attention_flop_per_s: ArrayLike | None = None,
    recompute: ArrayLike = "selective",
    recipe: str = "mixed-adam",
    gemm_table: GemmTable | None = None,
    attention_table: AttentionTable | None = None,
    **layout: ArrayLike,
) -> dict[str, Array]:
    """MFU and iteration time from the analytical performance model (:func:`fab2token.workloads.perf.iteration`).

    The first thirteen arguments describe the model, the batch and the system as before (``flops_per_token``: model
    FLOPs per token, the MFU numerator); the keyword arguments add the rest of the shape (``heads`` default
    ``hidden / 128``, ``kv_heads`` ``heads``, ``ffn`` ``4 hidden`` ungated unless ``moe`` gives ``gated_mlp``),
    ``moe`` (``experts``, ``active_experts``, ``shared_experts``, ``moe_ffn``, ``dense_layers``, ``gated_mlp``), the
    memory system (``hbm_tb_per_s`` [TB/s]; NaN: not given, and the result is NaN), the scale-up domain size and the
    precision recipe; ``layout`` passes :class:`~fab2token.workloads.perf.Layout` fields (``sequence_parallel``,
    ``flash_attention``, ``zero_stage``, ``dp_overlap``, ``grad_accumulation_fused``). The collective bandwidth
    shares and the FlashAttention efficiency come from ``overheads.csv``; ``gemm_table``: the part's
    GEMM rates by shape (:mod:`~fab2token.workloads.gemm_shape`); ``attention_table``: its attention kernel's rates
    (:mod:`~fab2token.workloads.attention_kernel`; None: the flat efficiency). Returns the iteration breakdown with
    ``mfu`` and ``step_s`` (the iteration time).
    """
    d = np.asarray(hidden, dtype=float)
    h = d / 128.0 if heads is None else np.asarray(heads, dtype=float)
    extra = dict(moe or {})
    shape = perf.Shape(
        layers=layers,
        hidden=d,
        heads=h,
        kv_heads=h if kv_heads is None else kv_heads,
        head_dim=d / h if head_dim is None else head_dim,
        ffn=4.0 * d if ffn is None else ffn,
        vocab=vocab,
        params_total=params_total,
        gated_mlp=extra.pop("gated_mlp", 0.0),
        **extra,
    )
    figures = (peak_flop_per_s, compute_efficiency, hbm_tb_per_s, scaleup_gb_per_s, scaleup_domain, scaleout_gb_per_s)
    hw = perf.hardware_from_figures(*figures, attention_flop_per_s, hbm_efficiency, gemm_table, attention_table)
    w, g, o = state_bytes_per_param(recipe)
    batch = dict(seq_len=seq_len, global_batch_tokens=global_batch_tokens, micro_batch=micro_batch)
    states = dict(weight_bytes=w, grad_bytes=g, optimizer_bytes=o)
    lay = perf.Layout(count, tp, pp, **batch, virtual_stages=virtual_stages, recompute=recompute, **states, **layout)
    out = perf.iteration(shape, hw, lay, flops_per_token)
    return out | {"step_s": out["iteration_s"]}


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
    "attention_kernel": Choice(ATTENTION_KERNELS),
    "recompute": Choice(RECOMPUTE_MODES),
    "precision": Choice(("bf16", "fp8")),
    "virtual_stages": Number(1, whole=True),
    "ep": Number(1, whole=True),
    "cp": Number(1, whole=True),
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
    attention_kernel: str = "auto",
    virtual_stages: int = 1,
    ep: int = 1,
    cp: int = 1,
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

    Parameters
    ----------
    model, accelerator : str
        Catalog names or aliases (``fab2token catalog models`` / ``accelerators``).
    tokens : float
        Training tokens.
    count : int
        Accelerators in the cluster.
    mfu : float, optional
        Model FLOPs utilisation; None: estimated by the performance model.
    seq_len : int, optional
        Sequence length (default: the model's context, at most 8,192).
    tp, pp, cp, ep, micro_batch, virtual_stages, zero_stage, recompute : layout
        Tensor, pipeline, context and expert parallel degrees, micro-batch (sequences), interleaved chunks, ZeRO
        stage, recomputation (``none`` / ``selective`` / ``full``); :func:`fab2token.workloads.layout.search_layout`
        finds the fastest that fits.
    global_batch_tokens : float
        Tokens per iteration.
    recipe, precision : str
        State bytes per parameter (``mixed-adam``, ``fp8-adam``, ``fp32-adam``) and the peak rate (``bf16``,
        ``fp8``).
    attention_kernel : str
        The attention kernel of the MFU estimate: ``fa2``, ``fa3`` (their published rates for the part), ``flat``
        (one share of peak) or ``auto`` (the newest published for the part, else ``flat``); see
        :mod:`fab2token.workloads.attention_kernel`.
    failure_rate_per_accelerator_hour, checkpoint_write_s, restart_s : float
        Reliability (failure rate default: the catalog's).
    pue, usd_per_accelerator_hour : float, optional
        For energy and cost.
    overrides : dict, optional
        Catalog rows to add or change, by table.
    require_fit : bool
        Refuse a layout that does not fit in memory (else it is reported).

    Returns
    -------
    TrainResult
        The keys of ``fab2token train --json`` (:data:`TRAIN_KEYS`).

    Raises
    ------
    OptionError
        A bad option (named, with the value and what was expected), or a layout the model or cluster does not allow.
    ModelError
        A figure the estimate needs is not in the catalog, or (``require_fit``) the layout does not fit.

    References
    ----------
    .. [1] D. Narayanan et al., "Efficient large-scale language model training on GPU clusters using Megatron-LM",
       SC '21 (pipeline schedules and bubbles, tensor and data parallelism).
    .. [2] V. Korthikanti et al., "Reducing activation recomputation in large transformer models", MLSys 2023,
       arXiv:2205.05198 (activation memory by recomputation mode).
    .. [3] S. Rajbhandari et al., "ZeRO: memory optimizations toward training trillion parameter models", SC '20
       (model-state memory per parameter).
    .. [4] M. Isaev et al., "Calculon: a methodology and tool for high-level co-design of systems and large
       language models", SC '23 (the analytical approach).
    .. [5] Llama Team, AI @ Meta, "The Llama 3 herd of models", arXiv:2407.21783, 2024 (interruptions at scale).
    """
    opts = {k: v for k, v in locals().items() if k not in ("model", "accelerator", "overrides", "require_fit")}
    check_options("train", opts, TRAIN_OPTIONS, TRAIN_FLAGS)
    overrides = overrides or {}
    m = model_spec(model, overrides.get("models"))
    acc = catalog.lookup("accelerators", accelerator, overrides.get("accelerators"))
    peak = peak_flop_per_s(acc, precision)
    tp_eff = min(tp, count)
    seq = float(seq_len or min(m["context"], 8192))
    _check_layout(m, count, tp_eff, pp, virtual_stages)
    _check_context(count, tp_eff, pp, cp, seq)
    _check_experts(m, count, tp_eff * cp, pp, ep)
    fpt = float(flops_per_token_training(m["params_active"], m["layers"], m["heads"], m["head_dim"], seq))
    layout = (micro_batch, tp_eff, pp, count, zero_stage, recipe, recompute, ep, cp)
    mem, fits, min_dp = _memory(m, acc, seq, *layout, require_fit)
    mfu_used, source, parts = _mfu(opts, m, acc, fpt, seq, tp_eff, peak)
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
        min_accelerators_to_fit=min_dp * tp_eff * pp * cp,
        step_s=fpt * global_batch_tokens / (count * peak * mfu_used),
        step_breakdown_s=parts,
        attention_kernel=None if parts is None else kernel_used(acc["name"], attention_kernel),
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
    ep: int,
    cp: int,
    require_fit: bool,
) -> tuple[dict[str, Any], bool, int]:
    """Memory per accelerator, whether it fits, and the least data-parallel degree that fits; with
    ``require_fit`` a layout that does not fit is an error that itemises the memory."""
    dp = max(count // (tp * pp * cp), 1)
    mem, fits, min_dp = fit_in_memory(m, acc, seq, micro_batch, tp, pp, dp, zero_stage, recipe, recompute, ep, cp)
    if require_fit and not fits:
        raise ModelError(
            f"{m['name']} does not fit on {acc['name']} ({acc['hbm_gb']:g} GB) with TP={tp}, CP={cp}, PP={pp}, DP={dp}, "
            f"ZeRO-{zero_stage}: weights {float(mem['weights_gb']):.1f} GB + gradients {float(mem['gradients_gb']):.1f}"
            f" GB + optimizer {float(mem['optimizer_gb']):.1f} GB + activations {float(mem['activations_gb']):.1f} GB"
            f" = {float(mem['total_gb']):.1f} GB per accelerator"
        )
    return mem, fits, min_dp


def _check_experts(m: dict[str, Any], count: int, tp: int, pp: int, ep: int) -> None:
    """Expert parallelism splits an MoE model's routed experts over ``ep`` data-parallel ranks: ``ep`` divides the
    experts and the data-parallel degree (1 for a dense model)."""
    if ep == 1:
        return
    experts = m.get("experts")
    if not (isinstance(experts, float | int) and experts > 0):
        refuse("train", "ep", ep, f"1: {m['name']} is a dense model (no experts to split)")
    elif experts % ep:
        refuse("train", "ep", ep, f"a divisor of {m['name']}'s {experts:g} routed experts")
    elif (count // (tp * pp)) % ep:
        refuse("train", "ep", ep, f"a divisor of the data-parallel degree {count // (tp * pp)} (count / (TP x PP))")


def _check_context(count: int, tp: int, pp: int, cp: int, seq: float) -> None:
    """Context parallelism splits each sequence into ``2 x cp`` chunks (Llama 3's load-balanced causal split) over
    ``cp`` ranks of each TP x PP replica."""
    if cp > 1 and seq % (2 * cp):
        refuse("train", "cp", cp, f"a degree whose 2 x cp chunks divide the sequence of {seq:g} tokens")
    if cp > 1 and count % (tp * cp * pp):
        refuse("train", "cp", cp, f"a degree with TP x CP x PP = {tp} x {cp} x {pp} dividing the {count} accelerators")


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


def peak_flop_per_s(acc: dict[str, Any], precision: str) -> float:
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


def estimate_for_catalog(
    m: dict[str, Any],
    acc: dict[str, Any],
    fpt: float,
    seq: float,
    batch_tokens: float,
    count: ArrayLike,
    peak: float,
    layout: Mapping[str, ArrayLike],
    opts: Mapping[str, Any],
) -> dict[str, Array]:
    """:func:`estimate_mfu` for a catalog model row and accelerator row, on ``layout`` (``tp``, ``pp``,
    ``micro_batch``, ``virtual_stages``, ``recompute``, ``zero_stage``: scalars or arrays, one configuration per
    element); ``opts`` gives ``precision``, ``recipe`` and ``attention_kernel`` (default ``auto``). The one place a catalog row becomes the model's inputs
    (:func:`train` and the layout search call it)."""
    fp8 = opts["precision"] == "fp8"
    moe = {k: m[k] for k in ("gated_mlp", "experts", "active_experts", "shared_experts", "moe_ffn", "dense_layers")}
    return estimate_mfu(
        fpt,
        m["params_total"],
        m["hidden"],
        m["layers"],
        seq,
        batch_tokens,
        count,
        layout["tp"],
        layout["pp"],
        peak,
        catalog.compute_efficiency(acc, fp8=fp8),
        acc["scaleup_gb_per_s"],
        acc["scaleout_gb_per_s"],
        layout["micro_batch"],
        layout["virtual_stages"],
        heads=m["heads"],
        kv_heads=m["kv_heads"],
        head_dim=m["head_dim"],
        ffn=m["ffn"],
        vocab=m["vocab"],
        moe=moe,
        hbm_tb_per_s=acc["hbm_tb_per_s"],
        hbm_efficiency=acc["hbm_bw_efficiency_frac"] if _known(acc["hbm_bw_efficiency_frac"]) else None,
        scaleup_domain=acc["scaleup_domain"],
        attention_flop_per_s=acc["dense_bf16_flop_per_s"],
        recompute=layout["recompute"],
        recipe=opts["recipe"],
        zero_stage=layout["zero_stage"],
        ep=layout.get("ep", 1),
        cp=layout.get("cp", 1),
        gemm_table=perf.catalog_gemm_table(acc, fp8),
        attention_table=attention_table(str(acc["name"]), opts.get("attention_kernel", "auto")),
    )


def _mfu(
    opts: dict[str, Any], m: dict[str, Any], acc: dict[str, Any], fpt: float, seq: float, tp_eff: int, peak: float
) -> tuple[float, str, dict[str, float] | None]:
    """The MFU used, where it came from and (estimated) the iteration's parts: as given, or estimated (:func:`estimate_mfu`: Megatron-style TP with
    sequence parallelism, FlashAttention, overlapped data-parallel reduction, fused gradient accumulation). ``opts``:
    the arguments of :func:`train`."""
    if opts["mfu"] is not None:
        return float(opts["mfu"]), "given", None
    lay = {k: opts[k] for k in ("pp", "micro_batch", "virtual_stages", "recompute", "zero_stage", "ep", "cp")} | {
        "tp": tp_eff
    }
    est = estimate_for_catalog(m, acc, fpt, seq, opts["global_batch_tokens"], opts["count"], peak, lay, opts)
    mfu = float(est["mfu"])
    if not math.isfinite(mfu):
        cols = ("hbm_tb_per_s", "scaleup_gb_per_s", "scaleup_domain", "scaleout_gb_per_s", "dense_bf16_flop_per_s")
        missing = [c for c in cols if not _known(acc[c])] or ["a figure"]
        raise ModelError(
            f"accelerator {acc['name']}: estimating the MFU of this layout needs {', '.join(missing)}, not in the "
            f"catalog; set catalog.accelerators.{acc['name']}.{missing[0]} or give mfu"
        )
    return mfu, "estimated", {k: float(est[k]) for k in perf.STEP_PARTS}
