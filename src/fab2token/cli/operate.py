"""Operations: the installed fleet run hour by hour (``fab2token operate``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fab2token.cli.common import JsonOpt, _print_json, app, handles_errors, out


@app.command()
@handles_errors
def operate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file with an operations section.")],
    draws: Annotated[
        int, typer.Option("--draws", help="Also run this many draws of failures and spikes (seeds seed, seed+1, ...).")
    ] = 0,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the hourly page (demand vs served, the fleet) here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the installed fleet hour by hour: demand shape and spikes, failures and repairs, outages, and the policy
    that shares the fleet between training and inference; SLO attainment, unmet tokens, training finish and goodput."""
    from fab2token.api import operate_file

    d = operate_file(scenario, draws, report)
    if as_json:
        _print_json(d)
        return
    _print(d)
    if d.get("draws"):
        _print_draws(d["draws"])
    if d.get("report"):
        out.print(f"operations page: {d['report']}")


def _pct(v: Any) -> str:
    return "-" if v is None else f"{v:.1%}"


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:,.2f}"


def _print(d: dict[str, Any]) -> None:
    inf = d["inference"]
    t = Table(title=f"operate {d['scenario']}: {d['hours']:,} hours, policy {d['policy']}", show_header=False)
    rows = [
        ("inference SLO attainment (tokens served / asked)", _pct(inf["slo_attainment_frac"])),
        ("hours with all demand served", _pct(inf["hours_fully_served_frac"])),
        ("unmet tokens", f"{inf['unmet_tokens']:.4g}"),
        (
            "largest spike absorbed (x demand)",
            "-" if inf["largest_spike_absorbed"] is None else f"{inf['largest_spike_absorbed']:.2f}",
        ),
        ("failures", f"{d['failures']['failures']:,}"),
        ("mean domains in repair (waiting included)", f"{d['failures']['mean_domains_in_repair']:,.2f}"),
        ("mean wait for a repair crew (h)", _num(d["failures"]["mean_wait_for_crew_hours"])),
        ("mean accelerators down (beyond spares)", f"{d['failures']['mean_accelerators_down']:,.1f}"),
    ]
    for k, v in rows:
        t.add_row(k, v)
    out.print(t)
    t = Table(title="training runs")
    for col in ("run", "status", "start", "finish", "goodput", "interruptions", "preemptions", "lost hours"):
        t.add_column(col)
    for r in d["training_runs"]:
        t.add_row(
            r["name"],
            str(r["status"]),
            str(r.get("start") or "-"),
            str(r.get("finish") or "-"),
            _pct(r.get("goodput")),
            str(r.get("interruptions", "-")),
            str(r.get("preemptions", "-")),
            "-" if r.get("lost_hours") is None else f"{r['lost_hours']:.1f}",
        )
    out.print(t)


def _print_draws(dr: dict[str, Any]) -> None:
    slo = dr["slo_attainment_frac"]
    t = Table(title=f"{dr['draws']} draws (seeds {dr['seeds'][0]}-{dr['seeds'][1]})")
    for col in ("", "P10", "P50", "P90"):
        t.add_column(col)
    t.add_row("SLO attainment", *(_pct(slo[f"p{p}"]) for p in (10, 50, 90)))
    for r in dr["training_runs"]:
        t.add_row(
            f"{r['name']} finish ({r['finished_frac']:.0%} finish)",
            *(str(r[f"finish_p{p}"] or "not") for p in (10, 50, 90)),
        )
        t.add_row(f"{r['name']} goodput", *(_pct(r["goodput"][f"p{p}"]) for p in (10, 50, 90)))
    out.print(t)
