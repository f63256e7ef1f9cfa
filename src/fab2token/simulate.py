"""The monthly engine: scenario in, results Dataset (month x site) and summary out."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from . import deploy as _deploy
from . import economics, sites, supply
from .errors import ModelError
from .scenario import Scenario, month_number
from .timeline import hours_in_month, month_axis, month_labels, step_schedule

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
    "binding_constraint_by_month",
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
    binding_constraint_by_month: list[str]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _supply_chain(sc: Scenario, axis: np.ndarray) -> dict[str, np.ndarray]:
    spec = sc.accelerator_spec()
    node = sc.process_node_spec()
    area = spec["compute_die_area_mm2"]
    if math.isnan(area):
        raise ModelError(
            f"accelerator {spec['name']}: compute_die_area_mm2 is not published in the catalog; supply it under "
            f"catalog.accelerators.{spec['name']}.compute_die_area_mm2 to model its wafers"
        )
    supply.check_reticle(area, node["reticle_limit_mm2"], spec["name"])
    d0 = sc.supply.d0_per_cm2 if sc.supply.d0_per_cm2 is not None else node["d0_per_cm2"]
    if d0 is None or math.isnan(d0):
        raise ModelError(f"process node {node['node']}: d0_per_cm2 is not published; set supply.d0_per_cm2")
    s = sc.supply
    w, h = supply.die_dimensions_mm(area)
    gross = supply.gross_dies_per_wafer(w, h, s.wafer_diameter_mm, s.edge_exclusion_mm, s.scribe_mm)
    y = supply.die_yield(area, d0, s.yield_model, alpha=s.clustering_alpha)
    starts = step_schedule(
        [x.from_ for x in s.wafer_starts], [x.wafers_per_month for x in s.wafer_starts], axis - s.cycle_time_months
    )
    dies_per_accel = spec["compute_dies"] if not math.isnan(spec["compute_dies"]) else 1.0
    good_per_wafer = gross * y
    delivered = np.floor(starts * good_per_wafer / dies_per_accel)
    return {
        "wafers_out": starts,
        "gross_dies_per_wafer": np.full(axis.size, float(gross)),
        "die_yield": np.full(axis.size, float(y)),
        "accelerators_delivered": delivered,
    }


def simulate(sc: Scenario) -> xr.Dataset:
    """Run the monthly engine on a validated scenario.

    Returns
    -------
    xarray.Dataset
        Dimensions ``month`` (``YYYY-MM`` labels) and ``site``. See README.md for every variable.
    """
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    chain = _supply_chain(sc, axis)
    kw = _deploy.accelerator_all_in_it_kw(sc.accelerator_spec())

    pue = np.array([s.pue for s in sc.sites])
    grid = sites.grid_power_mw(sc.sites, axis)
    it_cap = sites.usable_it_power_mw(grid, pue)
    accel_cap = np.floor(it_cap * 1000.0 / kw + 1e-9)
    installed, backlog, binding = _deploy.deploy(chain["accelerators_delivered"], accel_cap)

    it_power = installed * kw / 1000.0
    facility = it_power * pue
    hours = hours_in_month(axis)[:, None]
    energy = economics.energy_mwh(it_power, pue, sc.economics.it_utilisation_frac, hours)
    e = sc.economics
    capex_dc = economics.datacenter_capex_usd(it_cap, e.datacenter_capex_usd_per_mw)
    capex_acc = chain["accelerators_delivered"] * e.accelerator_price_usd
    opex = economics.opex_usd(energy, e.electricity_usd_per_mwh, it_cap, e.facility_opex_usd_per_mw_year)

    m = ("month",)
    ms = ("month", "site")
    ds = xr.Dataset(
        {
            "wafers_out": (m, chain["wafers_out"], {"units": "wafers/month"}),
            "gross_dies_per_wafer": (m, chain["gross_dies_per_wafer"], {"units": "dies"}),
            "die_yield": (m, chain["die_yield"], {"units": "fraction"}),
            "accelerators_delivered": (m, chain["accelerators_delivered"], {"units": "accelerators/month"}),
            "accelerators_backlog": (m, backlog, {"units": "accelerators"}),
            "binding_constraint": (m, binding.astype(str)),
            "grid_power_mw": (ms, grid, {"units": "MW"}),
            "it_capacity_mw": (ms, it_cap, {"units": "MW"}),
            "accelerator_capacity": (ms, accel_cap, {"units": "accelerators"}),
            "accelerators_installed": (ms, installed, {"units": "accelerators"}),
            "it_power_mw": (ms, it_power, {"units": "MW"}),
            "facility_power_mw": (ms, facility, {"units": "MW"}),
            "energy_mwh": (ms, energy, {"units": "MWh"}),
            "capex_accelerators_usd": (m, capex_acc, {"units": "USD"}),
            "capex_datacenter_usd": (ms, capex_dc, {"units": "USD"}),
            "opex_usd": (ms, opex, {"units": "USD"}),
        },
        coords={"month": month_labels(axis), "site": [s.name for s in sc.sites], "pue": ("site", pue)},
        attrs={
            "scenario": sc.name,
            "accelerator": sc.accelerator_spec()["name"],
            "all_in_it_kw_per_accelerator": kw,
            "start_month_number": int(month_number(sc.horizon.start)),
        },
    )
    return ds


def summarise(ds: xr.Dataset, run_id: str | None = None) -> Summary:
    """Headline numbers of a results Dataset."""
    last = {"month": -1}
    return Summary(
        run_id=run_id,
        scenario=str(ds.attrs.get("scenario", "")),
        accelerator=str(ds.attrs.get("accelerator", "")),
        months=int(ds.sizes["month"]),
        month_labels=[str(m) for m in ds["month"].values],
        accelerators_delivered_total=float(ds["accelerators_delivered"].sum()),
        accelerators_installed_end=float(ds["accelerators_installed"].isel(last).sum()),
        accelerators_backlog_end=float(ds["accelerators_backlog"].isel(last)),
        it_power_mw_end=float(ds["it_power_mw"].isel(last).sum()),
        facility_power_mw_end=float(ds["facility_power_mw"].isel(last).sum()),
        energy_mwh_total=float(ds["energy_mwh"].sum()),
        capex_usd_total=float(ds["capex_accelerators_usd"].sum() + ds["capex_datacenter_usd"].sum()),
        opex_usd_total=float(ds["opex_usd"].sum()),
        binding_constraint_by_month=[str(b) for b in ds["binding_constraint"].values],
    )
