"""The hourly energy engine: ambient temperature, PUE and water by the hour, on-site generation dispatch, carbon.

Hours are laid out as (month, hour-of-month, site) with months padded to 744 hours and the padding masked, so
every quantity is one vectorised expression over months x hours x sites (x draws): no loop over hours.

Ambient temperature (°C) per site: the month's mean plus a diurnal cosine of half the daily range peaking at
15:00, plus a day-to-day normal offset (reproducible with ``seed``). Means, ranges and spread come from a region of
``catalog/climate.csv`` (``climate:``, see :mod:`fab2token.sites.climate`) or from the site's own ``ambient_c``,
``diurnal_range_c`` and the run's ``noise_c``; ``weather_csv`` replaces all of it with a typical year of hours. PUE(t) = PUE + ``pue_per_degree_c`` x max(0, T - ``pue_reference_c``). Water = WUE x IT energy.
Solar (behind the meter) serves the load first, with a half-sine daylight profile whose daily mean is the site's
capacity factor (no latitude or season: a stated simplification); the grid serves the rest up to its capacity and
on-site generation covers the remainder up to its own. Grid energy may be priced by the hour of day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fab2token import catalog
from fab2token.scenario.models import Site
from fab2token.scenario.timeline import hours_in_month
from fab2token.sites import climate as climate_mod
from fab2token.sites.power import onsite_cost_and_carbon

__all__ = [
    "HourlyClimate",
    "HourlyResult",
    "hourly_ambient_c",
    "hourly_climate",
    "hourly_energy",
    "solar_profile",
    "MAX_HOURS",
]

Array = NDArray[np.float64]
MAX_HOURS = 744


def _layout(axis: NDArray[np.int64]) -> tuple[NDArray[np.bool_], Array, NDArray[np.int64]]:
    hours = hours_in_month(axis)
    h = np.arange(MAX_HOURS)
    valid = h[None, :] < hours[:, None]  # (month, hour)
    return valid, hours, (axis % 12)


def hourly_ambient_c(
    monthly_mean_c: Array,
    diurnal_range_c: Array,
    axis: NDArray[np.int64],
    noise_c: float | Array = 0.0,
    seed: int = 0,
    typical_year: Sequence[Array | None] | None = None,
) -> Array:
    """Hourly ambient temperature [°C], shape (month, 744, site); padded hours hold NaN.

    Parameters
    ----------
    monthly_mean_c : array (12, site)
        Mean temperature of each calendar month [°C].
    diurnal_range_c : array (site,) or (12, site)
        Mean daily maximum minus minimum [°C], for the year or per calendar month.
    noise_c : float or array (12, site)
        Standard deviation of a day-to-day offset (one normal draw per day and site, reproducible with ``seed``).
    typical_year : per site, None or an (12, 744) array of hours by calendar month
        (:func:`fab2token.sites.climate.typical_year_by_month`): that site uses its hourly file, repeated every year.
    """
    valid, _, month_of_year = _layout(axis)
    n_sites = monthly_mean_c.shape[-1]
    rng_c = np.broadcast_to(np.asarray(diurnal_range_c, dtype=float), (12, n_sites))
    hour_of_day = np.arange(MAX_HOURS) % 24
    wave = np.cos(2.0 * np.pi * (hour_of_day - 15.0) / 24.0)  # (744,)
    t = monthly_mean_c[month_of_year][:, None, :] + 0.5 * rng_c[month_of_year][:, None, :] * wave[None, :, None]
    sd = np.broadcast_to(np.asarray(noise_c, dtype=float), (12, n_sites))
    if (sd > 0).any():
        rng = np.random.default_rng(seed)
        days = rng.normal(0.0, 1.0, size=(axis.size, MAX_HOURS // 24, n_sites)) * sd[month_of_year][:, None, :]
        t = t + np.repeat(days, 24, axis=1)
    for j, year in enumerate(typical_year or ()):
        if year is not None:
            t[:, :, j] = year[month_of_year]
    return np.where(valid[:, :, None], t, np.nan)


@dataclass(frozen=True)
class HourlyResult:
    """Monthly aggregates of the hourly engine, each of shape (month, site)."""

    pue_mean: Array
    pue_p99: Array
    facility_energy_mwh: Array
    grid_energy_mwh: Array
    onsite_energy_mwh: Array
    unserved_energy_mwh: Array
    solar_energy_mwh: Array
    battery_energy_mwh: Array
    solar_to_battery_mwh: Array
    grid_to_battery_mwh: Array
    ppa_energy_mwh: Array
    curtailed_mwh: Array
    grid_cost_usd: Array
    water_m3: Array
    carbon_tco2: Array
    ambient_mean_c: Array


def _site_arrays(sites: Sequence[Site]) -> dict[str, Array]:
    return {
        "pue": np.array([s.pue for s in sites]),
        "slope": np.array([s.pue_per_degree_c for s in sites]),
        "ref": np.array([s.pue_reference_c for s in sites]),
        "wue": np.array([s.wue_l_per_kwh for s in sites]),
        "grid_co2": np.array([s.grid_kgco2_per_mwh for s in sites]),
        "onsite_co2": onsite_cost_and_carbon(sites)[1],
    }


def _site_weather(sites: Sequence[Site], noise_c: float) -> tuple[Array, Array, Array, list[Array | None]]:
    """Per site: monthly mean, daily range and day-to-day spread, each (12, site), and the hourly file if any.

    ``climate: REGION`` takes all three from ``catalog/climate.csv`` (spread fitted to the published 10 % design
    dry bulb, :mod:`fab2token.sites.climate`); ``ambient_c`` takes the site's twelve means, its ``diurnal_range_c`` and
    the run's ``noise_c``; ``weather_csv`` uses the file's hours; a site with none of these runs at
    ``pue_reference_c`` all year."""
    mean, rng, sd, files = [], [], [], []
    for s in sites:
        year = None
        if s.climate is not None:
            n = climate_mod.region_normals(s.climate)
            m, r, d = n.mean_c, n.range_c, n.sigma_c
        elif s.ambient_c is not None:
            m, r, d = np.array(s.ambient_c), np.full(12, s.diurnal_range_c), np.full(12, noise_c)
        else:
            m, r, d = np.full(12, s.pue_reference_c), np.zeros(12), np.zeros(12)
            if s.weather_csv is not None:  # the hours validation read from the file
                year = climate_mod.typical_year_by_month(s.weather_dry_bulb_c(), MAX_HOURS)
        mean.append(m)
        rng.append(r)
        sd.append(d)
        files.append(year)
    return np.array(mean).T, np.array(rng).T, np.array(sd).T, files


@dataclass(frozen=True)
class HourlyClimate:
    """Ambient temperature and PUE hour by hour, each (month, 744, site) (NaN on padding), and the PUE's monthly
    mean and 99th percentile, each (month, site). Computed once per run: capacity is sized on ``pue_p99`` before
    deployment, and the same hours then drive :func:`hourly_energy`."""

    temp_c: Array
    pue: Array
    pue_mean: Array
    pue_p99: Array
    wet_bulb_c: Array | None = None  # computed only when a site's WUE depends on it


def hourly_climate(
    sites: Sequence[Site], axis: NDArray[np.int64], noise_c: float = 0.0, seed: int = 0
) -> HourlyClimate:
    """Temperature and PUE(t) = pue + slope x max(0, T - ref) for every hour, and their monthly statistics."""
    p = _site_arrays(sites)
    mean, rng, sd, files = _site_weather(sites, noise_c)
    temp = hourly_ambient_c(mean, rng, axis, sd, seed, files)
    pue_h = temp - p["ref"]  # computed in place: these arrays are month x 744 x site
    np.maximum(pue_h, 0.0, out=pue_h)
    pue_h *= p["slope"]
    pue_h += p["pue"]
    pmean, p99 = pue_stats(pue_h)
    wet = None
    if any(s.wue_per_degree_c > 0 for s in sites):
        dew = np.array(
            [
                s.dew_point_c
                if s.dew_point_c is not None
                else (climate_mod.region_normals(s.climate).dew_point_c if s.climate is not None else [np.nan] * 12)
                for s in sites
            ]
        ).T  # (12, site): the month's mean dew point, held through the day
        dew_h = dew[axis % 12][:, None, :]
        wet = climate_mod.wet_bulb_c(temp, climate_mod.relative_humidity_pct(temp, dew_h))
    return HourlyClimate(temp, pue_h, pmean, p99, wet)


def _water_m3(
    sites: Sequence[Site],
    climate: HourlyClimate,
    it_load_mw: Array,
    util_h: Array | float,
    valid: NDArray[np.bool_],
    served: Array,
    it_energy: Array,
    wue: Array,
) -> Array:
    """Water (m3) = IT energy supplied x WUE; WUE(t) = ``wue_l_per_kwh`` + ``wue_per_degree_c`` x max(0, wet bulb
    - ``wue_reference_wet_bulb_c``) hour by hour where a site sets the slope, else the constant."""
    if climate.wet_bulb_c is None:
        return it_energy * wue  # MWh x L/kWh = m3
    slope = np.array([s.wue_per_degree_c for s in sites])
    ref = np.array([s.wue_reference_wet_bulb_c if s.wue_reference_wet_bulb_c is not None else 0.0 for s in sites])
    excess = np.where(valid, np.maximum(np.nan_to_num(climate.wet_bulb_c - ref, nan=0.0), 0.0), 0.0)
    extra = (it_load_mw[:, None, :] * util_h * excess).sum(axis=1) * served * slope  # MWh x L/kWh above the constant
    return it_energy * wue + extra


def pue_stats(pue_h: Array) -> tuple[Array, Array]:
    """Monthly mean and 99th percentile (nearest rank) of hourly PUE, each (month, site)."""
    valid = ~np.isnan(pue_h)
    n = valid.sum(axis=1)  # (month, site)
    mean = np.nansum(pue_h, axis=1) / np.maximum(n, 1)
    top = np.sort(np.where(valid, pue_h, -np.inf), axis=1)[:, ::-1, :][:, :12, :]  # the 12 largest hours
    rank = np.floor(0.01 * n).astype(int)  # 0-based rank from the top of the 99th percentile
    p99 = np.take_along_axis(top, np.clip(rank, 0, 11)[:, None, :], axis=1)[:, 0, :]
    return mean, p99


def solar_profile() -> Array:
    """Hour-of-day solar output per unit of capacity factor: a half-sine from 6:00 to 18:00 with a daily mean of 1."""
    h = np.arange(24) + 0.5  # mid-hour
    raw = np.where((h > 6) & (h < 18), np.sin(np.pi * (h - 6.0) / 12.0), 0.0)
    return raw / raw.mean()  # a daily mean of exactly 1: the capacity factor holds


def battery_dispatch(
    surplus_mw: Array, shortfall_mw: Array, power_mw: Array, energy_mwh: Array, rte: Array
) -> tuple[Array, Array]:
    """A battery charged by solar that would otherwise be curtailed and discharged into the shortfall that on-site
    generation would otherwise meet (or that would go unserved), one cycle a day.

    ``surplus_mw`` and ``shortfall_mw`` (non-negative) are (month, hour, site), the hour axis a whole number of days;
    ``power_mw`` is (month, site) or (month, hour, site); ``energy_mwh`` is per site or (month, day, site); ``rte``
    (round-trip efficiency) is per site. Each day the
    battery stores min(surplus within its power, energy capacity / rte), delivers up to that times ``rte`` into the
    day's shortfall within its power, and takes from the surplus only what it delivers / ``rte``. Both are spread
    over the day's hours in proportion to what each hour offers or needs. The day is treated as a periodic steady
    state (the early-morning shortfall is met from the charge of the day before, which on these profiles equals the
    day's own), so no hour-by-hour state-of-charge recurrence is needed. Returns (discharge, charge) in MW, each
    (month, hour, site).
    """
    m, h, n = surplus_mw.shape
    days = h // 24
    p = power_mw[:, None, :] if power_mw.ndim == 2 else power_mw
    cap = energy_mwh if energy_mwh.ndim == 3 else energy_mwh[None, None, :]
    offer = np.minimum(surplus_mw, p).reshape(m, days, 24, n)  # both inputs are >= 0
    need = np.minimum(shortfall_mw, p).reshape(m, days, 24, n)
    offer_day, need_day = offer.sum(axis=2), need.sum(axis=2)  # MWh per day, (month, day, site)
    stored = np.minimum(offer_day, cap / rte[None, None, :])
    delivered = np.minimum(stored * rte[None, None, :], need_day)
    with np.errstate(invalid="ignore", divide="ignore"):
        out_frac = np.where(need_day > 0, delivered / need_day, 0.0)
        in_frac = np.where(offer_day > 0, delivered / rte[None, None, :] / offer_day, 0.0)
    need *= out_frac[:, :, None, :]  # in place: these are this function's own arrays
    offer *= in_frac[:, :, None, :]
    discharge, charge = need.reshape(m, h, n), offer.reshape(m, h, n)
    return discharge, charge


def hourly_energy(
    sites: Sequence[Site],
    axis: NDArray[np.int64],
    it_load_mw: Array,
    grid_mw: Array,
    onsite_mw: Array,
    utilisation_frac: float | Array = 1.0,
    noise_c: float = 0.0,
    seed: int = 0,
    solar_mw: Array | None = None,
    climate: HourlyClimate | None = None,
    price_usd_per_mwh_by_hour: Array | None = None,
    battery_mw: Array | None = None,
    ppa_mw: Array | None = None,
    curtailment: tuple[Array, Array] | None = None,
) -> HourlyResult:
    """Energy, water and carbon of the installed IT load, hour by hour, aggregated per month and site.

    ``it_load_mw``, ``grid_mw`` and ``onsite_mw`` are (month, site); the IT load is flat within a month (training
    runs flat); ``utilisation_frac`` is one fraction or 24 values, one per hour of the day (e.g. a diurnal inference
    profile). Merit order each hour: solar (behind the meter), grid, battery, on-site generation, else unserved;
    on-site generation cheaper than that hour's tariff (``onsite_usd_per_mwh``) runs before the grid instead. ``battery_mw`` (month, site) is the battery's power where it is
    in service; its energy and round-trip efficiency come from the sites. See :func:`battery_dispatch`.
    ``ppa_mw`` (month, site) is a carbon-free PPA delivered through the grid connection: firm (e.g. nuclear, its MW
    every hour) or solar-shaped (``ppa_shape: solar``, its MW x ``ppa_capacity_factor`` x the daylight profile,
    as generated); it covers grid draw up to what it delivers that hour, at the site's PPA price; take-or-pay PPAs
    are paid for all they deliver (firm: every hour in full), as-used ones for what the site drew.
    ``grid_energy_mwh`` counts all energy through the grid connection, PPA included. ``curtailment`` is (cut MW,
    credit USD/MWh), each (month, hour, site), from :func:`fab2token.sites.power.curtailment_hours`: grid import is cut in
    those hours, the battery and on-site generation cover what they can, the rest is unserved (work paused), and
    each MWh not drawn earns the credit (netted from the grid cost).

    Months are independent here (the battery cycles within a day, events are hours), so the work runs in blocks of
    ``BLOCK_MONTHS`` months, each vectorised over its months x 744 hours x sites: a block's arrays stay small enough
    to be reused by the allocator instead of being page-faulted in fresh for every operation (~20 % faster at 100
    sites x 10 years, identical results).
    """
    if climate is None:
        climate = hourly_climate(sites, axis, noise_c, seed)
    blocks = []
    for a in range(0, axis.size, BLOCK_MONTHS):  # a few blocks, each a whole vectorised computation
        sl = slice(a, a + BLOCK_MONTHS)

        def cut(x: Array | None, sl: slice = sl) -> Array | None:
            return None if x is None else x[sl]

        blocks.append(
            _hourly_energy_block(
                sites,
                axis[sl],
                it_load_mw[sl],
                grid_mw[sl],
                onsite_mw[sl],
                utilisation_frac,
                solar_mw=cut(solar_mw),
                climate=HourlyClimate(
                    climate.temp_c[sl],
                    climate.pue[sl],
                    climate.pue_mean[sl],
                    climate.pue_p99[sl],
                    cut(climate.wet_bulb_c),
                ),
                price_usd_per_mwh_by_hour=price_usd_per_mwh_by_hour,
                battery_mw=cut(battery_mw),
                ppa_mw=cut(ppa_mw),
                curtailment=None if curtailment is None else (curtailment[0][sl], curtailment[1][sl]),
            )
        )
    if len(blocks) == 1:
        return blocks[0]
    return HourlyResult(
        **{f.name: np.concatenate([getattr(b, f.name) for b in blocks]) for f in dataclasses.fields(HourlyResult)}
    )


BLOCK_MONTHS = 12


def _hourly_energy_block(
    sites: Sequence[Site],
    axis: NDArray[np.int64],
    it_load_mw: Array,
    grid_mw: Array,
    onsite_mw: Array,
    utilisation_frac: float | Array,
    solar_mw: Array | None,
    climate: HourlyClimate,
    price_usd_per_mwh_by_hour: Array | None,
    battery_mw: Array | None,
    ppa_mw: Array | None,
    curtailment: tuple[Array, Array] | None,
) -> HourlyResult:
    """:func:`hourly_energy` for one block of months (the climate already computed)."""
    p = _site_arrays(sites)
    pue_h = climate.pue
    valid = ~np.isnan(pue_h)
    hour_of_day = np.arange(MAX_HOURS) % 24
    price_hod = None if price_usd_per_mwh_by_hour is None else np.asarray(price_usd_per_mwh_by_hour, float)[hour_of_day]
    util = np.asarray(utilisation_frac, dtype=float)
    util_h = util[hour_of_day][None, :, None] if util.ndim else util  # a 24-hour profile or one fraction
    load = np.where(valid, it_load_mw[:, None, :] * util_h * pue_h, 0.0)  # facility MW each hour
    from_solar = np.zeros_like(load)
    if solar_mw is not None and np.any(solar_mw > 0):  # behind the meter, first in the merit order
        cf = np.array([s.solar_capacity_factor for s in sites])
        solar_h = solar_mw[:, None, :] * cf[None, None, :] * solar_profile()[hour_of_day][None, :, None]
        from_solar = np.minimum(load, solar_h)
        solar_h = np.where(valid, solar_h, 0.0)  # no sun in the padding hours past a month's end
    residual = load - from_solar  # what is left to serve, updated down the merit order
    onsite_h = np.broadcast_to(onsite_mw[:, None, :], load.shape)  # on-site capacity left each hour
    early = None  # on-site generation cheaper than the hour's tariff runs before the grid (economic dispatch)
    if price_hod is not None and np.any(onsite_mw > 0):
        cheaper = onsite_cost_and_carbon(sites)[0][None, :] < price_hod[:, None]  # (744, site)
        if cheaper.any():
            early = np.where(cheaper[None, :, :], np.minimum(residual, onsite_h), 0.0)
            residual = residual - early
            onsite_h = onsite_h - early
    from_grid = np.minimum(residual, grid_mw[:, None, :])
    curtailed = dr_credit = None
    grid_h = grid_mw[:, None, :]  # grid import limit each hour
    if curtailment is not None:
        cut, credit_h = curtailment
        grid_h = np.maximum(grid_h - cut, 0.0)
        capped = np.minimum(from_grid, grid_h)
        curtailed = from_grid - capped
        dr_credit = (curtailed * credit_h).sum(axis=1)
        from_grid = capped
    residual -= from_grid
    from_battery = to_battery = np.zeros_like(load)
    has_battery = battery_mw is not None and bool(np.any(battery_mw > 0))
    rte = mwh = np.zeros(len(sites))
    if has_battery:
        rte = np.array(
            [
                s.battery_round_trip_frac
                if s.battery_round_trip_frac is not None
                else catalog.overhead("battery_round_trip_frac")
                for s in sites
            ]
        )
        mwh = np.array([s.battery_mwh for s in sites])
    if has_battery and solar_mw is not None and np.any(solar_mw > 0):
        from_battery, to_battery = battery_dispatch(solar_h - from_solar, residual, battery_mw, mwh, rte)
        residual -= from_battery
    from_onsite = np.minimum(residual, onsite_h)
    unserved = residual - from_onsite
    if early is not None:
        from_onsite = from_onsite + early
    to_battery_from_grid = None
    if has_battery and price_hod is not None:
        # time-of-use arbitrage with what the solar cycle left of the battery: charge from spare grid capacity in the
        # cheapest hours, discharge into grid purchases in the dearest, where price x round-trip efficiency pays
        hi, lo = price_hod.max(), price_hod.min()
        worth = hi * rte > lo
        if hi > lo and worth.any():
            m_, h_, n_ = load.shape
            power_left = np.maximum(battery_mw[:, None, :] - from_battery - to_battery, 0.0) * worth[None, None, :]
            cheap = valid & (price_hod == lo)[None, :, None]
            offer = np.where(cheap, np.maximum(grid_h - from_grid, 0.0), 0.0)
            need = np.where((price_hod == hi)[None, :, None], from_grid, 0.0)
            energy_left = np.maximum(mwh[None, None, :] - from_battery.reshape(m_, h_ // 24, 24, n_).sum(axis=2), 0.0)
            out2, in2 = battery_dispatch(offer, need, power_left, energy_left, rte)
            from_grid += in2  # in place: these 8-byte x month x 744 x site arrays are this function's own, and a
            from_grid -= out2  # fresh one costs more in page faults than the arithmetic
            from_battery = out2 if from_battery is to_battery else np.add(from_battery, out2, out=from_battery)
            to_battery_from_grid = in2
    has_ppa = ppa_mw is not None and bool(np.any(ppa_mw > 0))
    from_ppa = ppa_shape = None
    if ppa_mw is not None and has_ppa:  # MW the PPA delivers each hour: its MW (firm) or a solar day's shape
        ppa_shape = np.stack(
            [np.ones(24) if s.ppa_shape == "firm" else (s.ppa_capacity_factor or 0.0) * solar_profile() for s in sites],
            axis=1,
        )[hour_of_day]  # (744, site)
        firm = all(s.ppa_shape == "firm" for s in sites)
        ppa_h = ppa_mw[:, None, :] if firm else ppa_mw[:, None, :] * ppa_shape[None, :, :]
        from_ppa = np.minimum(from_grid, ppa_h)
    if price_hod is None:
        grid_cost = np.full(from_grid.shape[::2], np.nan)
    else:  # tariff energy = grid draw less what the PPA covers, priced by the hour
        grid_cost = np.einsum("mhs,h->ms", from_grid, price_hod)
        if from_ppa is not None:
            grid_cost -= np.einsum("mhs,h->ms", from_ppa, price_hod)
    zero = np.zeros(from_grid.shape[::2])
    ppa_e = zero if from_ppa is None else from_ppa.sum(axis=1)
    if dr_credit is not None:
        grid_cost = grid_cost - dr_credit
    if ppa_mw is not None and has_ppa:
        take_or_pay = np.array([s.ppa_take_or_pay for s in sites])
        generated = ppa_mw * (valid[:, :, 0].astype(float) @ ppa_shape)  # MWh produced (padding is per month)
        paid = np.where(take_or_pay[None, :], generated, ppa_e)  # take-or-pay: all of it; else what was used
        grid_cost = grid_cost + paid * np.array([s.ppa_usd_per_mwh for s in sites])[None, :]
    load_e, unserved_e = load.sum(axis=1), unserved.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        served = np.where(load_e > 0, 1.0 - unserved_e / load_e, 1.0)  # share of the month's energy supplied
    util_hours = np.where(valid, util_h, 0.0).sum(axis=1) if util.ndim else util * valid.sum(axis=1)
    it_energy = it_load_mw * util_hours * served  # MWh of IT energy supplied
    grid_e, onsite_e = from_grid.sum(axis=1), from_onsite.sum(axis=1)
    return HourlyResult(
        pue_mean=climate.pue_mean,
        pue_p99=climate.pue_p99,
        facility_energy_mwh=load_e - unserved_e,  # what was supplied: paused work uses none
        grid_energy_mwh=grid_e,
        onsite_energy_mwh=onsite_e,
        unserved_energy_mwh=unserved_e,
        solar_energy_mwh=from_solar.sum(axis=1) + to_battery.sum(axis=1),
        battery_energy_mwh=from_battery.sum(axis=1),
        solar_to_battery_mwh=to_battery.sum(axis=1),
        ppa_energy_mwh=ppa_e,
        curtailed_mwh=zero if curtailed is None else curtailed.sum(axis=1),
        grid_to_battery_mwh=zero if to_battery_from_grid is None else to_battery_from_grid.sum(axis=1),
        grid_cost_usd=grid_cost,
        water_m3=_water_m3(sites, climate, it_load_mw, util_h, valid, served, it_energy, p["wue"]),
        carbon_tco2=((grid_e - ppa_e) * p["grid_co2"] + onsite_e * p["onsite_co2"]) / 1000.0,
        ambient_mean_c=np.sum(climate.temp_c, axis=1, where=valid) / np.maximum(valid.sum(axis=1), 1),
    )
