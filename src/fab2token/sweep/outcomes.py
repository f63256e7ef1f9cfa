"""What each draw of a sweep yields: monthly series, headline numbers and the binding constraint, as arrays over
(draw, month) and (draw,) so that a chunk of draws is a handful of arrays to store and summarise.

Series are the run's main monthly results summed over sites (:data:`SERIES`, units from the results Dataset);
outcomes are the summary's numbers (:data:`OUTCOMES`) plus, for each training run, the month it finishes (months
from the horizon's start, 1 = the first month; ``inf`` when it does not finish within the horizon) and its days.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

__all__ = ["SERIES", "OUTCOMES", "ChunkResult", "draw_outcomes", "stack", "NOT_FINISHED"]

# monthly series kept per draw: (results variable, how its sites are combined); units from the Dataset
SERIES: dict[str, str] = {
    "accelerators_delivered": "accelerators/month",
    "accelerators_installed": "accelerators",
    "accelerators_backlog": "accelerators",
    "it_capacity_mw": "MW",
    "it_power_mw": "MW",
    "facility_power_mw": "MW",
    "energy_mwh": "MWh",
    "capex_usd": "USD",
    "opex_usd": "USD",
    "carbon_tco2": "tCO2",
    "water_m3": "m3",
    "stranded_inventory_usd": "USD",
    "largest_cluster_accelerators": "accelerators",
    "die_yield": "fraction",
    "cost_usd_per_accelerator": "USD",
    "inference_unmet_tokens_per_s": "tokens/s",
}
# headline numbers kept per draw (summary keys of ``fab2token run --json``) with their units
OUTCOMES: dict[str, str] = {
    "accelerators_delivered_total": "accelerators",
    "accelerators_installed_end": "accelerators",
    "accelerators_backlog_end": "accelerators",
    "it_power_mw_end": "MW",
    "facility_power_mw_end": "MW",
    "energy_mwh_total": "MWh",
    "capex_usd_total": "USD",
    "opex_usd_total": "USD",
    "fab_capex_usd_total": "USD",
    "stranded_inventory_usd_max": "USD",
    "carbon_tco2_total": "tCO2",
    "water_m3_total": "m3",
}
NOT_FINISHED = np.inf  # a training run's finish month when it does not finish within the horizon


@dataclass
class ChunkResult:
    """The draws ``first .. first + n - 1`` of a sweep: ``series`` (variable -> (n, month)), ``outcomes`` (name ->
    (n,)), ``binding`` ((n, month) names), ``units`` of every series and outcome."""

    first: int
    series: dict[str, np.ndarray]
    outcomes: dict[str, np.ndarray]
    binding: np.ndarray
    units: dict[str, str] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.binding.shape[0])


def _monthly(ds: xr.Dataset, name: str) -> np.ndarray | None:
    if name == "capex_usd":
        parts = ("capex_accelerators_usd", "capex_datacenter_usd", "optics_capex_usd")
        return sum(_monthly(ds, p) for p in parts)  # type: ignore[return-value]
    if name not in ds:
        return None
    da = ds[name]
    extra = tuple(k for k, d in enumerate(da.dims) if d != "month")
    return np.asarray(np.nansum(da.values, axis=extra) if extra else da.values, dtype=float)


def draw_outcomes(ds: xr.Dataset, summary: dict[str, object]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """One draw's series (variable -> (month,)) and outcomes (name -> number)."""
    series = {name: s for name in SERIES if (s := _monthly(ds, name)) is not None}
    outcomes = {name: float(summary[name]) for name in OUTCOMES if name in summary}  # type: ignore[arg-type]
    outcomes["carbon_tco2_total"] = float(np.nansum(ds["carbon_tco2"].values))
    outcomes["water_m3_total"] = float(np.nansum(ds["water_m3"].values))
    labels = [str(m) for m in ds["month"].values]
    for run in summary.get("training_runs", []):  # type: ignore[union-attr]
        finish = run.get("finish")
        done = run.get("status") == "scheduled" and finish in labels
        outcomes[f"training.{run['name']}.finish_month"] = labels.index(finish) + 1.0 if done else NOT_FINISHED
        days = run.get("days")
        outcomes[f"training.{run['name']}.days"] = float(days) if days is not None else np.nan
    return series, outcomes


def outcome_units(name: str) -> str:
    """The unit of an outcome (a training run's finish month counts months from the horizon's start)."""
    if name.endswith(".finish_month"):
        return "month of the horizon"
    if name.endswith(".days"):
        return "days"
    return OUTCOMES.get(name, SERIES.get(name, ""))


def stack(first: int, draws: list[tuple[dict[str, np.ndarray], dict[str, float], np.ndarray]]) -> ChunkResult:
    """Per-draw results -> one :class:`ChunkResult` (every draw of a sweep has the same series and outcomes)."""
    names = list(draws[0][0])
    keys = list(draws[0][1])
    series = {n: np.stack([d[0][n] for d in draws]) for n in names}
    outcomes = {k: np.array([d[1].get(k, np.nan) for d in draws], dtype=float) for k in keys}
    binding = np.stack([d[2] for d in draws]).astype(str)
    units = {n: SERIES[n] for n in names} | {k: outcome_units(k) for k in keys}
    return ChunkResult(first, series, outcomes, binding, units)
