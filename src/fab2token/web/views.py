"""What each dashboard page shows, read from the store through the functions the CLI calls.

Each function returns plain data for a template; the figures come from the report's own figure code
(:func:`fab2token.io.report.figures`, :func:`fab2token.io.plan_report.plan_figures`,
:func:`fab2token.io.compare_figures.compare_figures`), so a chart looks the same in the report and here.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fab2token.errors import shown

__all__ = [
    "KINDS",
    "stored_items",
    "filter_items",
    "run_page",
    "plan_page",
    "compare_page",
    "sweep_page",
    "series_download",
    "unit_of",
]

KINDS = ("run", "plan", "sweep", "race")
# a summary key's unit, from the words its name ends or is made of (units live in names)
_UNIT_WORDS = {
    "usd": "USD",
    "mw": "MW",
    "mwh": "MWh",
    "m3": "m³",
    "tco2": "tCO2",
    "months": "months",
    "accelerators": "accelerators",
    "frac": "fraction",
    "s": "s",
}
# numbers from this size on are printed as 6.837e+24 (a training run's FLOPs), below it with thousands separated
_SCIENTIFIC_FROM = 1e15
# plotly's options for every chart on the pages (the same as the HTML report's)
_CONFIG = {"displaylogo": False}


def unit_of(key: str) -> str:
    """The unit a key's name carries (``capex_usd_total`` -> ``USD``, ``it_power_mw_end`` -> ``MW``), or ``""``."""
    words = key.split("_")
    if "per" in words:  # a rate: everything from the first unit word on (tokens_per_s -> tokens/s)
        i = words.index("per")
        return "/".join(_UNIT_WORDS.get(w, w) for w in (words[i - 1], *words[i + 1 :])) if i else ""
    for w in reversed(words):
        if w in _UNIT_WORDS:
            return _UNIT_WORDS[w]
    return ""


def number(v: Any) -> str:
    """A number as the pages print it: thousands separated, four significant digits below 100 (and from 1e15)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return "" if v is None else str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return "n/a"
    if abs(v) >= _SCIENTIFIC_FROM:
        return f"{v:.4g}"
    if abs(v) >= 100 or v == int(v):
        return f"{v:,.0f}"
    return f"{v:.4g}"


def _figures_html(figs: dict[str, Any]) -> list[str]:
    """Each figure as an HTML fragment that draws with the page's one plotly.js (served from the package)."""
    return [f.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG) for f in figs.values()]


def stored_items(db: str | Path) -> list[dict[str, Any]]:
    """Every stored run, plan, sweep and race, newest first: ``kind``, ``id``, ``created_at``, ``scenario``,
    ``file`` and ``numbers`` (headline number, value and unit)."""
    from fab2token.io import plan_store, race_store, store, sweep_store

    items = [
        {
            "kind": "run",
            "id": r["run_id"],
            "created_at": r["created_at"],
            "scenario": r["scenario"],
            "file": r["file"],
            "numbers": [
                (k, number(r[k]), unit_of(k)) for k in ("months", "accelerators_installed_end", "capex_usd_total")
            ],
        }
        for r in store.list_runs(db)
    ]
    items += [
        {
            "kind": "plan",
            "id": p["plan_id"],
            "created_at": p["created_at"],
            "scenario": p["scenario"],
            "file": p["file"],
            "numbers": [("status", p["status"], ""), ("objective_usd", number(p["objective_usd"]), "USD")],
        }
        for p in plan_store.list_plans(db)
    ]
    items += [
        {
            "kind": "sweep",
            "id": w["sweep_id"],
            "created_at": w["created_at"],
            "scenario": w["scenario"],
            "file": "",
            "numbers": [
                ("draws", number(w["draws_stored"]), ""),
                ("method", w["method"], ""),
                ("status", w["status"], ""),
            ],
        }
        for w in sweep_store.list_sweeps(db)
    ]
    items += [
        {
            "kind": "race",
            "id": r["race_id"],
            "created_at": r["created_at"],
            "scenario": r["race"],
            "file": r["file"],
            "numbers": [("players", number(r["players"]), ""), ("months", number(r["months"]), "")],
        }
        for r in race_store.list_races(db)
    ]
    return sorted(items, key=lambda i: i["created_at"], reverse=True)


def race_page(db: str | Path, race_id: str) -> dict[str, Any]:
    """A stored race: its record, the tables and figures of its report (one code path with ``race --report``) and
    the race file's text."""
    from fab2token.io.race_report import race_figures, race_tables_html
    from fab2token.io.race_store import load_race

    meta = load_race(db, race_id)
    d = meta["result"]
    return {
        "meta": meta | {"months": d["month_labels"], "players": [p["name"] for p in d["players"]]},
        "tables": race_tables_html(d),
        "figures": _figures_html(race_figures(d)),
        "text": meta["race_text"],
    }


def sweep_page(db: str | Path, sweep_id: str) -> dict[str, Any]:
    """A stored sweep: its record, the outcomes' and inputs' quantiles, the drivers, the figures of its report."""
    from fab2token.io.sweep_report import sweep_figures
    from fab2token.io.sweep_store import load_sweep_arrays
    from fab2token.sweep.summary import summarise_sweep

    summary = summarise_sweep(db, sweep_id)
    arrays = load_sweep_arrays(db, summary["sweep_id"])
    months = summary["month_labels"]

    def cells(row: dict[str, Any]) -> list[str]:
        if row.get("outcome", "").endswith(".finish_month"):
            return [number(row["mean"])] + [
                months[int(row[k]) - 1] if row[k] is not None else f"not by {months[-1]}" for k in ("p10", "p50", "p90")
            ]
        return [number(row[k]) if not isinstance(row[k], str) else row[k] for k in ("mean", "p10", "p50", "p90")]

    return {
        "meta": summary,
        "outcomes": [(r["outcome"], r["unit"], *cells(r)) for r in summary["outcomes"]],
        "inputs": [(r["input"], r["unit"], *cells(r)) for r in summary["inputs"]],
        "text": arrays["meta"]["scenario_text"],
        "figures": _figures_html(sweep_figures(summary, arrays)),
    }


def filter_items(items: list[dict[str, Any]], text: str = "", kind: str = "") -> list[dict[str, Any]]:
    """The items whose scenario name, id or file contains ``text`` (any case), of ``kind`` (``run``, ``plan`` or
    ``""`` for both)."""
    needle = text.strip().casefold()
    return [
        i
        for i in items
        if (not kind or i["kind"] == kind)
        and (not needle or any(needle in str(i[k] or "").casefold() for k in ("scenario", "id", "file")))
    ]


def _changes(labels: list[str], values: list[Any]) -> str:
    """``2026-01: construction, 2026-03: supply``: each month a month-by-month label changes."""
    out = [f"{labels[i] if i < len(labels) else i}: {v}" for i, v in enumerate(values) if i == 0 or values[i - 1] != v]
    return ", ".join(out)


def summary_rows(summary: dict[str, Any]) -> tuple[list[tuple[str, str, str]], dict[str, list[dict[str, Any]]]]:
    """A run's summary as rows (key, value, unit) and its tables (training runs, fleet) as lists of rows."""
    rows: list[tuple[str, str, str]] = []
    tables: dict[str, list[dict[str, Any]]] = {}
    labels = summary.get("month_labels", [])
    for k, v in summary.items():
        if k == "month_labels":
            rows.append(("period", f"{v[0]} .. {v[-1]}" if v else "", ""))
        elif k == "binding_constraint_by_month":
            rows.append((k, _changes(labels, v), ""))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            tables[k] = [{c: number(x) for c, x in row.items()} for row in v]
        elif isinstance(v, list):
            finite = [x for x in v if isinstance(x, int | float) and math.isfinite(x)]
            rows.append((f"{k} (max)", number(max(finite)) if finite else "", unit_of(k.removesuffix("_by_month"))))
        else:
            rows.append((k, number(v), unit_of(k)))
    return rows, tables


def run_page(db: str | Path, run_id: str) -> dict[str, Any]:
    """A stored run: its record, summary rows and tables, and every chart of its report."""
    from fab2token.io import store
    from fab2token.io.report import figures

    meta = store.load_run(db, run_id)
    ds = store.load_dataset(db, meta["run_id"])
    rows, tables = summary_rows(meta["summary"])
    return {
        "meta": meta,
        "rows": rows,
        "tables": tables,
        "figures": _figures_html(figures(ds)),
        "sub": {
            "accelerator": ds.attrs.get("accelerator", ""),
            "kw": number(float(ds.attrs.get("all_in_it_kw_per_accelerator", float("nan")))),
        },
    }


def plan_result(db: str | Path, plan_id: str) -> tuple[dict[str, Any], SimpleNamespace]:
    """A stored plan's record and a :class:`~fab2token.plan.PlanResult`-like object (its result with the stored
    series and duals) for :func:`~fab2token.io.plan_report.plan_figures`."""
    from fab2token.io import plan_store

    meta = plan_store.load_plan(db, plan_id)
    pid = meta["plan_id"]
    res = SimpleNamespace(
        **meta["result"],
        series=plan_store.load_plan_arrays(db, pid, "series"),
        duals=plan_store.load_plan_arrays(db, pid, "dual"),
    )
    return meta, res


def plan_page(db: str | Path, plan_id: str) -> dict[str, Any]:
    """A stored plan: status, numbers, what binds, targets, schedule, build and its charts."""
    from fab2token.io.plan_report import plan_figures
    from fab2token.io.plan_store import under_uncertainty

    meta, res = plan_result(db, plan_id)
    r = meta["result"]
    if under_uncertainty(r):
        return _stochastic_plan_page(meta, res)
    numbers = [("objective_usd", number(r["objective_usd"]), "USD")]
    numbers += [(f"cost: {k}", number(v), "USD") for k, v in r.get("cost_breakdown_usd", {}).items()]
    numbers += [(k, number(r.get(k)), unit_of(k)) for k in ("variables", "constraints", "build_s", "solve_s")]
    if r.get("mip_gap") is not None:
        numbers.append(("mip_gap", f"{r['mip_gap']:.2%}", ""))
    schedule = r.get("schedule", {})
    return {
        "meta": meta,
        "result": r,
        "numbers": numbers,
        "training": [
            {
                **t,
                "done": f"{t.get('done_frac', 0.0):.0%}",
                "allocation": [_fmt_row(a) for a in t.get("allocation", [])],
            }
            for t in schedule.get("training", [])
        ],
        "inference": [_fmt_row(i) for i in schedule.get("inference", [])],
        "binding": [_fmt_row(b) for b in r.get("binding", [])],
        "binding_if_short": [_fmt_row(b) for b in r.get("binding_if_short", [])],
        "build": [_fmt_row(b) for b in r.get("build", [])],
        "figures": _figures_html(plan_figures(res)) if res.series else [],
    }


def _stochastic_plan_page(meta: dict[str, Any], res: SimpleNamespace) -> dict[str, Any]:
    """A stored plan under uncertainty: its numbers, targets met, shared build and charts (the ``--report``
    figures)."""
    from fab2token.io.plan_draws_report import stochastic_plan_figures, stochastic_plan_numbers

    theirs = {t["target"]: t["probability_met"] for t in (res.deterministic or {}).get("targets_met", [])}
    return {
        "template": "plan_draws.html.j2",
        "meta": meta,
        "result": meta["result"],
        "numbers": [(k, number(v), u) for k, v, u in stochastic_plan_numbers(res)],
        "targets": [
            {
                "target": t["target"],
                "this plan": f"{t['probability_met']:.0%}",
                "median scenario's build": "" if theirs.get(t["target"]) is None else f"{theirs[t['target']]:.0%}",
            }
            for t in res.targets_met
        ],
        "build": [_fmt_row(b) for b in res.build],
        "figures": _figures_html(stochastic_plan_figures(res)),
    }


def _fmt_row(row: dict[str, Any]) -> dict[str, str]:
    return {k: number(v) for k, v in row.items()}


def compare_page(db: str | Path, id_a: str, id_b: str) -> dict[str, Any]:
    """The comparison ``fab2token compare A B`` prints, with each common series overlaid."""
    from fab2token.io.compare import compare
    from fab2token.io.compare_figures import compare_figures

    cmp = compare(db, id_a, id_b)
    return {
        "cmp": cmp,
        "inputs": [
            {
                "path": d["path"],
                "a": "(absent)" if d["a"] is None else shown(d["a"], 120),
                "b": "(absent)" if d["b"] is None else shown(d["b"], 120),
            }
            for d in cmp["inputs"]
        ],
        "more": cmp["inputs_count"] - len(cmp["inputs"]),
        "numbers": [
            {
                "name": k,
                "a": f"{v['a']:,.4g}",
                "b": f"{v['b']:,.4g}",
                "change": f"{v['change']:+,.4g}",
                "relative": "" if v["relative"] is None else f"{v['relative']:+.1%}",
            }
            for k, v in cmp["numbers"].items()
        ],
        "figures": _figures_html(compare_figures(cmp)),
    }


def series_download(db: str | Path, kind: str, ident: str, fmt: str) -> tuple[str, bytes]:
    """Every series of a stored run (``kind`` ``run``) or plan (``plan``: its series and duals) in ``fmt``;
    returns the stored id and the bytes."""
    import pandas as pd

    from fab2token.io import plan_store, store
    from fab2token.io.export import series_table, table_bytes

    if kind == "run":
        rid = store.load_run(db, ident)["run_id"]
        df = series_table(store.load_dataset(db, rid))
    else:
        rid = plan_store.load_plan(db, ident)["plan_id"]
        df = pd.concat(
            [
                series_table(plan_store.load_plan_arrays(db, rid, "series"), "series"),
                series_table(plan_store.load_plan_arrays(db, rid, "dual"), "dual"),
            ],
            ignore_index=True,
        )
    return rid, table_bytes(df, fmt)
