"""A race under uncertain world capacities: ``race --draws N`` draws each catalog pool's place in its published
range (one quantile per pool and draw, held over all its steps: a pool that runs high runs high every year), runs
the whole race for every draw, and says how often each player meets each target, when (P10/P50/P90), and how
often it is the first to. Each draw's world is allocated on its own; each player's engine then runs on a chunk of
draws as one batch (:func:`fab2token.race.run.run_races`).

A draw depends on the seed and the pool's path only (the sweep's sampler), so ``--draws 200`` begins with the draws
of ``--draws 100``. The players' own uncertain inputs (distributions in their scenarios) are drawn too, each
player's from a stream of its own, with its correlations.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from fab2token.race.run import RaceResult, run_races
from fab2token.scenario.distributions import Dist, sample
from fab2token.scenario.models import month_number
from fab2token.scenario.race import WorldPool
from fab2token.scenario.raceload import LoadedRace

__all__ = ["uncertain_pools", "run_race_draws"]

_PERCENTILES = (10, 50, 90)
CHUNK_DRAWS = 50  # draws whose engines run as one batch per player (memory bounded by the chunk)


def uncertain_pools(loaded: LoadedRace) -> list[str]:
    """Paths of the pools a draw moves: those taking the catalog's capacity (typed schedules stay as typed)."""
    w = loaded.race.world
    paths = [f"world.wafers[{i}]" for i, p in enumerate(w.wafers) if p.capacity == "catalog"]
    paths += [f"world.market[{i}]" for i, p in enumerate(w.market) if p.capacity == "catalog"]
    paths += [
        f"world.{r}" for r in ("packaging", "hbm") if getattr(w, r) is not None and getattr(w, r).capacity == "catalog"
    ]
    return paths


def _with_levels(loaded: LoadedRace, levels: dict[str, float]) -> LoadedRace:
    """The race with each drawn pool at its quantile."""
    w = loaded.race.world

    def at(path: str, pool: WorldPool) -> WorldPool:
        return pool.model_copy(update={"level": levels[path]}) if path in levels else pool

    world = w.model_copy(
        update={
            "wafers": [at(f"world.wafers[{i}]", p) for i, p in enumerate(w.wafers)],
            "market": [at(f"world.market[{i}]", p) for i, p in enumerate(w.market)],
            **{r: at(f"world.{r}", getattr(w, r)) for r in ("packaging", "hbm") if getattr(w, r) is not None},
        }
    )
    return replace(loaded, race=loaded.race.model_copy(update={"world": world}))


def run_race_draws(loaded: LoadedRace, draws: int, seed: int = 0) -> dict[str, Any]:
    """``draws`` races on drawn world capacities and players' inputs; per player and target: the share of draws
    meeting it by its deadline and within the horizon, its month's P10/P50/P90, and the share of draws in which it is
    first."""
    paths = uncertain_pools(loaded)
    u = sample({p: Dist("uniform", (0.0, 1.0)) for p in paths}, draws, seed)
    players = _player_inputs(loaded, draws, seed)
    results: list[RaceResult] = []
    for first in range(0, draws, CHUNK_DRAWS):  # each chunk: the worlds allocated, each player's engine one batch
        races = []
        for k in range(first, min(first + CHUNK_DRAWS, draws)):  # the draws' race files (validation per draw)
            levels = {p: float(np.clip(u[p][k], 1e-9, 1 - 1e-9)) for p in paths}
            race_k = _drawn_players(loaded, players, k) if players else loaded
            races.append(_with_levels(race_k, levels))
        results += run_races(races)
    out = _statistics(loaded, results, paths, draws, seed)
    return out | {
        "uncertain_player_inputs": [f"players[{i}].scenario.{p}" for i, (_, d, _) in players.items() for p in d]
    }


def _player_inputs(loaded: LoadedRace, draws: int, seed: int) -> dict[int, tuple[Any, dict[str, Any], Any]]:
    """Per player with distributions: its raw scenario data, its distributions and their draws (a stream per
    player: seed ``seed x 1009 + index + 1``)."""
    from fab2token.scenario.load import read_yaml_file
    from fab2token.scenario.uncertain import uncertain_inputs

    out = {}
    for i, sc in enumerate(loaded.scenarios):  # a handful of players
        found = uncertain_inputs(sc)
        if len(found):
            raw = loaded.data["players"][i]["scenario"]
            if isinstance(raw, str):
                raw, _ = read_yaml_file(loaded.folder / raw)
            out[i] = (raw, dict(found.dists), found.sample(draws, seed * 1009 + i + 1))
    return out


def _drawn_players(loaded: LoadedRace, players: dict[int, tuple[Any, dict[str, Any], Any]], k: int) -> LoadedRace:
    """The race with each uncertain player's inputs at draw ``k``: only those players' scenarios validated again
    (as any scenario); the race's own fields and the other players stay as loaded."""
    from fab2token.scenario.distributions import replace_distributions
    from fab2token.scenario.raceload import player_scenario

    scenarios = list(loaded.scenarios)
    for i, (raw, dists, values) in players.items():  # the uncertain players, a handful
        drawn = replace_distributions(
            raw, lambda path, _spec, d=dists, v=values: d[path].scenario_value(float(v[path][k]))
        )
        scenarios[i] = player_scenario(f"{loaded.file} (draw {k})", loaded.folder, i, drawn, loaded.data["horizon"])
    return replace(loaded, scenarios=scenarios)


def _statistics(
    loaded: LoadedRace, results: list[RaceResult], paths: list[str], draws: int, seed: int
) -> dict[str, Any]:
    labels = results[0].month_labels
    first = month_number(labels[0])
    names = [p.name for p in results[0].players]
    targets = sorted({t["name"] for p in results[0].players for t in p.targets})
    # met[target][player, draw]: month index, inf where not met within the horizon (or the player has no such target)
    met = {
        t: np.array(
            [[_met_index(r.players[i].targets, t, first) for r in results] for i in range(len(names))], dtype=float
        )
        for t in targets
    }
    players = []
    for i, name in enumerate(names):
        rows = []
        for t in (x for x in results[0].players[i].targets):
            m = met[t["name"]][i]
            deadline = month_number(t["deadline"]) - first
            earliest = met[t["name"]].min(axis=0)
            rows.append(
                {
                    "name": t["name"],
                    "met_within_horizon_frac": float(np.isfinite(m).mean()),
                    "met_by_deadline_frac": float((m <= deadline).mean()),
                    "first_frac": float((np.isfinite(m) & (m == earliest)).mean()),
                    **{f"met_month_p{q}": _month(np.percentile(m, q, method="lower"), labels) for q in _PERCENTILES},
                }
            )
        compute = np.array([r.players[i].compute_flop_per_s[-1] for r in results])
        players.append(
            {
                "name": name,
                "targets": rows,
                **{f"compute_flop_per_s_end_p{q}": float(np.percentile(compute, q)) for q in _PERCENTILES},
            }
        )
    return {"draws": draws, "seed": seed, "uncertain_pools": paths, "players": players}


def _met_index(targets: list[dict[str, Any]], name: str, first: int) -> float:
    t = next((x for x in targets if x["name"] == name), None)
    if t is None or t["met_month"] is None:
        return np.inf
    return float(month_number(t["met_month"]) - first)


def _month(index: float, labels: list[str]) -> str | None:
    return labels[int(index)] if np.isfinite(index) else None
