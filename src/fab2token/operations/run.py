"""The installed fleet run hour by hour (``fab2token operate``): the monthly engine's fleet, training runs and
inference demand, then failures, outages, demand shape and spikes, and the policy that shares the fleet.

Each training run holds its accelerators from its first hour (the engine's start month) while the policy lets it
run; its progress is the hours it runs, less the checkpoint writes (Young/Daly interval for its size), less, at every
interruption, the work since its last checkpoint (uniform within the interval: failures arrive memorylessly) and
the restart. A failure in its cluster interrupts it (it restarts on spares); a policy that takes its accelerators
away (inference first, a headroom) preempts it at the same cost. Runs are taken in the order listed; each is whole
arrays over the hours. Inference is served, within its SLOs, at the engine's per-accelerator rate by what training
does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from fab2token import catalog
from fab2token.engine.simulate import simulate
from fab2token.errors import ModelError
from fab2token.operations.failures import Failures, draw_failures_draws
from fab2token.operations.hours import HourAxis, demand_by_hour, hour_axis
from fab2token.operations.place import choose_place, places
from fab2token.operations.power import paused_share
from fab2token.scenario.models import Scenario
from fab2token.scenario.operations import Operations, hour_number
from fab2token.workloads.reliability import young_daly_interval_s

__all__ = ["OPERATE_KEYS", "Operated", "operate", "operate_draws", "fold_into", "run_training"]

Array = NDArray[np.float64]

OPERATE_KEYS = (
    "scenario",
    "policy",
    "hours",
    "inference",
    "training_runs",
    "failures",
    "power",
    "utilisation_by_month",
    "utilisation_by_site",
)


@dataclass(frozen=True)
class Operated:
    """The hourly answers; :meth:`to_dict` gives ``fab2token operate --json``."""

    scenario: str
    policy: str
    hours: HourAxis
    demand: Array  # (hour,) tokens/s
    base_demand: Array  # (hour,) without spikes
    served: Array  # (hour,) tokens/s
    available: Array  # (hour,) accelerators up (not failed, not out)
    training_held: Array  # (hour,) accelerators held by running training runs
    runs: list[dict[str, Any]]
    failures: Failures
    installed: Array  # (hour,) accelerators installed
    extra: dict[str, Any] = field(default_factory=dict)  # rate; sites, up_site, held_site (hour, site)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "policy": self.policy,
            "hours": self.hours.size,
            "inference": _inference_summary(self),
            "training_runs": self.runs,
            "failures": _failure_summary(self),
            "power": _power_summary(self),
            "utilisation_by_month": _by_month(self.hours, _used(self) / np.maximum(self.installed, 1e-9)),
            "utilisation_by_site": _by_site(self),
        }


def _serving(o: Operated) -> Array:
    """Accelerators serving inference each hour (tokens served / the per-accelerator rate)."""
    rate = o.extra["rate"]
    return o.served / rate if rate > 0 else np.zeros(o.hours.size)


def _used(o: Operated) -> Array:
    return o.training_held + _serving(o)


def _by_site(o: Operated) -> dict[str, float | None]:
    """Each site's busy share over the horizon: its training runs' accelerators plus its part of inference (served
    where accelerators are free, in proportion to what each site has free), over what is installed there."""
    up, held = o.extra["up_site"], o.extra["held_site"]
    free = np.maximum(up - held, 0.0)
    serving = _serving(o)
    total_free = free.sum(axis=1)
    part = np.where(total_free[:, None] > 0, free / np.where(total_free > 0, total_free, 1.0)[:, None], 0.0)
    busy = (held + part * serving[:, None]).sum(axis=0)
    installed = o.extra["installed_site"].sum(axis=0)
    return {n: (float(b / i) if i > 0 else None) for n, b, i in zip(o.extra["sites"], busy, installed, strict=True)}


def _by_month(hours: HourAxis, values: Array, total: bool = False) -> list[float]:
    """Per month: the mean over its hours (``total``: the sum)."""
    sums = np.bincount(hours.month, weights=values)
    return [float(x) for x in (sums if total else sums / np.maximum(np.bincount(hours.month), 1))]


def _inference_summary(o: Operated) -> dict[str, Any]:
    asked = float(o.demand.sum()) * 3600.0
    served = float(o.served.sum()) * 3600.0
    whole = o.served >= o.demand * (1 - 1e-9)
    spike = np.where(o.base_demand > 0, o.demand / np.where(o.base_demand > 0, o.base_demand, 1.0), 1.0)
    absorbed = spike[whole & (o.demand > 0)]
    return {
        "demand_tokens": asked,
        "served_tokens": served,
        "unmet_tokens": asked - served,
        "slo_attainment_frac": served / asked if asked > 0 else None,
        "hours_fully_served_frac": float(whole[o.demand > 0].mean()) if (o.demand > 0).any() else None,
        "largest_spike_absorbed": float(absorbed.max()) if absorbed.size else None,
        "unmet_tokens_by_month": [x * 3600.0 for x in _by_month(o.hours, o.demand - o.served, total=True)],
    }


def _failure_summary(o: Operated) -> dict[str, Any]:
    f = o.failures
    return {
        "failures": int(f.count.sum()),
        "mean_repair_hours": float(f.repair_hours.mean()) if f.repair_hours.size else None,
        "mean_wait_for_crew_hours": float(f.wait_hours.mean()) if f.wait_hours.size else None,
        "waited_frac": float((f.wait_hours > 0).mean()) if f.wait_hours.size else None,
        "mean_domains_in_repair": float(f.in_repair_domains.sum(axis=1).mean()),
        "mean_accelerators_down": float(f.down_accelerators.sum(axis=1).mean()),
    }


def _power_summary(o: Operated) -> dict[str, Any]:
    """Work paused for want of power (curtailment events, hot hours beyond the connection)."""
    paused = o.extra["paused_site"].sum(axis=1)
    return {
        "paused_accelerator_hours": float(paused.sum()),
        "hours_with_work_paused": int((paused > 1e-9).sum()),
        "paused_accelerator_hours_by_site": dict(
            zip(o.extra["sites"], (float(x) for x in o.extra["paused_site"].sum(axis=0)), strict=True)
        ),
    }


def operate(
    sc: Scenario, ds: xr.Dataset | None = None, drawn: tuple[Failures, np.random.Generator, Array] | None = None
) -> Operated:
    """Run the scenario's fleet hour by hour under its ``operations`` section.

    Parameters
    ----------
    sc : Scenario
        A validated scenario with an ``operations`` section.
    ds : xarray.Dataset, optional
        Its engine results (:func:`fab2token.engine.simulate.simulate`); None runs the engine first.
    drawn : (Failures, Generator, array), optional
        Its failures already drawn, the generator they were drawn with (the seed's, to go on with) and the share
        of the work paused for power (:func:`operate_draws` draws many seeds' failures at once); None: drawn here.

    Returns
    -------
    Operated
        The hourly answers; :meth:`Operated.to_dict` gives the keys of ``fab2token operate --json``.

    Raises
    ------
    ModelError
        The scenario has no ``operations`` section.
    """
    ops = sc.operations
    if ops is None:
        raise ModelError("the scenario has no operations section (policy, failures, demand shape): nothing to operate")
    ds = simulate(sc) if ds is None else ds
    hours = hour_axis(sc)
    installed_site = ds["accelerators_installed"].values[hours.month]  # (hour, site)
    rate = _failure_rate(ops)
    if drawn is None:
        rng = np.random.default_rng(ops.seed)
        fail = _draw(ops, installed_site, [rng])[0]
        share = paused_share(sc, ds, hours)
    else:
        fail, rng, share = drawn
    up_site = np.maximum(installed_site - fail.down_accelerators - _outages(sc, ops, hours, installed_site), 0.0)
    paused = up_site * share  # the share of the work the sites' power cannot carry
    up_site = up_site - paused
    available = up_site.sum(axis=1)
    name = "inference_demand_tokens_per_s"
    monthly = ds[name].values if name in ds else np.zeros(sc.horizon.months)
    demand, base = demand_by_hour(monthly, ops, hours, rng)
    per_acc = float(ds.attrs.get("inference_tokens_per_s_per_accelerator", 0.0))
    need = demand / per_acc if per_acc > 0 else np.zeros(hours.size)
    installed = installed_site.sum(axis=1)
    runs, held_site = run_training(sc, ds, hours, up_site, need, installed_site, rate, rng)
    held = held_site.sum(axis=1)
    served = np.minimum(demand, np.maximum(available - held, 0.0) * per_acc)
    return Operated(
        scenario=sc.name,
        policy=ops.policy,
        hours=hours,
        demand=demand,
        base_demand=base,
        served=served,
        available=available,
        training_held=held,
        runs=runs,
        failures=fail,
        installed=installed,
        extra={
            "rate": per_acc,
            "sites": [x.name for x in sc.sites],
            "up_site": up_site,
            "held_site": held_site,
            "installed_site": installed_site,
            "paused_site": paused,
        },
    )


def _failure_rate(ops: Operations) -> float:
    if ops.failure_rate_per_accelerator_hour is not None:
        return float(ops.failure_rate_per_accelerator_hour)
    return float(catalog.overhead("failure_rate_per_accelerator_hour"))


def _draw(ops: Operations, installed_site: Array, rngs: list[np.random.Generator]) -> list[Failures]:
    """Each generator's failures of the installed fleet (hour, site), the repair queues of all at once."""
    return draw_failures_draws(
        installed_site,
        _failure_rate(ops),
        ops.failure_domain_accelerators,
        ops.repair_hours,
        rngs,
        crews=ops.repair_crews,
        spares=ops.spare_domains,
    )


def _outages(sc: Scenario, ops: Operations, hours: HourAxis, installed: Array) -> Array:
    """(hour, site) accelerators out with their site."""
    out = np.zeros_like(installed)
    index = {s.name: j for j, s in enumerate(sc.sites)}
    for o in ops.outages:  # a handful of events, each a slice of hours
        first = hour_number(o.start) - int(hours.hour[0])
        lo, hi = max(first, 0), min(first + o.hours, hours.size)
        if lo < hi:
            out[lo:hi, index[o.site]] = installed[lo:hi, index[o.site]]
    return out


def run_training(
    sc: Scenario,
    ds: xr.Dataset,
    hours: HourAxis,
    up_site: Array,
    need_inference: Array,
    installed_site: Array,
    rate: float,
    rng: np.random.Generator,
) -> tuple[list[dict[str, Any]], Array]:
    """Each training run of the engine's schedule, in order, over every hour, at one place (a run needs its whole
    cluster in one fabric: the site with the most installed when it may start, else a campus that holds it,
    :mod:`.place`): when it runs, its interruptions, preemptions and pauses, its progress and its finish. Inference
    is served anywhere, so a policy's claim on a run's place is what inference cannot find free elsewhere. Returns
    the runs and the accelerators they hold (hour, site)."""
    import json

    ops = sc.operations
    assert ops is not None
    config = {r.name: r for r in sc.workloads.training}
    held = np.zeros_like(up_site)
    out = []
    total_up = up_site.sum(axis=1)
    inference = np.minimum(need_inference, total_up)  # what inference would take, fleet-wide
    if ops.policy == "fair-share":  # inference's guaranteed share of what is up
        inference = np.minimum(need_inference, ops.inference_share_frac * total_up)
    options = places(sc)
    for run in json.loads(ds.attrs.get("training_runs", "[]")):  # a handful of runs; each vectorised over hours
        if run.get("status") != "scheduled":
            out.append({"name": run["name"], "status": run.get("status"), "finish": None})
            continue
        n = float(run["accelerators"])
        first = int(np.searchsorted(hours.month, _month_index(ds, run["start"])))
        place = choose_place(options, installed_site, first, n)
        left = up_site - held  # what earlier runs leave
        free = place.capacity(left)
        elsewhere = left.sum(axis=1) - left[:, place.members].sum(axis=1)
        claim = np.zeros(hours.size)
        if ops.policy in ("inference-first", "fair-share"):
            claim = np.maximum(inference - elsewhere, 0.0)
        elif ops.policy == "headroom":
            claim = ops.headroom_frac * installed_site[:, place.members].sum(axis=1)
        eligible = np.arange(hours.size) >= first
        can = eligible & (free - claim >= n - 1e-9)
        enough = free >= n - 1e-9  # without the policy's claim: a stop where it is enough is a preemption
        cfg = config[run["name"]]
        costs_h = (cfg.checkpoint_write_s / 3600.0, cfg.restart_s / 3600.0)
        row, active = _progress(run, n, (can, enough), rate, costs_h, rng, hours)
        held += place.split(left, n) * active[:, None]
        where = {"site": place.name} | ({"sites": [sc.sites[j].name for j in place.members]} if place.is_campus else {})
        out.append(row | where)
    return out, held


def _month_index(ds: xr.Dataset, label: str) -> int:
    return [str(m) for m in ds["month"].values].index(label)


def _progress(
    run: dict[str, Any],
    n: float,
    masks: tuple[NDArray[np.bool_], NDArray[np.bool_]],
    rate: float,
    costs_h: tuple[float, float],
    rng: np.random.Generator,
    hours: HourAxis,
) -> tuple[dict[str, Any], NDArray[np.bool_]]:
    """One run's hours: progress while it may run, its losses, the hour it finishes and the hours it holds.
    ``masks``: the hours it may run, and those with enough accelerators up whatever the policy claims; ``costs_h``:
    its checkpoint write and restart times [h]."""
    can, enough = masks
    compute_h = float(run["days"]) * 24.0 * float(run["goodput"])  # the run's failure-free compute time
    write_h, restart_h = costs_h
    mtbf_h = 1.0 / (rate * n) if rate > 0 else np.inf
    tau = float(young_daly_interval_s(write_h, mtbf_h)) if np.isfinite(mtbf_h) else np.inf
    hit = rng.poisson(rate * n * can)  # failures in its cluster while it runs
    started = np.flatnonzero(can)
    stopped = np.r_[False, can[:-1] & ~can[1:]]  # it held the cluster and must give it up this hour
    preempted = stopped & enough  # the policy took it
    paused = stopped & ~enough  # failures or an outage left too few accelerators up
    events = hit + stopped
    lost = np.zeros(can.size)
    if events.any():
        k = int(events.sum())
        at = np.repeat(np.arange(can.size), events)
        since = rng.random(k) * (tau if np.isfinite(tau) else 0.0)  # work since the last checkpoint
        np.add.at(lost, at, since + restart_h)
    writing = write_h / (tau + write_h) if np.isfinite(tau) else 0.0
    progress = np.cumsum(can * (1.0 - writing) - lost)
    done = np.flatnonzero(progress >= compute_h)
    end = int(done[0]) if done.size else can.size
    active = can & (np.arange(can.size) <= end)
    wall = float(end - started[0] + 1) if started.size and done.size else None
    row = {
        "name": run["name"],
        "status": "finished" if done.size else "running at the end",
        "accelerators": n,
        "start": _label(hours, int(started[0])) if started.size else None,
        "finish": _label(hours, end) if done.size else None,
        "compute_hours": compute_h,
        "wall_hours": wall,
        "goodput": compute_h / wall if wall else None,
        "interruptions": int(hit[: end + 1].sum()),
        "preemptions": int(preempted[: end + 1].sum()),
        "pauses_for_capacity": int(paused[: end + 1].sum()),
        "lost_hours": float(lost[: end + 1].sum()),
        "checkpoint_interval_hours": tau,
    }
    return row, active


def _label(hours: HourAxis, i: int) -> str:
    return str(np.datetime64(int(hours.hour[i]), "h"))


def operate_draws(sc: Scenario, draws: int) -> dict[str, Any]:
    """``draws`` runs of the hourly layer on one engine run, seeds ``seed`` .. ``seed + draws - 1`` (failures,
    interruptions and random spikes drawn anew): P10/P50/P90 of the SLO attainment, the unmet tokens, and each
    training run's finish and goodput (a run not finished in a draw counts as later than every finish)."""
    ops = sc.operations
    if ops is None:
        raise ModelError("the scenario has no operations section (policy, failures, demand shape): nothing to operate")
    ds = simulate(sc)
    hours = hour_axis(sc)
    rngs = [np.random.default_rng(ops.seed + k) for k in range(draws)]
    fails = _draw(ops, ds["accelerators_installed"].values[hours.month], rngs)  # every draw's repair queue at once
    share = paused_share(sc, ds, hours)  # the same in every draw: the engine run is shared
    results = [  # one engine run; the rest of the hourly layer per draw (each whole arrays over its hours)
        operate(
            sc.model_copy(update={"operations": ops.model_copy(update={"seed": ops.seed + k})}),
            ds,
            (fails[k], rngs[k], share),
        ).to_dict()
        for k in range(draws)
    ]

    def q(values: list[float]) -> dict[str, float | None]:
        v = np.asarray(values, dtype=float)
        return {f"p{p}": (float(np.percentile(v, p)) if np.isfinite(v).all() else None) for p in (10, 50, 90)}

    runs = []
    for k, r in enumerate(results[0]["training_runs"]):
        finish = [x["training_runs"][k].get("finish") for x in results]
        hours = [np.datetime64(f, "h").astype(np.int64) if f else np.inf for f in finish]
        done = [h for h in hours if np.isfinite(h)]
        runs.append(
            {
                "name": r["name"],
                "finished_frac": len(done) / draws,
                **{
                    f"finish_p{p}": (
                        str(np.datetime64(int(np.percentile(hours, p, method="lower")), "h"))
                        if np.isfinite(np.percentile(hours, p, method="lower"))
                        else None
                    )
                    for p in (10, 50, 90)
                },
                "goodput": q([x["training_runs"][k].get("goodput") or np.nan for x in results]),
            }
        )
    return {
        "draws": draws,
        "seeds": [ops.seed, ops.seed + draws - 1],
        "slo_attainment_frac": q([x["inference"]["slo_attainment_frac"] or np.nan for x in results]),
        "unmet_tokens": q([x["inference"]["unmet_tokens"] for x in results]),
        "training_runs": runs,
    }


def fold_into(ds: xr.Dataset, o: Operated) -> xr.Dataset:
    """The monthly results with the hourly layer's answers in place of the engine's monthly ones, so the two time
    scales agree: inference served and unmet as the monthly means of the hourly figures (demand shape, spikes,
    failures, outages and the policy included), each training run's finish and status from the hours (its
    interruptions and goodput too), and ``availability_frac`` (accelerators up / installed, monthly mean). The
    engine's own figures are kept as ``*_monthly_engine`` variables and ``training_runs_monthly_engine``."""
    import json

    out = ds.copy()
    m = ("month",)

    def monthly(values: Array) -> Array:
        return np.asarray(_by_month(o.hours, values))

    for name, values in (
        ("inference_demand_tokens_per_s", o.demand),
        ("inference_served_tokens_per_s", o.served),
        ("inference_unmet_tokens_per_s", o.demand - o.served),
    ):
        if name in out:
            out[f"{name}_monthly_engine"] = out[name]
            out[name] = (m, monthly(values), {"units": "tokens/s", "note": "monthly mean of the hourly operations"})
    up = np.where(o.installed > 0, o.available / np.where(o.installed > 0, o.installed, 1.0), 1.0)
    out["availability_frac"] = (m, monthly(up), {"units": "fraction", "note": "accelerators up / installed"})
    runs = json.loads(ds.attrs.get("training_runs", "[]"))
    hourly = {r["name"]: r for r in o.runs}
    for r in runs:
        h = hourly.get(r["name"], {})
        if r.get("status") == "scheduled" and h:
            r["start"] = h["start"][:7] if h.get("start") else r["start"]
            r["finish"] = h["finish"][:7] if h.get("finish") else None
            r["status"] = "scheduled" if h.get("finish") else "not finished"
            r.update({f"hourly_{k}": h.get(k) for k in ("finish", "goodput", "interruptions", "preemptions")})
    out.attrs["training_runs_monthly_engine"] = ds.attrs.get("training_runs", "[]")
    out.attrs["training_runs"] = json.dumps(runs)
    out.attrs["operations"] = json.dumps(o.to_dict()["inference"] | {"policy": o.policy})
    return out
