"""Quantities with units, converted once at the boundary.

Scenario files may write ``"150 MW"``, ``"814 mm^2"`` or ``"0.09 USD/kWh"``; inside the code every quantity
is a plain float in the unit its name carries (``power_mw``, ``die_area_mm2``, ``price_usd_per_mwh``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pint

__all__ = ["registry", "to_unit"]


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """The unit registry, built on first use (pint and its registry take ~0.3 s to import and build: a command
    that reads no quantity with units never pays it)."""
    import pint

    reg: pint.UnitRegistry = pint.UnitRegistry()
    # Money is a dimension of its own; one currency, no exchange rates.
    reg.define("USD = [currency] = usd = dollar = $")
    reg.define("kUSD = 1e3 USD")
    reg.define("MUSD = 1e6 USD")
    reg.define("BUSD = 1e9 USD")
    reg.define("wafer = [wafer] = wafers")
    reg.define("acre_land = acre")
    return reg


def to_unit(value: Any, unit: str) -> float:
    """Convert ``value`` to a float in ``unit``.

    Parameters
    ----------
    value
        A number (taken to be in ``unit`` already) or a string such as ``"150 MW"``.
    unit
        Target unit in pint syntax, e.g. ``"MW"``, ``"USD/MWh"``, ``"mm**2"``.

    Raises
    ------
    ValueError
        With a message that names the expected unit, when the string does not parse or has the wrong
        dimension.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number or a quantity in {unit}")
    if isinstance(value, int | float):
        return float(value)  # a plain number is in the unit already: no registry needed
    if not isinstance(value, str):
        raise ValueError(f"expected a number or a quantity in {unit} such as '10 {unit}'")
    return _parsed(value, unit)


@lru_cache(maxsize=4096)
def _parsed(value: str, unit: str) -> float:
    """:func:`to_unit` of a string, remembered: a sweep validates the same ``"20 MW"`` once per draw, and pint's
    parse was a tenth of a draw's time."""
    text = value.strip().replace("^", "**")
    import pint

    ureg = registry()
    try:
        q: Any = ureg.Quantity(text)
    except Exception as exc:  # pint raises many kinds; all mean "not a quantity"
        raise ValueError(f"expected a quantity in {unit} such as '10 {unit}' ({exc})") from None
    if isinstance(q, int | float):
        return float(q)
    if q.dimensionless and not ureg.Quantity(1, unit).dimensionless:
        return float(q.magnitude)
    try:
        return float(q.to(unit).magnitude)
    except pint.DimensionalityError:
        raise ValueError(f"expected a quantity convertible to {unit}, but '{value}' has units of {q.units:~}") from None
