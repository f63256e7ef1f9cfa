"""The hourly merit order's monthly sums in closed form, for many draws over the same hours: load duration curves.

Where a site has no solar, battery, PPA or curtailment hours and its on-site generation is never cheaper than the
tariff, :func:`fab2token.sites.energy.hourly_energy`'s merit order each hour is grid up to its connection ``G``, then
on-site generation up to ``O``, then unserved, on a facility load ``L x(h)``: the month's flat IT load ``L`` times
the hour's shape ``x(h)`` = utilisation x PUE, which depends on the weather and the utilisation profile only. Every
monthly sum is then ``L`` times a function of one threshold ``c``:

    sum_h min(L x(h), G) = L S(G / L),    S(c) = sum_h min(x(h), c) = sum of the x(h) below c + c x (how many are not)

and the same with the tariff as a weight for the grid cost. With each month's and site's hours sorted once
(:class:`DurationCurves`, the load duration curve of classic capacity planning) and their prefix sums kept, ``S``
at any threshold is one binary search: a draw's month at a site costs O(log 744) instead of 744 hours of the merit
order. A sweep's draws usually share their weather (:func:`fab2token.sites.draws.shared_climates`), so the curves
are built once per distinct weather and every draw's loads, grid and on-site capacities are evaluated on them at
once. The results are those of the hourly engine to rounding (the sums are taken in another order: tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fab2token.sites.climate import MAX_HOURS, HourlyClimate

__all__ = ["MAX_SITE_MONTHS", "DurationCurves", "monthly_sums"]

Array = NDArray[np.float64]

# the largest horizon (months x sites) summed by duration curves (50 sites x 10 years): the curves kept, two arrays of
# 744 hours per site-month with one tariff all day (four with time-of-use prices), then hold 71 MB (143 MB), about
# twice that while they are built; larger horizons run the hourly engine's blocks, bounded in memory at any size
MAX_SITE_MONTHS = 6_000


@dataclass(frozen=True)
class DurationCurves:
    """Each (month, site)'s hour shapes x(h) = utilisation(h) x PUE(h) sorted ascending (the padding hours past a
    month's end as zeros, which no threshold sum counts), as one flat ascending key ``x + row x stride`` for a single
    binary search over all rows, with the prefix sums of x, of the tariff and of tariff x x in that order (no tariff
    sums where one tariff holds all day: ``flat_price``). ``util_hours`` (month, site) is the month's
    utilisation-hours (sum of utilisation over its hours) and ``wet_excess`` (month, site) the sum of utilisation x
    max(0, wet bulb - reference) [°C h], or None."""

    keys: Array  # (month x site x MAX_HOURS,)
    stride: float
    cum_x: Array  # (month x site, MAX_HOURS + 1)
    cum_p: Array | None  # None: one tariff all day, ``flat_price``
    cum_px: Array | None
    flat_price: float
    util_hours: Array
    wet_excess: Array | None

    @property
    def shape(self) -> tuple[int, int]:
        return self.util_hours.shape  # type: ignore[return-value]

    @classmethod
    def of(
        cls, climate: HourlyClimate, util_by_hod: Array, price_by_hod: Array, wue_ref: Array | None
    ) -> DurationCurves:
        """The curves of a climate's hours under a 24-hour utilisation profile and tariff; ``wue_ref`` (site,): the
        wet bulb [°C] above which water use rises, where a site's WUE depends on it (else None)."""
        months, sites = climate.axis.size, climate.weather.pue.size
        hod = np.arange(MAX_HOURS) % 24
        util_h, price_h = np.asarray(util_by_hod, float)[hod], np.asarray(price_by_hod, float)[hod]
        flat = bool(np.all(price_h == price_h[0]))
        x = np.empty((months, sites, MAX_HOURS))
        p = None if flat else np.empty_like(x)
        util_hours = np.empty((months, sites))
        wet_excess = None if wue_ref is None else np.empty((months, sites))
        for (m, s), h in climate.blocks(wet_bulb=wue_ref is not None):  # blocks of ~10^5 site-hours
            valid = ~np.isnan(h.pue)
            shape = np.where(valid, h.pue * util_h[None, :, None], 0.0)  # (month, hour, site)
            if flat:  # one tariff all day (the usual case): the prices need no ordering
                x[m, s] = np.sort(shape, axis=1).swapaxes(1, 2)
            else:
                assert p is not None
                order = np.argsort(shape, axis=1)
                x[m, s] = np.take_along_axis(shape, order, axis=1).swapaxes(1, 2)
                p[m, s] = np.take_along_axis(np.broadcast_to(price_h[None, :, None], shape.shape), order, 1).swapaxes(
                    1, 2
                )
            util_hours[m, s] = np.where(valid, util_h[None, :, None], 0.0).sum(axis=1)
            if wet_excess is not None and wue_ref is not None:
                assert h.wet_bulb_c is not None
                excess = np.where(valid, np.maximum(np.nan_to_num(h.wet_bulb_c - wue_ref[s], nan=0.0), 0.0), 0.0)
                wet_excess[m, s] = (util_h[None, :, None] * excess).sum(axis=1)
        x = x.reshape(-1, MAX_HOURS)
        stride = 2.0 * (float(x.max(initial=0.0)) + 1.0)
        rows = np.arange(x.shape[0], dtype=float)[:, None] * stride

        def prefix(v: Array) -> Array:
            return np.concatenate([np.zeros((v.shape[0], 1)), np.cumsum(v, axis=1)], axis=1)

        cum_p = cum_px = None
        if p is not None:
            p = p.reshape(-1, MAX_HOURS)
            cum_p, cum_px = prefix(p), prefix(p * x)
        return cls((x + rows).ravel(), stride, prefix(x), cum_p, cum_px, float(price_h[0]), util_hours, wet_excess)

    def threshold_sums(self, c: Array) -> tuple[Array, Array]:
        """(S(c), Sp(c)) for thresholds ``c`` (..., month, site) >= 0: sum_h min(x(h), c) and sum_h price(h) x
        min(x(h), c) of each month and site."""
        months, sites = self.shape
        rows = np.arange(months * sites).reshape(months, sites)
        top = self.stride / 2.0  # above every x: all hours count in full
        cc = np.minimum(np.maximum(c, 0.0), top)
        below = np.searchsorted(self.keys, cc + rows * self.stride, side="left") - rows * MAX_HOURS  # hours x < c
        r = np.broadcast_to(rows, below.shape)
        s = self.cum_x[r, below] + cc * (MAX_HOURS - below)
        if self.cum_p is None or self.cum_px is None:
            return s, self.flat_price * s
        sp = self.cum_px[r, below] + cc * (self.cum_p[r, -1] - self.cum_p[r, below])
        return s, sp


def monthly_sums(
    curves: DurationCurves,
    it_load_mw: Array,
    grid_mw: Array,
    onsite_mw: Array,
    wue: Array,
    wue_slope: Array,
    grid_co2: Array,
    onsite_co2: Array,
) -> dict[str, Array]:
    """The hourly engine's monthly sums of draws (draw, month, site) on one set of curves: IT load, grid and on-site
    capacities in MW; per-site constants (draw, site) or (site,): WUE [L/kWh] and its slope above the reference wet
    bulb [L/kWh/°C], grid and on-site carbon [kg/MWh]. The fields of
    :class:`~fab2token.sites.energy.HourlyResult` other than the climate's, without solar, battery, PPA or
    curtailment (their fields zero)."""
    L = np.asarray(it_load_mw, float)
    on = L > 0
    safe = np.where(on, L, 1.0)
    s_grid, sp_grid = curves.threshold_sums(np.where(on, grid_mw / safe, 0.0))
    s_served, _ = curves.threshold_sums(np.where(on, (grid_mw + onsite_mw) / safe, 0.0))
    s_all = curves.cum_x[:, -1].reshape(curves.shape)
    load_e = L * s_all
    grid_e, served_e = L * s_grid, L * s_served
    onsite_e = np.maximum(served_e - grid_e, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        served = np.where(load_e > 0, served_e / load_e, 1.0)  # share of the month's energy supplied
    site = lambda v: np.asarray(v, float)[..., None, :]  # noqa: E731  (draw, site) or (site,) -> (..., 1, site)
    water = L * curves.util_hours * served * site(wue)
    if curves.wet_excess is not None:
        water = water + L * curves.wet_excess * served * site(wue_slope)
    zero = np.zeros_like(load_e)
    return {
        "facility_energy_mwh": served_e,
        "grid_energy_mwh": grid_e,
        "onsite_energy_mwh": onsite_e,
        "unserved_energy_mwh": load_e - served_e,
        "solar_energy_mwh": zero,
        "battery_energy_mwh": zero,
        "solar_to_battery_mwh": zero,
        "ppa_energy_mwh": zero,
        "curtailed_mwh": zero,
        "grid_to_battery_mwh": zero,
        "grid_cost_usd": L * sp_grid,
        "water_m3": water,
        "carbon_tco2": (grid_e * site(grid_co2) + onsite_e * site(onsite_co2)) / 1000.0,
    }
