"""A stored sweep summarised: the keys of ``fab2token sweep --json`` (docs/reference/results.md, "sweep")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fab2token.options import refuse
from fab2token.sweep.stats import binding_probability, quantile_rows, rank_correlations, series_bands, sobol_indices

__all__ = ["summarise_sweep", "default_outcome", "SWEEP_KEYS"]

# the keys of ``fab2token sweep --json`` (and of :func:`summarise_sweep`)
SWEEP_KEYS = (
    "sweep_id",
    "scenario",
    "created_at",
    "status",
    "method",
    "seed",
    "draws",
    "month_labels",
    "inputs",
    "outcomes",
    "series",
    "binding_probability_by_month",
    "drivers",
)


def outcome_names(sc: Any) -> list[str]:
    """Every outcome a sweep of scenario ``sc`` will have: the headline numbers, and each training run's finish
    month and days."""
    from fab2token.sweep.outcomes import OUTCOMES

    runs = [r.name for r in (sc.workloads.training if sc.workloads else [])]
    return sorted([*OUTCOMES, *(f"training.{n}.{k}" for n in runs for k in ("finish_month", "days"))])


def check_outcome(sc: Any, outcome: str | None) -> None:
    """Refuse, before anything runs, an ``--outcome`` the sweep of ``sc`` will not have."""
    names = outcome_names(sc)
    if outcome is not None and outcome not in names:
        refuse("sweep", "outcome", outcome, "an outcome of the sweep: " + ", ".join(names))


def default_outcome(outcomes: list[str]) -> str:
    """The outcome whose drivers are ranked unless one is named: the first training run's finish month, else the
    accelerators installed at the end."""
    return next((o for o in outcomes if o.endswith(".finish_month")), "accelerators_installed_end")


def _input_rows(arrays: dict[str, Any]) -> list[dict[str, Any]]:
    """Each input's drawn quantiles; months as YYYY-MM."""
    from fab2token.scenario.fields import month_label
    from fab2token.scenario.uncertain import read_uncertain
    from fab2token.scenario.yamltext import load_yaml

    meta = arrays["meta"]
    # which inputs are months: the stored text's distributions, read without validating the scenario again
    dists = read_uncertain(load_yaml(meta["scenario_text"], meta["file"]), meta["file"])[1].dists
    rows = quantile_rows(arrays["inputs"], {})
    for row in rows:
        dist = dists.get(row["outcome"])
        row["input"] = row.pop("outcome")
        if dist is not None and dist.month:
            for k in ("mean", "p10", "p50", "p90"):
                row[k] = month_label(int(round(row[k]))) if row[k] is not None else None
            row["unit"] = "month"
    return rows


def summarise_sweep(db: str | Path, sweep_id: str, outcome: str | None = None) -> dict[str, Any]:
    """Everything a sweep's draws say, from the store: its record, the inputs' and outcomes' quantiles, the bands
    of every monthly series, the binding constraints' probabilities by month and the drivers of ``outcome``.

    Raises
    ------
    StoreError
        No such sweep.
    OptionError
        ``outcome`` is not one of the sweep's outcomes.
    """
    from fab2token.io.sweep_store import load_sweep_arrays

    a = load_sweep_arrays(db, sweep_id)
    meta = a["meta"]
    names = list(a["outcomes"])
    chosen = outcome or default_outcome(names)
    if names and chosen not in names:
        refuse("sweep", "outcome", chosen, "an outcome of the sweep: " + ", ".join(names))
    months = meta["months"]
    stored = int(a["draw"].size)
    drivers: dict[str, Any] = {"outcome": chosen, "rank_correlations": [], "sobol": None}
    if stored and chosen in a["outcomes"]:
        drivers["rank_correlations"] = rank_correlations(a["inputs"], a["outcomes"][chosen])
        n_inputs = len(meta["inputs"])
        if meta["method"] == "sobol" and stored == meta["draws"] * (n_inputs + 2):
            drivers["sobol"] = sobol_indices(meta["inputs"], a["outcomes"][chosen], meta["seed"])
    bands = series_bands(a["series"]) if stored else {}
    return {
        "sweep_id": meta["sweep_id"],
        "scenario": meta["scenario"],
        "created_at": meta["created_at"],
        "status": meta["status"],
        "method": meta["method"],
        "seed": meta["seed"],
        "draws": stored,
        "month_labels": months,
        "inputs": _input_rows(a) if stored else [],
        "outcomes": quantile_rows(a["outcomes"], meta["units"]),
        "series": {
            name: {"unit": meta["units"].get(name, ""), **{k: [float(x) for x in v] for k, v in b.items()}}
            for name, b in bands.items()
        },
        "binding_probability_by_month": {
            k: [float(x) for x in v] for k, v in (binding_probability(a["binding"]) if stored else {}).items()
        },
        "drivers": drivers,
    }
