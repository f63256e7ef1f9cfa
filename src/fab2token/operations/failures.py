"""Failures and repairs hour by hour, per site: each accelerator fails at a constant rate; a failure takes its
whole domain (a node, a rack) down until it is repaired, an exponentially distributed time. Without a crew limit no
failure waits (an M/M/inf queue: the domains in repair are Poisson with mean arrival rate x mean repair time); with
``crews`` per site, failed domains wait in order of failure for the first free crew (M/M/c). Hot spares (``spares``
domains per site) stand in for failed domains while any is left, and the pool refills as repairs finish: the
domains out of service are those in the repair queue beyond the spares (the machine-repair model with spares).

Drawn as events for all sites at once: failure counts per hour, one repair time per failure, the repair queue's
start and finish times (a recursion over each site's k-th failure, vectorised over sites: a queue is sequential by
nature), then the domains out of service in every hour from the queue's length between its events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Failures", "draw_failures", "draw_failures_draws", "repair_queue"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Failures:
    """Failures drawn over (hour, site)."""

    count: NDArray[np.int64]  # (hour, site) failures starting in the hour
    down_accelerators: Array  # (hour, site) accelerators out of service (time-average over the hour)
    start_hour: NDArray[np.int64]  # (event,) hour index of each failure
    arrival: Array  # (event,) its time [h from the horizon's start]
    repair_hours: Array  # (event,) its repair time (the crew's work on it)
    site: NDArray[np.int64]  # (event,)
    wait_hours: Array  # (event,) its wait for a free crew (zeros without a crew limit)
    in_repair_domains: Array  # (hour, site) domains waiting or in repair (time-average over the hour)


def draw_failures(
    installed: Array,
    rate_per_accelerator_hour: float,
    domain: int,
    mean_repair_hours: float,
    rng: np.random.Generator,
    crews: int | None = None,
    spares: int = 0,
) -> Failures:
    """Failures over (hour, site) of ``installed`` accelerators (hour, site), repaired by ``crews`` per site (None:
    no limit), ``spares`` spare domains per site; the down count is capped at what is installed."""
    return draw_failures_draws(installed, rate_per_accelerator_hour, domain, mean_repair_hours, [rng], crews, spares)[0]


def draw_failures_draws(
    installed: Array,
    rate_per_accelerator_hour: float,
    domain: int,
    mean_repair_hours: float,
    rngs: list[np.random.Generator],
    crews: int | None = None,
    spares: int = 0,
) -> list[Failures]:
    """:func:`draw_failures` for several draws of the same fleet, one generator each (each used exactly as
    :func:`draw_failures` uses it, so every draw equals its own call, bit for bit): the events drawn draw by draw
    (whole arrays each), the repair queues of every draw run as one, the draws' sites side by side (queues of
    different sites are independent), so the queue's sequential steps are taken once for all the draws."""
    hours, sites = installed.shape
    events = []
    for rng in rngs:  # a handful of draws; each whole arrays over its events
        count = rng.poisson(rate_per_accelerator_hour * np.maximum(installed, 0.0))
        flat = count.ravel()
        event = np.repeat(np.arange(flat.size), flat)  # one entry per failure, in (hour, site) order
        start_h, site = event // sites, event % sites
        arrival = start_h + rng.random(event.size)  # when in its hour it fails
        events.append((count, start_h, site, arrival, rng.exponential(mean_repair_hours, event.size)))
    begins = [e[3] for e in events]
    if crews is not None:
        sizes = np.cumsum([e[3].size for e in events])[:-1]
        joined = repair_queue(
            np.concatenate(begins),
            np.concatenate([e[4] for e in events]),
            np.concatenate([e[2] + k * sites for k, e in enumerate(events)]),
            sites * len(events),
            crews,
        )
        begins = np.split(joined, sizes)
    return [_failures(installed, domain, spares, e, begin) for e, begin in zip(events, begins, strict=True)]


def _failures(installed: Array, domain: int, spares: int, events: tuple[Array, ...], begin: Array) -> Failures:
    hours, sites = installed.shape
    count, start_h, site, arrival, repair = events
    end = begin + repair
    in_repair = _time_in_hours(arrival, end, site, hours, sites, np.ones(arrival.size))
    out = in_repair if spares == 0 else _beyond_spares(arrival, end, site, hours, sites, spares)
    return Failures(
        count=count,
        down_accelerators=np.minimum(out * float(domain), installed),
        start_hour=start_h,
        arrival=arrival,
        repair_hours=repair,
        site=site,
        wait_hours=begin - arrival,
        in_repair_domains=in_repair,
    )


def repair_queue(arrival: Array, repair: Array, site: NDArray[np.int64], sites: int, crews: int) -> Array:
    """When each failure's repair begins with ``crews`` crews per site taking failures in order of arrival: at its
    arrival or when the first crew frees up, whichever is later (the Kiefer-Wolfowitz recursion of a FIFO c-server
    queue). One step per rank of failure within its site, each step vectorised over the sites."""
    order = np.lexsort((arrival, site))  # by site, then time
    s, a, r = site[order], arrival[order], repair[order]
    first = np.searchsorted(s, np.arange(sites))  # each site's first event in the sorted order
    rank = np.arange(s.size) - first[s]
    begin = np.empty(s.size)
    free = np.zeros((sites, crews))  # when each crew of each site is next free
    by_rank = np.argsort(rank, kind="stable")
    edges = np.searchsorted(rank[by_rank], np.arange(int(rank.max(initial=-1)) + 2))
    for k in range(edges.size - 1):  # the queue is sequential: step k takes every site's k-th failure at once
        idx = by_rank[edges[k] : edges[k + 1]]
        j = s[idx]
        crew = np.argmin(free[j], axis=1)
        b = np.maximum(a[idx], free[j, crew])
        free[j, crew] = b + r[idx]
        begin[idx] = b
    out = np.empty_like(begin)
    out[order] = begin
    return out


def _beyond_spares(arrival: Array, end: Array, site: NDArray[np.int64], hours: int, sites: int, spares: int) -> Array:
    """(hour, site) time-average of max(0, domains in the repair queue - spares): the queue's length is constant
    between consecutive events (a failure, a repair finished) of its site, each such stretch weighted by how far
    the queue then exceeds the spares."""
    t = np.concatenate([arrival, np.minimum(end, hours)])
    step = np.concatenate([np.ones(arrival.size), -np.ones(end.size)])
    where = np.concatenate([site, site])
    order = np.lexsort((-step, t, where))  # by site, time; a failure before a repair at the same instant
    t, step, where = t[order], step[order], where[order]
    length = np.cumsum(step)  # the queue after each event (each site's steps sum to zero)
    same = where[1:] == where[:-1]  # a stretch runs to the site's next event
    weight = np.maximum(length[:-1] - spares, 0.0)
    keep = same & (weight > 0)
    return _time_in_hours(t[:-1][keep], t[1:][keep], where[:-1][keep], hours, sites, weight[keep])


def _time_in_hours(
    start: Array, end: Array, site: NDArray[np.int64], hours: int, sites: int, weight: Array | None = None
) -> Array:
    """Hours of each hour that the intervals ``[start, end)`` cover, times their ``weight`` (default 1), summed per
    site: the integral over the hour of the weighted number of open intervals, from the piecewise-linear
    cumulative 'interval-hours' at whole hours."""
    w = np.ones(start.size) if weight is None else weight
    grid = np.zeros((hours + 2, sites))
    for t, sign in ((start, w), (np.minimum(end, hours), -w)):  # the two edges of every interval
        whole = np.floor(t).astype(np.int64)
        frac = t - whole
        # an edge at t adds (h - t) interval-hours by whole hour h > t: a slope change at t, split over the two
        # whole hours around it so the cumulative sums stay exact at whole hours
        np.add.at(grid, (np.minimum(whole + 1, hours + 1), site), sign * (1.0 - frac))
        np.add.at(grid, (np.minimum(whole + 2, hours + 1), site), sign * frac)
    slope = np.cumsum(grid, axis=0)  # open intervals between whole hours, adjusted at the edges
    return slope[1 : hours + 1]
