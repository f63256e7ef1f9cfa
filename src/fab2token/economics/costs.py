"""Money: capex and opex of the deployed fleet (energy itself comes from :mod:`fab2token.sites.energy`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["datacenter_capex_usd", "opex_usd"]

Array = NDArray[np.float64]


def datacenter_capex_usd(it_capacity_mw: Array, capex_usd_per_mw: float) -> Array:
    """Datacenter capex [USD] booked in the month IT capacity is added (first difference along months)."""
    added = np.diff(it_capacity_mw, axis=-2, prepend=0.0)
    return np.clip(added, 0.0, None) * capex_usd_per_mw


def opex_usd(
    energy: Array, electricity_usd_per_mwh: float, it_capacity_mw: Array, facility_opex_usd_per_mw_year: float
) -> Array:
    """Operating cost [USD]: electricity plus fixed facility opex on the IT capacity built."""
    return energy * electricity_usd_per_mwh + it_capacity_mw * facility_opex_usd_per_mw_year / 12.0
