"""The fleet's inputs layer: every accelerator type a scenario runs, its all-in power, price, useful life and
monthly deliveries by source (the own supply chain, market orders after their lead time, the installed base).

The scenario's own type (``supply.accelerator``) comes first, then the ``fleet:`` entries in order; an entry for the
own type adds to it (an installed base, market orders, a useful life) rather than listing it twice. When power is
short, waiting accelerators are installed in order of dense BF16 FLOP/s per all-in kW, best first: the most compute
the power buys (the planner's optimum favours them the same way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fab2token import catalog
from fab2token.deploy.placement import accelerator_all_in_it_kw
from fab2token.scenario.fleet import FleetType
from fab2token.scenario.models import Scenario, month_number
from fab2token.scenario.timeline import step_schedule
from fab2token.supply.chain import chain, inputs_from_supply

__all__ = ["FleetInputs", "fleet_inputs", "market_orders", "HOURS_PER_YEAR", "whole_units"]

Array = NDArray[np.float64]

HOURS_PER_YEAR = 365.25 * 24.0  # a Julian year: depreciation per accelerator-hour over a useful life in years


@dataclass(frozen=True)
class FleetInputs:
    """Per accelerator type (``type`` = the order of :attr:`names`)."""

    names: list[str]
    specs: list[dict[str, Any]]
    sources: list[str]  # "supply chain", "market", "installed base", joined with " + "
    kw: Array  # (type,) all-in IT kW per accelerator
    price_usd: Array  # (type,) purchase price (own chain: economics.accelerator_price_usd; market: its price)
    book_usd: Array  # (type,) value depreciated over the useful life (price_usd of the entry, else purchase price)
    life_months: Array  # (type,) from installation to retirement; inf when no useful life is given
    delivered: Array  # (type, month)
    purchases_usd: Array  # (type, month) deliveries x price
    base: Array  # (type, site) installed at the start
    base_retire: Array  # (type, month, site) installed base retiring that month
    placement_order: NDArray[np.int64]  # types by dense BF16 FLOP/s per all-in kW, best first (ties: listed order)
    deploy_cap: Array | None = None  # (type, month, site) the deployment schedules' caps (inf: no schedule); None: none
    own_fab_capex_usd: Array | None = None  # (month,) the fabs of the fleet's own designs (beyond supply:); None: none

    def index(self, name: str) -> int:
        return self.names.index(name)


def whole_units(expected: Array) -> Array:
    """Whole accelerators a month from an expected (fractional) output: the floor of the cumulative output, so
    fractions carry to the next month; months are the last axis (leading ones: draws)."""
    return np.diff(np.floor(np.cumsum(expected, axis=-1) + 1e-9), axis=-1, prepend=0.0)


def _own_design(sc: Scenario, entry: FleetType, axis: NDArray[np.int64]) -> tuple[Array, Array]:
    """(whole accelerators delivered, fab capex) a month from a fleet entry's own supply chain."""
    assert entry.supply is not None
    out = chain(inputs_from_supply(entry.supply, axis, sc.horizon.start, sc.catalog))
    return whole_units(out["accelerators_delivered"]), out.get("fab_capex_usd", np.zeros(axis.size)) * np.ones(
        axis.size
    )


def _entry_for(sc: Scenario, name: str) -> FleetType | None:
    acc = sc.catalog.get("accelerators")
    return next((f for f in sc.fleet if catalog.lookup("accelerators", f.accelerator, acc)["name"] == name), None)


def market_orders(sc: Scenario, axis: NDArray[np.int64]) -> dict[str, Array]:
    """Market deliveries a month (after each entry's lead time) by accelerator name, as the fleet orders them."""
    acc = sc.catalog.get("accelerators")
    out = {}
    for f in sc.fleet:
        if f.market is not None:
            mk = f.market
            name = catalog.lookup("accelerators", f.accelerator, acc)["name"]
            out[name] = step_schedule(
                [o.from_ for o in mk.orders], [o.per_month for o in mk.orders], axis - mk.lead_time_months
            )
    return out


def fleet_inputs(
    sc: Scenario, axis: NDArray[np.int64], own_delivered: Array, market: dict[str, Array] | None = None
) -> FleetInputs:
    """Resolve the fleet over the horizon ``axis``; ``own_delivered`` (month,) is the own supply chain's output;
    ``market`` replaces the market deliveries of the types it names (a race's allocation)."""
    orders_by_type = market_orders(sc, axis) | (market or {})
    acc = sc.catalog.get("accelerators")
    own = sc.accelerator_spec()
    names = [own["name"]] + [
        n for n in (catalog.lookup("accelerators", f.accelerator, acc)["name"] for f in sc.fleet) if n != own["name"]
    ]
    specs = [own] + [catalog.lookup("accelerators", n, acc) for n in names[1:]]
    site_index = {s.name: j for j, s in enumerate(sc.sites)}
    n_types, months, n_sites = len(names), axis.size, len(sc.sites)
    delivered = np.zeros((n_types, months))
    purchases = np.zeros((n_types, months))
    price = np.full(n_types, math.nan)
    book = np.full(n_types, math.nan)
    life = np.full(n_types, np.inf)
    base = np.zeros((n_types, n_sites))
    base_retire = np.zeros((n_types, months, n_sites))
    sources = []
    delivered[0] = own_delivered
    price[0] = sc.economics.accelerator_price_usd
    purchases[0] = own_delivered * price[0]
    own_capex = np.zeros(months)
    for k, name in enumerate(names):  # a handful of types; each vectorised over months
        entry = _entry_for(sc, name)
        src = ["supply chain"] if k == 0 else []
        if k and entry is not None and entry.supply is not None:  # an own design: its chain, at its cost per unit
            units, capex = _own_design(sc, entry, axis)
            delivered[k] += units
            own_capex += capex
            price[k] = entry.price_usd if entry.price_usd is not None else math.nan
            purchases[k] += units * price[k]
            src.append("supply chain")
        if entry is not None and entry.market is not None:
            mk = entry.market
            orders = orders_by_type[name]
            delivered[k] += orders
            purchases[k] += orders * mk.price_usd
            price[k] = mk.price_usd if k else price[k]
            src.append("market")
        if entry is not None and entry.useful_life_years is not None:
            life[k] = round(entry.useful_life_years * 12.0)
        if entry is not None and entry.installed:
            src.append("installed base")
            for b in entry.installed:  # a few cohorts
                j = site_index[b.site]
                base[k, j] += b.count
                end = month_number(b.since) + life[k] - axis[0] if np.isfinite(life[k]) else np.inf
                if 0 <= end < months:
                    base_retire[k, int(end), j] += b.count
                elif end < 0:  # already past its life at the start: retires in the first month
                    base_retire[k, 0, j] += b.count
        book[k] = entry.price_usd if entry is not None and entry.price_usd is not None else price[k]
        sources.append(" + ".join(src) or "none")
    kw = np.array([accelerator_all_in_it_kw(s) for s in specs])
    per_kw = np.array([float(s["dense_bf16_flop_per_s"]) for s in specs]) / kw
    order = np.argsort(-np.nan_to_num(per_kw, nan=-np.inf), kind="stable")  # unknown peak: last
    entries = [_entry_for(sc, name) for name in names]
    cap = None
    if any(e is not None and e.deployment is not None for e in entries):
        cap = np.stack([_deployment_cap(e, site_index, axis) for e in entries])
    return FleetInputs(
        names=names,
        specs=specs,
        sources=sources,
        kw=kw,
        price_usd=price,
        book_usd=book,
        life_months=life,
        delivered=delivered,
        purchases_usd=purchases,
        base=base,
        base_retire=base_retire,
        placement_order=order,
        deploy_cap=cap,
        own_fab_capex_usd=own_capex if any(e is not None and e.supply is not None for e in entries[1:]) else None,
    )


def _deployment_cap(entry: FleetType | None, site_index: dict[str, int], axis: NDArray[np.int64]) -> Array:
    """(month, site) the most of a type its deployment schedule allows in place; inf without a schedule.

    Each site's steps hold from their month on (the last step at or before a month wins; sites without a step take
    none), filled forward over months for all sites at once."""
    months = axis.size
    if entry is None or entry.deployment is None:
        return np.full((months, len(site_index)), np.inf)
    steps = sorted(entry.deployment, key=lambda s: (site_index[s.site], month_number(s.from_)))
    at = np.array([month_number(s.from_) - int(axis[0]) for s in steps], dtype=np.int64)
    site = np.array([site_index[s.site] for s in steps], dtype=np.int64)
    count = np.array([float(s.count) for s in steps])
    keep = at < months  # steps after the horizon never apply; steps before it hold from its first month
    at, site, count = np.clip(at[keep], 0, None), site[keep], count[keep]
    last = np.full((months, len(site_index)), -1, dtype=np.int64)
    order = np.arange(at.size)
    last[at, site] = order  # in (site, month) order: of steps falling on one month the latest wins
    value_at = np.concatenate([[0.0], count])
    filled = np.maximum.accumulate(last, axis=0)  # the latest step at or before each month, per site
    return value_at[filled + 1]
