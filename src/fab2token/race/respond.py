"""Best responses: each player's cheapest plan (the planner, on the same inputs as the engine) given what the world
leaves it, iterated over the players until no player changes what it buys (or a round limit is reached, said so).

What is strategic here: the accelerators a player buys from a world market pool through its
``targets.accelerator_options``. Its own chain (wafers, packaging, HBM) and its fleet's standing market orders are
what the race's rule allocated it (:func:`fab2token.race.world.allocate_world`), fixed during the iteration. Each
round, players in order plan with each option capped by the pool's capacity left after the standing orders and the
other players' current purchases (split over a player's options in one pool in proportion to their stated
availability); a round in which no player's purchases move by more than ``rtol`` of the pool ends it (a Nash
equilibrium of this purchase game, within the tolerance). Gauss-Seidel order: the first player plans first; under
the ``market`` rule for the market pools, the highest market bid plans first (ties in the listed order), as the
race's auction serves the highest bid first.

Auction payments. Under the ``market`` rule, what is left of a pool is sold at one uniform price: where the
players' purchases take all the room left in a month, the lowest market bid among the buyers that month (as the
race's auction prices a binding pool), else nothing. Each player's ``auction_paid_usd`` adds these to what its
standing allocation paid in the world's market-rule pools (:mod:`fab2token.race.run`), and ``cost_with_auctions_usd``
is its plan's objective plus those payments discounted at the player's own rate. The payments are priced after the
plans, not in them: each plan buys at its options' prices, and the auction decides its place in the order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from fab2token import catalog
from fab2token.economics.costs import discount_factor
from fab2token.plan import plan
from fab2token.race.world import _pool_types, allocate_with_surplus
from fab2token.scenario.raceload import LoadedRace
from fab2token.scenario.timeline import month_axis, month_labels, step_schedule

__all__ = ["best_responses"]

Array = NDArray[np.float64]


def _options(loaded: LoadedRace, types: dict[str, list[str]], axis: NDArray[np.int64]) -> list[dict[str, Any]]:
    """Per player: {pool key: {option name: stated availability a month}} for its options sold by a pool."""
    out = []
    for sc in loaded.scenarios:
        acc = sc.catalog.get("accelerators")
        mine: dict[str, dict[str, Array]] = {}
        for o in sc.targets.accelerator_options:
            name = catalog.lookup("accelerators", o.accelerator, acc)["name"]
            for key, names in types.items():
                if name in names:
                    stated = step_schedule([c.from_ for c in o.available], [c.per_month for c in o.available], axis)
                    mine.setdefault(key, {})[name] = stated
        out.append(mine)
    return out


def _caps(room: Array, stated: dict[str, Array]) -> dict[str, Array]:
    """The pool's room split over a player's options in it, in proportion to their stated availability."""
    total = sum(stated.values(), np.zeros_like(room))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {n: np.where(total > 0, room * s / np.where(total > 0, total, 1.0), 0.0) for n, s in stated.items()}


def best_responses(
    loaded: LoadedRace, max_rounds: int = 10, rtol: float = 1e-3, time_limit_s: float = 60.0
) -> dict[str, Any]:
    """Iterate the players' best responses; returns each round's largest change, whether it converged, and per
    player its last plan's status, objective and purchases a month by pool."""
    race = loaded.race
    axis = month_axis(race.horizon.start, race.horizon.months)
    alloc, _ = allocate_with_surplus(race, loaded.scenarios)
    types = {str(p.key): _pool_types(p) for p in race.world.market}
    standing = {r.key: r for r in alloc.pools if r.resource == "market"}
    left = {k: np.maximum(r.capacity - r.granted.sum(axis=0), 0.0) for k, r in standing.items()}
    options = _options(loaded, types, axis)
    players = [i for i, sc in enumerate(loaded.scenarios) if sc.targets.training or sc.targets.inference_demand]
    auction = race.rule("market") == "market"
    bids = [p.claims.market.bid_usd for p in race.players]
    if auction:  # the highest bid plans first, as the auction serves it first (sorted is stable: ties as listed)
        players = sorted(players, key=lambda i: -bids[i])
    bought = {(i, k): np.zeros(axis.size) for i in players for k in options[i]}
    plans: dict[int, Any] = {}
    changes: list[float] = []
    for _ in range(max_rounds):  # a handful of rounds, each a handful of plans (one LP per player)
        change = 0.0
        for i in players:
            caps: dict[str, Array] = {}
            for k, stated in options[i].items():
                others = sum((v for (j, kk), v in bought.items() if kk == k and j != i), np.zeros(axis.size))
                caps |= _caps(np.maximum(left[k] - others, 0.0), stated)
            res = plan(
                loaded.scenarios[i],
                supply=alloc.supply[i],
                market=alloc.market[i],
                option_cap=caps,
                time_limit_s=time_limit_s,
            )
            plans[i] = res
            for k, stated in options[i].items():
                new = _purchases(res, list(stated), axis.size)
                scale = max(float(left[k].max()), 1.0)
                change = max(change, float(np.abs(new - bought[(i, k)]).max()) / scale)
                bought[(i, k)] = new
        changes.append(change)
        if change <= rtol:
            break
    converged = bool(changes) and changes[-1] <= rtol
    prices = {k: _clearing(left[k], bought, k, bids) if auction else np.zeros(axis.size) for k in left}
    standing_paid = [
        sum((np.nan_to_num(p.granted[i] * p.price_usd) for p in alloc.pools if p.rule == "market"), np.zeros(axis.size))
        for i in range(len(race.players))
    ]
    paid = [
        standing_paid[i] + sum((v * prices[k] for (j, k), v in bought.items() if j == i), np.zeros(axis.size))
        for i in range(len(race.players))
    ]
    return {
        "rounds": len(changes),
        "converged": converged,
        "change_by_round": changes,
        "rtol": rtol,
        "order": [race.players[i].name for i in players],
        "month_labels": month_labels(axis),
        "pools_left_by_month": {k: [float(x) for x in v] for k, v in left.items()},
        "clearing_price_usd_by_pool": {k: [float(x) for x in v] for k, v in prices.items()} if auction else {},
        "players": [
            _player(race.players[i].name, plans.get(i), bought, i, options[i])
            | _payments(paid[i], loaded.scenarios[i].targets.discount_rate_per_year, plans.get(i))
            for i in range(len(race.players))
        ],
    }


def _clearing(room: Array, bought: dict[tuple[int, str], Array], key: str, bids: list[float]) -> Array:
    """The uniform price of a pool's room left under the ``market`` rule, a month: the lowest bid among the players
    buying there that month where their purchases take the whole room (within 1e-9 of it), else 0."""
    mine = {j: v for (j, k), v in bought.items() if k == key}
    total = sum(mine.values(), np.zeros_like(room))
    binds = (room > 0) & (total >= room * (1.0 - 1e-9))
    low = np.full(room.shape, np.inf)
    for j, v in mine.items():  # a handful of players
        low = np.where(v > 1e-9, np.minimum(low, bids[j]), low)
    return np.where(binds & np.isfinite(low), low, 0.0)


def _payments(paid: Array, rate: float, res: Any) -> dict[str, Any]:
    """A player's auction payments a month (undiscounted), their total, and its plan's objective with them
    discounted at its own rate (NaN without a plan that solved)."""
    discounted = float((paid * discount_factor(paid.size, rate)).sum())
    solved = res is not None and res.status in ("optimal", "feasible")
    return {
        "auction_paid_usd_total": float(paid.sum()),
        "auction_paid_usd_by_month": [float(x) for x in paid],
        "cost_with_auctions_usd": float(res.objective_usd) + discounted if solved else float("nan"),
    }


def _purchases(res: Any, names: list[str], months: int) -> Array:
    """What a plan buys a month of ``names`` (nothing for a plan that did not solve)."""
    if res.status not in ("optimal", "feasible"):
        return np.zeros(months)
    d = res.series["delivered"]
    return d.sel(accelerator=[n for n in names if n in d["accelerator"].values]).sum("accelerator").values


def _player(name: str, res: Any, bought: dict, i: int, options: dict[str, Any]) -> dict[str, Any]:
    if res is None:
        return {"name": name, "planned": False}
    return {
        "name": name,
        "planned": True,
        "status": res.status,
        "objective_usd": res.objective_usd,
        "unmet": res.unmet,
        "bought_by_pool": {k: [float(x) for x in bought[(i, k)]] for k in options},
    }
