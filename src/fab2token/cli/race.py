"""The race: several players contesting the same scarce supply (``fab2token race``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fab2token.cli.common import JsonOpt, _print_json, app, handles_errors, out


@app.command()
@handles_errors
def race(
    race_file: Annotated[Path, typer.Argument(help="Race YAML file: world, players, allocation, counterfactuals.")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Write the race's page (race chart, pools, bottlenecks) here.")
    ] = None,
    draws: Annotated[
        int, typer.Option("--draws", help="Also run this many races on world capacities drawn in their ranges.")
    ] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the draws.")] = 0,
    respond: Annotated[
        int,
        typer.Option("--respond", help="Iterate the players' best-response plans for at most this many rounds."),
    ] = 0,
    db: Annotated[
        Path | None, typer.Option("--db", help="Keep the race in this results store (`races` lists them).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Share the world's wafers, packaging, HBM and market accelerators among the players, run each player on what
    it got, and say who gets there first, what holds each back, and what each counterfactual changes."""
    from fab2token.api import race_file as run

    result = run(race_file, report, draws, seed, respond, db)
    if as_json:
        _print_json(result)
        return
    _print_race(result)


def _month(labels: list[str], values: list[float], needed: float) -> str:
    return next((m for m, v in zip(labels, values, strict=True) if v >= needed), "-")


def _print_race(d: dict[str, Any]) -> None:
    months = d["month_labels"]
    t = Table(title=f"race {d['race']}: {months[0]} to {months[-1]}")
    for col in (
        "player",
        "installed at the end",
        "peak FLOP/s at the end",
        "largest run by the end [FLOP]",
        "spend incl. auctions [USD]",
        "targets (first month it can finish)",
        "held back most by",
    ):
        t.add_column(
            col,
            justify="left"
            if col in ("player", "targets (first month it can finish)", "held back most by")
            else "right",
        )
    for p in d["players"]:
        binding = max(set(p["binding_by_month"]), key=p["binding_by_month"].count) if p["binding_by_month"] else "-"
        targets = "; ".join(f"{x['name']}: {x['met_month'] or 'not by ' + months[-1]}" for x in p["targets"]) or "-"
        t.add_row(
            p["name"],
            f"{p['accelerators_installed_end']:,.0f}",
            f"{p['compute_flop_per_s_end']:.3g}",
            f"{p['largest_run_flop_by_month'][-1]:.3g}",
            f"{p['spend_usd_total']:.3g}",
            targets,
            binding,
        )
    out.print(t)
    t = Table(title="world pools (totals over the horizon)")
    for col in ("pool", "rule", "unit", "capacity", "requested", "granted"):
        t.add_column(col, justify="left" if col in ("pool", "rule", "unit") else "right")
    for w in d["world"]:
        t.add_row(
            f"{w['resource']} {w['key']}",
            w["rule"],
            w["unit"].replace("/month", ""),
            *(f"{sum(w[k]):,.0f}" for k in ("capacity_by_month", "requested_by_month", "granted_by_month")),
        )
    out.print(t)
    for cf in d["counterfactuals"]:
        t = Table(title=f"counterfactual {cf['name']} ({cf['player']})")
        for col in ("player", "peak FLOP/s at the end: race", "variant", "targets: race → variant"):
            t.add_column(col)
        for p in cf["players"]:
            if not p["in_variant"]:
                t.add_row(p["name"], "-", "not in the variant", "-")
                continue
            a, b = p["compute_flop_per_s_end"]
            met = "; ".join(f"{n}: {x or '-'} → {y or '-'}" for n, x, y in p["targets_met_month"])
            t.add_row(p["name"], f"{a:.3g}", f"{b:.3g}", met)
        out.print(t)
    if d.get("draws"):
        _print_draws(d["draws"])
    if d.get("best_responses"):
        _print_responses(d["best_responses"])
    if d.get("report"):
        out.print(f"race page: {d['report']}")
    if d.get("race_id"):
        out.print(f"stored in {d['db']} as race {d['race_id']}", highlight=False)


def _print_draws(dr: dict[str, Any]) -> None:
    t = Table(title=f"{dr['draws']} races on drawn world capacities (seed {dr['seed']}): who gets there first")
    for col in ("player", "target", "first", "met by deadline", "P10", "P50", "P90"):
        t.add_column(col, justify="left" if col in ("player", "target") else "right")
    for p in dr["players"]:
        for x in p["targets"]:
            t.add_row(
                p["name"],
                x["name"],
                f"{x['first_frac']:.0%}",
                f"{x['met_by_deadline_frac']:.0%}",
                *(x[f"met_month_p{q}"] or "not met" for q in (10, 50, 90)),
            )
    out.print(t)


def _print_responses(br: dict[str, Any]) -> None:
    said = "converged" if br["converged"] else "did NOT converge"
    t = Table(
        title=f"best responses: {said} after {br['rounds']} rounds (largest change {br['change_by_round'][-1]:.2g} "
        f"of a pool, tolerance {br['rtol']:g})"
    )
    for col in ("player", "plan", "cost [USD]", "bought from the market pools", "unmet targets"):
        t.add_column(col, justify="right" if col in ("cost [USD]", "bought from the market pools") else "left")
    for p in br["players"]:
        if not p["planned"]:
            t.add_row(p["name"], "no targets", "-", "-", "-")
            continue
        bought = sum(sum(v) for v in p["bought_by_pool"].values())
        unmet = ", ".join(str(u.get("target", u)) for u in p["unmet"]) or "-"
        t.add_row(p["name"], p["status"], f"{p['objective_usd']:,.0f}", f"{bought:,.0f}", unmet)
    out.print(t)
