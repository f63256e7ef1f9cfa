"""The chip factory month by month: fab -> dies -> packaging -> HBM -> accelerators, with the limiting step.

Dies and HBM stacks are storable (a die bank and a stack inventory carry over); packaging capacity is perishable
(an idle month is lost). With ``C`` the cumulative packaging capacity and ``M`` the cumulative packages the stored
inputs allow, cumulative packages assembled follow ``A(t) = min(A(t-1) + p(t), M(t))``, whose closed form
``A = C + min(0, cummin(M - C))`` needs no loop over months. Every array may carry leading dimensions (Monte
Carlo draws); months are the last axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fab2token import catalog
from fab2token.errors import ModelError
from fab2token.scenario.models import Scenario, Supply, month_number
from fab2token.scenario.timeline import step_schedule
from fab2token.supply import dies as supply

__all__ = [
    "LIMIT_WAFERS",
    "LIMIT_PACKAGING",
    "LIMIT_HBM",
    "fab_ramp_fraction",
    "assemble",
    "chain",
    "SupplyInputs",
    "inputs_from_scenario",
    "inputs_from_supply",
]

LIMIT_WAFERS = "wafers"
LIMIT_PACKAGING = "packaging"
LIMIT_HBM = "hbm"

Array = NDArray[np.float64]


def fab_ramp_fraction(
    months_since_construction_start: ArrayLike, build_months: ArrayLike, ramp_months: ArrayLike
) -> Array:
    """Fraction of fab capacity available: 0 while building (construction + tool install), then a linear ramp.

    Month ``build_months`` after construction start produces ``1 / ramp_months`` of capacity, reaching full
    capacity ``ramp_months`` months after the build ends (immediately when ``ramp_months`` is 0).
    """
    t = np.asarray(months_since_construction_start, dtype=float) - np.asarray(build_months, dtype=float)
    r = np.asarray(ramp_months, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(r > 0, (t + 1) / r, 1.0)
    return np.where(t < 0, 0.0, np.clip(frac, 0.0, 1.0))


def assemble(
    die_units: Array, packaging_units: Array | None, hbm_units: Array | None, rtol: float = 1e-9
) -> tuple[Array, NDArray[np.str_]]:
    """Packages assembled per month and the step that limited each month.

    Parameters
    ----------
    die_units : array (..., month)
        Accelerators' worth of good dies arriving each month (storable).
    packaging_units : array (..., month) or None
        Packages the packaging line can assemble each month (perishable); None = unconstrained.
    hbm_units : array (..., month) or None
        Accelerators' worth of good HBM stacks arriving each month (storable); None = unconstrained.

    Returns
    -------
    assembled : array (..., month)
    limiting : array of str (..., month)
        ``"packaging"`` where the line ran full, else ``"wafers"`` or ``"hbm"``, whichever stored input ran out.
    """
    dies_cum = np.cumsum(die_units, axis=-1)
    hbm_cum = np.cumsum(hbm_units, axis=-1) if hbm_units is not None else np.full_like(dies_cum, np.inf)
    stored = np.minimum(dies_cum, hbm_cum)
    if packaging_units is None:
        assembled_cum = stored
        line_full = np.zeros(stored.shape, dtype=bool)
    else:
        cap_cum = np.cumsum(packaging_units, axis=-1)
        assembled_cum = cap_cum + np.minimum(0.0, np.minimum.accumulate(stored - cap_cum, axis=-1))
        assembled_so_far = np.diff(assembled_cum, axis=-1, prepend=0.0)
        line_full = assembled_so_far >= packaging_units * (1 - rtol) - 1e-12
        line_full &= ~(np.isclose(assembled_cum, stored, rtol=rtol) & (dies_cum <= hbm_cum) & (packaging_units <= 0))
    assembled = np.diff(assembled_cum, axis=-1, prepend=0.0)
    limiting = np.where(line_full, LIMIT_PACKAGING, np.where(dies_cum <= hbm_cum, LIMIT_WAFERS, LIMIT_HBM))
    return assembled, limiting


@dataclass(frozen=True)
class SupplyInputs:
    """Resolved inputs of the chain (catalog defaults applied). Every number broadcasts against ``(..., month)``:
    over a batch of draws a scalar is ``(draw, 1)`` and a monthly array ``(draw, month)``
    (:func:`fab2token.engine.batch.stack_supply`)."""

    accelerator: str
    die_area_mm2: Any
    compute_dies: float
    wafer_starts: Array  # (..., month), already shifted to the month the wafers come out
    d0_per_cm2: Any  # scalar, or (..., month) with the learning curve
    yield_model: str
    clustering_alpha: Any = 3.0
    critical_layers: Any = 1.0
    die_aspect_ratio: Any = 1.0
    wafer_diameter_mm: Any = 300.0
    edge_exclusion_mm: Any = 3.0
    scribe_mm: Any = 0.1
    kgd_test_yield_frac: Any = 1.0
    partial_good_frac: Any = 0.0
    wafer_price_usd: Any = math.nan
    packaging_wafers: Array | None = None
    interposer_area_mm2: Any = math.nan
    interposer_aspect_ratio: Any = 1.0
    packaging_wafer_diameter_mm: Any = 300.0
    packaging_edge_exclusion_mm: Any = 3.0
    packaging_scribe_mm: Any = 0.1
    packaging_yield_frac: Any = 1.0
    packaging_cost_usd_per_wafer: Any = math.nan
    hbm_stacks: Array | None = None
    stacks_per_accelerator: Any = math.nan
    stack_yield_frac: Any = 1.0
    price_usd_per_stack: Any = math.nan
    fab_capex_usd: Array | None = None
    cycle_months: int = 0  # whole months from wafer start to wafer out (wafer_starts is already shifted by it)


def _packaging_units(inp: SupplyInputs) -> tuple[Array | None, Any]:
    """Accelerators the packaging capacity can assemble per month (None: not a constraint), and interposers per
    packaging wafer."""
    if inp.packaging_wafers is None:
        return None, math.nan
    if np.any(np.isnan(inp.interposer_area_mm2)):
        raise ModelError(
            f"{inp.accelerator}: packaging capacity is given but the interposer area is not known; set "
            "supply.packaging.interposer_area_mm2 (or catalog.accelerators.<name>.interposer_area_mm2)"
        )
    iw, ih = supply.die_dimensions_mm(inp.interposer_area_mm2, inp.interposer_aspect_ratio)
    per_wafer = np.asarray(
        supply.gross_dies_per_wafer(
            iw, ih, inp.packaging_wafer_diameter_mm, inp.packaging_edge_exclusion_mm, inp.packaging_scribe_mm
        ),
        dtype=float,
    )
    units = np.asarray(inp.packaging_wafers, dtype=float) * (per_wafer if np.ndim(per_wafer) else float(per_wafer))
    return units, per_wafer


def _hbm_units(inp: SupplyInputs) -> Array | None:
    """Accelerators the HBM supply can equip per month (None: not a constraint)."""
    if inp.hbm_stacks is None:
        return None
    if np.any(np.isnan(inp.stacks_per_accelerator)):
        raise ModelError(
            f"{inp.accelerator}: HBM supply is given but stacks per accelerator is not known; "
            "set supply.hbm.stacks_per_accelerator"
        )
    return np.asarray(inp.hbm_stacks, dtype=float) * inp.stack_yield_frac / inp.stacks_per_accelerator


def chain(inp: SupplyInputs) -> dict[str, Array]:
    """Run the supply chain, every input broadcast over leading dimensions (draws, players) and months.

    Parameters
    ----------
    inp : SupplyInputs
        The chain's resolved inputs (:func:`inputs_from_supply`): die, wafers, yield model and ramp, packaging, HBM.

    Returns
    -------
    dict of str to numpy.ndarray
        Arrays over (..., month) keyed by name: gross and good dies, each step's units, the binding step, cost per
        good accelerator (docs/stages/engine.md, "Supply").

    Raises
    ------
    ModelError
        Packaging capacity without an interposer area, or HBM supply without stacks per accelerator.

    References
    ----------
    .. [1] B. T. Murphy, "Cost-size optima of monolithic integrated circuits", Proceedings of the IEEE 52(12), 1964.
    .. [2] R. B. Seeds, "Yield, economic, and logistic models for complex digital arrays", IEEE International
       Convention Record, 1967.
    .. [3] C. H. Stapper, "Defect density distribution for LSI yield calculations", IEEE Transactions on Electron
       Devices 20(7), 1973 (the negative-binomial yield).
    .. [4] D. K. de Vries, "Investigation of gross die per wafer formulas", IEEE Transactions on Semiconductor
       Manufacturing 18(1), 2005.
    """
    w, h = supply.die_dimensions_mm(inp.die_area_mm2, inp.die_aspect_ratio)
    gross = supply.gross_dies_per_wafer(w, h, inp.wafer_diameter_mm, inp.edge_exclusion_mm, inp.scribe_mm)
    gross = np.asarray(gross, dtype=float) if np.ndim(gross) else float(gross)  # a draw's scalars are (..., 1)
    y = supply.die_yield(inp.die_area_mm2, inp.d0_per_cm2, inp.yield_model, inp.clustering_alpha, inp.critical_layers)
    starts = np.asarray(inp.wafer_starts, dtype=float)
    good_per_wafer = gross * y * inp.kgd_test_yield_frac
    good_dies = starts * good_per_wafer
    lower_sku = starts * gross * (1 - y) * inp.partial_good_frac
    die_units = good_dies / inp.compute_dies

    pkg_units, units_per_pkg_wafer = _packaging_units(inp)
    hbm_units = _hbm_units(inp)

    if pkg_units is not None:
        shape = np.broadcast_shapes(
            die_units.shape, pkg_units.shape, *(() if hbm_units is None else (hbm_units.shape,))
        )
    else:
        shape = np.broadcast_shapes(die_units.shape, *(() if hbm_units is None else (hbm_units.shape,)))
    die_b = np.broadcast_to(die_units, shape)
    assembled, limiting = assemble(
        die_b,
        None if pkg_units is None else np.broadcast_to(pkg_units, shape),
        None if hbm_units is None else np.broadcast_to(hbm_units, shape),
    )
    accelerators = assembled * inp.packaging_yield_frac

    py = inp.packaging_yield_frac
    with np.errstate(divide="ignore", invalid="ignore"):
        wafer_cost = inp.wafer_price_usd * inp.compute_dies / (gross * y * inp.kgd_test_yield_frac) / py
        pkg_cost = inp.packaging_cost_usd_per_wafer / units_per_pkg_wafer / py
        hbm_cost = inp.price_usd_per_stack * inp.stacks_per_accelerator / inp.stack_yield_frac / py
    ones = np.ones(shape)
    out: dict[str, Any] = {
        "wafers_out": np.broadcast_to(starts, shape),
        "gross_dies_per_wafer": gross * ones,
        "d0_per_cm2": np.asarray(inp.d0_per_cm2) * ones,
        "die_yield": y * ones,
        "good_dies": good_dies * ones,
        "lower_sku_dies": lower_sku * ones,
        "units_from_wafers": die_b,
        "units_from_packaging": (pkg_units * ones) if pkg_units is not None else np.full(shape, np.inf),
        "units_from_hbm": (hbm_units * ones) if hbm_units is not None else np.full(shape, np.inf),
        "packages_assembled": assembled,
        "accelerators_delivered": accelerators,
        "limiting_step": limiting,
        "cost_wafer_usd_per_accelerator": wafer_cost * ones,
        "cost_packaging_usd_per_accelerator": pkg_cost * ones,
        "cost_hbm_usd_per_accelerator": hbm_cost * ones,
        "die_inventory": np.cumsum(die_b, axis=-1) - np.cumsum(assembled, axis=-1),
    }
    # unknown packaging or HBM prices are left out of the total (their components stay NaN); an unknown
    # wafer price makes the total unknown
    out["cost_usd_per_accelerator"] = (
        out["cost_wafer_usd_per_accelerator"]
        + np.nan_to_num(out["cost_packaging_usd_per_accelerator"], nan=0.0)
        + np.nan_to_num(out["cost_hbm_usd_per_accelerator"], nan=0.0)
    )
    if inp.fab_capex_usd is not None:
        out["fab_capex_usd"] = np.asarray(inp.fab_capex_usd) * ones
    return out


def _known(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class FablineSupply:
    """What a simulated fab line gives the supply chain for one order stream: wafers out a month at capacity, the
    mean cycle time in whole months, and (when the run recorded it) ``lag_share``: the share of wafers coming out
    ``k`` whole months after their start, ``k = 0, 1, ...`` (summing to 1). With it, a month's wafer outs are the
    starts of the months before it weighted by these shares; without it, every wafer comes out ``cycle_months``
    after its start."""

    capacity_wafers_per_month: float
    cycle_months: int
    lag_share: tuple[float, ...] | None = None


def fabline_supply(result_json: str, order: str) -> FablineSupply:
    """:class:`FablineSupply` of one order stream of a ``fab2token fabline --json`` output file."""
    from fab2token.scenario.files import FileProblem, read_fabline_result

    try:
        return fabline_supply_from(*read_fabline_result(result_json, order, with_share=True))
    except FileProblem as exc:
        raise ModelError(f"supply.fab.fabline_result {result_json!r}: order {order!r}: {exc}") from None


def fabline_supply_from(
    ct_days: float, lots: float, days: float, share: Sequence[float] | None = None
) -> FablineSupply:
    """:class:`FablineSupply` of an order stream that completed ``lots`` lots of 25 wafers (as in SMT2020) in
    ``days`` days at a mean cycle time of ``ct_days``, its lots' cycle times spread over whole months by
    ``share``."""
    cycle, capacity = fabline_cycle_and_capacity(ct_days, lots, days)
    return FablineSupply(capacity, cycle, None if share is None else tuple(float(x) for x in share))


def fabline_cycle_and_capacity(ct_days: float, lots: float, days: float) -> tuple[int, float]:
    """Whole months from wafer start to wafer out, and wafers out per month, of an order stream that completed
    ``lots`` lots of 25 wafers (as in SMT2020) in ``days`` days at a mean cycle time of ``ct_days``."""
    return int(round(ct_days / DAYS_PER_MONTH)), lots * 25.0 / days * DAYS_PER_MONTH


def inputs_from_scenario(sc: Scenario, axis: NDArray[np.int64], fabline: FablineSupply | None = None) -> SupplyInputs:
    """Resolve the scenario's supply section against the catalog for the months of ``axis``; ``fabline``: a fab
    line run's supply (:meth:`fab2token.supply.fabline.FablineResult.supply`) in place of the scenario's own."""
    return inputs_from_supply(sc.supply, axis, sc.horizon.start, sc.catalog, fabline)


def inputs_from_supply(
    sup: Supply,
    axis: NDArray[np.int64],
    start: str,
    overrides: dict[str, Any] | None = None,
    fabline: FablineSupply | None = None,
) -> SupplyInputs:
    """Resolve a validated ``supply`` section against the catalog (with overrides) for the months of ``axis``;
    ``fabline`` as :func:`inputs_from_scenario`."""
    overrides = overrides or {}
    spec = catalog.lookup("accelerators", sup.accelerator, overrides.get("accelerators"))
    if not spec["process_node"]:
        raise ModelError(
            f"accelerator {spec['name']}: its process node is not published; set "
            f"catalog.accelerators.{spec['name']}.process_node (one of the process_nodes table)"
        )
    node = catalog.lookup("process_nodes", spec["process_node"], overrides.get("process_nodes"))
    fab, pkg, hbm = sup.fab, sup.packaging, sup.hbm
    area = spec["compute_die_area_mm2"]
    if not _known(area):
        raise ModelError(
            f"accelerator {spec['name']}: compute_die_area_mm2 is not published in the catalog; supply it under "
            f"catalog.accelerators.{spec['name']}.compute_die_area_mm2 to model its wafers"
        )
    supply.check_reticle(area, node["reticle_limit_mm2"], spec["name"])
    fl = fabline if fabline is not None else _scenario_fabline(fab)
    cycle_months = fab.cycle_time_months if fl is None else fl.cycle_months
    start_axis = axis - cycle_months  # month each delivered wafer was started (the mean lag under a spread)
    starts, fab_capex = _wafer_outs(fab, axis, fl)

    d0 = _d0_by_start_month(fab, node, start_axis, start)

    pkg_wafers, stacks = _packaging_and_hbm(pkg, hbm, axis)
    wafer_price = fab.wafer_price_usd if fab.wafer_price_usd is not None else node["wafer_price_usd"]
    return SupplyInputs(
        accelerator=spec["name"],
        die_area_mm2=area,
        compute_dies=spec["compute_dies"] if _known(spec["compute_dies"]) else 1.0,
        wafer_starts=starts,
        d0_per_cm2=d0,
        yield_model=fab.yield_model,
        clustering_alpha=fab.clustering_alpha,
        critical_layers=fab.critical_layers,
        die_aspect_ratio=fab.die_aspect_ratio,
        wafer_diameter_mm=fab.wafer_diameter_mm,
        edge_exclusion_mm=fab.edge_exclusion_mm,
        scribe_mm=fab.scribe_mm,
        kgd_test_yield_frac=fab.kgd_test_yield_frac,
        partial_good_frac=fab.partial_good_frac,
        wafer_price_usd=wafer_price if _known(wafer_price) else math.nan,
        packaging_wafers=pkg_wafers,
        interposer_area_mm2=(
            pkg.interposer_area_mm2
            if pkg.interposer_area_mm2 is not None
            else spec.get("interposer_area_mm2", math.nan)
        ),
        interposer_aspect_ratio=pkg.interposer_aspect_ratio,
        packaging_wafer_diameter_mm=pkg.wafer_diameter_mm,
        packaging_edge_exclusion_mm=pkg.edge_exclusion_mm,
        packaging_scribe_mm=pkg.scribe_mm,
        packaging_yield_frac=pkg.yield_frac,
        packaging_cost_usd_per_wafer=pkg.cost_usd_per_wafer if pkg.cost_usd_per_wafer is not None else math.nan,
        hbm_stacks=stacks,
        stacks_per_accelerator=(
            hbm.stacks_per_accelerator if hbm.stacks_per_accelerator is not None else spec["hbm_stacks"]
        ),
        stack_yield_frac=hbm.stack_yield_frac,
        price_usd_per_stack=hbm.price_usd_per_stack if hbm.price_usd_per_stack is not None else math.nan,
        fab_capex_usd=fab_capex,
        cycle_months=int(cycle_months),
    )


def _scenario_fabline(fab: Any) -> FablineSupply | None:
    """The scenario's own fab line result: as read (and checked) when the scenario was loaded, or from its file for
    a Fab built directly."""
    if fab.fabline_figures() is not None:
        return fabline_supply_from(*fab.fabline_figures(), fab.fabline_share())
    if fab.fabline_result is not None:
        return fabline_supply(fab.fabline_result_path() or "", fab.fabline_order or "")
    return None


def _wafer_outs(fab: Any, axis: NDArray[np.int64], fl: FablineSupply | None) -> tuple[Array, Array | None]:
    """Wafers out each month of ``axis`` and the fab's capex: the starts ``cycle_months`` before, or, under a fab
    line's spread of cycle times, the starts of each earlier month weighted by its share (one array over lags)."""
    if fl is None:
        return _wafer_starts(fab, axis, axis - fab.cycle_time_months, None)
    if fl.lag_share is None:
        return _wafer_starts(fab, axis, axis - fl.cycle_months, fl.capacity_wafers_per_month)
    share = np.asarray(fl.lag_share, dtype=float)
    lags = np.flatnonzero(share > 0)
    starts, fab_capex = _wafer_starts(fab, axis, axis[None, :] - lags[:, None], fl.capacity_wafers_per_month)
    return share[lags] @ starts, fab_capex


def _wafer_starts(
    fab: Any, axis: NDArray[np.int64], start_axis: NDArray[np.int64], fabline_capacity: float | None
) -> tuple[Array, Array | None]:
    """Wafer starts behind each month's output: the schedule, capped by a simulated fab line's capacity and by a fab
    built and ramped to capacity; and that fab's capex by month (None without one)."""
    starts = None
    if fab.wafer_starts is not None:
        starts = step_schedule(
            [s.from_ for s in fab.wafer_starts], [s.wafers_per_month for s in fab.wafer_starts], start_axis
        )
    fab_capex = None
    if fabline_capacity is not None:
        starts = np.full(start_axis.shape, fabline_capacity) if starts is None else np.minimum(starts, fabline_capacity)
    if fab.capacity_wafers_per_month is not None:
        build = fab.construction_months + fab.tool_install_months
        if fab.construction_start is None:
            frac = np.ones(start_axis.shape)
        else:
            frac = fab_ramp_fraction(start_axis - month_number(fab.construction_start), build, fab.ramp_months)
            if fab.capex_usd_per_kwspm is not None:
                since = axis - month_number(fab.construction_start)
                spend_months = max(build, 1)
                fab_capex = np.where(
                    (since >= 0) & (since < spend_months),
                    fab.capex_usd_per_kwspm * fab.capacity_wafers_per_month / 1000 / spend_months,
                    0.0,
                )
        cap = fab.capacity_wafers_per_month * frac
        starts = cap if starts is None else np.minimum(starts, cap)
    assert starts is not None
    return starts, fab_capex


def _d0_by_start_month(fab: Any, node: dict[str, Any], start_axis: NDArray[np.int64], start: str) -> Any:
    """Defect density when each month's wafers started: mature, or on the learning curve from the node's launch."""
    d0_mature = fab.d0_per_cm2 if fab.d0_per_cm2 is not None else node["d0_per_cm2"]
    if not _known(d0_mature):
        raise ModelError(f"process node {node['node']}: d0_per_cm2 is not published; set supply.fab.d0_per_cm2")
    d0_launch = fab.d0_launch_per_cm2 if fab.d0_launch_per_cm2 is not None else node["d0_launch_per_cm2"]
    ramp = fab.d0_ramp_months if fab.d0_ramp_months is not None else node["d0_ramp_months"]
    d0: Any = d0_mature
    if _known(d0_launch) and _known(ramp):
        launch = fab.node_launch or fab.construction_start or start
        launch_n = month_number(launch) + (
            fab.construction_months + fab.tool_install_months
            if fab.node_launch is None and fab.construction_start
            else 0
        )
        d0 = supply.d0_learning_curve(start_axis - launch_n, d0_mature, d0_launch, ramp)
    return d0


def _packaging_and_hbm(pkg: Any, hbm: Any, axis: NDArray[np.int64]) -> tuple[Array | None, Array | None]:
    """Packaging wafers and HBM stacks per month (None: not a constraint)."""
    pkg_wafers = None
    if pkg.capacity_wafers_per_month is not None:
        pkg_wafers = step_schedule(
            [s.from_ for s in pkg.capacity_wafers_per_month],
            [s.wafers_per_month for s in pkg.capacity_wafers_per_month],
            axis,
        )
    stacks = None
    if hbm.supply_stacks_per_month is not None:
        stacks = step_schedule(
            [s.from_ for s in hbm.supply_stacks_per_month],
            [s.stacks_per_month for s in hbm.supply_stacks_per_month],
            axis,
        )
    elif hbm.world_supply_stacks_per_month is not None:
        stacks = step_schedule(
            [s.from_ for s in hbm.world_supply_stacks_per_month],
            [s.stacks_per_month for s in hbm.world_supply_stacks_per_month],
            axis,
        ) * (hbm.share_frac or 0.0)
    return pkg_wafers, stacks
