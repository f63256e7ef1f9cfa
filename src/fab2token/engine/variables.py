"""The results variables of a batch of draws: every stage's output with its dimensions and units, each array with a
leading ``draw`` dimension (docs/reference/results.md lists the variables).

One run's results Dataset (:func:`fab2token.engine.simulate.simulate`) is draw 0 of a batch of one; a sweep reads
the same variables for a chunk of draws without building a Dataset per draw
(:func:`fab2token.sweep.outcomes.batch_outcomes`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fab2token.economics import costs
from fab2token.engine.batch import Batch

__all__ = ["batch_variables"]

Variable = tuple[tuple[str, ...], np.ndarray, dict[str, str]]


def _stacked(items: Any, name: str) -> np.ndarray:
    return np.stack([getattr(x, name) if not isinstance(x, dict) else x[name] for x in items])


def batch_variables(b: Batch) -> dict[str, Variable]:
    """Every results variable of the batch's draws: name -> (dimensions without ``draw``, (draw, ...) array,
    attributes)."""
    m = ("month",)
    st = b.fleet_stage
    fleet = _fleet_variables(b)
    by_type = fleet["accelerators_delivered_by_type"][1]  # (draw, type, month)
    return {
        **_supply_variables(b.chain),
        **fleet,
        **_energy_variables(b),
        **_site_variables(b),
        **_workload_variables(b),
        "accelerators_delivered": (m, by_type.sum(axis=1), {"units": "accelerators/month"}),
        "accelerators_backlog": (m, st["backlog"], {"units": "accelerators"}),
        "stranded_inventory_usd": (
            m,
            st["stranded_usd"],
            {"units": "USD", "note": "accelerators paid for and not powered (waiting for power or idled)"},
        ),
        "binding_constraint": (m, st["binding"].astype(str), {}),
        "capex_accelerators_usd": (m, _stacked(b.bills, "accelerators"), {"units": "USD"}),
        "largest_cluster_accelerators": (m, b.largest, {"units": "accelerators"}),
    }


def _site_variables(b: Batch) -> dict[str, Variable]:
    """The (month, site) results: power, capacity, what is installed, energy and the site's costs."""
    st, sis, bills = b.fleet_stage, b.sites, b.bills
    installed, it_power = st["installed"], st["it_power"]
    it_cap = _stacked(sis, "it_capacity_mw")
    kw0 = np.array([float(fi.kw[0]) for fi in b.fleet])[:, None, None]
    optics_w = np.stack([costs.optics_usd_per_accelerator(sc.sites, sc.catalog.get("optics"))[0] for sc in b.scenarios])
    power = [si.power for si in sis]

    def bill(*names: str) -> np.ndarray:
        return sum(_stacked(bills, n) for n in names)  # type: ignore[return-value]

    ms = ("month", "site")
    return {
        "grid_power_mw": (ms, _stacked(power, "grid_mw"), {"units": "MW"}),
        "it_capacity_mw": (ms, it_cap, {"units": "MW"}),
        "accelerator_capacity": (ms, np.floor(it_cap * 1000.0 / kw0 + 1e-9), {"units": "accelerators"}),
        "accelerators_installed": (ms, installed, {"units": "accelerators"}),
        "it_power_mw": (ms, it_power, {"units": "MW"}),
        "facility_power_mw": (ms, it_power * _stacked(b.hourly, "pue_p99"), {"units": "MW"}),
        "energy_mwh": (ms, _stacked(b.hourly, "facility_energy_mwh"), {"units": "MWh"}),
        "capex_datacenter_usd": (ms, bill("datacenter_capex", "battery_capex"), {"units": "USD"}),
        "opex_usd": (ms, bill("electricity", "fixed_opex", "onsite_fuel"), {"units": "USD"}),
        "onsite_power_mw": (ms, _stacked(power, "onsite_mw"), {"units": "MW"}),
        "solar_power_mw": (ms, _stacked(sis, "solar_mw"), {"units": "MW", "note": "nameplate"}),
        "battery_power_mw": (ms, _stacked(sis, "battery_mw"), {"units": "MW"}),
        "max_cluster_accelerators": (ms, b.max_cluster, {"units": "accelerators"}),
        "optics_power_kw": (ms, installed * optics_w[:, None, :] / 1000.0, {"units": "kW"}),
        "optics_capex_usd": (ms, bill("optics_capex"), {"units": "USD"}),
    }


def _workload_variables(b: Batch) -> dict[str, Variable]:
    """Training and inference over the months."""
    m = ("month",)
    wl = b.workloads
    out: dict[str, Variable] = {
        "training_accelerators": (m, _stacked(wl, "training_accelerators"), {"units": "accelerators"}),
        "training_active": (("run", "month"), _stacked(wl, "training_active"), {}),
    }
    for name in (
        "inference_demand_tokens_per_s",
        "inference_capacity_tokens_per_s",
        "inference_served_tokens_per_s",
        "inference_unmet_tokens_per_s",
    ):
        if name in wl[0]:
            out[name] = (m, _stacked(wl, name), {"units": "tokens/s"})
    return out


def _supply_variables(chain: dict[str, np.ndarray]) -> dict[str, Variable]:
    """The supply chain stage: wafers, dies, yield, packaging, HBM, cost per accelerator, fab capex."""
    m = ("month",)
    return {
        "wafers_out": (m, chain["wafers_out"], {"units": "wafers/month"}),
        "gross_dies_per_wafer": (m, chain["gross_dies_per_wafer"], {"units": "dies"}),
        "d0_per_cm2": (m, chain["d0_per_cm2"], {"units": "defects/cm2"}),
        "die_yield": (m, chain["die_yield"], {"units": "fraction"}),
        "good_dies": (m, chain["good_dies"], {"units": "dies/month"}),
        "lower_sku_dies": (m, chain["lower_sku_dies"], {"units": "dies/month"}),
        "units_from_wafers": (m, chain["units_from_wafers"], {"units": "accelerators/month"}),
        "units_from_packaging": (m, chain["units_from_packaging"], {"units": "accelerators/month"}),
        "units_from_hbm": (m, chain["units_from_hbm"], {"units": "accelerators/month"}),
        "die_inventory": (m, chain["die_inventory"], {"units": "accelerators"}),
        "supply_limiting_step": (m, chain["limiting_step"].astype(str), {}),
        "cost_usd_per_accelerator": (m, chain["cost_usd_per_accelerator"], {"units": "USD"}),
        "cost_wafer_usd_per_accelerator": (m, chain["cost_wafer_usd_per_accelerator"], {"units": "USD"}),
        "cost_packaging_usd_per_accelerator": (m, chain["cost_packaging_usd_per_accelerator"], {"units": "USD"}),
        "cost_hbm_usd_per_accelerator": (m, chain["cost_hbm_usd_per_accelerator"], {"units": "USD"}),
        "fab_capex_usd": (m, chain.get("fab_capex_usd", np.zeros_like(chain["wafers_out"])), {"units": "USD"}),
    }


_ENERGY = {  # HourlyResult field -> (units, note)
    "grid_energy_mwh": ("MWh", ""),
    "onsite_energy_mwh": ("MWh", ""),
    "solar_energy_mwh": ("MWh", ""),
    "battery_energy_mwh": ("MWh", ""),
    "ppa_energy_mwh": ("MWh", "within grid_energy_mwh"),
    "curtailed_mwh": ("MWh", "grid energy not drawn in events"),
    "unserved_energy_mwh": ("MWh", "work paused"),
    "solar_to_battery_mwh": ("MWh", ""),
    "grid_to_battery_mwh": ("MWh", "within grid_energy_mwh"),
    "pue_mean": ("ratio", ""),
    "pue_p99": ("ratio", ""),
    "water_m3": ("m3", ""),
    "carbon_tco2": ("tCO2", ""),
    "ambient_mean_c": ("degC", ""),
}


def _energy_variables(b: Batch) -> dict[str, Variable]:
    """The hourly energy engine, monthly per site: energy by source, PUE, water, carbon, ambient temperature."""
    ms = ("month", "site")
    return {
        name: (ms, _stacked(b.hourly, name), {"units": units} | ({"note": note} if note else {}))
        for name, (units, note) in _ENERGY.items()
    }


def _fleet_variables(b: Batch) -> dict[str, Variable]:
    """The fleet by accelerator type: delivered, installed (powered), housed, waiting, retired, bought, depreciated."""
    pl = b.placement
    am, ams = ("accelerator", "month"), ("accelerator", "month", "site")
    return {
        "accelerators_delivered_by_type": (am, _stacked(b.fleet, "delivered"), {"units": "accelerators/month"}),
        "accelerators_installed_by_type": (ams, pl.powered, {"units": "accelerators", "note": "powered"}),
        "accelerators_housed_by_type": (ams, pl.housed, {"units": "accelerators", "note": "in place"}),
        "accelerators_waiting_by_type": (am, pl.waiting, {"units": "accelerators", "note": "not yet housed"}),
        "accelerators_retired_by_type": (am, pl.retired, {"units": "accelerators/month"}),
        "capex_accelerators_by_type_usd": (am, _stacked(b.fleet, "purchases_usd"), {"units": "USD"}),
        "depreciation_usd": (
            am,
            b.fleet_stage["depreciation_usd"],
            {"units": "USD", "note": "straight line, in service"},
        ),
    }


# the summary's numbers: sums over the horizon, values at its end (summed over sites and types), largest values
TOTALS: dict[str, tuple[str, ...]] = {
    "accelerators_delivered_total": ("accelerators_delivered",),
    "energy_mwh_total": ("energy_mwh",),
    "capex_usd_total": ("capex_accelerators_usd", "capex_datacenter_usd", "optics_capex_usd"),
    "opex_usd_total": ("opex_usd",),
    "fab_capex_usd_total": ("fab_capex_usd",),
    "carbon_tco2_total": ("carbon_tco2",),
    "water_m3_total": ("water_m3",),
}
ENDS: dict[str, str] = {
    "accelerators_installed_end": "accelerators_installed",
    "accelerators_backlog_end": "accelerators_backlog",
    "it_power_mw_end": "it_power_mw",
    "facility_power_mw_end": "facility_power_mw",
    "stranded_inventory_usd_end": "stranded_inventory_usd",
}
MAXIMA: dict[str, str] = {"stranded_inventory_usd_max": "stranded_inventory_usd"}


def headline_numbers(values: Any) -> dict[str, np.ndarray]:
    """The summary's numbers of every draw, (draw,) arrays, from ``values(name)``: a results variable as a
    (draw, month, ...) array. NaN is left out of sums, as xarray's sums leave it out."""

    def flat(v: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(v).reshape(v.shape[0], -1)

    out: dict[str, np.ndarray] = {}
    for key, names in TOTALS.items():
        out[key] = sum(np.nansum(flat(values(n)), axis=1) for n in names)  # type: ignore[assignment]
    for key, name in ENDS.items():
        v = values(name)
        out[key] = np.nansum(flat(v[:, -1]), axis=1) if v.shape[1] else np.zeros(v.shape[0])
    for key, name in MAXIMA.items():
        v = values(name)
        out[key] = np.nanmax(flat(v), axis=1) if v.shape[1] else np.full(v.shape[0], np.nan)
    return out
