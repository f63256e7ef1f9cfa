"""Shared pieces of the command line: the app, consoles, option types, error handling and table printing."""

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

from fab2token import catalog as _catalog
from fab2token.errors import Fab2TokenError, ScenarioError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Plan and simulate AI compute infrastructure from wafer to token."
)
catalog_app = typer.Typer(no_args_is_help=True, help="Print the shipped catalog tables (every row has a source).")
app.add_typer(catalog_app, name="catalog")

# piped output (files, CI logs) gets a wide page rather than rich's 80-column default
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
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


def _fmt_float(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    if abs(v) >= 1e9:
        return f"{v:.4g}"
    if abs(v) >= 100 or v == int(v):
        return f"{v:,.1f}"
    return f"{v:.4g}"


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
            t.add_row(k, _fmt_float(v))
        else:
            t.add_row(k, str(v))
    return t


def _num(v: float) -> str:
    if not math.isfinite(v):
        return "unlimited" if v == math.inf else "n/a"
    return f"{v:,.0f}"


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
