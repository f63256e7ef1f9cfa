"""The hourly energy engine: ambient temperature, PUE and water by the hour, on-site generation dispatch, carbon.

Hours are laid out as (month, hour-of-month, site) with months padded to 744 hours and the padding masked, so
every quantity is one vectorised expression over months x hours x sites (x draws): no loop over hours. The work runs
in blocks of months x sites (:func:`fab2token.sites.climate.block_slices`: about 10^5 site-hours each), so no array
spans the whole horizon's hours: months and sites are independent here (the battery cycles within a day, events are
hours).

Ambient temperature (°C) per site: the month's mean plus a diurnal cosine of half the daily range peaking at
15:00, plus a day-to-day normal offset (reproducible with ``seed``). Means, ranges and spread come from a region of
``catalog/climate.csv`` (``climate:``, see :mod:`fab2token.sites.climate`) or from the site's own ``ambient_c``,
``diurnal_range_c`` and the run's ``noise_c``; ``weather_csv`` replaces all of it with a typical year of hours.
PUE(t) = PUE + ``pue_per_degree_c`` x max(0, T - ``pue_reference_c``). Water = WUE x IT energy.
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
from fab2token.sites.climate import (
    BLOCK_MONTHS,
    MAX_HOURS,
    ClimateHours,
    HourlyClimate,
    hourly_ambient_c,
    hourly_climate,
    pue_stats,
)
from fab2token.sites.power import CurtailmentHours, onsite_cost_and_carbon

__all__ = [
    "HourlyClimate",
    "HourlyResult",
    "hourly_ambient_c",
    "hourly_climate",
    "hourly_energy",
    "pue_stats",
    "solar_profile",
    "MAX_HOURS",
    "BLOCK_MONTHS",
]

Array = NDArray[np.float64]


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
    paused_frac_by_hour: Array | None = None  # (month, MAX_HOURS, site) unserved / load, when asked for


@dataclass(frozen=True)
class _Sites:
    """The per-site constants of the dispatch, each (site,) unless said otherwise: read once per run, not per
    block."""

    wue: Array
    grid_co2: Array
    onsite_co2: Array
    onsite_usd: Array
    solar_cf: Array
    battery_rte: Array
    battery_mwh: Array
    ppa_by_hod: Array  # (24, site): MW delivered per MW of PPA at each hour of day
    ppa_firm: bool  # every site's PPA is firm
    ppa_take_or_pay: NDArray[np.bool_]
    ppa_usd: Array
    wue_slope: Array
    wue_ref: Array

    def subset(self, sites: slice) -> _Sites:
        """The constants of a block of sites."""
        return dataclasses.replace(
            self,
            **{
                f.name: (getattr(self, f.name)[:, sites] if f.name == "ppa_by_hod" else getattr(self, f.name)[sites])
                for f in dataclasses.fields(self)
                if f.name != "ppa_firm"
            },
        )


def site_constants(sites: Sequence[Site]) -> _Sites:
    """The sites' per-site constants of the dispatch (WUE, carbon, on-site cost, solar, battery, PPA), each (site,)."""
    usd, kg = onsite_cost_and_carbon(sites)
    rte_default = catalog.overhead("battery_round_trip_frac")
    return _Sites(
        wue=np.array([s.wue_l_per_kwh for s in sites]),
        grid_co2=np.array([s.grid_kgco2_per_mwh for s in sites]),
        onsite_co2=kg,
        onsite_usd=usd,
        solar_cf=np.array([s.solar_capacity_factor for s in sites]),
        battery_rte=np.array(
            [s.battery_round_trip_frac if s.battery_round_trip_frac is not None else rte_default for s in sites]
        ),
        battery_mwh=np.array([s.battery_mwh for s in sites]),
        ppa_by_hod=np.stack(
            [np.ones(24) if s.ppa_shape == "firm" else (s.ppa_capacity_factor or 0.0) * solar_profile() for s in sites],
            axis=1,
        ),
        ppa_firm=all(s.ppa_shape == "firm" for s in sites),
        ppa_take_or_pay=np.array([s.ppa_take_or_pay for s in sites]),
        ppa_usd=np.array([s.ppa_usd_per_mwh for s in sites]),
        wue_slope=np.array([s.wue_per_degree_c for s in sites]),
        wue_ref=np.array(
            [s.wue_reference_wet_bulb_c if s.wue_reference_wet_bulb_c is not None else 0.0 for s in sites]
        ),
    )


@dataclass(frozen=True)
class _Profiles:
    """Hour-of-month views of the day profiles: hour of day (744,), the tariff (744,) or None, the utilisation as
    one fraction or (1, 744, 1)."""

    hour_of_day: NDArray[np.int64]
    price_hod: Array | None
    util: Array
    util_h: Array

    @classmethod
    def of(cls, utilisation_frac: float | Array, price_usd_per_mwh_by_hour: Array | None) -> _Profiles:
        hod = np.arange(MAX_HOURS) % 24
        price = None if price_usd_per_mwh_by_hour is None else np.asarray(price_usd_per_mwh_by_hour, float)[hod]
        util = np.asarray(utilisation_frac, dtype=float)
        util_h = util[hod][None, :, None] if util.ndim else util  # a 24-hour profile or one fraction
        return cls(hod, price, util, util_h)


@dataclass(frozen=True)
class _Block:
    """One block of months of :func:`hourly_energy`'s inputs, each (month, site) (``curtailment`` (cut MW, credit
    USD/MWh), each (month, 744, site)), and its hours."""

    it_load_mw: Array
    grid_mw: Array
    onsite_mw: Array
    solar_mw: Array | None
    battery_mw: Array | None
    ppa_mw: Array | None
    curtailment: tuple[Array, Array] | None
    hours: ClimateHours

    @property
    def has_solar(self) -> bool:
        return self.solar_mw is not None and bool(np.any(self.solar_mw > 0))

    @property
    def has_battery(self) -> bool:
        return self.battery_mw is not None and bool(np.any(self.battery_mw > 0))

    @property
    def has_ppa(self) -> bool:
        return self.ppa_mw is not None and bool(np.any(self.ppa_mw > 0))


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
    curtailment: CurtailmentHours | tuple[Array, Array] | None = None,
    block_months: int | None = None,
    block_sites: int | None = None,
    paused_by_hour: bool = False,
) -> HourlyResult:
    """Energy, water and carbon of the installed IT load, hour by hour, aggregated per month and site.

    ``it_load_mw``, ``grid_mw`` and ``onsite_mw`` are (month, site); the IT load is flat within a month (training
    runs flat); ``utilisation_frac`` is one fraction or 24 values, one per hour of the day (e.g. a diurnal inference
    profile). Merit order each hour: solar (behind the meter), grid, battery, on-site generation, else unserved;
    on-site generation cheaper than that hour's tariff (``onsite_usd_per_mwh``) runs before the grid instead.
    ``battery_mw`` (month, site) is the battery's power where it is in service; its energy and round-trip efficiency
    come from the sites. See :func:`battery_dispatch`.
    ``ppa_mw`` (month, site) is a carbon-free PPA delivered through the grid connection: firm (e.g. nuclear, its MW
    every hour) or solar-shaped (``ppa_shape: solar``, its MW x ``ppa_capacity_factor`` x the daylight profile,
    as generated); it covers grid draw up to what it delivers that hour, at the site's PPA price; take-or-pay PPAs
    are paid for all they deliver (firm: every hour in full), as-used ones for what the site drew.
    ``grid_energy_mwh`` counts all energy through the grid connection, PPA included. ``curtailment`` is (cut MW,
    credit USD/MWh) per hour, from :func:`fab2token.sites.power.curtailment_hours` (or a pair of (month, hour,
    site) arrays): grid import is cut in those hours, the battery and on-site generation cover what they can, the
    rest is unserved (work paused), and each MWh not drawn earns the credit (netted from the grid cost).
    ``paused_by_hour``: also keep, hour by hour, the share of the load unserved (``paused_frac_by_hour``, (month,
    :data:`MAX_HOURS`, site); the hourly operations pause that share of the work).

    Months and sites are independent here (the battery cycles within a day, events are hours), so the work runs in
    blocks of ``block_months`` months x ``block_sites`` sites (default :func:`fab2token.sites.climate.block_slices`:
    about 10^5 site-hours), each vectorised over its months x 744 hours x sites, the climate's hours recomputed for
    the block: no array spans the horizon's hours (1,000 sites x 20 years would be 1.4 GB each), a block's arrays
    stay in cache, and the results do not depend on the block size (bit for bit; blocks of a single site, which the
    default never makes, differ in the last digits: see :func:`fab2token.sites.climate.block_slices`).
    """
    if climate is None:
        climate = hourly_climate(sites, axis, noise_c, seed, block_months, block_sites)
    consts = site_constants(sites)
    prof = _Profiles.of(utilisation_frac, price_usd_per_mwh_by_hour)
    out: dict[str, Array] = {}
    for (months, cols), hours in climate.blocks(block_months, block_sites):  # blocks of ~10^5 site-hours

        def cut(x: Array | None, b: tuple[slice, slice] = (months, cols)) -> Array | None:
            return None if x is None else x[b]

        block = _Block(
            it_load_mw[months, cols],
            grid_mw[months, cols],
            onsite_mw[months, cols],
            cut(solar_mw),
            cut(battery_mw),
            cut(ppa_mw),
            _curtailment_block(curtailment, months, cols),
            hours,
        )
        for k, v in _hourly_energy_block(consts.subset(cols), prof, block, paused_by_hour).items():
            if k not in out:  # (month, site), or (month, hour, site) for the hourly share paused
                out[k] = np.zeros((it_load_mw.shape[0], *v.shape[1:-1], it_load_mw.shape[1]))
            out[k][months, ..., cols] = v
    return HourlyResult(
        pue_mean=climate.pue_mean, pue_p99=climate.pue_p99, ambient_mean_c=climate.ambient_mean_c, **out
    )


def _curtailment_block(
    c: CurtailmentHours | tuple[Array, Array] | None, months: slice, sites: slice
) -> tuple[Array, Array] | None:
    if c is None:
        return None
    if isinstance(c, CurtailmentHours):
        return c.block(months, sites)
    return c[0][months, :, sites], c[1][months, :, sites]


def _hourly_energy_block(c: _Sites, prof: _Profiles, b: _Block, paused_by_hour: bool = False) -> dict[str, Array]:
    """:func:`hourly_energy` for one block of months x sites: the hourly merit order, then the month's sums (the
    :class:`HourlyResult` fields other than the climate's; ``paused_by_hour``: the hourly unserved share too)."""
    pue_h = b.hours.pue
    valid = ~np.isnan(pue_h)
    load = b.it_load_mw[:, None, :] * prof.util_h * pue_h  # facility MW each hour
    np.copyto(load, 0.0, where=~valid)  # the padding hours past a month's end
    from_solar, solar_h = _solar(c, prof, b, load, valid)
    # what is left to serve, updated down the merit order (without solar: a copy of the load, no array of zeros)
    residual = load.copy() if from_solar is None else load - from_solar
    residual, onsite_h, early = _cheap_onsite_first(c, prof, b, residual)
    from_grid, grid_h, curtailed, dr_credit = _grid(b, residual)
    residual -= from_grid
    from_battery = to_battery = None if not b.has_battery else np.zeros_like(load)
    if b.has_battery and b.has_solar:
        assert b.battery_mw is not None and solar_h is not None and from_solar is not None
        from_battery, to_battery = battery_dispatch(
            solar_h - from_solar, residual, b.battery_mw, c.battery_mwh, c.battery_rte
        )
        residual -= from_battery
    from_onsite = np.minimum(residual, onsite_h)
    unserved = residual - from_onsite
    if early is not None:
        from_onsite = from_onsite + early
    from_battery, to_battery_from_grid = _arbitrage(c, prof, b, valid, grid_h, from_grid, from_battery, to_battery)
    grid_cost, ppa_e = _grid_cost(c, prof, b, valid, from_grid, dr_credit)
    zero = np.zeros(from_grid.shape[::2])

    def total(x: Array | None) -> Array:
        return zero if x is None else x.sum(axis=1)

    load_e, unserved_e = load.sum(axis=1), unserved.sum(axis=1)
    paused = {}
    if paused_by_hour:
        paused["paused_frac_by_hour"] = np.where(load > 0, unserved / np.where(load > 0, load, 1.0), 0.0)
    grid_e, onsite_e = from_grid.sum(axis=1), from_onsite.sum(axis=1)
    return {
        "facility_energy_mwh": load_e - unserved_e,  # what was supplied: paused work uses none
        "grid_energy_mwh": grid_e,
        "onsite_energy_mwh": onsite_e,
        "unserved_energy_mwh": unserved_e,
        "solar_energy_mwh": total(from_solar) + total(to_battery),
        "battery_energy_mwh": total(from_battery),
        "solar_to_battery_mwh": total(to_battery),
        "ppa_energy_mwh": ppa_e,
        "curtailed_mwh": zero if curtailed is None else curtailed.sum(axis=1),
        "grid_to_battery_mwh": zero if to_battery_from_grid is None else to_battery_from_grid.sum(axis=1),
        "grid_cost_usd": grid_cost,
        "water_m3": _water_m3(c, prof, b, valid, load_e, unserved_e),
        "carbon_tco2": ((grid_e - ppa_e) * c.grid_co2 + onsite_e * c.onsite_co2) / 1000.0,
    } | paused


def _solar(
    c: _Sites, prof: _Profiles, b: _Block, load: Array, valid: NDArray[np.bool_]
) -> tuple[Array | None, Array | None]:
    """Solar behind the meter, first in the merit order: (MW serving the load, MW generated), each (month, hour,
    site); (None, None) without solar."""
    if not b.has_solar:
        return None, None
    assert b.solar_mw is not None
    solar_h = b.solar_mw[:, None, :] * c.solar_cf[None, None, :] * solar_profile()[prof.hour_of_day][None, :, None]
    from_solar = np.minimum(load, solar_h)
    return from_solar, np.where(valid, solar_h, 0.0)  # no sun in the padding hours past a month's end


def _cheap_onsite_first(c: _Sites, prof: _Profiles, b: _Block, residual: Array) -> tuple[Array, Array, Array | None]:
    """On-site generation cheaper than the hour's tariff runs before the grid (economic dispatch): (the residual
    load, on-site MW left each hour, on-site MW run early or None)."""
    onsite_h = np.broadcast_to(b.onsite_mw[:, None, :], residual.shape)  # on-site capacity left each hour
    if prof.price_hod is None or not np.any(b.onsite_mw > 0):
        return residual, onsite_h, None
    # (744, site): hours whose tariff is dearer than a site's own generation, at the sites that have some
    cheaper = (c.onsite_usd[None, :] < prof.price_hod[:, None]) & (b.onsite_mw > 0).any(axis=0)[None, :]
    if not cheaper.any():
        return residual, onsite_h, None
    early = np.where(cheaper[None, :, :], np.minimum(residual, onsite_h), 0.0)
    return residual - early, onsite_h - early, early


def _grid(b: _Block, residual: Array) -> tuple[Array, Array, Array | None, Array | None]:
    """Grid draw up to the connection, cut in curtailment hours: (MW drawn, import limit each hour, MW curtailed
    or None, demand-response credit USD per (month, site) or None)."""
    from_grid = np.minimum(residual, b.grid_mw[:, None, :])
    grid_h = b.grid_mw[:, None, :]  # grid import limit each hour
    if b.curtailment is None:
        return from_grid, grid_h, None, None
    cut, credit_h = b.curtailment
    grid_h = np.maximum(grid_h - cut, 0.0)
    capped = np.minimum(from_grid, grid_h)
    curtailed = from_grid - capped
    return capped, grid_h, curtailed, (curtailed * credit_h).sum(axis=1)


def _arbitrage(
    c: _Sites,
    prof: _Profiles,
    b: _Block,
    valid: NDArray[np.bool_],
    grid_h: Array,
    from_grid: Array,
    from_battery: Array | None,
    to_battery: Array | None,
) -> tuple[Array | None, Array | None]:
    """Time-of-use arbitrage with what the solar cycle left of the battery: charge from spare grid capacity in the
    cheapest hours, discharge into grid purchases in the dearest, where price x round-trip efficiency pays.
    ``from_grid`` is updated in place; returns (battery discharge MW, grid MW into the battery or None)."""
    if not b.has_battery or prof.price_hod is None:
        return from_battery, None
    assert b.battery_mw is not None and from_battery is not None and to_battery is not None
    price_hod, rte, mwh = prof.price_hod, c.battery_rte, c.battery_mwh
    hi, lo = price_hod.max(), price_hod.min()
    worth = hi * rte > lo
    if not (hi > lo and worth.any()):
        return from_battery, None
    m_, h_, n_ = from_grid.shape
    power_left = np.maximum(b.battery_mw[:, None, :] - from_battery - to_battery, 0.0) * worth[None, None, :]
    cheap = valid & (price_hod == lo)[None, :, None]
    offer = np.where(cheap, np.maximum(grid_h - from_grid, 0.0), 0.0)
    need = np.where((price_hod == hi)[None, :, None], from_grid, 0.0)
    energy_left = np.maximum(mwh[None, None, :] - from_battery.reshape(m_, h_ // 24, 24, n_).sum(axis=2), 0.0)
    out2, in2 = battery_dispatch(offer, need, power_left, energy_left, rte)
    from_grid += in2  # in place: these 8-byte x month x 744 x site arrays are the block's own, and a
    from_grid -= out2  # fresh one costs more in page faults than the arithmetic
    from_battery = out2 if from_battery is to_battery else np.add(from_battery, out2, out=from_battery)
    return from_battery, in2


def _grid_cost(
    c: _Sites,
    prof: _Profiles,
    b: _Block,
    valid: NDArray[np.bool_],
    from_grid: Array,
    dr_credit: Array | None,
) -> tuple[Array, Array]:
    """Tariff energy (grid draw less what the PPA covers, priced by the hour) less the demand-response credit, plus
    what the PPA is paid, USD per (month, site); and the PPA's MWh used, (month, site)."""
    from_ppa = ppa_shape = None
    if b.has_ppa:  # MW the PPA delivers each hour: its MW (firm) or a solar day's shape
        assert b.ppa_mw is not None
        ppa_shape = c.ppa_by_hod[prof.hour_of_day]  # (744, site)
        ppa_h = b.ppa_mw[:, None, :] if c.ppa_firm else b.ppa_mw[:, None, :] * ppa_shape[None, :, :]
        from_ppa = np.minimum(from_grid, ppa_h)
    if prof.price_hod is None:
        grid_cost = np.full(from_grid.shape[::2], np.nan)
    else:
        grid_cost = np.einsum("mhs,h->ms", from_grid, prof.price_hod)
        if from_ppa is not None:
            grid_cost -= np.einsum("mhs,h->ms", from_ppa, prof.price_hod)
    ppa_e = np.zeros(from_grid.shape[::2]) if from_ppa is None else from_ppa.sum(axis=1)
    if dr_credit is not None:
        grid_cost = grid_cost - dr_credit
    if ppa_shape is not None:
        assert b.ppa_mw is not None
        generated = b.ppa_mw * (valid[:, :, 0].astype(float) @ ppa_shape)  # MWh produced (padding is per month)
        paid = np.where(c.ppa_take_or_pay[None, :], generated, ppa_e)  # take-or-pay: all of it; else what was used
        grid_cost = grid_cost + paid * c.ppa_usd[None, :]
    return grid_cost, ppa_e


def _water_m3(
    c: _Sites, prof: _Profiles, b: _Block, valid: NDArray[np.bool_], load_e: Array, unserved_e: Array
) -> Array:
    """Water (m3) = IT energy supplied x WUE; WUE(t) = ``wue_l_per_kwh`` + ``wue_per_degree_c`` x max(0, wet bulb
    - ``wue_reference_wet_bulb_c``) hour by hour where a site sets the slope, else the constant."""
    with np.errstate(invalid="ignore", divide="ignore"):
        served = np.where(load_e > 0, 1.0 - unserved_e / load_e, 1.0)  # share of the month's energy supplied
    util_h = prof.util_h
    util_hours = (
        np.where(valid, util_h, 0.0).sum(axis=1) if prof.util.ndim else prof.util * np.count_nonzero(valid, axis=1)
    )
    it_energy = b.it_load_mw * util_hours * served  # MWh of IT energy supplied
    wet = b.hours.wet_bulb_c
    if wet is None:
        return it_energy * c.wue  # MWh x L/kWh = m3
    excess = np.where(valid, np.maximum(np.nan_to_num(wet - c.wue_ref, nan=0.0), 0.0), 0.0)
    extra = (b.it_load_mw[:, None, :] * util_h * excess).sum(axis=1) * served * c.wue_slope  # L/kWh above the constant
    return it_energy * c.wue + extra


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
