"""Scenario field types: months written ``YYYY-MM`` and quantities with units, converted once at the boundary."""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from fab2token.units import to_unit

__all__ = ["month_number", "month_label", "YearMonth", "MW", "USD", "USDPerMWh", "USDPerMW", "USDPerMWYear"]

_YM = re.compile(r"^(\d{4})-(\d{1,2})$")


def _year_month(value: Any) -> str:
    if isinstance(value, _dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, str):
        m = _YM.match(value.strip())
        if m and 1 <= int(m.group(2)) <= 12:
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    raise ValueError("expected a month written YYYY-MM, e.g. '2026-01'")


def month_number(ym: str) -> int:
    """Months since year 0 for a ``YYYY-MM`` label (so differences are month counts)."""
    y, m = ym.split("-")
    return int(y) * 12 + int(m) - 1


def month_label(n: int) -> str:
    """Inverse of :func:`month_number`."""
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def _quantity(unit: str) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        out = to_unit(value, unit)
        if not math.isfinite(out):
            raise ValueError(f"expected a finite quantity in {unit}")
        return out

    return convert


YearMonth = Annotated[str, BeforeValidator(_year_month)]
MW = Annotated[float, BeforeValidator(_quantity("MW")), Field(ge=0)]
USD = Annotated[float, BeforeValidator(_quantity("USD")), Field(ge=0)]
USDPerMWh = Annotated[float, BeforeValidator(_quantity("USD/MWh")), Field(ge=0)]
USDPerMW = Annotated[float, BeforeValidator(_quantity("USD/MW")), Field(ge=0)]
USDPerMWYear = Annotated[float, BeforeValidator(_quantity("USD/MW/year")), Field(ge=0)]
Acres = Annotated[float, BeforeValidator(_quantity("acre")), Field(gt=0)]
Millimetres = Annotated[float, BeforeValidator(_quantity("mm"))]
SquareMillimetres = Annotated[float, BeforeValidator(_quantity("mm**2")), Field(gt=0)]
PerCm2 = Annotated[float, BeforeValidator(_quantity("1/cm**2")), Field(ge=0)]


def _hour(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%dT%H")
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2})(:00)?(:00)?\s*", value)
        if m:
            try:
                when = _dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]))
            except ValueError:
                pass
            else:
                return when.strftime("%Y-%m-%dT%H")
    raise ValueError("expected a date and hour written YYYY-MM-DD HH:00, e.g. '2026-07-15 14:00'")


class _Model(BaseModel):
    """Every scenario section: unknown keys are errors, fields may be written by alias, values are frozen."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)
