"""Workloads on the installed fleet: when training runs can start and finish, and how much inference demand is met.

Training runs are scheduled in the order listed: each starts in the first month, from its earliest ``start``, in
which enough installed accelerators are free of earlier runs, and holds them for its duration (from
:func:`fab2token.workloads.training.train`, with failures and checkpoints). The accelerators no run holds serve inference at
the per-accelerator rate of :func:`fab2token.workloads.inference.infer` under the scenario's SLOs. One loop over runs (a
handful); every run is vectorised over months.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fab2token import catalog
from fab2token.errors import ModelError
from fab2token.scenario.models import Scenario, month_label, month_number
from fab2token.scenario.timeline import hours_in_month, step_schedule
from fab2token.workloads.inference import InferResult, infer
from fab2token.workloads.training import train

__all__ = ["schedule_workloads", "serving_rate", "target_mfu", "target_size"]


# serving rates already computed, by their inputs: a sweep asks for the same one in every draw where the serving
# inputs do not vary (bounded: a long-lived process, the dashboard, keeps at most this many)
_RATES: dict[str, InferResult] = {}
_MFUS: dict[str, float] = {}  # searched target MFUs, likewise
_MAX_RATES = 256


def _remember(cache: dict[str, Any], key: str, value: Any) -> None:
    """Keep ``value`` under ``key`` in one of this module's caches, the oldest forgotten beyond :data:`_MAX_RATES`."""
    if len(cache) >= _MAX_RATES:
        cache.pop(next(iter(cache)))
    cache[key] = value


def target_size(sc: Scenario, target: Any, accelerator: str) -> tuple[float, float]:
    """A training target's FLOPs (given, or from its tokens) and its goodput (failures and checkpoints) at its
    reference cluster size on ``accelerator``, as the planner and a race count them."""
    from fab2token.workloads.architecture import model_spec

    heads = int(model_spec(target.model, sc.catalog.get("models"))["heads"])  # TP 8, or the largest that divides
    tp = math.gcd(8, heads)
    ref = train(
        target.model,
        target.tokens or 1.0,
        accelerator,
        target.reference_accelerators,
        mfu=target_mfu(sc, target, accelerator),
        tp=tp,
        overrides=sc.catalog,
    )
    return (float(target.flops) if target.flops is not None else float(ref.flops)), float(ref.goodput)


def target_mfu(sc: Scenario, target: Any, accelerator: str) -> float:
    """A training target's MFU on ``accelerator``: as given, or (``mfu: search``) that of the fastest layout that
    fits on ``reference_accelerators`` of it, estimated by the performance model as ``train --search`` does."""
    if target.mfu != "search":
        return float(target.mfu)
    key = json.dumps(
        [target.model, accelerator, target.reference_accelerators, sc.catalog], sort_keys=True, default=str
    )
    found = _MFUS.get(key)
    if found is None:
        from fab2token.workloads.layout import search_layout

        try:
            found = float(
                search_layout(target.model, accelerator, target.reference_accelerators, overrides=sc.catalog)["mfu"]
            )
        except ModelError as exc:
            raise ModelError(f"training target {target.name}: mfu search on {accelerator}: {exc}") from None
        _remember(_MFUS, key, found)
    return found


def serving_rate(sc: Scenario, accelerator: str) -> InferResult:
    """The scenario's inference model served on ``accelerator`` under its SLOs, per accelerator (sized on one
    scale-up domain's worth of replicas: the rate does not depend on fleet size)."""
    inf = sc.workloads.inference
    if inf is None:
        raise ModelError("the scenario has no workloads.inference section (model, precision, SLOs)")
    key = json.dumps([inf.model_dump(mode="json"), accelerator, sc.catalog], sort_keys=True, default=str)
    found = _RATES.get(key)
    if found is None:
        found = _serving_rate(sc, accelerator)
        _remember(_RATES, key, found)
    return found


def _serving_rate(sc: Scenario, accelerator: str) -> InferResult:
    inf = sc.workloads.inference
    assert inf is not None
    return infer(
        inf.model,
        accelerator,
        count=inf.tp or 8,
        tp=inf.tp,
        precision=inf.precision,
        input_tokens=inf.input_tokens,
        output_tokens=inf.output_tokens,
        tpot_ms=inf.tpot_ms,
        ttft_ms=inf.ttft_ms,
        overrides=sc.catalog,
    )


def schedule_workloads(
    sc: Scenario,
    axis: NDArray[np.int64],
    installed: NDArray[np.float64],
    types: list[str] | None = None,
    pue: float = 1.0,
) -> dict[str, Any]:
    """Schedule the scenario's workloads on ``installed`` accelerators per month (summed over sites): (month,) for
    one type, or (type, month) with ``types`` naming them. A training run uses its ``accelerator`` type (default:
    the first); inference is served by every type's free accelerators, each at its own serving rate."""
    n = axis.size
    free = np.atleast_2d(np.asarray(installed, dtype=float)).copy()
    types = types or [sc.accelerator_spec()["name"]]
    reserved = np.zeros(n)
    runs: list[dict[str, Any]] = []
    active_rows = []
    for run in sc.workloads.training:  # in the order listed: each takes what earlier runs left free
        accelerator = types[0]
        if run.accelerator is not None:
            accelerator = catalog.lookup("accelerators", run.accelerator, sc.catalog.get("accelerators"))["name"]
        k = types.index(accelerator)
        row, active = _schedule_run(sc, run, accelerator, axis, free[k], pue)
        free[k] -= active * run.accelerators
        reserved += active * run.accelerators
        active_rows.append(active)
        runs.append(row)
    out: dict[str, Any] = {
        "runs": runs,
        "training_accelerators": reserved,
        "training_active": np.array(active_rows).reshape(len(runs), n),
    }
    if sc.workloads.inference is not None:
        out.update(_serve_demand(sc, axis, free, types))
    return out


def _schedule_run(
    sc: Scenario, run: Any, accelerator: str, axis: NDArray[np.int64], free: NDArray[np.float64], pue: float
) -> tuple[dict[str, Any], NDArray[np.float64]]:
    """One training run: its duration from :func:`train` and the first month from its ``start`` whose whole window
    has ``run.accelerators`` free. Returns its summary row and the months it is active (0/1)."""
    n = axis.size
    row: dict[str, Any] = {"name": run.name, "accelerator": accelerator, "accelerators": run.accelerators}
    try:
        layout: dict[str, Any] = {"tp": min(run.tp, run.accelerators), "pp": run.pp}
        if run.layout == "search":  # the fastest layout that fits, as `train --search` finds it
            from fab2token.workloads.layout import search_layout

            found = search_layout(
                run.model,
                accelerator,
                run.accelerators,
                run.seq_len,
                overrides=sc.catalog,
                attention_kernel=run.attention_kernel,
            )
            layout = {k: v for k, v in found["layout"].items() if k != "dp"}
            row["layout"] = found["layout"]
        res = train(
            run.model,
            run.tokens,
            accelerator,
            run.accelerators,
            mfu=run.mfu,
            seq_len=run.seq_len,
            attention_kernel=run.attention_kernel,
            **layout,
            checkpoint_write_s=run.checkpoint_write_s,
            restart_s=run.restart_s,
            pue=pue,
            overrides=sc.catalog,
        )
    except ModelError as exc:  # e.g. failures faster than checkpoint + restart: report, do not abort the run
        keys = ("start", "finish", "days", "flops", "months_needed", "interruptions_expected", "goodput", "mfu")
        return {**row, "model": run.model, "status": f"cannot run: {exc}", **dict.fromkeys(keys)}, np.zeros(n)
    # months needed from each possible start: cumulative hours from that month on
    cum = np.concatenate([[0.0], np.cumsum(hours_in_month(axis))])
    need_end = np.searchsorted(cum, cum[:-1] + res.days * 24.0 - 1e-9, side="left")  # index after the last month
    months_needed = need_end - np.arange(n)
    # a start works when no month of its window lacks free accelerators: count short months cumulatively
    short = np.concatenate([[0], np.cumsum(free < run.accelerators)])
    ends = np.minimum(need_end, n)
    ok_window = (need_end <= n) & (short[ends] - short[np.arange(n)] == 0)
    eligible = ok_window & (axis >= month_number(run.start))
    active = np.zeros(n)
    if eligible.any():
        s, e = int(np.argmax(eligible)), int(need_end[int(np.argmax(eligible))])
        active[s:e] = 1.0
        status, start, finish = "scheduled", month_label(int(axis[s])), month_label(int(axis[e - 1]))
    else:
        status, start, finish = "does not fit in the horizon", None, None
    row.update(
        model=res.model,
        status=status,
        start=start,
        finish=finish,
        days=res.days,
        flops=res.flops,
        months_needed=int(months_needed[0]) if n else 0,
        interruptions_expected=res.interruptions_expected,
        goodput=res.goodput,
        mfu=res.mfu,
    )
    return row, active


def _serve_demand(sc: Scenario, axis: NDArray[np.int64], free: NDArray[np.float64], types: list[str]) -> dict[str, Any]:
    """Inference demand served by every type's free accelerators, in whole replicas, each at its own rate (one
    scale-up domain's worth of replicas: the rate does not depend on fleet size)."""
    inf = sc.workloads.inference
    assert inf is not None
    demand = step_schedule([d.from_ for d in inf.demand], [d.tokens_per_s for d in inf.demand], axis)
    rates = [serving_rate(sc, name) for name in types]  # a handful of types
    capacity = np.zeros(axis.size)
    for k, r in enumerate(rates):
        per_k = r.tokens_per_s_per_accelerator if r.meets_slo else 0.0
        capacity += np.floor(np.maximum(free[k], 0.0) / r.tp) * r.tp * per_k
    r = rates[0]
    served = np.minimum(demand, capacity)
    return {
        "inference_demand_tokens_per_s": demand,
        "inference_capacity_tokens_per_s": capacity,
        "inference_served_tokens_per_s": served,
        "inference_unmet_tokens_per_s": demand - served,
        "inference_tokens_per_s_per_accelerator": r.tokens_per_s_per_accelerator if r.meets_slo else 0.0,
        "inference_tp": r.tp,
        "inference_reason": r.reason,
    }
