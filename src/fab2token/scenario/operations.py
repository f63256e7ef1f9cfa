"""The scenario's ``operations`` section: how the installed fleet is run hour by hour (``fab2token operate``) —
the policy that shares it between training and inference, the demand's daily and weekly shape and its spikes,
accelerator failures and repairs, and site outages."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BeforeValidator, Field, model_validator

from fab2token.scenario.fields import _Model

__all__ = ["Operations", "Spike", "RandomSpikes", "Outage", "POLICIES", "hour_number"]

POLICIES: tuple[str, ...] = ("training-first", "inference-first", "headroom", "fair-share")


def hour_number(text: str) -> int:
    """Hours since 1970-01-01T00 of a ``YYYY-MM-DDTHH`` (or ``YYYY-MM-DD HH``) time."""
    return int(np.datetime64(text.replace(" ", "T"), "h").astype(np.int64))


def _hour(v: object) -> object:
    if isinstance(v, str):
        try:
            hour_number(v)
        except ValueError:
            raise ValueError("a time as YYYY-MM-DDTHH (e.g. 2026-07-04T18)") from None
    return v


Hour = Annotated[str, BeforeValidator(_hour)]


class Spike(_Model):
    """A scheduled demand spike: the demand times ``multiplier`` for ``hours`` from ``start``."""

    start: Hour
    """First hour of the spike (YYYY-MM-DDTHH)."""
    hours: int = Field(gt=0, le=8784)
    """How many hours it lasts."""
    multiplier: float = Field(gt=0)
    """Demand during the spike, as a multiple of the demand without it."""


class RandomSpikes(_Model):
    """Unscheduled spikes: a Poisson number a day, each lasting ``hours``, its size lognormal by median and P90."""

    per_day: float = Field(gt=0, le=24)
    """Mean spikes a day."""
    hours: int = Field(default=1, gt=0, le=168)
    """How many hours each lasts."""
    multiplier_median: float = Field(gt=1)
    """Median size (demand multiple) of a spike."""
    multiplier_p90: float = Field(gt=1)
    """90th-percentile size of a spike (at least the median)."""

    @model_validator(mode="after")
    def _ordered(self) -> RandomSpikes:
        if self.multiplier_p90 < self.multiplier_median:
            raise ValueError("multiplier_p90 must be at least multiplier_median")
        return self


class Outage(_Model):
    """A site out of service (power, cooling, network): everything installed there is down for ``hours``."""

    site: str
    """The site's name."""
    start: Hour
    """First hour out (YYYY-MM-DDTHH)."""
    hours: int = Field(gt=0, le=8784)
    """How many hours it lasts."""


class Operations(_Model):
    """How the installed fleet is run hour by hour (``fab2token operate``)."""

    policy: Literal["training-first", "inference-first", "headroom", "fair-share"] = "training-first"
    """Who gets the fleet: training-first, inference-first, headroom (headroom_frac), fair-share (inference_share_frac)."""
    headroom_frac: float = Field(default=0.0, ge=0, lt=1)
    """With policy headroom: the share of the installed fleet training may not use."""
    inference_share_frac: float = Field(default=0.5, gt=0, lt=1)
    """With policy fair-share: inference's guaranteed share of what is up (as much of it as its demand needs)."""
    failure_rate_per_accelerator_hour: float | None = Field(default=None, ge=0)
    """Failures per accelerator-hour; omitted: the catalog's (overheads.csv failure_rate_per_accelerator_hour)."""
    failure_domain_accelerators: int = Field(default=1, gt=0, le=1024)
    """Accelerators one failure takes down until it is repaired (a node of 8, an NVL72 rack of 72)."""
    repair_hours: float = Field(gt=0, le=8760)
    """Mean time to repair a failure [h], exponentially distributed (the crew's work on it, any wait excluded)."""
    repair_crews: int | None = Field(default=None, gt=0, le=100_000)
    """Repair crews per site: failed domains wait in order for a free one (M/M/c); omitted: none waits (M/M/inf)."""
    spare_domains: int = Field(default=0, ge=0, le=1_000_000)
    """Hot spare domains per site: each stands in for a failed domain until the pool runs out; repairs refill it."""
    diurnal: list[Annotated[float, Field(ge=0)]] | None = Field(default=None, min_length=24, max_length=24)
    """Relative inference demand by hour of day, 0-23 (normalised to mean 1); omitted: flat."""
    weekly: list[Annotated[float, Field(ge=0)]] | None = Field(default=None, min_length=7, max_length=7)
    """Relative inference demand by day of week, Monday first (normalised to mean 1); omitted: flat."""
    spikes: list[Spike] = Field(default_factory=list)
    """Scheduled demand spikes."""
    random_spikes: RandomSpikes | None = None
    """Unscheduled demand spikes; omitted: none."""
    outages: list[Outage] = Field(default_factory=list)
    """Site outages."""
    seed: int = Field(default=0, ge=0)
    """Seed of the failures, interruptions and random spikes drawn."""

    @model_validator(mode="after")
    def _shapes(self) -> Operations:
        for name in ("diurnal", "weekly"):
            shape = getattr(self, name)
            if shape is not None and sum(shape) <= 0:
                raise ValueError(f"{name} needs a positive value somewhere")
        return self
