"""fab2token catalog ...: the shipped tables with their sources."""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from fab2token.cli.common import (
    JsonOpt,
    _print_json,
    _print_table,
    catalog_app,
    handles_errors,
    out,
)
from fab2token.errors import ScenarioError


@catalog_app.command("accelerators")
@handles_errors
def catalog_accelerators(as_json: JsonOpt = False) -> None:
    """The accelerator catalog."""
    _print_table("accelerators", as_json)


@catalog_app.command("process-nodes")
@handles_errors
def catalog_process_nodes(as_json: JsonOpt = False) -> None:
    """Process nodes: defect density, wafer price, reticle limit."""
    _print_table("process_nodes", as_json)


@catalog_app.command("models")
@handles_errors
def catalog_models(as_json: JsonOpt = False) -> None:
    """Model architectures (dense and MoE) with their sources."""
    _print_table("models", as_json)


@catalog_app.command("cooling")
@handles_errors
def catalog_cooling(as_json: JsonOpt = False) -> None:
    """Cooling kinds and their rack-density limits where published."""
    _print_table("cooling", as_json)


@catalog_app.command("overheads")
@handles_errors
def catalog_overheads(as_json: JsonOpt = False) -> None:
    """Power overhead factors used for all-in power per accelerator."""
    _print_table("overheads", as_json)


@catalog_app.command("optics")
@handles_errors
def catalog_optics(as_json: JsonOpt = False) -> None:
    """Scale-out transceivers: rate, ports, power (NVIDIA datasheets); prices are left for the scenario."""
    _print_table("optics", as_json)


@catalog_app.command("climate")
@handles_errors
def catalog_climate(
    region: Annotated[str | None, typer.Option("--region", help="One region: its twelve months.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Climate regions (monthly dry bulb, daily range, dew point, 10 % design dry bulb) with their sources."""
    from fab2token.errors import InputIssue
    from fab2token.sites.climate import climate_regions, region_normals

    names = climate_regions()
    if region is not None and region not in names:
        raise ScenarioError([InputIssue("--region", "--region", region, f"one of: {', '.join(names)}")])
    chosen = [region] if region else names
    res = []
    for name in chosen:
        n = region_normals(name)
        res.append(
            {
                "region": name,
                "station": n.station,
                "dry_bulb_mean_c": n.mean_c.tolist(),
                "daily_range_c": n.range_c.tolist(),
                "dew_point_mean_c": n.dew_point_c.tolist(),
                "dry_bulb_10pct_c": [None if math.isnan(x) else x for x in n.db10_c],
                "day_to_day_sd_c": [round(float(x), 3) for x in n.sigma_c],
                "source": n.source,
            }
        )
    if as_json:
        _print_json(res if region is None else res[0])
        return
    if region is None:
        t = Table(title="climate regions (months and sources: --region NAME, or --json)")
        for col in ("region", "station", "annual mean °C", "hottest month °C", "range kind"):
            t.add_column(col)
        for r, name in zip(res, chosen, strict=True):
            t.add_row(
                name,
                r["station"],
                f"{np.mean(r['dry_bulb_mean_c']):.1f}",
                f"{max(r['dry_bulb_mean_c']):.1f}",
                region_normals(name).range_kind,
            )
        out.print(t)
        return
    r = res[0]
    t = Table(title=f"{region}: {r['station']}")
    t.add_column("field", no_wrap=True)
    for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"):
        t.add_column(m, justify="right")
    for key in ("dry_bulb_mean_c", "daily_range_c", "dew_point_mean_c", "dry_bulb_10pct_c", "day_to_day_sd_c"):
        t.add_row(key, *("" if v is None else f"{v:.1f}" for v in r[key]))
    out.print(t)
    out.print(f"source: {r['source']}", highlight=False)
