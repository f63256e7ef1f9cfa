"""The Python API behind every CLI command: validate, simulate, store and report a scenario file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import xarray as xr

from fab2token.engine.simulate import Summary, simulate, summarise
from fab2token.errors import Fab2TokenError, OutputError
from fab2token.io import report, store
from fab2token.scenario import Scenario, load_scenario

__all__ = ["RunResult", "run_file", "supply_lookup", "race_file", "operate_file", "SUPPLY_KEYS"]


@dataclass(frozen=True)
class RunResult:
    """What :func:`run_file` produced."""

    run_id: str | None
    scenario: Scenario
    dataset: xr.Dataset
    summary: Summary
    report_path: Path | None


def run_file(
    path: str | Path,
    db: str | Path | None = store.DEFAULT_DB,
    report_path: str | Path | None = None,
    quantile: float = 0.5,
) -> RunResult:
    """Validate, simulate, store (when ``db`` is given) and report (when ``report_path`` is given) a scenario.

    A scenario with distributions runs with every uncertain input at its median (``quantile``: at its own
    ``quantile``-quantile; the Dataset's ``scenario_quantile`` attribute says which). That is one scenario, not
    the ``quantile`` of any outcome: ``fab2token sweep`` gives those.

    The store and the report path are checked before anything is simulated (a report path may not be an input of
    the run), so a bad file or path leaves the store untouched; the report is written atomically, and if it cannot be
    written after the run was stored, the run is removed again (:class:`fab2token.errors.OutputError`).

    Parameters
    ----------
    path : str or Path
        The scenario file (YAML).
    db : str or Path, optional
        The results store to keep the run in (``fab2token.duckdb`` by default); None keeps nothing.
    report_path : str or Path, optional
        Where to write the run's HTML report.
    quantile : float
        The quantile every uncertain input is taken at (0.5: its median).

    Returns
    -------
    RunResult
        The run's id (None when not stored), its Dataset and its summary (the keys of ``fab2token run --json``).

    Raises
    ------
    ScenarioError
        Every problem in the scenario, with file, field path, value and expectation.
    StoreError
        A store that cannot be opened or is not a fab2token store (nothing is simulated then).
    OutputError
        A report path that cannot be written (the run is removed from the store again).
    """
    from fab2token.io.outputs import check_output, scenario_inputs, write_outputs

    if db is not None:
        store.check_store(db)
    if report_path is not None:
        check_output(report_path, "report_path", [path, db])
    sc, text = load_scenario(path, quantile)
    ds = simulate(sc)
    if sc.operations is not None:  # the hourly layer's answers in place of the monthly ones (both kept)
        from fab2token.operations.run import fold_into, operate

        ds = fold_into(ds, operate(sc, ds))
    ds.attrs["scenario_quantile"] = float(quantile)
    if report_path is not None:
        check_output(report_path, "report_path", [path, db, *scenario_inputs(sc)])
    run_id = None
    if db is not None:
        run_id = store.save_run(db, ds, summarise(ds).to_dict(), text, str(path))
    summary = summarise(ds, run_id)
    written = None
    if report_path is not None:
        try:
            (written,) = write_outputs(
                [(Path(report_path), "report_path", lambda tmp: report.write_report(tmp, ds, summary.to_dict()))]
            )
        except BaseException as exc:
            if run_id is not None and db is not None:
                store.delete_run(db, run_id)
            if isinstance(exc, Fab2TokenError):
                raise OutputError(f"{exc}; run {run_id} was not kept in {db}") from None
            raise
    return RunResult(run_id, sc, ds, summary, written)


SUPPLY_KEYS = (
    "accelerator",
    "months",
    "month_labels",
    "gross_dies_per_wafer",
    "die_yield",
    "good_dies_per_wafer",
    "die_yield_by_month",
    "wafers_out_by_month",
    "accelerators_per_month",
    "accelerators_total",
    "limiting_step_by_month",
    "units_from_wafers_by_month",
    "units_from_packaging_by_month",
    "units_from_hbm_by_month",
    "cost_per_accelerator_usd",
    "cost_breakdown_usd",
)


def supply_lookup(
    supply_section: dict, months: int = 24, start: str = "2026-01", overrides: dict | None = None
) -> dict:
    """Quick supply chain for one accelerator, without sites or economics.

    ``supply_section`` has the scenario file's ``supply`` shape (validated by the same model, so a bad value is
    reported with its field path).

    Parameters
    ----------
    supply_section : dict
        The ``supply`` section of a scenario: accelerator, fab, packaging, HBM.
    months : int
        How many months to run.
    start : str
        The first month, ``YYYY-MM``.
    overrides : dict, optional
        Catalog rows to add or change, by table (the scenario's ``catalog:`` section).

    Returns
    -------
    dict
        The keys of :data:`SUPPLY_KEYS`: each step's monthly output, yield, cost per good accelerator.

    Raises
    ------
    ScenarioError
        Every bad value, with its field path.
    """
    import numpy as np
    from pydantic import ValidationError

    from fab2token.errors import InputIssue, ScenarioError
    from fab2token.scenario.checks import expected as _expected
    from fab2token.scenario.checks import loc as _loc
    from fab2token.scenario.models import Horizon, Supply
    from fab2token.scenario.runcheck import number_problem
    from fab2token.scenario.timeline import month_axis, month_labels
    from fab2token.supply.chain import chain, inputs_from_supply

    where = "<command line>"
    issues = []
    for path, model, data in (
        ("supply.", Supply, supply_section),
        ("", Horizon, {"start": start, "months": months}),
    ):
        try:
            model.model_validate(data)
        except ValidationError as exc:
            issues += [InputIssue(where, path + _loc(e["loc"]), e.get("input"), _expected(e)) for e in exc.errors()]
    for table, rows in (overrides or {}).items():
        for name, fields in rows.items():
            for field, value in fields.items():
                problem = number_problem(table, name, field, value)
                if problem is not None:
                    issues.append(InputIssue(where, f"catalog.{table}.{name}.{field}", value, problem))
    if issues:
        raise ScenarioError(issues)
    sup = Supply.model_validate(supply_section)
    axis = month_axis(start, months)
    out = chain(inputs_from_supply(sup, axis, start, overrides))
    delivered = np.diff(np.floor(np.cumsum(out["accelerators_delivered"]) + 1e-9), prepend=0.0)
    last = -1

    def lst(a: np.ndarray) -> list[float]:
        return [float(x) for x in np.asarray(a, dtype=float)]

    return {
        "accelerator": sup.accelerator,
        "months": months,
        "month_labels": month_labels(axis),
        "gross_dies_per_wafer": int(out["gross_dies_per_wafer"][last]),
        "die_yield": float(out["die_yield"][last]),
        "good_dies_per_wafer": float(out["gross_dies_per_wafer"][last] * out["die_yield"][last]),
        "die_yield_by_month": lst(out["die_yield"]),
        "wafers_out_by_month": lst(out["wafers_out"]),
        "accelerators_per_month": lst(delivered),
        "accelerators_total": float(delivered.sum()),
        "limiting_step_by_month": [str(x) for x in out["limiting_step"]],
        "units_from_wafers_by_month": lst(out["units_from_wafers"]),
        "units_from_packaging_by_month": lst(out["units_from_packaging"]),
        "units_from_hbm_by_month": lst(out["units_from_hbm"]),
        "cost_per_accelerator_usd": float(out["cost_usd_per_accelerator"][last]),
        "cost_breakdown_usd": {
            "wafer": float(out["cost_wafer_usd_per_accelerator"][last]),
            "packaging": float(out["cost_packaging_usd_per_accelerator"][last]),
            "hbm": float(out["cost_hbm_usd_per_accelerator"][last]),
        },
    }


def race_file(
    path: str | Path,
    report_path: str | Path | None = None,
    draws: int = 0,
    seed: int = 0,
    respond_rounds: int = 0,
    db: str | Path | None = None,
) -> dict:
    """Validate and run a race file (``fab2token race``).

    Parameters
    ----------
    path : str or Path
        The race file (YAML): horizon, world, allocation, players, counterfactuals.
    report_path : str or Path, optional
        Where to write the race's page (atomically); checked before anything runs, never the race file.
    draws : int
        Races on world capacities drawn within their published ranges (0: none); adds ``draws``.
    seed : int
        Seed of those draws.
    respond_rounds : int
        Rounds of best responses through the planner (0: none); adds ``best_responses``.
    db : str or Path, optional
        A results store to keep the race in (checked before anything runs); adds ``race_id`` and ``db``.

    Returns
    -------
    dict
        The keys of :data:`fab2token.race.run.RACE_KEYS` (players, world pools by month, counterfactuals), and
        ``draws``, ``best_responses``, ``report`` and ``race_id`` when asked for.

    Raises
    ------
    ScenarioError
        Every problem in the race file or a player's scenario, with file, field path, value and expectation.
    OutputError
        A report path that cannot be written.
    """
    from fab2token.io.outputs import check_output, write_outputs
    from fab2token.io.race_report import write_race_report
    from fab2token.race.run import run_race
    from fab2token.scenario.raceload import load_race

    if report_path is not None:
        check_output(report_path, "--report", [path])
    if db is not None:
        from fab2token.io.storefile import check_store

        check_store(db)
    from fab2token.options import Number, check_options

    check_options(
        "race_file",
        {"draws": draws, "seed": seed, "respond_rounds": respond_rounds},
        {
            "draws": Number(0, 100_000, whole=True),
            "seed": Number(0, 2**32 - 1, whole=True),
            "respond_rounds": Number(0, 1000, whole=True),
        },
        {"respond_rounds": "--respond"},
    )
    loaded = load_race(path)
    result = run_race(loaded).to_dict()
    if draws:
        from fab2token.race.draws import run_race_draws

        result["draws"] = run_race_draws(loaded, draws, seed)
    if respond_rounds:
        from fab2token.race.respond import best_responses

        result["best_responses"] = best_responses(loaded, respond_rounds)
    if report_path is not None:
        (written,) = write_outputs([(Path(report_path), "--report", lambda tmp: write_race_report(tmp, result))])
        result["report"] = str(written)
    if db is not None:
        from fab2token.io.race_store import save_race

        result["race_id"] = save_race(db, result, Path(path).read_text(encoding="utf-8"), str(path))
        result["db"] = str(db)
    return result


def operate_file(path: str | Path, draws: int = 0, report_path: str | Path | None = None) -> dict:
    """Validate a scenario, run the engine, then its fleet hour by hour (``fab2token operate``).

    Parameters
    ----------
    path : str or Path
        A scenario file with an ``operations`` section.
    draws : int
        Further runs of the hourly layer with seeds ``seed + 1`` ... (0: none); adds ``draws`` (P10/P50/P90).
    report_path : str or Path, optional
        Where to write the hourly page (atomically); checked before anything runs, never the scenario.

    Returns
    -------
    dict
        The keys of :data:`fab2token.operations.run.OPERATE_KEYS`, and ``draws`` and ``report`` when asked for.

    Raises
    ------
    ScenarioError
        A scenario that cannot be used (file, field path, value, expectation).
    ModelError
        A scenario without an ``operations`` section.
    """
    from fab2token.operations.run import operate, operate_draws
    from fab2token.options import Number, check_options

    check_options("operate_file", {"draws": draws}, {"draws": Number(0, 10_000, whole=True)})
    if report_path is not None:
        from fab2token.io.outputs import check_output

        check_output(report_path, "--report", [path])
    sc, _ = load_scenario(path)
    o = operate(sc)
    out = o.to_dict()
    if report_path is not None:
        from fab2token.io.operate_report import write_operate_report
        from fab2token.io.outputs import write_outputs

        (written,) = write_outputs([(Path(report_path), "--report", lambda tmp: write_operate_report(tmp, o))])
        out["report"] = str(written)
    if draws:
        out["draws"] = operate_draws(sc, draws)
    return out
