"""The plan under uncertainty (``plan --draws N``) on a page: its shared build, the spread of its cost over the
draws, and the probability that each target is met beside the median scenario's plan facing the same draws. The
figures serve both the ``--report`` file and the dashboard's page of a stored plan (one code path)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from fab2token.io.charts import chart_fragments
from fab2token.io.plan_report import build_figure
from fab2token.io.report import _CSS, _layout, _write_atomic

__all__ = ["stochastic_plan_figures", "stochastic_plan_numbers", "write_stochastic_plan_report"]


def stochastic_plan_numbers(res: Any) -> list[tuple[str, float | None, str]]:
    """The headline numbers of a plan under uncertainty: (name, value, unit)."""
    det = getattr(res, "deterministic", {}) or {}
    rows: list[tuple[str, float | None, str]] = [
        ("draws", res.draws, "draws"),
        ("expected_cost_usd", res.expected_cost_usd, "USD"),
        ("cost_usd_p10", res.cost_usd_p10, "USD"),
        ("cost_usd_p50", res.cost_usd_p50, "USD"),
        ("cost_usd_p90", res.cost_usd_p90, "USD"),
        ("expected_shortfall", res.expected_shortfall, res.shortfall_unit),
        ("median scenario's build: expected cost", det.get("expected_cost_usd"), "USD"),
        ("regret_usd", res.regret_usd, "USD"),
    ]
    return rows + [(k, getattr(res, k), "") for k in ("variables", "constraints")]


def stochastic_plan_figures(res: Any) -> dict[str, go.Figure]:
    """The shared build (cumulative IT MW per site), the cost of each draw (histogram, P10 / P50 / P90 marked) and the
    probability that each target is met, this plan against the median scenario's build."""
    figs: dict[str, go.Figure] = {}
    if "it_mw_built" in res.series:
        figs["build"] = build_figure(res.series["it_mw_built"], "Build shared by every draw (cumulative)")
    costs = np.asarray(res.cost_usd_by_draw, dtype=float) / 1e6
    if costs.size:
        f = go.Figure(go.Histogram(x=costs, name="draws"))
        for label, v in (("P10", res.cost_usd_p10), ("P50", res.cost_usd_p50), ("P90", res.cost_usd_p90)):
            f.add_vline(x=v / 1e6, line_dash="dash", annotation_text=label)
        figs["cost"] = _layout(f, f"Cost of each of {costs.size} draws, this build", "draws")
        figs["cost"].update_xaxes(title="million USD")
    theirs = {r["target"]: r["probability_met"] for r in (res.deterministic or {}).get("targets_met", [])}
    if res.targets_met:
        names = [r["target"] for r in res.targets_met]
        f = go.Figure()
        f.add_bar(x=names, y=[r["probability_met"] for r in res.targets_met], name="this plan")
        f.add_bar(x=names, y=[theirs.get(n, np.nan) for n in names], name="median scenario's build")
        figs["targets"] = _layout(f, "Probability each target is met over the draws", "probability")
    return figs


def write_stochastic_plan_report(path: str | Path, name: str, res: Any) -> Path:
    """One self-contained HTML page for a plan under uncertainty."""
    figs = stochastic_plan_figures(res)
    parts = chart_fragments(figs.values())
    numbers = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td><td>{html.escape(u)}</td></tr>"
        for k, v, u in stochastic_plan_numbers(res)
    )
    build = "".join(
        f"<tr><td>{html.escape(b['site'])}</td><td>{html.escape(b['month'])}</td><td>{b['it_mw']:,.1f}</td></tr>"
        for b in res.build
    )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>fab2token plan under uncertainty: {html.escape(name)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Plan under uncertainty: {html.escape(name)}</h1><p class='sub'>{html.escape(res.status)}: one build "
        f"for {res.draws:,} draws (seed {res.seed}), each draw operated on its own, at the least expected cost</p>"
        f"<table><tr><th>number</th><th>value</th><th>unit</th></tr>{numbers}</table>"
        f"<h2>Build (IT MW, shared by every draw)</h2><table><tr><th>site</th><th>month</th><th>IT MW</th></tr>"
        f"{build}</table>{''.join(f'<section>{p}</section>' for p in parts)}</body></html>"
    )
    return _write_atomic(path, page)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    return f"{v:,.4g}" if isinstance(v, float) and abs(v) < 1e4 else f"{v:,.0f}"
