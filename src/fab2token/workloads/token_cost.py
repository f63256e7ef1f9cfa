"""Energy and cost per token of a serving configuration: joules per output token and tokens per MW of facility
power (the accelerators' all-in IT power at the share drawn while serving, times the PUE), and the cost per
accelerator-hour that makes $ per million tokens — given, or built from the purchase price over the useful life
plus the energy the hour draws; and $ per million tokens at each public cloud on-demand rate of the accelerator.
The purchase price and the useful life default to the catalog's (``prices.csv``, ``overheads.csv``, each row
sourced); unknown terms stay NaN and are named."""

from __future__ import annotations

import math
from typing import Any

from fab2token import catalog
from fab2token.deploy.placement import all_in_it_kw

__all__ = ["TOKEN_COST_KEYS", "token_energy_and_cost", "catalog_price_usd", "cloud_usd_per_hour"]

HOURS_PER_YEAR = 365.25 * 24.0

TOKEN_COST_KEYS = (
    "price_usd",
    "price_source",
    "useful_life_years",
    "cloud_usd_per_million_tokens",
    "power_kw_per_accelerator",
    "joules_per_token",
    "tokens_per_s_per_mw",
    "usd_per_accelerator_hour",
    "usd_per_accelerator_hour_parts",
    "usd_per_million_tokens",
    "unknown_cost_terms",
)


def token_energy_and_cost(
    acc: dict[str, Any],
    tokens_per_s_per_accelerator: float,
    pue: float | None = None,
    power_frac: float = 1.0,
    electricity_usd_per_mwh: float | None = None,
    price_usd: float | None = None,
    useful_life_years: float | None = None,
    usd_per_accelerator_hour: float | None = None,
) -> dict[str, Any]:
    """Energy per token and cost per accelerator-hour and per million tokens (see the module docstring).

    ``power_frac``: share of the all-in IT power drawn while serving (1: the all-in figure, an upper bound);
    ``pue`` default ``pue_default`` (overheads.csv); ``price_usd`` default the catalog's purchase price,
    ``useful_life_years`` default ``useful_life_years_default``. A given ``usd_per_accelerator_hour`` is used as
    is; otherwise the hour costs ``price_usd / (useful_life_years x 8766 h)`` plus its energy at
    ``electricity_usd_per_mwh``, and the terms not known are listed in ``unknown_cost_terms`` (the cost is then
    NaN).
    """
    pue_used = pue if pue is not None else catalog.overhead("pue_default")
    price_source = "given" if price_usd is not None else None
    if price_usd is None:
        price_usd, price_source = catalog_price_usd(acc["name"])
    if useful_life_years is None:
        useful_life_years = catalog.overhead("useful_life_years_default")
    kw = float(all_in_it_kw(acc["board_power_w"], acc["server_power_w_per_accelerator"])) * power_frac
    facility_kw = kw * pue_used
    rate = tokens_per_s_per_accelerator
    joules = facility_kw * 1000.0 / rate if rate > 0 else math.inf
    per_mw = rate * 1000.0 / facility_kw if facility_kw > 0 else math.nan
    parts: dict[str, float] = {}
    unknown: list[str] = []
    if usd_per_accelerator_hour is not None:
        hourly = float(usd_per_accelerator_hour)
        parts["given"] = hourly
    else:
        for name, value, term in (
            ("price_usd", price_usd, "capex"),
            ("useful_life_years", useful_life_years, "capex"),
            ("electricity_usd_per_mwh", electricity_usd_per_mwh, "energy"),
        ):
            if value is None:
                unknown.append(f"{term} ({name})")
        if price_usd is not None and useful_life_years is not None:
            parts["capex"] = price_usd / (useful_life_years * HOURS_PER_YEAR)
        if electricity_usd_per_mwh is not None:
            parts["energy"] = facility_kw / 1000.0 * electricity_usd_per_mwh
        hourly = sum(parts.values()) if not unknown else math.nan
    per_token_h = rate * 3600.0 / 1e6 if rate > 0 else math.nan  # million tokens an accelerator-hour
    return {
        "price_usd": price_usd,
        "price_source": price_source,
        "useful_life_years": useful_life_years,
        "cloud_usd_per_million_tokens": {k: v / per_token_h for k, v in cloud_usd_per_hour(acc["name"]).items()},
        "power_kw_per_accelerator": kw,
        "joules_per_token": joules,
        "tokens_per_s_per_mw": per_mw,
        "usd_per_accelerator_hour": hourly,
        "usd_per_accelerator_hour_parts": parts,
        "usd_per_million_tokens": hourly / (rate * 3600.0) * 1e6 if rate > 0 else math.nan,
        "unknown_cost_terms": sorted(set(unknown)),
    }


def catalog_price_usd(accelerator: str) -> tuple[float | None, str | None]:
    """The catalog's purchase price of ``accelerator`` (its central estimate) and its source; (None, None) when
    the catalog has none."""
    row = next(
        (r for r in catalog.table_rows("prices") if r["accelerator"] == accelerator and r["kind"] == "purchase"), None
    )
    return (float(row["usd"]), f"catalog: {row['source']}") if row else (None, None)


def cloud_usd_per_hour(accelerator: str) -> dict[str, float]:
    """Public on-demand $ per accelerator-hour of ``accelerator``, by offering (catalog ``prices.csv``)."""
    return {
        str(r["offering"]): float(r["usd"])
        for r in catalog.table_rows("prices")
        if r["accelerator"] == accelerator and r["kind"] == "cloud"
    }
