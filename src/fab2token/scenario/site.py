"""The ``sites`` section of a scenario: a datacenter site's power, cooling, land, climate, network, construction
phases, curtailments, PPA and battery (re-exported by :mod:`.models`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PrivateAttr, model_validator

from fab2token import catalog
from fab2token.errors import ModelError
from fab2token.scenario.fields import (
    MAX_AIR_C,
    MIN_AIR_C,
    MW,
    Acres,
    AirC,
    USDPerMW,
    USDPerMWh,
    YearMonth,
    _hour,
    _Model,
)

__all__ = ["PowerStep", "Phase", "Curtailment", "Site"]


class PowerStep(_Model):
    """From month ``from`` on, ``mw`` of grid power (facility power, before PUE) until the next step."""

    from_: YearMonth = Field(alias="from")
    """Month (YYYY-MM) from which this step holds, until the next step's month (0 MW before the first step)."""
    mw: MW
    """Facility power from this step on (before PUE): grid import, on-site generation or solar nameplate."""


class Phase(_Model):
    """One construction phase (land and permits, shell, electrical, mechanical, fit-out…): its months and the capex
    per MW of IT capacity spent over them."""

    name: str = Field(min_length=1)
    """Name of the phase (land and permits, shell, electrical, mechanical, fit-out…)."""
    months: int = Field(ge=0, le=120)
    """Length of the phase; the phases, in order from construction_start, add up to construction_months."""
    capex_usd_per_mw: USDPerMW = 0.0
    """Capex per MW of IT capacity, spent evenly over the phase's months for the capacity energised first."""


class Curtailment(_Model):
    """A grid curtailment or demand-response event: grid import cut by ``mw`` for ``hours`` from ``start`` (a
    date and hour); each MWh not drawn earns ``credit_usd_per_mwh``."""

    start: Annotated[str, BeforeValidator(_hour)]
    """First hour of the event, written YYYY-MM-DD HH:00 (events outside the horizon are dropped)."""
    hours: int = Field(gt=0, le=8784)
    """Length of the event [hours]."""
    mw: MW
    """Grid import cut in those hours (overlapping events add); battery and on-site power cover what they can."""
    credit_usd_per_mwh: USDPerMWh = 0.0
    """Demand-response credit earned per MWh not drawn from the grid; default none."""


class Site(_Model):
    """A datacenter site: power (grid and on-site), cooling, land, network and construction.

    Power is facility power (before PUE). Grid steps take effect ``interconnection_queue_months`` after their
    ``from`` month; nothing is powered before energisation (``construction_start`` + ``construction_months``).
    """

    name: str = Field(min_length=1)
    """Name of the site, unique: campuses, installed bases, deployments and targets refer to it."""
    grid_power: list[PowerStep] = Field(min_length=1)
    """Grid import the site may draw (facility MW), each step from its month plus interconnection_queue_months."""
    cooling: Literal["air", "liquid", "immersion"]
    """Cooling: air, liquid or immersion; max_rack_kw defaults to its limit in catalog/cooling.csv."""
    pue: float = Field(ge=1.0, le=3.0)
    """Design PUE: IT capacity built = facility MW / pue; the hourly PUE rises above it with pue_per_degree_c."""
    land_acres: Acres
    """Land area of the site; with mw_per_acre it caps facility power."""
    construction_start: YearMonth
    """Month construction starts (and the first phase, if any)."""
    construction_months: int = Field(ge=0, le=240)
    """Months from construction_start to energisation: nothing is powered before (the phases' sum, if any)."""
    interconnection_queue_months: int = Field(default=0, ge=0, le=240)
    """Months each grid_power step waits in the interconnection queue after its from month; default none."""
    onsite_power: list[PowerStep] = Field(default_factory=list)
    """On-site generation capacity (gas engines, turbines; facility MW) from energisation, no queue; default none."""
    onsite_usd_per_mwh: USDPerMWh = 0.0
    """Cost of on-site generation per MWh (or give a heat rate and onsite_fuel_usd_per_mmbtu); default 0."""
    onsite_kgco2_per_mwh: float = Field(default=0.0, ge=0)
    """On-site generation's emissions [kg CO2/MWh]; default 0, or heat rate x fuel emissions with a heat rate."""
    onsite_heat_rate_mmbtu_per_mwh: float | None = Field(default=None, gt=0)
    """Fuel burnt per MWh generated on site [MMBtu/MWh]; omitted: the per-MWh cost and emissions apply."""
    onsite_fuel_usd_per_mmbtu: float | None = Field(default=None, ge=0)
    """Fuel price [USD/MMBtu]: on-site cost = heat rate x this (needs the heat rate); omitted: onsite_usd_per_mwh."""
    onsite_fuel_kgco2_per_mmbtu: float | None = Field(default=None, ge=0)
    """Fuel emissions [kg CO2/MMBtu] with a heat rate; omitted: natural gas (catalog/overheads.csv)."""
    grid_kgco2_per_mwh: float = Field(default=0.0, ge=0)
    """Emissions of grid energy [kg CO2/MWh] (PPA energy is carbon-free); default 0."""
    mw_per_acre: float | None = Field(default=None, gt=0)
    """Facility MW the land holds per acre: power is capped at land_acres x mw_per_acre; omitted: no land limit."""
    usable_power_frac: float | None = Field(default=None, gt=0, le=1)
    """Share of grid + on-site power the continuous load may use; omitted: catalog/overheads.csv (0.80, NEC)."""
    wue_l_per_kwh: float = Field(default=0.0, ge=0)
    """Water use [L per kWh of IT energy]; default 0."""
    wue_per_degree_c: float = Field(default=0.0, ge=0)
    """Extra water [L/kWh] per °C of wet bulb above wue_reference_wet_bulb_c, hour by hour; default 0 (flat WUE)."""
    wue_reference_wet_bulb_c: AirC | None = None
    """Wet bulb [°C] above which wue_per_degree_c applies (needed with it)."""
    dew_point_c: list[AirC] | None = Field(default=None, min_length=12, max_length=12)
    """Twelve monthly mean dew points [°C], January first, for the wet bulb of wue_per_degree_c; omitted: climate's."""
    rack_kw: float | None = Field(default=None, gt=0)
    """Power per rack [kW], checked against max_rack_kw (validation only); omitted: not checked."""
    max_rack_kw: float | None = Field(default=None, gt=0)
    """Densest rack the cooling supports [kW]; omitted: the cooling's limit in catalog/cooling.csv, if published."""
    switch_radix: int = Field(default=64, ge=4)
    """Ports per switch of the scale-out fat tree (it caps the largest training cluster)."""
    fabric_tiers: int = Field(default=3, ge=1, le=4)
    """Switch tiers of the fat tree: its endpoints and the optics per accelerator."""
    scale_up_domain: int = Field(default=8, ge=1)
    """Accelerators per scale-up domain (8 per HGX server, 72 per NVL72 rack): clusters come in whole domains."""
    fabric_optics: Literal["multimode", "singlemode"] = "multimode"
    """Transceivers of the fabric, multimode or singlemode: their power and price (catalog/optics.csv)."""
    ambient_c: list[AirC] | None = Field(default=None, min_length=12, max_length=12)
    """Twelve monthly mean dry bulbs [°C], January first (or climate, or weather_csv; none of them: PUE = pue)."""
    diurnal_range_c: float = Field(default=10.0, ge=0, le=MAX_AIR_C - MIN_AIR_C)
    """Daily dry-bulb range [°C] around ambient_c's means, peaking at 15:00 (ambient_c only)."""
    climate: str | None = None
    """A region of catalog/climate.csv for the hourly temperature and dew point (or ambient_c, or weather_csv)."""
    weather_csv: str | None = None
    """A CSV of 8760 hourly dry_bulb_c values (relative to this file), repeated every year (or ambient_c, climate)."""
    _weather_dry_bulb_c: Any = PrivateAttr(default=None)  # set once by the checks that read the file
    _weather_path: str | None = PrivateAttr(default=None)
    pue_reference_c: AirC = 20.0
    """Dry bulb [°C] above which PUE rises by pue_per_degree_c; a site with no temperature runs at it all year."""
    pue_per_degree_c: float = Field(default=0.0, ge=0)
    """PUE added per °C of dry bulb above pue_reference_c, hour by hour; default 0 (PUE = pue)."""
    phases: list[Phase] = Field(default_factory=list)
    """Construction phases, in order from construction_start, with their own capex; default none."""
    hall_block_mw: float | None = Field(default=None, gt=0)
    """Facility power comes in whole halls of this many MW (rounded down); omitted: no rounding."""
    solar_mw: list[PowerStep] = Field(default_factory=list)
    """Behind-the-meter solar nameplate (MW steps) from energisation; default none."""
    solar_capacity_factor: float = Field(default=0.2, ge=0, le=0.3)
    """Daily mean solar output / nameplate, on a 6:00-18:00 half-sine (no latitude or season)."""
    curtailments: list[Curtailment] = Field(default_factory=list)
    """Grid curtailment or demand-response events; default none."""
    ppa_mw: MW = 0.0
    """PPA power (firm, or solar nameplate) covering grid draw, carbon-free, from energisation; default none."""
    ppa_usd_per_mwh: USDPerMWh = 0.0
    """PPA price per MWh (needed with ppa_mw)."""
    ppa_take_or_pay: bool = True
    """True: every MWh the PPA delivers is paid, drawn or not; false: only what the site draws."""
    ppa_shape: Literal["firm", "solar"] = "firm"
    """PPA shape: firm (its MW every hour) or solar (MW x ppa_capacity_factor on the daylight profile)."""
    ppa_capacity_factor: float | None = Field(default=None, gt=0, le=0.35)
    """Annual capacity factor of a solar-shaped PPA (needed with ppa_shape: solar, refused with firm)."""
    battery_mw: MW = 0.0
    """Battery power, in service from energisation (with battery_mwh); default none."""
    battery_mwh: float = Field(default=0.0, ge=0)
    """Battery energy [MWh], one cycle a day (with battery_mw); default none."""
    battery_round_trip_frac: float | None = Field(default=None, gt=0, le=1)
    """Battery round-trip efficiency; omitted: catalog/overheads.csv (0.82, EIA)."""
    battery_capex_usd_per_kwh: float = Field(default=0.0, ge=0)
    """Battery capex [USD per kWh of battery_mwh], paid when it enters service; default 0."""

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
            regions = catalog.column_values("climate", "region")
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
