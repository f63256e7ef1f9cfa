"""The scenario file's pydantic models: one class per section, field types from :mod:`.fields`.

A scenario is a YAML file. Quantities may carry units (``"150 MW"``, ``"0.09 USD/kWh"``); plain numbers take
the unit in the field name. Cross-checks live in :mod:`.checks`, reading and parsing in :mod:`.load`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, model_validator

from fab2token import catalog
from fab2token.errors import ModelError
from fab2token.scenario.fields import (
    MW,
    USD,
    Acres,
    Millimetres,
    PerCm2,
    SquareMillimetres,
    USDPerMW,
    USDPerMWh,
    USDPerMWYear,
    YearMonth,
    _hour,
    _Model,
    month_label,
    month_number,
)
from fab2token.scenario.fleet import FleetType

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


class PowerStep(_Model):
    """From month ``from`` on, ``mw`` of grid power (facility power, before PUE) until the next step."""

    from_: YearMonth = Field(alias="from")
    mw: MW


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
    wafer_diameter_mm: Millimetres = Field(default=300.0, gt=0)
    edge_exclusion_mm: Millimetres = Field(default=3.0, ge=0)
    scribe_mm: Millimetres = Field(default=0.1, ge=0)
    die_aspect_ratio: float = Field(default=1.0, gt=0)
    wafer_price_usd: USD | None = None
    kgd_test_yield_frac: float = Field(default=1.0, gt=0, le=1)
    partial_good_frac: float = Field(default=0.0, ge=0, le=1)

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
    wafer_diameter_mm: Millimetres = Field(default=300.0, gt=0)
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
                data["fab"] = {**moved, **fab} if isinstance(fab, dict) else (moved if fab is None else fab)
        return data


class Phase(_Model):
    """One construction phase (land and permits, shell, electrical, mechanical, fit-out…): its months and the capex
    per MW of IT capacity spent over them."""

    name: str = Field(min_length=1)
    months: int = Field(ge=0, le=120)
    capex_usd_per_mw: USDPerMW = 0.0


class Curtailment(_Model):
    """A grid curtailment or demand-response event: grid import cut by ``mw`` for ``hours`` from ``start`` (a
    date and hour); each MWh not drawn earns ``credit_usd_per_mwh``."""

    start: Annotated[str, BeforeValidator(_hour)]
    hours: int = Field(gt=0, le=8784)
    mw: MW
    credit_usd_per_mwh: USDPerMWh = 0.0


class Site(_Model):
    """A datacenter site: power (grid and on-site), cooling, land, network and construction.

    Power is facility power (before PUE). Grid steps take effect ``interconnection_queue_months`` after their
    ``from`` month; nothing is powered before energisation (``construction_start`` + ``construction_months``).
    """

    name: str = Field(min_length=1)
    grid_power: list[PowerStep] = Field(min_length=1)
    cooling: Literal["air", "liquid", "immersion"]
    pue: float = Field(ge=1.0, le=3.0)
    land_acres: Acres
    construction_start: YearMonth
    construction_months: int = Field(ge=0, le=240)
    interconnection_queue_months: int = Field(default=0, ge=0, le=240)
    onsite_power: list[PowerStep] = Field(default_factory=list)
    onsite_usd_per_mwh: USDPerMWh = 0.0
    onsite_kgco2_per_mwh: float = Field(default=0.0, ge=0)
    onsite_heat_rate_mmbtu_per_mwh: float | None = Field(default=None, gt=0)
    onsite_fuel_usd_per_mmbtu: float | None = Field(default=None, ge=0)
    onsite_fuel_kgco2_per_mmbtu: float | None = Field(default=None, ge=0)
    grid_kgco2_per_mwh: float = Field(default=0.0, ge=0)
    mw_per_acre: float | None = Field(default=None, gt=0)
    usable_power_frac: float | None = Field(default=None, gt=0, le=1)  # default: catalog/overheads.csv
    wue_l_per_kwh: float = Field(default=0.0, ge=0)
    wue_per_degree_c: float = Field(default=0.0, ge=0)
    wue_reference_wet_bulb_c: float | None = None
    dew_point_c: list[float] | None = Field(default=None, min_length=12, max_length=12)
    rack_kw: float | None = Field(default=None, gt=0)
    max_rack_kw: float | None = Field(default=None, gt=0)
    switch_radix: int = Field(default=64, ge=4)
    fabric_tiers: int = Field(default=3, ge=1, le=4)
    scale_up_domain: int = Field(default=8, ge=1)
    fabric_optics: Literal["multimode", "singlemode"] = "multimode"
    ambient_c: list[float] | None = Field(default=None, min_length=12, max_length=12)
    diurnal_range_c: float = Field(default=10.0, ge=0)
    climate: str | None = None
    weather_csv: str | None = None
    _weather_dry_bulb_c: Any = PrivateAttr(default=None)  # set once by the checks that read the file
    _weather_path: str | None = PrivateAttr(default=None)
    pue_reference_c: float = 20.0
    pue_per_degree_c: float = Field(default=0.0, ge=0)
    phases: list[Phase] = Field(default_factory=list)
    hall_block_mw: float | None = Field(default=None, gt=0)
    solar_mw: list[PowerStep] = Field(default_factory=list)
    solar_capacity_factor: float = Field(default=0.2, ge=0, le=0.3)
    curtailments: list[Curtailment] = Field(default_factory=list)
    ppa_mw: MW = 0.0
    ppa_usd_per_mwh: USDPerMWh = 0.0
    ppa_take_or_pay: bool = True
    ppa_shape: Literal["firm", "solar"] = "firm"
    ppa_capacity_factor: float | None = Field(default=None, gt=0, le=0.35)
    battery_mw: MW = 0.0
    battery_mwh: float = Field(default=0.0, ge=0)
    battery_round_trip_frac: float | None = Field(default=None, gt=0, le=1)
    battery_capex_usd_per_kwh: float = Field(default=0.0, ge=0)

    def weather_dry_bulb_c(self) -> Any:
        """The 8760 hourly dry-bulb temperatures [°C] read from ``weather_csv`` when the scenario was loaded."""
        if self._weather_dry_bulb_c is None:
            raise ModelError(
                f"site {self.name!r}: weather_csv is read when the scenario is loaded; use load_scenario or "
                "parse_scenario rather than building the Site directly"
            )
        return self._weather_dry_bulb_c

    def weather_csv_path(self) -> str | None:
        """``weather_csv`` resolved against the scenario file's folder (as read at load time)."""
        return self._weather_path or self.weather_csv

    @model_validator(mode="after")
    def _one_weather_source(self) -> Site:
        """Ambient temperature comes from one of ``ambient_c`` (twelve monthly means), ``climate`` (a region of
        ``catalog/climate.csv``) or ``weather_csv`` (a typical year of hourly dry bulb), never two."""
        given = [f for f in ("ambient_c", "climate", "weather_csv") if getattr(self, f) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of ambient_c, climate or weather_csv, not {' and '.join(given)}")
        if self.wue_per_degree_c > 0:
            if self.wue_reference_wet_bulb_c is None:
                raise ValueError("wue_per_degree_c needs wue_reference_wet_bulb_c (°C wet bulb above which it applies)")
            if self.climate is None and self.dew_point_c is None:
                raise ValueError(
                    "wue_per_degree_c needs the air's humidity: a climate region, or dew_point_c (twelve monthly means)"
                )
        if self.climate is not None:
            regions = sorted({str(r["region"]) for r in catalog.table_rows("climate")})
            if self.climate not in regions:
                raise ValueError(
                    f"climate {self.climate!r} is not a region of catalog/climate.csv; known: "
                    f"{', '.join(regions)} (or give ambient_c or weather_csv)"
                )
        return self

    @model_validator(mode="after")
    def _onsite_cost_and_emissions_from_fuel(self) -> Site:
        """Fuel figures need a heat rate; giving both ways for the same figure is an error (validation only: the
        cost and CO2 per MWh are computed in the sites stage)."""
        fuel = ("onsite_fuel_usd_per_mmbtu", "onsite_fuel_kgco2_per_mmbtu")
        if self.onsite_heat_rate_mmbtu_per_mwh is None:
            given = [f for f in fuel if getattr(self, f) is not None]
            if given:
                raise ValueError(f"{given[0]} needs onsite_heat_rate_mmbtu_per_mwh (MMBtu of fuel per MWh)")
            return self
        if self.onsite_fuel_usd_per_mmbtu is not None and "onsite_usd_per_mwh" in self.model_fields_set:
            raise ValueError("give onsite_usd_per_mwh or onsite_fuel_usd_per_mmbtu with a heat rate, not both")
        if self.onsite_fuel_kgco2_per_mmbtu is not None and "onsite_kgco2_per_mwh" in self.model_fields_set:
            raise ValueError("give onsite_kgco2_per_mwh or onsite_fuel_kgco2_per_mmbtu, not both")
        return self  # the figures themselves are resolved by fab2token.sites.power.onsite_cost_and_carbon

    @model_validator(mode="after")
    def _ppa_has_a_price(self) -> Site:
        if self.ppa_mw > 0 and "ppa_usd_per_mwh" not in self.model_fields_set:
            raise ValueError(f"a PPA of {self.ppa_mw} MW needs its price: ppa_usd_per_mwh (USD/MWh)")
        if self.ppa_shape == "solar" and self.ppa_capacity_factor is None:
            raise ValueError("a solar-shaped PPA needs ppa_capacity_factor (its annual capacity factor, e.g. 0.25)")
        if self.ppa_shape == "firm" and self.ppa_capacity_factor is not None:
            raise ValueError("ppa_capacity_factor applies to ppa_shape: solar only (a firm PPA delivers its MW)")
        return self

    @model_validator(mode="after")
    def _battery_has_power_and_energy(self) -> Site:
        if (self.battery_mw > 0) != (self.battery_mwh > 0):
            raise ValueError(
                f"a battery needs both battery_mw and battery_mwh above zero (got {self.battery_mw} MW, "
                f"{self.battery_mwh} MWh)"
            )
        return self

    @model_validator(mode="after")
    def _phases_fix_the_build_time(self) -> Site:
        if self.phases and sum(ph.months for ph in self.phases) != self.construction_months:
            raise ValueError(
                f"construction_months ({self.construction_months}) must equal the sum of the phases' "
                f"months ({sum(ph.months for ph in self.phases)})"
            )
        return self


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
    peak_hours: list[int] = Field(default_factory=lambda: [14, 20], min_length=2, max_length=2)

    @model_validator(mode="after")
    def _one_utilisation(self) -> Economics:
        if self.it_utilisation_by_hour is not None and "it_utilisation_frac" in self.model_fields_set:
            raise ValueError("give it_utilisation_frac (flat) or it_utilisation_by_hour (24 values), not both")
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

    def accelerator_spec(self) -> dict[str, Any]:
        """The catalog row of the scenario's accelerator, with the scenario's overrides applied."""
        return catalog.lookup("accelerators", self.supply.accelerator, self.catalog.get("accelerators"))

    def process_node_spec(self) -> dict[str, Any]:
        node = self.accelerator_spec()["process_node"]
        return catalog.lookup("process_nodes", node, self.catalog.get("process_nodes"))
