"""The ``fab2token`` command: a thin shell that parses, calls the Python API and prints."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from . import catalog as _catalog
from . import store
from .api import run_file
from .errors import Fab2TokenError, ScenarioError
from .scenario import load_scenario

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Plan and simulate AI compute infrastructure from wafer to token."
)
catalog_app = typer.Typer(no_args_is_help=True, help="Print the shipped catalog tables (every row has a source).")
app.add_typer(catalog_app, name="catalog")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON (stable keys, see README).")]
DbOpt = Annotated[Path, typer.Option("--db", help="DuckDB results store.")]


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(_clean(obj), indent=2) + "\n")


def handles_errors(fn: F) -> F:
    """Turn fab2token's own errors into a clear message on stderr and exit status 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ScenarioError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None
        except Fab2TokenError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _summary_table(summary: dict[str, Any], title: str) -> Table:
    t = Table(title=title, show_header=False)
    for k, v in summary.items():
        if k == "binding_constraint_by_month":
            runs: list[str] = []
            labels = summary.get("month_labels", [])
            for i, b in enumerate(v):
                if i == 0 or v[i - 1] != b:
                    runs.append(f"{labels[i] if i < len(labels) else i}: {b}")
            t.add_row(k, ", ".join(runs))
        elif k == "month_labels":
            t.add_row("period", f"{v[0]} .. {v[-1]}" if v else "")
        elif isinstance(v, float):
            t.add_row(k, f"{v:,.1f}")
        else:
            t.add_row(k, str(v))
    return t


@app.command()
@handles_errors
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    db: DbOpt = Path(store.DEFAULT_DB),
    report: Annotated[
        Path | None, typer.Option("--report", help="HTML report path (default: report-RUNID.html).")
    ] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not write the HTML report.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate, simulate, store and report a scenario."""
    result = run_file(scenario, db, None)
    summary = result.summary.to_dict()
    path = None
    if not no_report:
        from .report import write_report

        path = write_report(report or Path(f"report-{result.run_id}.html"), result.dataset, summary)
    if as_json:
        _print_json(summary | {"report": str(path) if path else None, "db": str(db)})
        return
    out.print(_summary_table(summary, f"run {result.run_id} — {result.scenario.name}"))
    out.print(
        f"stored in [bold]{db}[/] as run [bold]{result.run_id}[/]" + (f"; report: [bold]{path}[/]" if path else "")
    )


@app.command()
@handles_errors
def validate(scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")]) -> None:
    """Check a scenario file: exit 0 and one OK line, or exit 2 listing every problem."""
    sc, _ = load_scenario(scenario)
    out.print(
        f"OK: {scenario} ({sc.name}: {sc.horizon.months} months from {sc.horizon.start}, "
        f"{len(sc.sites)} site{'s' if len(sc.sites) != 1 else ''}, {sc.accelerator_spec()['name']})",
        highlight=False,
    )


@app.command()
@handles_errors
def runs(db: DbOpt = Path(store.DEFAULT_DB), as_json: JsonOpt = False) -> None:
    """List stored runs, newest first."""
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
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    db: DbOpt = Path(store.DEFAULT_DB),
    as_json: JsonOpt = False,
) -> None:
    """Print one stored run's summary."""
    meta = store.load_run(db, run_id)
    if as_json:
        _print_json(meta["summary"] | {"created_at": meta["created_at"], "file": meta["file"]})
        return
    out.print(_summary_table(meta["summary"], f"run {meta['run_id']} — {meta['scenario']} ({meta['created_at']})"))


@catalog_app.command("accelerators")
@handles_errors
def catalog_accelerators(as_json: JsonOpt = False) -> None:
    """The accelerator catalog."""
    _print_table("accelerators", as_json)


@catalog_app.command("process-nodes")
@handles_errors
def catalog_process_nodes(as_json: JsonOpt = False) -> None:
    """Process nodes: defect density, wafer price, reticle limit."""
    _print_table("process_nodes", as_json)


@catalog_app.command("overheads")
@handles_errors
def catalog_overheads(as_json: JsonOpt = False) -> None:
    """Power overhead factors used for all-in power per accelerator."""
    _print_table("overheads", as_json)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _print_table(table: str, as_json: bool) -> None:
    rows = _catalog.table_rows(table)
    if as_json:
        _print_json(rows)
        return
    key = _catalog.TABLES[table]
    cols = [c for c in rows[0] if c not in ("source", "notes", "aliases", key)]
    t = Table(title=f"catalog: {table} (sources and notes: --json)")
    t.add_column("field", no_wrap=True)
    for r in rows:
        t.add_column(str(r[key]), justify="right")
    for c in cols:
        t.add_row(c, *(_cell(r[c]) for r in rows))
    out.print(t)


if __name__ == "__main__":  # pragma: no cover
    app()
