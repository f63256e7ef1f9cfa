"""What each draw of a sweep yields: monthly series, headline numbers and the binding constraint, as arrays over
(draw, month) and (draw,) so that a chunk of draws is a handful of arrays to store and summarise.

Series are the run's main monthly results summed over sites (:data:`SERIES`, units from the results Dataset);
outcomes are the summary's numbers (:data:`OUTCOMES`) plus, for each training run, the month it finishes (months
from the horizon's start, 1 = the first month; ``inf`` when it does not finish within the horizon) and its days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fab2token.engine.batch import Batch
from fab2token.engine.variables import headline_numbers
from fab2token.scenario.timeline import month_labels

__all__ = ["SERIES", "OUTCOMES", "ChunkResult", "batch_outcomes", "join_chunks", "NOT_FINISHED"]

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


def _monthly(variables: dict[str, Any], name: str) -> np.ndarray | None:
    """A variable summed over its sites and types, (draw, month); None when the run has no such variable."""
    if name == "capex_usd":
        parts = ("capex_accelerators_usd", "capex_datacenter_usd", "optics_capex_usd")
        return sum(_monthly(variables, p) for p in parts)  # type: ignore[return-value]
    if name not in variables:
        return None
    dims, v, _ = variables[name]
    extra = tuple(k + 1 for k, d in enumerate(dims) if d != "month")
    return np.asarray(np.nansum(v, axis=extra) if extra else v, dtype=float)


def batch_outcomes(b: Batch, variables: dict[str, Any], first: int) -> ChunkResult:
    """A batch of draws (draws ``first ..``) as a chunk's series, outcomes and binding constraints, computed on
    the (draw, ...) arrays of :func:`~fab2token.engine.variables.batch_variables`: no Dataset per draw."""
    series = {name: s for name in SERIES if (s := _monthly(variables, name)) is not None}
    numbers = headline_numbers(lambda name: variables[name][1])
    outcomes = {name: numbers[name].astype(float) for name in OUTCOMES}
    labels = month_labels(b.axis)
    for k, wl in enumerate(b.workloads):  # a few runs a draw: their finish months and days
        for run in wl["runs"]:
            finish = run.get("finish")
            done = run.get("status") == "scheduled" and finish in labels
            key = f"training.{run['name']}"
            outcomes.setdefault(f"{key}.finish_month", np.full(b.draws, NOT_FINISHED))
            outcomes.setdefault(f"{key}.days", np.full(b.draws, np.nan))
            outcomes[f"{key}.finish_month"][k] = labels.index(finish) + 1.0 if done else NOT_FINISHED
            days = run.get("days")
            outcomes[f"{key}.days"][k] = float(days) if days is not None else np.nan
    binding = np.asarray(variables["binding_constraint"][1], dtype=str)
    units = {n: SERIES[n] for n in series} | {k: outcome_units(k) for k in outcomes}
    return ChunkResult(first, series, outcomes, binding, units)


def outcome_units(name: str) -> str:
    """The unit of an outcome (a training run's finish month counts months from the horizon's start)."""
    if name.endswith(".finish_month"):
        return "month of the horizon"
    if name.endswith(".days"):
        return "days"
    return OUTCOMES.get(name, SERIES.get(name, ""))


def join_chunks(parts: list[ChunkResult]) -> ChunkResult:
    """Consecutive batches' results as one chunk (every batch of a sweep has the same series and outcomes)."""
    first = parts[0]
    return ChunkResult(
        first.first,
        {k: np.concatenate([p.series[k] for p in parts]) for k in first.series},
        {k: np.concatenate([p.outcomes[k] for p in parts]) for k in first.outcomes},
        np.concatenate([p.binding for p in parts]),
        first.units,
    )
