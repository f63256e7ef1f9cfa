"""The horizon in hours, and inference demand hour by hour: the monthly demand times its daily and weekly shape and
its spikes. Whole arrays over the hours (and sites); no loop over hours."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fab2token.scenario.models import Scenario
from fab2token.scenario.operations import Operations, hour_number
from fab2token.scenario.timeline import hours_in_month, month_axis

__all__ = ["HourAxis", "hour_axis", "demand_by_hour", "spike_multiplier"]

Array = NDArray[np.float64]
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


@dataclass(frozen=True)
class HourAxis:
    """Every hour of a horizon: its number (hours since 1970-01-01T00), month index, hour of day, day of week."""

    hour: NDArray[np.int64]
    month: NDArray[np.int64]
    hour_of_day: NDArray[np.int64]
    weekday: NDArray[np.int64]

    @property
    def size(self) -> int:
        return int(self.hour.size)


def hour_axis(sc: Scenario) -> HourAxis:
    """The horizon's hours."""
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    per_month = hours_in_month(axis).astype(np.int64)
    first = int(np.datetime64(f"{sc.horizon.start}-01T00", "h").astype(np.int64))
    hour = first + np.arange(int(per_month.sum()), dtype=np.int64)
    return HourAxis(
        hour=hour,
        month=np.repeat(np.arange(axis.size), per_month),
        hour_of_day=hour % 24,
        weekday=(hour // 24 + _EPOCH_WEEKDAY) % 7,
    )


def _shape(values: list[float] | None, index: NDArray[np.int64]) -> Array:
    if values is None:
        return np.ones(index.size)
    v = np.asarray(values, dtype=float)
    return (v / v.mean())[index]


def spike_multiplier(ops: Operations, hours: HourAxis, rng: np.random.Generator) -> Array:
    """The demand multiple in every hour: 1, or the largest spike covering it (scheduled or drawn)."""
    starts = [hour_number(s.start) for s in ops.spikes]
    lengths = [s.hours for s in ops.spikes]
    sizes = [s.multiplier for s in ops.spikes]
    if ops.random_spikes is not None:
        r = ops.random_spikes
        n = int(rng.poisson(r.per_day * hours.size / 24.0))
        sigma = np.log(r.multiplier_p90 / r.multiplier_median) / 1.2815515655446004  # z of the 90th percentile
        starts += list(hours.hour[0] + rng.integers(0, hours.size, n))
        lengths += [r.hours] * n
        sizes += list(r.multiplier_median * np.exp(sigma * rng.standard_normal(n)))
    out = np.ones(hours.size)
    if not starts:
        return out
    first = np.asarray(starts, dtype=np.int64) - hours.hour[0]
    length = np.asarray(lengths, dtype=np.int64)
    size = np.asarray(sizes, dtype=float)
    covered = np.repeat(np.arange(first.size), length)  # one entry per (spike, hour it covers)
    at = first[covered] + (np.arange(covered.size) - np.repeat(np.cumsum(length) - length, length))
    inside = (at >= 0) & (at < hours.size)
    np.maximum.at(out, at[inside], size[covered[inside]])
    return out


def demand_by_hour(monthly: Array, ops: Operations, hours: HourAxis, rng: np.random.Generator) -> tuple[Array, Array]:
    """Demand [tokens/s] in every hour, and the same without spikes."""
    base = np.asarray(monthly, dtype=float)[hours.month] * _shape(ops.diurnal, hours.hour_of_day)
    base = base * _shape(ops.weekly, hours.weekday)
    return base * spike_multiplier(ops, hours, rng), base
