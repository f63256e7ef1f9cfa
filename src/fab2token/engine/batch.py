"""The monthly engine's stages on a batch of draws at once: supply chain, placement, hourly energy and network as
whole-array work with a leading ``draw`` dimension.

:func:`simulate <fab2token.engine.simulate.simulate>` is this on a batch of one; a sweep runs it on a chunk of
draws. The draws are validated scenarios of one structure (the same horizon, sites and accelerator types: a
sweep's draws differ only in numbers). What stays per draw is what reads the scenario: resolving each draw's
inputs layer (:func:`~fab2token.supply.chain.inputs_from_scenario`, :func:`~fab2token.sites.inputs.site_inputs`,
:func:`~fab2token.deploy.fleet.fleet_inputs`, cheap look-ups), its cost terms and its workload schedule (a
training run's duration is a model evaluation per run). The hourly climate is computed once per distinct weather
(:func:`~fab2token.sites.draws.shared_climates`). Everything the months and hours multiply runs once for the batch:
the chain on stacked inputs (:func:`stack_supply`), the placement recursion (:func:`~fab2token.deploy.placement.
place_fleets`), the hourly engine with the draws' sites side by side
(:func:`~fab2token.sites.draws.hourly_energy_draws`) and the cluster sizes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fab2token.deploy import placement as _deploy
from fab2token.deploy.fleet import FleetInputs, fleet_inputs, whole_units
from fab2token.economics.bills import bill_terms
from fab2token.errors import ModelError
from fab2token.scenario.models import Scenario
from fab2token.scenario.timeline import month_axis
from fab2token.sites import network
from fab2token.sites import power as sites_power
from fab2token.sites.draws import hourly_energy_draws, shared_climates
from fab2token.sites.inputs import SiteInputs, site_inputs
from fab2token.supply import chain as supplychain
from fab2token.workloads import schedule as workloads

__all__ = ["Batch", "run_batch", "stack_supply"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Batch:
    """Every stage's output for a batch of draws: ``chain`` and ``fleet_stage`` arrays carry a leading ``draw``
    dimension; ``sites``, ``fleet``, ``hourly``, ``bills`` and ``workloads`` are one per draw. The results variables
    of every draw: :func:`fab2token.engine.variables.batch_variables`."""

    scenarios: list[Scenario]
    axis: NDArray[np.int64]
    chain: dict[str, Any]  # (draw, month)
    sites: list[SiteInputs]
    fleet: list[FleetInputs]
    placement: _deploy.Placement  # (draw, type, month, site) and (draw, type, month)
    fleet_stage: dict[str, Array]  # installed, it_power, new_installs (draw, month, site); backlog ... (draw, month)
    hourly: list[Any]
    bills: list[dict[str, Array]]
    max_cluster: Array  # (draw, month, site)
    largest: Array  # (draw, month)
    workloads: list[dict[str, Any]]

    @property
    def draws(self) -> int:
        return len(self.scenarios)

    def placement_of(self, k: int) -> _deploy.Placement:
        """Draw ``k``'s placement (no ``draw`` dimension)."""
        return _deploy.Placement(*(getattr(self.placement, f.name)[k] for f in dataclasses.fields(self.placement)))


def _same(values: Sequence[Any]) -> bool:
    first = values[0]
    if all(v is first for v in values):
        return True
    if isinstance(first, str | int) or first is None:
        return all(type(v) is type(first) and v == first for v in values)
    try:
        return all(np.array_equal(np.asarray(v), np.asarray(first), equal_nan=True) for v in values)
    except (TypeError, ValueError):
        return False


def stack_supply(inputs: Sequence[supplychain.SupplyInputs]) -> supplychain.SupplyInputs:
    """Several draws' chain inputs as one: a field the draws agree on is kept as it is, a varying number becomes
    ``(draw, 1)`` and a varying monthly array ``(draw, month)``, so that every field broadcasts against
    ``(draw, month)``.

    Raises
    ------
    ValueError
        The draws differ in a field that is not a number (the accelerator, the yield model, the whole months of
        the cycle) or in whether a constraint is given at all; such draws cannot share one chain.
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(supplychain.SupplyInputs):
        values = [getattr(inp, f.name) for inp in inputs]
        if _same(values):
            out[f.name] = values[0]
            continue
        if any(v is None or isinstance(v, str) for v in values) or f.name == "cycle_months":
            raise ValueError(f"draws differ in supply input {f.name}")
        arrays = [np.asarray(v, dtype=float) for v in values]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) or (1,)
        out[f.name] = np.stack([np.broadcast_to(a, shape) for a in arrays])
    return supplychain.SupplyInputs(**out)


def _chain(inputs: Sequence[supplychain.SupplyInputs], months: int) -> dict[str, Any]:
    """The chain of every draw, (draw, month) arrays: once on the stacked inputs, or draw by draw where the draws
    cannot share one chain (:func:`stack_supply`)."""
    n = len(inputs)
    try:
        stacked = stack_supply(inputs)
    except ValueError:  # rare: the draws differ in a choice, not a number
        parts = [supplychain.chain(inp) for inp in inputs]
    else:
        parts = [supplychain.chain(stacked)]
    out = {}
    for name in parts[0]:
        arrays = [np.asarray(p[name]) for p in parts]
        out[name] = (
            np.broadcast_to(arrays[0], (n, months)).copy()
            if len(parts) == 1
            else np.stack([np.broadcast_to(a, (months,)) for a in arrays])
        )
    out["accelerators_delivered"] = whole_units(out["accelerators_delivered"])  # whole accelerators
    return out


def run_batch(
    scs: Sequence[Scenario],
    supplies: Sequence[supplychain.SupplyInputs | None] | None = None,
    markets: Sequence[dict[str, Array] | None] | None = None,
) -> Batch:
    """The engine's stages on a batch of draws of one structure.

    Parameters
    ----------
    scs : sequence of Scenario
        Validated scenarios with the same horizon, sites and accelerator types.
    supplies : sequence of SupplyInputs or None, optional
        Per draw, the own chain's resolved inputs in place of the scenario's (a race's allocation).
    markets : sequence of dict or None, optional
        Per draw, market deliveries a month by accelerator name in place of the scenario's orders.

    Returns
    -------
    Batch
        Every stage's output, with its ``draw`` dimension or one per draw.

    Raises
    ------
    ModelError
        Draws of different structure, or what a single run would raise.
    """
    scs = list(scs)
    first = scs[0]
    axis = month_axis(first.horizon.start, first.horizon.months)
    names = [s.name for s in first.sites]
    for k, sc in enumerate(scs):  # the structure every batched array relies on
        if (sc.horizon.start, sc.horizon.months) != (first.horizon.start, first.horizon.months) or [
            s.name for s in sc.sites
        ] != names:
            raise ModelError(f"draw {k} has another horizon or other sites than draw 0: a batch shares one structure")
    supplies = supplies or [None] * len(scs)
    sup = [
        s if s is not None else supplychain.inputs_from_scenario(sc, axis) for sc, s in zip(scs, supplies, strict=True)
    ]
    chain = _chain(sup, axis.size)
    sis = [site_inputs(sc, axis, c) for sc, c in zip(scs, shared_climates(scs, axis), strict=True)]
    markets = markets or [None] * len(scs)
    fis = [
        fleet_inputs(sc, axis, chain["accelerators_delivered"][k], markets[k]) for k, sc in enumerate(scs)
    ]  # a few look-ups a draw
    if any(fi.names != fis[0].names for fi in fis):
        raise ModelError("the draws' fleets have other accelerator types: a batch shares one structure")
    own_capex = [fi.own_fab_capex_usd for fi in fis]
    if any(c is not None for c in own_capex):  # the fleet's further own designs build their own fabs
        extra = np.stack([np.zeros(axis.size) if c is None else c for c in own_capex])
        chain["fab_capex_usd"] = chain.get("fab_capex_usd", 0.0) + extra
    pl, stage = _fleet_stage(fis, sis)
    hourly = hourly_energy_draws(scs, sis, stage["it_power"])
    bills = [
        bill_terms(sc, sis[k], hourly[k], stage["new_installs"][k], fis[k].purchases_usd.sum(axis=0))
        for k, sc in enumerate(scs)
    ]
    max_cluster, largest = _clusters(scs, stage["installed"])
    wl = [
        workloads.schedule_workloads(
            sc, axis, pl.powered[k].sum(axis=2), fis[k].names, float(np.mean(sis[k].pue_design))
        )
        for k, sc in enumerate(scs)
    ]
    return Batch(scs, axis, chain, sis, fis, pl, stage, hourly, bills, max_cluster, largest, wl)


def _stack(fis: Sequence[Any], name: str) -> Array:
    return np.stack([np.asarray(getattr(fi, name), dtype=float) for fi in fis])


def _fleet_stage(fis: Sequence[FleetInputs], sis: Sequence[SiteInputs]) -> tuple[_deploy.Placement, dict[str, Any]]:
    """Every draw's deliveries placed into its sites' usable power; what waits, what is stranded, what binds."""
    kw = _stack(fis, "kw")
    caps = [fi.deploy_cap for fi in fis]
    cap = None
    if any(c is not None for c in caps):
        shape = next(c for c in caps if c is not None).shape
        cap = np.stack([np.full(shape, np.inf) if c is None else c for c in caps])
    capacity_kw = _stack(sis, "it_capacity_mw") * 1000.0
    delivered, life = _stack(fis, "delivered"), _stack(fis, "life_months")
    pl = _deploy.place_fleets(
        delivered,
        capacity_kw,
        kw,
        life,
        _stack(fis, "base"),
        _stack(fis, "base_retire"),
        np.stack([fi.placement_order for fi in fis]),
        cap,
    )
    waiting_by_type = pl.waiting + (pl.housed - pl.powered).sum(axis=3)  # (draw, type, month) paid, not powered
    backlog = waiting_by_type.sum(axis=1)
    tol = 1e-9 * np.maximum(np.cumsum(delivered.sum(axis=1), axis=-1), 1.0)
    supply_or_power = np.where(backlog > tol, _deploy.BINDING_POWER, _deploy.BINDING_SUPPLY)
    power = SimpleNamespace(
        energised=np.stack([si.power.energised for si in sis]), land_bound=np.stack([si.power.land_bound for si in sis])
    )
    hot = np.stack([si.climate.pue_p99 > si.pue_design[None, :] + 1e-12 for si in sis])
    binding = _deploy.classify_binding(supply_or_power, power, hot, _stack(sis, "grid_scheduled_mw"))
    if cap is not None:  # waiting while a site has room for one: the deployment schedule holds it back
        spare_kw = capacity_kw - np.einsum("dt,dtms->dms", kw, pl.housed)
        smallest = np.where(waiting_by_type > tol[:, None, :], kw[:, :, None], np.inf).min(axis=1)
        held = (spare_kw.max(axis=2) >= smallest) & (backlog > tol)
        binding = np.where(held, _deploy.BINDING_SCHEDULE, binding)
    monthly_life = np.where(np.isfinite(life), life, np.inf)
    book = np.nan_to_num(_stack(fis, "book_usd"))
    return pl, {
        "installed": pl.powered.sum(axis=1),  # (draw, month, site)
        "it_power": np.einsum("dt,dtms->dms", kw, pl.powered) / 1000.0,
        "new_installs": pl.placed.sum(axis=1),
        "backlog": backlog,
        "stranded_usd": (waiting_by_type * book[:, :, None]).sum(axis=1),
        "binding": binding,
        "depreciation_usd": pl.housed.sum(axis=3) * (book / monthly_life)[:, :, None],
    }


def _clusters(scs: Sequence[Scenario], installed: Array) -> tuple[Array, Array]:
    """Each site's largest cluster (draw, month, site) and the largest anywhere (draw, month), campuses included."""

    def per_site(name: str) -> Array:
        return np.array([[getattr(s, name) for s in sc.sites] for sc in scs], dtype=float)[:, None, :]

    endpoints = sites_power.fat_tree_endpoints(per_site("switch_radix"), per_site("fabric_tiers"))
    max_cluster = network.site_max_cluster(installed, endpoints, per_site("scale_up_domain"))
    largest = max_cluster.max(axis=2)
    index = {s.name: j for j, s in enumerate(scs[0].sites)}
    for c, campus in enumerate(scs[0].campuses):  # a few campuses
        members = max_cluster[:, :, [index[n] for n in campus.sites]]
        gbps = [sc.campuses[c].inter_site_gbps for sc in scs]
        if all(g == gbps[0] for g in gbps):
            spans = network.campus_max_cluster(members, gbps[0])
        else:  # a drawn link speed: campus by campus per draw (a few numbers each)
            spans = np.stack([network.campus_max_cluster(members[k], g) for k, g in enumerate(gbps)])
        largest = np.maximum(largest, spans)
    return max_cluster, largest
