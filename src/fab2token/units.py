"""Quantities with units, converted once at the boundary.

Scenario files may write ``"150 MW"``, ``"814 mm^2"`` or ``"0.09 USD/kWh"``; inside the code every quantity
is a plain float in the unit its name carries (``power_mw``, ``die_area_mm2``, ``price_usd_per_mwh``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pint

__all__ = ["registry", "to_unit", "FAST_UNITS"]

# The units scenario files most often write, per target unit, and the factor to the target: decimal SI prefixes
# (k 1e3, M 1e6, G 1e9) and the registry's own kUSD / MUSD / BUSD. A quantity written "NUMBER UNIT" with one of these
# is converted without pint (whose import and registry cost ~0.8 s a command); anything else goes to pint.
# tests/test_units.py checks every factor against pint's own conversion.
FAST_UNITS: dict[str, dict[str, float]] = {
    "MW": {"W": 1e-6, "kW": 1e-3, "MW": 1.0, "GW": 1e3},
    "USD": {"USD": 1.0, "kUSD": 1e3, "MUSD": 1e6, "BUSD": 1e9},
    "USD/MWh": {"USD/kWh": 1e3, "USD/MWh": 1.0, "USD/GWh": 1e-3},
    "USD/MW": {"USD/kW": 1e3, "USD/MW": 1.0, "kUSD/MW": 1e3, "MUSD/MW": 1e6, "MUSD/GW": 1e3, "BUSD/GW": 1e6},
    "USD/MW/year": {"USD/kW/year": 1e3, "USD/MW/year": 1.0, "kUSD/MW/year": 1e3, "MUSD/MW/year": 1e6},
    "acre": {"acre": 1.0, "acres": 1.0},
    "mm": {"mm": 1.0},
    "mm**2": {"mm^2": 1.0, "mm**2": 1.0},
}
_NUMBER_AND_UNIT = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S+)\s*")


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
    fast = _NUMBER_AND_UNIT.fullmatch(value)
    if fast and fast.group(2) in FAST_UNITS.get(unit, {}):
        return float(fast.group(1)) * FAST_UNITS[unit][fast.group(2)]
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
