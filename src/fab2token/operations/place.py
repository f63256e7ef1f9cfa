"""Where a training run holds its cluster hour by hour: one site, or a campus of sites joined by a fabric
(``campuses:`` in the scenario). A campus hosts what the sites stage's network rule allows
(:func:`fab2token.sites.network.campus_max_cluster`: one site whole and the others within one link's worth, or
every site within its link), counted on what is free at each member in each hour, so a failure or an outage at
one member shrinks the campus's cluster and pauses the run only when it no longer fits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fab2token.scenario.models import Scenario
from fab2token.sites.network import PORT_GBPS, campus_max_cluster

__all__ = ["Place", "places", "choose_place"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Place:
    """A site (``link`` infinite) or a campus: its member sites' indices and each member's link to the campus core
    in accelerators' worth of scale-out ports (``inter_site_gbps / 400``)."""

    name: str
    members: NDArray[np.int64]
    link: float = np.inf

    @property
    def is_campus(self) -> bool:
        return self.members.size > 1

    def capacity(self, free: Array) -> Array:
        """The largest cluster the place holds in each hour, from what is free at every site (hour, site)."""
        part = free[:, self.members]
        return campus_max_cluster(part, self.link * PORT_GBPS) if self.is_campus else part[:, 0]

    def split(self, free: Array, n: float) -> Array:
        """(hour, site) accelerators of a cluster of ``n`` at this place, where it fits: the member with most free
        holds all it can and the others the rest within their links (the rule's first form), or, where that does
        not fit, every member its share of ``n`` within its link (the second)."""
        out = np.zeros_like(free)
        part = free[:, self.members]
        if not self.is_campus:
            out[:, self.members[0]] = n
            return out
        rows = np.arange(part.shape[0])
        home = np.argmax(part, axis=1)
        own = np.minimum(part[rows, home], n)
        others = np.minimum(part, self.link)
        others[rows, home] = 0.0
        rest = n - own
        spread_others = others.sum(axis=1)
        one_home = np.zeros_like(part)
        one_home[rows, home] = own
        one_home += (
            others * np.where(spread_others > 0, rest / np.where(spread_others > 0, spread_others, 1.0), 0.0)[:, None]
        )
        within = np.minimum(part, self.link)
        spread = within * (n / np.maximum(within.sum(axis=1), 1e-12))[:, None]
        fits_one_home = own + np.minimum(spread_others, rest) >= n - 1e-9
        out[:, self.members] = np.where(fits_one_home[:, None], one_home, spread)
        return out


def places(sc: Scenario) -> list[Place]:
    """Every site alone, then every campus."""
    index = {s.name: j for j, s in enumerate(sc.sites)}
    out = [Place(s.name, np.array([j])) for j, s in enumerate(sc.sites)]
    out += [Place(c.name, np.array([index[n] for n in c.sites]), c.inter_site_gbps / PORT_GBPS) for c in sc.campuses]
    return out


def choose_place(options: list[Place], installed_site: Array, first: int, n: float) -> Place:
    """The place a run of ``n`` trains at: the site with the most installed when it may start if one holds it
    there (as before campuses), else the campus that holds the most then, if one holds it; else the place that
    holds the most at any time."""
    at = installed_site[min(first, installed_site.shape[0] - 1)][None, :]
    sites = [p for p in options if not p.is_campus]
    best = max(sites, key=lambda p: float(p.capacity(at)[0]))
    if float(best.capacity(at)[0]) >= n:
        return best
    campuses = [p for p in options if p.is_campus and float(p.capacity(at)[0]) >= n]
    if campuses:
        return max(campuses, key=lambda p: float(p.capacity(at)[0]))
    return max(options, key=lambda p: float(p.capacity(installed_site).max()))
