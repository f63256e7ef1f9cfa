"""Self-contained HTML report: plotly figures with the plotly.js bundle embedded, opens offline."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import xarray as xr

from fab2token.io.charts import chart_fragments
from fab2token.io.report_sites import sites_shown

__all__ = ["figures", "render_report", "write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:1rem 0} td,th{padding:.25rem .8rem;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left} section{margin:2rem 0}
"""


def _layout(fig: go.Figure, title: str, ytitle: str) -> go.Figure:
    fig.update_layout(
        title=title,
        yaxis_title=ytitle,
        xaxis_title="month",
        template="plotly_white",
        height=420,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def figures(ds: xr.Dataset) -> dict[str, go.Figure]:
    """The report's figures, keyed by a short id. Reads only the results Dataset."""
    months = [str(m) for m in ds["month"].values]
    figs: dict[str, go.Figure] = {}

    _fleet_figures(ds, months, figs)
    _site_figures(ds, months, figs)
    _supply_figures(ds, months, figs)
    _workload_figures(ds, months, figs)
    _money_figures(ds, months, figs)
    return figs


def _fleet_figures(ds: xr.Dataset, months: list[str], figs: dict[str, go.Figure]) -> None:
    """The fleet: delivered vs installed, and by type when there are several."""
    f = go.Figure()
    f.add_scatter(x=months, y=ds["accelerators_delivered"].cumsum("month").values, name="delivered (cumulative)")
    f.add_scatter(x=months, y=ds["accelerators_installed"].sum("site").values, name="installed (powered)")
    f.add_scatter(
        x=months, y=ds["accelerators_backlog"].values, name="backlog (waiting for power)", line={"dash": "dot"}
    )
    f.add_bar(x=months, y=ds["accelerators_delivered"].values, name="delivered per month", opacity=0.35)
    figs["fleet"] = _layout(f, "Accelerators delivered vs installed", "accelerators")
    if "accelerators_installed_by_type" in ds and ds.sizes.get("accelerator", 0) > 1:
        f = go.Figure()
        installed = ds["accelerators_installed_by_type"].sum("site")
        for acc in ds["accelerator"].values:
            f.add_scatter(x=months, y=installed.sel(accelerator=acc).values, name=f"{acc}: installed", stackgroup="t")
        for acc in ds["accelerator"].values:
            waiting = ds["accelerators_waiting_by_type"].sel(accelerator=acc).values
            if float(waiting.max()) > 0:
                f.add_scatter(x=months, y=waiting, name=f"{acc}: waiting for power", line={"dash": "dot"})
        figs["fleet_types"] = _layout(
            f, "The fleet by accelerator type: installed (stacked) and waiting", "accelerators"
        )


def _site_figures(ds: xr.Dataset, months: list[str], figs: dict[str, go.Figure]) -> None:
    """Sites: IT power, the power stack, energy by source, PUE and ambient, water and carbon, clusters; beyond
    :data:`~fab2token.io.report_sites.TOP_SITES` sites, the rest as one "others" line (:func:`sites_shown`)."""
    largest = ds["largest_cluster_accelerators"] if "largest_cluster_accelerators" in ds else None
    ds = sites_shown(ds)
    f = go.Figure()
    for site in ds["site"].values:
        one = {"site": site}
        f.add_scatter(
            x=months, y=ds["it_capacity_mw"].sel(one).values, name=f"{site}: IT MW available", line={"dash": "dash"}
        )
        f.add_scatter(x=months, y=ds["it_power_mw"].sel(one).values, name=f"{site}: IT MW used")
    figs["power"] = _layout(f, "IT power available vs used, per site", "MW (IT)")

    if "pue_mean" in ds:
        f = go.Figure()
        for site in ds["site"].values:
            sel = ds.sel(site=site)
            f.add_scatter(x=months, y=sel["grid_power_mw"].values, name=f"{site}: grid MW", stackgroup=str(site))
            f.add_scatter(x=months, y=sel["onsite_power_mw"].values, name=f"{site}: on-site MW", stackgroup=str(site))
            for var, label in (("solar_power_mw", "solar MW (nameplate)"), ("battery_power_mw", "battery MW")):
                if var in sel and float(np.nansum(sel[var].values)) > 0:
                    f.add_scatter(x=months, y=sel[var].values, name=f"{site}: {label}", line={"dash": "dot"})
        figs["power_stack"] = _layout(
            f, "Power per site: firm grid and on-site (stacked), solar and battery (dotted), facility MW", "MW"
        )
        f = go.Figure()
        for site in ds["site"].values:
            sel = ds.sel(site=site)
            parts = {  # what reached the load: grid energy that charged the battery is counted as battery output
                "grid": sel["grid_energy_mwh"].values - sel["grid_to_battery_mwh"].values,
                "on-site": sel["onsite_energy_mwh"].values,
                "solar, direct": sel["solar_energy_mwh"].values - sel["solar_to_battery_mwh"].values,
                "battery (after losses)": sel["battery_energy_mwh"].values,
            }
            for label, vals in parts.items():
                if float(np.nansum(vals)) > 0:
                    f.add_bar(x=months, y=vals, name=f"{site}: {label}")
        f.update_layout(barmode="stack")
        figs["energy_mix"] = _layout(f, "Facility energy by source, per site", "MWh")
        f = go.Figure()
        for site in ds["site"].values:
            sel = ds.sel(site=site)
            f.add_scatter(x=months, y=sel["pue_mean"].values, name=f"{site}: PUE mean")
            f.add_scatter(x=months, y=sel["pue_p99"].values, name=f"{site}: PUE p99", line={"dash": "dot"})
        if "ambient_mean_c" in ds:
            for site in ds["site"].values:
                f.add_scatter(
                    x=months,
                    y=ds["ambient_mean_c"].sel(site=site).values,
                    name=f"{site}: ambient °C (mean)",
                    yaxis="y2",
                    line={"dash": "dash", "width": 1},
                )
            f.update_layout(yaxis2={"title": "°C", "overlaying": "y", "side": "right"})
        figs["pue"] = _layout(f, "PUE by month (hourly model: mean and 99th percentile) and ambient temperature", "PUE")
        f = go.Figure()
        for site in ds["site"].values:
            sel = ds.sel(site=site)
            f.add_bar(x=months, y=sel["water_m3"].values, name=f"{site}: water m3")
            f.add_scatter(x=months, y=sel["carbon_tco2"].values, name=f"{site}: tCO2", yaxis="y2")
        _layout(f, "Water and carbon per site", "water (m3)")
        f.update_layout(yaxis2={"title": "tCO2", "overlaying": "y", "side": "right"})
        figs["water_carbon"] = f

    if "max_cluster_accelerators" in ds:
        f = go.Figure()
        for site in ds["site"].values:
            f.add_scatter(x=months, y=ds["max_cluster_accelerators"].sel(site=site).values, name=f"{site}: one site")
        if largest is not None:
            f.add_scatter(
                x=months,
                y=largest.values,
                name="largest (sites and campuses)",
                line={"dash": "dot", "width": 3},
            )
        figs["cluster"] = _layout(
            f, "Largest training cluster (non-blocking fabric, whole scale-up domains)", "accelerators"
        )


def _supply_figures(ds: xr.Dataset, months: list[str], figs: dict[str, go.Figure]) -> None:
    """What binds, what each supply step allows, yield over the ramp, unit cost."""
    figs["binding"] = _strips(
        months,
        {
            "deployment": [str(b) for b in ds["binding_constraint"].values],
            "supply chain": [str(b) for b in ds["supply_limiting_step"].values],
        },
        "What binds each month: deployment (supply vs power) and the supply chain's limiting step",
    )

    f = go.Figure()
    for name, label in (
        ("units_from_wafers", "good dies (accelerators' worth)"),
        ("units_from_packaging", "packaging capacity"),
        ("units_from_hbm", "HBM stacks"),
    ):
        vals = ds[name].values
        if np.isfinite(vals).any():
            f.add_scatter(x=months, y=np.where(np.isfinite(vals), vals, np.nan), name=label)
    f.add_bar(x=months, y=ds["accelerators_delivered"].values, name="accelerators delivered", opacity=0.45)
    figs["supply_steps"] = _layout(f, "Supply chain: what each step allows per month", "accelerators / month")

    f = go.Figure()
    f.add_scatter(x=months, y=ds["die_yield"].values, name="die yield")
    f.add_scatter(x=months, y=ds["d0_per_cm2"].values, name="D0 (defects/cm2)", yaxis="y2", line={"dash": "dot"})
    _layout(f, "Die yield over the ramp (by month the wafers come out)", "die yield")
    f.update_layout(yaxis2={"title": "D0 per cm2", "overlaying": "y", "side": "right"})
    figs["yield"] = f

    cost = ds["cost_usd_per_accelerator"].values
    if np.isfinite(cost).any():
        f = go.Figure()
        for name, label in (
            ("cost_wafer_usd_per_accelerator", "wafer"),
            ("cost_packaging_usd_per_accelerator", "packaging"),
            ("cost_hbm_usd_per_accelerator", "HBM"),
        ):
            vals = ds[name].values
            if np.isfinite(vals).any():
                f.add_scatter(x=months, y=vals, name=label, stackgroup="cost")
        figs["unit_cost"] = _layout(f, "Manufacturing cost per good accelerator", "USD")


def _workload_figures(ds: xr.Dataset, months: list[str], figs: dict[str, go.Figure]) -> None:
    """Training timeline and inference demand vs capacity."""
    runs = json.loads(ds.attrs.get("training_runs", "[]"))
    if runs:
        f = go.Figure()
        for r in runs:
            if r["start"]:
                f.add_scatter(
                    x=[f"{r['start']}-01", _month_end(r["finish"])],
                    y=[r["name"], r["name"]],
                    mode="lines",
                    line={"width": 18},
                    name=r["name"],
                    hovertext=f"{r['accelerators']:,} accelerators, {r['days']:.1f} days, "
                    f"{r['interruptions_expected']:.0f} interruptions expected",
                )
        f.update_layout(
            title="Training runs on the installed fleet (start to finish)",
            template="plotly_white",
            height=180 + 40 * len(runs),
            xaxis={"range": [f"{months[0]}-01", _month_end(months[-1])]},
        )
        figs["training"] = f
    if "inference_demand_tokens_per_s" in ds:
        f = go.Figure()
        f.add_scatter(x=months, y=ds["inference_demand_tokens_per_s"].values, name="demand")
        f.add_scatter(
            x=months,
            y=ds["inference_capacity_tokens_per_s"].values,
            name="capacity (free accelerators)",
            line={"dash": "dash"},
        )
        f.add_bar(x=months, y=ds["inference_unmet_tokens_per_s"].values, name="unmet", opacity=0.5)
        figs["inference"] = _layout(f, "Inference demand vs capacity", "output tokens/s")
        _per_token_figure(ds, months, figs)


def _per_token_figure(ds: xr.Dataset, months: list[str], figs: dict[str, go.Figure]) -> None:
    """Energy and cost per output token served, month by month (the run summary's figures are their totals)."""
    from fab2token.engine.simulate import per_token_by_month

    parts = per_token_by_month(ds)
    if parts is None or not (parts["tokens"] > 0).any():
        return
    served = parts["tokens"] > 0
    per = np.where(served, 1.0, np.nan) / np.where(served, parts["tokens"], 1.0)
    f = go.Figure()
    f.add_scatter(x=months, y=parts["joules"] * per, name="facility energy [J/token]")
    if np.isfinite(parts["usd"][served]).any():
        f.add_scatter(x=months, y=parts["usd"] * per * 1e6, name="cost [USD/M tokens]", yaxis="y2")
    f.update_layout(yaxis2={"title": "USD per million tokens", "overlaying": "y", "side": "right"})
    figs["per_token"] = _layout(
        f, "Energy and cost per output token served (the accelerators training does not hold)", "joules per token"
    )


def _money_figures(ds: xr.Dataset, months: list[str], figs: dict[str, go.Figure]) -> None:
    """Cumulative capex and opex with stranded inventory and an own fab's capex; the supply funnel."""
    f = go.Figure()
    capex = (
        ds["capex_accelerators_usd"] + ds["capex_datacenter_usd"].sum("site") + ds["optics_capex_usd"].sum("site")
    ).cumsum("month")
    f.add_scatter(x=months, y=capex.values / 1e6, name="capex (cumulative)")
    if "stranded_inventory_usd" in ds and float(ds["stranded_inventory_usd"].max()) > 0:
        f.add_scatter(
            x=months,
            y=ds["stranded_inventory_usd"].values / 1e6,
            name="stranded: accelerators paid for, waiting for power",
            line={"dash": "dot"},
        )
    if float(ds["fab_capex_usd"].sum()) > 0:
        f.add_scatter(x=months, y=ds["fab_capex_usd"].cumsum("month").values / 1e6, name="own fab capex (cumulative)")
    f.add_scatter(x=months, y=ds["opex_usd"].sum("site").cumsum("month").values / 1e6, name="opex (cumulative)")
    figs["cost"] = _layout(f, "Cumulative capex and opex", "million USD")

    f = go.Figure()
    stages = ["wafers out", "gross dies", "yielding dies", "known-good dies", "accelerators"]
    wafers = float(ds["wafers_out"].sum())
    gross = float((ds["wafers_out"] * ds["gross_dies_per_wafer"]).sum())
    yielding = float((ds["wafers_out"] * ds["gross_dies_per_wafer"] * ds["die_yield"]).sum())
    known_good = float(ds["good_dies"].sum())  # after the known-good-die test
    f.add_funnel(y=stages, x=[wafers, gross, yielding, known_good, float(ds["accelerators_delivered"].sum())])
    f.update_layout(title="Supply funnel over the horizon", template="plotly_white", height=360)
    figs["funnel"] = f


_COLOURS = {
    "supply": "#4c78a8",
    "power": "#e45756",
    "wafers": "#72b7b2",
    "packaging": "#f58518",
    "hbm": "#b279a2",
    "cooling": "#54a24b",
    "land": "#9d755d",
    "construction": "#bab0ac",
    "deployment schedule": "#eeca3b",
}


def _strips(months: list[str], rows: dict[str, list[str]], title: str) -> go.Figure:
    """One row of coloured cells per named categorical series (a month-by-month 'what binds' strip)."""
    f = go.Figure()
    seen: set[str] = set()
    for row, labels in rows.items():
        for kind in sorted(set(labels)):
            xs = [m for m, b in zip(months, labels, strict=True) if b == kind]
            f.add_scatter(
                x=xs,
                y=[row] * len(xs),
                mode="markers",
                name=kind,
                legendgroup=kind,
                showlegend=kind not in seen,
                marker={"symbol": "square", "size": 14, "color": _COLOURS.get(kind, "#888")},
            )
            seen.add(kind)
    f.update_layout(
        title=title, template="plotly_white", height=260, xaxis_title="month", legend={"orientation": "h", "y": -0.35}
    )
    return f


def _write_atomic(path: str | Path, text: str) -> Path:
    """Write a page through a temporary file of its own beside it (concurrent writers never share one), moved into
    place only once complete."""
    import os
    import tempfile

    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp's 0600 would hide the page from others: the usual file mode
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def _month_end(label: str) -> str:
    """Last day of a ``YYYY-MM`` month, as a date string plotly reads."""
    import numpy as np_

    last = np_.datetime64(label, "M") + 1
    return str(last.astype("datetime64[D]") - 1)


def _fmt(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:,.0f}" if abs(float(v)) >= 100 else f"{v:,.3g}"
    return html.escape(str(v))


def render_report(ds: xr.Dataset, summary: dict[str, Any], title: str | None = None) -> str:
    """The whole report as one HTML string, plotly.js inlined once (compressed: :mod:`.charts`)."""
    figs = figures(ds)
    parts = chart_fragments(figs.values())
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in summary.items() if not isinstance(v, list)
    )
    title = title or f"fab2token run {summary.get('run_id') or ''}"
    body = "".join(f"<section>{p}</section>" for p in parts)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p class='sub'>scenario <b>{html.escape(str(ds.attrs.get('scenario', '')))}</b>, accelerator "
        f"<b>{html.escape(str(ds.attrs.get('accelerator', '')))}</b>, all-in IT power "
        f"{float(ds.attrs.get('all_in_it_kw_per_accelerator', float('nan'))):.3f} kW per accelerator</p>"
        f"<table><tr><th>summary</th><th>value</th></tr>{rows}</table>{body}</body></html>"
    )


def write_report(path: str | Path, ds: xr.Dataset, summary: dict[str, Any]) -> Path:
    """Write :func:`render_report` to ``path`` (atomically: a temporary file, then a rename)."""
    return _write_atomic(path, render_report(ds, summary))
