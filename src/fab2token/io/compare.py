"""Compare two stored runs or plans (or one of each): which inputs differ, how the headline numbers move, and
the monthly series overlaid on one page.

The same comparison serves ``fab2token compare A B`` and the dashboard: :func:`compare` returns plain data
(``--json``), :func:`write_compare_page` the HTML page with the series of both overlaid.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import xarray as xr

from fab2token.errors import shown
from fab2token.io import plan_store, store
from fab2token.io.charts import chart_fragments
from fab2token.io.storefile import StoreError

__all__ = ["compare", "scenario_diff", "write_compare_page", "MAX_DIFFS"]

# input differences listed (two scenarios can differ everywhere; the count of the rest is given)
MAX_DIFFS = 200


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{path: value}`` for every leaf, paths as the scenario writes them (``sites[0].grid_power[1].mw``)."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out or {prefix: {}}
    if isinstance(data, list):
        out = {}
        for i, v in enumerate(data):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: data}


def scenario_diff(text_a: str, text_b: str) -> list[dict[str, Any]]:
    """Every field whose value differs between two scenario texts (``None``: absent on that side)."""
    from fab2token.scenario.yamltext import load_yaml

    a, b = _flatten(load_yaml(text_a, "A") or {}), _flatten(load_yaml(text_b, "B") or {})
    keys = list(a) + [k for k in b if k not in a]
    return [{"path": k, "a": a.get(k), "b": b.get(k)} for k in keys if a.get(k) != b.get(k)]


def _load(db: str | Path, ident: str) -> dict[str, Any]:
    """A stored run or plan as ``kind``, ``id``, ``scenario_text``, ``numbers`` (headline scalars) and ``series``
    (every monthly array, summed over its other dimensions)."""
    if not _is_run(db, ident) and plan_store.is_plan(db, ident):
        meta = plan_store.load_plan(db, ident)
        res = meta["result"]
        numbers = {"objective_usd": res["objective_usd"]}
        numbers |= {f"cost_{k}": v for k, v in res.get("cost_breakdown_usd", {}).items()}
        if plan_store.under_uncertainty(res):  # the spread of its cost over the draws
            numbers |= {k: res[k] for k in ("cost_usd_p10", "cost_usd_p50", "cost_usd_p90", "expected_shortfall")}
        arrays = plan_store.load_plan_arrays(db, meta["plan_id"])
        return {
            "kind": "plan",
            "id": meta["plan_id"],
            "scenario_text": meta["scenario_text"],
            "numbers": numbers,
            "series": _monthly(arrays),
            "status": meta["status"],
        }
    meta = store.load_run(db, ident)
    numbers = {k: v for k, v in meta["summary"].items() if isinstance(v, int | float) and not isinstance(v, bool)}
    ds = store.load_dataset(db, meta["run_id"])
    return {
        "kind": "run",
        "id": meta["run_id"],
        "scenario_text": meta["scenario_text"],
        "numbers": numbers,
        "series": _monthly({n: ds[n] for n in ds.data_vars if ds[n].dtype.kind in "fiub"}),
    }


def _is_run(db: str | Path, ident: str) -> bool:
    try:
        store.load_run(db, ident)
    except StoreError:
        return False
    return True


def _monthly(arrays: dict[str, xr.DataArray]) -> dict[str, xr.DataArray]:
    return {
        n: a.sum([d for d in a.dims if d != "month"]) if len(a.dims) > 1 else a
        for n, a in arrays.items()
        if "month" in a.dims and "hod" not in a.dims
    }


def _delta(a: float, b: float) -> dict[str, Any]:
    rel = (b - a) / abs(a) if a not in (0, 0.0) and math.isfinite(a) and math.isfinite(b) else None
    return {"a": a, "b": b, "change": b - a, "relative": rel}


def compare(db: str | Path, id_a: str, id_b: str) -> dict[str, Any]:
    """The comparison of two stored runs or plans: ``a`` and ``b`` (kind and id), ``inputs`` (the scenario
    fields that differ, at most :data:`MAX_DIFFS`, and ``inputs_count``), ``numbers`` (each headline number both
    have: a, b, change, relative change) and ``series`` (the monthly series both have, by name)."""
    a, b = _load(db, id_a), _load(db, id_b)
    diffs = scenario_diff(a["scenario_text"], b["scenario_text"])
    numbers = {k: _delta(float(a["numbers"][k]), float(b["numbers"][k])) for k in a["numbers"] if k in b["numbers"]}
    common = [n for n in a["series"] if n in b["series"]]
    return {
        "a": {"kind": a["kind"], "id": a["id"]},
        "b": {"kind": b["kind"], "id": b["id"]},
        "inputs": diffs[:MAX_DIFFS],
        "inputs_count": len(diffs),
        "numbers": numbers,
        "series": {
            n: {
                "months_a": [str(m) for m in a["series"][n]["month"].values],
                "a": [float(v) for v in a["series"][n].values],
                "months_b": [str(m) for m in b["series"][n]["month"].values],
                "b": [float(v) for v in b["series"][n].values],
                "units": str(a["series"][n].attrs.get("units", "")),
            }
            for n in common
        },
    }


def write_compare_page(path: str | Path, cmp: dict[str, Any]) -> Path:
    """One self-contained HTML page: the input differences, the numbers, and each common series overlaid."""
    from fab2token.io.compare_figures import compare_figures
    from fab2token.io.report import _CSS, _write_atomic

    la, lb = (f"{cmp[k]['kind']} {cmp[k]['id']}" for k in ("a", "b"))
    parts = chart_fragments(compare_figures(cmp).values())
    inputs = "".join(
        f"<tr><td>{html.escape(d['path'])}</td><td>{html.escape(shown(d['a']))}</td>"
        f"<td>{html.escape(shown(d['b']))}</td></tr>"
        for d in cmp["inputs"]
    )
    more = cmp["inputs_count"] - len(cmp["inputs"])
    nums = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v['a']:,.4g}</td><td>{v['b']:,.4g}</td><td>{v['change']:+,.4g}</td>"
        f"<td>{'' if v['relative'] is None else format(v['relative'], '+.1%')}</td></tr>"
        for k, v in cmp["numbers"].items()
    )
    title = f"fab2token compare: {la} and {lb}"
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"</head><body><h1>{html.escape(title)}</h1><h2>Inputs that differ ({cmp['inputs_count']:,})</h2>"
        f"<table><tr><th>field</th><th>A</th><th>B</th></tr>{inputs}</table>"
        + (f"<p>... and {more:,} more</p>" if more > 0 else "")
        + f"<h2>Numbers</h2><table><tr><th>number</th><th>A</th><th>B</th><th>change</th><th>relative</th></tr>{nums}"
        "</table>" + "".join(f"<section>{p}</section>" for p in parts) + "</body></html>"
    )
    return _write_atomic(path, page)
