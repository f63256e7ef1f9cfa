"""The plan under uncertainty: a two-stage stochastic programme by sample average approximation (SAA), as PyPSA
solves its stochastic networks.

The first stage is what to build: the IT MW built at each site and month (:func:`fab2token.plan.model.build_model`'s
``it_mw_built``), one decision for every draw. The second stage is everything a draw then operates: wafers,
packages, purchases, what is installed where, the training and inference it carries, the hours' energy, each draw
with its own coefficients (:func:`fab2token.plan.data.plan_data` of each draw's scenario, stacked over ``draw`` by
:func:`stack_plan_data`). A draw powers what its own grid allows of the build (``it_mw_powered``: at most the build,
at most that draw's facility power). The objective is the expected cost over the draws, after the least expected
shortfall of the targets when they cannot all be met in every draw (the deterministic plan's two phases, on
expectations).

Reported beside the plan: each draw's cost (P10/P50/P90), the probability that each target is met, and the
deterministic plan's build facing the same draws (the median scenario's plan, its build held fixed, the draws'
operation optimised), whose expected cost less the stochastic plan's is the regret of planning on the median.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from fab2token.errors import ModelError
from fab2token.plan.data import PlanData, plan_data
from fab2token.plan.model import build_model, fixed_purchases_usd, ppa_fixed_usd
from fab2token.plan.solve import PLAN_STATUSES, plan, solve_phases
from fab2token.plan.values import binding_rows, constraint_duals
from fab2token.scenario.models import Scenario

__all__ = ["StochasticPlan", "plan_draws", "stack_plan_data", "STOCHASTIC_KEYS"]

STOCHASTIC_KEYS = (
    "status",
    "draws",
    "seed",
    "expected_cost_usd",
    "cost_usd_p10",
    "cost_usd_p50",
    "cost_usd_p90",
    "expected_shortfall",
    "shortfall_unit",
    "targets_met",
    "build",
    "deterministic",
    "regret_usd",
    "variables",
    "constraints",
    "build_s",
    "solve_s",
    "binding",
)
# exit status of `plan --draws` by outcome: `plan`'s own
PLAN_STATUS_EXIT = {status: code for status, (code, _) in PLAN_STATUSES.items()}
MET_TOL = 1e-6  # a target's shortfall fraction at most this counts as met (the solver's feasibility tolerance)
_SHARED = ("months", "sites", "runs", "accelerators")


@dataclass
class StochasticPlan:
    """The plan under uncertainty; the keys of ``fab2token plan --draws N --json`` (:data:`STOCHASTIC_KEYS`)."""

    status: str
    draws: int
    seed: int
    expected_cost_usd: float
    cost_usd_p10: float
    cost_usd_p50: float
    cost_usd_p90: float
    expected_shortfall: float
    shortfall_unit: str
    targets_met: list[dict[str, Any]]
    build: list[dict[str, Any]]
    deterministic: dict[str, Any]
    regret_usd: float | None
    variables: int
    constraints: int
    build_s: float
    solve_s: float
    cost_usd_by_draw: list[float] = field(default_factory=list)
    # what one more unit of each limit in every draw is worth, in expectation (an LP whose targets are all met)
    binding: list[dict[str, Any]] = field(default_factory=list)
    series: dict[str, xr.DataArray] = field(default_factory=dict)  # it_mw_built (site, month): the shared build

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("series")
        return d

    # what the store and the pages read of any plan (a plan under uncertainty has no duals by month or schedule)
    under_uncertainty: ClassVar[bool] = True
    duals: ClassVar[dict[str, xr.DataArray]] = {}
    binding_if_short: ClassVar[list[dict[str, Any]]] = []
    schedule: ClassVar[dict[str, Any]] = {}

    @property
    def objective_usd(self) -> float:
        """The expected cost over the draws [USD] (what a plan's objective is in the store)."""
        return self.expected_cost_usd


def stack_plan_data(datas: list[PlanData]) -> PlanData:
    """Several draws' planning coefficients as one :class:`PlanData` over ``draw``: every array gains the ``draw``
    dimension, a number the draws differ in becomes an array over ``draw``.

    Raises
    ------
    ModelError
        The draws differ in their months, sites, runs or accelerator types, or in whether a coefficient exists (a
        site with a battery in one draw only).
    """
    out: dict[str, Any] = {}
    draw = xr.DataArray(np.arange(len(datas)), dims="draw", name="draw")
    for f in dataclasses.fields(PlanData):
        if f.name == "draws":
            continue
        values = [getattr(d, f.name) for d in datas]
        first = values[0]
        if f.name in _SHARED:
            if any(v != first for v in values):
                raise ModelError(f"plan --draws: the draws differ in their {f.name}; a plan's draws share them")
            out[f.name] = first
        elif all(v is None for v in values):
            out[f.name] = None
        elif any(v is None for v in values):
            raise ModelError(f"plan --draws: {f.name} exists in some draws only; a plan's draws share its structure")
        elif isinstance(first, xr.DataArray):
            out[f.name] = xr.concat(values, dim=draw)
        elif all(v == first or (isinstance(v, float) and math.isnan(v) and math.isnan(first)) for v in values):
            out[f.name] = first
        else:
            out[f.name] = xr.DataArray(np.asarray(values, dtype=float), dims="draw", coords={"draw": draw.values})
    return PlanData(**out, draws=len(datas))


def _evaluate(
    d: PlanData, sc: Scenario, objective: str, time_limit_s: float, fixed_build: Any = None, block: float | None = None
) -> dict:
    """Build and solve the stochastic programme (with the build held at ``fixed_build`` when given; in whole halls
    of ``block`` IT MW when given); its numbers."""
    built = build_model(d, objective, sc.targets.budget_usd, block)
    m = built.model
    if fixed_build is not None:  # the deterministic plan's build, facing the draws
        b = fixed_build.reindex_like(m.variables["it_mw_built"].lower).fillna(0.0)
        m.variables["it_mw_built"].update(lower=b, upper=b)
    t0 = time.perf_counter()
    options = {"time_limit": float(time_limit_s), "output_flag": False, "log_to_console": False}
    milp = block is not None
    outcome, short, _ = solve_phases(built, options, milp)  # the deterministic plan's phases, on expectations
    solve_s = time.perf_counter() - t0
    out: dict[str, Any] = {
        "status": outcome,
        "solve_s": solve_s,
        "variables": int(m.nvars),
        "constraints": int(m.ncons),
    }
    if outcome not in ("optimal", "feasible"):
        return out
    sol = m.solution
    by_draw = np.asarray(built.cost_by_draw.solution.values, dtype=float) + _fixed_by_draw(d)
    expected_short = float(built.shortfall.solution) if built.shortfall is not None and short else 0.0
    out.update(
        expected_cost_usd=float(by_draw.mean()),
        cost_usd_by_draw=by_draw,
        expected_shortfall=expected_short,
        shortfall_unit=built.shortfall_unit,
        targets_met=_targets_met(d, sol),
        build_mw=sol["it_mw_built"],
    )
    if fixed_build is None and block is None and not short:
        out["binding"] = _expected_binding(m, d)
    return out


def _expected_binding(m: Any, d: PlanData) -> list[dict[str, Any]]:
    """What one more unit of each limit in every draw is worth, in expectation: each draw's dual (the objective
    being the mean over the draws, a draw's dual carries its 1/N) summed over the draws; for power, with the dual of
    the build's cap at the best draw's power, which one more MW in every draw also relaxes. Read as the
    deterministic plan's binding rows, at the draws' mean PUE and usable share."""
    duals = {k: v.sum("draw") if "draw" in v.dims else v for k, v in constraint_duals(m, d).items()}
    if "grid_capacity" in duals and "grid_capacity_best_draw" in m.constraints:
        best = -m.dual["grid_capacity_best_draw"]
        duals["grid_capacity"] = duals["grid_capacity"] + best.reindex_like(duals["grid_capacity"]).fillna(0.0)
    mean = {
        f.name: getattr(d, f.name).mean("draw")
        for f in dataclasses.fields(PlanData)
        if f.name in ("pue", "usable", "units_per_packaging_wafer", "stack_yield", "stacks_per_accelerator")
        and isinstance(getattr(d, f.name), xr.DataArray)
        and "draw" in getattr(d, f.name).dims
    }
    flat = dataclasses.replace(d, **{k: float(v) if v.ndim == 0 else v for k, v in mean.items()})
    return binding_rows(duals, flat)


def _fixed_by_draw(d: PlanData) -> np.ndarray:
    """Each draw's discounted costs no decision changes (take-or-pay PPAs, batteries, the fleet's market orders)."""
    fixed = (ppa_fixed_usd(d) + d.battery_capex_usd + fixed_purchases_usd(d)) * d.df
    fixed = xr.DataArray(fixed) if not isinstance(fixed, xr.DataArray) else fixed
    if "draw" not in fixed.dims:
        return np.full(d.draws, float(fixed.sum()))
    return np.asarray(fixed.sum([k for k in fixed.dims if k != "draw"]).values, dtype=float)


def plan_draws(
    scenario: str,
    draws: int,
    seed: int = 0,
    objective: str = "min-cost",
    time_limit_s: float = 600.0,
    milp: bool = False,
) -> StochasticPlan:
    """Plan a scenario with uncertain inputs over ``draws`` of them (sample average approximation).

    Parameters
    ----------
    scenario : str
        A scenario file with a ``targets`` section and at least one distribution.
    draws : int
        Draws of the uncertain inputs (as ``fab2token sweep`` draws them: by seed, input and draw index).
    seed : int
        The draws' seed.
    objective : str
        ``min-cost`` (expected cost) or ``max-compute`` (expected compute within ``targets.budget_usd`` of
        expected cost).
    time_limit_s : float
        The solver's time limit for each solve.
    milp : bool
        The shared build in whole halls of ``targets.hall_block_mw`` IT MW (a MILP; the draws' operation stays
        continuous, training runs as accelerator-months). The median plan it is compared with is the
        deterministic MILP (``plan --milp``), and its build faces the draws in the same programme.

    Returns
    -------
    StochasticPlan
        The shared build, the expected cost and its spread over the draws, the probability that each target is
        met, and the deterministic (median) plan's build facing the same draws, with the regret.

    Raises
    ------
    ScenarioError, ModelError, OptionError
        A scenario without distributions or targets, draws of different structure, a bad option.

    References
    ----------
    .. [1] A. J. Kleywegt, A. Shapiro and T. Homem-de-Mello, "The sample average approximation method for
       stochastic discrete optimization", SIAM Journal on Optimization 12(2), 2002.
    .. [2] J. R. Birge and F. Louveaux, "Introduction to Stochastic Programming", Springer, 2nd ed. 2011 (the
       wait-and-see bound and the value of the stochastic solution, which the tests check).
    """
    from fab2token.options import Number, check_options
    from fab2token.scenario import load_scenario
    from fab2token.scenario.draws import draw_scenario, draw_values, read_sweep_scenario

    check_options(
        "plan",
        {"draws": draws, "seed": seed},
        {"draws": Number(1, 100_000, whole=True), "seed": Number(0, 2**63 - 1, whole=True)},
    )
    t0 = time.perf_counter()
    sc, text = load_scenario(scenario)
    block = sc.targets.hall_block_mw if milp else None
    if milp and block is None:
        raise ModelError(
            "--milp with --draws needs targets.hall_block_mw (the shared build in halls of that many IT MW); "
            "contiguous training runs are a MILP of one scenario, not of a plan under uncertainty"
        )
    ss = read_sweep_scenario(text, str(scenario), sc)
    values = ss.inputs.sample(draws, seed)
    scs = [draw_scenario(ss, draw_values(values, k), k) for k in range(draws)]
    d = stack_plan_data([plan_data(x) for x in scs])  # a few look-ups and one climate per draw
    build_s = time.perf_counter() - t0
    saa = _evaluate(d, sc, objective, time_limit_s, block=block)
    det_plan = plan(sc, objective, milp=milp, time_limit_s=time_limit_s)  # the median scenario's own plan
    det: dict[str, Any] = {"status": det_plan.status}
    if det_plan.status in ("optimal", "feasible"):
        faced = _evaluate(d, sc, objective, time_limit_s, det_plan.series["it_mw_built"])  # held: no blocks
        det.update(
            median_scenario_cost_usd=det_plan.objective_usd,
            status_facing_draws=faced["status"],
            expected_cost_usd=faced.get("expected_cost_usd"),
            expected_shortfall=faced.get("expected_shortfall"),
            targets_met=faced.get("targets_met", []),
            build=_build_rows(faced["build_mw"]) if "build_mw" in faced else [],
        )
    return _result(saa, det, draws, seed, build_s)


def _regret(saa: dict[str, Any], det: dict[str, Any]) -> float | None:
    """The deterministic build's expected cost less the stochastic plan's, when both meet the targets equally."""
    if det.get("expected_cost_usd") is None or "expected_cost_usd" not in saa:
        return None
    if abs(float(det["expected_shortfall"]) - saa["expected_shortfall"]) > 1e-6 * max(1.0, saa["expected_shortfall"]):
        return None  # not comparable in cost: the two builds fall short by different amounts (both reported)
    return float(det["expected_cost_usd"]) - saa["expected_cost_usd"]


def _build_rows(build: xr.DataArray) -> list[dict[str, Any]]:
    """The first stage: IT MW built per site and month (where any is)."""
    b = build.transpose("site", "month")
    return [
        {"site": str(s), "month": str(mo), "it_mw": float(b.sel(site=s, month=mo))}
        for s in b["site"].values
        for mo in b["month"].values
        if float(b.sel(site=s, month=mo)) > 1e-6
    ]


def _result(saa: dict[str, Any], det: dict[str, Any], draws: int, seed: int, build_s: float) -> StochasticPlan:
    nan = math.nan
    by_draw = saa.get("cost_usd_by_draw", np.array([]))
    q = np.quantile(by_draw, [0.1, 0.5, 0.9]) if len(by_draw) else [nan] * 3
    return StochasticPlan(
        status=saa["status"],
        draws=draws,
        seed=seed,
        expected_cost_usd=saa.get("expected_cost_usd", nan),
        cost_usd_p10=float(q[0]),
        cost_usd_p50=float(q[1]),
        cost_usd_p90=float(q[2]),
        expected_shortfall=saa.get("expected_shortfall", nan),
        shortfall_unit=saa.get("shortfall_unit", ""),
        targets_met=saa.get("targets_met", []),
        build=_build_rows(saa["build_mw"]) if "build_mw" in saa else [],
        deterministic=det,
        regret_usd=_regret(saa, det),
        variables=saa["variables"],
        constraints=saa["constraints"],
        build_s=build_s,
        solve_s=saa["solve_s"],
        cost_usd_by_draw=[float(x) for x in by_draw],
        binding=saa.get("binding", []),
        series={"it_mw_built": saa["build_mw"].transpose("site", "month")} if "build_mw" in saa else {},
    )


def _targets_met(d: PlanData, sol: xr.Dataset) -> list[dict[str, Any]]:
    """Per target: the share of draws in which it is met (training runs; inference demand in every month)."""
    rows = []
    if "training_shortfall" in sol:
        short = sol["training_shortfall"]
        for run in d.runs:
            met = (short.sel(run=run) <= MET_TOL).values
            rows.append({"target": f"training {run}", "probability_met": float(np.mean(met))})
    if "inference_shortfall" in sol:
        met = (sol["inference_shortfall"] <= MET_TOL).all("month").values
        rows.append({"target": "inference demand (every month)", "probability_met": float(np.mean(met))})
    return rows
