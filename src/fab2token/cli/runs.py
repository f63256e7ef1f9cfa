"""Commands on scenario runs: run, validate, runs, show."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from fab2token.cli.common import (
    DbOpt,
    JsonOpt,
    _print_json,
    _summary_table,
    app,
    err,
    handles_errors,
    out,
)
from fab2token.errors import Fab2TokenError, OutputError

if TYPE_CHECKING:
    from fab2token.api import RunResult
    from fab2token.scenario import Scenario

# the store's default file; its module (duckdb, pandas, xarray) is imported only by the commands that use it
DEFAULT_DB = "fab2token.duckdb"

# what the message calls the report when --report was not given
_DEFAULT_REPORT = "the report (report-RUNID.html by default; --report PATH or --no-report)"


@app.command()
@handles_errors
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    db: DbOpt = Path(DEFAULT_DB),
    report: Annotated[
        Path | None, typer.Option("--report", help="HTML report path (default: report-RUNID.html).")
    ] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the HTML report.")] = False,
    quantile: Annotated[
        float, typer.Option("--quantile", help="Uncertain inputs each at this quantile of its own (0.5: medians).")
    ] = 0.5,
    as_json: JsonOpt = False,
) -> None:
    """Validate, simulate, store and report a scenario.

    The store and the report path are checked before anything is simulated; if the report then cannot be written,
    the stored run is removed again, so no run is kept without its report.
    """
    from fab2token.api import run_file
    from fab2token.io import store
    from fab2token.io.outputs import check_output

    store.check_store(db)
    if not no_report:
        check_output(report or Path("report-RUNID.html"), "--report" if report else _DEFAULT_REPORT, [scenario, db])
    result = run_file(scenario, db, None, quantile)
    summary = result.summary.to_dict()
    path = None if no_report else _write_run_report(result, report, [scenario, db])
    _say_medians(result.scenario, as_json, quantile)
    if as_json:
        _print_json(summary | {"report": str(path) if path else None, "db": str(db)})
        return
    out.print(_summary_table(summary, f"run {result.run_id} — {result.scenario.name}"))
    line = Text.assemble("stored in ", (str(db), "bold"), " as run ", (str(result.run_id), "bold"))
    if path:
        line.append_text(Text.assemble("; report: ", (str(path), "bold")))
    out.print(line)


def _say_medians(sc: Scenario, as_json: bool, quantile: float = 0.5) -> None:
    """A scenario with distributions runs its median draw (or every input at one quantile): say so (on stderr with
    --json, which keeps stdout JSON)."""
    from fab2token.scenario.uncertain import uncertain_inputs

    n = len(uncertain_inputs(sc))
    if n:
        which = "their medians" if quantile == 0.5 else f"each one's own {quantile:g}-quantile"
        line = f"scenario has {n} uncertain input{'s' if n != 1 else ''}; this run uses {which}"
        (err if as_json else out).print(f"{line} (`fab2token sweep` gives the outcomes' ranges)", highlight=False)


def _write_run_report(result: RunResult, report: Path | None, inputs: list[Path]) -> Path:
    """Write the run's report atomically; on any failure remove the run from the store again and say so."""
    from fab2token.io import store
    from fab2token.io.outputs import check_output, scenario_inputs, write_outputs
    from fab2token.io.report import write_report

    path = report or Path(f"report-{result.run_id}.html")
    summary = result.summary.to_dict()
    db = inputs[1]
    try:
        check_output(path, "--report", [*inputs, *scenario_inputs(result.scenario)])
        write_outputs([(path, "--report", lambda tmp: write_report(tmp, result.dataset, summary))])
    except BaseException as exc:
        try:
            if result.run_id:
                store.delete_run(db, result.run_id)
        except Fab2TokenError as undo:
            raise OutputError(f"{exc}; and run {result.run_id} could not be removed from {db} again: {undo}") from exc
        if isinstance(exc, Fab2TokenError):
            raise OutputError(f"{exc}; run {result.run_id} was not kept in {db}") from None
        raise
    return path


@app.command()
@handles_errors
def validate(scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")]) -> None:
    """Check a scenario file: exit 0 and one OK line, or exit 2 listing every problem."""
    from fab2token.scenario import load_scenario
    from fab2token.scenario.uncertain import uncertain_inputs

    sc, _ = load_scenario(scenario)
    n = len(uncertain_inputs(sc))
    uncertain = f", {n} uncertain input{'s' if n != 1 else ''}" if n else ""
    out.print(
        f"OK: {scenario} ({sc.name}: {sc.horizon.months} months from {sc.horizon.start}, "
        f"{len(sc.sites)} site{'s' if len(sc.sites) != 1 else ''}, {sc.accelerator_spec()['name']}{uncertain})",
        highlight=False,
    )


@app.command()
@handles_errors
def runs(db: DbOpt = Path(DEFAULT_DB), as_json: JsonOpt = False) -> None:
    """List stored runs, newest first."""
    from fab2token.io import store

    rows = store.list_runs(db)
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"runs in {db}")
    for col in ("run_id", "created_at", "scenario", "months", "accelerators_installed_end", "capex_usd_total"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            *(
                f"{r[c]:,.0f}" if isinstance(r[c], float) else str(r[c])
                for c in ("run_id", "created_at", "scenario", "months", "accelerators_installed_end", "capex_usd_total")
            )
        )
    out.print(t)


@app.command()
@handles_errors
def show(
    run_id: Annotated[str, typer.Argument(help="Run, plan, sweep or race id (or a unique prefix).")],
    db: DbOpt = Path(DEFAULT_DB),
    as_json: JsonOpt = False,
) -> None:
    """Print one stored run's summary, one stored plan, one stored sweep's ranges, or one stored race."""
    from fab2token.io import plan_store, store

    if _race_only(db, run_id):
        from fab2token.cli.race import _print_race
        from fab2token.io.race_store import load_race

        meta = load_race(db, run_id)
        result = meta["result"] | {"race_id": meta["race_id"], "created_at": meta["created_at"]}
        _print_json(result) if as_json else _print_race(result | {"db": str(db)})
        return
    if _sweep_only(db, run_id):
        from fab2token.cli.sweeps import _print_sweep
        from fab2token.sweep.summary import summarise_sweep

        summary = summarise_sweep(db, run_id)
        _print_json(summary) if as_json else _print_sweep(summary)
        return
    if _plan_not_run(db, run_id):
        from types import SimpleNamespace

        from fab2token.cli.planning import _print_plan

        meta = plan_store.load_plan(db, run_id)
        if as_json:
            _print_json(meta["result"] | {"plan_id": meta["plan_id"], "created_at": meta["created_at"]})
            return
        out.print(f"plan {meta['plan_id']} — {meta['scenario']} ({meta['created_at']})", highlight=False)
        if plan_store.under_uncertainty(meta["result"]):
            from fab2token.cli.planning import _print_stochastic

            _print_stochastic(SimpleNamespace(**meta["result"]))
        else:
            _print_plan(SimpleNamespace(**meta["result"]))
        return
    meta = store.load_run(db, run_id)
    if as_json:
        _print_json(meta["summary"] | {"created_at": meta["created_at"], "file": meta["file"]})
        return
    out.print(_summary_table(meta["summary"], f"run {meta['run_id']} — {meta['scenario']} ({meta['created_at']})"))


def _no_run(db: Path, ident: str) -> bool:
    """No stored run has the id (or prefix) ``ident``."""
    from fab2token.io import store

    try:
        store.load_run(db, ident)
    except store.StoreError:
        return True
    return False


def _sweep_only(db: Path, ident: str) -> bool:
    """``ident`` names a stored sweep and no stored run or plan."""
    from fab2token.io import plan_store, sweep_store

    return sweep_store.is_sweep(db, ident) and not plan_store.is_plan(db, ident) and _no_run(db, ident)


def _race_only(db: Path, ident: str) -> bool:
    """``ident`` names a stored race and no stored run, plan or sweep."""
    from fab2token.io import plan_store, race_store, sweep_store

    return (
        race_store.is_race(db, ident)
        and not plan_store.is_plan(db, ident)
        and not sweep_store.is_sweep(db, ident)
        and _no_run(db, ident)
    )


def _plan_not_run(db: Path, ident: str) -> bool:
    """``ident`` names a stored plan and no stored run."""
    from fab2token.io import plan_store

    return plan_store.is_plan(db, ident) and _no_run(db, ident)


@app.command()
@handles_errors
def schema() -> None:
    """Print the scenario file's JSON Schema (for editors: docs/scenario.schema.json is the same, committed)."""
    from fab2token.scenario.schema import scenario_json_schema

    _print_json(scenario_json_schema())
