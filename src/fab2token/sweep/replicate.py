"""Replications of a fab line run: the same fab, rule and horizon under several seeds, as parallel tasks on the
sweep's executors (the discrete-event simulator is not vectorisable; its seeds are independent tasks).

:func:`replicate_fab` returns every seed's summary and, per order, the mean and range over the seeds of the mean
cycle time, lots completed and on-time share: fab simulation results are compared as means over replications
(a single seed of SMT2020 HV/LM spreads by ±3 % in mean cycle time).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from fab2token.options import Number, check_options

__all__ = ["replicate_fab", "REPLICATION_KEYS"]

REPLICATION_KEYS = ("days", "dispatch", "seeds", "by_order", "on_time_frac", "throughput_wafers_per_day", "runs")
_KEEP = (
    "seed",
    "lots_completed",
    "cycle_time_days_mean",
    "on_time_frac",
    "on_time_frac_by_order",
    "throughput_wafers_per_day",
    "events_processed",
    "wall_s",
)


def _run(
    model: Any, days: float, dispatch: str, seed: int, downs_per: str, warmup_days: float, preempt: bool
) -> dict[str, Any]:
    from fab2token.supply.fabline import simulate_fab

    res = simulate_fab(model, days=days, dispatch=dispatch, seed=seed, downs_per=downs_per, downs_preempt=preempt)
    s = res.summary(warmup_days)
    return {k: s[k] for k in _KEEP}


def _one(folder: str, *args: Any) -> dict[str, Any]:
    """One seed as a dask task: the worker reads the fab itself (a path travels, the model need not)."""
    from fab2token.supply.fabline import load_any

    return _run(load_any(folder), *args)


def _spread(values: list[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())}


def replicate_fab(
    folder: str | Path,
    days: float = 730.0,
    dispatch: str = "fifo",
    seeds: int = 5,
    first_seed: int = 1,
    downs_per: str = "tool",
    warmup_days: float = 0.0,
    workers: int | None = None,
    scheduler: str | None = None,
    downs_preempt: bool = True,
) -> dict[str, Any]:
    """``seeds`` runs (seeds ``first_seed`` on), locally one after another or on dask (``workers`` processes of a
    LocalCluster, or the scheduler at ``scheduler``); the keys of ``fabline --replications N --json``.

    Raises
    ------
    ScenarioError
        A bad option (the same checks as one run) or a fab folder that cannot be read (checked before any run).
    """
    from fab2token.supply.fabline import check_run_options, load_any
    from fab2token.sweep.execute import _cluster

    check_options(
        "fabline",
        {"seeds": seeds, "first_seed": first_seed, "workers": workers},
        {
            "seeds": Number(1, 10_000, whole=True),
            "first_seed": Number(0, 2**31 - 1, whole=True),
            "workers": Number(1, 512, whole=True, optional=True),
        },
        {"seeds": "--replications", "first_seed": "--seed"},
    )
    check_run_options(days, dispatch, downs_per, where="fabline", prefix="--", warmup_days=warmup_days)
    model = load_any(folder)  # a damaged folder is refused here, once, not in every task
    args = [(days, dispatch, first_seed + k, downs_per, warmup_days, downs_preempt) for k in range(seeds)]
    with contextlib.ExitStack() as stack:
        if workers or scheduler:
            client = stack.enter_context(_cluster(workers, scheduler))
            runs = client.gather([client.submit(_one, str(folder), *a, pure=False) for a in args])
        else:
            runs = [_run(model, *a) for a in args]  # the model read once
    orders = sorted({o for r in runs for o in r["lots_completed"]})
    by_order = {}
    for o in orders:
        row: dict[str, Any] = {"lots_completed": _spread([r["lots_completed"].get(o, 0) for r in runs])}
        cts = [r["cycle_time_days_mean"][o] for r in runs if o in r["cycle_time_days_mean"]]
        ots = [r["on_time_frac_by_order"][o] for r in runs if o in r["on_time_frac_by_order"]]
        row["cycle_time_days_mean"] = _spread(cts) if cts else None
        row["on_time_frac"] = _spread(ots) if ots else None
        by_order[o] = row
    return {
        "days": days,
        "dispatch": dispatch,
        "seeds": [a[2] for a in args],
        "by_order": by_order,
        "on_time_frac": _spread([r["on_time_frac"] for r in runs]),
        "throughput_wafers_per_day": _spread([r["throughput_wafers_per_day"] for r in runs]),
        "runs": runs,
    }
