"""Datacenter sites: usable IT power per site per month."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .scenario import Site, month_number
from .timeline import step_schedule

__all__ = ["energisation_month", "grid_power_mw", "usable_it_power_mw"]


def energisation_month(site: Site) -> int:
    """Month number at which the site is built and may draw power."""
    return month_number(site.construction_start) + site.construction_months


def grid_power_mw(sites: Sequence[Site], axis: NDArray[np.int64]) -> NDArray[np.float64]:
    """Grid power [MW] available to each site in each month, zero before energisation. Shape (month, site)."""
    out = np.empty((axis.size, len(sites)))
    for j, site in enumerate(sites):  # one schedule per site: a handful, not a hot loop
        sched = step_schedule([s.from_ for s in site.grid_power], [s.mw for s in site.grid_power], axis)
        out[:, j] = np.where(axis >= energisation_month(site), sched, 0.0)
    return out


def usable_it_power_mw(grid_mw: NDArray[np.float64], pue: NDArray[np.float64]) -> NDArray[np.float64]:
    """IT (critical) power [MW] a site can feed: grid power divided by PUE."""
    return grid_mw / pue
