"""The planner's data: the coefficients of the linear programme, read from the same inputs layer
(:func:`fab2token.sites.inputs.site_inputs`, :func:`fab2token.supply.chain.inputs_from_scenario`) and the same cost
rules (:mod:`fab2token.economics.costs`) as the simulation, with named dimensions for linopy."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xarray as xr

from fab2token import catalog
from fab2token.deploy.fleet import FleetInputs, fleet_inputs
from fab2token.deploy.placement import accelerator_all_in_it_kw
from fab2token.economics import costs
from fab2token.errors import ModelError
from fab2token.scenario.models import Scenario, month_number
from fab2token.scenario.timeline import month_axis, month_labels, step_schedule
from fab2token.sites import energy as energy_mod
from fab2token.sites.inputs import SiteInputs, site_inputs
from fab2token.sites.power import usable_power_frac
from fab2token.supply.chain import SupplyInputs, chain, inputs_from_scenario
from fab2token.workloads.schedule import serving_rate, target_mfu, target_size

__all__ = ["PlanData", "plan_data"]


@dataclass
class PlanData:
    months: list[str]
    sites: list[str]
    runs: list[str]
    it_mw_max: xr.DataArray  # (site, month) IT MW the site's facility power allows at the design PUE
    derate: xr.DataArray  # (site, month) design PUE / the month's p99 PUE: share of built IT MW usable
    buildable: xr.DataArray  # (site, month) bool
    pue: xr.DataArray  # (site,) design PUE
    usable: xr.DataArray  # (site,) share of connected power the facility load may use
    accelerators: list[str]  # the scenario's own (supply chain) first, then the market options
    kw: xr.DataArray  # (accelerator,) all-in IT kW
    hours: xr.DataArray  # (month,)
    df: xr.DataArray  # (month,) discount factor
    wafer_cap: xr.DataArray  # (month,) wafers out
    units_per_wafer: xr.DataArray  # (month,)
    packaging_cap: xr.DataArray | None  # (month,) packages
    hbm_cap: xr.DataArray | None  # (month,) accelerators' worth of HBM
    packaging_yield: float
    units_per_packaging_wafer: float
    stacks_per_accelerator: float
    stack_yield: float
    run_window: xr.DataArray  # (run, month) bool
    run_site: xr.DataArray  # (run, site) bool
    run_flop_per_acc_month: xr.DataArray  # (run, accelerator, month) FLOPs one accelerator does in a month
    run_flops: xr.DataArray  # (run,)
    demand: xr.DataArray  # (month,) tokens/s
    rate: xr.DataArray  # (accelerator,) tokens/s per accelerator
    price: xr.DataArray  # (accelerator,)
    fixed_delivered: xr.DataArray  # (accelerator, month) the fleet's market orders: delivered, not decided here
    base_in_service: xr.DataArray  # (accelerator, month) the installed base not yet retired
    base_at_site: xr.DataArray  # (accelerator, site, month) the same by the site it is installed at (it never moves)
    life_months: xr.DataArray  # (accelerator,) delivered units retire this long after delivery; inf: never
    buyable: xr.DataArray  # (accelerator,) types the plan may buy more of (own chain, options)
    option_available: xr.DataArray  # (accelerator, month) market units a month; inf for the supply chain's
    peak: xr.DataArray  # (accelerator,) dense BF16 FLOP/s
    capex_per_mw: xr.DataArray  # (site, month) USD per IT MW built that month (economics.costs)
    energy_usd_per_acc_month: xr.DataArray  # (accelerator, site, month)
    fixed_opex_per_mw_month: float
    battery_capex_usd: xr.DataArray  # (month,) fixed: batteries are inputs, paid when they enter service
    optics_usd: xr.DataArray | None = None  # (site,) USD per accelerator installed; None when unpriced
    # hour-of-day detail: None when no site has solar, a PPA, a battery or on-site generation
    load_mwh_per_acc: xr.DataArray | None = None  # (accelerator, site, month, hod) facility MWh per accelerator
    price_hod: xr.DataArray | None = None  # (hod,) USD/MWh
    solar_mwh: xr.DataArray | None = None  # (site, month, hod) MWh solar makes at that hour over the month
    ppa_mwh: xr.DataArray | None = None  # (site, month, hod) MWh the PPA delivers at that hour over the month
    ppa_price: xr.DataArray | None = None  # (site,) USD/MWh
    ppa_take_or_pay: xr.DataArray | None = None  # (site,) bool
    battery_mwh_per_hod: xr.DataArray | None = None  # (site, month) MWh a battery can move in one hour of day
    battery_day_mwh: xr.DataArray | None = None  # (site, month) MWh it can take in over a month's days
    battery_rte: xr.DataArray | None = None  # (site,)
    grid_mwh_per_hod: xr.DataArray | None = None  # (site, month) firm import (grid + on-site) in one hour of day
    grid_only_mwh_per_hod: xr.DataArray | None = None  # (site, month) grid import in one hour of day
    onsite_mwh_per_hod: xr.DataArray | None = None  # (site, month) on-site generation in one hour of day
    onsite_price: xr.DataArray | None = None  # (site,) USD/MWh
    # what a target is worth (targets.value_usd_per_*): NaN when not stated
    value_usd_per_flop: float = math.nan
    value_usd_per_million_tokens: float = math.nan
    # a plan under uncertainty (fab2token.plan.stochastic): every coefficient over ``draw`` too; 0: one scenario
    draws: int = 0

    @property
    def draw_index(self) -> Any:
        """The ``draw`` coordinate of a plan under uncertainty."""
        import pandas as pd

        return pd.RangeIndex(self.draws, name="draw")


def _sm(values: np.ndarray, sites: list[str], months: list[str]) -> xr.DataArray:
    """A (month, site) array as a (site, month) DataArray."""
    return xr.DataArray(np.asarray(values).T, dims=("site", "month"), coords={"site": sites, "month": months})


def plan_data(
    sc: Scenario,
    supply: SupplyInputs | None = None,
    market: dict[str, np.ndarray] | None = None,
    option_cap: dict[str, np.ndarray] | None = None,
) -> PlanData:
    """Every coefficient of the planning problem for a validated scenario.

    ``supply`` (the own chain's resolved inputs) and ``market`` (the fleet's market deliveries by type) replace the
    scenario's own figures, as in :func:`fab2token.engine.simulate.simulate`; ``option_cap`` caps what the plan may
    buy of each accelerator option a month (by catalog name): a race hands a player what the world leaves it."""
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    months = month_labels(axis)
    si = site_inputs(sc, axis)
    sites = si.names
    # the fleet's types from the same inputs layer as the simulation (own chain first; its deliveries are decided
    # here), then the market options the plan may buy
    fi = fleet_inputs(sc, axis, np.zeros(axis.size), market)
    opt_specs = [
        catalog.lookup("accelerators", o.accelerator, sc.catalog.get("accelerators"))
        for o in sc.targets.accelerator_options
    ]
    specs = fi.specs + opt_specs
    accs = [x["name"] for x in specs]
    acoord = {"accelerator": accs}
    kw = xr.DataArray(
        np.concatenate([fi.kw, [accelerator_all_in_it_kw(x) for x in opt_specs]]), dims="accelerator", coords=acoord
    )
    for x in specs:
        if not x["dense_bf16_flop_per_s"] > 0:
            raise ModelError(f"accelerator {x['name']}: dense_bf16_flop_per_s is needed to plan with it")
    peak = xr.DataArray([x["dense_bf16_flop_per_s"] for x in specs], dims="accelerator", coords=acoord)
    hours = xr.DataArray(si.hours, dims="month", coords={"month": months})
    df_np = costs.discount_factor(axis.size, sc.targets.discount_rate_per_year)
    df = xr.DataArray(df_np, dims="month", coords={"month": months})
    e = sc.economics
    first = np.clip(si.energisation_month - axis[0], 0, None).astype(np.int64)
    capex = costs.datacenter_capex_usd_per_mw_by_month(sc.sites, axis, e.datacenter_capex_usd_per_mw, first, df_np)
    _, optics_usd = costs.optics_usd_per_accelerator(sc.sites, sc.catalog.get("optics"))
    # energy as the simulation bills it, hour of day by hour of day: utilisation x the mean PUE at that hour over
    # the month's days (weather) x that hour's tariff (time-of-use) x the month's days — exactly the hourly engine's
    # bill while the tariff depends on the hour of day only; solar, PPAs, batteries and on-site generation below
    hod = {"hod": np.arange(24)}
    pue_hod = xr.DataArray(
        si.pue_by_hod, dims=("month", "hod", "site"), coords={"month": months, **hod, "site": sites}
    ).transpose("site", "month", "hod")
    util = xr.DataArray(si.utilisation_by_hour, dims="hod", coords=hod)
    tariff = xr.DataArray(si.price_usd_per_mwh_by_hour, dims="hod", coords=hod)
    energy = kw / 1000.0 * (util * pue_hod * tariff).sum("hod") * hours / 24.0
    fields: dict[str, Any] = dict(
        months=months,
        sites=sites,
        it_mw_max=_sm(si.it_built_mw, sites, months),
        derate=_sm(si.pue_design[None, :] / si.climate.pue_p99, sites, months),
        buildable=_sm(axis[:, None] >= si.energisation_month[None, :], sites, months),
        pue=xr.DataArray(si.pue_design, dims="site", coords={"site": sites}),
        usable=xr.DataArray(usable_power_frac(sc.sites), dims="site", coords={"site": sites}),
        accelerators=accs,
        kw=kw,
        hours=hours,
        df=df,
        price=xr.DataArray(
            np.concatenate([np.nan_to_num(fi.price_usd), [o.price_usd for o in sc.targets.accelerator_options]]),
            dims="accelerator",
            coords=acoord,
        ),
        **_fleet(fi, len(opt_specs), months, acoord, sites),
        peak=peak,
        capex_per_mw=_sm(capex, sites, months),
        energy_usd_per_acc_month=energy.transpose("accelerator", "site", "month"),
        fixed_opex_per_mw_month=e.facility_opex_usd_per_mw_year / 12.0,
        battery_capex_usd=xr.DataArray(
            costs.battery_capex_usd(sc.sites, si.battery_mw).sum(axis=1), dims="month", coords={"month": months}
        ),
        optics_usd=xr.DataArray(optics_usd, dims="site", coords={"site": sites}) if optics_usd.any() else None,
    )
    fields.update(_supply(sc, axis, months, supply))
    fields.update(_targets(sc, axis, months, sites, accs, specs, peak, hours, option_cap))
    fields.update(_hour_of_day(sc, si, kw, pue_hod, hours))
    return PlanData(**fields)


def _fleet(
    fi: FleetInputs, n_options: int, months: list[str], acoord: dict[str, list[str]], sites: list[str]
) -> dict[str, Any]:
    """What the fleet already has, as constants: market orders delivered (bought, not decided), the installed
    base still in service (in total and by its site); each type's useful life; and which types the plan may buy (the
    own chain's and the options)."""
    n_types, n_months = fi.delivered.shape
    fixed = np.zeros((n_types + n_options, n_months))
    fixed[1:n_types] = fi.delivered[1:]  # market orders of the fleet's other types (row 0: the own chain's, decided)
    at_site = np.zeros((n_types + n_options, len(sites), n_months))
    at_site[:n_types] = fi.base[:, :, None] - np.cumsum(fi.base_retire, axis=1).transpose(0, 2, 1)
    life = np.r_[fi.life_months, np.full(n_options, np.inf)]
    buy = np.r_[True, np.zeros(n_types - 1, dtype=bool), np.ones(n_options, dtype=bool)]
    am = {**acoord, "month": months}
    return {
        "fixed_delivered": xr.DataArray(fixed, dims=("accelerator", "month"), coords=am),
        "base_in_service": xr.DataArray(at_site.sum(axis=1), dims=("accelerator", "month"), coords=am),
        "base_at_site": xr.DataArray(
            at_site, dims=("accelerator", "site", "month"), coords={**acoord, "site": sites, "month": months}
        ),
        "life_months": xr.DataArray(life, dims="accelerator", coords=acoord),
        "buyable": xr.DataArray(buy, dims="accelerator", coords=acoord),
    }


def _supply(sc: Scenario, axis: np.ndarray, months: list[str], supply: SupplyInputs | None = None) -> dict[str, Any]:
    """The scenario's own supply chain (or ``supply``): wafers, accelerators per wafer, packaging and HBM limits."""
    mc = {"month": months}
    inp = supply if supply is not None else inputs_from_scenario(sc, axis)
    per_wafer = chain(replace(inp, wafer_starts=np.ones(axis.size), packaging_wafers=None, hbm_stacks=None))
    full = chain(inp)
    pkg = inp.packaging_wafers
    return {
        "units_per_wafer": xr.DataArray(per_wafer["units_from_wafers"], dims="month", coords=mc),
        "wafer_cap": xr.DataArray(np.asarray(inp.wafer_starts, dtype=float), dims="month", coords=mc),
        "packaging_cap": None if pkg is None else xr.DataArray(full["units_from_packaging"], dims="month", coords=mc),
        "hbm_cap": None if inp.hbm_stacks is None else xr.DataArray(full["units_from_hbm"], dims="month", coords=mc),
        "units_per_packaging_wafer": float(full["units_from_packaging"][0] / pkg[0])
        if pkg is not None and pkg[0] > 0
        else math.nan,
        "packaging_yield": float(inp.packaging_yield_frac),
        "stacks_per_accelerator": float(inp.stacks_per_accelerator),
        "stack_yield": float(inp.stack_yield_frac),
    }


def _targets(
    sc: Scenario,
    axis: np.ndarray,
    months: list[str],
    sites: list[str],
    accs: list[str],
    specs: list[dict[str, Any]],
    peak: xr.DataArray,
    hours: xr.DataArray,
    option_cap: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Training targets (windows, sites, FLOPs per accelerator-month), inference demand and serving rates, and the
    market options' monthly availability (capped by ``option_cap``)."""
    runs = [t.name for t in sc.targets.training]
    window = np.zeros((len(runs), axis.size), dtype=bool)
    on_site = np.ones((len(runs), len(sites)), dtype=bool)
    per_acc = np.zeros((len(runs), len(accs), axis.size))
    flops = np.zeros(len(runs))
    main = specs[0]["name"]
    for k, t in enumerate(sc.targets.training):  # a handful of runs; each vectorised over months
        flops[k], goodput = target_size(sc, t, main)
        start = month_number(t.start) if t.start else int(axis[0])
        window[k] = (axis >= start) & (axis <= month_number(t.deadline))
        if t.site is not None:
            on_site[k] = [s == t.site for s in sites]
        if t.mfu == "search":  # each type at its own searched MFU
            mfu = np.array([target_mfu(sc, t, name) for name in accs])
            per_acc[k] = np.outer(peak.values * mfu, goodput * hours.values * 3600.0)
        else:
            per_acc[k] = np.outer(peak.values, t.mfu * goodput * hours.values * 3600.0)
    demand = np.zeros(axis.size)
    rates = np.zeros(len(accs))
    if sc.targets.inference_demand:
        d = sc.targets.inference_demand
        demand = step_schedule([x.from_ for x in d], [x.tokens_per_s for x in d], axis)
        for j, name in enumerate(accs):  # one serving model per accelerator type (a handful)
            r = serving_rate(sc, name)
            rates[j] = r.tokens_per_s_per_accelerator
            if j == 0 and rates[j] <= 0:
                raise ModelError(f"inference target: {r.reason}")
    avail = np.full((len(accs), axis.size), np.inf)
    first_option = len(accs) - len(sc.targets.accelerator_options)
    for j, o in enumerate(sc.targets.accelerator_options, start=first_option):
        avail[j] = step_schedule([c.from_ for c in o.available], [c.per_month for c in o.available], axis)
        if option_cap and accs[j] in option_cap:
            avail[j] = np.minimum(avail[j], option_cap[accs[j]])
    mc, rc, ac = {"month": months}, {"run": runs}, {"accelerator": accs}
    return {
        "runs": runs,
        "run_window": xr.DataArray(window, dims=("run", "month"), coords={**rc, **mc}),
        "run_site": xr.DataArray(on_site, dims=("run", "site"), coords={**rc, "site": sites}),
        "run_flop_per_acc_month": xr.DataArray(
            per_acc, dims=("run", "accelerator", "month"), coords={**rc, **ac, **mc}
        ),
        "run_flops": xr.DataArray(flops, dims="run", coords=rc),
        "demand": xr.DataArray(demand, dims="month", coords=mc),
        "value_usd_per_flop": _or_nan(sc.targets.value_usd_per_flop),
        "value_usd_per_million_tokens": _or_nan(sc.targets.value_usd_per_million_tokens),
        "rate": xr.DataArray(rates, dims="accelerator", coords=ac),
        "option_available": xr.DataArray(avail, dims=("accelerator", "month"), coords={**ac, **mc}),
    }


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _hour_of_day(
    sc: Scenario, si: SiteInputs, kw: xr.DataArray, pue_hod: xr.DataArray, hours: xr.DataArray
) -> dict[str, Any]:
    """Solar, PPAs, batteries and on-site generation by hour of day (each month's days alike); empty when no site
    has any of them."""
    solar, ppa, battery, onsite = si.solar_mw, si.ppa_mw, si.battery_mw, si.power.onsite_mw
    if not (np.any(solar > 0) or np.any(ppa > 0) or np.any(battery > 0) or np.any(onsite > 0)):
        return {}
    sites, months = si.names, list(pue_hod.indexes["month"])
    hod = {"hod": np.arange(24)}
    per_site = {"site": sites}
    days = hours / 24.0
    util = xr.DataArray(si.utilisation_by_hour, dims="hod", coords=hod)
    profile = xr.DataArray(energy_mod.solar_profile(), dims="hod", coords=hod)
    out: dict[str, Any] = {
        "load_mwh_per_acc": (kw / 1000.0 * util * pue_hod * days).transpose("accelerator", "site", "month", "hod"),
        "price_hod": xr.DataArray(si.price_usd_per_mwh_by_hour, dims="hod", coords=hod),
    }
    if np.any(solar > 0):
        cf = xr.DataArray([s.solar_capacity_factor for s in sc.sites], dims="site", coords=per_site)
        out["solar_mwh"] = (_sm(solar, sites, months) * cf * profile * days).transpose("site", "month", "hod")
    if np.any(ppa > 0):
        shape = xr.concat(
            [
                xr.ones_like(profile) if s.ppa_shape == "firm" else (s.ppa_capacity_factor or 0.0) * profile
                for s in sc.sites
            ],
            dim=xr.DataArray(sites, dims="site", name="site"),
        )
        out["ppa_mwh"] = (_sm(ppa, sites, months) * shape * days).transpose("site", "month", "hod")
        out["ppa_price"] = xr.DataArray([s.ppa_usd_per_mwh for s in sc.sites], dims="site", coords=per_site)
        out["ppa_take_or_pay"] = xr.DataArray([s.ppa_take_or_pay for s in sc.sites], dims="site", coords=per_site)
    if np.any(battery > 0):
        batt_h = _sm(battery, sites, months) * days
        rte = [
            s.battery_round_trip_frac
            if s.battery_round_trip_frac is not None
            else catalog.overhead("battery_round_trip_frac")
            for s in sc.sites
        ]
        out["battery_rte"] = xr.DataArray(rte, dims="site", coords=per_site)
        e_mwh = xr.DataArray([s.battery_mwh for s in sc.sites], dims="site", coords=per_site)
        # a day's charge, as the simulation caps it
        out["battery_day_mwh"] = (e_mwh / out["battery_rte"] * days).where(batt_h > 0, 0.0)
        out["battery_mwh_per_hod"] = batt_h
        # firm supply in one hour of day over the month (grid and on-site): grid-charging needs spare of it
        out["grid_mwh_per_hod"] = _sm(si.power.grid_mw + onsite, sites, months) * days
    if np.any(onsite > 0):  # the simulation's merit order: grid first, on-site generation for the rest
        out["onsite_mwh_per_hod"] = _sm(onsite, sites, months) * days
        out["grid_only_mwh_per_hod"] = _sm(si.power.grid_mw, sites, months) * days
        out["onsite_price"] = xr.DataArray(costs.onsite_usd_per_mwh(sc.sites), dims="site", coords=per_site)
    return out
