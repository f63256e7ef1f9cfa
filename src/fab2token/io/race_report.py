"""A race's page: the race chart (compute installed over time, per player), the largest training run each player
could finish by each month, each world pool's capacity against what was asked and granted, and each player's
bottleneck month by month; then the targets and the counterfactuals as tables. Read from the JSON of
:meth:`fab2token.race.run.RaceResult.to_dict`, so the CLI's ``--json`` and the page say the same thing."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from fab2token.io.charts import chart_fragments
from fab2token.io.report import _CSS, _layout, _strips, _write_atomic

__all__ = ["race_figures", "race_tables_html", "render_race_report", "write_race_report"]


def race_figures(d: dict[str, Any]) -> dict[str, go.Figure]:
    """Every figure of a race's page, keyed by name."""
    months = d["month_labels"]
    figs: dict[str, go.Figure] = {}
    f = go.Figure()
    for p in d["players"]:
        f.add_scatter(x=months, y=p["compute_flop_per_s_by_month"], name=p["name"], mode="lines")
    figs["race"] = _layout(f, "The race: dense BF16 peak installed and powered, per player", "FLOP/s")
    f = go.Figure()
    for p in d["players"]:
        f.add_scatter(x=months, y=p["largest_run_flop_by_month"], name=p["name"], mode="lines")
    f.update_yaxes(type="log")
    figs["largest_run"] = _layout(
        f, "Largest training run finishing by each month on one cluster (peak FLOP; times MFU x goodput)", "FLOP"
    )
    for w in d["world"]:
        f = go.Figure()
        f.add_scatter(x=months, y=w["capacity_by_month"], name="capacity open to the players", line={"dash": "dash"})
        f.add_scatter(x=months, y=w["requested_by_month"], name="requested")
        f.add_scatter(x=months, y=w["granted_by_month"], name="granted")
        figs[f"pool:{w['resource']}:{w['key']}"] = _layout(
            f, f"World {w['resource']} {w['key']} ({w['rule']})", w["unit"]
        )
    figs["binding"] = _strips(
        months, {p["name"]: p["binding_by_month"] for p in d["players"]}, "What holds each player back, by month"
    )
    return figs


def _targets_table(d: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(p['name'])}</td><td>{html.escape(t['name'])}</td><td>{t['flops']:.3g}</td>"
        f"<td>{html.escape(t['deadline'])}</td><td>{html.escape(t['met_month'] or 'not in the horizon')}</td></tr>"
        for p in d["players"]
        for t in p["targets"]
    )
    head = "<tr><th>player</th><th>target</th><th>FLOP</th><th>deadline</th><th>first month it can finish</th></tr>"
    return f"<table>{head}{rows}</table>"


def _counterfactuals_table(d: dict[str, Any]) -> str:
    rows = []
    for cf in d["counterfactuals"]:
        for p in cf["players"]:
            if not p["in_variant"]:
                rows.append(
                    f"<tr><td>{html.escape(cf['name'])}</td><td>{html.escape(p['name'])}</td>"
                    "<td colspan='3'>not in the variant</td></tr>"
                )
                continue
            a, b = p["compute_flop_per_s_end"]
            met = "; ".join(f"{n}: {x or '-'} → {y or '-'}" for n, x, y in p["targets_met_month"])
            rows.append(
                f"<tr><td>{html.escape(cf['name'])}</td><td>{html.escape(p['name'])}</td><td>{a:.3g}</td>"
                f"<td>{b:.3g}</td><td>{html.escape(met)}</td></tr>"
            )
    head = (
        "<tr><th>variant</th><th>player</th><th>compute at the end (race)</th><th>(variant)</th>"
        "<th>targets: race → variant</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>" if rows else "<p>No counterfactuals in the race file.</p>"


def _draws_table(dr: dict[str, Any] | None) -> str:
    if not dr:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(p['name'])}</td><td>{html.escape(x['name'])}</td><td>{x['first_frac']:.0%}</td>"
        f"<td>{x['met_by_deadline_frac']:.0%}</td>"
        + "".join(f"<td>{html.escape(x[f'met_month_p{q}'] or 'not met')}</td>" for q in (10, 50, 90))
        + "</tr>"
        for p in dr["players"]
        for x in p["targets"]
    )
    head = (
        "<tr><th>player</th><th>target</th><th>first</th><th>met by deadline</th><th>P10</th><th>P50</th>"
        "<th>P90</th></tr>"
    )
    pools = ", ".join(dr["uncertain_pools"]) or "none"
    return (
        f"<h2>Who gets there first: {dr['draws']} draws (seed {dr['seed']})</h2><p class='sub'>World pools drawn "
        f"within their published ranges: {html.escape(pools)}.</p><table>{head}{rows}</table>"
    )


def _responses_table(br: dict[str, Any] | None) -> str:
    if not br:
        return ""
    said = "converged" if br["converged"] else "did not converge"
    rows = "".join(
        f"<tr><td>{html.escape(p['name'])}</td><td>{html.escape(p.get('status', 'no targets'))}</td>"
        f"<td>{p['objective_usd']:,.0f}</td><td>{sum(sum(v) for v in p['bought_by_pool'].values()):,.0f}</td></tr>"
        if p["planned"]
        else f"<tr><td>{html.escape(p['name'])}</td><td>no targets</td><td>-</td><td>-</td></tr>"
        for p in br["players"]
    )
    head = "<tr><th>player</th><th>plan</th><th>cost [USD]</th><th>bought from the market pools</th></tr>"
    return (
        f"<h2>Best responses: {said} after {br['rounds']} rounds</h2>"
        f"<p class='sub'>Largest change in the last round: {br['change_by_round'][-1]:.2g} of a pool "
        f"(tolerance {br['rtol']:g}).</p><table>{head}{rows}</table>"
    )


def race_tables_html(d: dict[str, Any]) -> str:
    """The page's tables (targets, counterfactuals, draws, best responses) as escaped HTML: the report and the
    dashboard's race page show the same ones."""
    return (
        f"<h2>Targets</h2>{_targets_table(d)}<h2>Counterfactuals</h2>{_counterfactuals_table(d)}"
        f"{_draws_table(d.get('draws'))}{_responses_table(d.get('best_responses'))}"
    )


def render_race_report(d: dict[str, Any]) -> str:
    """The page as one HTML string, plotly.js inlined once."""
    figs = race_figures(d)
    parts = chart_fragments(figs.values())
    title = f"fab2token race — {d['race']}"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='sub'>{len(d['players'])} players over {len(d['month_labels'])} months from "
        f"{html.escape(d['month_labels'][0])}.</p>{race_tables_html(d)}"
        + "".join(f"<section>{p}</section>" for p in parts)
        + "</body></html>"
    )


def write_race_report(path: str | Path, d: dict[str, Any]) -> Path:
    """Write :func:`render_race_report` to ``path`` atomically."""
    return _write_atomic(path, render_race_report(d))
