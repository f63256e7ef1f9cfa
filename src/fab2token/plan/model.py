"""The planner: the cheapest build-out that meets the targets, as a linear programme (linopy + HiGHS), and what
each binding constraint is worth (its dual value).

The physics are the simulation's, written as constraints over whole dimensions (``month``, ``site``, ``run``):

- supply: wafers out ``w[t] <= cap[t]``; good dies ``w u[t]`` (accelerators' worth per wafer, the chain's yield at
  that month) and HBM stacks ``h[t]`` enter inventories; packages ``p[t] <= packaging[t]`` draw on both;
  accelerators delivered ``= p x packaging yield``;
- sites: IT MW built ``b[s,t] >= 0`` only from energisation on, cumulative ``C = cumsum(b) <= grid[s,t] / PUE``;
- deployment: installed ``n[s,t] x kW <= C[s,t]`` (the same all-in kW per accelerator) and
  ``sum_s n <= cumulative delivered``;
- workloads: accelerators for training ``u[r,s,t]`` and inference ``i[s,t]`` fit in ``n``; each run's FLOPs are done
  between its start and deadline (at ``peak x MFU x goodput`` per accelerator-second), at its site if given;
  inference ``sum_s i x tokens/s per accelerator >= demand``;
- cost: accelerators bought, datacenter capex per IT MW, electricity for the installed fleet, discounted; every
  target has a slack priced far above any real cost, so an infeasible target is reported with its shortfall.

``hall_block_mw`` makes builds whole blocks (a MILP, with a time limit and a reported gap).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import linopy
import numpy as np
import xarray as xr

from fab2token import catalog
from fab2token.deploy.placement import accelerator_all_in_it_kw
from fab2token.errors import ModelError
from fab2token.scenario.models import Scenario, month_label, month_number
from fab2token.scenario.timeline import hours_in_month, month_axis, month_labels, step_schedule
from fab2token.sites import energy as energy_mod
from fab2token.sites.power import battery_power_mw, energisation_month, ppa_power_mw, site_power, solar_power_mw
from fab2token.supply.chain import chain, inputs_from_scenario
from fab2token.workloads.schedule import serving_rate
from fab2token.workloads.training import train

__all__ = ["PlanResult", "PLAN_KEYS", "plan", "build_model"]

PLAN_KEYS = ("status", "objective_usd", "build", "binding", "unmet", "variables", "constraints", "build_s", "solve_s")

_SLACK_USD = 1e15  # per unit of unmet target fraction: far above any build-out cost


@dataclass
class PlanResult:
    """The plan; the keys of ``fab2token plan --json`` (plus tables for the report)."""

    status: str
    objective_usd: float
    build: list[dict[str, Any]]
    binding: list[dict[str, Any]]
    unmet: list[dict[str, Any]]
    variables: int
    constraints: int
    build_s: float
    solve_s: float
    cost_breakdown_usd: dict[str, float] = field(default_factory=dict)
    mip_gap: float | None = None
    duals: dict[str, Any] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not full:
            d.pop("duals")
            d.pop("series")
        return d


@dataclass
class _Data:
    months: list[str]
    sites: list[str]
    runs: list[str]
    grid_it_mw: xr.DataArray  # (site, month) max IT MW
    buildable: xr.DataArray  # (site, month) bool
    pue: xr.DataArray  # (site,)
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
    option_available: xr.DataArray  # (accelerator, month) market units a month; inf for the supply chain's
    peak: xr.DataArray  # (accelerator,) dense BF16 FLOP/s
    capex_per_mw: float
    energy_usd_per_acc_month: xr.DataArray  # (accelerator, site, month)
    fixed_opex_per_mw_month: float
    # behind-the-meter solar, by hour of day: None when no site has any
    solar_mwh: xr.DataArray | None = None  # (site, month, hod) MWh solar makes at that hour over the month
    load_mwh_per_acc: xr.DataArray | None = None  # (accelerator, site, month, hod) facility MWh per accelerator
    price_hod: xr.DataArray | None = None  # (hod,) USD/MWh
    # PPAs through the grid connection, by hour of day: None when no site has one
    ppa_mwh: xr.DataArray | None = None  # (site, month, hod) MWh the PPA delivers at that hour over the month
    ppa_price: xr.DataArray | None = None  # (site,) USD/MWh
    ppa_take_or_pay: xr.DataArray | None = None  # (site,) bool
    # site batteries, one daily cycle: None when no site has one
    battery_mwh_per_hod: xr.DataArray | None = None  # (site, month) MWh a battery can move in one hour of day
    battery_day_mwh: xr.DataArray | None = None  # (site, month) MWh it can take in over a month's days
    battery_rte: xr.DataArray | None = None  # (site,)
    grid_mwh_per_hod: xr.DataArray | None = None  # (site, month) grid import MWh in one hour of day over the month


def _data(sc: Scenario) -> _Data:
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    months = month_labels(axis)
    sites = [s.name for s in sc.sites]
    pue = xr.DataArray([s.pue for s in sc.sites], dims="site", coords={"site": sites})
    # the simulation's physics: grid (after the interconnection queue) + on-site, capped by land, from
    # energisation on; IT capacity sized for the month's 99th-percentile PUE
    power = site_power(sc.sites, axis)
    facility = power.facility_mw
    clim = energy_mod.hourly_climate(sc.sites, axis)
    pue_p99 = clim.pue_p99
    grid_it = xr.DataArray((facility / pue_p99).T, dims=("site", "month"), coords={"site": sites, "month": months})
    energ = np.array([energisation_month(s) for s in sc.sites])
    buildable = xr.DataArray(
        axis[None, :] >= energ[:, None], dims=("site", "month"), coords={"site": sites, "month": months}
    )
    spec = sc.accelerator_spec()
    specs = [spec] + [
        catalog.lookup("accelerators", o.accelerator, sc.catalog.get("accelerators"))
        for o in sc.targets.accelerator_options
    ]
    accs = [x["name"] for x in specs]
    acoord = {"accelerator": accs}
    kw = xr.DataArray([accelerator_all_in_it_kw(x) for x in specs], dims="accelerator", coords=acoord)
    peaks = []
    for x in specs:
        if not x["dense_bf16_flop_per_s"] > 0:
            raise ModelError(f"accelerator {x['name']}: dense_bf16_flop_per_s is needed to plan with it")
        peaks.append(x["dense_bf16_flop_per_s"])
    peak_da = xr.DataArray(peaks, dims="accelerator", coords=acoord)
    hours = xr.DataArray(hours_in_month(axis), dims="month", coords={"month": months})
    t_years = np.arange(axis.size) / 12.0
    df = xr.DataArray((1 + sc.targets.discount_rate_per_year) ** -t_years, dims="month", coords={"month": months})

    inp = inputs_from_scenario(sc, axis)
    per_wafer = chain(replace(inp, wafer_starts=np.ones(axis.size), packaging_wafers=None, hbm_stacks=None))
    units_per_wafer = xr.DataArray(per_wafer["units_from_wafers"], dims="month", coords={"month": months})
    wafer_cap = xr.DataArray(np.asarray(inp.wafer_starts, dtype=float), dims="month", coords={"month": months})
    full = chain(inp)
    pkg = None
    if inp.packaging_wafers is not None:
        pkg = xr.DataArray(full["units_from_packaging"], dims="month", coords={"month": months})
    hbm = None
    if inp.hbm_stacks is not None:
        hbm = xr.DataArray(full["units_from_hbm"], dims="month", coords={"month": months})
    units_pkg_wafer = (
        float(full["units_from_packaging"][0] / inp.packaging_wafers[0])
        if inp.packaging_wafers is not None and inp.packaging_wafers[0] > 0
        else math.nan
    )

    runs = [t.name for t in sc.targets.training]
    window = np.zeros((len(runs), axis.size), dtype=bool)
    on_site = np.ones((len(runs), len(sites)), dtype=bool)
    per_acc = np.zeros((len(runs), len(accs), axis.size))
    flops = np.zeros(len(runs))
    for k, t in enumerate(sc.targets.training):  # a handful of runs; each vectorised over months
        ref = train(t.model, t.tokens or 1.0, spec["name"], t.reference_accelerators, mfu=t.mfu, overrides=sc.catalog)
        flops[k] = t.flops if t.flops is not None else ref.flops
        start = month_number(t.start) if t.start else int(axis[0])
        window[k] = (axis >= start) & (axis <= month_number(t.deadline))
        if t.site is not None:
            on_site[k] = [s == t.site for s in sites]
        per_acc[k] = np.outer(peaks, t.mfu * ref.goodput * hours.values * 3600.0)
    run_window = xr.DataArray(window, dims=("run", "month"), coords={"run": runs, "month": months})
    run_site = xr.DataArray(on_site, dims=("run", "site"), coords={"run": runs, "site": sites})

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
    for j, o in enumerate(sc.targets.accelerator_options, start=1):
        avail[j] = step_schedule([c.from_ for c in o.available], [c.per_month for c in o.available], axis)
    e = sc.economics
    # energy as the simulation bills it: the month's mean hourly PUE (weather), and the hour-of-day prices
    # weighted by the utilisation profile (time-of-use); behind-the-meter solar, PPAs and batteries below by hour
    # of day; curtailment events are not modelled in the LP
    util_h = np.array(e.utilisation_by_hour())
    price = float(np.dot(util_h, e.price_by_hour()) / max(util_h.sum(), 1e-12))
    pue_mean = xr.DataArray(clim.pue_mean.T, dims=("site", "month"), coords={"site": sites, "month": months})
    energy = kw / 1000.0 * float(util_h.mean()) * pue_mean * hours * price
    solar_mwh = load_mwh = price_hod = ppa_mwh = ppa_price = ppa_top = None
    batt_h = batt_day = batt_rte = grid_h = None
    solar = solar_power_mw(sc.sites, axis)  # (month, site) nameplate MW in service
    ppa = ppa_power_mw(sc.sites, axis)  # (month, site) PPA MW in force
    battery = battery_power_mw(sc.sites, axis)  # (month, site) battery MW in service
    if np.any(solar > 0) or np.any(ppa > 0) or np.any(battery > 0):  # hour of day by hour of day
        hod = {"hod": np.arange(24)}
        days = hours / 24.0
        per_site = {"site": sites}
        util_da = xr.DataArray(util_h, dims="hod", coords=hod)
        load_mwh = (kw / 1000.0 * util_da * pue_mean * days).transpose("accelerator", "site", "month", "hod")
        price_hod = xr.DataArray(np.array(e.price_by_hour()), dims="hod", coords=hod)
        profile = xr.DataArray(energy_mod.solar_profile(), dims="hod", coords=hod)
        if np.any(solar > 0):
            cf = xr.DataArray([s.solar_capacity_factor for s in sc.sites], dims="site", coords=per_site)
            solar_da = xr.DataArray(solar.T, dims=("site", "month"), coords={"site": sites, "month": months})
            solar_mwh = (solar_da * cf * profile * days).transpose("site", "month", "hod")
        if np.any(ppa > 0):
            shape = xr.concat(
                [
                    xr.ones_like(profile) if s.ppa_shape == "firm" else (s.ppa_capacity_factor or 0.0) * profile
                    for s in sc.sites
                ],
                dim=xr.DataArray(sites, dims="site", name="site"),
            )
            ppa_da = xr.DataArray(ppa.T, dims=("site", "month"), coords={"site": sites, "month": months})
            ppa_mwh = (ppa_da * shape * days).transpose("site", "month", "hod")
            ppa_price = xr.DataArray([s.ppa_usd_per_mwh for s in sc.sites], dims="site", coords=per_site)
            ppa_top = xr.DataArray([s.ppa_take_or_pay for s in sc.sites], dims="site", coords=per_site)
        if np.any(battery > 0):
            sm = {"site": sites, "month": months}
            batt_h = xr.DataArray(battery.T, dims=("site", "month"), coords=sm) * days
            rte = [
                s.battery_round_trip_frac
                if s.battery_round_trip_frac is not None
                else catalog.overhead("battery_round_trip_frac")
                for s in sc.sites
            ]
            batt_rte = xr.DataArray(rte, dims="site", coords=per_site)
            e_mwh = xr.DataArray([s.battery_mwh for s in sc.sites], dims="site", coords=per_site)
            batt_day = (e_mwh / batt_rte * days).where(batt_h > 0, 0.0)  # a day's charge, as the simulation caps it
            # firm supply in one hour of day over the month (grid and on-site): grid-charging needs spare of it
            grid_h = xr.DataArray((power.grid_mw + power.onsite_mw).T, dims=("site", "month"), coords=sm) * days
    return _Data(
        months=months,
        sites=sites,
        runs=runs,
        grid_it_mw=grid_it,
        buildable=buildable,
        pue=pue,
        accelerators=accs,
        kw=kw,
        hours=hours,
        df=df,
        wafer_cap=wafer_cap,
        units_per_wafer=units_per_wafer,
        packaging_cap=pkg,
        hbm_cap=hbm,
        packaging_yield=float(inp.packaging_yield_frac),
        units_per_packaging_wafer=units_pkg_wafer,
        stacks_per_accelerator=float(inp.stacks_per_accelerator),
        stack_yield=float(inp.stack_yield_frac),
        run_window=run_window,
        run_site=run_site,
        run_flop_per_acc_month=xr.DataArray(
            per_acc, dims=("run", "accelerator", "month"), coords={"run": runs, "accelerator": accs, "month": months}
        ),
        run_flops=xr.DataArray(flops, dims="run", coords={"run": runs}),
        demand=xr.DataArray(demand, dims="month", coords={"month": months}),
        rate=xr.DataArray(rates, dims="accelerator", coords=acoord),
        price=xr.DataArray(
            [e.accelerator_price_usd] + [o.price_usd for o in sc.targets.accelerator_options],
            dims="accelerator",
            coords=acoord,
        ),
        option_available=xr.DataArray(avail, dims=("accelerator", "month"), coords={**acoord, "month": months}),
        peak=peak_da,
        capex_per_mw=e.datacenter_capex_usd_per_mw,
        energy_usd_per_acc_month=energy.transpose("accelerator", "site", "month"),
        fixed_opex_per_mw_month=e.facility_opex_usd_per_mw_year / 12.0,
        solar_mwh=solar_mwh,
        load_mwh_per_acc=load_mwh,
        price_hod=price_hod,
        ppa_mwh=ppa_mwh,
        ppa_price=ppa_price,
        ppa_take_or_pay=ppa_top,
        battery_mwh_per_hod=batt_h,
        battery_day_mwh=batt_day,
        battery_rte=batt_rte,
        grid_mwh_per_hod=grid_h,
    )


warnings.filterwarnings("ignore", category=getattr(linopy, "LinopySemanticsWarning", Warning))


@contextlib.contextmanager
def _quiet_stdout() -> Any:
    """Silence the solver's C-level banner on file descriptor 1 (it would corrupt ``--json`` output)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def build_model(
    d: _Data, objective: str = "min-cost", budget_usd: float | None = None, hall_block_mw: float | None = None
) -> linopy.Model:
    """The linopy model of :mod:`fab2token.plan.model` for prepared data."""
    m = linopy.Model()
    month = d.wafer_cap.indexes["month"]
    site = d.pue.indexes["site"]
    ms = [site, month]
    w = m.add_variables(lower=0, upper=d.wafer_cap, coords=[month], name="wafers")
    p = m.add_variables(lower=0, coords=[month], name="packages")
    inv_d = m.add_variables(lower=0, coords=[month], name="die_inventory")
    # die inventory: I[t] = I[t-1] + w u - p
    m.add_constraints(inv_d - inv_d.shift(month=1).fillna(0) - w * d.units_per_wafer + p == 0, name="die_balance")
    if d.packaging_cap is not None:
        m.add_constraints(p <= d.packaging_cap, name="packaging_capacity")
    if d.hbm_cap is not None:
        h = m.add_variables(lower=0, coords=[month], name="hbm")
        inv_h = m.add_variables(lower=0, coords=[month], name="hbm_inventory")
        m.add_constraints(h <= d.hbm_cap, name="hbm_capacity")
        m.add_constraints(inv_h - inv_h.shift(month=1).fillna(0) - h + p == 0, name="hbm_balance")
    acc = d.kw.indexes["accelerator"]
    main = d.accelerators[0]
    delivered = m.add_variables(lower=0, coords=[acc, month], name="delivered")
    m.add_constraints(delivered.sel(accelerator=main) - p * d.packaging_yield == 0, name="supply_chain_output")
    if len(d.accelerators) > 1:
        m.add_constraints(
            delivered <= d.option_available.where(np.isfinite(d.option_available), 0.0),
            name="option_supply",
            mask=np.isfinite(d.option_available),
        )

    if hall_block_mw:
        k = m.add_variables(lower=0, coords=ms, name="halls", integer=True)
        b = m.add_variables(lower=0, coords=ms, name="it_mw_built")
        m.add_constraints(b - hall_block_mw * k == 0, name="hall_blocks")
    else:
        b = m.add_variables(lower=0, coords=ms, name="it_mw_built")
    m.add_constraints(b <= 0, name="not_before_energisation", mask=~d.buildable)
    cap = b.cumsum("month")
    m.add_constraints(cap <= d.grid_it_mw, name="grid_capacity")
    n = m.add_variables(lower=0, coords=[acc, site, month], name="installed")
    m.add_constraints((n * (d.kw / 1000.0)).sum("accelerator") - cap <= 0, name="site_power")
    m.add_constraints(n.sum("site") - delivered.cumsum("month") <= 0, name="fleet")

    in_use = []
    short_run = None
    if d.runs:
        run = d.run_window.indexes["run"]
        allowed = d.run_window & d.run_site
        u = m.add_variables(
            lower=0,
            coords=[run, acc, site, month],
            name="training",
            mask=allowed.expand_dims(accelerator=d.accelerators).transpose("run", "accelerator", "site", "month"),
        )
        short_run = m.add_variables(lower=0, upper=1, coords=[run], name="training_shortfall")
        u = u.fillna(0)  # masked slots (outside a run's window or site) count as zero, explicitly
        done = (u * (d.run_flop_per_acc_month / d.run_flops)).sum(["accelerator", "site", "month"])
        m.add_constraints(done + short_run >= 1, name="training_target")
        in_use.append(u.sum("run"))
    short_inf = None
    if float(d.demand.max()) > 0:
        i = m.add_variables(lower=0, coords=[acc, site, month], name="inference")
        short_inf = m.add_variables(lower=0, upper=1, coords=[month], name="inference_shortfall")
        has = d.demand > 0
        served = (i * d.rate).sum(["accelerator", "site"])
        m.add_constraints(served / d.demand.where(has, 1.0) + short_inf >= 1, name="inference_target", mask=has)
        in_use.append(i)
    if in_use:
        total = in_use[0] if len(in_use) == 1 else in_use[0] + in_use[1]
        m.add_constraints(total - n <= 0, name="accelerators_in_use")

    solar_saving = 0  # behind-the-meter solar and PPAs serve each site's draw hour of day by hour of day
    offsets = []
    if d.solar_mwh is not None:
        sol_used = m.add_variables(
            lower=0, upper=d.solar_mwh, coords=d.solar_mwh.indexes.values(), name="solar_used", mask=d.solar_mwh > 0
        ).fillna(0)  # only where the sun shines on a site with solar
        offsets.append(sol_used)
        solar_saving = (sol_used * d.price_hod).sum(["site", "hod"])
    if d.ppa_mwh is not None:
        ppa_used = m.add_variables(
            lower=0, upper=d.ppa_mwh, coords=d.ppa_mwh.indexes.values(), name="ppa_used", mask=d.ppa_mwh > 0
        ).fillna(0)
        offsets.append(ppa_used)
        # an as-used PPA saves the tariff less its price; a take-or-pay one saves the tariff and is paid in full
        pay_as_used = d.ppa_price.where(~d.ppa_take_or_pay, 0.0)
        solar_saving = solar_saving + (ppa_used * (d.price_hod - pay_as_used)).sum(["site", "hod"])
    if d.battery_mwh_per_hod is not None:  # one daily cycle: charged from solar or spare grid, discharged into load
        hod = d.load_mwh_per_acc.indexes["hod"]
        bc = [site, month, hod]
        upper = d.battery_mwh_per_hod.expand_dims(hod=hod).transpose("site", "month", "hod")
        has = upper > 0  # sites and months with a battery in service
        dis = m.add_variables(lower=0, upper=upper, coords=bc, name="battery_discharge", mask=has).fillna(0)
        chg_g = m.add_variables(lower=0, upper=upper, coords=bc, name="battery_from_grid", mask=has).fillna(0)
        charge = chg_g
        if d.solar_mwh is not None:
            chg_s = m.add_variables(lower=0, upper=upper, coords=bc, name="battery_from_solar", mask=has).fillna(0)
            m.add_constraints(  # offsets[0]: solar used
                chg_s + offsets[0] - d.solar_mwh <= 0, name="solar_split", mask=has & (d.solar_mwh > 0)
            )
            charge = chg_s + chg_g
        m.add_constraints(charge - upper <= 0, name="battery_charge_power", mask=has)
        in_service = d.battery_mwh_per_hod > 0
        m.add_constraints(charge.sum("hod") - d.battery_day_mwh <= 0, name="battery_energy", mask=in_service)
        m.add_constraints(
            dis.sum("hod") - d.battery_rte * charge.sum("hod") <= 0, name="battery_round_trip", mask=in_service
        )
        load = (n * d.load_mwh_per_acc).sum("accelerator")
        # grid-charging needs spare grid import in that hour: draw (load less solar and discharge) + charge <= grid
        draw = load - dis if d.solar_mwh is None else load - dis - offsets[0]
        m.add_constraints(chg_g + draw - d.grid_mwh_per_hod <= 0, name="battery_grid_headroom", mask=has)
        offsets.append(dis)
        solar_saving = solar_saving + ((dis - chg_g) * d.price_hod).sum(["site", "hod"])
    if offsets:
        served = offsets[0]
        for extra in offsets[1:]:
            served = served + extra
        any_offset = d.load_mwh_per_acc.isel(accelerator=0) < 0  # all False: then mark where something can serve
        for cap_ in (d.solar_mwh, d.ppa_mwh):
            if cap_ is not None:
                any_offset = any_offset | (cap_ > 0)
        if d.battery_mwh_per_hod is not None:
            any_offset = any_offset | (d.battery_mwh_per_hod > 0)
        m.add_constraints(
            served - (n * d.load_mwh_per_acc).sum("accelerator") <= 0, name="offsets_within_load", mask=any_offset
        )
    cost = (
        (
            (delivered * d.price).sum("accelerator")
            + (b * d.capex_per_mw).sum("site")
            + (n * d.energy_usd_per_acc_month).sum(["accelerator", "site"])
            - solar_saving
            + (cap * d.fixed_opex_per_mw_month).sum("site")
        )
        * d.df
    ).sum()
    penalty = 0
    if short_run is not None:
        penalty = penalty + _SLACK_USD * short_run.sum()
    if short_inf is not None:
        penalty = penalty + (_SLACK_USD / max(len(d.months), 1)) * short_inf.sum()
    if objective == "min-cost":
        m.add_objective(cost + penalty)
    elif objective == "max-compute":
        if budget_usd is None:
            raise ModelError("objective max-compute needs targets.budget_usd")
        # take-or-pay PPAs are a fixed cost (linopy objectives and constraints take no constants): off the budget
        fixed = float((_ppa_fixed_usd(d) * d.df).sum()) if d.ppa_mwh is not None else 0.0
        m.add_constraints(cost <= budget_usd - fixed, name="budget")
        flops = (n * (d.peak * d.hours * 3600.0 / 1e21)).sum()  # peak zettaFLOPs installed: the compute bought
        m.add_objective(-flops + penalty)
    else:
        raise ModelError(f"unknown objective {objective!r}; expected min-cost or max-compute")
    return m


_DUAL_UNITS = {
    "grid_capacity": ("USD per IT MW-month", "power at site {site}"),
    "packaging_capacity": ("USD per packaging wafer", "advanced packaging"),
    "hbm_capacity": ("USD per HBM stack", "HBM supply"),
    "wafers": ("USD per wafer", "wafer starts"),
    "option_supply": ("USD per accelerator", "market supply of {accelerator}"),
    "not_before_energisation": ("USD per IT MW-month", "energisation date at site {site}"),
}


def plan(sc: Scenario, objective: str = "min-cost", milp: bool = False, time_limit_s: float = 60.0) -> PlanResult:
    """Solve the scenario's planning problem; see the module docstring."""
    if not sc.targets.training and not sc.targets.inference_demand and objective == "min-cost":
        raise ModelError("nothing to plan: the scenario has no targets (targets.training or targets.inference_demand)")
    t0 = time.perf_counter()
    d = _data(sc)
    block = sc.targets.hall_block_mw if milp else None
    if milp and block is None:
        raise ModelError("--milp needs targets.hall_block_mw (halls are built in blocks of that many IT MW)")
    m = build_model(d, objective, sc.targets.budget_usd, block)
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    options = {"time_limit": float(time_limit_s), "output_flag": False, "log_to_console": False}
    with _quiet_stdout():
        status, condition = m.solve(solver_name="highs", io_api="direct", **options)
    solve_s = time.perf_counter() - t1
    if status != "ok" and condition not in ("optimal", "time_limit"):
        return PlanResult(
            status=f"{status}: {condition}",
            objective_usd=math.nan,
            build=[],
            binding=[],
            unmet=[],
            variables=int(m.nvars),
            constraints=int(m.ncons),
            build_s=build_s,
            solve_s=solve_s,
        )
    sol = m.solution
    gap = None
    if milp:
        try:
            gap = float(m.solver_model.getInfo().mip_gap)
        except Exception:  # solver-specific attribute; the plan stands without it
            gap = None
        # duals of a MILP are those of the LP with the integer decisions fixed; report none rather than mislead
    build = _build_table(d, sol)
    unmet = _unmet(d, sol)
    duals = {} if milp else _duals(m, d)
    binding = [] if milp else _binding(duals, d)
    series = {name: sol[name] for name in sol.data_vars}
    cost = _cost_breakdown(d, sol)
    return PlanResult(
        status=str(condition),
        objective_usd=sum(cost.values()),
        build=build,
        binding=binding,
        unmet=unmet,
        variables=int(m.nvars),
        constraints=int(m.ncons),
        build_s=build_s,
        solve_s=solve_s,
        cost_breakdown_usd=cost,
        mip_gap=gap,
        duals=duals,
        series=series,
    )


def _cost_breakdown(d: _Data, sol: xr.Dataset) -> dict[str, float]:
    cap = sol["it_mw_built"].cumsum("month")
    return {
        "accelerators": float((sol["delivered"] * d.price * d.df).sum()),
        "datacenter_capex": float((sol["it_mw_built"] * d.capex_per_mw * d.df).sum()),
        "electricity": _electricity_usd(d, sol),
        "fixed_opex": float((cap * d.fixed_opex_per_mw_month * d.df).sum()),
    }


def _ppa_fixed_usd(d: _Data) -> xr.DataArray | float:
    """Per month: what take-or-pay PPAs cost whatever is used (all they deliver, at their price)."""
    if d.ppa_mwh is None:
        return 0.0
    return (d.ppa_mwh * d.ppa_price * d.ppa_take_or_pay).sum(["site", "hod"])


def _electricity_usd(d: _Data, sol: xr.Dataset) -> float:
    """Discounted electricity: facility energy at the tariff, less solar and PPA energy at the tariff, plus what the
    PPAs cost (take-or-pay: all they deliver; as-used: what was used)."""
    total = (sol["installed"] * d.energy_usd_per_acc_month).sum(["accelerator", "site"]) + _ppa_fixed_usd(d)
    if "solar_used" in sol:
        total = total - (sol["solar_used"] * d.price_hod).sum(["site", "hod"])
    if "ppa_used" in sol:
        pay_as_used = d.ppa_price.where(~d.ppa_take_or_pay, 0.0)
        total = total - (sol["ppa_used"] * (d.price_hod - pay_as_used)).sum(["site", "hod"])
    if "battery_discharge" in sol:
        total = total - ((sol["battery_discharge"] - sol["battery_from_grid"]) * d.price_hod).sum(["site", "hod"])
    return float((total * d.df).sum())


def _build_table(d: _Data, sol: xr.Dataset) -> list[dict[str, Any]]:
    """Non-zero decisions as rows {month, site, kind, amount, unit} (tables, not loops over months)."""
    frames = []
    built = sol["it_mw_built"].to_dataframe("amount").reset_index()
    frames.append(built.assign(kind="it_capacity", unit="MW (IT)"))
    per_month = {("wafers_out", None): (sol["wafers"], "wafers")}
    for a in d.accelerators:
        per_month[("accelerators", a)] = (sol["delivered"].sel(accelerator=a, drop=True), "accelerators")
    if "hbm" in sol:
        per_month[("hbm_stacks", None)] = (sol["hbm"] * d.stacks_per_accelerator / d.stack_yield, "stacks")
    for (kind, acc), (arr, unit) in per_month.items():
        frames.append(arr.to_dataframe("amount").reset_index().assign(site=None, kind=kind, unit=unit, accelerator=acc))
    import pandas as pd

    table = pd.concat(frames, ignore_index=True)
    table = table[table["amount"] > 1e-6][["month", "site", "kind", "amount", "unit", "accelerator"]]
    table = table.astype(object).where(table.notna(), None)
    return [dict(r) for r in table.sort_values(["month", "kind"]).to_dict("records")]


def _unmet(d: _Data, sol: xr.Dataset) -> list[dict[str, Any]]:
    out = []
    if "training_shortfall" in sol:
        for r in d.runs:
            frac = float(sol["training_shortfall"].sel(run=r))
            if frac > 1e-6:
                out.append(
                    {
                        "target": f"training {r}",
                        "shortfall_frac": frac,
                        "shortfall": frac * float(d.run_flops.sel(run=r)),
                        "unit": "FLOPs",
                        "text": f"training run {r} gets {1 - frac:.0%} of its FLOPs by its deadline: more "
                        "accelerators, power or time (a later deadline) are needed",
                    }
                )
    if "inference_shortfall" in sol:
        short = sol["inference_shortfall"] * d.demand
        for t in d.months:
            v = float(short.sel(month=t))
            if v > 1e-6 * max(float(d.demand.sel(month=t)), 1.0):
                out.append(
                    {
                        "target": f"inference {t}",
                        "shortfall": v,
                        "unit": "tokens/s",
                        "shortfall_frac": v / float(d.demand.sel(month=t)),
                        "text": f"inference demand in {t} is short by {v:,.0f} tokens/s",
                    }
                )
    return out


def _duals(m: linopy.Model, d: _Data) -> dict[str, xr.DataArray]:
    out = {}
    for name in _DUAL_UNITS:
        if name in m.constraints:
            out[name] = -m.dual[name]  # value of one more unit of the right-hand side (min problem: dual <= 0)
    return out


def _binding(duals: dict[str, xr.DataArray], d: _Data) -> list[dict[str, Any]]:
    """One row per binding capacity (constraint, and site where it has one): the first month it binds and what one
    more unit is worth, in plain words. The month-by-month values stay in ``PlanResult.duals`` (the heatmap)."""
    rows = []
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
            if hot.size == 0:
                continue
            first, last = int(hot[0]), int(hot[-1])
            where = label.format(site=s, accelerator=s)
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
                    f"${value:,.0f} (${value / float(d.pue.sel(site=s)):,.0f} per grid MW)"
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
                    "site": None if s is None else str(s),
                    "month": d.months[first],
                    "dual": value,
                    "unit": unit.replace("-month", ""),
                    "text": text,
                    "months_binding": int(hot.size),
                }
            )
    rows.sort(key=lambda r: -abs(r["dual"]))
    return rows


def plan_to_scenario_data(sc: Scenario, res: PlanResult) -> dict[str, Any]:
    """The scenario with the plan's build-out as its schedules, for ``fab2token run`` (the round trip).

    Wafer starts become the planned wafers (started ``cycle_time_months`` earlier, rounded up) and each site's grid
    power the planned cumulative IT MW x PUE, plus one serving replica of margin (the simulator counts whole
    accelerators and replicas, the LP fractions). Training targets become workload runs sized at the plan's peak
    allocation, starting in its first month: an approximation, since the LP treats training as fungible
    accelerator-months while the simulator runs fixed-size, contiguous jobs. Accelerators bought from
    ``accelerator_options`` have no supply chain in the simulator and are not carried over.
    """
    data = sc.model_dump(by_alias=True, exclude_none=True)
    lag = sc.supply.fab.cycle_time_months
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    wafers = np.ceil(res.series["wafers"].values - 1e-6)
    data["supply"]["fab"]["wafer_starts"] = [
        {"from": month_label(int(a) - lag), "wafers_per_month": float(v)} for a, v in zip(axis, wafers, strict=True)
    ]
    data["supply"]["fab"].pop("capacity_wafers_per_month", None)
    if "training" in res.series:
        runs = []
        u = res.series["training"].fillna(0.0).sum(["accelerator", "site"])
        for t in sc.targets.training:
            alloc = u.sel(run=t.name).values
            if alloc.max() <= 0:
                continue
            first = int(np.argmax(alloc > 1e-6))
            runs.append(
                {
                    "name": t.name,
                    "model": t.model,
                    "tokens": t.tokens or 1.0,
                    "accelerators": int(math.ceil(alloc.max() - 1e-6)),
                    "start": month_label(int(axis[first])),
                    "mfu": t.mfu,
                }
            )
        data.setdefault("workloads", {})["training"] = runs
    if sc.targets.inference_demand and sc.workloads.inference is not None:
        data["workloads"]["inference"]["demand"] = [d.model_dump(by_alias=True) for d in sc.targets.inference_demand]
    data.pop("targets", None)
    cap = res.series["it_mw_built"].cumsum("month")
    # the simulator counts whole accelerators and whole serving replicas: give each site a margin of one replica
    kw = accelerator_all_in_it_kw(sc.accelerator_spec())
    replica = (sc.workloads.inference.tp or 8) if sc.workloads.inference is not None else 1
    pue_p99 = energy_mod.hourly_climate(sc.sites, axis).pue_p99
    for j, s in enumerate(data["sites"]):
        built = cap.sel(site=s["name"]).values
        mw = np.where(built > 1e-9, built + replica * kw / 1000.0, 0.0) * pue_p99[:, j]
        # the planned facility power arrives as scheduled grid power (no queue, no separate on-site schedule)
        s["grid_power"] = [{"from": month_label(int(a)), "mw": float(v) + 1e-6} for a, v in zip(axis, mw, strict=True)]
        s["interconnection_queue_months"] = 0
        s["onsite_power"] = []
    return data
