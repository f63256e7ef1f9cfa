"""Every cost rule, once: what the simulation bills and what the planner's objective prices.

Terms (the keys of both the run's bills and the plan's ``cost_breakdown_usd``, see :data:`COST_TERMS`):

- ``accelerators``: units delivered x price, booked in the month of delivery;
- ``datacenter_capex``: IT MW added x capex per MW, in the month it is added; a site with construction ``phases``
  pays for its first energised capacity over those phases instead, at their rates;
- ``battery_capex``: a site battery's energy x its price per kWh, in the month it enters service;
- ``optics_capex``: accelerators newly installed at a site x optics per accelerator (when the catalog prices them);
- ``electricity``: grid energy at the hour-of-day tariff, less what PPAs cover at the tariff plus what they cost,
  less demand-response credits (the hourly engine's ``grid_cost_usd``);
- ``onsite_fuel``: on-site generation MWh x ``onsite_usd_per_mwh``;
- ``fixed_opex``: IT MW built x ``facility_opex_usd_per_mw_year`` / 12 each month.

Functions work on numpy arrays (month, site) for the simulation; the planner multiplies its linopy variables by the
coefficients the same functions return (:func:`datacenter_capex_usd_per_mw_by_month`, :func:`optics_usd_per_accelerator`,
:func:`onsite_usd_per_mwh`, :func:`battery_capex_usd`), so a rate exists in one place. :func:`discount_factor` is the
planner's discounting, applied to either side when the two are compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fab2token import catalog
from fab2token.scenario.models import Site, month_number
from fab2token.sites import network
from fab2token.sites.power import onsite_cost_and_carbon

__all__ = [
    "COST_TERMS",
    "battery_capex_usd",
    "datacenter_capex_usd",
    "datacenter_capex_usd_per_mw_by_month",
    "discount_factor",
    "fixed_opex_usd",
    "onsite_usd_per_mwh",
    "optics_usd_per_accelerator",
    "phase_capex_usd",
    "total_usd",
]

Array = NDArray[np.float64]

COST_TERMS = (
    "accelerators",
    "datacenter_capex",
    "battery_capex",
    "optics_capex",
    "electricity",
    "onsite_fuel",
    "fixed_opex",
)


def discount_factor(months: int, rate_per_year: float) -> Array:
    """Discount factor of each month from the horizon start: ``(1 + rate)^-(t / 12)``."""
    return (1.0 + rate_per_year) ** -(np.arange(months) / 12.0)


def phase_capex_usd(sites: Sequence[Site], axis: NDArray[np.int64], first_it_mw: Array) -> Array:
    """Capex [USD] of each site's construction phases, spread evenly over each phase's months, for the IT
    capacity energised first (``first_it_mw``, per site). Shape (month, site); months outside ``axis`` are not
    billed."""
    return _phase_rate(sites, axis) * np.asarray(first_it_mw, dtype=float)[None, :]


def _phase_rate(sites: Sequence[Site], axis: NDArray[np.int64]) -> Array:
    """USD per MW of first energised capacity spent in each month of the horizon, (month, site)."""
    out = np.zeros((axis.size, len(sites)))
    for j, site in enumerate(sites):  # a handful of sites, each a few phases
        start = month_number(site.construction_start)
        for ph in site.phases:
            if ph.months > 0:
                inside = (axis >= start) & (axis < start + ph.months)
                out[inside, j] += ph.capex_usd_per_mw / ph.months
            start += ph.months
    return out


def datacenter_capex_usd(
    sites: Sequence[Site], axis: NDArray[np.int64], it_built_mw: Array, capex_usd_per_mw: float
) -> Array:
    """Datacenter capex [USD], (month, site): IT MW added x ``capex_usd_per_mw`` in the month it is added; at a site
    with construction phases the first energised capacity is paid over the phases at their rates instead."""
    added = np.clip(np.diff(it_built_mw, axis=0, prepend=0.0), 0.0, None)
    capex = added * capex_usd_per_mw
    with_phases = np.array([bool(s.phases) for s in sites])
    if with_phases.any():
        cols = np.arange(len(sites))
        first_idx = np.argmax(it_built_mw > 0, axis=0)
        first_mw = np.where(it_built_mw.max(axis=0) > 0, it_built_mw[first_idx, cols], 0.0) * with_phases
        capex[first_idx, cols] -= first_mw * capex_usd_per_mw
        capex = capex + phase_capex_usd(sites, axis, first_mw)
    return capex


def datacenter_capex_usd_per_mw_by_month(
    sites: Sequence[Site],
    axis: NDArray[np.int64],
    capex_usd_per_mw: float,
    first_month_index: NDArray[np.int64],
    df: Array,
) -> Array:
    """The planner's capex coefficient [USD per IT MW built in that month, in that month's money], (month, site).

    ``capex_usd_per_mw`` everywhere, except at a site with phases in its first buildable month
    (``first_month_index``), where one MW costs what :func:`datacenter_capex_usd` bills for it over the phases,
    discounted back to that month (``df``: :func:`discount_factor`)."""
    coef = np.full((axis.size, len(sites)), float(capex_usd_per_mw))
    rate = _phase_rate(sites, axis)
    for j, site in enumerate(sites):  # a handful of sites
        if site.phases and 0 <= first_month_index[j] < axis.size:
            k = int(first_month_index[j])
            coef[k, j] = float((rate[:, j] * df).sum() / df[k])
    return coef


def battery_capex_usd(sites: Sequence[Site], battery_mw: Array) -> Array:
    """Battery capex [USD], (month, site): its energy x price per kWh, in the month it enters service."""
    usd = np.array([s.battery_mwh * 1000.0 * s.battery_capex_usd_per_kwh for s in sites])
    in_service = battery_mw > 0
    starts = in_service & ~np.vstack([np.zeros((1, len(sites)), dtype=bool), in_service[:-1]])
    return starts * usd[None, :]


def optics_usd_per_accelerator(
    sites: Sequence[Site], optics_catalog: Mapping[str, Mapping[str, Any]] | None
) -> tuple[Array, Array]:
    """Optics per accelerator at each site: (watts, USD), each (site,); USD is 0 until the catalog or the scenario
    prices the transceivers."""
    watts, usd = np.zeros(len(sites)), np.zeros(len(sites))
    table = catalog.load_table("optics", optics_catalog)  # read once for every site
    tiers = np.array([s.fabric_tiers for s in sites], dtype=float)
    kinds = np.array([s.fabric_optics for s in sites])
    for kind in set(kinds.tolist()):  # one or two kinds of optics, each vectorised over its sites
        at = kinds == kind
        o = network.optics_from_table(tiers[at], kind, table)
        watts[at], usd[at] = o["power_w"], np.nan_to_num(o["usd"])
    return watts, usd


def onsite_usd_per_mwh(sites: Sequence[Site]) -> Array:
    """On-site generation's cost per MWh at each site, (site,): :func:`fab2token.sites.power.onsite_cost_and_carbon`."""
    return onsite_cost_and_carbon(sites)[0]


def fixed_opex_usd(it_built_mw: Array, facility_opex_usd_per_mw_year: float) -> Array:
    """Fixed facility opex [USD] each month on the IT capacity built."""
    return it_built_mw * facility_opex_usd_per_mw_year / 12.0


def total_usd(bills: Mapping[str, Array], terms: Sequence[str] = COST_TERMS, df: Array | None = None) -> float:
    """Sum of the given terms over months (and sites), discounted by ``df`` (month,) when given."""
    out = 0.0
    for t in terms:
        v = np.asarray(bills[t], dtype=float)
        v = v.reshape(v.shape[0], -1).sum(axis=1)
        out += float((v * (df if df is not None else 1.0)).sum())
    return out
