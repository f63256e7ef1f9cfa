"""What a plan's limits are worth: the duals of its capacity constraints read as "one more unit of this limit is
worth $X" (targets met), or "cuts the shortfall by Y in the targets' unit" and its dollars at the targets' stated
value (targets short)."""

from __future__ import annotations

import math
from typing import Any

import linopy
import numpy as np
import xarray as xr

from fab2token.plan.data import PlanData
from fab2token.plan.model import SECONDS_PER_MONTH, VALUE_UNIT

__all__ = ["constraint_duals", "binding_rows", "binding_in_target_units"]

_DUAL_UNITS = {
    "grid_capacity": ("USD per IT MW-month", "power at site {site}"),
    "packaging_capacity": ("USD per packaging wafer", "advanced packaging"),
    "hbm_capacity": ("USD per HBM stack", "HBM supply"),
    "wafers": ("USD per wafer", "wafer starts"),
    "option_supply": ("USD per accelerator", "market supply of {accelerator}"),
    "not_before_energisation": ("USD per IT MW-month", "energisation date at site {site}"),
}


# each outcome of a solve: the exit status of ``fab2token plan`` and the sentence it prints


def constraint_duals(m: linopy.Model, d: PlanData) -> dict[str, xr.DataArray]:
    out = {}
    for name in _DUAL_UNITS:
        if name in m.constraints:
            out[name] = -m.dual[name]  # value of one more unit of the right-hand side (min problem: dual <= 0)
    return out


def _dual_rows(duals: dict[str, xr.DataArray], d: PlanData) -> Any:
    """For each binding capacity (and site or type where it has one): (name, group value, values by month in the
    capacity's own unit, first and last binding month, label, unit); the group value is ``(dim, coordinate)``,
    ``dim`` being ``site``, ``accelerator`` or None."""
    for name, dual in duals.items():
        unit, label = _DUAL_UNITS[name]
        scale = 1.0
        if name == "packaging_capacity":
            if math.isfinite(d.units_per_packaging_wafer):
                scale = d.units_per_packaging_wafer
            else:
                unit = "USD per package"
        elif name == "hbm_capacity":
            scale = d.stack_yield / d.stacks_per_accelerator
        val = (dual * scale).fillna(0.0)
        group = next((g for g in ("site", "accelerator") if g in val.dims), None)
        for s in val.coords[group].values if group else [None]:
            vals = (val.sel({group: s}) if group else val).values
            hot = np.flatnonzero(np.abs(vals) > 1e-6 * max(1.0, float(np.abs(vals).max())))
            if hot.size:
                where = label.format(site=s, accelerator=s)
                yield name, (group, s), vals, int(hot[0]), int(hot[-1]), int(hot.size), where, unit


def _group_keys(group: tuple[str | None, Any]) -> dict[str, str | None]:
    """The ``site`` and ``accelerator`` of a binding row (None where the capacity has no such dimension)."""
    dim, value = group
    return {"site": str(value) if dim == "site" else None, "accelerator": str(value) if dim == "accelerator" else None}


def binding_rows(duals: dict[str, xr.DataArray], d: PlanData) -> list[dict[str, Any]]:
    """One row per binding capacity (constraint, and site where it has one): the first month it binds and what one
    more unit is worth, in plain words. The month-by-month values stay in ``PlanResult.duals`` (the heatmap)."""
    rows = []
    for name, s, vals, first, last, n_hot, where, unit in _dual_rows(duals, d):
        if name == "not_before_energisation":
            value = float(vals[last])
            text = (
                f"{where} binds: energising one month earlier ({d.months[last]}) is worth ${value:,.0f} per IT "
                f"MW it would let you build then"
            )
        elif name == "grid_capacity":
            value = float(vals[first:].sum())
            text = (
                f"{where} binds from {d.months[first]}; one more MW of IT capacity from then on is worth "
                f"${value:,.0f} (${value * float(d.usable.sel(site=s[1])) / float(d.pue.sel(site=s[1])):,.0f} per grid MW)"
            )
        else:
            value = float(vals[first:].sum())
            per = unit.removeprefix("USD per ")
            text = (
                f"{where} binds from {d.months[first]}; one more {per} a month from then on is worth "
                f"${value:,.0f} in total (up to ${float(np.abs(vals).max()):,.0f} in a single month)"
            )
        rows.append(
            {
                "constraint": name,
                **_group_keys(s),
                "month": d.months[first],
                "dual": value,
                "unit": unit.replace("-month", ""),
                "text": text,
                "months_binding": n_hot,
            }
        )
    rows.sort(key=lambda r: -abs(r["dual"]))
    return rows


def _usd_per_shortfall_unit(d: PlanData, unit: str) -> float | None:
    """Dollars one unit of the shortfall is worth at the targets' stated value: a zettaFLOP at
    ``value_usd_per_flop``; a million tokens/s-month (1e6 tokens/s for a month: SECONDS_PER_MONTH million tokens)
    at ``value_usd_per_million_tokens``; a million dollars of the targets' value when both are stated. None
    without a stated value, or for a shortfall in mixed units (target fractions)."""
    if unit == "ZFLOP" and math.isfinite(d.value_usd_per_flop):
        return d.value_usd_per_flop * 1e21
    if unit == "million tokens/s-months" and math.isfinite(d.value_usd_per_million_tokens):
        return d.value_usd_per_million_tokens * SECONDS_PER_MONTH
    if unit == VALUE_UNIT:
        return 1e6
    return None


def binding_in_target_units(duals: dict[str, xr.DataArray], d: PlanData, unit: str) -> list[dict[str, Any]]:
    """When targets are short: what one more unit of each binding capacity cuts from the shortfall, in the targets'
    unit (the first phase's duals), never a penalty's dollars; and in dollars at the targets' stated value
    (``value_usd``; None when no value is stated or the targets are in mixed units)."""
    usd_per_unit = _usd_per_shortfall_unit(d, unit)
    rows = []
    for name, s, vals, first, last, n_hot, where, cap_unit in _dual_rows(duals, d):
        per = cap_unit.removeprefix("USD per ").replace("-month", "")
        if name == "not_before_energisation":
            value = float(vals[last])
            text = f"{where}: energising one month earlier ({d.months[last]}) cuts the shortfall by {value:.4g} {unit}"
        else:
            value = float(vals[first:].sum())
            text = (
                f"{where} binds from {d.months[first]}; one more {per} a month from then on cuts the shortfall by "
                f"{value:.4g} {unit}"
            )
        usd = None if usd_per_unit is None else value * usd_per_unit
        if usd is not None:
            text += f" (worth ${usd:,.0f} at the targets' stated value)"
        rows.append(
            {
                "constraint": name,
                **_group_keys(s),
                "month": d.months[first],
                "value": value,
                "unit": f"{unit} per {per}",
                "value_usd": usd,
                "text": text,
                "months_binding": n_hot,
            }
        )
    rows.sort(key=lambda r: -abs(r["value"]))
    return rows
