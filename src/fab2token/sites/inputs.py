"""The sites stage's inputs layer: every per-site, per-month coefficient the simulation and the planner read, built
once from the validated scenario.

Both consumers take their site physics from :func:`site_inputs` (and nothing else), so a coefficient exists in one
place: power available (grid after the queue, on-site, land cap, energisation), the hourly climate and its PUE
statistics, the IT capacity sized on the month's 99th-percentile PUE, the IT capacity built (at the design PUE,
what capex and fixed opex are paid on), solar, battery and PPA capacities, curtailment events and the hour-of-day
tariff and utilisation profiles. :meth:`SiteInputs.dataset` gives the same arrays with named dimensions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from fab2token.scenario.models import Economics, Scenario, Site
from fab2token.scenario.timeline import hours_in_month, month_labels
from fab2token.sites import energy as energy_mod
from fab2token.sites import power as power_mod

__all__ = ["SiteInputs", "site_inputs", "tariff_by_hour", "utilisation_by_hour"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class SiteInputs:
    """Site coefficients; arrays are (month, site) unless said otherwise."""

    axis: NDArray[np.int64]  # month numbers of the horizon
    names: list[str]
    power: power_mod.SitePower  # grid, on-site and land-limited facility MW, energisation
    climate: energy_mod.HourlyClimate  # hourly temperature and PUE; monthly mean and p99
    pue_design: Array  # (site,)
    it_capacity_mw: Array  # facility MW / the month's p99 PUE: what accelerators may draw
    it_built_mw: Array  # facility MW / design PUE: the IT capacity built and paid for
    grid_scheduled_mw: Array  # grid + on-site schedule ignoring energisation (what construction would unlock)
    energisation_month: NDArray[np.int64]  # (site,)
    solar_mw: Array
    battery_mw: Array
    ppa_mw: Array
    curtailment: power_mod.CurtailmentHours | None  # (cut MW, credit USD/MWh) per hour, kept sparse
    price_usd_per_mwh_by_hour: Array  # (24,) grid tariff by hour of day
    utilisation_by_hour: Array  # (24,) average IT draw / all-in IT power
    hours: Array  # (month,) hours in each month

    @property
    def pue_by_hod(self) -> Array:
        """Mean PUE at each hour of day over the month's days, (month, 24, site)."""
        return self.climate.pue_by_hod()  # computed block by block: the hours are never held at once

    def hourly_energy(
        self,
        sites: Sequence[Site],
        it_load_mw: Array,
        block_months: int | None = None,
        block_sites: int | None = None,
        paused_by_hour: bool = False,
    ) -> energy_mod.HourlyResult:
        """The hourly energy engine on an installed IT load (month, site) with these coefficients: what the
        simulation bills (:func:`fab2token.economics.bills.bills`), in blocks of ``block_months`` x ``block_sites``
        (default :func:`~fab2token.sites.climate.block_slices`); ``paused_by_hour``: with the hourly share of the
        load unserved (what the hourly operations pause)."""
        return energy_mod.hourly_energy(
            sites,
            self.axis,
            it_load_mw,
            self.power.grid_mw,
            self.power.onsite_mw,
            self.utilisation_by_hour,
            solar_mw=self.solar_mw,
            climate=self.climate,
            price_usd_per_mwh_by_hour=self.price_usd_per_mwh_by_hour,
            battery_mw=self.battery_mw,
            ppa_mw=self.ppa_mw,
            curtailment=self.curtailment,
            block_months=block_months,
            block_sites=block_sites,
            paused_by_hour=paused_by_hour,
        )

    def dataset(self) -> xr.Dataset:
        """The coefficients as named arrays over ``site``, ``month`` and ``hod`` (hour of day)."""
        ms = ("month", "site")
        return xr.Dataset(
            {
                "grid_mw": (ms, self.power.grid_mw, {"units": "MW"}),
                "onsite_mw": (ms, self.power.onsite_mw, {"units": "MW"}),
                "facility_mw": (ms, self.power.facility_mw, {"units": "MW"}),
                "energised": (ms, self.power.energised),
                "pue_mean": (ms, self.climate.pue_mean, {"units": "ratio"}),
                "pue_p99": (ms, self.climate.pue_p99, {"units": "ratio"}),
                "it_capacity_mw": (ms, self.it_capacity_mw, {"units": "MW"}),
                "it_built_mw": (ms, self.it_built_mw, {"units": "MW"}),
                "solar_mw": (ms, self.solar_mw, {"units": "MW"}),
                "battery_mw": (ms, self.battery_mw, {"units": "MW"}),
                "ppa_mw": (ms, self.ppa_mw, {"units": "MW"}),
                "pue_design": ("site", self.pue_design, {"units": "ratio"}),
                "price_usd_per_mwh": ("hod", self.price_usd_per_mwh_by_hour, {"units": "USD/MWh"}),
                "utilisation_frac": ("hod", self.utilisation_by_hour, {"units": "fraction"}),
                "hours": ("month", self.hours, {"units": "h"}),
            },
            coords={"month": month_labels(self.axis), "site": self.names, "hod": np.arange(24)},
        )


def utilisation_by_hour(e: Economics) -> Array:
    """IT utilisation for each hour of the day (the flat fraction repeated when no profile is given), (24,)."""
    return np.array(e.it_utilisation_by_hour or [e.it_utilisation_frac] * 24, dtype=float)


def tariff_by_hour(e: Economics) -> Array:
    """Grid energy price [USD/MWh] for each hour of the day, (24,): the peak price in ``peak_hours`` [start, end)
    (which may wrap midnight) when one is given, else the flat price."""
    if e.electricity_peak_usd_per_mwh is None:
        return np.full(24, float(e.electricity_usd_per_mwh))
    start_h, end_h = e.peak_hours
    h = np.arange(24)
    peak = (start_h <= h) & (h < end_h) if start_h <= end_h else (h >= start_h) | (h < end_h)
    return np.where(peak, e.electricity_peak_usd_per_mwh, e.electricity_usd_per_mwh).astype(float)


def site_inputs(sc: Scenario, axis: NDArray[np.int64], climate: energy_mod.HourlyClimate | None = None) -> SiteInputs:
    """Resolve the scenario's sites and economics tariff into coefficients over the horizon ``axis``; ``climate``:
    the sites' hourly climate when already computed (draws whose weather agrees share one,
    :func:`fab2token.sites.draws.shared_climates`)."""
    sites = sc.sites
    power = power_mod.site_power(sites, axis)
    climate = energy_mod.hourly_climate(sites, axis) if climate is None else climate
    pue = np.array([s.pue for s in sites])
    e = sc.economics
    return SiteInputs(
        axis=axis,
        names=[s.name for s in sites],
        power=power,
        climate=climate,
        pue_design=pue,
        # capacity is sized for the hottest hours: facility power / the month's 99th-percentile PUE
        it_capacity_mw=power_mod.usable_it_power_mw(power.facility_mw, climate.pue_p99),
        # capex and fixed opex follow what is built (facility power at the design PUE), not the weather
        it_built_mw=power_mod.usable_it_power_mw(power.facility_mw, pue[None, :]),
        grid_scheduled_mw=power_mod.grid_power_mw_scheduled(sites, axis),
        energisation_month=np.array([power_mod.energisation_month(s) for s in sites], dtype=np.int64),
        solar_mw=power_mod.solar_power_mw(sites, axis),
        battery_mw=power_mod.battery_power_mw(sites, axis),
        ppa_mw=power_mod.ppa_power_mw(sites, axis),
        curtailment=power_mod.curtailment_hours(sites, axis, energy_mod.MAX_HOURS),
        price_usd_per_mwh_by_hour=tariff_by_hour(e),
        utilisation_by_hour=utilisation_by_hour(e),
        hours=hours_in_month(axis),
    )
