"""A race file's pydantic models: the world's shared capacities, the players who contest them, the allocation rule
and the counterfactuals to compare (``fab2token race``). Each player's own scenario is validated as any scenario
is, in :mod:`fab2token.scenario.raceload`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from fab2token.scenario.fields import YearMonth, _Model
from fab2token.scenario.models import Horizon

__all__ = [
    "RESOURCES",
    "OWNABLE",
    "RULES",
    "Allocation",
    "CapacityStep",
    "WorldPool",
    "World",
    "Claim",
    "Claims",
    "Player",
    "Counterfactual",
    "Race",
]

RESOURCES: tuple[str, ...] = ("wafers", "packaging", "hbm", "market")
"""The world's shared capacities, allocated in this order (each grant shapes the next request)."""
OWNABLE: tuple[str, ...] = ("wafers", "packaging", "hbm")
"""What a player may supply itself (``own``), outside the world's pools."""
Rule = Literal["pro-rata", "shares", "market"]
RULES: tuple[str, ...] = ("pro-rata", "shares", "market")


class CapacityStep(_Model):
    """A step of a monthly schedule: from this month on, this much a month (until the next step)."""

    from_: YearMonth = Field(alias="from")
    """First month of the step (YYYY-MM)."""
    per_month: float = Field(ge=0)
    """Amount a month, in the pool's unit (wafers, interposer wafers, GB of HBM, accelerators)."""


class WorldPool(_Model):
    """One shared capacity: its monthly schedule (typed, or the catalog's sourced trajectory) and the share of it
    the race's players contest."""

    key: str | None = None
    """Which pool: a process node for wafers (N3), a catalog world row's key; omitted: packaging's or HBM's row."""
    capacity: Literal["catalog"] | list[CapacityStep] = "catalog"
    """The monthly capacity: `catalog` (catalog/world.csv, every row sourced) or a step schedule."""
    level: str | float = "central"
    """With capacity catalog: central, low, high, or a quantile in (0, 1) of triangular(low, central, high)."""
    available_frac: float = Field(default=1.0, gt=0, le=1)
    """Share of the capacity open to the race's players (the rest goes to buyers outside the race)."""
    accelerators: list[str] | None = None
    """Market pools: the accelerator types the pool sells; omitted: the catalog row's list."""

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, v: Any) -> Any:
        if v in ("central", "low", "high"):
            return v
        if isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1:
            return float(v)
        raise ValueError("central, low, high, or a quantile between 0 and 1 (exclusive)")


class World(_Model):
    """The capacities every player draws on; a resource left out is not shared (each player's own figures hold)."""

    wafers: list[WorldPool] = Field(default_factory=list)
    """Leading-edge wafer starts by process node (each pool's key names the node)."""
    packaging: WorldPool | None = None
    """CoWoS-class packaging, interposer wafers a month."""
    hbm: WorldPool | None = None
    """HBM, GB a month (a player's stacks count at its accelerator's hbm_gb / hbm_stacks)."""
    market: list[WorldPool] = Field(default_factory=list)
    """Accelerators sold on the market, by pool (each pool's key and its accelerator types)."""


class Allocation(_Model):
    """The allocation rule per resource (a race file may give one rule for all)."""

    wafers: Rule = "pro-rata"
    """Rule for the wafer pools."""
    packaging: Rule = "pro-rata"
    """Rule for the packaging pool."""
    hbm: Rule = "pro-rata"
    """Rule for the HBM pool."""
    market: Rule = "pro-rata"
    """Rule for the market pools."""

    @model_validator(mode="before")
    @classmethod
    def _one_for_all(cls, data: Any) -> Any:
        if isinstance(data, str):
            if data not in RULES:
                raise ValueError(f"one of {', '.join(RULES)}, or one per resource ({{packaging: market, ...}})")
            return dict.fromkeys(RESOURCES, data)
        return data


class Claim(_Model):
    """A player's claim on one resource: contracted volumes come first, then the race's rule."""

    contract: list[CapacityStep] = Field(default_factory=list)
    """Contracted volume a month (served before anything else; pro-rata among contracts if they exceed the pool)."""
    share: float = Field(default=1.0, gt=0)
    """Weight under the `shares` rule (what is left after contracts is shared in proportion, water-filled)."""
    bid_usd: float = Field(default=0.0, ge=0)
    """Bid per unit under the `market` rule (highest served first; the clearing price is the lowest bid served)."""


class Claims(_Model):
    """A player's claims, one per resource; each defaults to no contract, share 1 and bid 0."""

    wafers: Claim = Field(default_factory=Claim)
    """On the world's wafers (of its accelerator's node)."""
    packaging: Claim = Field(default_factory=Claim)
    """On the world's packaging."""
    hbm: Claim = Field(default_factory=Claim)
    """On the world's HBM."""
    market: Claim = Field(default_factory=Claim)
    """On the world's market accelerators (every pool)."""


class Player(_Model):
    """One contestant: its own scenario (sites, fleet, workloads, targets, economics) and its claims."""

    name: str = Field(min_length=1)
    """The player's name (unique in the race)."""
    scenario: str | dict[str, Any]
    """Its scenario: a file (relative to the race file) or the scenario written inline; its horizon is the race's."""
    own: list[Literal["wafers", "packaging", "hbm"]] = Field(default_factory=list)
    """What it supplies itself (an own fab: wafers): its scenario's figures hold, outside the world's pools."""
    claims: Claims = Field(default_factory=Claims)
    """Its claims on the world's pools."""
    sell_surplus: bool = False
    """With own wafers: the starts its packaging and HBM leave unused are offered to the world's pool of its node."""

    @model_validator(mode="after")
    def _surplus_of_an_own_fab(self) -> Player:
        if self.sell_surplus and "wafers" not in self.own:
            raise ValueError("sell_surplus needs own: [wafers] (a fab of its own whose surplus it can sell)")
        return self


class Counterfactual(_Model):
    """A variant of the race to compare with it: one player dropped, or some of its fields changed."""

    name: str = Field(min_length=1)
    """Name of the variant."""
    player: str
    """The player it changes (a player's name)."""
    drop: bool = False
    """Run the race without this player."""
    set: dict[str, Any] = Field(default_factory=dict)
    """Fields of the player's entry to change by dotted path (claims.packaging.bid_usd); list items by index."""

    @model_validator(mode="after")
    def _something(self) -> Counterfactual:
        if not self.drop and not self.set:
            raise ValueError("give drop: true or the fields to set")
        if self.drop and self.set:
            raise ValueError("drop the player or set its fields, not both")
        return self


class Race(_Model):
    """Several players contesting the same scarce supply over one horizon."""

    name: str = "race"
    """Name of the race."""
    description: str = ""
    """Free text."""
    horizon: Horizon
    """The months every player's scenario runs over."""
    world: World = Field(default_factory=World)
    """The shared capacities."""
    allocation: Allocation = Field(default_factory=lambda: Allocation())
    """Rule for what contracts leave: pro-rata, shares or market, for all or per resource ({hbm: shares})."""
    players: list[Player] = Field(min_length=1)
    """The contestants."""
    counterfactuals: list[Counterfactual] = Field(default_factory=list)
    """Variants to run beside the race and compare, player by player."""

    def rule(self, resource: str) -> str:
        """The allocation rule of ``resource``."""
        return str(getattr(self.allocation, resource))
