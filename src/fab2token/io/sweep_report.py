"""A sweep's page: fan charts (P10-P90 band, P50 line, mean dashed) of the main monthly series, histograms of the
headline outcomes, the probability of each binding constraint by month, and the drivers of the chosen outcome as a
tornado chart. Read from :func:`fab2token.sweep.summary.summarise_sweep` and the stored draws, so the dashboard
can draw the same figures.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from fab2token.io.charts import chart_fragments
from fab2token.io.report import _CSS, _layout, _write_atomic

__all__ = ["sweep_figures", "render_sweep_report", "write_sweep_report", "FAN_SERIES", "HISTOGRAMS"]

# the series drawn as fan charts, and the outcomes drawn as histograms, when the sweep has them
FAN_SERIES = (
    "accelerators_installed",
    "accelerators_delivered",
    "it_power_mw",
    "capex_usd",
    "opex_usd",
    "stranded_inventory_usd",
    "inference_unmet_tokens_per_s",
)
HISTOGRAMS = ("accelerators_installed_end", "capex_usd_total", "energy_mwh_total")
_BAND = "rgba(31, 119, 180, 0.2)"


def _fan(months: list[str], name: str, band: dict[str, Any]) -> go.Figure:
    f = go.Figure()
    f.add_scatter(x=months, y=band["p90"], line={"width": 0}, showlegend=False, hoverinfo="skip")
    f.add_scatter(x=months, y=band["p10"], fill="tonexty", fillcolor=_BAND, line={"width": 0}, name="P10-P90")
    f.add_scatter(x=months, y=band["p50"], name="P50", line={"color": "rgb(31, 119, 180)"})
    f.add_scatter(x=months, y=band["mean"], name="mean", line={"dash": "dash", "color": "gray"})
    return _layout(f, f"{name}: P10-P90 over the draws", band.get("unit") or name)


def _histogram(name: str, values: np.ndarray, unit: str, months: list[str] | None = None) -> go.Figure:
    f = go.Figure()
    v = values[np.isfinite(values)]
    if months is not None:  # a training run's finish month: as months, the draws that do not finish counted apart
        labels = [months[int(x) - 1] for x in v]
        f.add_histogram(x=sorted(labels), name="finishes")
        late = int((~np.isfinite(values)).sum())
        title = f"{name}: {late} of {len(values)} draws do not finish by {months[-1]}" if late else name
        f.update_layout(title=title)
        return _layout(f, f.layout.title.text, "draws")
    f.add_histogram(x=v, nbinsx=40, name=name)
    f.update_layout(xaxis_title=unit)
    return _layout(f, f"{name} over the draws", "draws")


def sweep_figures(summary: dict[str, Any], arrays: dict[str, Any]) -> dict[str, go.Figure]:
    """Every figure of a sweep's page, keyed by name."""
    months = summary["month_labels"]
    figs: dict[str, go.Figure] = {}
    for name in FAN_SERIES:
        if name in summary["series"]:
            figs[f"fan:{name}"] = _fan(months, name, summary["series"][name])
    units = {r["outcome"]: r["unit"] for r in summary["outcomes"]}
    for name, values in arrays["outcomes"].items():
        if name.endswith(".finish_month"):
            figs[f"hist:{name}"] = _histogram(name, values, "", months)
    for name in HISTOGRAMS:
        if name in arrays["outcomes"]:
            figs[f"hist:{name}"] = _histogram(name, arrays["outcomes"][name], units.get(name, ""))
    f = go.Figure()
    for name, share in summary["binding_probability_by_month"].items():
        f.add_scatter(x=months, y=share, name=name, stackgroup="binding", mode="lines")
    figs["binding"] = _layout(f, "What binds: share of draws by month", "share of draws")
    drivers = [r for r in summary["drivers"]["rank_correlations"] if r["rank_correlation"] is not None]
    f = go.Figure()
    f.add_bar(
        y=[r["input"] for r in reversed(drivers)],
        x=[r["rank_correlation"] for r in reversed(drivers)],
        orientation="h",
        name="rank correlation",
    )
    f.update_layout(xaxis={"range": [-1, 1], "title": "Spearman rank correlation"})
    figs["drivers"] = _layout(f, f"What drives {summary['drivers']['outcome']}", "")
    return figs


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}"
    return html.escape("-" if v is None else str(v))


def render_sweep_report(summary: dict[str, Any], arrays: dict[str, Any]) -> str:
    """The page as one HTML string, plotly.js inlined once."""
    figs = sweep_figures(summary, arrays)
    parts = chart_fragments(figs.values())

    months = summary["month_labels"]

    def cell(row: dict[str, Any], k: str) -> str:
        v = row[k]
        if row.get("outcome", "").endswith(".finish_month") and k != "mean":
            return html.escape(months[int(v) - 1] if v is not None else f"not by {months[-1]}")
        return _cell(v)

    def table(rows: list[dict[str, Any]], key: str) -> str:
        head = f"<tr><th>{key}</th><th>unit</th><th>mean</th><th>P10</th><th>P50</th><th>P90</th></tr>"
        body = "".join(
            f"<tr><td>{html.escape(r[key])}</td><td>{html.escape(r['unit'])}</td>"
            + "".join(f"<td>{cell(r, k)}</td>" for k in ("mean", "p10", "p50", "p90"))
            + "</tr>"
            for r in rows
        )
        return f"<table>{head}{body}</table>"

    title = f"fab2token sweep {summary['sweep_id']}"
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='sub'>scenario <b>{html.escape(summary['scenario'])}</b>: {summary['draws']:,} draws "
        f"({html.escape(summary['method'])}, seed {summary['seed']}, {html.escape(summary['status'])}). A training "
        "run's mean finish month counts months from the horizon's start (1: its first month).</p>"
        f"<h2>Outcomes</h2>{table(summary['outcomes'], 'outcome')}<h2>Inputs drawn</h2>"
        f"{table(summary['inputs'], 'input')}" + "".join(f"<section>{p}</section>" for p in parts) + "</body></html>"
    )


def write_sweep_report(path: str | Path, summary: dict[str, Any], arrays: dict[str, Any]) -> Path:
    """Write :func:`render_sweep_report` to ``path`` atomically."""
    return _write_atomic(path, render_sweep_report(summary, arrays))
