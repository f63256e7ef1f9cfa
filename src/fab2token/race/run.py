"""A race run: the world's pools allocated among the players (:mod:`.world`), each player's engine run on what it
got, and per player the answers a race is about: compute installed over time, the largest training run it could
finish by each month, when each of its targets can be met, and what held it back, month by month.

The allocation is vectorised over players and months; the engine then runs once per player (a race has a
handful), each player's on all of a race's draws at once (:func:`run_races`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from fab2token.deploy.placement import BINDING_SUPPLY
from fab2token.engine.simulate import summarise
from fab2token.race.world import Allocation, PoolResult, allocate_with_surplus
from fab2token.scenario.models import Scenario, month_label, month_number
from fab2token.scenario.raceload import LoadedRace, apply_counterfactual
from fab2token.scenario.timeline import hours_in_month, month_axis, month_labels
from fab2token.workloads.schedule import target_mfu, target_size

__all__ = [
    "RACE_KEYS",
    "PLAYER_KEYS",
    "PlayerOutcome",
    "RaceResult",
    "run_race",
    "run_races",
    "largest_run_flop",
    "first_month_reaching",
]

RACE_KEYS = ("race", "month_labels", "players", "world", "counterfactuals", "surplus_offered")
"""Keys of ``fab2token race --json`` (with ``draws`` under ``--draws``, ``report`` under ``--report``)."""
PLAYER_KEYS = (
    "name",
    "accelerators_installed_end",
    "compute_flop_per_s_end",
    "compute_flop_per_s_by_month",
    "largest_run_flop_by_month",
    "binding_by_month",
    "targets",
    "training_runs",
    "pools",
    "capex_usd_total",
    "fab_capex_usd_total",
    "opex_usd_total",
    "auction_paid_usd_total",
    "auction_paid_usd_by_month",
    "spend_usd_total",
)
"""Keys of each entry of ``players``."""

Array = NDArray[np.float64]


@dataclass(frozen=True)
class PlayerOutcome:
    """One player's answers over the race's months."""

    name: str
    dataset: xr.Dataset
    summary: dict[str, Any]
    compute_flop_per_s: Array  # (month,) dense BF16 peak installed and powered
    largest_run_flop: Array  # (month,) peak FLOP of the largest run finishing by the month on one cluster
    binding: list[str]  # (month,) the world pool that cut its request, else its own binding constraint
    targets: list[dict[str, Any]]
    pools: list[dict[str, Any]]  # per pool: requested, granted, share granted, paid
    auction_paid: Array  # (month,) USD paid in the market-rule pools: clearing price x grant (grants' months)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "accelerators_installed_end": self.summary["accelerators_installed_end"],
            "compute_flop_per_s_end": float(self.compute_flop_per_s[-1]),
            "compute_flop_per_s_by_month": [float(x) for x in self.compute_flop_per_s],
            "largest_run_flop_by_month": [float(x) for x in self.largest_run_flop],
            "binding_by_month": self.binding,
            "targets": self.targets,
            "training_runs": self.summary["training_runs"],
            "pools": self.pools,
            "capex_usd_total": self.summary["capex_usd_total"],
            "fab_capex_usd_total": self.summary["fab_capex_usd_total"],
            "opex_usd_total": self.summary["opex_usd_total"],
            "auction_paid_usd_total": self.auction_paid_usd(),
            "auction_paid_usd_by_month": [float(x) for x in self.auction_paid],
            "spend_usd_total": self.spend_usd(),
        }

    def auction_paid_usd(self) -> float:
        """What the player paid in the world's auctions (each market-rule pool's clearing price x its grant), on
        top of its own scenario's unit prices; 0 where it won nothing at a price."""
        return float(sum(p["paid_usd"] or 0.0 for p in self.pools))

    def spend_usd(self) -> float:
        """Its whole spend over the horizon: capex, opex, an own fab's capex and the auction payments."""
        s = self.summary
        return float(s["capex_usd_total"] + s["opex_usd_total"] + s["fab_capex_usd_total"]) + self.auction_paid_usd()


@dataclass(frozen=True)
class RaceResult:
    """A race and its counterfactuals."""

    name: str
    month_labels: list[str]
    players: list[PlayerOutcome]
    pools: list[PoolResult]
    counterfactuals: list[dict[str, Any]] = field(default_factory=list)
    surplus: dict[str, Any] = field(default_factory=dict)  # per seller: its node and the wafers it offered

    def to_dict(self) -> dict[str, Any]:
        return {
            "race": self.name,
            "month_labels": self.month_labels,
            "players": [p.to_dict() for p in self.players],
            "world": [_pool_dict(p, [o.name for o in self.players]) for p in self.pools],
            "counterfactuals": self.counterfactuals,
            "surplus_offered": self.surplus,
        }


def _pool_dict(pool: PoolResult, names: list[str]) -> dict[str, Any]:
    return {
        "resource": pool.resource,
        "key": pool.key,
        "unit": pool.unit,
        "rule": pool.rule,
        "capacity_by_month": [float(x) for x in pool.capacity],
        "requested_by_month": [float(x) for x in pool.requested.sum(axis=0)],
        "granted_by_month": [float(x) for x in pool.granted.sum(axis=0)],
        "price_usd_by_month": [None if math.isnan(x) else float(x) for x in pool.price_usd],
        "players": names,
    }


def run_race(loaded: LoadedRace, counterfactuals: bool = True) -> RaceResult:
    """Allocate the world, run every player's engine on its allocation, and (``counterfactuals``) each variant."""
    result = run_races([loaded])[0]
    if not counterfactuals:
        return result
    variants = []
    for k, cf in enumerate(loaded.race.counterfactuals):
        other = run_race(apply_counterfactual(loaded, k), counterfactuals=False)
        variants.append({"name": cf.name, "player": cf.player, "players": _compare(result, other)})
    return RaceResult(result.name, result.month_labels, result.players, result.pools, variants, result.surplus)


def run_races(races: list[LoadedRace]) -> list[RaceResult]:
    """Several races of the same players (a race's draws), without counterfactuals: each race's world allocated on
    its own (the allocation is per race), then each player's engine on all the races at once, one batch per player
    (:func:`fab2token.engine.batch.run_batch`: a player's draws share its structure)."""
    from fab2token.engine.batch import run_batch
    from fab2token.engine.simulate import draw_dataset
    from fab2token.engine.variables import batch_variables

    race = races[0].race
    axis = month_axis(race.horizon.start, race.horizon.months)
    allocs = [allocate_with_surplus(r.race, r.scenarios) for r in races]
    outcomes: list[list[PlayerOutcome]] = [[] for _ in races]
    for i in range(len(races[0].scenarios)):  # a handful of players; each one batch over the races
        scs = [r.scenarios[i] for r in races]
        b = run_batch(scs, [a.supply[i] for a, _ in allocs], [a.market[i] for a, _ in allocs])
        variables = batch_variables(b)
        for k, (alloc, _) in enumerate(allocs):  # per race: its Dataset and the race's answers from it
            name = races[k].race.players[i].name
            outcomes[k].append(_outcome(name, scs[k], draw_dataset(b, variables, k), alloc, i, axis))
    return [
        RaceResult(
            name=r.race.name, month_labels=month_labels(axis), players=players, pools=alloc.pools, surplus=offered
        )
        for r, players, (alloc, offered) in zip(races, outcomes, allocs, strict=True)
    ]


def _outcome(
    name: str, sc: Scenario, ds: xr.Dataset, alloc: Allocation, i: int, axis: NDArray[np.int64]
) -> PlayerOutcome:
    """Player ``i``'s race answers from its engine results ``ds`` on its allocation."""
    summary = summarise(ds).to_dict()
    peak = np.array([float(s["dense_bf16_flop_per_s"]) for s in _specs(ds, sc)])
    by_type = ds["accelerators_installed_by_type"].values.sum(axis=2)  # (type, month)
    compute = np.nan_to_num(peak)[:, None] * by_type
    total = compute.sum(axis=0)
    installed = by_type.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_accelerator = np.where(installed > 0, total / np.where(installed > 0, installed, 1.0), 0.0)
    cluster = ds["largest_cluster_accelerators"].values * per_accelerator
    window = _window_flop(cluster, hours_in_month(axis) * 3600.0)  # once: every target reads it
    return PlayerOutcome(
        name=name,
        dataset=ds,
        summary=summary,
        compute_flop_per_s=total,
        largest_run_flop=_best_by_end(window),
        binding=_binding(alloc.pools, i, summary["binding_constraint_by_month"]),
        targets=_targets(sc, window, axis),
        pools=[_player_pool(p, i) for p in alloc.pools],
        auction_paid=sum(
            (np.nan_to_num(p.granted[i] * p.price_usd) for p in alloc.pools if p.rule == "market"),
            np.zeros(axis.size),
        ),
    )


def _specs(ds: xr.Dataset, sc: Scenario) -> list[dict[str, Any]]:
    from fab2token import catalog

    acc = sc.catalog.get("accelerators")
    return [catalog.lookup("accelerators", str(n), acc) for n in ds["accelerator"].values]


def _window_flop(cluster: Array, seconds: Array) -> Array:
    """``[start, end]``: peak FLOP of a run from month ``start`` through ``end`` on the smallest cluster it meets
    (0 where end < start)."""
    n = cluster.size
    grid = np.where(np.arange(n)[None, :] >= np.arange(n)[:, None], cluster[None, :], np.inf)
    smallest = np.minimum.accumulate(grid, axis=1)  # the smallest cluster from start through end
    elapsed = np.cumsum(seconds)[None, :] - np.concatenate([[0.0], np.cumsum(seconds)[:-1]])[:, None]
    return np.where(np.isfinite(smallest), smallest, 0.0) * np.maximum(elapsed, 0.0)


def largest_run_flop(cluster_flop_per_s: Array, seconds: Array, first: int = 0) -> Array:
    """Peak FLOP of the largest run that finishes by each month on one cluster, starting at month ``first`` or
    later: the best start for each end, the run holding the smallest cluster it meets (whole months)."""
    return _best_by_end(
        _window_flop(np.asarray(cluster_flop_per_s, dtype=float), np.asarray(seconds, dtype=float)), first
    )


def _best_by_end(window: Array, first: int = 0) -> Array:
    """For each end month, the most of :func:`_window_flop`'s ``window`` over the starts from ``first`` on."""
    if not window.size:
        return np.zeros(0)
    return np.where(np.arange(window.shape[0])[:, None] >= first, window, 0.0).max(axis=0)


def first_month_reaching(series: Array, needed: float) -> int | None:
    """Index of the first month whose value reaches ``needed`` (None if none does)."""
    hit = np.flatnonzero(series >= needed * (1 - 1e-12))
    return int(hit[0]) if hit.size else None


def _targets(sc: Scenario, window: Array, axis: NDArray[np.int64]) -> list[dict[str, Any]]:
    """Each training target: the first month a run of its FLOPs (at its MFU and goodput) can finish on one cluster,
    starting no earlier than its start, and whether that is by its deadline."""
    out = []
    main = sc.accelerator_spec()["name"]
    for t in sc.targets.training:  # a handful; each vectorised over months
        flops, goodput = target_size(sc, t, main)
        mfu = target_mfu(sc, t, main)
        first = month_number(t.start) - int(axis[0]) if t.start else 0
        done = _best_by_end(window, first) * mfu * goodput  # model FLOP by each month
        k = first_month_reaching(done, flops)
        met = month_label(int(axis[k])) if k is not None else None
        by = min(max(month_number(t.deadline) - int(axis[0]), 0), axis.size - 1)
        out.append(
            {
                "name": t.name,
                "flops": flops,
                "mfu": mfu,
                "goodput": goodput,
                "deadline": t.deadline,
                "met_month": met,
                "met_by_deadline": k is not None and int(axis[k]) <= month_number(t.deadline),
                "shortfall_frac_at_deadline": max(0.0, 1.0 - float(done[by]) / flops) if axis.size else None,
            }
        )
    return out


def _binding(pools: list[PoolResult], i: int, own: list[str]) -> list[str]:
    """Month by month, what holds player ``i`` back: where its own engine says supply binds (nothing waits for
    power, space or a schedule), the world pools that granted it less than it asked, if any; else its own binding
    constraint (power binds a player whatever the world would have given it)."""
    if not pools:
        return list(own)
    short = np.stack([p.granted[i] < p.requested[i] * (1 - 1e-9) for p in pools])  # (pool, month)
    names = np.array([f"world {p.resource} {p.key}".rstrip() for p in pools])
    return [
        " + ".join(names[short[:, m]]) if own[m] == BINDING_SUPPLY and short[:, m].any() else own[m]
        for m in range(len(own))
    ]


def _player_pool(pool: PoolResult, i: int) -> dict[str, Any]:
    requested, granted = float(pool.requested[i].sum()), float(pool.granted[i].sum())
    paid = float(np.nansum(pool.granted[i] * pool.price_usd))
    return {
        "resource": pool.resource,
        "key": pool.key,
        "unit": pool.unit,
        "requested_total": requested,
        "granted_total": granted,
        "granted_frac": granted / requested if requested > 0 else None,
        "paid_usd": paid if pool.rule == "market" else None,
    }


def _compare(base: RaceResult, other: RaceResult) -> list[dict[str, Any]]:
    """Per player in both runs: the variant's answers beside the race's."""
    theirs = {p.name: p for p in other.players}
    rows = []
    for p in base.players:
        q = theirs.get(p.name)
        if q is None:
            rows.append({"name": p.name, "in_variant": False})
            continue
        rows.append(
            {
                "name": p.name,
                "in_variant": True,
                "compute_flop_per_s_end": [float(p.compute_flop_per_s[-1]), float(q.compute_flop_per_s[-1])],
                "largest_run_flop_end": [float(p.largest_run_flop[-1]), float(q.largest_run_flop[-1])],
                "targets_met_month": [
                    [a["name"], a["met_month"], b["met_month"]] for a, b in zip(p.targets, q.targets, strict=False)
                ],
            }
        )
    return rows
