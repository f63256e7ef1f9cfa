"""Placing delivered accelerators into sites within their power limits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.errors import ModelError

__all__ = [
    "all_in_it_kw",
    "accelerator_all_in_it_kw",
    "place_fleet",
    "place_fleets",
    "Placement",
    "classify_binding",
    "BINDING_SUPPLY",
    "BINDING_POWER",
    "BINDING_CONSTRUCTION",
    "BINDING_LAND",
    "BINDING_COOLING",
    "BINDING_SCHEDULE",
]

BINDING_SUPPLY = "supply"
BINDING_POWER = "power"
BINDING_CONSTRUCTION = "construction"
BINDING_LAND = "land"
BINDING_COOLING = "cooling"
BINDING_SCHEDULE = "deployment schedule"  # delivered, a site has room, the scenario's deployment schedule says no


def all_in_it_kw(
    board_power_w: ArrayLike,
    server_power_w_per_accelerator: ArrayLike = math.nan,
    server_overhead_factor: ArrayLike | None = None,
    network_storage_overhead_frac: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """All-in IT power per accelerator [kW]: its server's share plus scale-out network and storage.

    The server share is the published server power per accelerator where known (e.g. DGX H100: 10.2 kW / 8),
    else board power x ``server_overhead_factor``. Network and storage add ``network_storage_overhead_frac``.
    Cooling and power-conversion losses are not included: they come from the site's PUE.
    Defaults come from ``catalog/overheads.csv`` with their sources.
    """
    factor = catalog.overhead("server_overhead_factor") if server_overhead_factor is None else server_overhead_factor
    frac = (
        catalog.overhead("network_storage_overhead_frac")
        if network_storage_overhead_frac is None
        else network_storage_overhead_frac
    )
    board = np.asarray(board_power_w, dtype=float)
    server = np.asarray(server_power_w_per_accelerator, dtype=float)
    per_server = np.where(np.isnan(server), board * np.asarray(factor, dtype=float), server)
    return per_server * (1.0 + np.asarray(frac, dtype=float)) / 1000.0


def accelerator_all_in_it_kw(spec: dict[str, Any]) -> float:
    """:func:`all_in_it_kw` for one catalog row; a clear error when its power is not known."""
    if math.isnan(spec["board_power_w"]) and math.isnan(spec["server_power_w_per_accelerator"]):
        raise ModelError(
            f"accelerator {spec['name']}: board_power_w is not published in the catalog; "
            f"supply it under catalog.accelerators.{spec['name']}.board_power_w in the scenario"
        )
    return float(all_in_it_kw(spec["board_power_w"], spec["server_power_w_per_accelerator"]))


def classify_binding(
    supply_or_power: NDArray[np.str_], power: Any, hot: NDArray[np.bool_], scheduled_mw: NDArray[np.float64]
) -> NDArray[np.str_]:
    """Name what holds delivered accelerators back in months where they wait (``"power"``).

    In that order: ``construction`` (a site with power scheduled for that month is not yet energised), ``land``
    (an energised site has more power than its land holds), ``cooling`` (heat raises a site's 99th-percentile PUE
    above its design PUE, cutting IT capacity), else ``power``. Months where chips ran out stay ``supply``.
    """
    waiting = supply_or_power == BINDING_POWER
    building = ((~power.energised) & (scheduled_mw > 0)).any(axis=-1)
    land = power.land_bound.any(axis=-1)
    cooling = (hot & power.energised).any(axis=-1)
    label = np.where(
        building, BINDING_CONSTRUCTION, np.where(land, BINDING_LAND, np.where(cooling, BINDING_COOLING, BINDING_POWER))
    )
    return np.where(waiting, label, BINDING_SUPPLY)


@dataclass(frozen=True)
class Placement:
    """Where a fleet of several accelerator types sits, month by month (see :func:`place_fleet`)."""

    housed: NDArray[np.float64]  # (type, month, site) in place at the month's end
    powered: NDArray[np.float64]  # (type, month, site) housed and powered that month
    placed: NDArray[np.float64]  # (type, month, site) newly installed that month
    retired: NDArray[np.float64]  # (type, month) reaching the end of their useful life (leave their site)
    waiting: NDArray[np.float64]  # (type, month) delivered, not yet housed (no site had spare power)


def place_fleet(
    delivered: NDArray[np.float64],
    capacity_kw: NDArray[np.float64],
    kw: NDArray[np.float64],
    life_months: NDArray[np.float64] | None = None,
    base: NDArray[np.float64] | None = None,
    base_retire: NDArray[np.float64] | None = None,
    order: NDArray[np.int64] | None = None,
    cap: NDArray[np.float64] | None = None,
) -> Placement:
    """Place deliveries of several accelerator types into sites by the fleet policy below.

    Parameters
    ----------
    delivered : (type, month) accelerators delivered each month.
    capacity_kw : (month, site) all-in IT kW each site can power that month.
    kw : (type,) all-in IT kW per accelerator of each type.
    life_months : (type,) months from installation to retirement; ``inf`` (default) never.
    base : (type, site) the installed base at the start; ``base_retire`` (type, month, site) when it retires.
    order : the types in the order they take spare power (default: as given).
    cap : (type, month, site) a deployment schedule: the most of each type in place at each site (``inf``: no limit).

    Returns
    -------
    Placement
        What each site houses, powers and newly installs, what retires and what waits, month by month.

    Notes
    -----
    The policy: accelerators never move once installed. Each month, first those reaching their useful life
    leave their site; then the waiting accelerators (types in ``order``, each type's oldest first) go into the sites in
    site order, each site taking whole accelerators up to its spare power *that month* (capacity less what it
    already houses): a site derated by a hot month or full takes none, and the next site with power to spare does.
    In a month where a site houses more than it can power, every type there is idled in the same proportion.
    A deployment schedule (``cap``) overrides "never move": a site holding more of a type than its schedule allows
    that month returns the excess to the waiting stock (installed elsewhere if another site's schedule has room), and
    a site takes new accelerators of a type only up to its schedule.

    This is :func:`place_fleets` on a batch of one draw.
    """

    def one(x: Any) -> Any:
        return None if x is None else np.asarray(x)[None]

    n_types = delivered.shape[0]
    kw = np.asarray(kw, dtype=float)
    life = np.full(n_types, np.inf) if life_months is None else np.asarray(life_months, dtype=float)
    if base is None:
        base = np.zeros((n_types, capacity_kw.shape[1]))
    pl = place_fleets(
        delivered[None], capacity_kw[None], kw[None], life[None], one(base), one(base_retire), one(order), one(cap)
    )
    return Placement(*(x[0] for x in (pl.housed, pl.powered, pl.placed, pl.retired, pl.waiting)))


def place_fleets(
    delivered: NDArray[np.float64],
    capacity_kw: NDArray[np.float64],
    kw: NDArray[np.float64],
    life_months: NDArray[np.float64],
    base: NDArray[np.float64],
    base_retire: NDArray[np.float64] | None = None,
    order: NDArray[np.int64] | None = None,
    cap: NDArray[np.float64] | None = None,
) -> Placement:
    """:func:`place_fleet` on a batch of draws at once, every array with a leading ``draw`` dimension.

    Parameters
    ----------
    delivered : (draw, type, month) accelerators delivered each month.
    capacity_kw : (draw, month, site) all-in IT kW each site can power.
    kw, life_months : (draw, type) all-in IT kW per accelerator; months from installation to retirement (``inf``).
    base : (draw, type, site) the installed base at the start; ``base_retire`` (draw, type, month, site) its
        retirements.
    order : (draw, type) the types in the order they take spare power (default: as given).
    cap : (draw, type, month, site) a deployment schedule's caps.

    Returns
    -------
    Placement
        Its arrays with the leading ``draw`` dimension.

    Notes
    -----
    The state (what each site houses) carries from month to month and retirements free room for later
    deliveries, so this is a recursion over months, each month a few whole-array operations over draws and sites
    (and a short loop over the handful of types, which take the spare power in turn): no loop over draws. With one
    type, no retirement and capacities that never fall it is the earlier closed form (running maxima of housed
    totals over the sites' rooms); property tests check it against a month-by-month loop written as the policy reads.
    """
    n_draws, n_types, months = delivered.shape
    kw = np.asarray(kw, dtype=float)
    life = np.asarray(life_months, dtype=float)
    occ = np.asarray(base, dtype=float).copy()  # (draw, type, site)
    housed = np.zeros((n_draws, n_types, months, occ.shape[2]))
    placed = np.zeros_like(housed)
    retired = np.zeros((n_draws, n_types, months))
    waiting = np.zeros((n_draws, n_types, months))
    queue = np.zeros((n_draws, n_types))
    draws, types = np.arange(n_draws)[:, None], np.arange(n_types)[None, :]
    order = np.broadcast_to(types, (n_draws, n_types)) if order is None else np.asarray(order)
    finite = np.isfinite(life)
    age_index = np.where(finite, life, 0).astype(np.int64)
    for t in range(months):  # the state recursion (see Notes); each step is whole-array work
        cohort = t - age_index
        due = placed[draws, types, np.clip(cohort, 0, None), :]  # (draw, type, site)
        due = np.where((finite & (cohort >= 0))[..., None], due, 0.0)
        if base_retire is not None:
            due = due + base_retire[:, :, t, :]
        due = np.minimum(due, occ)
        occ -= due
        retired[:, :, t] = due.sum(axis=2)
        queue += delivered[:, :, t]
        if cap is not None:  # the schedule's excess leaves its site for the waiting stock
            over = np.maximum(occ - cap[:, :, t, :], 0.0)
            occ -= over
            queue += over.sum(axis=2)
        spare = np.maximum(capacity_kw[:, t] - np.einsum("dt,dts->ds", kw, occ), 0.0)  # (draw, site) kW
        new = _fill(spare, queue, kw, occ, order, None if cap is None else cap[:, :, t])
        placed[:, :, t, :] = new
        occ += new
        queue -= new.sum(axis=2)
        housed[:, :, t, :] = occ
        waiting[:, :, t] = queue
    load = np.einsum("dt,dtms->dms", kw, housed)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(load > capacity_kw * (1 + 1e-12), capacity_kw / load, 1.0)
    powered = np.floor(housed * share[:, None, :, :] + 1e-9)
    return Placement(housed=housed, powered=powered, placed=placed, retired=retired, waiting=waiting)


def _fill(
    spare: NDArray[np.float64],
    queue: NDArray[np.float64],
    kw: NDArray[np.float64],
    occ: NDArray[np.float64],
    order: NDArray[np.int64],
    cap: NDArray[np.float64] | None,
) -> NDArray[np.float64]:
    """(draw, type, site) whole accelerators placed this month: each type in ``order`` (draw, type) takes the sites'
    spare kW (draw, site) in site order, up to its waiting stock and its deployment schedule (``cap``, (draw, type,
    site))."""
    new = np.zeros_like(occ)
    draws = np.arange(occ.shape[0])
    for j in range(order.shape[1]):  # a handful of types, each whole-array over draws and sites
        k = order[:, j]
        kw_k = kw[draws, k][:, None]
        room = np.floor(spare / kw_k + 1e-9)
        if cap is not None:
            room = np.minimum(room, np.floor(cap[draws, k] - occ[draws, k] + 1e-9))
        filled = np.minimum(np.cumsum(room, axis=1), np.floor(queue[draws, k] + 1e-9)[:, None])  # first sites first
        new[draws, k] = np.diff(filled, axis=1, prepend=0.0)
        spare = np.maximum(spare - new[draws, k] * kw_k, 0.0)
    return new
