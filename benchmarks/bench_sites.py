"""Hourly site engine: 100 sites x 10 years hourly (8.76M site-hours) in one vectorised call.

Goal (issue 5): under a second on 2 cores. Printed: site-hours per second.
"""

from __future__ import annotations

import numpy as np
import yaml

from benchmarks.common import paired
from fab2token.scenario import parse_scenario
from fab2token.scenario.timeline import hours_in_month, month_axis
from fab2token.sites.energy import MAX_HOURS, hourly_energy
from fab2token.sites.power import curtailment_hours

SITES, YEARS = 100, 10


def main() -> None:
    rng = np.random.default_rng(0)
    sites = [
        {
            "name": f"s{k}",
            "grid_power": [{"from": "2026-01", "mw": 100}],
            "cooling": "liquid",
            "pue": 1.15,
            "land_acres": 100,
            "construction_start": "2025-01",
            "construction_months": 0,
            "onsite_power": [{"from": "2026-01", "mw": 30}],
            "wue_l_per_kwh": 0.3,
            "grid_kgco2_per_mwh": 350,
            "ambient_c": [float(x) for x in rng.uniform(-5, 30) + 10 * np.sin(np.arange(12) / 12 * 2 * np.pi)],
            "diurnal_range_c": 9.0,
            "pue_per_degree_c": 0.008,
            "battery_mw": 20,
            "battery_mwh": 80,
            "ppa_mw": 30,
            "ppa_usd_per_mwh": 70,
            "curtailments": [
                {"start": f"{2026 + y}-07-15 14:00", "hours": 4, "mw": 50, "credit_usd_per_mwh": 300}
                for y in range(YEARS)
            ],
        }
        for k in range(SITES)
    ]
    data = {
        "horizon": {"start": "2026-01", "months": 12 * YEARS},
        "supply": {"accelerator": "H100", "wafer_starts": [{"from": "2026-01", "wafers_per_month": 1}]},
        "sites": sites,
        "economics": {"accelerator_price_usd": 1, "electricity_usd_per_mwh": 1, "datacenter_capex_usd_per_mw": 1},
    }
    sc = parse_scenario(yaml.safe_dump(data))
    axis = month_axis("2026-01", 12 * YEARS)
    load = rng.uniform(50, 110, (axis.size, SITES))
    grid = np.full((axis.size, SITES), 100.0)
    onsite = np.full((axis.size, SITES), 30.0)
    solar = np.full((axis.size, SITES), 150.0)  # enough to exceed the load at midday: the battery has work
    battery = np.full((axis.size, SITES), 20.0)
    ppa = np.full((axis.size, SITES), 30.0)
    curtail = curtailment_hours(sc.sites, axis, MAX_HOURS)
    price = np.where((np.arange(24) >= 14) & (np.arange(24) < 20), 150.0, 60.0)

    def full():
        return hourly_energy(
            sc.sites,
            axis,
            load,
            grid,
            onsite,
            0.9,
            solar_mw=solar,
            price_usd_per_mwh_by_hour=price,
            battery_mw=battery,
            ppa_mw=ppa,
            curtailment=curtail,
        )

    def base():
        return hourly_energy(sc.sites, axis, load, grid, onsite, 0.9, solar_mw=solar, price_usd_per_mwh_by_hour=price)

    p = paired(base, full, rounds=5)
    t_base, t = sorted(p.a_s)[2], sorted(p.b_s)[2]  # medians of 5 alternating rounds
    site_hours = hours_in_month(axis).sum() * SITES
    print(
        f"hourly engine: {SITES} sites x {YEARS} years = {site_hours / 1e6:.2f}M site-hours (goal: under 1 s)\n"
        f"  PUE, water, carbon, solar, grid and on-site dispatch, time-of-use cost: {t_base:.2f} s "
        f"({site_hours / t_base / 1e6:.1f}M site-hours/s)\n"
        f"  ... plus battery (solar cycle and arbitrage), PPA and curtailment events on every site: {t:.2f} s "
        f"({site_hours / t / 1e6:.1f}M site-hours/s)\n  {p.text('base', 'with battery, PPA, curtailment')}"
    )
