"""The plan as a scenario for ``fab2token run`` (``fab2token plan --scenario-out``): the round trip."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from fab2token import catalog
from fab2token.deploy.placement import accelerator_all_in_it_kw
from fab2token.plan.solve import PlanResult
from fab2token.scenario.models import Scenario, month_label
from fab2token.scenario.timeline import month_axis
from fab2token.sites.inputs import site_inputs
from fab2token.sites.power import usable_power_frac
from fab2token.workloads.schedule import target_mfu

__all__ = ["plan_to_scenario_data"]


def plan_to_scenario_data(sc: Scenario, res: PlanResult) -> dict[str, Any]:
    """The scenario with the plan's build-out as its schedules, for ``fab2token run`` (the round trip).

    Wafer starts become the planned wafers (started ``cycle_time_months`` earlier, rounded up) and each site's grid
    power the planned cumulative IT MW x PUE. Training targets become workload runs sized at the plan's peak
    allocation on the type it used most, starting in its first month (the LP treats training as fungible
    accelerator-months, the simulator runs fixed-size, contiguous jobs). Accelerators bought from
    ``accelerator_options`` become ``fleet:`` market entries ordered as the plan delivers them (whole units, no lead
    time); every type's installed count per site and month becomes its ``deployment`` schedule, so the simulator
    installs what the plan installs, where and when it does, rather than every delivered unit that fits.

    The simulator counts whole accelerators and whole serving replicas where the LP counts fractions, so each type
    gets a margin of one replica per site that houses it: delivered in its first month (on the options' orders, or
    as a market order for the own chain's type at its price), allowed by the deployment and powered (one more
    replica and the rounding up, at the month's p99 PUE). A test checks that the simulation then meets every target
    the plan meets.
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
        by_type = res.series["training"].fillna(0.0).sum("site")
        u = by_type.sum("accelerator")
        for t in sc.targets.training:
            alloc = u.sel(run=t.name).values
            if alloc.max() <= 0:
                continue
            first = int(np.argmax(alloc > 1e-6))
            main_type = str(by_type.sel(run=t.name).sum("month").idxmax("accelerator").values)
            runs.append(
                {
                    "name": t.name,
                    "model": t.model,
                    "tokens": t.tokens or 1.0,
                    "accelerators": int(math.ceil(alloc.max() - 1e-6)),
                    "start": month_label(int(axis[first])),
                    "mfu": target_mfu(sc, t, main_type),  # the plan's own (searched: on the type it used)
                    "accelerator": main_type,
                }
            )
        data.setdefault("workloads", {})["training"] = runs
    if sc.targets.inference_demand and sc.workloads.inference is not None:
        data["workloads"]["inference"]["demand"] = [d.model_dump(by_alias=True) for d in sc.targets.inference_demand]
    data.pop("targets", None)
    replica = (sc.workloads.inference.tp or 8) if sc.workloads.inference is not None else 1
    n = res.series["installed"].fillna(0.0).transpose("accelerator", "site", "month")
    used = n.values > 1e-6  # (type, site, month)
    fleet = _market_fleet(sc, res, axis, data.get("fleet", []))
    data["fleet"] = _deployments(sc, n, axis, _margin_orders(sc, fleet, used, axis, replica, n), replica)
    cap = res.series["it_mw_built"].cumsum("month")
    # the simulator counts whole accelerators and whole serving replicas: each site gets power for one more replica of
    # every type it houses (the deployment's margin)
    acc = sc.catalog.get("accelerators")
    kw = np.array(
        [accelerator_all_in_it_kw(catalog.lookup("accelerators", str(a), acc)) for a in n["accelerator"].values]
    )
    margin_kw = (replica + 1) * (used.any(axis=2) * kw[:, None]).sum(axis=0)  # (site,): rounding up, and the replica
    si = site_inputs(sc, axis)
    usable = usable_power_frac(sc.sites)
    for j, s in enumerate(data["sites"]):
        built = cap.sel(site=s["name"]).values  # IT MW at the design PUE; the margin is usable IT at the p99 PUE
        mw = np.where(built > 1e-9, built * si.pue_design[j] + margin_kw[j] / 1000.0 * si.climate.pue_p99[:, j], 0.0)
        # the planned facility power arrives as scheduled grid power beside the site's own on-site generation (no
        # queue: the plan already waited for it)
        grid = np.maximum(mw / usable[j] - si.power.onsite_mw[:, j], 0.0)  # connected power of which the usable share
        s["grid_power"] = [
            {"from": month_label(int(a)), "mw": float(v) + 1e-6} for a, v in zip(axis, grid, strict=True)
        ]
        s["interconnection_queue_months"] = 0
        if sc.sites[j].weather_csv is not None:  # the written scenario may live elsewhere: the file as resolved
            s["weather_csv"] = sc.sites[j].weather_csv_path()
    return data


def _market_fleet(sc: Scenario, res: PlanResult, axis: np.ndarray, fleet: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The scenario's fleet entries with each bought option's market orders set to the plan's deliveries."""
    acc = sc.catalog.get("accelerators")
    main = sc.accelerator_spec()["name"]
    out = [dict(f) for f in fleet]
    for opt in sc.targets.accelerator_options:
        name = catalog.lookup("accelerators", opt.accelerator, acc)["name"]
        if name == main:
            continue
        got = res.series["delivered"].sel(accelerator=name).values
        whole = np.diff(np.ceil(np.cumsum(got) - 1e-6), prepend=0.0)  # whole units, fractions carried
        if whole.sum() <= 0:
            continue
        market = {
            "price_usd": opt.price_usd,
            "lead_time_months": 0,
            "orders": [{"from": month_label(int(a)), "per_month": float(v)} for a, v in zip(axis, whole, strict=True)],
        }
        entry = next((f for f in out if catalog.lookup("accelerators", f["accelerator"], acc)["name"] == name), None)
        if entry is None:
            out.append({"accelerator": name, "market": market})
        else:
            entry["market"] = market
    return out


def _margin_orders(
    sc: Scenario, fleet: list[dict[str, Any]], used: np.ndarray, axis: np.ndarray, replica: int, n: Any
) -> list[dict[str, Any]]:
    """One replica more of a type for each site that houses it, delivered in the month the plan first installs it:
    the bought options' market orders carry them, the own chain's type gets them as a market order at its price
    (unless the scenario already orders it on the market). Types the fleet brings (installed base, market orders)
    get none: the plan's use of them stays within what the fleet has."""
    acc = sc.catalog.get("accelerators")
    names = [catalog.lookup("accelerators", f["accelerator"], acc)["name"] for f in fleet]
    options = {catalog.lookup("accelerators", o.accelerator, acc)["name"] for o in sc.targets.accelerator_options}
    main = sc.accelerator_spec()["name"]
    out = [dict(f) for f in fleet]
    for k, name in enumerate(str(a) for a in n["accelerator"].values):
        sites = int(used[k].any(axis=1).sum())
        if sites == 0 or (name not in options and name != main):
            continue
        first = int(np.argmax(used[k].any(axis=0)))
        units = float(replica * sites)
        if name in names and "market" in out[names.index(name)] and name != main:
            orders = out[names.index(name)]["market"]["orders"]
            orders[first] = {**orders[first], "per_month": orders[first]["per_month"] + units}
        elif name == main and not (name in names and "market" in out[names.index(name)]):
            market = {
                "price_usd": sc.economics.accelerator_price_usd,
                "lead_time_months": 0,
                "orders": [{"from": month_label(int(axis[first])), "per_month": units}]
                + ([{"from": month_label(int(axis[first + 1])), "per_month": 0.0}] if first + 1 < axis.size else []),
            }
            if name in names:
                out[names.index(name)]["market"] = market
            else:
                out.append({"accelerator": name, "market": market})
                names.append(name)
    return out


def _deployments(
    sc: Scenario, n: Any, axis: np.ndarray, fleet: list[dict[str, Any]], replica: int
) -> list[dict[str, Any]]:
    """Each type's installed count per site and month in the plan, whole units rounded up plus one replica of margin
    where the plan uses the type, as its fleet entry's deployment schedule: one step per site at the first month and
    wherever the count changes."""
    acc = sc.catalog.get("accelerators")
    whole = np.ceil(n.values - 1e-6).clip(min=0) + replica * (n.values > 1e-6)
    changes = np.ones_like(whole, dtype=bool)
    changes[:, :, 1:] = whole[:, :, 1:] != whole[:, :, :-1]
    out = [dict(f) for f in fleet]
    names = [catalog.lookup("accelerators", f["accelerator"], acc)["name"] for f in out]
    sites = [str(x) for x in n["site"].values]
    for k, name in enumerate(str(a) for a in n["accelerator"].values):
        listed = name in names
        if not listed and whole[k].sum() <= 0:
            continue
        j, t = np.nonzero(changes[k])
        steps = [
            {"site": sites[a], "from": month_label(int(axis[b])), "count": int(whole[k, a, b])}
            for a, b in zip(j, t, strict=True)
        ]
        if listed:
            out[names.index(name)]["deployment"] = steps
        else:
            out.append({"accelerator": name, "deployment": steps})
            names.append(name)
    return out
