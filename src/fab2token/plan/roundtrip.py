"""The plan as a scenario for ``fab2token run`` (``fab2token plan --scenario-out``): the round trip."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fab2token.deploy.placement import accelerator_all_in_it_kw
from fab2token.plan.solve import PlanResult
from fab2token.scenario.models import Scenario, month_label
from fab2token.scenario.timeline import month_axis
from fab2token.sites.inputs import site_inputs

__all__ = ["plan_to_scenario_data"]


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
    si = site_inputs(sc, axis)
    for j, s in enumerate(data["sites"]):
        built = cap.sel(site=s["name"]).values  # IT MW at the design PUE; the margin is usable IT at the p99 PUE
        mw = np.where(built > 1e-9, built * si.pue_design[j] + replica * kw / 1000.0 * si.climate.pue_p99[:, j], 0.0)
        # the planned facility power arrives as scheduled grid power beside the site's own on-site generation (no
        # queue: the plan already waited for it)
        grid = np.maximum(mw - si.power.onsite_mw[:, j], 0.0)
        s["grid_power"] = [
            {"from": month_label(int(a)), "mw": float(v) + 1e-6} for a, v in zip(axis, grid, strict=True)
        ]
        s["interconnection_queue_months"] = 0
    return data
