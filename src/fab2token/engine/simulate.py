"""The monthly engine: scenario in, results Dataset (month x site) and summary out."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import xarray as xr

from fab2token.deploy import placement as _deploy
from fab2token.deploy.fleet import HOURS_PER_YEAR, FleetInputs
from fab2token.engine.batch import Batch, run_batch
from fab2token.engine.variables import batch_variables, headline_numbers
from fab2token.scenario.models import Scenario, month_number
from fab2token.scenario.timeline import hours_in_month, month_labels
from fab2token.supply import chain as supplychain

__all__ = ["simulate", "Summary", "summarise", "SUMMARY_KEYS"]

SUMMARY_KEYS = (
    "run_id",
    "scenario",
    "accelerator",
    "months",
    "month_labels",
    "accelerators_delivered_total",
    "accelerators_installed_end",
    "accelerators_backlog_end",
    "it_power_mw_end",
    "facility_power_mw_end",
    "energy_mwh_total",
    "capex_usd_total",
    "opex_usd_total",
    "fab_capex_usd_total",
    "stranded_inventory_usd_end",
    "stranded_inventory_usd_max",
    "binding_constraint_by_month",
    "training_runs",
    "inference_unmet_tokens_per_s_by_month",
    "fleet",
    "inference_tokens_served_total",
    "inference_joules_per_token",
    "inference_usd_per_million_tokens",
)


@dataclass(frozen=True)
class Summary:
    """Headline numbers of a run; the keys of ``fab2token run --json``."""

    run_id: str | None
    scenario: str
    accelerator: str
    months: int
    month_labels: list[str]
    accelerators_delivered_total: float
    accelerators_installed_end: float
    accelerators_backlog_end: float
    it_power_mw_end: float
    facility_power_mw_end: float
    energy_mwh_total: float
    capex_usd_total: float
    opex_usd_total: float
    fab_capex_usd_total: float
    stranded_inventory_usd_end: float
    stranded_inventory_usd_max: float
    binding_constraint_by_month: list[str]
    training_runs: list[dict[str, object]]
    inference_unmet_tokens_per_s_by_month: list[float]
    fleet: list[dict[str, object]]
    inference_tokens_served_total: float | None = None
    inference_joules_per_token: float | None = None
    inference_usd_per_million_tokens: float | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def simulate(
    sc: Scenario,
    supply: supplychain.SupplyInputs | None = None,
    market: dict[str, np.ndarray] | None = None,
) -> xr.Dataset:
    """Run the monthly engine on a validated scenario.

    ``supply`` (the own chain's resolved inputs) and ``market`` (market deliveries a month by accelerator name)
    replace what the scenario's own figures give: a race hands each player what it was allocated of the world's
    wafers, packaging, HBM and market accelerators.

    Parameters
    ----------
    sc : Scenario
        A validated scenario (:func:`fab2token.scenario.load.parse_scenario`).
    supply : SupplyInputs, optional
        The own chain's resolved inputs, in place of the scenario's.
    market : dict of str to numpy.ndarray, optional
        Market deliveries a month, by accelerator name, in place of the scenario's orders.

    Returns
    -------
    xarray.Dataset
        Dimensions ``month`` (``YYYY-MM`` labels), ``site`` and ``accelerator`` (the fleet's types). See docs/reference/results.md
        for every variable.

    Raises
    ------
    ModelError
        A figure a stage needs is not in the catalog (e.g. an accelerator's die area or board power), named with
        where to supply it.
    """
    b = run_batch([sc], [supply], [market])  # the engine's stages on a batch of one draw
    return draw_dataset(b, batch_variables(b), 0)


def draw_dataset(b: Batch, variables: dict[str, Any], k: int) -> xr.Dataset:
    """Draw ``k`` of a batch as one run's results Dataset (docs/reference/results.md lists the variables);
    ``variables``: :func:`~fab2token.engine.variables.batch_variables` of the batch."""
    sc, si, fi, wl = b.scenarios[k], b.sites[k], b.fleet[k], b.workloads[k]
    pl = b.placement_of(k)
    return xr.Dataset(
        {name: (dims, v[k], attrs) for name, (dims, v, attrs) in variables.items()},
        coords={
            "month": month_labels(b.axis),
            "site": [s.name for s in sc.sites],
            "pue": ("site", si.pue_design),
            "run": [r["name"] for r in wl["runs"]],
            "accelerator": fi.names,
            "all_in_it_kw": ("accelerator", fi.kw),
        },
        attrs={
            "scenario": sc.name,
            "accelerator": fi.names[0],
            "fleet": json.dumps(_fleet_rows(fi, pl)),
            "all_in_it_kw_per_accelerator": float(fi.kw[0]),
            "start_month_number": int(month_number(sc.horizon.start)),
            "training_runs": json.dumps(wl["runs"]),
            "inference_tokens_per_s_per_accelerator": float(wl.get("inference_tokens_per_s_per_accelerator", 0.0)),
        },
    )


def _fleet_rows(fi: FleetInputs, pl: _deploy.Placement) -> list[dict[str, Any]]:
    """One row per accelerator type for the summary."""
    rows = []
    for k, name in enumerate(fi.names):
        life = fi.life_months[k]
        per_hour = fi.book_usd[k] / (life / 12.0 * HOURS_PER_YEAR) if np.isfinite(life) else None
        rows.append(
            {
                "accelerator": name,
                "sources": fi.sources[k],
                "all_in_it_kw": float(fi.kw[k]),
                "price_usd": None if np.isnan(fi.price_usd[k]) else float(fi.price_usd[k]),
                "useful_life_years": float(life / 12.0) if np.isfinite(life) else None,
                "installed_base": float(fi.base[k].sum()),
                "delivered_total": float(fi.delivered[k].sum()),
                "retired_total": float(pl.retired[k].sum()),
                "installed_end": float(pl.powered[k, -1].sum()) if pl.powered.shape[1] else 0.0,
                "depreciation_usd_per_accelerator_hour": None
                if per_hour is None or np.isnan(per_hour)
                else float(per_hour),
            }
        )
    return rows


def summarise(ds: xr.Dataset, run_id: str | None = None) -> Summary:
    """Headline numbers of a results Dataset (:func:`~fab2token.engine.variables.headline_numbers`, the sums a
    sweep makes for a batch of draws, on one draw).

    Parameters
    ----------
    ds : xarray.Dataset
        What :func:`simulate` returned.
    run_id : str, optional
        The stored run's id, carried into the summary.

    Returns
    -------
    Summary
        The keys of ``fab2token run --json`` (:data:`SUMMARY_KEYS`), with units in their names.
    """

    numbers = headline_numbers(lambda name: ds[name].values[None])  # the sweep's definitions, on one draw
    keys = ("accelerators_delivered_total", "accelerators_installed_end", "accelerators_backlog_end")
    keys += ("it_power_mw_end", "facility_power_mw_end", "energy_mwh_total", "capex_usd_total", "opex_usd_total")
    keys += ("fab_capex_usd_total", "stranded_inventory_usd_end", "stranded_inventory_usd_max")
    return Summary(
        run_id=run_id,
        scenario=str(ds.attrs.get("scenario", "")),
        accelerator=str(ds.attrs.get("accelerator", "")),
        months=int(ds.sizes["month"]),
        month_labels=[str(m) for m in ds["month"].values],
        **{k: float(numbers[k][0]) for k in keys},
        binding_constraint_by_month=[str(b) for b in ds["binding_constraint"].values],
        training_runs=json.loads(ds.attrs.get("training_runs", "[]")),
        inference_unmet_tokens_per_s_by_month=(
            [float(x) for x in ds["inference_unmet_tokens_per_s"].values]
            if "inference_unmet_tokens_per_s" in ds
            else []
        ),
        fleet=json.loads(ds.attrs.get("fleet", "[]")),
        **_per_token(ds),
    )


def per_token_by_month(ds: xr.Dataset) -> dict[str, np.ndarray] | None:
    """Month by month: output ``tokens`` served, and the facility energy (``joules``) and cost (``usd``:
    depreciation + opex, NaN where a price is unknown) of the accelerators training does not hold (the inference
    share of the installed fleet); None without inference. The run summary's per-token figures are their sums'
    ratios, and the report's per-token chart their monthly ratios."""
    if "inference_served_tokens_per_s" not in ds or ds.sizes["month"] == 0:
        return None
    axis = int(ds.attrs.get("start_month_number", 0)) + np.arange(ds.sizes["month"])
    tokens = ds["inference_served_tokens_per_s"].values * hours_in_month(axis) * 3600.0
    installed = ds["accelerators_installed"].values.sum(axis=1)
    share = np.where(installed > 0, 1.0 - ds["training_accelerators"].values / np.where(installed > 0, installed, 1), 0)
    return {
        "tokens": tokens,
        "joules": ds["energy_mwh"].values.sum(axis=1) * share * 3.6e9,
        "usd": (_depreciation_by_month(ds) + ds["opex_usd"].values.sum(axis=1)) * share,
    }


def _per_token(ds: xr.Dataset) -> dict[str, float | None]:
    """The fleet's tokens served, and per token: the facility energy and the cost of the accelerators not held by
    training (:func:`per_token_by_month`, summed over the horizon); None where nothing is served or a cost is
    unknown."""
    none = dict.fromkeys(
        ("inference_tokens_served_total", "inference_joules_per_token", "inference_usd_per_million_tokens")
    )
    parts = per_token_by_month(ds)
    if parts is None:
        return none
    total = float(parts["tokens"].sum())
    if total <= 0:
        return none | {"inference_tokens_served_total": 0.0}
    usd = float(parts["usd"].sum())
    return {
        "inference_tokens_served_total": total,
        "inference_joules_per_token": float(parts["joules"].sum()) / total,
        "inference_usd_per_million_tokens": usd / total * 1e6 if np.isfinite(usd) else None,
    }


def _depreciation_by_month(ds: xr.Dataset) -> np.ndarray:
    """Straight-line depreciation a month of the installed fleet: each type over its useful life, or over
    ``useful_life_years_default`` (overheads.csv) where the scenario gives none; NaN where a price is unknown."""
    from fab2token import catalog

    rows = json.loads(ds.attrs.get("fleet", "[]"))
    dep = ds["depreciation_usd"].values.copy()
    default_months = catalog.overhead("useful_life_years_default") * 12.0
    installed = ds["accelerators_installed_by_type"].values.sum(axis=2)
    for k, row in enumerate(rows):  # a handful of types
        if row.get("useful_life_years") is None:
            price = row.get("price_usd")
            dep[k] = installed[k] * (price / default_months if price is not None else np.nan)
    return dep.sum(axis=0)
