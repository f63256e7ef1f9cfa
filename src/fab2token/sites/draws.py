"""The sites stage over a batch of draws: one hourly climate for the draws whose weather agrees, and the hourly
energy engine on every draw's sites at once.

A sweep's draws share their sites' structure and usually their weather (a drawn grid date or D0 leaves the climate
as it was), so :func:`shared_climates` computes the hourly climate once per distinct weather (:data:`WEATHER_FIELDS`,
what :func:`fab2token.sites.climate.site_weather` reads) and hands it to every draw that has it.

Months and sites are independent in the hourly engine, so draws are more sites: :func:`hourly_energy_draws` lays
the draws' sites side by side, ``(draw, month, site)`` arrays as ``(month, draw x site)``, with the draws'
climates, curtailment hours and site constants joined along the site axis, runs
:func:`fab2token.sites.energy.hourly_energy` once and gives the results back as ``(draw, month, site)``; the blocks
of :func:`~fab2token.sites.climate.block_slices` then span draws as they span sites, and the results are those of
one run per draw (tested). Draws with another tariff or utilisation profile (a drawn electricity price) run as
their own group, the profiles being shared by a run's sites, as do draws whose sites need no wet bulb at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fab2token.scenario.models import Scenario
from fab2token.sites import energy as energy_mod
from fab2token.sites.climate import MAX_HOURS, DailyOffsets, HourlyClimate, SiteWeather
from fab2token.sites.duration import MAX_SITE_MONTHS, DurationCurves, monthly_sums
from fab2token.sites.inputs import SiteInputs
from fab2token.sites.power import CurtailmentHours

__all__ = ["WEATHER_FIELDS", "shared_climates", "hourly_energy_draws"]

Array = NDArray[np.float64]

# the Site fields the hourly climate is computed from (fab2token.sites.climate.site_weather and its helpers)
WEATHER_FIELDS = (
    "climate",
    "ambient_c",
    "diurnal_range_c",
    "weather_csv",
    "pue",
    "pue_per_degree_c",
    "pue_reference_c",
    "wue_per_degree_c",
    "dew_point_c",
)


def _weather_key(sc: Scenario) -> tuple[Any, ...]:
    return tuple(tuple(_hashable(getattr(s, f)) for f in WEATHER_FIELDS) for s in sc.sites)


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def shared_climates(scs: Sequence[Scenario], axis: NDArray[np.int64]) -> list[HourlyClimate]:
    """Each draw's hourly climate, computed once per distinct weather of the draws' sites."""
    seen: dict[tuple[Any, ...], HourlyClimate] = {}
    out = []
    for sc in scs:  # a key per draw; the climate once per distinct key
        key = _weather_key(sc)
        if key not in seen:
            seen[key] = energy_mod.hourly_climate(sc.sites, axis)
        out.append(seen[key])
    return out


@dataclasses.dataclass(frozen=True)
class _JoinedOffsets:
    """The day-to-day offsets of several climates side by side (each climate's own draws, or zeros)."""

    parts: tuple[DailyOffsets | None, ...]
    widths: tuple[int, ...]

    def rows(self, months: slice = slice(None)) -> Array:
        """The offsets of months ``months``, (month, day, site), each distinct climate's drawn once."""
        done: dict[int, Array] = {}
        for part in self.parts:  # one per draw; each distinct climate drawn once
            if part is not None and id(part) not in done:
                done[id(part)] = part.rows(months)
        n = next(iter(done.values())).shape[0]  # at least one part has offsets
        return np.concatenate(
            [
                done[id(p)] if p is not None else np.zeros((n, MAX_HOURS // 24, w))
                for p, w in zip(self.parts, self.widths, strict=True)
            ],
            axis=2,
        )


def _join_climates(climates: Sequence[HourlyClimate]) -> HourlyClimate:
    """Several draws' climates as one climate over their sites side by side."""
    ws = [c.weather for c in climates]
    dew = [w.dew_point_c for w in ws]
    if any(d is None for d in dew) and not all(d is None for d in dew):
        raise ValueError("draws differ in whether a site's water use depends on the wet bulb")
    offsets = None
    if any(w.offsets is not None for w in ws):
        offsets = _JoinedOffsets(tuple(w.offsets for w in ws), tuple(w.pue.size for w in ws))
    weather = SiteWeather(
        mean_c=np.concatenate([w.mean_c for w in ws], axis=1),
        range_c=np.concatenate([w.range_c for w in ws], axis=1),
        offsets=offsets,  # type: ignore[arg-type]
        typical_year=[y for w in ws for y in w.typical_year],
        pue=np.concatenate([w.pue for w in ws]),
        pue_per_degree_c=np.concatenate([w.pue_per_degree_c for w in ws]),
        pue_reference_c=np.concatenate([w.pue_reference_c for w in ws]),
        dew_point_c=None if dew[0] is None else np.concatenate(dew, axis=1),  # type: ignore[arg-type]
    )
    return HourlyClimate(
        climates[0].axis,
        weather,
        np.concatenate([c.pue_mean for c in climates], axis=1),
        np.concatenate([c.pue_p99 for c in climates], axis=1),
        np.concatenate([c.ambient_mean_c for c in climates], axis=1),
    )


def _join_curtailment(parts: Sequence[CurtailmentHours | None], months: int, widths: Sequence[int]) -> Any:
    """Several draws' curtailment hours as those of their sites side by side (None: no draw has any)."""
    if all(p is None for p in parts):
        return None
    total = int(sum(widths))
    index, cut, credit = [], [], []
    offset = 0
    for p, w in zip(parts, widths, strict=True):
        if p is not None:
            month_hour, site = np.divmod(p.index, w)
            index.append(month_hour * total + offset + site)
            cut.append(p.cut_mw)
            credit.append(p.credit_usd_per_mwh)
        offset += w
    idx = np.concatenate(index)
    order = np.argsort(idx, kind="stable")
    return CurtailmentHours(
        (months, MAX_HOURS, total), idx[order], np.concatenate(cut)[order], np.concatenate(credit)[order]
    )


def _closed_form(si: SiteInputs, c: Any) -> bool:
    """Whether a draw's sites take the merit order :mod:`fab2token.sites.duration` sums in closed form: no solar,
    battery, PPA or curtailment hours, no on-site generation cheaper than the tariff, and a horizon whose curves stay
    small (:data:`~fab2token.sites.duration.MAX_SITE_MONTHS`). It depends on the draw alone, never on the batch it
    runs in, so a draw's results are the same, bit for bit, alone or in any batch."""
    if si.curtailment is not None or any(
        x is not None and np.any(x > 0) for x in (si.solar_mw, si.battery_mw, si.ppa_mw)
    ):
        return False
    if si.power.grid_mw.size > MAX_SITE_MONTHS:
        return False
    runs_onsite = (si.power.onsite_mw > 0).any(axis=0)
    return not np.any(runs_onsite & (c.onsite_usd < si.price_usd_per_mwh_by_hour.max()))  # else: economic dispatch


def _by_duration_curves(sis: Sequence[SiteInputs], consts: Sequence[Any], load: Array) -> list[Any]:
    """Every draw's monthly sums on its weather's :class:`~fab2token.sites.duration.DurationCurves`: the curves
    once per distinct weather (and wet-bulb reference), the draws that share them at once, one set held at a time."""
    groups: dict[tuple[int, bytes, bytes, bytes], list[int]] = {}
    wue_refs = [
        None if si.climate.weather.dew_point_c is None else c.wue_ref for si, c in zip(sis, consts, strict=True)
    ]
    for k, (si, ref) in enumerate(zip(sis, wue_refs, strict=True)):
        key = (id(si.climate), si.price_usd_per_mwh_by_hour.tobytes(), si.utilisation_by_hour.tobytes())
        groups.setdefault((*key, b"" if ref is None else ref.tobytes()), []).append(k)
    out: list[Any] = [None] * len(sis)
    for ks in groups.values():
        si = sis[ks[0]]
        curves = DurationCurves.of(si.climate, si.utilisation_by_hour, si.price_usd_per_mwh_by_hour, wue_refs[ks[0]])

        def per_draw(name: str, ks: list[int] = ks) -> Array:
            return np.stack([getattr(consts[k], name) for k in ks])

        sums = monthly_sums(
            curves,
            load[ks],
            np.stack([sis[k].power.grid_mw for k in ks]),
            np.stack([sis[k].power.onsite_mw for k in ks]),
            per_draw("wue"),
            per_draw("wue_slope"),
            per_draw("grid_co2"),
            per_draw("onsite_co2"),
        )
        for j, k in enumerate(ks):
            clim = sis[k].climate
            out[k] = energy_mod.HourlyResult(
                pue_mean=clim.pue_mean,
                pue_p99=clim.pue_p99,
                ambient_mean_c=clim.ambient_mean_c,
                **{name: v[j] for name, v in sums.items()},
            )
    return out


def _side_by_side(x: Array) -> Array:
    """(draw, month, site) -> (month, draw x site)."""
    return np.ascontiguousarray(np.moveaxis(x, 0, 1)).reshape(x.shape[1], -1)


def hourly_energy_draws(scs: Sequence[Scenario], sis: Sequence[SiteInputs], it_load_mw: Array) -> list[Any]:
    """The hourly energy of every draw's IT load ``it_load_mw`` (draw, month, site): one
    :class:`~fab2token.sites.energy.HourlyResult` per draw, by duration curves where the draw's sites allow it
    (:func:`_closed_form`), else with the draws' sites side by side in the hourly engine (draws of one tariff and
    utilisation profile at a time)."""
    out: list[Any] = [None] * len(sis)
    consts = [energy_mod.site_constants(sc.sites) for sc in scs]
    closed = [k for k, (si, c) in enumerate(zip(sis, consts, strict=True)) if _closed_form(si, c)]
    if closed:  # the draws the duration curves sum in closed form; the rest hour by hour, below
        done = _by_duration_curves([sis[k] for k in closed], [consts[k] for k in closed], it_load_mw[closed])
        for k, res in zip(closed, done, strict=True):
            out[k] = res
    groups: dict[tuple[bytes, bytes, bool], list[int]] = {}
    for k, si in enumerate(sis):
        if out[k] is not None:
            continue  # a key per draw; one hourly run per distinct profile (and wet-bulb need)
        key = (
            si.price_usd_per_mwh_by_hour.tobytes(),
            si.utilisation_by_hour.tobytes(),
            si.climate.weather.dew_point_c is None,  # a drawn wue_per_degree_c of 0 needs no wet bulb at any site
        )
        groups.setdefault(key, []).append(k)
    for ks in groups.values():
        for k, res in zip(ks, _hourly_group([scs[k] for k in ks], [sis[k] for k in ks], it_load_mw[ks]), strict=True):
            out[k] = res
    return out


def _hourly_group(scs: Sequence[Scenario], sis: Sequence[SiteInputs], load: Array) -> list[Any]:
    n, months, n_sites = load.shape
    first = sis[0]

    def joined(name: str) -> Array:
        return _side_by_side(np.stack([getattr(si, name) for si in sis]))

    res = energy_mod.hourly_energy(
        [s for sc in scs for s in sc.sites],
        first.axis,
        _side_by_side(load),
        _side_by_side(np.stack([si.power.grid_mw for si in sis])),
        _side_by_side(np.stack([si.power.onsite_mw for si in sis])),
        first.utilisation_by_hour,
        solar_mw=joined("solar_mw"),
        climate=_join_climates([si.climate for si in sis]),
        price_usd_per_mwh_by_hour=first.price_usd_per_mwh_by_hour,
        battery_mw=joined("battery_mw"),
        ppa_mw=joined("ppa_mw"),
        curtailment=_join_curtailment([si.curtailment for si in sis], months, [n_sites] * n),
    )
    fields = {f.name: getattr(res, f.name) for f in dataclasses.fields(res) if getattr(res, f.name) is not None}
    apart = {k: v.reshape(months, n, n_sites).swapaxes(0, 1) for k, v in fields.items()}
    return [type(res)(**{k: v[j] for k, v in apart.items()}) for j in range(n)]
