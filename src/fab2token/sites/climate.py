"""Site climate: the shipped table of datacenter regions, day-to-day spread from published design data, and
user-supplied hourly weather files.

``catalog/climate.csv`` holds, for 20 datacenter regions, each month's mean dry bulb and dew point (from the
region's typical-year weather file) and mean daily dry-bulb range; where the file carries the ASHRAE Handbook's
monthly design data, also the 10 % monthly design dry bulb (the temperature exceeded in 10 % of the month's hours).
Every row names its weather file, at a fixed commit, as its source.

The hourly series (:func:`fab2token.sites.energy.hourly_ambient_c`) is the month's mean, plus half the daily range on a
cosine peaking at 15:00, plus a day-to-day offset drawn from a normal distribution of standard deviation
``sigma`` per month. ``sigma`` is solved here so that the series' monthly 90th percentile equals the published
10 % design dry bulb (:func:`daily_sigma`); the cooling degree-hours that drive PUE above its reference are then a
prediction, checked against the ASHRAE figures in ``tests/reference/test_climate_reference.py``. Regions without
monthly design data (their range is the amplitude of the file's average day) get ``sigma = 0``.

:func:`hourly_climate` turns each site's weather into PUE(t) = PUE + ``pue_per_degree_c`` x max(0, T -
``pue_reference_c``) hour by hour. Hours are laid out as (month, hour-of-month, site), months padded to
:data:`MAX_HOURS` hours and the padding NaN. A run's hours are never held at once (1,000 sites x 20 years would be
1.4 GB per quantity): :class:`HourlyClimate` keeps what they are computed from (per site and calendar month, plus
one offset per day) and the monthly statistics, and gives the hours of any block of months and sites on demand
(:meth:`HourlyClimate.blocks`), recomputed identically each time; blocks hold about :data:`BLOCK_CELLS`
site-hours (:func:`block_slices`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token.catalog import table_rows
from fab2token.scenario.timeline import hours_in_month

if TYPE_CHECKING:
    from fab2token.scenario.models import Site

__all__ = [
    "ClimateNormals",
    "climate_regions",
    "region_normals",
    "daily_sigma",
    "read_weather_csv",
    "TYPICAL_YEAR_HOURS",
    "relative_humidity_pct",
    "wet_bulb_c",
    "MAX_HOURS",
    "BLOCK_CELLS",
    "block_slices",
    "hourly_ambient_c",
    "ClimateHours",
    "SiteWeather",
    "HourlyClimate",
    "hourly_climate",
    "pue_stats",
]

Array = NDArray[np.float64]
from fab2token.scenario.files import TYPICAL_YEAR_HOURS, read_weather_csv  # noqa: E402,F401  (re-exported)

_MONTH_HOURS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]) * 24


class ClimateNormals:
    """Twelve monthly values per quantity for one region (index 0 = January)."""

    def __init__(self, region: str, rows: list[dict]) -> None:
        rows = sorted(rows, key=lambda r: r["month"])
        self.region = region
        self.station = rows[0]["station"]
        self.mean_c = np.array([r["dry_bulb_mean_c"] for r in rows])
        self.range_c = np.array([r["daily_range_c"] for r in rows])
        self.dew_point_c = np.array([r["dew_point_mean_c"] for r in rows])
        self.db10_c = np.array([r["dry_bulb_10pct_c"] for r in rows])
        self.range_kind = rows[0]["range_kind"]
        self.source = rows[0]["source"]
        self.sigma_c = (
            daily_sigma(self.mean_c, self.range_c, self.db10_c) if not np.isnan(self.db10_c).any() else np.zeros(12)
        )


@cache
def _by_region() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in table_rows("climate"):
        out.setdefault(row["region"], []).append(row)
    return out


def climate_regions() -> list[str]:
    """Region names in ``catalog/climate.csv``."""
    return sorted(_by_region())


@cache
def region_normals(region: str) -> ClimateNormals:
    rows = _by_region().get(region)
    if rows is None:
        raise KeyError(f"unknown climate region {region!r}; known: {', '.join(climate_regions())}")
    if sorted(r["month"] for r in rows) != list(range(1, 13)):
        raise ValueError(f"catalog/climate.csv: region {region!r} needs one row per month 1..12")
    return ClimateNormals(region, rows)


def _normal_sf(x: Array) -> Array:
    """P(Z > x) for a standard normal Z, elementwise."""
    return 0.5 * np.vectorize(math.erfc)(x / math.sqrt(2.0))


def daily_sigma(mean_c: Array, range_c: Array, p10_c: Array, tol: float = 1e-4) -> Array:
    """Day-to-day standard deviation (°C) per month such that ``mean + range/2 x cos + N(0, sigma)`` exceeds
    ``p10_c`` in exactly 10 % of hours; 0 where the diurnal cosine alone already reaches that share.

    Vectorised bisection over all months at once (the exceedance share grows with sigma whenever the threshold
    lies above the cosine's own 90th percentile)."""
    mean_c, range_c, p10_c = (np.asarray(a, dtype=float) for a in (mean_c, range_c, p10_c))
    wave = np.cos(2.0 * np.pi * (np.arange(24) - 15.0) / 24.0)  # the hours the engine uses
    gap = p10_c[..., None] - mean_c[..., None] - 0.5 * range_c[..., None] * wave  # (..., 24)

    def share(sigma: Array) -> Array:
        s = np.maximum(sigma, 1e-9)[..., None]
        return _normal_sf(gap / s).mean(axis=-1)

    lo = np.zeros_like(mean_c)
    hi = np.full_like(mean_c, 30.0)
    need = (gap < 0).mean(axis=-1) < 0.1  # otherwise sigma 0 already gives >= 10 % of hours above p10
    for _ in range(60):  # 30 °C / 2^60: far below tol; fixed count keeps it branch-free
        mid = 0.5 * (lo + hi)
        above = share(mid) > 0.1
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
        if float(np.max(hi - lo)) < tol:
            break
    return np.where(need, 0.5 * (lo + hi), 0.0)


def typical_year_by_month(hourly: Array, max_hours: int) -> Array:
    """(12, max_hours) view of an 8760-hour year: row m holds month m's hours; a month's missing tail (29 February
    in leap years, and padding) repeats its last day."""
    starts = np.concatenate([[0], np.cumsum(_MONTH_HOURS)[:-1]])
    h = np.arange(max_hours)
    out = np.empty((12, max_hours))
    for m in range(12):  # twelve months, not a per-hour loop
        n = _MONTH_HOURS[m]
        idx = np.where(h < n, h, n - 24 + (h - n) % 24)
        out[m] = hourly[starts[m] + idx]
    return out


def relative_humidity_pct(temp_c: ArrayLike, dew_point_c: ArrayLike) -> Array:
    """Relative humidity (%) from air and dew-point temperature, Magnus form with Alduchov and Eskridge's
    coefficients (a = 17.625, b = 243.04 °C; J. Appl. Meteor. 35, 601-609, 1996). A dew point above the air
    temperature is taken as saturation."""
    t = np.asarray(temp_c, dtype=float)
    td = np.minimum(np.asarray(dew_point_c, dtype=float), t)
    a, b = 17.625, 243.04
    return 100.0 * np.exp(a * td / (b + td) - a * t / (b + t))


def wet_bulb_c(temp_c: ArrayLike, rh_pct: ArrayLike) -> Array:
    """Wet-bulb temperature (°C) at sea-level pressure from air temperature and relative humidity: Stull's
    empirical fit (J. Appl. Meteor. Climatol. 50, 2267-2269, 2011), valid for RH 5-99 % and -20..50 °C with errors
    of -1 to +0.65 °C (mean absolute error under 0.3 °C); RH is clipped to that range."""
    t = np.asarray(temp_c, dtype=float)
    rh = np.clip(np.asarray(rh_pct, dtype=float), 5.0, 99.0)
    return (
        t * np.arctan(0.151977 * np.sqrt(rh + 8.313659))
        + np.arctan(t + rh)
        - np.arctan(rh - 1.676331)
        + 0.00391838 * rh**1.5 * np.arctan(0.023101 * rh)
        - 4.686035
    )


MAX_HOURS = 744  # hours in the longest month: every month is padded to it
BLOCK_MONTHS = 12  # at most a year of months per block
BLOCK_CELLS = 1 << 17  # about this many site-hours per block: 1 MB per float array, a block's working set near L2


Block = tuple[slice, slice]  # (months, sites) of the horizon


def block_slices(n_months: int, n_sites: int, months: int | None = None, sites: int | None = None) -> Iterator[Block]:
    """The (months, sites) blocks the hourly computations run in: ``sites`` sites (default: as many as
    :data:`BLOCK_CELLS` site-hours hold in one month, at least one) by ``months`` months (default: as many as then
    fit, 1 to :data:`BLOCK_MONTHS`). Months and sites are independent in every hourly quantity, so the blocks'
    results do not depend on their size; smaller blocks stay in cache (at 100 sites x 10 years, one-month blocks
    run in half the time of twelve-month ones) and bound the memory at any size."""
    if sites is None:
        sites = max(1, min(n_sites, BLOCK_CELLS // MAX_HOURS))
    if months is None:
        months = int(max(1, min(BLOCK_MONTHS, BLOCK_CELLS // (MAX_HOURS * sites))))
    starts = list(range(0, n_sites, sites))
    if len(starts) > 1 and n_sites - starts[-1] == 1:
        # a block of one site would sum its hours in another (pairwise) order than a wider block, moving results in
        # the 15th digit: a lone last site joins the block before it, so the default blocks agree bit for bit
        starts.pop()
    ends = [*starts[1:], n_sites]
    for a in range(0, n_months, months):  # a loop over blocks of ~10^5 site-hours, never over single sites
        for j, k in zip(starts, ends, strict=True):
            yield slice(a, a + months), slice(j, k)


@dataclass(frozen=True)
class DailyOffsets:
    """Day-to-day offsets [°C], (month, day, site): one standard normal draw per day of 24 padded hours and site,
    scaled by the calendar month's standard deviation ``sd_c`` (12, site).

    The draws are those of one ``default_rng(seed).normal(0, 1, (month, day, site))``, made month by month; what is
    kept is the generator's state at each month's start (:meth:`draw`), not the draws (1,000 sites x 20 years would
    be 60 MB), so any block of months is drawn again, identically, when needed (:meth:`rows`)."""

    sd_c: Array
    month_of_year: NDArray[np.int64]
    states: tuple[dict[str, Any], ...]

    @classmethod
    def draw(cls, sd_c: Array, axis: NDArray[np.int64], seed: int = 0) -> DailyOffsets | None:
        """The offsets over the horizon ``axis``, reproducible with ``seed``; None when no site has a spread."""
        if not (sd_c > 0).any():
            return None
        rng = np.random.default_rng(seed)
        states = []
        for _ in range(axis.size):  # one vectorised draw a month, only to find where the next month's draws start
            states.append(rng.bit_generator.state)
            rng.normal(0.0, 1.0, size=(MAX_HOURS // 24, sd_c.shape[-1]))
        return cls(sd_c, axis % 12, tuple(states))

    def rows(self, months: slice = slice(None)) -> Array:
        """The offsets of months ``months`` of the horizon, (month, day, site)."""
        idx = range(self.month_of_year.size)[months]
        n_sites = self.sd_c.shape[-1]
        if not idx:
            return np.zeros((0, MAX_HOURS // 24, n_sites))
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = self.states[idx.start]
        days = rng.normal(0.0, 1.0, size=(len(idx), MAX_HOURS // 24, n_sites))
        return days * self.sd_c[self.month_of_year[months]][:, None, :]


def _ambient_block(
    mean_c: Array,
    range_c: Array,
    axis: NDArray[np.int64],
    offsets_c: Array | None,
    typical_year: Sequence[Array | None],
) -> Array:
    """Hourly ambient temperature [°C], (month, 744, site), of the months ``axis`` (their rows of ``offsets_c``)."""
    valid = np.arange(MAX_HOURS)[None, :] < hours_in_month(axis)[:, None]  # the hours that exist, (month, hour)
    month_of_year = axis % 12
    wave = np.cos(2.0 * np.pi * (np.arange(MAX_HOURS) % 24 - 15.0) / 24.0)  # (744,)
    t = mean_c[month_of_year][:, None, :] + 0.5 * range_c[month_of_year][:, None, :] * wave[None, :, None]
    if offsets_c is not None:
        t = t + np.repeat(offsets_c, 24, axis=1)
    for j, year in enumerate(typical_year):  # only the sites with an hourly file
        if year is not None:
            t[:, :, j] = year[month_of_year]
    return np.where(valid[:, :, None], t, np.nan)


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
        (:func:`typical_year_by_month`): that site uses its hourly file, repeated every year.
    """
    n_sites = monthly_mean_c.shape[-1]
    rng_c = np.broadcast_to(np.asarray(diurnal_range_c, dtype=float), (12, n_sites))
    offsets = DailyOffsets.draw(np.broadcast_to(np.asarray(noise_c, dtype=float), (12, n_sites)), axis, seed)
    return _ambient_block(monthly_mean_c, rng_c, axis, None if offsets is None else offsets.rows(), typical_year or ())


@dataclass(frozen=True)
class ClimateHours:
    """Ambient temperature [°C], PUE and wet bulb [°C] hour by hour for a block of months, each (month, 744, site),
    NaN on padding; ``wet_bulb_c`` only when a site's WUE depends on it."""

    temp_c: Array
    pue: Array
    wet_bulb_c: Array | None = None


@dataclass(frozen=True)
class SiteWeather:
    """What a site's hours are computed from: calendar-month means, daily ranges and dew points [°C], each
    (12, site), the day-to-day offsets (:class:`DailyOffsets`) or None, the hourly file per site (or None), and the
    PUE law's design PUE, slope [1/°C] and reference [°C], each (site,). ``dew_point_c`` is None when no site's
    WUE depends on the wet bulb."""

    mean_c: Array
    range_c: Array
    offsets: DailyOffsets | None
    typical_year: list[Array | None]
    pue: Array
    pue_per_degree_c: Array
    pue_reference_c: Array
    dew_point_c: Array | None

    def hours(
        self, axis: NDArray[np.int64], block: Block, wet_bulb: bool = True, offset_rows: Array | None = None
    ) -> ClimateHours:
        """The hours of ``block`` (months, sites) of a horizon ``axis``; the wet bulb only with ``wet_bulb`` (it
        costs more than the rest together). ``offset_rows``: the block's months of :attr:`offsets` at every site,
        when already drawn."""
        months, sites = block
        ax = axis[months]
        offsets = None
        if self.offsets is not None:
            offsets = (self.offsets.rows(months) if offset_rows is None else offset_rows)[:, :, sites]
        temp = _ambient_block(self.mean_c[:, sites], self.range_c[:, sites], ax, offsets, self.typical_year[sites])
        pue_h = temp - self.pue_reference_c[sites]  # in place from here: a block's own arrays
        np.maximum(pue_h, 0.0, out=pue_h)
        pue_h *= self.pue_per_degree_c[sites]
        pue_h += self.pue[sites]
        wet = None
        if wet_bulb and self.dew_point_c is not None:  # the month's mean dew point, held through the day
            dew_h = self.dew_point_c[:, sites][ax % 12][:, None, :]
            wet = wet_bulb_c(temp, relative_humidity_pct(temp, dew_h))
        return ClimateHours(temp, pue_h, wet)


@dataclass(frozen=True)
class HourlyClimate:
    """A run's hourly climate: the monthly mean and 99th percentile of PUE and the mean ambient temperature [°C],
    each (month, site), and the hours of any block of months and sites on demand (:meth:`blocks`, :meth:`hours`),
    recomputed identically each time. Computed once per run:
    capacity is sized on ``pue_p99`` before deployment, and the same hours then drive
    :func:`fab2token.sites.energy.hourly_energy`."""

    axis: NDArray[np.int64]
    weather: SiteWeather
    pue_mean: Array
    pue_p99: Array
    ambient_mean_c: Array

    def hours(self, start: int = 0, stop: int | None = None) -> ClimateHours:
        """The hours of months ``start:stop`` of the horizon at every site (all months by default; mind the size)."""
        return self.weather.hours(self.axis, (slice(start, stop), slice(None)))

    def blocks(
        self, months: int | None = None, sites: int | None = None, wet_bulb: bool = True
    ) -> Iterator[tuple[Block, ClimateHours]]:
        """The horizon's hours block by block (:func:`block_slices`), each with its (months, sites) slices."""
        drawn, rows = None, None
        for block in block_slices(self.axis.size, self.weather.pue.size, months, sites):
            if self.weather.offsets is not None and block[0] != drawn:  # a block of months' offsets, drawn once
                drawn, rows = block[0], self.weather.offsets.rows(block[0])
            yield block, self.weather.hours(self.axis, block, wet_bulb, rows)

    @property
    def temp_c(self) -> Array:
        """Ambient temperature of every hour of the horizon [°C], (month, 744, site): for inspection at small sizes."""
        return self.hours().temp_c

    @property
    def pue(self) -> Array:
        """PUE of every hour of the horizon, (month, 744, site): for inspection at small sizes."""
        return self.hours().pue

    @property
    def wet_bulb_c(self) -> Array | None:
        """Wet bulb of every hour of the horizon [°C], (month, 744, site), or None: for inspection at small sizes."""
        return self.hours().wet_bulb_c

    def pue_by_hod(self) -> Array:
        """Mean PUE at each hour of day over the month's days, (month, 24, site), computed block by block."""
        out = np.empty((self.axis.size, 24, self.weather.pue.size))
        for (months, sites), h in self.blocks(wet_bulb=False):
            m, hrs, n = h.pue.shape
            out[months, :, sites] = np.nanmean(h.pue.reshape(m, hrs // 24, 24, n), axis=1)
        return out


def _site_weather(sites: Sequence[Site], noise_c: float) -> tuple[Array, Array, Array, list[Array | None]]:
    """Per site: monthly mean, daily range and day-to-day spread, each (12, site), and the hourly file if any.

    ``climate: REGION`` takes all three from ``catalog/climate.csv`` (spread fitted to the published 10 % design
    dry bulb, :func:`daily_sigma`); ``ambient_c`` takes the site's twelve means, its ``diurnal_range_c`` and the
    run's ``noise_c``; ``weather_csv`` uses the file's hours; a site with none of these runs at ``pue_reference_c``
    all year."""
    mean, rng, sd, files = [], [], [], []
    for s in sites:
        year = None
        if s.climate is not None:
            n = region_normals(s.climate)
            m, r, d = n.mean_c, n.range_c, n.sigma_c
        elif s.ambient_c is not None:
            m, r, d = np.array(s.ambient_c), np.full(12, s.diurnal_range_c), np.full(12, noise_c)
        else:
            m, r, d = np.full(12, s.pue_reference_c), np.zeros(12), np.zeros(12)
            if s.weather_csv is not None:  # the hours validation read from the file
                year = typical_year_by_month(s.weather_dry_bulb_c(), MAX_HOURS)
        mean.append(m)
        rng.append(r)
        sd.append(d)
        files.append(year)
    return np.array(mean).T, np.array(rng).T, np.array(sd).T, files


def _dew_point_c(sites: Sequence[Site]) -> Array | None:
    """Each calendar month's mean dew point [°C], (12, site), when a site's WUE depends on the wet bulb."""
    if not any(s.wue_per_degree_c > 0 for s in sites):
        return None
    return np.array(
        [
            s.dew_point_c
            if s.dew_point_c is not None
            else (region_normals(s.climate).dew_point_c if s.climate is not None else [np.nan] * 12)
            for s in sites
        ]
    ).T


def site_weather(sites: Sequence[Site], axis: NDArray[np.int64], noise_c: float = 0.0, seed: int = 0) -> SiteWeather:
    """The sites' weather over the horizon ``axis``, day-to-day offsets drawn (reproducibly with ``seed``)."""
    mean, rng, sd, files = _site_weather(sites, noise_c)
    n_sites = len(sites)
    return SiteWeather(
        mean_c=mean,
        range_c=np.broadcast_to(rng, (12, n_sites)),
        offsets=DailyOffsets.draw(np.broadcast_to(sd, (12, n_sites)), axis, seed),
        typical_year=files,
        pue=np.array([s.pue for s in sites]),
        pue_per_degree_c=np.array([s.pue_per_degree_c for s in sites]),
        pue_reference_c=np.array([s.pue_reference_c for s in sites]),
        dew_point_c=_dew_point_c(sites),
    )


def hourly_climate(
    sites: Sequence[Site],
    axis: NDArray[np.int64],
    noise_c: float = 0.0,
    seed: int = 0,
    block_months: int | None = None,
    block_sites: int | None = None,
) -> HourlyClimate:
    """Temperature and PUE(t) = pue + slope x max(0, T - ref) for every hour, and their monthly statistics, computed
    in blocks of ``block_months`` months x ``block_sites`` sites (default :func:`block_slices`; the statistics do not
    depend on them)."""
    weather = site_weather(sites, axis, noise_c, seed)
    shape = (axis.size, len(sites))
    mean, p99, ambient = np.empty(shape), np.empty(shape), np.empty(shape)
    clim = HourlyClimate(axis, weather, mean, p99, ambient)  # the statistics are filled in block by block
    for (m, s), h in clim.blocks(block_months, block_sites, wet_bulb=False):  # the statistics need no wet bulb
        mean[m, s], p99[m, s] = pue_stats(h.pue)
        valid = ~np.isnan(h.pue)
        ambient[m, s] = np.sum(h.temp_c, axis=1, where=valid) / np.maximum(np.count_nonzero(valid, axis=1), 1)
    return clim


def pue_stats(pue_h: Array) -> tuple[Array, Array]:
    """Monthly mean and 99th percentile (nearest rank) of hourly PUE, each (month, site); NaN hours are padding.

    The percentile is the ``floor(0.01 n)``-th largest of a month's ``n`` hours (0-based), found among the 12
    largest (a partition, not a sort: ``n`` is at most 744, so the rank is at most 7)."""
    valid = ~np.isnan(pue_h)
    n = np.count_nonzero(valid, axis=1)  # (month, site)
    mean = np.sum(pue_h, axis=1, where=valid) / np.maximum(n, 1)
    h = pue_h.shape[1]
    k = min(12, h)
    masked = np.where(valid, pue_h, -np.inf)
    masked.partition(h - k, axis=1)  # in place: the k largest hours last, in no order
    top = np.sort(masked[:, h - k :, :], axis=1)[:, ::-1, :]  # the k largest, largest first
    rank = np.floor(0.01 * n).astype(int)  # 0-based rank from the top of the 99th percentile
    p99 = np.take_along_axis(top, np.clip(rank, 0, k - 1)[:, None, :], axis=1)[:, 0, :]
    return mean, p99
