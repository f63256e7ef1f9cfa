"""The scenario file's pydantic models: one class per section, field types from :mod:`.fields` (the sites section in
:mod:`.site` and the workloads and targets in :mod:`.workloads`, re-exported here; the fleet in :mod:`.fleet`). Each
field's description is the docstring under it (the generated scenario reference reads them).

A scenario is a YAML file. Quantities may carry units (``"150 MW"``, ``"0.09 USD/kWh"``); plain numbers take
the unit in the field name. Cross-checks live in :mod:`.checks`, reading and parsing in :mod:`.load`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from fab2token import catalog
from fab2token.scenario.fields import (
    MAX_WAFER_DIAMETER_MM,
    USD,
    Millimetres,
    PerCm2,
    SquareMillimetres,
    USDPerMW,
    USDPerMWh,
    USDPerMWYear,
    YearMonth,
    _Model,
    month_label,
    month_number,
)
from fab2token.scenario.fleet import FleetType
from fab2token.scenario.operations import Operations
from fab2token.scenario.site import Curtailment, Phase, PowerStep, Site
from fab2token.scenario.workloads import (
    AcceleratorOption,
    CountStep,
    DemandStep,
    Inference,
    Targets,
    TrainingRun,
    TrainingTarget,
    Workloads,
)

__all__ = [
    "Scenario",
    "Horizon",
    "Supply",
    "Fab",
    "Packaging",
    "HBM",
    "WaferStep",
    "StackStep",
    "PowerStep",
    "Site",
    "Phase",
    "Curtailment",
    "Economics",
    "TrainingRun",
    "Inference",
    "Workloads",
    "Targets",
    "TrainingTarget",
    "DemandStep",
    "CountStep",
    "AcceleratorOption",
    "Campus",
    "month_number",
    "month_label",
]


class Horizon(_Model):
    """The simulated period: ``months`` consecutive months from ``start``."""

    start: YearMonth
    """First month simulated, written YYYY-MM."""
    months: int = Field(gt=0, le=1200)
    """Number of months simulated from start."""


class WaferStep(_Model):
    """From month ``from`` on, ``wafers_per_month`` wafer starts each month (until the next step)."""

    from_: YearMonth = Field(alias="from")
    """Month (YYYY-MM) from which this step holds, until the next step's month (0 before the first step)."""
    wafers_per_month: float = Field(ge=0)
    """Wafers a month from this step on: wafer starts (fab), or interposer wafers of capacity (packaging)."""


YieldModelName = Literal["poisson", "murphy", "seeds", "bose-einstein", "negative-binomial"]


class StackStep(_Model):
    """From month ``from`` on, ``stacks_per_month`` HBM stacks each month (until the next step)."""

    from_: YearMonth = Field(alias="from")
    """Month (YYYY-MM) from which this step holds, until the next step's month (0 before the first step)."""
    stacks_per_month: float = Field(ge=0)
    """HBM stacks a month from this step on."""


class Fab(_Model):
    """The wafer fab: starts (a schedule, or a fab built and ramped to a capacity), defects and geometry.

    ``fabline_result`` (a ``fab2token fabline --json`` output file) and ``fabline_order`` take the cycle time and
    the wafer-out capacity from a simulated fab line instead.

    With ``wafer_starts`` only, those starts happen. With ``capacity_wafers_per_month``, the fab ramps linearly
    to capacity over ``ramp_months`` after ``construction_months`` + ``tool_install_months`` from
    ``construction_start`` (an existing fab when ``construction_start`` is omitted); with both, starts are the
    schedule capped by the fab's capacity.
    """

    wafer_starts: list[WaferStep] | None = Field(default=None, min_length=1)
    """Wafer starts a month, as a step schedule; with a fab's capacity or a fab line, capped by it."""
    capacity_wafers_per_month: float | None = Field(default=None, ge=0)
    """Wafer starts a month at the fab's full capacity, reached after its build and ramp; omitted: no capacity limit."""
    construction_start: YearMonth | None = None
    """Month the fab's construction starts; omitted: an existing fab, at full capacity from the start."""
    construction_months: int = Field(default=0, ge=0, le=240)
    """Months of fab construction from construction_start, before tool install."""
    tool_install_months: int = Field(default=0, ge=0, le=120)
    """Months of tool install after construction; the ramp starts when it ends."""
    ramp_months: int = Field(default=0, ge=0, le=120)
    """Months of the linear ramp to full capacity after the build; 0: full capacity at once."""
    capex_usd_per_kwspm: USD | None = None
    """Fab capex per 1,000 wafer starts/month of capacity, spread over the build from construction_start."""
    cycle_time_months: int = Field(default=3, ge=0, le=36)
    """Whole months from wafer start to wafer out (a fab line's cycle time replaces it)."""
    fabline_result: str | None = None
    """A `fab2token fabline --json` output (relative to this file): its cycle time and wafer-out capacity apply."""
    fabline_order: str | None = None
    """The order stream of fabline_result this fab takes its cycle time and capacity from (given with it)."""
    yield_model: YieldModelName = "murphy"
    """Yield model: poisson, murphy, seeds, bose-einstein (critical_layers) or negative-binomial (clustering_alpha)."""
    d0_per_cm2: PerCm2 | None = None
    """Mature defect density D0; omitted: the process node's (catalog/process_nodes.csv)."""
    d0_launch_per_cm2: PerCm2 | None = None
    """D0 at node launch, falling exponentially to the mature D0; omitted: the process node's, if published."""
    d0_ramp_months: float | None = Field(default=None, gt=0)
    """Time constant [months] of D0's fall from launch to mature; omitted: the process node's, if published."""
    node_launch: YearMonth | None = None
    """Month the D0 learning curve starts; omitted: the end of the fab's build, else the horizon's start."""
    clustering_alpha: float = Field(default=3.0, gt=0)
    """Defect clustering parameter alpha of the negative-binomial yield model."""
    critical_layers: float = Field(default=1.0, ge=1)
    """Critical layers of the Bose-Einstein yield model (D0 is per layer)."""
    wafer_diameter_mm: Millimetres = Field(default=300.0, gt=0, le=MAX_WAFER_DIAMETER_MM)
    """Diameter of the fab's wafers."""
    edge_exclusion_mm: Millimetres = Field(default=3.0, ge=0)
    """Unusable ring at the wafer's edge: a die counts when all its corners lie inside it."""
    scribe_mm: Millimetres = Field(default=0.1, ge=0)
    """Scribe street between dies, added to each die's pitch."""
    die_aspect_ratio: float = Field(default=1.0, gt=0)
    """Width / height of the compute die (its area comes from the catalog)."""
    wafer_price_usd: USD | None = None
    """Price of a processed wafer; omitted: the process node's catalog price (unpublished: cost unknown)."""
    kgd_test_yield_frac: float = Field(default=1.0, gt=0, le=1)
    """Known-good-die test yield: the share of yielding dies that pass test."""
    partial_good_frac: float = Field(default=0.0, ge=0, le=1)
    """Share of defective dies usable as a lower SKU (reported as lower_sku_dies, not delivered)."""
    _fabline: Any = PrivateAttr(default=None)  # (cycle days, lots, days) set once by the checks that read the file
    _fabline_share: Any = PrivateAttr(default=None)  # its cycle_time_months_share (None in an older output)
    _fabline_path: str | None = PrivateAttr(default=None)

    def fabline_result_path(self) -> str | None:
        """``fabline_result`` resolved against the scenario file's folder (as read at load time)."""
        return self._fabline_path or self.fabline_result

    def fabline_figures(self) -> tuple[float, float, float] | None:
        """``(cycle_time_days_mean, lots_completed, days)`` of ``fabline_order`` read from ``fabline_result`` when the
        scenario was loaded (None without a fab line result, or for a Fab built directly)."""
        return self._fabline

    def fabline_share(self) -> tuple[float, ...] | None:
        """The share of ``fabline_order``'s lots by whole months of cycle time, read with :meth:`fabline_figures`
        (None where the output has none)."""
        return self._fabline_share

    @model_validator(mode="after")
    def _some_starts(self) -> Fab:
        if self.wafer_starts is None and self.capacity_wafers_per_month is None and self.fabline_result is None:
            raise ValueError(
                "give wafer_starts (a schedule), capacity_wafers_per_month (a fab to ramp) or "
                "fabline_result (a simulated fab line)"
            )
        if (self.fabline_result is None) != (self.fabline_order is None):
            raise ValueError("fabline_result and fabline_order go together")
        return self


class Packaging(_Model):
    """Advanced packaging (CoWoS-like): capacity in interposer wafers per month; omitted = not a constraint."""

    capacity_wafers_per_month: list[WaferStep] | None = Field(default=None, min_length=1)
    """Interposer wafers a month the packaging line can process, as a step schedule; omitted: not a constraint."""
    interposer_area_mm2: SquareMillimetres | None = None
    """Interposer area; omitted: the accelerator's catalog interposer_area_mm2 (needed with a capacity)."""
    interposer_aspect_ratio: float = Field(default=1.0, gt=0)
    """Width / height of the interposer."""
    wafer_diameter_mm: Millimetres = Field(default=300.0, gt=0, le=MAX_WAFER_DIAMETER_MM)
    """Diameter of the interposer wafers."""
    edge_exclusion_mm: Millimetres = Field(default=3.0, ge=0)
    """Unusable ring at the interposer wafer's edge."""
    scribe_mm: Millimetres = Field(default=0.1, ge=0)
    """Scribe street between interposers."""
    yield_frac: float = Field(default=1.0, gt=0, le=1)
    """Share of assembled packages that are good accelerators."""
    cost_usd_per_wafer: USD | None = None
    """Packaging cost per interposer wafer; omitted: left out of the cost per accelerator (n/a)."""


class HBM(_Model):
    """HBM supply: stacks per month, or a share of world supply; omitted = not a constraint."""

    supply_stacks_per_month: list[StackStep] | None = Field(default=None, min_length=1)
    """HBM stacks this product gets a month, as a step schedule (or give the world supply and a share)."""
    world_supply_stacks_per_month: list[StackStep] | None = Field(default=None, min_length=1)
    """World HBM supply, stacks a month as a step schedule, of which this product gets share_frac."""
    share_frac: float | None = Field(default=None, ge=0, le=1)
    """This product's share of world_supply_stacks_per_month (given with it)."""
    stacks_per_accelerator: float | None = Field(default=None, gt=0)
    """HBM stacks per accelerator; omitted: the accelerator's catalog hbm_stacks."""
    stack_yield_frac: float = Field(default=1.0, gt=0, le=1)
    """Share of HBM stacks that are good."""
    price_usd_per_stack: USD | None = None
    """Price of an HBM stack; omitted: left out of the cost per accelerator (n/a)."""

    @model_validator(mode="after")
    def _one_source(self) -> HBM:
        if self.supply_stacks_per_month is not None and self.world_supply_stacks_per_month is not None:
            raise ValueError("give supply_stacks_per_month or world_supply_stacks_per_month with share_frac, not both")
        if self.world_supply_stacks_per_month is not None and self.share_frac is None:
            raise ValueError("world_supply_stacks_per_month needs share_frac (this product's share of it)")
        if self.share_frac is not None and self.world_supply_stacks_per_month is None:
            raise ValueError(
                "share_frac is a share of world_supply_stacks_per_month: give that too, or drop share_frac"
            )
        return self


_FAB_SHORTHAND = set(Fab.model_fields) | {"from"}


class Supply(_Model):
    """Which accelerator is built, and the chain that builds it: fab, packaging, HBM.

    For brevity the fab's fields may also be written directly under ``supply`` (e.g. ``supply.wafer_starts``).
    """

    accelerator: str
    """The accelerator built: a catalog name or alias (`fab2token catalog accelerators`)."""
    fab: Fab
    """The wafer fab (its fields may also be written directly under supply)."""
    packaging: Packaging = Field(default_factory=Packaging)
    """Advanced packaging; omitted: not a constraint."""
    hbm: HBM = Field(default_factory=HBM)
    """HBM supply; omitted: not a constraint."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict):
            moved = {k: v for k, v in data.items() if k in _FAB_SHORTHAND and k not in cls.model_fields}
            if moved:
                data = {k: v for k, v in data.items() if k not in moved}
                fab = data.get("fab")
                twice = sorted(set(moved) & set(fab)) if isinstance(fab, dict) else []
                if twice:
                    raise ValueError(f"{', '.join(twice)} given both under supply and under supply.fab: give each once")
                data["fab"] = {**moved, **fab} if isinstance(fab, dict) else (moved if fab is None else fab)
        return data


class Economics(_Model):
    """Prices. Datacenter capex is per MW of IT (critical) capacity, booked when that capacity comes online (or over a
    site's construction phases, at their own rates, for the capacity energised first). With
    ``electricity_peak_usd_per_mwh``, grid energy in ``peak_hours`` [start, end) costs the peak price."""

    accelerator_price_usd: USD
    """Price of a supply.accelerator unit, booked on delivery (and its book value unless the fleet gives one)."""
    electricity_usd_per_mwh: USDPerMWh
    """Grid energy price (outside peak_hours when electricity_peak_usd_per_mwh is given)."""
    datacenter_capex_usd_per_mw: USDPerMW
    """Datacenter capex per MW of IT capacity, booked when it comes online (with phases, their rates for the first)."""
    facility_opex_usd_per_mw_year: USDPerMWYear = 0.0
    """Fixed facility opex per MW of IT capacity built and year, billed monthly; default 0."""
    it_utilisation_frac: float = Field(default=1.0, gt=0, le=1)
    """Average IT draw / all-in IT power of the installed accelerators, every hour (or it_utilisation_by_hour)."""
    it_utilisation_by_hour: list[Annotated[float, Field(gt=0, le=1)]] | None = Field(
        default=None, min_length=24, max_length=24
    )
    """24 IT utilisation fractions, hour 0 first, instead of the flat it_utilisation_frac; omitted: flat."""
    electricity_peak_usd_per_mwh: USDPerMWh | None = None
    """Grid energy price in peak_hours; omitted: electricity_usd_per_mwh every hour."""
    peak_hours: list[Annotated[int, Field(ge=0, le=23)]] = Field(
        default_factory=lambda: [14, 20], min_length=2, max_length=2
    )
    """[start, end) hours of day of the peak price; may wrap midnight (e.g. [18, 2])."""

    @model_validator(mode="after")
    def _one_utilisation(self) -> Economics:
        if self.it_utilisation_by_hour is not None and "it_utilisation_frac" in self.model_fields_set:
            raise ValueError("give it_utilisation_frac (flat) or it_utilisation_by_hour (24 values), not both")
        if self.peak_hours[0] == self.peak_hours[1]:
            raise ValueError(
                f"peak_hours [{self.peak_hours[0]}, {self.peak_hours[1]}] is an empty window: give [start, end) with "
                "start != end (it may wrap midnight, e.g. [18, 2])"
            )
        return self


class Campus(_Model):
    """Sites joined into one training fabric: each member links to the campus core at ``inter_site_gbps``."""

    name: str = Field(min_length=1)
    """Name of the campus."""
    sites: list[str] = Field(min_length=2)
    """Its member sites, by name, each once."""
    inter_site_gbps: float = Field(gt=0)
    """Bandwidth of each member site's link to the campus core [Gbit/s]."""


FleetType.model_rebuild(_types_namespace={"Supply": Supply})  # a fleet type may carry its own supply chain


class Scenario(_Model):
    """A whole scenario file, validated."""

    name: str = "scenario"
    """Name of the scenario: it titles reports and labels its runs and plans in the store."""
    description: str = ""
    """Free text on what the scenario is for; no calculation reads it."""
    horizon: Horizon
    """The months simulated."""
    supply: Supply
    """The accelerator built and its supply chain: fab, packaging, HBM."""
    sites: list[Site] = Field(min_length=1)
    """The datacenter sites, in the order waiting accelerators fill them."""
    economics: Economics
    """Prices: accelerators, electricity, datacenter capex and opex, IT utilisation."""
    workloads: Workloads = Field(default_factory=Workloads)
    """What the fleet runs: training runs and inference demand; omitted: nothing."""
    targets: Targets = Field(default_factory=Targets)
    """What `fab2token plan` must deliver, and the accelerators it may buy; omitted: no targets."""
    operations: Operations | None = None
    """How the fleet is run hour by hour (`fab2token operate`): policy, spikes, failures, outages; omitted: none."""
    campuses: list[Campus] = Field(default_factory=list)
    """Sites joined into one training fabric; default none."""
    fleet: list[FleetType] = Field(default_factory=list)
    """Further accelerator types and sources (market, installed base, own designs); default: supply's type only."""
    catalog: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    """Catalog overrides, table -> row name -> column -> value (a new name adds a row); default none."""
    _distributions: Any = PrivateAttr(default=None)  # the uncertain inputs, set by parse_scenario (scenario.uncertain)

    def accelerator_spec(self) -> dict[str, Any]:
        """The catalog row of the scenario's accelerator, with the scenario's overrides applied."""
        return catalog.lookup("accelerators", self.supply.accelerator, self.catalog.get("accelerators"))

    def process_node_spec(self) -> dict[str, Any]:
        node = self.accelerator_spec()["process_node"]
        return catalog.lookup("process_nodes", node, self.catalog.get("process_nodes"))
