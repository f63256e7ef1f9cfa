"""The monthly engine: scenario in, results Dataset (month x site) and summary out."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import xarray as xr

from fab2token.deploy import placement as _deploy
from fab2token.deploy.fleet import HOURS_PER_YEAR, FleetInputs, fleet_inputs, whole_units
from fab2token.economics import costs
from fab2token.economics.bills import bills
from fab2token.scenario.models import Scenario, month_number
from fab2token.scenario.timeline import hours_in_month, month_axis, month_labels
from fab2token.sites import network
from fab2token.sites import power as sites
from fab2token.sites.inputs import SiteInputs, site_inputs
from fab2token.supply import chain as supplychain
from fab2token.workloads import schedule as workloads

__all__ = ["simulate", "Summary", "summarise", "SUMMARY_KEYS"]

SUMMARY_KEYS = (
    "run_id",
    "scenario",
    "accelerator",
    "months",
    "month_labels",
    "accelerators_delivered_total",
    "accelerators_installed_end",
    "accelerators_backlog_end",
    "it_power_mw_end",
    "facility_power_mw_end",
    "energy_mwh_total",
    "capex_usd_total",
    "opex_usd_total",
    "fab_capex_usd_total",
    "stranded_inventory_usd_end",
    "stranded_inventory_usd_max",
    "binding_constraint_by_month",
    "training_runs",
    "inference_unmet_tokens_per_s_by_month",
    "fleet",
    "inference_tokens_served_total",
    "inference_joules_per_token",
    "inference_usd_per_million_tokens",
)


@dataclass(frozen=True)
class Summary:
    """Headline numbers of a run; the keys of ``fab2token run --json``."""

    run_id: str | None
    scenario: str
    accelerator: str
    months: int
    month_labels: list[str]
    accelerators_delivered_total: float
    accelerators_installed_end: float
    accelerators_backlog_end: float
    it_power_mw_end: float
    facility_power_mw_end: float
    energy_mwh_total: float
    capex_usd_total: float
    opex_usd_total: float
    fab_capex_usd_total: float
    stranded_inventory_usd_end: float
    stranded_inventory_usd_max: float
    binding_constraint_by_month: list[str]
    training_runs: list[dict[str, object]]
    inference_unmet_tokens_per_s_by_month: list[float]
    fleet: list[dict[str, object]]
    inference_tokens_served_total: float | None = None
    inference_joules_per_token: float | None = None
    inference_usd_per_million_tokens: float | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _supply_chain(
    sc: Scenario, axis: np.ndarray, supply: supplychain.SupplyInputs | None = None
) -> dict[str, np.ndarray]:
    out = supplychain.chain(supply if supply is not None else supplychain.inputs_from_scenario(sc, axis))
    out["accelerators_delivered"] = whole_units(out["accelerators_delivered"])  # whole accelerators
    return out


def simulate(
    sc: Scenario,
    supply: supplychain.SupplyInputs | None = None,
    market: dict[str, np.ndarray] | None = None,
) -> xr.Dataset:
    """Run the monthly engine on a validated scenario.

    ``supply`` (the own chain's resolved inputs) and ``market`` (market deliveries a month by accelerator name)
    replace what the scenario's own figures give: a race hands each player what it was allocated of the world's
    wafers, packaging, HBM and market accelerators.

    Parameters
    ----------
    sc : Scenario
        A validated scenario (:func:`fab2token.scenario.load.parse_scenario`).
    supply : SupplyInputs, optional
        The own chain's resolved inputs, in place of the scenario's.
    market : dict of str to numpy.ndarray, optional
        Market deliveries a month, by accelerator name, in place of the scenario's orders.

    Returns
    -------
    xarray.Dataset
        Dimensions ``month`` (``YYYY-MM`` labels), ``site`` and ``accelerator`` (the fleet's types). See docs/reference/results.md
        for every variable.
    """
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    chain = _supply_chain(sc, axis, supply)
    si = site_inputs(sc, axis)
    fl = _fleet_stage(sc, axis, chain, si, market)
    if fl["fleet"].own_fab_capex_usd is not None:  # the fleet's further own designs build their own fabs
        chain["fab_capex_usd"] = chain.get("fab_capex_usd", 0.0) + fl["fleet"].own_fab_capex_usd
    hourly, bill = bills(sc, si, fl["it_power"], fl["new_installs"], fl["fleet"].purchases_usd.sum(axis=0))
    installed = fl["installed"]
    radix = np.array([s.switch_radix for s in sc.sites])
    tiers = np.array([s.fabric_tiers for s in sc.sites])
    domain = np.array([s.scale_up_domain for s in sc.sites])
    max_cluster = network.site_max_cluster(installed, sites.fat_tree_endpoints(radix, tiers)[None, :], domain)
    index = {s.name: j for j, s in enumerate(sc.sites)}
    largest = max_cluster.max(axis=1)
    for campus in sc.campuses:
        members = max_cluster[:, [index[n] for n in campus.sites]]
        largest = np.maximum(largest, network.campus_max_cluster(members, campus.inter_site_gbps))
    fi = fl["fleet"]
    wl = workloads.schedule_workloads(
        sc, axis, fl["placement"].powered.sum(axis=2), fi.names, float(np.mean(si.pue_design))
    )
    return _dataset(sc, axis, chain, si, fl, hourly, bill, max_cluster, largest, wl)


def _fleet_stage(
    sc: Scenario,
    axis: np.ndarray,
    chain: dict[str, np.ndarray],
    si: SiteInputs,
    market: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Deliveries of every type placed into the sites' usable power; what waits, what is stranded, what binds."""
    fi = fleet_inputs(sc, axis, chain["accelerators_delivered"], market)
    pl = _deploy.place_fleet(
        fi.delivered,
        si.it_capacity_mw * 1000.0,
        fi.kw,
        fi.life_months,
        fi.base,
        fi.base_retire,
        fi.placement_order,
        fi.deploy_cap,
    )
    waiting_by_type = pl.waiting + (pl.housed - pl.powered).sum(axis=2)  # (type, month) paid for, not powered
    backlog = waiting_by_type.sum(axis=0)
    tol = 1e-9 * np.maximum(np.cumsum(fi.delivered.sum(axis=0)), 1.0)
    supply_or_power = np.where(backlog > tol, _deploy.BINDING_POWER, _deploy.BINDING_SUPPLY)
    binding = _deploy.classify_binding(
        supply_or_power, si.power, si.climate.pue_p99 > si.pue_design[None, :] + 1e-12, si.grid_scheduled_mw
    )
    if fi.deploy_cap is not None:  # waiting while a site has room for one: the deployment schedule holds it back
        spare_kw = si.it_capacity_mw * 1000.0 - np.einsum("t,tms->ms", fi.kw, pl.housed)
        smallest = np.where(waiting_by_type > tol, fi.kw[:, None], np.inf).min(axis=0)
        held = (spare_kw.max(axis=1) >= smallest) & (backlog > tol)
        binding = np.where(held, _deploy.BINDING_SCHEDULE, binding)
    monthly_life = np.where(np.isfinite(fi.life_months), fi.life_months, np.inf)
    depreciation = pl.housed.sum(axis=2) * (np.nan_to_num(fi.book_usd) / monthly_life)[:, None]
    return {
        "fleet": fi,
        "placement": pl,
        "installed": pl.powered.sum(axis=0),  # (month, site)
        "it_power": np.einsum("t,tms->ms", fi.kw, pl.powered) / 1000.0,
        "new_installs": pl.placed.sum(axis=0),
        "backlog": backlog,
        "stranded_usd": (waiting_by_type * np.nan_to_num(fi.book_usd)[:, None]).sum(axis=0),
        "binding": binding,
        "depreciation_usd": depreciation,
    }


def _dataset(
    sc: Scenario,
    axis: np.ndarray,
    chain: dict[str, np.ndarray],
    si: SiteInputs,
    fl: dict[str, Any],
    hourly: Any,
    bill: dict[str, np.ndarray],
    max_cluster: np.ndarray,
    largest: np.ndarray,
    wl: dict[str, Any],
) -> xr.Dataset:
    """The results Dataset: every stage's output with units (docs/reference/results.md lists the variables)."""
    fi, pl = fl["fleet"], fl["placement"]
    m = ("month",)
    return xr.Dataset(
        {
            **_supply_variables(chain),
            **_fleet_variables(fl),
            **_energy_variables(hourly),
            **_site_variables(sc, si, fl, hourly, bill, max_cluster),
            **_workload_variables(wl),
            "accelerators_delivered": (m, fi.delivered.sum(axis=0), {"units": "accelerators/month"}),
            "accelerators_backlog": (m, fl["backlog"], {"units": "accelerators"}),
            "stranded_inventory_usd": (
                m,
                fl["stranded_usd"],
                {"units": "USD", "note": "accelerators paid for and not powered (waiting for power or idled)"},
            ),
            "binding_constraint": (m, fl["binding"].astype(str)),
            "capex_accelerators_usd": (m, bill["accelerators"], {"units": "USD"}),
            "largest_cluster_accelerators": (m, largest, {"units": "accelerators"}),
        },
        coords={
            "month": month_labels(axis),
            "site": [s.name for s in sc.sites],
            "pue": ("site", si.pue_design),
            "run": [r["name"] for r in wl["runs"]],
            "accelerator": fi.names,
            "all_in_it_kw": ("accelerator", fi.kw),
        },
        attrs={
            "scenario": sc.name,
            "accelerator": fi.names[0],
            "fleet": json.dumps(_fleet_rows(fi, pl)),
            "all_in_it_kw_per_accelerator": float(fi.kw[0]),
            "start_month_number": int(month_number(sc.horizon.start)),
            "training_runs": json.dumps(wl["runs"]),
            "inference_tokens_per_s_per_accelerator": float(wl.get("inference_tokens_per_s_per_accelerator", 0.0)),
        },
    )


def _site_variables(
    sc: Scenario, si: SiteInputs, fl: dict[str, Any], hourly: Any, bill: dict[str, np.ndarray], max_cluster: np.ndarray
) -> dict[str, Any]:
    """The (month, site) results: power, capacity, what is installed, energy and the site's costs."""
    installed, it_power, it_cap = fl["installed"], fl["it_power"], si.it_capacity_mw
    accel_cap = np.floor(it_cap * 1000.0 / float(fl["fleet"].kw[0]) + 1e-9)
    optics_w, _ = costs.optics_usd_per_accelerator(sc.sites, sc.catalog.get("optics"))
    ms = ("month", "site")
    return {
        "grid_power_mw": (ms, si.power.grid_mw, {"units": "MW"}),
        "it_capacity_mw": (ms, it_cap, {"units": "MW"}),
        "accelerator_capacity": (ms, accel_cap, {"units": "accelerators"}),
        "accelerators_installed": (ms, installed, {"units": "accelerators"}),
        "it_power_mw": (ms, it_power, {"units": "MW"}),
        "facility_power_mw": (ms, it_power * hourly.pue_p99, {"units": "MW"}),
        "energy_mwh": (ms, hourly.facility_energy_mwh, {"units": "MWh"}),
        "capex_datacenter_usd": (ms, bill["datacenter_capex"] + bill["battery_capex"], {"units": "USD"}),
        "opex_usd": (ms, bill["electricity"] + bill["fixed_opex"] + bill["onsite_fuel"], {"units": "USD"}),
        "onsite_power_mw": (ms, si.power.onsite_mw, {"units": "MW"}),
        "solar_power_mw": (ms, si.solar_mw, {"units": "MW", "note": "nameplate"}),
        "battery_power_mw": (ms, si.battery_mw, {"units": "MW"}),
        "max_cluster_accelerators": (ms, max_cluster, {"units": "accelerators"}),
        "optics_power_kw": (ms, installed * optics_w[None, :] / 1000.0, {"units": "kW"}),
        "optics_capex_usd": (ms, bill["optics_capex"], {"units": "USD"}),
    }


def _workload_variables(wl: dict[str, Any]) -> dict[str, Any]:
    """Training and inference over the months."""
    m = ("month",)
    out: dict[str, Any] = {
        "training_accelerators": (m, wl["training_accelerators"], {"units": "accelerators"}),
        "training_active": (("run", "month"), wl["training_active"]),
    }
    for name in (
        "inference_demand_tokens_per_s",
        "inference_capacity_tokens_per_s",
        "inference_served_tokens_per_s",
        "inference_unmet_tokens_per_s",
    ):
        if name in wl:
            out[name] = (m, wl[name], {"units": "tokens/s"})
    return out


def _fleet_rows(fi: FleetInputs, pl: _deploy.Placement) -> list[dict[str, Any]]:
    """One row per accelerator type for the summary."""
    rows = []
    for k, name in enumerate(fi.names):
        life = fi.life_months[k]
        per_hour = fi.book_usd[k] / (life / 12.0 * HOURS_PER_YEAR) if np.isfinite(life) else None
        rows.append(
            {
                "accelerator": name,
                "sources": fi.sources[k],
                "all_in_it_kw": float(fi.kw[k]),
                "price_usd": None if np.isnan(fi.price_usd[k]) else float(fi.price_usd[k]),
                "useful_life_years": float(life / 12.0) if np.isfinite(life) else None,
                "installed_base": float(fi.base[k].sum()),
                "delivered_total": float(fi.delivered[k].sum()),
                "retired_total": float(pl.retired[k].sum()),
                "installed_end": float(pl.powered[k, -1].sum()) if pl.powered.shape[1] else 0.0,
                "depreciation_usd_per_accelerator_hour": None
                if per_hour is None or np.isnan(per_hour)
                else float(per_hour),
            }
        )
    return rows


def summarise(ds: xr.Dataset, run_id: str | None = None) -> Summary:
    """Headline numbers of a results Dataset (sums on the arrays themselves, NaN left out as xarray's sums do:
    called once per draw by a sweep, xarray's reductions were a fifth of a draw's time).

    Parameters
    ----------
    ds : xarray.Dataset
        What :func:`simulate` returned.
    run_id : str, optional
        The stored run's id, carried into the summary.

    Returns
    -------
    Summary
        The keys of ``fab2token run --json`` (:data:`SUMMARY_KEYS`), with units in their names.
    """

    def total(name: str) -> float:
        return float(np.nansum(ds[name].values))

    def end(name: str) -> float:
        v = ds[name].values
        return float(np.nansum(v[-1])) if v.shape[0] else 0.0

    return Summary(
        run_id=run_id,
        scenario=str(ds.attrs.get("scenario", "")),
        accelerator=str(ds.attrs.get("accelerator", "")),
        months=int(ds.sizes["month"]),
        month_labels=[str(m) for m in ds["month"].values],
        accelerators_delivered_total=total("accelerators_delivered"),
        accelerators_installed_end=end("accelerators_installed"),
        accelerators_backlog_end=end("accelerators_backlog"),
        it_power_mw_end=end("it_power_mw"),
        facility_power_mw_end=end("facility_power_mw"),
        energy_mwh_total=total("energy_mwh"),
        capex_usd_total=total("capex_accelerators_usd") + total("capex_datacenter_usd") + total("optics_capex_usd"),
        opex_usd_total=total("opex_usd"),
        fab_capex_usd_total=total("fab_capex_usd"),
        stranded_inventory_usd_end=end("stranded_inventory_usd"),
        stranded_inventory_usd_max=float(ds["stranded_inventory_usd"].max()),
        binding_constraint_by_month=[str(b) for b in ds["binding_constraint"].values],
        training_runs=json.loads(ds.attrs.get("training_runs", "[]")),
        inference_unmet_tokens_per_s_by_month=(
            [float(x) for x in ds["inference_unmet_tokens_per_s"].values]
            if "inference_unmet_tokens_per_s" in ds
            else []
        ),
        fleet=json.loads(ds.attrs.get("fleet", "[]")),
        **_per_token(ds),
    )


def per_token_by_month(ds: xr.Dataset) -> dict[str, np.ndarray] | None:
    """Month by month: output ``tokens`` served, and the facility energy (``joules``) and cost (``usd``:
    depreciation + opex, NaN where a price is unknown) of the accelerators training does not hold (the inference
    share of the installed fleet); None without inference. The run summary's per-token figures are their sums'
    ratios, and the report's per-token chart their monthly ratios."""
    if "inference_served_tokens_per_s" not in ds or ds.sizes["month"] == 0:
        return None
    axis = int(ds.attrs.get("start_month_number", 0)) + np.arange(ds.sizes["month"])
    tokens = ds["inference_served_tokens_per_s"].values * hours_in_month(axis) * 3600.0
    installed = ds["accelerators_installed"].values.sum(axis=1)
    share = np.where(installed > 0, 1.0 - ds["training_accelerators"].values / np.where(installed > 0, installed, 1), 0)
    return {
        "tokens": tokens,
        "joules": ds["energy_mwh"].values.sum(axis=1) * share * 3.6e9,
        "usd": (_depreciation_by_month(ds) + ds["opex_usd"].values.sum(axis=1)) * share,
    }


def _per_token(ds: xr.Dataset) -> dict[str, float | None]:
    """The fleet's tokens served, and per token: the facility energy and the cost of the accelerators not held by
    training (:func:`per_token_by_month`, summed over the horizon); None where nothing is served or a cost is
    unknown."""
    none = dict.fromkeys(
        ("inference_tokens_served_total", "inference_joules_per_token", "inference_usd_per_million_tokens")
    )
    parts = per_token_by_month(ds)
    if parts is None:
        return none
    total = float(parts["tokens"].sum())
    if total <= 0:
        return none | {"inference_tokens_served_total": 0.0}
    usd = float(parts["usd"].sum())
    return {
        "inference_tokens_served_total": total,
        "inference_joules_per_token": float(parts["joules"].sum()) / total,
        "inference_usd_per_million_tokens": usd / total * 1e6 if np.isfinite(usd) else None,
    }


def _depreciation_by_month(ds: xr.Dataset) -> np.ndarray:
    """Straight-line depreciation a month of the installed fleet: each type over its useful life, or over
    ``useful_life_years_default`` (overheads.csv) where the scenario gives none; NaN where a price is unknown."""
    from fab2token import catalog

    rows = json.loads(ds.attrs.get("fleet", "[]"))
    dep = ds["depreciation_usd"].values.copy()
    default_months = catalog.overhead("useful_life_years_default") * 12.0
    installed = ds["accelerators_installed_by_type"].values.sum(axis=2)
    for k, row in enumerate(rows):  # a handful of types
        if row.get("useful_life_years") is None:
            price = row.get("price_usd")
            dep[k] = installed[k] * (price / default_months if price is not None else np.nan)
    return dep.sum(axis=0)


def _supply_variables(chain: dict[str, np.ndarray]) -> dict[str, Any]:
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
        "supply_limiting_step": (m, chain["limiting_step"].astype(str)),
        "cost_usd_per_accelerator": (m, chain["cost_usd_per_accelerator"], {"units": "USD"}),
        "cost_wafer_usd_per_accelerator": (m, chain["cost_wafer_usd_per_accelerator"], {"units": "USD"}),
        "cost_packaging_usd_per_accelerator": (m, chain["cost_packaging_usd_per_accelerator"], {"units": "USD"}),
        "cost_hbm_usd_per_accelerator": (m, chain["cost_hbm_usd_per_accelerator"], {"units": "USD"}),
        "fab_capex_usd": (m, chain.get("fab_capex_usd", np.zeros_like(chain["wafers_out"])), {"units": "USD"}),
    }


def _energy_variables(hourly: Any) -> dict[str, Any]:
    """The hourly energy engine, monthly per site: energy by source, PUE, water, carbon, ambient temperature."""
    ms = ("month", "site")
    return {
        "grid_energy_mwh": (ms, hourly.grid_energy_mwh, {"units": "MWh"}),
        "onsite_energy_mwh": (ms, hourly.onsite_energy_mwh, {"units": "MWh"}),
        "solar_energy_mwh": (ms, hourly.solar_energy_mwh, {"units": "MWh"}),
        "battery_energy_mwh": (ms, hourly.battery_energy_mwh, {"units": "MWh"}),
        "ppa_energy_mwh": (ms, hourly.ppa_energy_mwh, {"units": "MWh", "note": "within grid_energy_mwh"}),
        "curtailed_mwh": (ms, hourly.curtailed_mwh, {"units": "MWh", "note": "grid energy not drawn in events"}),
        "unserved_energy_mwh": (ms, hourly.unserved_energy_mwh, {"units": "MWh", "note": "work paused"}),
        "solar_to_battery_mwh": (ms, hourly.solar_to_battery_mwh, {"units": "MWh"}),
        "grid_to_battery_mwh": (ms, hourly.grid_to_battery_mwh, {"units": "MWh", "note": "within grid_energy_mwh"}),
        "pue_mean": (ms, hourly.pue_mean, {"units": "ratio"}),
        "pue_p99": (ms, hourly.pue_p99, {"units": "ratio"}),
        "water_m3": (ms, hourly.water_m3, {"units": "m3"}),
        "carbon_tco2": (ms, hourly.carbon_tco2, {"units": "tCO2"}),
        "ambient_mean_c": (ms, hourly.ambient_mean_c, {"units": "degC"}),
    }


def _fleet_variables(fl: dict[str, Any]) -> dict[str, Any]:
    """The fleet by accelerator type: delivered, installed (powered), housed, waiting, retired, bought, depreciated."""
    fi, pl = fl["fleet"], fl["placement"]
    am, ams = ("accelerator", "month"), ("accelerator", "month", "site")
    return {
        "accelerators_delivered_by_type": (am, fi.delivered, {"units": "accelerators/month"}),
        "accelerators_installed_by_type": (ams, pl.powered, {"units": "accelerators", "note": "powered"}),
        "accelerators_housed_by_type": (ams, pl.housed, {"units": "accelerators", "note": "in place"}),
        "accelerators_waiting_by_type": (am, pl.waiting, {"units": "accelerators", "note": "not yet housed"}),
        "accelerators_retired_by_type": (am, pl.retired, {"units": "accelerators/month"}),
        "capex_accelerators_by_type_usd": (am, fi.purchases_usd, {"units": "USD"}),
        "depreciation_usd": (am, fl["depreciation_usd"], {"units": "USD", "note": "straight line, in service"}),
    }
