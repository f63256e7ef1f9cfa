"""The figures of a comparison: each monthly series both sides have, A and B overlaid on one chart.

Read from :func:`fab2token.io.compare.compare`'s plain data, so the dashboard's compare page and the CLI's
``compare --report`` page can draw the same charts.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from fab2token.io.report import _layout

__all__ = ["compare_figures"]


def compare_figures(cmp: dict[str, Any]) -> dict[str, go.Figure]:
    """One figure per common series, keyed by the series' name: A solid, B dashed, each named by kind and id."""
    la, lb = (f"{cmp[k]['kind']} {cmp[k]['id']}" for k in ("a", "b"))
    figs: dict[str, go.Figure] = {}
    for name, s in cmp["series"].items():
        f = go.Figure()
        f.add_scatter(x=s["months_a"], y=s["a"], name=la)
        f.add_scatter(x=s["months_b"], y=s["b"], name=lb, line={"dash": "dash"})
        figs[name] = _layout(f, name, s["units"] or name)
    return figs
