"""Datacenter sites: power available (grid after the interconnection queue, plus on-site generation), land,
energisation, network cluster size, and what limits each site month by month.

Per site and month (vectorised over months; one schedule per site is read in a short loop over sites):

    facility MW  = (grid(t - queue) + on-site(t)) x usable share, from energisation on, capped by land (acres x MW
                   per acre); the usable share is the continuous-load rating of the electrical gear
    IT MW        = facility MW / PUE
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.scenario.models import Site, month_number
from fab2token.scenario.timeline import step_schedule

__all__ = [
    "energisation_month",
    "grid_power_mw",
    "grid_power_mw_scheduled",
    "onsite_power_mw",
    "land_limit_mw",
    "SitePower",
    "site_power",
    "onsite_cost_and_carbon",
    "usable_it_power_mw",
    "usable_power_frac",
    "fat_tree_endpoints",
    "solar_power_mw",
    "battery_power_mw",
    "ppa_power_mw",
    "curtailment_hours",
    "CurtailmentHours",
]

Array = NDArray[np.float64]


def energisation_month(site: Site) -> int:
    """Month number at which the site is built and may draw power."""
    return month_number(site.construction_start) + site.construction_months


def _schedule(steps: Sequence[object], axis: NDArray[np.int64], shift: int = 0) -> Array:
    if not steps:
        return np.zeros(axis.size)
    return step_schedule([s.from_ for s in steps], [s.mw for s in steps], axis - shift)  # type: ignore[attr-defined]


def grid_power_mw(sites: Sequence[Site], axis: NDArray[np.int64]) -> Array:
    """Grid power [MW] each site may draw each month: the schedule delayed by the interconnection queue, zero
    before energisation. Shape (month, site)."""
    out = np.empty((axis.size, len(sites)))
    for j, site in enumerate(sites):  # one schedule per site: a handful, not a hot loop
        sched = _schedule(site.grid_power, axis, site.interconnection_queue_months)
        out[:, j] = np.where(axis >= energisation_month(site), sched, 0.0)
    return out


def grid_power_mw_scheduled(sites: Sequence[Site], axis: NDArray[np.int64]) -> Array:
    """Grid power [MW] scheduled for each site ignoring energisation (what construction would unlock)."""
    out = np.empty((axis.size, len(sites)))
    for j, site in enumerate(sites):
        out[:, j] = _schedule(site.grid_power, axis, site.interconnection_queue_months) + _schedule(
            site.onsite_power, axis
        )
    return out


def onsite_power_mw(sites: Sequence[Site], axis: NDArray[np.int64]) -> Array:
    """On-site generation capacity [MW] per site and month (zero before energisation). Shape (month, site)."""
    out = np.empty((axis.size, len(sites)))
    for j, site in enumerate(sites):
        out[:, j] = np.where(axis >= energisation_month(site), _schedule(site.onsite_power, axis), 0.0)
    return out


def land_limit_mw(sites: Sequence[Site]) -> Array:
    """Facility MW each site's land can hold (acres x MW per acre); inf where ``mw_per_acre`` is not given."""
    return np.array([s.land_acres * s.mw_per_acre if s.mw_per_acre is not None else np.inf for s in sites])


class SitePower:
    """Power available per site and month and what limits it (arrays of shape (month, site))."""

    def __init__(
        self,
        grid_mw: Array,
        onsite_mw: Array,
        land_mw: Array,
        energised: NDArray[np.bool_],
        pue: Array,
        block_mw: Array | None = None,
        usable_frac: Array | None = None,
    ):
        self.grid_mw = grid_mw
        self.onsite_mw = onsite_mw
        # the facility load may use this share of the power connected (continuous-load rating of the gear)
        supply = (grid_mw + onsite_mw) * (1.0 if usable_frac is None else np.asarray(usable_frac)[None, :])
        facility = np.minimum(supply, land_mw[None, :])
        if block_mw is not None:  # halls come in whole blocks of facility MW
            blocks = np.where(np.isnan(block_mw), 1.0, block_mw)[None, :]
            facility = np.where(np.isnan(block_mw)[None, :], facility, np.floor(facility / blocks + 1e-9) * blocks)
        self.facility_mw = facility
        self.land_bound = (supply > land_mw[None, :]) & energised
        self.energised = energised
        self.it_mw = self.facility_mw / pue[None, :]


def site_power(sites: Sequence[Site], axis: NDArray[np.int64]) -> SitePower:
    """Grid, on-site and land-limited power of every site over the horizon (halls in blocks where given)."""
    energ = np.array([energisation_month(s) for s in sites])
    block = np.array([s.hall_block_mw if s.hall_block_mw is not None else np.nan for s in sites])
    return SitePower(
        grid_power_mw(sites, axis),
        onsite_power_mw(sites, axis),
        land_limit_mw(sites),
        axis[:, None] >= energ[None, :],
        np.array([s.pue for s in sites]),
        block,
        usable_power_frac(sites),
    )


def usable_power_frac(sites: Sequence[Site]) -> Array:
    """Share of each site's grid and on-site power its facility load may use, (site,): the site's
    ``usable_power_frac``, else the catalog default (``catalog/overheads.csv``: the continuous-load rule)."""
    default = catalog.overhead("usable_power_frac")
    return np.array([s.usable_power_frac if s.usable_power_frac is not None else default for s in sites], dtype=float)


def solar_power_mw(sites: Sequence[Site], axis: NDArray[np.int64]) -> Array:
    """Solar nameplate [MW] per site and month (zero before energisation). Shape (month, site)."""
    out = np.empty((axis.size, len(sites)))
    for j, site in enumerate(sites):
        out[:, j] = np.where(axis >= energisation_month(site), _schedule(site.solar_mw, axis), 0.0)
    return out


def _from_energisation(sites: Sequence[Site], axis: NDArray[np.int64], field: str) -> Array:
    energised = axis[:, None] >= np.array([energisation_month(s) for s in sites])[None, :]
    return np.where(energised, np.array([getattr(s, field) for s in sites], dtype=float)[None, :], 0.0)


def battery_power_mw(sites: Sequence[Site], axis: NDArray[np.int64]) -> Array:
    """Battery power [MW] per site and month: in service from energisation. Shape (month, site)."""
    return _from_energisation(sites, axis, "battery_mw")


@dataclass(frozen=True)
class CurtailmentHours:
    """Grid import cut [MW] and demand-response credit [USD/MWh] of the hours with a curtailment event, kept sparse:
    ``index`` holds the flat (month, hour, site) positions in a horizon of ``shape``, ``cut_mw`` and
    ``credit_usd_per_mwh`` their values. :meth:`block` gives the dense hours of a block of months."""

    shape: tuple[int, int, int]
    index: NDArray[np.int64]
    cut_mw: Array
    credit_usd_per_mwh: Array

    def block(self, months: slice = slice(None), sites: slice = slice(None)) -> tuple[Array, Array]:
        """(cut MW, credit USD/MWh), each (month, hour, site), for a block of months and sites (all by default)."""
        n_months, hours, n_sites = self.shape
        a, b, _ = months.indices(n_months)
        j, k, _ = sites.indices(n_sites)
        cut = np.zeros((max(b - a, 0), hours, max(k - j, 0)))
        credit = np.zeros_like(cut)
        lo, hi = np.searchsorted(self.index, [a * hours * n_sites, b * hours * n_sites])  # ``index`` is sorted
        month_hour, site = np.divmod(self.index[lo:hi] - a * hours * n_sites, n_sites)
        keep = (site >= j) & (site < k)
        at = month_hour[keep] * cut.shape[2] + (site[keep] - j)
        cut.reshape(-1)[at] = self.cut_mw[lo:hi][keep]
        credit.reshape(-1)[at] = self.credit_usd_per_mwh[lo:hi][keep]
        return cut, credit

    def __getitem__(self, item: int) -> Array:
        """``[0]`` the whole horizon's cut MW, ``[1]`` its credits, as the (cut, credit) pair this replaces."""
        return self.block()[item]


def curtailment_hours(sites: Sequence[Site], axis: NDArray[np.int64], max_hours: int) -> CurtailmentHours | None:
    """Grid import cut [MW] and demand-response credit [USD/MWh] per hour, over (month, ``max_hours``, site), from
    the sites' curtailment events (overlapping cuts add; the later-listed event's credit applies). None when no
    site has an event. Events outside the horizon are dropped. One vectorised pass per event, none per hour; only
    the hours with an event are kept (:class:`CurtailmentHours`)."""
    if not any(s.curtailments for s in sites):
        return None
    shape = (axis.size, max_hours, len(sites))
    flat, mw, credit = [], [], []
    for j, site in enumerate(sites):
        for ev in site.curtailments:
            t = np.datetime64(ev.start, "h") + np.arange(ev.hours)
            month = t.astype("datetime64[M]")
            mnum = month.astype(np.int64) + 1970 * 12  # months since year 0, as month_number()
            hour = (t - month.astype("datetime64[h]")).astype(np.int64)
            idx = mnum - axis[0]
            keep = (idx >= 0) & (idx < axis.size)
            flat.append(np.ravel_multi_index((idx[keep], hour[keep], np.full(int(keep.sum()), j)), shape))
            mw.append(np.full(flat[-1].size, float(ev.mw)))
            credit.append(np.full(flat[-1].size, float(ev.credit_usd_per_mwh)))
    pos = np.concatenate(flat)
    index, inverse = np.unique(pos, return_inverse=True)
    cut = np.zeros(index.size)
    np.add.at(cut, inverse, np.concatenate(mw))  # in event order, as overlapping cuts add
    _, last = np.unique(pos[::-1], return_index=True)  # each hour's last-listed event
    return CurtailmentHours(shape, index, cut, np.concatenate(credit)[::-1][last])


def ppa_power_mw(sites: Sequence[Site], axis: NDArray[np.int64]) -> Array:
    """Firm PPA power [MW] per site and month: in force from energisation. Shape (month, site)."""
    return _from_energisation(sites, axis, "ppa_mw")


def onsite_cost_and_carbon(sites: Sequence[Site]) -> tuple[Array, Array]:
    """On-site generation's cost [USD/MWh] and emissions [kg CO2/MWh] per site, each (site,).

    With a heat rate (``onsite_heat_rate_mmbtu_per_mwh``), energy costs heat rate x ``onsite_fuel_usd_per_mmbtu``
    (when given) and emits heat rate x ``onsite_fuel_kgco2_per_mmbtu`` (natural gas by default,
    ``catalog/overheads.csv``) unless ``onsite_kgco2_per_mwh`` is given; otherwise the site's own figures."""
    usd, kg = np.zeros(len(sites)), np.zeros(len(sites))
    for j, s in enumerate(sites):  # per site (a handful)
        hr = s.onsite_heat_rate_mmbtu_per_mwh
        usd[j] = (
            hr * s.onsite_fuel_usd_per_mmbtu
            if hr is not None and s.onsite_fuel_usd_per_mmbtu is not None
            else s.onsite_usd_per_mwh
        )
        if hr is not None and "onsite_kgco2_per_mwh" not in s.model_fields_set:
            factor = s.onsite_fuel_kgco2_per_mmbtu
            kg[j] = hr * (factor if factor is not None else catalog.overhead("natural_gas_kgco2_per_mmbtu"))
        else:
            kg[j] = s.onsite_kgco2_per_mwh
    return usd, kg


def usable_it_power_mw(facility_mw: Array, pue: Array) -> Array:
    """IT (critical) power [MW] a site can feed: facility power divided by PUE."""
    return facility_mw / pue


def fat_tree_endpoints(radix: ArrayLike, tiers: ArrayLike) -> Array:
    """Hosts a non-blocking folded-Clos (fat-tree) of switches with ``radix`` ports can connect: ``k (k/2)^(t-1)``
    (k^2/2 for two tiers, k^3/4 for three; Al-Fares, Loukissas and Vahdat, SIGCOMM 2008)."""
    k = np.asarray(radix, dtype=float)
    t = np.asarray(tiers, dtype=float)
    return k * (k / 2.0) ** (t - 1.0)
