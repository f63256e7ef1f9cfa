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
    mw: MW


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
    wue_reference_wet_bulb_c: AirC | None = None
    dew_point_c: list[AirC] | None = Field(default=None, min_length=12, max_length=12)
    rack_kw: float | None = Field(default=None, gt=0)
    max_rack_kw: float | None = Field(default=None, gt=0)
    switch_radix: int = Field(default=64, ge=4)
    fabric_tiers: int = Field(default=3, ge=1, le=4)
    scale_up_domain: int = Field(default=8, ge=1)
    fabric_optics: Literal["multimode", "singlemode"] = "multimode"
    ambient_c: list[AirC] | None = Field(default=None, min_length=12, max_length=12)
    diurnal_range_c: float = Field(default=10.0, ge=0, le=MAX_AIR_C - MIN_AIR_C)
    climate: str | None = None
    weather_csv: str | None = None
    _weather_dry_bulb_c: Any = PrivateAttr(default=None)  # set once by the checks that read the file
    _weather_path: str | None = PrivateAttr(default=None)
    pue_reference_c: AirC = 20.0
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
