"""The fleet section: the accelerator types a scenario runs, each with where it comes from.

A type's sources add up: the scenario's own supply chain (``supply:``, when its accelerator is this type), market
purchases (``market``: orders per month, a lead time, a price) and an installed base at the start (``installed``:
counts per site with the month they entered service). ``useful_life_years`` retires accelerators that long after
they entered service (straight-line depreciation over it: cost per accelerator-hour).

```yaml
fleet:
  - accelerator: H100
    installed: [{site: alpha, count: 4000, since: 2024-06}]
    useful_life_years: 5
    price_usd: 25000           # book value of the installed base (depreciation)
  - accelerator: B200
    market: {price_usd: 40000, lead_time_months: 3, orders: [{from: 2026-03, per_month: 2000}]}
    useful_life_years: 5
    deployment: [{site: alpha, from: 2026-03, count: 1500}, {site: alpha, from: 2026-09, count: 6000}]
```

``deployment`` (optional) is a deployment schedule: from each step's month on, at most ``count`` of the type in
place at ``site`` (until that site's next step); sites it does not list take none of the type. Without it the fleet
policy places the type wherever there is power (``fab2token.deploy.placement``). ``plan --scenario-out`` writes the
plan's own deployment here, so that ``run`` installs what the plan installs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from fab2token.scenario.fields import USD, YearMonth, _Model

if TYPE_CHECKING:  # resolved by scenario.models once Supply is defined (models imports this module first)
    from fab2token.scenario.models import Supply

__all__ = ["DeploymentStep", "FleetType", "InstalledBase", "MarketSupply", "OrderStep"]


class OrderStep(_Model):
    """From month ``from`` on, ``per_month`` accelerators ordered each month (until the next step)."""

    from_: YearMonth = Field(alias="from")
    """Month (YYYY-MM) from which this step holds, until the next step's month (no orders before the first)."""
    per_month: float = Field(ge=0)
    """Accelerators ordered each month from this step on."""


class MarketSupply(_Model):
    """Accelerators bought on the market: ordered each month, delivered ``lead_time_months`` later at ``price_usd``."""

    price_usd: USD
    """Price per accelerator bought, paid in the month of delivery."""
    orders: list[OrderStep] = Field(min_length=1)
    """Orders a month, as a step schedule."""
    lead_time_months: int = Field(default=0, ge=0, le=60)
    """Months from order to delivery; default 0 (delivered in the month ordered)."""


class InstalledBase(_Model):
    """Accelerators already installed at a site when the horizon starts (in service since ``since``)."""

    site: str
    """The site it stands at (a site's name); installed accelerators never move."""
    count: int = Field(ge=0)
    """Accelerators installed there at the start."""
    since: YearMonth
    """Month they entered service, no later than the horizon's start: useful_life_years counts from it."""


class DeploymentStep(_Model):
    """From month ``from`` on, at most ``count`` accelerators of the type in place at ``site``."""

    site: str
    """The site the step applies to (a site's name)."""
    from_: YearMonth = Field(alias="from")
    """Month (YYYY-MM) from which the step holds, until this site's next step."""
    count: int = Field(ge=0)
    """Most accelerators of the type in place at the site from then on."""


class FleetType(_Model):
    """One accelerator type of the fleet and its sources (see the module docstring)."""

    accelerator: str
    """The type: a catalog accelerator name or alias, one entry per type (supply.accelerator's adds to it)."""
    market: MarketSupply | None = None
    """Market purchases: orders a month, a lead time, a price; omitted: none."""
    installed: list[InstalledBase] = Field(default_factory=list)
    """The installed base at the horizon's start, by site; default none."""
    useful_life_years: float | None = Field(default=None, ge=1 / 12, le=30)  # at least a month: the time step
    """Years from entering service to retirement (straight-line depreciation over them); omitted: never retired."""
    price_usd: USD | None = None
    """Book value per accelerator, depreciated over its life (an own design's unit cost); omitted: purchase price."""
    deployment: list[DeploymentStep] | None = None
    """Most of the type in place per site and month; omitted: placed wherever there is power."""
    supply: Supply | None = None
    """An own design: its own fab -> packaging -> HBM chain (supply.accelerator defaults to this type)."""

    @model_validator(mode="before")
    @classmethod
    def _own_design(cls, data: Any) -> Any:
        """An own design's chain builds the entry's type: ``supply.accelerator`` defaults to it."""
        if isinstance(data, dict) and isinstance(data.get("supply"), dict) and "accelerator" not in data["supply"]:
            data = {**data, "supply": {"accelerator": data.get("accelerator"), **data["supply"]}}
        return data
