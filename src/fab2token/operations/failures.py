"""Failures and repairs hour by hour, per site: each accelerator fails at a constant rate; a failure takes its
whole domain (a node, a rack) down for an exponentially distributed repair time, and no failure waits for a repair
crew (an M/M/inf queue: the number of domains in repair is Poisson with mean arrival rate x mean repair time). Drawn
as events for all sites at once: failure counts per hour, then one repair time per failure, then the domains down
in every hour from the cumulative starts and ends."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Failures", "draw_failures"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Failures:
    """Failures drawn over (hour, site)."""

    count: NDArray[np.int64]  # (hour, site) failures starting in the hour
    down_accelerators: Array  # (hour, site) accelerators in failed domains (time-average over the hour)
    start_hour: NDArray[np.int64]  # (event,) hour index of each failure
    repair_hours: Array  # (event,) its repair time
    site: NDArray[np.int64]  # (event,)


def draw_failures(
    installed: Array, rate_per_accelerator_hour: float, domain: int, mean_repair_hours: float, rng: np.random.Generator
) -> Failures:
    """Failures over (hour, site) of ``installed`` accelerators (hour, site); the down count is capped at what is
    installed."""
    hours, sites = installed.shape
    count = rng.poisson(rate_per_accelerator_hour * np.maximum(installed, 0.0))
    flat = count.ravel()
    event = np.repeat(np.arange(flat.size), flat)  # one entry per failure
    start_h, site = event // sites, event % sites
    start = start_h + rng.random(event.size)  # when in its hour it fails
    repair = rng.exponential(mean_repair_hours, event.size)
    end = start + repair
    # domains down in each hour: the time each failed domain spends in the hour, summed (starts and ends at their
    # fractions of an hour), from the cumulative sum of a +1 step at each start and a -1 step at each end
    down = _time_in_hours(start, end, site, hours, sites) * float(domain)
    return Failures(
        count=count,
        down_accelerators=np.minimum(down, installed),
        start_hour=start_h,
        repair_hours=repair,
        site=site,
    )


def _time_in_hours(start: Array, end: Array, site: NDArray[np.int64], hours: int, sites: int) -> Array:
    """Hours of each hour that the intervals ``[start, end)`` cover, summed per site: the integral over the hour of
    the number of open intervals, from the piecewise-linear cumulative 'interval-hours' at whole hours."""
    grid = np.zeros((hours + 2, sites))
    for t, sign in ((start, 1.0), (np.minimum(end, hours), -1.0)):  # the two edges of every interval
        whole = np.floor(t).astype(np.int64)
        frac = t - whole
        # an edge at t adds (h - t) interval-hours by whole hour h > t: a slope change at t, split over the two
        # whole hours around it so the cumulative sums stay exact at whole hours
        np.add.at(grid, (np.minimum(whole + 1, hours + 1), site), sign * (1.0 - frac))
        np.add.at(grid, (np.minimum(whole + 2, hours + 1), site), sign * frac)
    slope = np.cumsum(grid, axis=0)  # open intervals between whole hours, adjusted at the edges
    return slope[1 : hours + 1]
