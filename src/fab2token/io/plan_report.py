"""Self-contained HTML pages for a plan and for a fab line run (the same page frame as the run report)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from fab2token.io.charts import chart_fragments
from fab2token.io.report import _CSS, _layout, _write_atomic

__all__ = ["build_figure", "plan_figures", "write_fabline_report", "write_plan_report"]


def plan_figures(res: Any) -> dict[str, go.Figure]:
    """Plan timeline (IT MW built per site, accelerators delivered), cost breakdown and the bottleneck heatmap."""
    figs: dict[str, go.Figure] = {}
    series = res.series
    months = [str(m) for m in series["wafers"].coords["month"].values]
    figs["timeline"] = build_figure(series["it_mw_built"], "Planned IT capacity per site (cumulative)")
    f = go.Figure()
    for a in series["delivered"].coords["accelerator"].values:
        f.add_bar(x=months, y=series["delivered"].sel(accelerator=a).values, name=f"{a} delivered")
        f.add_scatter(x=months, y=series["installed"].sel(accelerator=a).sum("site").values, name=f"{a} installed")
    figs["fleet"] = _layout(f, "Planned accelerators", "accelerators")
    figs.update(_schedule_figures(series, months))
    f = go.Figure()
    f.add_bar(x=list(res.cost_breakdown_usd), y=[v / 1e6 for v in res.cost_breakdown_usd.values()])
    f.update_layout(title="Cost breakdown (discounted)", yaxis_title="million USD", template="plotly_white", height=360)
    figs["cost"] = f
    rows, z = [], []
    for name, dual in res.duals.items():
        if "site" in dual.dims:
            for site in dual.coords["site"].values:
                rows.append(f"{name} [{site}]")
                z.append(np.nan_to_num(dual.sel(site=site).values))
        else:
            rows.append(name)
            z.append(np.nan_to_num(dual.values))
    if rows:
        f = go.Figure(go.Heatmap(z=z, x=months, y=rows, colorscale="Reds", colorbar={"title": "USD per unit"}))
        f.update_layout(
            title="Bottleneck map: value of one more unit of each capacity, by month",
            template="plotly_white",
            height=200 + 30 * len(rows),
        )
        figs["heatmap"] = f
    return figs


def build_figure(it_mw_built: Any, title: str) -> go.Figure:
    """IT MW built per site and month (``(site, month)``), stacked and cumulative."""
    months = [str(m) for m in it_mw_built.coords["month"].values]
    built = it_mw_built.cumsum("month")
    f = go.Figure()
    for site in built.coords["site"].values:
        f.add_scatter(x=months, y=built.sel(site=site).values, name=f"{site}: IT MW", stackgroup="mw")
    return _layout(f, title, "MW (IT)")


def _schedule_figures(series: Any, months: list[str]) -> dict[str, go.Figure]:
    """The plan's schedule: accelerators each training target uses by month and type, and those serving inference."""
    figs: dict[str, go.Figure] = {}
    if "training" in series:
        u = series["training"].fillna(0.0).sum("site")
        f = go.Figure()
        for r in u.coords["run"].values:
            for a in u.coords["accelerator"].values:
                y = u.sel(run=r, accelerator=a).values
                if y.max() > 1e-6:
                    f.add_bar(x=months, y=y, name=f"{r} on {a}")
        figs["training_schedule"] = _layout(
            f, "Training schedule: accelerators per target, type and month", "accelerators"
        )
        figs["training_schedule"].update_layout(barmode="stack")
    if "inference" in series:
        i = series["inference"].fillna(0.0).sum("site")
        f = go.Figure()
        for a in i.coords["accelerator"].values:
            f.add_bar(x=months, y=i.sel(accelerator=a).values, name=f"inference on {a}")
        figs["inference_schedule"] = _layout(f, "Accelerators serving inference", "accelerators")
        figs["inference_schedule"].update_layout(barmode="stack")
    return figs


def write_plan_report(path: str | Path, sc: Any, res: Any) -> Path:
    """One self-contained HTML page for a plan."""
    figs = plan_figures(res) if res.series else {}
    parts = chart_fragments(figs.values())
    binding = "".join(f"<li>{html.escape(b['text'])}</li>" for b in res.binding[:10]) or "<li>nothing binds</li>"
    unmet = "".join(f"<li>{html.escape(u['text'])}</li>" for u in res.unmet) or "<li>all targets met</li>"
    short = "".join(f"<li>{html.escape(b['text'])}</li>" for b in getattr(res, "binding_if_short", [])[:10])
    if short:
        unmet += f"</ul><h3>What one more unit would cut from the shortfall</h3><ul>{short}"
    runs = "".join(
        f"<li>{html.escape(r['run'])}: {html.escape(str(r['start']))} to {html.escape(str(r['finish']))}, "
        f"{r['done_frac']:.0%} of its FLOPs</li>"
        for r in getattr(res, "schedule", {}).get("training", [])
    )
    if runs:
        unmet += f"</ul><h3>Training schedule</h3><ul>{runs}"
    body = "".join(f"<section>{p}</section>" for p in parts)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>fab2token plan: {html.escape(sc.name)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Plan: {html.escape(sc.name)}</h1><p class='sub'>{html.escape(res.status_text or res.status)}; objective "
        f"${res.objective_usd:,.0f}; {res.variables:,} variables, {res.constraints:,} constraints</p>"
        f"<h2>What binds</h2><ul>{binding}</ul><h2>Targets</h2><ul>{unmet}</ul>{body}</body></html>"
    )
    return _write_atomic(path, page)


def write_fabline_report(path: str | Path, res: Any, title: str = "fab line") -> Path:
    """One self-contained page for a fab line run: cycle-time distributions, WIP over time, wafers out by month,
    utilisation."""
    s = res.summary()
    figs: list[go.Figure] = []
    f = go.Figure()
    by_order: dict[str, list[float]] = {}
    for order, _prio, release, finish, _due, _pieces in res.completed:
        if release >= 0:
            by_order.setdefault(order, []).append((finish - release) / 1440.0)
    for order, cts in sorted(by_order.items()):
        f.add_histogram(x=cts, name=order, opacity=0.6, nbinsx=60)
    f.update_layout(
        title="Cycle-time distribution by order (days)",
        barmode="overlay",
        template="plotly_white",
        xaxis_title="days",
        height=420,
    )
    figs.append(f)
    f = go.Figure()
    f.add_scatter(x=list(range(len(s["wip_lots_by_day"]))), y=s["wip_lots_by_day"], name="lots in process")
    f.update_layout(title="WIP over time", xaxis_title="day", yaxis_title="lots", template="plotly_white", height=360)
    figs.append(f)
    f = go.Figure()
    for order, outs in s["wafers_out_by_month"].items():
        f.add_bar(x=list(range(1, len(outs) + 1)), y=outs, name=order)
    f.update_layout(
        title="Wafers out by month (365.25 / 12 days) and order",
        barmode="stack",
        xaxis_title="month of the run",
        yaxis_title="wafers",
        template="plotly_white",
        height=360,
    )
    figs.append(f)
    util = sorted(res.utilisation.items(), key=lambda kv: -kv[1])[:40]
    f = go.Figure()
    f.add_bar(x=[k for k, _ in util], y=[v for _, v in util], name="utilisation")
    f.add_scatter(
        x=[k for k, _ in util], y=[res.availability.get(k, 1.0) for k, _ in util], mode="markers", name="availability"
    )
    f.update_layout(title="Utilisation by tool family (top 40) and availability", template="plotly_white", height=420)
    figs.append(f)
    parts = chart_fragments(figs)
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{s['lots_completed'].get(k, 0):,}</td>"
        f"<td>{v['mean']:.1f}</td><td>{v['p50']:.1f}</td><td>{v['p95']:.1f}</td></tr>"
        for k, v in s["cycle_time_days"].items()
    )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='sub'>{s['days']:g} days, {html.escape(s['dispatch'])}, seed {s['seed']}: "
        f"{s['events_processed']:,} events in {s['wall_s']:.1f} s; throughput {s['throughput_wafers_per_day']:,.0f}"
        " wafers/day</p><table><tr><th>order</th><th>lots completed</th><th>CT mean (d)</th><th>p50</th>"
        f"<th>p95</th></tr>{rows}</table>" + "".join(f"<section>{p}</section>" for p in parts) + "</body></html>"
    )
    return _write_atomic(path, page)
