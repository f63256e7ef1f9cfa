"""A discrete-event simulator of a wafer fab line (lots, tool families, dispatching), for SMT2020-style models.

One event heap; lots wait in per-family queues; tools are picked from per-family idle stacks. Modelled: lot
releases and initial WIP, routes with per-piece / per-lot / per-batch times (uniform), cascading per-piece tools
(part interval), batching with a minimum and maximum number of wafers (lots at the same route step), sequence-
dependent setups (the setup matrix, else the step's setup time) with setup-aware choice, unplanned downs
(exponential time to failure and repair per tool of a station group), calendar and wafer-count PMs per tool,
sampled steps, rework, transport (uniform), lot priorities and due dates. Downs and PMs that fall due while a tool
is busy start when it finishes (non-preemptive). Dispatching is a pluggable function giving each waiting lot a
sort key when it joins a queue; the smallest key goes first (priority classes always outrank lower ones).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fab2token.errors import ModelError
from fab2token.supply.fabline import kernel
from fab2token.supply.fabline.loader import FabModel

__all__ = ["DISPATCH_RULES", "FablineResult", "simulate_fab"]

DispatchKey = Callable[[float, float, float, float], float]
"""key(now, arrival_min, due_min, remaining_work_min) -> sort key within a priority class (smaller first)."""


def _fifo(now: float, arrival: float, due: float, remaining: float) -> float:
    return arrival


def _edd(now: float, arrival: float, due: float, remaining: float) -> float:
    return due


def _spt(now: float, arrival: float, due: float, remaining: float) -> float:
    return remaining


def _cr(now: float, arrival: float, due: float, remaining: float) -> float:
    return (due - now) / max(remaining, 1.0)


DISPATCH_RULES: dict[str, DispatchKey] = {"fifo": _fifo, "edd": _edd, "spt": _spt, "cr": _cr}


@dataclass
class FablineResult:
    """Outputs of :func:`simulate_fab` (the keys of ``fab2token fabline --json`` come from :meth:`summary`)."""

    days: float
    dispatch: str
    seed: int
    completed: list[tuple[str, int, float, float, float, int]]  # order, priority, release, finish, due, pieces
    wip_by_day: list[int]
    utilisation: dict[str, float]
    mean_queue: dict[str, float]
    availability: dict[str, float]
    events_processed: int
    wall_s: float
    released: dict[str, int] = field(default_factory=dict)
    setup_share: dict[str, float] = field(default_factory=dict)

    def summary(self, warmup_days: float = 0.0) -> dict[str, Any]:
        """Cycle times by order (product and priority class), lots completed, on-time share, throughput, WIP,
        utilisation and bottlenecks. Lots released before ``warmup_days`` (and initial WIP) are left out of the
        cycle-time statistics; lots completed counts every lot finished from ``warmup_days`` on, initial WIP
        included under its product and priority class (the published SMT2020 counts include it)."""
        from fab2token.errors import ScenarioError

        issues = _warmup_issues(warmup_days, self.days, "FablineResult.summary", "")
        if issues:
            raise ScenarioError(issues)
        by_order: dict[str, list[float]] = {}
        done: dict[str, int] = {}
        on_time_by_order: dict[str, list[bool]] = {}
        on_time = total = 0
        wafers = 0
        for order, _prio, release, finish, due, pieces in self.completed:
            if finish < warmup_days * 1440:
                continue
            done[order] = done.get(order, 0) + 1
            wafers += pieces
            if release >= warmup_days * 1440 and release >= 0:  # initial WIP (release -1) has no known start
                by_order.setdefault(order, []).append((finish - release) / 1440.0)
                on_time_by_order.setdefault(order, []).append(finish <= due)
                total += 1
                on_time += finish <= due
        ct = {
            k: {
                "mean": float(np.mean(v)),
                "p50": float(np.percentile(v, 50)),
                "p95": float(np.percentile(v, 95)),
                "lots": len(v),
            }
            for k, v in sorted(by_order.items())
        }
        span = max(self.days - warmup_days, 1e-9)
        top = sorted(self.utilisation.items(), key=lambda kv: -kv[1])[:10]
        share = {k: _months_share(v) for k, v in sorted(by_order.items())}
        return {
            "days": self.days,
            "warmup_days": warmup_days,
            "dispatch": self.dispatch,
            "seed": self.seed,
            "lots_completed": dict(sorted(done.items())),
            "lots_released": self.released,
            "cycle_time_days_mean": {k: v["mean"] for k, v in ct.items()},
            "cycle_time_days": ct,
            "cycle_time_months_share": share,
            "on_time_frac": on_time / total if total else math.nan,
            "on_time_frac_by_order": {k: float(np.mean(v)) for k, v in sorted(on_time_by_order.items())},
            "throughput_wafers_per_day": wafers / span,
            "wafers_out_by_month": self.wafers_out_by_month(warmup_days),
            "wip_lots_by_day": self.wip_by_day,
            "bottlenecks": [
                {
                    "family": k,
                    "utilisation": v,
                    "availability": self.availability.get(k, 1.0),
                    "mean_queue_lots": self.mean_queue.get(k, 0.0),
                }
                for k, v in top
            ],
            "utilisation_by_family": self.utilisation,
            "events_processed": self.events_processed,
            "wall_s": self.wall_s,
        }

    def wafers_out_by_month(self, warmup_days: float = 0.0) -> dict[str, list[int]]:
        """Wafers out of each order in each whole month (365.25 / 12 days) from ``warmup_days`` on, initial WIP
        included: the run's monthly wafer-out series (a month cut off by the end of the run is left out)."""
        from fab2token.supply.chain import DAYS_PER_MONTH

        months = int((self.days - warmup_days) // DAYS_PER_MONTH)
        if not self.completed:
            return {}
        orders = np.array([c[0] for c in self.completed])
        finish = np.array([c[3] for c in self.completed], dtype=float)
        pieces = np.array([c[5] for c in self.completed], dtype=np.int64)
        month = np.floor((finish / 1440.0 - warmup_days) / DAYS_PER_MONTH).astype(np.int64)
        keep = (finish >= warmup_days * 1440.0) & (month < months)
        names, which = np.unique(orders[keep], return_inverse=True)  # sorted order names
        flat = np.bincount(which * months + month[keep], weights=pieces[keep], minlength=names.size * months)
        return {
            str(n): row.astype(np.int64).tolist()
            for n, row in zip(names, flat.reshape(names.size, months), strict=True)
        }

    def supply(self, order: str, warmup_days: float = 0.0) -> Any:
        """What the supply chain takes from this run for one order stream (through the Python API, as from the
        ``fabline --json`` file): its wafer-out capacity, cycle time and the spread of the cycle time over whole
        months (:class:`fab2token.supply.chain.FablineSupply`)."""
        from fab2token.supply.chain import fabline_supply_from

        s = self.summary(warmup_days)
        if order not in s["cycle_time_days_mean"]:
            known = ", ".join(s["cycle_time_days_mean"]) or "none"
            raise ModelError(f"fab line order {order!r}: no lot of it completed after the warm-up; its orders: {known}")
        return fabline_supply_from(
            s["cycle_time_days_mean"][order],
            s["lots_completed"][order],
            s["days"] - warmup_days,  # lots completed are counted from the warm-up on
            s["cycle_time_months_share"][order],
        )


def _months_share(cycle_days: list[float]) -> list[float]:
    """Share of lots whose cycle time rounds to each whole month (0, 1, 2, ...: 365.25 / 12 days a month)."""
    from fab2token.supply.chain import DAYS_PER_MONTH

    months = np.rint(np.asarray(cycle_days) / DAYS_PER_MONTH).astype(int)
    return (np.bincount(months) / months.size).tolist()


def compiled_kernel() -> Callable[..., dict[str, Any]] | None:
    """The C++ event loop (:mod:`.native`, built by ``python -m fab2token.supply.fabline.build``) if it is built
    from the current ``kernel.cpp``, else None: a build left over from an older source is never used."""
    from fab2token.supply.fabline import native

    return native.run if native.load() is not None else None


def _kernel_run(compiled: bool | None, dispatch: str | DispatchKey) -> Callable[..., dict[str, Any]] | None:
    """The C++ loop for a named rule (None: the plain Python kernel runs). ``compiled=True`` requires it."""
    if compiled is False:
        return None
    if compiled and not isinstance(dispatch, str):
        raise RuntimeError("the compiled fab line kernel runs the named dispatch rules; a key function runs in Python")
    fast = compiled_kernel()
    if compiled and fast is None:
        raise RuntimeError(
            "the compiled fab line kernel is not built (or is older than kernel.cpp): "
            "run `python -m fab2token.supply.fabline.build`"
        )
    return fast if isinstance(dispatch, str) else None


# the longest run: a scenario's longest horizon (1,200 months, 365.25 / 12 days each). The daily WIP sample keeps a
# run going to its last day even when every lot is done, so a longer run only costs time and memory
MAX_DAYS = 36_525


def check_run_options(
    days: float,
    dispatch: str | DispatchKey,
    downs_per: str = "tool",
    where: str = "simulate_fab",
    prefix: str = "",
    warmup_days: float = 0.0,
) -> None:
    """The run's options, checked where the run is (the CLI and the API alike): a
    :class:`~fab2token.errors.ScenarioError` naming the option, the value and what was expected."""
    from fab2token.errors import InputIssue, ScenarioError

    issues = []
    if isinstance(dispatch, str) and dispatch not in DISPATCH_RULES:
        issues.append(
            InputIssue(where, prefix + "dispatch", dispatch, f"one of {', '.join(DISPATCH_RULES)} or a key function")
        )
    elif not isinstance(dispatch, str) and not callable(dispatch):
        issues.append(InputIssue(where, prefix + "dispatch", dispatch, "a rule name or a key function"))
    if not isinstance(days, int | float) or not math.isfinite(days) or not 0 < days <= MAX_DAYS:
        issues.append(InputIssue(where, prefix + "days", days, f"a positive number of days, at most {MAX_DAYS:,}"))
    if downs_per not in ("group", "tool"):
        name = "downs-per" if prefix else "downs_per"
        issues.append(InputIssue(where, prefix + name, downs_per, "tool or group"))
    issues += _warmup_issues(warmup_days, days, where, prefix)
    if issues:
        raise ScenarioError(issues)


def _warmup_issues(warmup_days: float, days: float, where: str, prefix: str) -> list[Any]:
    """A warm-up is a finite number of days from 0 up to (not including) the run's length."""
    from fab2token.errors import InputIssue

    finite = isinstance(warmup_days, int | float) and math.isfinite(warmup_days)
    days_ok = isinstance(days, int | float) and math.isfinite(days) and days > 0  # else days itself is refused
    ok = finite and 0 <= warmup_days and (not days_ok or warmup_days < days)
    if ok:
        return []
    return [
        InputIssue(
            where,
            prefix + ("warmup-days" if prefix else "warmup_days"),
            warmup_days,
            f"a number of days from 0 up to the run's {days:g}",
        )
    ]


def simulate_fab(
    model: FabModel,
    days: float = 730.0,
    dispatch: str | DispatchKey = "fifo",
    seed: int = 1,
    progress: Callable[[float], None] | None = None,
    downs_per: str = "tool",
    compiled: bool | None = None,
    downs_preempt: bool = True,
) -> FablineResult:
    """Run the fab for ``days`` simulated days. ``dispatch``: a name in :data:`DISPATCH_RULES` or a key function.

    ``downs_per``: ``"tool"`` (default) gives every tool of a station group its own failure process with the
    group's calendar (``attach.txt`` ``RESTYPE stngrp``): tools break on their own, every public SMT2020
    implementation reads the calendars so, and the testbed's reference results report each family down for the
    calendar's MTTR / (MTTF + MTTR), which only a per-tool reading gives (docs/stages/fabline.md). ``"group"`` runs
    one failure process per group striking one of its tools at random: the reading this project first chose
    because it matched the HV/LM FIFO figures (a fit, kept as an option).

    ``downs_preempt``: a breakdown striking a busy tool stops the job, which resumes after the repair (default, as
    PySCFabSim and code-gihan's AutoSched re-implementation do); ``False``: the breakdown waits for the job to end
    (the reading before this release). PMs always wait for the running job.

    ``compiled``: ``None`` (default) runs a named rule in the C++ event loop (``kernel.cpp``, :mod:`.native`) when it
    is built and current, else in plain Python (:mod:`.kernel`; a key function always runs there); ``True`` requires
    the C++ loop; ``False`` forces plain Python. Both give bit-identical results, the C++ loop about 30x sooner.
    """
    check_run_options(days, dispatch, downs_per)
    key_fn = DISPATCH_RULES[dispatch] if isinstance(dispatch, str) else dispatch
    t0 = time.perf_counter()
    fast = _kernel_run(compiled, dispatch)
    if fast is not None:
        out = fast(model, days, dispatch, seed, progress, downs_per, bool(downs_preempt))
    else:
        out = kernel.run(model, days, key_fn, key_fn is _fifo, seed, progress, downs_per, bool(downs_preempt))
    return FablineResult(
        days=days,
        dispatch=dispatch if isinstance(dispatch, str) else dispatch.__name__,
        seed=seed,
        wall_s=time.perf_counter() - t0,
        **out,
    )
