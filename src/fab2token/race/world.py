"""The world's pools shared among the players, resource by resource: wafers, then packaging (for the dies the
wafer grants give), then HBM (for the packages the packaging grants give), then market accelerators.

Each pool is allocated for all its players and months at once (:mod:`.allocate`). Wafers are allocated in the
month they start, so players with different cycle times compete for the same month's starts. A player's request
is what its scenario states (its booked packaging, its HBM supply, its market orders), or, where its scenario
states no limit, what its chain needs: the packaging its granted dies take, the HBM its packages take. Dies or
stacks a player is refused wait in its own inventory; the next month's request does not ask for them again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fab2token import catalog
from fab2token.deploy.fleet import market_orders, whole_units
from fab2token.errors import ModelError
from fab2token.race.allocate import allocate
from fab2token.scenario.distributions import triangular_ppf
from fab2token.scenario.models import Scenario, month_number
from fab2token.scenario.race import Claim, Race, WorldPool
from fab2token.scenario.timeline import month_axis, step_schedule
from fab2token.supply.chain import SupplyInputs, chain, inputs_from_scenario, inputs_from_supply

__all__ = ["PoolResult", "Allocation", "allocate_world", "allocate_with_surplus", "used_starts", "pool_capacity"]

Array = NDArray[np.float64]

UNITS = {
    "wafers": "wafers/month",
    "packaging": "interposer wafers/month",
    "hbm": "GB/month",
    "market": "accelerators/month",
}


@dataclass(frozen=True)
class PoolResult:
    """One pool over the horizon's months (wafers: the months they start)."""

    resource: str
    key: str
    unit: str
    rule: str
    capacity: Array  # (month,) open to the players
    requested: Array  # (player, month)
    granted: Array  # (player, month)
    price_usd: Array  # (month,) clearing price (market rule, where the pool binds), else NaN


@dataclass(frozen=True)
class Allocation:
    """What every player gets: its chain's inputs and its market deliveries, and each pool's result."""

    supply: list[SupplyInputs]
    market: list[dict[str, Array]]
    pools: list[PoolResult]


def pool_capacity(resource: str, pool: WorldPool, axis: NDArray[np.int64]) -> Array:
    """The pool's capacity a month over ``axis`` (month numbers), times the share open to the players."""
    if pool.capacity == "catalog":
        rows = [
            r
            for r in catalog.table_rows("world")
            if r["resource"] == resource and (pool.key is None or r["key"] == pool.key)
        ]
        values = [_level_value(r, pool.level) for r in rows]
        froms = [str(r["from"]) for r in rows]
    else:
        froms = [s.from_ for s in pool.capacity]
        values = [s.per_month for s in pool.capacity]
    order = np.argsort([month_number(f) for f in froms], kind="stable")
    return step_schedule([froms[i] for i in order], [values[i] for i in order], axis) * pool.available_frac


def _level_value(row: dict, level: str | float) -> float:
    """A catalog world row's value at ``level``: its central figure, the low or high end of its range (the central
    one where the range is not published), or a quantile of the triangular distribution (low, central, high)."""
    central = float(row["per_month"])
    low, high = (central if math.isnan(row[k]) else float(row[k]) for k in ("low", "high"))
    if isinstance(level, float):
        return float(triangular_ppf(np.asarray(level), low, central, high))
    return {"central": central, "low": low, "high": high}[level]


def _pool_key(resource: str, pool: WorldPool) -> str:
    if pool.key is not None:
        return pool.key
    rows = [r for r in catalog.table_rows("world") if r["resource"] == resource]
    return str(rows[0]["key"]) if rows and pool.capacity == "catalog" else ""


def _claims(race: Race, resource: str, axis: NDArray[np.int64]) -> tuple[Array, Array, Array]:
    """Contracts (player, month), shares (player,) and bids (player,) of every player on ``resource``."""
    claims: list[Claim] = [getattr(p.claims, resource) for p in race.players]
    contract = np.stack(
        [
            step_schedule([s.from_ for s in c.contract], [s.per_month for s in c.contract], axis)
            if c.contract
            else np.zeros(axis.size)
            for c in claims
        ]
    )
    return contract, np.array([c.share for c in claims]), np.array([c.bid_usd for c in claims])


def _share(
    race: Race,
    resource: str,
    key: str,
    pool: WorldPool,
    axis: NDArray[np.int64],
    request: Array,
    extra: Array | None = None,
    skip: int = 0,
) -> tuple[Array, PoolResult]:
    """Allocate one pool (its capacity plus ``extra``, a surplus offered to it): the (player, month) grants, and
    the pool's result over the horizon's months (``skip`` leading months of a longer axis left out)."""
    contract, share, bid = _claims(race, resource, axis)
    capacity = pool_capacity(resource, pool, axis) + (0.0 if extra is None else extra)
    granted, price = allocate(race.rule(resource), capacity, request.T, contract.T, share, bid)
    result = PoolResult(
        resource=resource,
        key=key,
        unit=UNITS[resource],
        rule=race.rule(resource),
        capacity=capacity[skip:],
        requested=request[:, skip:],
        granted=granted.T[:, skip:],
        price_usd=price[skip:],
    )
    return granted.T, result


def allocate_world(
    race: Race,
    scenarios: list[Scenario],
    surplus: dict[str, tuple[NDArray[np.int64], Array]] | None = None,
    own_starts: dict[int, Array] | None = None,
) -> Allocation:
    """Every pool of the world allocated among the players, in the order wafers, packaging, HBM, market.

    ``surplus``: wafers offered to a node's pool by the sellers' own fabs, (start months, wafers); ``own_starts``:
    a seller's own starts (output months) once it keeps only what it uses (:func:`allocate_with_surplus`); it still
    asks for the packaging its whole own fab's dies need (it sells only what that grant leaves)."""
    axis = month_axis(race.horizon.start, race.horizon.months)
    supply = [inputs_from_scenario(sc, axis) for sc in scenarios]
    whole = {i: supply[i] for i in own_starts or {}}
    for i, starts in (own_starts or {}).items():
        supply[i] = replace(supply[i], wafer_starts=starts)
    pools: list[PoolResult] = []
    supply = _wafers(race, scenarios, axis, supply, pools, surplus or {})
    supply = _packaging(race, axis, supply, pools, whole)
    supply = _hbm(race, scenarios, axis, supply, pools)
    market = _market(race, scenarios, axis, pools)
    return Allocation(supply=supply, market=market, pools=pools)


def _wafers(
    race: Race,
    scenarios: list[Scenario],
    axis: NDArray[np.int64],
    supply: list[SupplyInputs],
    pools: list[PoolResult],
    surplus: dict[str, tuple[NDArray[np.int64], Array]],
) -> list[SupplyInputs]:
    """Wafer pools by node, allocated by start month: a player's request is its fab's starts (its schedule, its
    booked capacity), unless it owns its wafers."""
    out = list(supply)
    months = axis.size
    for pool in race.world.wafers:
        takers = [
            i
            for i, (p, inp) in enumerate(zip(race.players, supply, strict=True))
            if "wafers" not in p.own and _node(scenarios[i]) == pool.key
        ]
        if not takers:
            continue
        cmax = max(supply[i].cycle_months for i in range(len(supply)))
        starts_axis = np.arange(axis[0] - cmax, axis[-1] + 1, dtype=np.int64)  # every start month behind an output
        request = np.zeros((len(supply), starts_axis.size))
        for i in takers:  # the players' own chains, each resolved once over its own output months
            sc = scenarios[i]
            ahead = inputs_from_supply(sc.supply, starts_axis + supply[i].cycle_months, sc.horizon.start, sc.catalog)
            request[i] = ahead.wafer_starts
        extra = _on_axis(surplus.get(str(pool.key)), starts_axis)
        granted, result = _share(race, "wafers", str(pool.key), pool, starts_axis, request, extra, cmax)
        for i in takers:
            lag = cmax - supply[i].cycle_months
            out[i] = replace(out[i], wafer_starts=granted[i, lag : lag + months])
        pools.append(result)
    return out


def _node(sc: Scenario) -> str:
    return str(sc.accelerator_spec().get("process_node") or "")


def _packaging(
    race: Race,
    axis: NDArray[np.int64],
    supply: list[SupplyInputs],
    pools: list[PoolResult],
    whole: dict[int, SupplyInputs] | None = None,
) -> list[SupplyInputs]:
    """The packaging pool: a player's booked interposer wafers, or those its granted dies need (a seller's: those
    of its whole own fab, ``whole``)."""
    pool = race.world.packaging
    if pool is None:
        return supply
    takers = [i for i, p in enumerate(race.players) if "packaging" not in p.own]
    request = np.zeros((len(supply), axis.size))
    for i in takers:
        inp = (whole or {}).get(i, supply[i])
        if inp.packaging_wafers is not None:
            request[i] = inp.packaging_wafers
        else:  # the interposer wafers the month's dies take
            per_wafer = chain(replace(inp, packaging_wafers=np.ones(axis.size), hbm_stacks=None))
            request[i] = per_wafer["units_from_wafers"] / per_wafer["units_from_packaging"]
    granted, result = _share(race, "packaging", _pool_key("packaging", pool), pool, axis, request)
    pools.append(result)
    return _with_grants(supply, takers, "packaging_wafers", granted, request, np.ones(len(supply)))


def _with_grants(
    supply: list[SupplyInputs], takers: list[int], field: str, granted: Array, request: Array, per_unit: Array
) -> list[SupplyInputs]:
    """Each taker's chain with its grant (in the pool's unit, over ``per_unit`` of it a chain unit) as its
    ``field`` where its scenario stated one, or where the pool gave it less than its chain needed; a chain whose
    need was met in full keeps no limit."""
    out = list(supply)
    for i in takers:  # a handful of players
        if getattr(supply[i], field) is not None or np.any(granted[i] < request[i] * (1 - 1e-12)):
            out[i] = replace(supply[i], **{field: granted[i] / per_unit[i]})
    return out


def _gb_per_stack(sc: Scenario) -> float:
    spec = sc.accelerator_spec()
    gb, stacks = spec.get("hbm_gb", math.nan), spec.get("hbm_stacks", math.nan)
    if not (isinstance(gb, float | int) and isinstance(stacks, float | int)) or math.isnan(gb) or math.isnan(stacks):
        raise ModelError(
            f"{spec['name']}: the world's HBM is counted in GB and its hbm_gb or hbm_stacks is not known; set "
            f"catalog.accelerators.{spec['name']}.hbm_gb and hbm_stacks"
        )
    return float(gb) / float(stacks)


def _hbm(
    race: Race, scenarios: list[Scenario], axis: NDArray[np.int64], supply: list[SupplyInputs], pools: list[PoolResult]
) -> list[SupplyInputs]:
    """The HBM pool in GB: a player's stated stacks, or those its packages take, at its stacks' capacity."""
    pool = race.world.hbm
    if pool is None:
        return supply
    takers = [i for i, p in enumerate(race.players) if "hbm" not in p.own]
    request = np.zeros((len(supply), axis.size))
    gb = np.ones(len(supply))
    for i in takers:
        inp = supply[i]
        gb[i] = _gb_per_stack(scenarios[i])
        if inp.hbm_stacks is not None:
            stacks = np.asarray(inp.hbm_stacks, dtype=float)
        else:  # the stacks the month's packages take
            if math.isnan(inp.stacks_per_accelerator):
                raise ModelError(
                    f"{inp.accelerator}: HBM stacks per accelerator are not known; set supply.hbm.stacks_per_accelerator"
                )
            packages = chain(replace(inp, hbm_stacks=None))["packages_assembled"]
            stacks = packages * inp.stacks_per_accelerator / inp.stack_yield_frac
        request[i] = stacks * gb[i]
    granted, result = _share(race, "hbm", _pool_key("hbm", pool), pool, axis, request)
    pools.append(result)
    return _with_grants(supply, takers, "hbm_stacks", granted, request, gb)


def _market(
    race: Race, scenarios: list[Scenario], axis: NDArray[np.int64], pools: list[PoolResult]
) -> list[dict[str, Array]]:
    """Market pools: a player's orders of the pool's types, granted in total and shared back over its types in
    proportion to what it ordered of each."""
    orders = [market_orders(sc, axis) for sc in scenarios]
    out: list[dict[str, Array]] = [{} for _ in scenarios]
    for pool in race.world.market:
        types = set(_pool_types(pool))
        request = np.stack([sum((v for k, v in o.items() if k in types), np.zeros(axis.size)) for o in orders])
        granted, result = _share(race, "market", str(pool.key), pool, axis, request)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(request > 0, granted / np.where(request > 0, request, 1.0), 0.0)
        for i, o in enumerate(orders):
            short = bool(np.any(frac[i] < 1 - 1e-12))  # uncurtailed orders stay exactly as ordered
            out[i].update({k: whole_units(v * frac[i]) if short else v for k, v in o.items() if k in types})
        pools.append(result)
    return out


def _pool_types(pool: WorldPool) -> list[str]:
    """The accelerator types a market pool sells (catalog names)."""
    names = pool.accelerators
    if names is None:
        rows = [r for r in catalog.table_rows("world") if r["resource"] == "market" and r["key"] == pool.key]
        names = [n for r in rows[:1] for n in str(r["accelerators"]).split(";") if n]
    return [catalog.lookup("accelerators", n)["name"] for n in names]


def _on_axis(offer: tuple[NDArray[np.int64], Array] | None, axis: NDArray[np.int64]) -> Array:
    """A surplus offered over its own months, on ``axis`` (zero elsewhere)."""
    out = np.zeros(axis.size)
    if offer is not None:
        months, wafers = offer
        at = months - axis[0]
        keep = (at >= 0) & (at < axis.size)
        np.add.at(out, at[keep], wafers[keep])
    return out


def used_starts(inp: SupplyInputs) -> Array:
    """The wafer starts (output months) whose good dies the chain packages: the packages assembled times the
    compute dies each, over the good dies a wafer gives."""
    out = chain(inp)
    with np.errstate(divide="ignore", invalid="ignore"):
        good_per_wafer = np.where(out["wafers_out"] > 0, out["good_dies"] / out["wafers_out"], 0.0)
        wafers = np.where(good_per_wafer > 0, out["packages_assembled"] * inp.compute_dies / good_per_wafer, 0.0)
    return np.minimum(wafers, np.asarray(inp.wafer_starts, dtype=float))


SURPLUS_ROUNDS = 30  # rounds of selling surplus before "did not converge" is said


def allocate_with_surplus(race: Race, scenarios: list[Scenario]) -> tuple[Allocation, dict[str, Any]]:
    """The world allocated with the sellers' surplus wafers offered, to a fixed point: a first pass as
    :func:`allocate_world`; then, each round, every seller keeps the starts its packaging and HBM grants of the last
    round can use and offers the rest of its own fab's starts to its node's pool (in the months they start), and
    the world is allocated again. The buyers' new wafers compete for the same packaging and HBM, so a seller's
    grants, and with them what it keeps, can change; the rounds stop when no seller's kept starts move (within
    1e-9 relative, 1e-6 wafers), or after :data:`SURPLUS_ROUNDS`, which is said (``converged``: false). Returns the
    allocation and, per seller, its node, the wafers it offered, the rounds and whether they converged."""
    first = allocate_world(race, scenarios)
    sellers = [i for i, p in enumerate(race.players) if p.sell_surplus]
    if not sellers:
        return first, {}
    axis = month_axis(race.horizon.start, race.horizon.months)
    full = {i: np.asarray(first.supply[i].wafer_starts, dtype=float) for i in sellers}
    alloc, keep, converged, rounds = first, None, False, 1  # rounds: the world's allocations, the first included
    for _ in range(SURPLUS_ROUNDS):  # a few rounds; each allocates the whole world at once
        now = {i: used_starts(replace(alloc.supply[i], wafer_starts=full[i])) for i in sellers}
        if keep is not None and all(np.allclose(now[i], keep[i], rtol=1e-9, atol=1e-6) for i in sellers):
            converged = True
            break
        keep = now
        alloc = allocate_world(race, scenarios, _offers(scenarios, axis, first, full, keep), keep)
        rounds += 1
    assert keep is not None
    offered = {
        race.players[i].name: {
            "node": _node(scenarios[i]),
            "wafers_offered": float(np.maximum(full[i] - keep[i], 0.0).sum()),
            "rounds": rounds,
            "converged": converged,
        }
        for i in sellers
    }
    return alloc, offered


def _offers(
    scenarios: list[Scenario],
    axis: NDArray[np.int64],
    first: Allocation,
    full: dict[int, Array],
    keep: dict[int, Array],
) -> dict[str, tuple[NDArray[np.int64], Array]]:
    """What the sellers offer each node's pool: their own starts beyond what they keep, in the months they start."""
    offers: dict[str, tuple[NDArray[np.int64], Array]] = {}
    for i, kept in keep.items():  # a handful of sellers; each vectorised over months
        node = _node(scenarios[i])
        months, wafers = offers.get(node, (np.zeros(0, dtype=np.int64), np.zeros(0)))
        extra = np.maximum(full[i] - kept, 0.0)
        offers[node] = (np.r_[months, axis - first.supply[i].cycle_months], np.r_[wafers, extra])
    return offers
