"""fab2token catalog ...: the shipped tables with their sources."""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from fab2token import catalog as _catalog
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


# catalog compare: the accelerator fields shown, with their labels and the unit the table prints them in
# (column, label, unit, divisor from the column's own unit); every other numeric column follows with its own name
_COMPARE_FIELDS: tuple[tuple[str, str, str, float], ...] = (
    ("vendor", "vendor", "", 1.0),
    ("status", "status", "", 1.0),
    ("dense_bf16_flop_per_s", "BF16 dense peak", "TFLOP/s", 1e12),
    ("dense_fp8_flop_per_s", "FP8 dense peak", "TFLOP/s", 1e12),
    ("dense_fp4_flop_per_s", "FP4 dense peak", "TFLOP/s", 1e12),
    ("precisions", "precisions", "", 1.0),
    ("hbm_gb", "HBM capacity", "GB", 1.0),
    ("hbm_tb_per_s", "HBM bandwidth", "TB/s", 1.0),
    ("board_power_w", "board power", "W", 1.0),
    ("server_power_w_per_accelerator", "server power per accelerator", "W", 1.0),
    ("scaleup_domain", "scale-up domain", "accelerators", 1.0),
    ("scaleup_gb_per_s", "scale-up bandwidth", "GB/s", 1.0),
    ("scaleout_gb_per_s", "scale-out bandwidth", "GB/s", 1.0),
    ("process_node", "process node", "", 1.0),
    ("compute_dies", "compute dies", "", 1.0),
    ("compute_die_area_mm2", "compute die area", "mm2", 1.0),
    ("hbm_stacks", "HBM stacks", "", 1.0),
    ("interposer_area_mm2", "interposer area", "mm2", 1.0),
    ("compute_efficiency_frac", "BF16 matmul efficiency", "fraction", 1.0),
    ("compute_efficiency_fp8_frac", "FP8 matmul efficiency", "fraction", 1.0),
    ("hbm_bw_efficiency_frac", "HBM bandwidth efficiency", "fraction", 1.0),
)
# the unit each numeric column holds, as its name says (the --json values are in these units)
_COLUMN_UNITS = {
    "dense_bf16_flop_per_s": "FLOP/s",
    "dense_fp8_flop_per_s": "FLOP/s",
    "dense_fp4_flop_per_s": "FLOP/s",
}


def _compare_fields() -> list[tuple[str, str, str, float]]:
    known = {c for c, *_ in _COMPARE_FIELDS}
    rows = _catalog.table_rows("accelerators")
    extra = [(c, c, "", 1.0) for c in rows[0] if c not in known and c not in ("name", "aliases", "source", "notes")]
    return [f for f in _COMPARE_FIELDS if f[0] in rows[0]] + extra


def _compare_cell(value: object, divisor: float) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        x = value / divisor
        if abs(x) >= 100:
            text = f"{x:,.1f}"
            return text[:-2] if text.endswith(".0") else text
        return f"{x:.4g}"
    return str(value).replace(";", ", ")


@catalog_app.command("compare")
@handles_errors
def catalog_compare(
    names: Annotated[
        list[str],
        typer.Argument(help="Accelerators by catalog name or alias, e.g. H100 B200 MI355X.", show_default=False),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Accelerators side by side: one column each, one row per field with its unit (empty = not published)."""
    rows = _catalog.load_table("accelerators")
    chosen: list[str] = []
    for name in names:
        canonical = _catalog.resolve_name("accelerators", name, rows)  # an unknown name lists the known ones
        if canonical is not None and canonical not in chosen:
            chosen.append(canonical)
    fields = _compare_fields()
    if as_json:
        _print_json(
            {
                "accelerators": chosen,
                "fields": [
                    {
                        "field": col,
                        "label": label,
                        "unit": _COLUMN_UNITS.get(col, unit),
                        "values": [
                            list(_catalog.precisions(rows[n])) if col == "precisions" else rows[n][col] for n in chosen
                        ],
                    }
                    for col, label, unit, _ in fields
                ],
                "source": {n: rows[n]["source"] for n in chosen},
                "notes": {n: rows[n]["notes"] for n in chosen},
            }
        )
        return
    t = Table(title="catalog: accelerators compared (empty = not published; sources: --json)")
    t.add_column("field", no_wrap=True)
    t.add_column("unit", no_wrap=True)
    for n in chosen:
        t.add_column(n, justify="right")
    for col, label, unit, divisor in fields:
        t.add_row(label, unit, *(_compare_cell(rows[n][col], divisor) for n in chosen))
    out.print(t)
    for n in chosen:
        if rows[n]["notes"]:
            out.print(f"{n}: {rows[n]['notes']}", highlight=False)


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
