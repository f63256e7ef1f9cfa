"""Work paused for want of power, hour by hour: the sites stage's hourly energy engine, run on the IT load the
monthly engine installed, says in which hours grid curtailment events (or a hot hour's PUE beyond what the
connection carries) leave part of the load unserved once the battery and on-site generation have covered what they
can; the hourly operations pause that share of each site's work. The physics is the energy engine's, not a copy."""

from __future__ import annotations

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from fab2token.operations.hours import HourAxis
from fab2token.scenario.models import Scenario
from fab2token.scenario.timeline import month_axis
from fab2token.sites.inputs import site_inputs

__all__ = ["paused_share"]

Array = NDArray[np.float64]


def paused_share(sc: Scenario, ds: xr.Dataset, hours: HourAxis) -> Array:
    """(hour, site) share of each site's load unserved in every hour of the horizon (0 where all is served).

    A month's unserved energy is the sum of its hours' (none negative), so where the engine's monthly results show
    none anywhere (``unserved_energy_mwh``), every hour is served and the hourly engine is not run again."""
    if not np.any(ds["unserved_energy_mwh"].values > 0):
        return np.zeros((hours.size, ds.sizes["site"]))
    axis = month_axis(sc.horizon.start, sc.horizon.months)
    si = site_inputs(sc, axis)
    energy = si.hourly_energy(sc.sites, ds["it_power_mw"].values, paused_by_hour=True)
    frac = energy.paused_frac_by_hour
    assert frac is not None
    first_of_month = np.searchsorted(hours.month, hours.month)  # each hour's month's first hour
    return frac[hours.month, np.arange(hours.size) - first_of_month, :]
