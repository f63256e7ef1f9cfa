"""The hourly operations page: demand against what was served (WebGL traces: a year is 8,760 points), the
accelerators up, held by training and down, and the training runs' summary; one self-contained HTML page."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go

from fab2token.io.charts import chart_fragments
from fab2token.io.report import _CSS, _layout, _write_atomic

__all__ = ["operate_figures", "write_operate_report"]


def operate_figures(o: Any) -> dict[str, go.Figure]:
    """Every figure of the page, from an :class:`fab2token.operations.run.Operated`."""
    x = o.hours.hour.astype("datetime64[h]").astype(str)
    f = go.Figure()
    f.add_scattergl(x=x, y=o.demand, name="demand", line={"width": 1})
    f.add_scattergl(x=x, y=o.served, name="served within the SLOs", line={"width": 1})
    figs = {"inference": _layout(f, "Inference demand and what was served, hour by hour", "tokens/s")}
    f = go.Figure()
    f.add_scattergl(x=x, y=o.installed, name="installed", line={"width": 1})
    f.add_scattergl(x=x, y=o.available, name="up", line={"width": 1})
    f.add_scattergl(x=x, y=o.training_held, name="held by training", line={"width": 1})
    f.add_scattergl(x=x, y=o.failures.down_accelerators.sum(axis=1), name="down (failed domains)", line={"width": 1})
    figs["fleet"] = _layout(f, "The fleet hour by hour", "accelerators")
    return figs


def _runs_table(runs: list[dict[str, Any]]) -> str:
    cols = ("name", "status", "start", "finish", "goodput", "interruptions", "preemptions", "pauses_for_capacity")
    head = "".join(f"<th>{c}</th>" for c in cols)

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return html.escape("-" if v is None else str(v))

    body = "".join("<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in runs)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_operate_report(path: str | Path, o: Any) -> Path:
    """Write the page to ``path`` atomically."""
    d = o.to_dict()
    inf = d["inference"]
    parts = chart_fragments(operate_figures(o).values())
    slo = inf["slo_attainment_frac"]
    title = f"fab2token operate — {d['scenario']}"
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='sub'>{d['hours']:,} hours, policy {html.escape(d['policy'])}; SLO attainment "
        f"{'-' if slo is None else f'{slo:.1%}'}, unmet tokens {inf['unmet_tokens']:.4g}, failures "
        f"{d['failures']['failures']:,}; mean utilisation {np.mean(d['utilisation_by_month']):.1%}.</p>"
        f"<h2>Training runs</h2>{_runs_table(d['training_runs'])}"
        + "".join(f"<section>{p}</section>" for p in parts)
        + "</body></html>"
    )
    return _write_atomic(path, page)
