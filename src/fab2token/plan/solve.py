"""Solving the plan: the model of :mod:`fab2token.plan.model` on the data of :mod:`fab2token.plan.data`, with
HiGHS, and its answer as tables: what to build, what is unmet, what binds and what one more unit is worth (duals),
and the cost of the plan term by term (:func:`plan_bills`, the same terms the simulation bills)."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import linopy
import numpy as np
import xarray as xr

from fab2token.economics.costs import COST_TERMS
from fab2token.errors import ModelError
from fab2token.plan.data import PlanData, plan_data
from fab2token.plan.model import build_model, fixed_purchases_usd, ppa_fixed_usd
from fab2token.plan.values import binding_in_target_units, binding_rows, constraint_duals
from fab2token.scenario.models import Scenario

__all__ = ["PlanResult", "PLAN_KEYS", "PLAN_STATUSES", "plan", "plan_bills", "simulated_bills"]

PLAN_KEYS = (
    "status",
    "status_text",
    "objective_usd",
    "build",
    "binding",
    "binding_if_short",
    "unmet",
    "schedule",
    "variables",
    "constraints",
    "build_s",
    "solve_s",
    "plan_id",  # added by `fab2token plan`: the id the plan is stored under (null with --no-store)
)


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
    status_text: str = ""
    schedule: dict[str, Any] = field(default_factory=dict)
    binding_if_short: list[dict[str, Any]] = field(default_factory=list)
    duals: dict[str, Any] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """The exit status of ``fab2token plan`` for this outcome (:data:`PLAN_STATUSES`)."""
        return PLAN_STATUSES[self.status][0]

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not full:
            d.pop("duals")
            d.pop("series")
        return d


@contextlib.contextmanager
def _quiet_stdout() -> Any:
    """Silence the solver's C-level banner on file descriptor 1 (it would corrupt ``--json`` output), and linopy's
    own report of a failed solve (the outcome is ours to report, with its status and sentence)."""
    import logging

    linopy_log = logging.getLogger("linopy")
    level = linopy_log.level
    linopy_log.setLevel(logging.ERROR)
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
        linopy_log.setLevel(level)


PLAN_STATUSES: dict[str, tuple[int, str]] = {
    "optimal": (0, "optimal: the cheapest plan for the targets (those it cannot meet are listed as unmet)"),
    "feasible": (0, "feasible, not proven optimal: the solver stopped at its time limit with this plan (gap shown)"),
    "infeasible": (2, "infeasible: the hard limits contradict each other (e.g. a budget below the fixed costs)"),
    "time_limit": (3, "no plan: the solver reached its time limit before finding one (raise --time-limit)"),
    "unbounded": (1, "unbounded: the objective can improve without limit (a missing bound; please report it)"),
    "solver_error": (1, "solver error: HiGHS did not return a plan (see the solver log, --solver-log)"),
}


def plan(
    sc: Scenario,
    objective: str = "min-cost",
    milp: bool = False,
    time_limit_s: float = 60.0,
    solver_log: str | None = None,
    supply: Any = None,
    market: dict[str, Any] | None = None,
    option_cap: dict[str, Any] | None = None,
) -> PlanResult:
    """Solve the scenario's planning problem; see the module docstring. ``supply``, ``market`` and
    ``option_cap`` replace or cap the scenario's own supply figures (:func:`fab2token.plan.data.plan_data`).

    The targets are first hard limits; when they cannot all be met, a first phase minimises their shortfall (in the
    targets' unit, see :func:`fab2token.plan.model.build_model`) and a second the objective at that shortfall, so
    no penalty constant enters the objective or the duals. ``solver_log`` writes HiGHS's log to that file.

    Parameters
    ----------
    sc : Scenario
        A validated scenario with a ``targets`` section.
    objective : str
        ``min-cost`` (meet the targets at least cost) or ``max-compute`` (the most compute within
        ``targets.budget_usd``).
    milp : bool
        A mixed-integer program: halls in whole blocks of ``targets.hall_block_mw`` (when given), and each training
        target as the simulator runs it, on one accelerator type at a fixed whole count over unbroken months.
    time_limit_s : float
        The solver's time limit.
    solver_log : str, optional
        A file for HiGHS's log.
    supply, market, option_cap : optional
        What replaces or caps the scenario's own supply figures (a race's grants).

    Returns
    -------
    PlanResult
        Status, objective, the build, the schedule, the binding limits with their values and the duals (the keys
        of ``fab2token plan --json``); a non-optimal status says so with its sentence, never a plan with $0.

    Raises
    ------
    ModelError
        Nothing to plan (no targets under ``min-cost``), a time limit that is not a positive number, ``milp``
        with neither ``targets.hall_block_mw`` nor training targets, ``max-compute`` without a budget.
    """
    if not sc.targets.training and not sc.targets.inference_demand and objective == "min-cost":
        raise ModelError("nothing to plan: the scenario has no targets (targets.training or targets.inference_demand)")
    if not (time_limit_s > 0 and math.isfinite(time_limit_s)):
        raise ModelError(f"time limit: got {time_limit_s!r}; expected a positive number of seconds")
    t0 = time.perf_counter()
    d = plan_data(sc, supply, market, option_cap)
    block = sc.targets.hall_block_mw if milp else None
    if milp and block is None and not d.runs:
        raise ModelError(
            "--milp needs targets.hall_block_mw (halls built in blocks of that many IT MW) or targets.training "
            "(runs laid out as the simulator runs them); the scenario has neither"
        )
    built = build_model(d, objective, sc.targets.budget_usd, block, contiguous_runs=milp)
    m = built.model
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    options = {"time_limit": float(time_limit_s), "output_flag": solver_log is not None, "log_to_console": False}
    if solver_log is not None:
        options["log_file"] = str(solver_log)
    outcome, short, target_duals = solve_phases(built, options, milp, d)
    solve_s = time.perf_counter() - t1
    if outcome not in ("optimal", "feasible"):
        return _no_plan(outcome, m, build_s, solve_s)
    return _result(d, m, outcome, milp, build_s, solve_s, built.shortfall_unit, target_duals, short)


def _solve(m: linopy.Model, options: dict[str, Any], milp: bool) -> str:
    """Solve as the model stands; the outcome as a key of :data:`PLAN_STATUSES`."""
    with _quiet_stdout():
        try:
            status, condition = m.solve(solver_name="highs", io_api="direct", **options)
        except Exception:  # HiGHS or linopy failing inside: reported as a solver error, never a plan
            return "solver_error"
    if condition == "optimal":
        return "optimal"
    if condition in ("infeasible", "infeasible_or_unbounded"):
        return "infeasible"
    if condition == "unbounded":
        return "unbounded"
    if condition in ("time_limit", "iteration_limit", "terminated_by_limit"):
        has_plan = milp and m.objective.value is not None and math.isfinite(float(m.objective.value))
        return "feasible" if has_plan else "time_limit"
    return "solver_error"


def solve_phases(
    built: Any, options: dict[str, Any], milp: bool, d: PlanData | None = None
) -> tuple[str, bool, dict[str, xr.DataArray]]:
    """The solve's phases: every target met; when they cannot all be, :func:`_least_shortfall`. Returns the outcome,
    whether the targets fell short, and the shortfall phase's duals (none without ``d``: a plan under uncertainty
    prices no limit)."""
    m = built.model
    for name in built.slacks:  # first: every target met
        m.variables[name].update(upper=0.0)
    outcome = _solve(m, options, milp)
    short = outcome == "infeasible" and bool(built.slacks)
    if not short:
        return outcome, False, {}
    outcome, target_duals = _least_shortfall(m, built, options, milp, d)
    return outcome, True, target_duals


def _least_shortfall(
    m: linopy.Model, built: Any, options: dict[str, Any], milp: bool, d: PlanData | None
) -> tuple[str, dict[str, xr.DataArray]]:
    """The targets cannot all be met: minimise the shortfall, keep it there, then minimise the objective. Returns
    the outcome and the first phase's duals (the shortfall reduced by one more unit of each limit; none for a MILP
    or without ``d``)."""
    for name in built.slacks:
        m.variables[name].update(upper=1.0)
    m.add_objective(built.shortfall, overwrite=True)
    outcome = _solve(m, options, milp)
    if outcome != "optimal":
        return outcome, {}
    target_duals = {} if milp or d is None else constraint_duals(m, d)
    least = float(m.objective.value)
    m.add_constraints(built.shortfall <= least * (1 + 1e-9) + 1e-9, name="least_shortfall")
    m.add_objective(built.primary, overwrite=True)
    return _solve(m, options, milp), target_duals


def _no_plan(outcome: str, m: linopy.Model, build_s: float, solve_s: float) -> PlanResult:
    return PlanResult(
        status=outcome,
        objective_usd=math.nan,
        build=[],
        binding=[],
        unmet=[],
        variables=int(m.nvars),
        constraints=int(m.ncons),
        build_s=build_s,
        solve_s=solve_s,
        status_text=PLAN_STATUSES[outcome][1],
    )


def _result(
    d: PlanData,
    m: linopy.Model,
    outcome: str,
    milp: bool,
    build_s: float,
    solve_s: float,
    shortfall_unit: str,
    target_duals: dict[str, xr.DataArray],
    short: bool = False,
) -> PlanResult:
    sol = m.solution
    gap = None
    if milp:
        try:
            gap = float(m.solver_model.getInfo().mip_gap)
        except Exception:  # solver-specific attribute; the plan stands without it
            gap = None
        # duals of a MILP are those of the LP with the integer decisions fixed; report none rather than mislead
    duals = {} if milp else constraint_duals(m, d)
    bills = plan_bills(d, sol)
    cost = {t: float((bills[t] * d.df).sum()) for t in COST_TERMS}
    return PlanResult(
        status=outcome,
        objective_usd=sum(cost.values()),
        build=_build_table(d, sol),
        # short: the cost phase holds the shortfall at its least, and its duals price that hold (no value anyone
        # can use); the limits are valued in the targets' unit instead (binding_if_short)
        binding=[] if milp or short else binding_rows(duals, d),
        unmet=_unmet(d, sol),
        variables=int(m.nvars),
        constraints=int(m.ncons),
        build_s=build_s,
        solve_s=solve_s,
        cost_breakdown_usd=cost,
        mip_gap=gap,
        status_text=PLAN_STATUSES[outcome][1],
        schedule=_schedule(d, sol),
        binding_if_short=binding_in_target_units(target_duals, d, shortfall_unit),
        duals=duals,
        series={name: sol[name] for name in sol.data_vars},
    )


def plan_bills(d: PlanData, sol: xr.Dataset) -> dict[str, xr.DataArray]:
    """The plan's cost per month, undiscounted, in the terms of :data:`fab2token.economics.costs.COST_TERMS`."""
    cap = sol["it_mw_built"].cumsum("month")
    zero = xr.zeros_like(d.df)
    electricity = (sol["installed"] * d.energy_usd_per_acc_month).sum(["accelerator", "site"]) + ppa_fixed_usd(d)
    if "solar_used" in sol:
        electricity = electricity - (sol["solar_used"] * d.price_hod).sum(["site", "hod"])
    if "ppa_used" in sol:
        pay_as_used = d.ppa_price.where(~d.ppa_take_or_pay, 0.0)
        electricity = electricity - (sol["ppa_used"] * (d.price_hod - pay_as_used)).sum(["site", "hod"])
    if "battery_discharge" in sol:
        electricity = electricity - (
            (sol["battery_discharge"].fillna(0) - sol["battery_from_grid"].fillna(0)) * d.price_hod
        ).sum(["site", "hod"])
    fuel = zero
    if "onsite_used" in sol:
        used = sol["onsite_used"].fillna(0)
        electricity = electricity - (used * d.price_hod).sum(["site", "hod"])
        fuel = (used * d.onsite_price).sum(["site", "hod"])
    optics = zero
    if "installs" in sol:
        optics = (sol["installs"] * d.optics_usd).sum(["accelerator", "site"])
    return {
        "accelerators": (sol["delivered"] * d.price).sum("accelerator") + fixed_purchases_usd(d),
        "datacenter_capex": (sol["it_mw_built"] * d.capex_per_mw).sum("site"),
        "battery_capex": d.battery_capex_usd,
        "optics_capex": optics,
        "electricity": electricity,
        "onsite_fuel": fuel,
        "fixed_opex": (cap * d.fixed_opex_per_mw_month).sum("site"),
    }


def _build_table(d: PlanData, sol: xr.Dataset) -> list[dict[str, Any]]:
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


def _unmet(d: PlanData, sol: xr.Dataset) -> list[dict[str, Any]]:
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


def _schedule(d: PlanData, sol: xr.Dataset) -> dict[str, Any]:
    """When, where and on how many accelerators of each type each training target runs, its start and finish, its
    largest count in a month and the type it uses most, and the accelerators serving inference each month."""
    out: dict[str, Any] = {"training": [], "inference": []}
    if "training" in sol:
        u = sol["training"].fillna(0.0)
        done = (u * (d.run_flop_per_acc_month / d.run_flops)).sum(["accelerator", "site"]).cumsum("month")
        rows = _nonzero_rows(u, "accelerators")
        per_month = u.sum("site")  # (run, accelerator, month)
        for r in d.runs:
            total = float(done.sel(run=r).isel(month=-1))
            cum = done.sel(run=r).values
            used = np.flatnonzero(per_month.sel(run=r).sum("accelerator").values > 1e-6)
            by_type = per_month.sel(run=r).sum("month")
            out["training"].append(
                {
                    "run": str(r),
                    "start": d.months[int(used[0])] if used.size else None,
                    "finish": d.months[int(np.argmax(cum >= total - 1e-6))] if used.size else None,
                    "done_frac": total,
                    "accelerators": float(per_month.sel(run=r).sum("accelerator").max()),
                    "accelerator": str(by_type.idxmax("accelerator").values) if used.size else None,
                    "allocation": [{k: v for k, v in row.items() if k != "run"} for row in rows if row["run"] == r],
                }
            )
    if "inference" in sol:
        out["inference"] = _nonzero_rows(sol["inference"].fillna(0.0), "accelerators")
    return out


def _nonzero_rows(arr: xr.DataArray, name: str) -> list[dict[str, Any]]:
    """The non-zero cells of an array as rows (a table, not a loop over months)."""
    table = arr.to_dataframe(name).reset_index()
    table = table[table[name] > 1e-6]
    return [{k: (float(v) if k == name else str(v)) for k, v in r.items()} for r in table.to_dict("records")]


def simulated_bills(sc: Scenario, res: PlanResult) -> dict[str, float]:
    """What the simulation's billing (:func:`fab2token.economics.bills.bills`, the hourly energy engine included)
    charges for the plan's own build-out — its installed fleet per type, site and month, its IT MW built and its
    deliveries — discounted like the plan's ``cost_breakdown_usd``, term by term. The two agree within the LP
    approximations listed in docs/stages/planner.md ("What the planner approximates")."""
    from fab2token.economics.bills import bills  # the simulation's billing, imported only when asked for
    from fab2token.economics.costs import discount_factor, total_usd
    from fab2token.scenario.timeline import month_axis
    from fab2token.sites.inputs import site_inputs

    d = plan_data(sc)
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    n = res.series["installed"].fillna(0.0)
    per_site = ("month", "site")
    it_load = (n * d.kw / 1000.0).sum("accelerator").transpose(*per_site).values
    added = n.diff("month").clip(min=0.0).reindex(month=n["month"], fill_value=0.0)
    added = added + n.isel(month=0).expand_dims(month=n["month"][:1]).reindex(month=n["month"], fill_value=0.0)
    new_installs = added.sum("accelerator").transpose(*per_site).values
    acc_usd = ((res.series["delivered"] + d.fixed_delivered) * d.price).sum("accelerator").values
    built = res.series["it_mw_built"].cumsum("month").transpose(*per_site).values
    _, terms = bills(sc, site_inputs(sc, axis), it_load, new_installs, acc_usd, built)
    df = discount_factor(axis.size, sc.targets.discount_rate_per_year)
    return {t: total_usd(terms, [t], df) for t in COST_TERMS}
