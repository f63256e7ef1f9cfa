"""Stored plans and comparisons: ``plans`` lists them, ``compare`` sets two runs or plans side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fab2token.cli.common import DbOpt, JsonOpt, _print_json, app, handles_errors, out
from fab2token.cli.runs import DEFAULT_DB


@app.command()
@handles_errors
def plans(db: DbOpt = Path(DEFAULT_DB), as_json: JsonOpt = False) -> None:
    """List stored plans, newest first."""
    from fab2token.io import plan_store

    rows = plan_store.list_plans(db)
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"plans in {db}")
    for col in ("plan_id", "created_at", "scenario", "status", "objective_usd", "draws"):
        t.add_column(col)
    for r in rows:
        draws = "" if r["draws"] is None else f"{r['draws']:,} (expected cost)"
        t.add_row(r["plan_id"], r["created_at"], r["scenario"], r["status"], f"{r['objective_usd']:,.0f}", draws)
    out.print(t)


@app.command()
@handles_errors
def races(db: DbOpt = Path(DEFAULT_DB), as_json: JsonOpt = False) -> None:
    """List stored races, newest first."""
    from fab2token.io import race_store

    rows = race_store.list_races(db)
    if as_json:
        _print_json(rows)
        return
    t = Table(title=f"races in {db}")
    for col in ("race_id", "created_at", "race", "players", "months", "file"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["race_id"], r["created_at"], r["race"], str(r["players"]), str(r["months"]), r["file"])
    out.print(t)


@app.command()
@handles_errors
def compare(
    a: Annotated[str, typer.Argument(help="First run or plan id (or a unique prefix).")],
    b: Annotated[str, typer.Argument(help="Second run or plan id (or a unique prefix).")],
    db: DbOpt = Path(DEFAULT_DB),
    report: Annotated[Path | None, typer.Option("--report", help="Write the comparison page (HTML) here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Two stored runs or plans side by side: the inputs that differ, the headline numbers, the series overlaid."""
    from fab2token.io.compare import compare as _compare
    from fab2token.io.compare import write_compare_page
    from fab2token.io.outputs import check_outputs, write_outputs

    check_outputs([(report, "--report")], [db])
    cmp = _compare(db, a, b)
    if report is not None:
        write_outputs([(report, "--report", lambda tmp: write_compare_page(tmp, cmp))])
    if as_json:
        _print_json(cmp)
        return
    la, lb = (f"{cmp[k]['kind']} {cmp[k]['id']}" for k in ("a", "b"))
    t = Table(title=f"inputs that differ ({cmp['inputs_count']:,})")
    for col in ("field", la, lb):
        t.add_column(col)
    for d in cmp["inputs"][:50]:
        t.add_row(d["path"], _text(d["a"]), _text(d["b"]))
    out.print(t)
    t = Table(title="numbers")
    for col in ("number", la, lb, "change", "relative"):
        t.add_column(col, justify="right")
    for k, v in cmp["numbers"].items():
        rel = "" if v["relative"] is None else f"{v['relative']:+.1%}"
        t.add_row(k, f"{v['a']:,.4g}", f"{v['b']:,.4g}", f"{v['change']:+,.4g}", rel)
    out.print(t)
    if report is not None:
        out.print(f"series overlaid: {report}", highlight=False)


def _text(value: object) -> str:
    from fab2token.errors import shown

    return "(absent)" if value is None else shown(value, 60)
