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
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token.catalog import table_rows

__all__ = [
    "ClimateNormals",
    "climate_regions",
    "region_normals",
    "daily_sigma",
    "read_weather_csv",
    "TYPICAL_YEAR_HOURS",
    "relative_humidity_pct",
    "wet_bulb_c",
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
