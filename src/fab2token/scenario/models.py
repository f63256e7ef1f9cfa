"""The scenario file's pydantic models: one class per section, field types from :mod:`.fields`.

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
from fab2token.scenario.site import Curtailment, Phase, PowerStep, Site

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
    "month_number",
    "month_label",
]


class Horizon(_Model):
    """The simulated period: ``months`` consecutive months from ``start``."""

    start: YearMonth
    months: int = Field(gt=0, le=1200)


class WaferStep(_Model):
    """From month ``from`` on, ``wafers_per_month`` wafer starts each month (until the next step)."""

    from_: YearMonth = Field(alias="from")
    wafers_per_month: float = Field(ge=0)


YieldModelName = Literal["poisson", "murphy", "seeds", "bose-einstein", "negative-binomial"]


class StackStep(_Model):
    """From month ``from`` on, ``stacks_per_month`` HBM stacks each month (until the next step)."""

    from_: YearMonth = Field(alias="from")
    stacks_per_month: float = Field(ge=0)


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
    capacity_wafers_per_month: float | None = Field(default=None, ge=0)
    construction_start: YearMonth | None = None
    construction_months: int = Field(default=0, ge=0, le=240)
    tool_install_months: int = Field(default=0, ge=0, le=120)
    ramp_months: int = Field(default=0, ge=0, le=120)
    capex_usd_per_kwspm: USD | None = None
    cycle_time_months: int = Field(default=3, ge=0, le=36)
    fabline_result: str | None = None
    fabline_order: str | None = None
    yield_model: YieldModelName = "murphy"
    d0_per_cm2: PerCm2 | None = None
    d0_launch_per_cm2: PerCm2 | None = None
    d0_ramp_months: float | None = Field(default=None, gt=0)
    node_launch: YearMonth | None = None
    clustering_alpha: float = Field(default=3.0, gt=0)
    critical_layers: float = Field(default=1.0, ge=1)
    wafer_diameter_mm: Millimetres = Field(default=300.0, gt=0, le=MAX_WAFER_DIAMETER_MM)
    edge_exclusion_mm: Millimetres = Field(default=3.0, ge=0)
    scribe_mm: Millimetres = Field(default=0.1, ge=0)
    die_aspect_ratio: float = Field(default=1.0, gt=0)
    wafer_price_usd: USD | None = None
    kgd_test_yield_frac: float = Field(default=1.0, gt=0, le=1)
    partial_good_frac: float = Field(default=0.0, ge=0, le=1)
    _fabline: Any = PrivateAttr(default=None)  # (cycle days, lots, days) set once by the checks that read the file
    _fabline_path: str | None = PrivateAttr(default=None)

    def fabline_result_path(self) -> str | None:
        """``fabline_result`` resolved against the scenario file's folder (as read at load time)."""
        return self._fabline_path or self.fabline_result

    def fabline_figures(self) -> tuple[float, float, float] | None:
        """``(cycle_time_days_mean, lots_completed, days)`` of ``fabline_order`` read from ``fabline_result`` when the
        scenario was loaded (None without a fab line result, or for a Fab built directly)."""
        return self._fabline

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
    interposer_area_mm2: SquareMillimetres | None = None
    interposer_aspect_ratio: float = Field(default=1.0, gt=0)
    wafer_diameter_mm: Millimetres = Field(default=300.0, gt=0, le=MAX_WAFER_DIAMETER_MM)
    edge_exclusion_mm: Millimetres = Field(default=3.0, ge=0)
    scribe_mm: Millimetres = Field(default=0.1, ge=0)
    yield_frac: float = Field(default=1.0, gt=0, le=1)
    cost_usd_per_wafer: USD | None = None


class HBM(_Model):
    """HBM supply: stacks per month, or a share of world supply; omitted = not a constraint."""

    supply_stacks_per_month: list[StackStep] | None = Field(default=None, min_length=1)
    world_supply_stacks_per_month: list[StackStep] | None = Field(default=None, min_length=1)
    share_frac: float | None = Field(default=None, ge=0, le=1)
    stacks_per_accelerator: float | None = Field(default=None, gt=0)
    stack_yield_frac: float = Field(default=1.0, gt=0, le=1)
    price_usd_per_stack: USD | None = None

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
    fab: Fab
    packaging: Packaging = Field(default_factory=Packaging)
    hbm: HBM = Field(default_factory=HBM)

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
    electricity_usd_per_mwh: USDPerMWh
    datacenter_capex_usd_per_mw: USDPerMW
    facility_opex_usd_per_mw_year: USDPerMWYear = 0.0
    it_utilisation_frac: float = Field(default=1.0, gt=0, le=1)
    it_utilisation_by_hour: list[Annotated[float, Field(gt=0, le=1)]] | None = Field(
        default=None, min_length=24, max_length=24
    )
    electricity_peak_usd_per_mwh: USDPerMWh | None = None
    peak_hours: list[Annotated[int, Field(ge=0, le=23)]] = Field(
        default_factory=lambda: [14, 20], min_length=2, max_length=2
    )

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


class TrainingRun(_Model):
    """A training run: starts in the first month from ``start`` with ``accelerators`` free, holds them until done."""

    name: str = Field(min_length=1)
    model: str
    tokens: float = Field(gt=0)
    accelerators: int = Field(gt=0)
    start: YearMonth
    accelerator: str | None = None  # a fleet type; default: supply.accelerator
    mfu: float | None = Field(default=None, gt=0, le=1)
    seq_len: int | None = Field(default=None, gt=0)
    tp: int = Field(default=8, gt=0)
    pp: int = Field(default=1, gt=0)
    checkpoint_write_s: float = Field(default=60.0, ge=0)
    restart_s: float = Field(default=600.0, ge=0)


class DemandStep(_Model):
    """From month ``from`` on, ``tokens_per_s`` of inference demand (output tokens), until the next step."""

    from_: YearMonth = Field(alias="from")
    tokens_per_s: float = Field(ge=0)


class Inference(_Model):
    """Inference demand served by the accelerators not held by training runs."""

    model: str
    demand: list[DemandStep] = Field(default_factory=list)
    precision: Literal["bf16", "fp16", "fp8", "int8", "int4"] = "bf16"
    tp: int | None = Field(default=None, gt=0)
    input_tokens: int = Field(default=1024, gt=0)
    output_tokens: int = Field(default=256, gt=0)
    tpot_ms: float = Field(default=50.0, gt=0)
    ttft_ms: float = Field(default=2000.0, gt=0)


class Workloads(_Model):
    """What the fleet runs: training runs (in priority order) and inference demand."""

    training: list[TrainingRun] = Field(default_factory=list)
    inference: Inference | None = None


class TrainingTarget(_Model):
    """Train ``model`` on ``tokens`` (or a given number of ``flops``) between ``start`` and ``deadline``."""

    name: str = Field(min_length=1)
    model: str
    tokens: float | None = Field(default=None, gt=0)
    flops: float | None = Field(default=None, gt=0)
    deadline: YearMonth
    start: YearMonth | None = None
    mfu: float = Field(default=0.4, gt=0, le=1)
    site: str | None = None
    reference_accelerators: int = Field(default=16384, gt=0)

    @model_validator(mode="after")
    def _size(self) -> TrainingTarget:
        if self.tokens is None and self.flops is None:
            raise ValueError("give tokens (with the model) or flops")
        if self.start is not None and month_number(self.start) > month_number(self.deadline):
            raise ValueError(f"start {self.start} is after the deadline {self.deadline}: start no later than it")
        return self


class CountStep(_Model):
    """From month ``from`` on, ``per_month`` units available each month (until the next step)."""

    from_: YearMonth = Field(alias="from")
    per_month: float = Field(ge=0)


class AcceleratorOption(_Model):
    """Another accelerator the plan may buy, from a market supply of ``available`` units a month."""

    accelerator: str
    price_usd: USD
    available: list[CountStep] = Field(min_length=1)


class Targets(_Model):
    """What a plan must deliver (``fab2token plan``), and the other accelerators it may buy."""

    training: list[TrainingTarget] = Field(default_factory=list)
    inference_demand: list[DemandStep] = Field(default_factory=list)
    budget_usd: USD | None = None
    discount_rate_per_year: float = Field(default=0.0, ge=0, le=1)
    hall_block_mw: float | None = Field(default=None, gt=0)
    accelerator_options: list[AcceleratorOption] = Field(default_factory=list)
    # what the targets are worth, to price a shortfall's limits in dollars (never a penalty constant): one FLOP of
    # a training target done, one million tokens of the inference demand served
    value_usd_per_flop: float | None = Field(default=None, ge=0)
    value_usd_per_million_tokens: float | None = Field(default=None, ge=0)


class Campus(_Model):
    """Sites joined into one training fabric: each member links to the campus core at ``inter_site_gbps``."""

    name: str = Field(min_length=1)
    sites: list[str] = Field(min_length=2)
    inter_site_gbps: float = Field(gt=0)


FleetType.model_rebuild(_types_namespace={"Supply": Supply})  # a fleet type may carry its own supply chain


class Scenario(_Model):
    """A whole scenario file, validated."""

    name: str = "scenario"
    description: str = ""
    horizon: Horizon
    supply: Supply
    sites: list[Site] = Field(min_length=1)
    economics: Economics
    workloads: Workloads = Field(default_factory=Workloads)
    targets: Targets = Field(default_factory=Targets)
    campuses: list[Campus] = Field(default_factory=list)
    fleet: list[FleetType] = Field(default_factory=list)
    catalog: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)
    _distributions: Any = PrivateAttr(default=None)  # the uncertain inputs, set by parse_scenario (scenario.uncertain)

    def accelerator_spec(self) -> dict[str, Any]:
        """The catalog row of the scenario's accelerator, with the scenario's overrides applied."""
        return catalog.lookup("accelerators", self.supply.accelerator, self.catalog.get("accelerators"))

    def process_node_spec(self) -> dict[str, Any]:
        node = self.accelerator_spec()["process_node"]
        return catalog.lookup("process_nodes", node, self.catalog.get("process_nodes"))
