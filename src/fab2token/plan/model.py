"""The planner's linear programme (linopy): the simulation's physics as constraints over whole dimensions
(``month``, ``site``, ``accelerator``, ``run``, ``hod``) and its cost rules as the objective.

- supply: wafers out ``w[t] <= cap[t]``; good dies ``w u[t]`` (accelerators' worth per wafer, the chain's yield at
  that month) and HBM stacks ``h[t]`` enter inventories; packages ``p[t] <= packaging[t]`` draw on both;
  accelerators delivered ``= p x packaging yield``; market options within their monthly availability;
- sites: IT MW built ``b[s,t] >= 0`` (at the design PUE, what capex is paid on) only from energisation on,
  cumulative ``C = cumsum(b) <= facility[s,t] / PUE``;
- deployment: installed ``sum_a n[a,s,t] x kW[a] <= C[s,t] x PUE / PUE_p99[s,t]`` (the hottest hours' derating, as
  the simulation sizes capacity) and ``sum_s n <= cumulative delivered``;
- workloads: accelerators for training ``u[r,a,s,t]`` and inference ``i[a,s,t]`` fit in ``n``; each run's FLOPs are
  done between its start and deadline (at ``peak x MFU x goodput`` per accelerator-second), at its site if given;
  inference ``sum i x tokens/s per accelerator >= demand``;
- energy by hour of day where a site has solar, a PPA, a battery or on-site generation (see :func:`_hour_of_day`);
- cost (:mod:`fab2token.economics.costs`, term by term as the simulation bills them): accelerators, datacenter capex
  (phases included), optics, electricity, on-site fuel, fixed opex, discounted; batteries are inputs, so their capex
  is a constant of the plan. Every target has a shortfall variable, so a target that cannot be met is reported
  with its shortfall: the solve first tries the targets as hard limits, and when they cannot all be met
  minimises the shortfall, then the cost at that shortfall (lexicographic; no penalty constant).

A MILP (``fab2token plan --milp``): ``hall_block_mw`` makes builds whole blocks, and ``contiguous_runs`` lays out
each training target as the simulator runs it (:func:`_contiguous_runs`): one accelerator type, a whole number of
accelerators, the same every month it runs, in one unbroken stretch of months.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import linopy
import numpy as np
import xarray as xr

from fab2token.errors import ModelError
from fab2token.plan.data import PlanData

__all__ = ["build_model", "Built"]

warnings.filterwarnings("ignore", category=getattr(linopy, "LinopySemanticsWarning", Warning))


@dataclass
class _Vars:
    delivered: Any
    b: Any
    cap: Any
    n: Any
    short_run: Any = None
    short_inf: Any = None


@dataclass
class Built:
    """The planning model and the expressions the solve phases minimise (see :func:`fab2token.plan.solve.plan`)."""

    model: linopy.Model
    primary: Any  # the objective's expression: discounted cost, or minus the compute bought
    shortfall: Any  # the targets' shortfall in ``shortfall_unit``; None without targets
    shortfall_unit: str
    slacks: list[str]  # the shortfall variables' names
    cost_by_draw: Any = None  # under uncertainty: each draw's discounted cost (a linear expression over ``draw``)


def build_model(
    d: PlanData,
    objective: str = "min-cost",
    budget_usd: float | None = None,
    hall_block_mw: float | None = None,
    contiguous_runs: bool = False,
) -> Built:
    """The linopy model of the planning problem for prepared data (:func:`fab2token.plan.data.plan_data`), with
    the primary objective set; each target has a shortfall variable (fraction unmet) that the solve fixes at zero
    or minimises first. ``contiguous_runs``: training targets as the simulator's runs (:func:`_contiguous_runs`)."""
    m = linopy.Model()
    v = _supply_and_sites(m, d, hall_block_mw)
    _workloads(m, d, v, contiguous_runs)
    energy_saving, onsite_fuel = _hour_of_day(m, d, v.n)
    optics = 0
    if d.optics_usd is not None:  # accelerators newly installed at a site pay its optics
        added = m.add_variables(lower=0, coords=list(v.n.indexes.values()), name="installs")
        m.add_constraints(added - v.n + v.n.shift(month=1).fillna(0) >= 0, name="installs_count")
        optics = (added * d.optics_usd).sum(["accelerator", "site"])
    per_month = (
        (v.delivered * d.price).sum("accelerator")
        + (v.b * d.capex_per_mw).sum("site")
        + optics
        + (v.n * d.energy_usd_per_acc_month).sum(["accelerator", "site"])
        - energy_saving
        + onsite_fuel
        + (v.cap * d.fixed_opex_per_mw_month).sum("site")
    ) * d.df
    # under uncertainty: the expected cost over the draws (each draw's operation, the build they share)
    cost = per_month.sum() / d.draws if d.draws else per_month.sum()
    by_draw = per_month.sum([k for k in per_month.dims if k != "draw"]) if d.draws else None
    if objective == "min-cost":
        primary = cost
    elif objective == "max-compute":
        if budget_usd is None:
            raise ModelError("objective max-compute needs targets.budget_usd")
        # fixed costs (take-or-pay PPAs, batteries) are constants; linopy objectives and constraints take none
        m.add_constraints(cost <= budget_usd - fixed_usd(d), name="budget")
        # peak zettaFLOPs installed: the compute bought (its expectation over draws)
        primary = -(v.n * (d.peak * d.hours * 3600.0 / 1e21)).sum() / max(d.draws, 1)
    else:
        raise ModelError(f"unknown objective {objective!r}; expected min-cost or max-compute")
    m.add_objective(primary)
    shortfall, unit = _shortfall(d, v)
    if shortfall is not None and d.draws:
        shortfall = shortfall / d.draws  # the expected shortfall over the draws
    return Built(
        model=m, primary=primary, shortfall=shortfall, shortfall_unit=unit, slacks=_slack_names(v), cost_by_draw=by_draw
    )


def _slack_names(v: _Vars) -> list[str]:
    return [
        name for name, x in (("training_shortfall", v.short_run), ("inference_shortfall", v.short_inf)) if x is not None
    ]


# seconds in the average month (365.25 / 12 days): one month of the LP, for a shortfall in tokens/s-months
SECONDS_PER_MONTH = 365.25 / 12 * 86400.0
# the unit of a shortfall valued at the targets' stated values (both kinds of target, both values given)
VALUE_UNIT = "million USD of the targets' value"


def _shortfall(d: PlanData, v: _Vars) -> tuple[Any, str]:
    """What the first phase minimises when the targets cannot all be met, in the targets' own unit: zettaFLOPs short
    (training targets only), million tokens/s-months short (inference only); with both, the targets' value short
    (million USD) when ``targets.value_usd_per_flop`` and ``value_usd_per_million_tokens`` are both stated, else
    the sum of each target's shortfall fraction (inference months counted at 1/months each)."""
    if v.short_run is not None and v.short_inf is None:
        return (v.short_run * (d.run_flops / 1e21)).sum(), "ZFLOP"  # zettaFLOPs: well-scaled for the solver
    if v.short_inf is not None and v.short_run is None:
        return (v.short_inf * (d.demand / 1e6)).sum(), "million tokens/s-months"
    if v.short_run is None:
        return None, ""
    if math.isfinite(d.value_usd_per_flop) and math.isfinite(d.value_usd_per_million_tokens):
        run_musd = d.run_flops * d.value_usd_per_flop / 1e6
        inf_musd = d.demand * SECONDS_PER_MONTH / 1e6 * d.value_usd_per_million_tokens / 1e6
        return (v.short_run * run_musd).sum() + (v.short_inf * inf_musd).sum(), VALUE_UNIT
    return v.short_run.sum() + v.short_inf.sum() / max(len(d.months), 1), "target fraction"


def fixed_usd(d: PlanData) -> float:
    """Discounted costs no decision changes: take-or-pay PPAs, battery capex and the fleet's market orders."""
    total = float(((ppa_fixed_usd(d) + d.battery_capex_usd + fixed_purchases_usd(d)) * d.df).sum())
    return total / d.draws if d.draws else total


def fixed_purchases_usd(d: PlanData) -> Any:
    """Per month: what the fleet's market orders cost (bought whatever the plan decides)."""
    return (d.fixed_delivered * d.price).sum("accelerator")


def ppa_fixed_usd(d: PlanData) -> Any:
    """Per month: what take-or-pay PPAs cost whatever is used (all they deliver, at their price)."""
    if d.ppa_mwh is None:
        return 0.0
    return (d.ppa_mwh * d.ppa_price * d.ppa_take_or_pay).sum(["site", "hod"])


def _supply_and_sites(m: linopy.Model, d: PlanData, hall_block_mw: float | None) -> _Vars:
    month = d.wafer_cap.indexes["month"]
    site = d.pue.indexes["site"]
    ms = [site, month]
    w = m.add_variables(lower=0, upper=d.wafer_cap, coords=_per_draw(d, month), name="wafers")
    p = m.add_variables(lower=0, coords=_per_draw(d, month), name="packages")
    inv_d = m.add_variables(lower=0, coords=_per_draw(d, month), name="die_inventory")
    # die inventory: I[t] = I[t-1] + w u - p
    m.add_constraints(inv_d - inv_d.shift(month=1).fillna(0) - w * d.units_per_wafer + p == 0, name="die_balance")
    if d.packaging_cap is not None:
        m.add_constraints(p <= d.packaging_cap, name="packaging_capacity")
    if d.hbm_cap is not None:
        h = m.add_variables(lower=0, coords=_per_draw(d, month), name="hbm")
        inv_h = m.add_variables(lower=0, coords=_per_draw(d, month), name="hbm_inventory")
        m.add_constraints(h <= d.hbm_cap, name="hbm_capacity")
        m.add_constraints(inv_h - inv_h.shift(month=1).fillna(0) - h + p == 0, name="hbm_balance")
    acc = d.kw.indexes["accelerator"]
    upper = xr.where(d.buyable, np.inf, 0.0).broadcast_like(d.option_available)  # the fleet's other types: bought
    delivered = m.add_variables(lower=0, upper=upper, coords=_per_draw(d, acc, month), name="delivered")
    m.add_constraints(
        delivered.sel(accelerator=d.accelerators[0]) - p * d.packaging_yield == 0, name="supply_chain_output"
    )
    if np.isfinite(d.option_available).any():
        m.add_constraints(
            delivered <= d.option_available.where(np.isfinite(d.option_available), 0.0),
            name="option_supply",
            mask=np.isfinite(d.option_available),
        )
    b = m.add_variables(lower=0, coords=ms, name="it_mw_built")
    if hall_block_mw:
        k = m.add_variables(lower=0, coords=ms, name="halls", integer=True)
        m.add_constraints(b - hall_block_mw * k == 0, name="hall_blocks")
    m.add_constraints(b <= 0, name="not_before_energisation", mask=~_any_draw(d.buildable))
    cap = b.cumsum("month")
    usable = cap
    if d.draws:  # built for every draw (first stage); each draw powers what its own grid allows of it
        m.add_constraints(cap <= d.it_mw_max.max("draw"), name="grid_capacity_best_draw")
        usable = m.add_variables(lower=0, name="it_mw_powered", coords=[d.draw_index, *ms])
        finite = np.isfinite(d.it_mw_max)  # a constraint, not a bound: its dual is what one more MW is worth
        m.add_constraints(usable <= d.it_mw_max.where(finite, 0.0), name="grid_capacity", mask=finite)
        m.add_constraints(usable - cap <= 0, name="powered_within_built")
    else:
        m.add_constraints(cap <= d.it_mw_max, name="grid_capacity")
    n = m.add_variables(lower=0, coords=_per_draw(d, acc, site, month), name="installed")
    m.add_constraints((n * (d.kw / 1000.0)).sum("accelerator") - usable * d.derate <= 0, name="site_power")
    _fleet(m, d, delivered, n)
    return _Vars(delivered=delivered, b=b, cap=cap, n=n)


def _per_draw(d: PlanData, *coords: Any) -> list[Any]:
    """A second-stage variable's coordinates: one per draw of a plan under uncertainty (``d.draws``)."""
    return [d.draw_index, *coords] if d.draws else list(coords)


def _any_draw(x: xr.DataArray) -> xr.DataArray:
    return x.any("draw") if "draw" in x.dims else x


def _fleet(m: linopy.Model, d: PlanData, delivered: Any, n: Any) -> None:
    """Accelerators installed within what is in service: deliveries (the plan's and the fleet's market orders) until
    their useful life ends, counted from delivery, and the installed base, which stays at its own site."""
    months = d.fixed_delivered.sizes["month"]
    in_service = delivered.cumsum("month")
    fixed = d.fixed_delivered.cumsum("month")
    for life in sorted({int(x) for x in d.life_months.values.ravel() if np.isfinite(x) and x < months}):  # a few
        of_life = d.life_months == life
        in_service = in_service - (delivered.cumsum("month").shift(month=life).fillna(0) * of_life)
        fixed = fixed - (d.fixed_delivered.cumsum("month").shift(month=life).fillna(0.0) * of_life)
    bought = n
    if float(d.base_at_site.sum()) > 0:  # the installed base is used where it stands, the rest goes anywhere
        base = m.add_variables(lower=0, upper=d.base_at_site, name="base_installed")
        m.add_constraints(n - base >= 0, name="base_at_its_site")
        bought = n - base
    m.add_constraints(bought.sum("site") - in_service <= fixed, name="fleet")


def _workloads(m: linopy.Model, d: PlanData, v: _Vars, contiguous_runs: bool = False) -> None:
    in_use = []
    acc, site, month = (v.n.indexes[k] for k in ("accelerator", "site", "month"))
    if d.runs:
        run = d.run_window.indexes["run"]
        allowed = d.run_window & d.run_site
        u = m.add_variables(
            lower=0,
            coords=_per_draw(d, run, acc, site, month),
            name="training",
            mask=allowed.expand_dims(accelerator=d.accelerators).transpose(..., "run", "accelerator", "site", "month"),
        )
        v.short_run = m.add_variables(lower=0, upper=1, coords=_per_draw(d, run), name="training_shortfall")
        u = u.fillna(0)  # masked slots (outside a run's window or site) count as zero, explicitly
        done = (u * (d.run_flop_per_acc_month / d.run_flops)).sum(["accelerator", "site", "month"])
        m.add_constraints(done + v.short_run >= 1, name="training_target")
        if contiguous_runs:
            _contiguous_runs(m, d, u, acc)
        in_use.append(u.sum("run"))
    if float(d.demand.max()) > 0:
        i = m.add_variables(lower=0, coords=_per_draw(d, acc, site, month), name="inference")
        v.short_inf = m.add_variables(lower=0, upper=1, coords=_per_draw(d, month), name="inference_shortfall")
        has = d.demand > 0
        served = (i * d.rate).sum(["accelerator", "site"])
        m.add_constraints(served / d.demand.where(has, 1.0) + v.short_inf >= 1, name="inference_target", mask=has)
        in_use.append(i)
    if in_use:
        total = in_use[0] if len(in_use) == 1 else in_use[0] + in_use[1]
        m.add_constraints(total - v.n <= 0, name="accelerators_in_use")


def _contiguous_runs(m: linopy.Model, d: PlanData, u: Any, acc: Any) -> None:
    """Each training run as the simulator runs it (a MILP): on one accelerator type (``run_type``), on a whole number
    of accelerators (``run_accelerators``) that is the same in every month it runs (``run_active``), and in one
    unbroken stretch of months (at most one ``run_start``). ``u`` is the training allocation (run, accelerator,
    site, month). The big-M of the on/off constraints is the most accelerators of a type the sites could ever power
    (their largest IT MW over their all-in kW), so it cuts off no plan the LP allows."""
    if d.draws:
        raise ModelError("contiguous training runs are a MILP of one scenario, not of a plan under uncertainty")
    run, month = d.run_window.indexes["run"], d.run_window.indexes["month"]
    bound = d.it_mw_max.max("month").sum("site") * 1000.0 / d.kw  # (accelerator,)
    big = float(bound.max())
    if not math.isfinite(big):
        raise ModelError("contiguous training runs (--milp) need every site's grid power to be finite")
    active = m.add_variables(binary=True, coords=[run, month], name="run_active", mask=d.run_window).fillna(0)
    start = m.add_variables(binary=True, coords=[run, month], name="run_start", mask=d.run_window).fillna(0)
    kind = m.add_variables(binary=True, coords=[run, acc], name="run_type")
    size = m.add_variables(lower=0, upper=big, integer=True, coords=[run], name="run_accelerators")
    m.add_constraints(active - active.shift(month=1).fillna(0) - start <= 0, name="run_starts")
    m.add_constraints(start.sum("month") <= 1, name="run_one_stretch")
    m.add_constraints(kind.sum("accelerator") <= 1, name="run_one_type")
    m.add_constraints(u.sum("site") - kind * bound <= 0, name="run_on_its_type")
    total = u.sum(["accelerator", "site"])  # (run, month)
    m.add_constraints(total - size <= 0, name="run_size_at_most")
    m.add_constraints(total - big * active <= 0, name="run_only_when_active")
    m.add_constraints(total - size - big * active >= -big, name="run_size_when_active")


def _hour_of_day(m: linopy.Model, d: PlanData, n: Any) -> tuple[Any, Any]:
    """Behind-the-meter solar, PPAs, site batteries and on-site generation, hour of day by hour of day within each
    site's load. Returns (tariff energy saved, on-site fuel cost), each a linear expression per month (or 0)."""
    saving: Any = 0
    fuel: Any = 0
    if d.load_mwh_per_acc is None:
        return saving, fuel
    load = (n * d.load_mwh_per_acc).sum("accelerator")
    behind_meter = []  # energy served at the site without the grid connection: solar, battery discharge
    offsets = []
    if d.solar_mwh is not None:
        sol_used = m.add_variables(
            lower=0, upper=d.solar_mwh, coords=d.solar_mwh.indexes.values(), name="solar_used", mask=d.solar_mwh > 0
        ).fillna(0)  # only where the sun shines on a site with solar
        offsets.append(sol_used)
        behind_meter.append(sol_used)
        saving = (sol_used * d.price_hod).sum(["site", "hod"])
    if d.ppa_mwh is not None:
        ppa_used = m.add_variables(
            lower=0, upper=d.ppa_mwh, coords=d.ppa_mwh.indexes.values(), name="ppa_used", mask=d.ppa_mwh > 0
        ).fillna(0)
        offsets.append(ppa_used)
        # an as-used PPA saves the tariff less its price; a take-or-pay one saves the tariff and is paid in full
        pay_as_used = d.ppa_price.where(~d.ppa_take_or_pay, 0.0)
        saving = saving + (ppa_used * (d.price_hod - pay_as_used)).sum(["site", "hod"])
    grid_charge = None
    if d.battery_mwh_per_hod is not None:
        dis, chg_g = _battery(m, d, load, offsets[0] if d.solar_mwh is not None else None)
        offsets.append(dis)
        behind_meter.append(dis)
        grid_charge = chg_g
        saving = saving + ((dis - chg_g) * d.price_hod).sum(["site", "hod"])
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
        m.add_constraints(served - load <= 0, name="offsets_within_load", mask=any_offset)
    if d.onsite_mwh_per_hod is not None:
        # the grid serves what solar and the battery leave, up to its import; on-site generation the rest
        hod = d.load_mwh_per_acc.indexes["hod"]
        upper = d.onsite_mwh_per_hod.expand_dims(hod=hod).transpose(..., "site", "month", "hod")
        has = upper > 0
        onsite = m.add_variables(
            lower=0, upper=upper, coords=list(upper.indexes.values()), name="onsite_used", mask=has
        )
        onsite = onsite.fillna(0)
        residual = load if grid_charge is None else load + grid_charge
        for x in behind_meter:
            residual = residual - x
        m.add_constraints(residual - onsite <= d.grid_only_mwh_per_hod, name="grid_import", mask=has)
        m.add_constraints(onsite - residual <= 0, name="onsite_within_load", mask=has)  # grid draw >= 0
        saving = saving + (onsite * d.price_hod).sum(["site", "hod"])
        fuel = (onsite * d.onsite_price).sum(["site", "hod"])
    return saving, fuel


def _battery(m: linopy.Model, d: PlanData, load: Any, solar_used: Any) -> tuple[Any, Any]:
    """One daily cycle: charged from solar or spare grid import, discharged into the load. Returns (discharge,
    grid charge)."""
    hod = d.load_mwh_per_acc.indexes["hod"]
    site, month = d.battery_mwh_per_hod.indexes["site"], d.battery_mwh_per_hod.indexes["month"]
    bc = _per_draw(d, site, month, hod)
    upper = d.battery_mwh_per_hod.expand_dims(hod=hod).transpose(..., "site", "month", "hod")
    has = upper > 0  # sites and months with a battery in service
    dis = m.add_variables(lower=0, upper=upper, coords=bc, name="battery_discharge", mask=has).fillna(0)
    chg_g = m.add_variables(lower=0, upper=upper, coords=bc, name="battery_from_grid", mask=has).fillna(0)
    charge = chg_g
    if solar_used is not None:
        chg_s = m.add_variables(lower=0, upper=upper, coords=bc, name="battery_from_solar", mask=has).fillna(0)
        m.add_constraints(chg_s + solar_used - d.solar_mwh <= 0, name="solar_split", mask=has & (d.solar_mwh > 0))
        charge = chg_s + chg_g
    m.add_constraints(charge - upper <= 0, name="battery_charge_power", mask=has)
    in_service = d.battery_mwh_per_hod > 0
    m.add_constraints(charge.sum("hod") - d.battery_day_mwh <= 0, name="battery_energy", mask=in_service)
    m.add_constraints(
        dis.sum("hod") - d.battery_rte * charge.sum("hod") <= 0, name="battery_round_trip", mask=in_service
    )
    # grid-charging needs spare grid import in that hour: draw (load less solar and discharge) + charge <= grid
    draw = load - dis if solar_used is None else load - dis - solar_used
    m.add_constraints(chg_g + draw - d.grid_mwh_per_hod <= 0, name="battery_grid_headroom", mask=has)
    return dis, chg_g
