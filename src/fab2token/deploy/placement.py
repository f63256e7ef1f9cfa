"""Placing delivered accelerators into sites within their power limits."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.errors import ModelError

__all__ = [
    "all_in_it_kw",
    "accelerator_all_in_it_kw",
    "deploy",
    "classify_binding",
    "BINDING_SUPPLY",
    "BINDING_POWER",
    "BINDING_CONSTRUCTION",
    "BINDING_LAND",
    "BINDING_COOLING",
]

BINDING_SUPPLY = "supply"
BINDING_POWER = "power"
BINDING_CONSTRUCTION = "construction"
BINDING_LAND = "land"
BINDING_COOLING = "cooling"


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


def deploy(
    delivered: NDArray[np.float64], capacity: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.str_]]:
    """Install delivered accelerators into sites, in site order, up to each site's capacity.

    Parameters
    ----------
    delivered : ndarray, shape (..., month)
        Accelerators delivered each month.
    capacity : ndarray, shape (..., month, site)
        Accelerators each site can power each month.

    Returns
    -------
    installed : ndarray (..., month, site)
        Powered accelerators per site: those housed there, up to what the site can power that month.
    backlog : ndarray (..., month)
        Delivered but not powered (waiting for power, or housed where a hot month cut the power).
    binding : ndarray of str (..., month)
        ``"power"`` where accelerators wait for power, else ``"supply"`` (chips ran out first).

    Notes
    -----
    Accelerators never move once housed. A site's room is the most it has ever been able to power (its capacity's
    running maximum: halls once built stay built); deliveries fill the rooms in site order, as soon as there is room.
    Vectorised, no loop over months: with ``R_k`` the room of the first ``k`` sites and ``A`` the total housed,
    ``min(cumulative delivered, R_all)``, the accelerators housed beyond site ``k`` can only grow, and they grow only
    when the first ``k`` are full, so they are ``max(0, running max of A - R_k)``; site ``k`` holds the difference of
    two such counts. Powered = min(housed, this month's capacity): a hot month idles some housed accelerators
    in place rather than moving them to a cooler site (a property test checks this against a month-by-month loop).
    """
    cum = np.cumsum(delivered, axis=-1)
    room = np.maximum.accumulate(capacity, axis=-2)
    room_first = np.cumsum(room, axis=-1)  # R_k: room of sites 1..k, (..., month, site)
    housed_total = np.minimum(cum, room_first[..., -1])
    beyond = np.maximum(np.maximum.accumulate(housed_total[..., None] - room_first, axis=-2), 0.0)
    held_first = housed_total[..., None] - beyond  # housed in sites 1..k
    housed = np.diff(held_first, axis=-1, prepend=0.0)
    installed = np.minimum(housed, capacity)
    backlog = cum - installed.sum(axis=-1)
    tol = 1e-9 * np.maximum(cum, 1.0)
    binding = np.where(backlog > tol, BINDING_POWER, BINDING_SUPPLY)
    return installed, backlog, binding


def classify_binding(
    supply_or_power: NDArray[np.str_], power: Any, hot: NDArray[np.bool_], scheduled_mw: NDArray[np.float64]
) -> NDArray[np.str_]:
    """Name what holds delivered accelerators back in months where they wait (``"power"`` from :func:`deploy`).

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
