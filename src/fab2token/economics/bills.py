"""The bills of an installed fleet: the hourly energy engine on its IT load, then every cost term of
:mod:`fab2token.economics.costs`. The simulation bills its own fleet with :func:`bills`; the planner's cost identity
bills a plan's build-out with it (:func:`fab2token.plan.simulated_bills`)."""

from __future__ import annotations

import numpy as np

from fab2token.economics import costs
from fab2token.scenario.models import Scenario
from fab2token.sites import energy as energy_mod
from fab2token.sites.inputs import SiteInputs

__all__ = ["bills", "bill_terms"]


def bills(
    sc: Scenario,
    si: SiteInputs,
    it_load_mw: np.ndarray,
    new_installs: np.ndarray,
    accelerators_usd: np.ndarray,
    it_built_mw: np.ndarray | None = None,
) -> tuple[energy_mod.HourlyResult, dict[str, np.ndarray]]:
    """The hourly energy of an installed IT load and every cost term of :mod:`fab2token.economics.costs`.

    ``it_load_mw`` (month, site) is the all-in IT power installed, ``new_installs`` (month, site) the accelerators
    newly installed, ``accelerators_usd`` (month,) what deliveries cost, ``it_built_mw`` (month, site) the IT MW
    built and paid for (default: all the scenario's facility power at the design PUE). The simulation bills its own
    fleet with this; the planner's cost-identity test bills the plan's build-out with it.
    """
    hourly = si.hourly_energy(sc.sites, it_load_mw)
    return hourly, bill_terms(sc, si, hourly, new_installs, accelerators_usd, it_built_mw)


def bill_terms(
    sc: Scenario,
    si: SiteInputs,
    hourly: energy_mod.HourlyResult,
    new_installs: np.ndarray,
    accelerators_usd: np.ndarray,
    it_built_mw: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Every cost term of :mod:`fab2token.economics.costs` given the hourly energy already computed (``hourly``;
    a batch of draws computes it for all its draws at once, :func:`fab2token.sites.draws.hourly_energy_draws`);
    the other arguments as :func:`bills`'."""
    e = sc.economics
    built = si.it_built_mw if it_built_mw is None else it_built_mw
    _, optics_usd = costs.optics_usd_per_accelerator(sc.sites, sc.catalog.get("optics"))
    return {
        "accelerators": np.asarray(accelerators_usd, dtype=float),
        "datacenter_capex": costs.datacenter_capex_usd(sc.sites, si.axis, built, e.datacenter_capex_usd_per_mw),
        "battery_capex": costs.battery_capex_usd(sc.sites, si.battery_mw),
        "optics_capex": new_installs * optics_usd[None, :],
        "electricity": hourly.grid_cost_usd,
        "onsite_fuel": hourly.onsite_energy_mwh * costs.onsite_usd_per_mwh(sc.sites)[None, :],
        "fixed_opex": costs.fixed_opex_usd(built, e.facility_opex_usd_per_mw_year),
    }
