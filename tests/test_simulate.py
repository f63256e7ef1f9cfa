"""The monthly engine on the bundled example: shapes, balances and hand-checked numbers."""

from __future__ import annotations

import numpy as np
import pytest

from fab2token import catalog
from fab2token.engine.simulate import SUMMARY_KEYS, simulate, summarise
from fab2token.scenario import load_scenario, parse_scenario
from fab2token.supply import dies as supply

USABLE = catalog.overhead("usable_power_frac")  # share of connected power the facility load may use


@pytest.fixture(scope="module")
def result():
    from tests.conftest import EXAMPLES

    sc, _ = load_scenario(EXAMPLES / "small.yaml")
    return sc, simulate(sc)


def test_dims_and_coords(result):
    sc, ds = result
    assert ds.sizes["month"] == 24 and ds.sizes["site"] == 2
    assert list(ds["site"].values) == ["alpha", "beta"]
    assert str(ds["month"].values[0]) == "2026-01"


HAND = """
horizon: {start: 2026-01, months: 12}
supply:
  accelerator: H100
  wafer_starts: [{from: 2025-10, wafers_per_month: 40}, {from: 2026-06, wafers_per_month: 70}]
  d0_per_cm2: 0.1
sites:
  - {name: a, grid_power: [{from: 2026-01, mw: 20}], cooling: liquid, pue: 1.2, land_acres: 10,
     construction_start: 2025-12, construction_months: 3}
economics: {accelerator_price_usd: 1, electricity_usd_per_mwh: 1, datacenter_capex_usd_per_mw: 1}
"""


def test_supply_matches_hand_calculation():
    ds = simulate(parse_scenario(HAND))
    w, h = supply.die_dimensions_mm(814.0)
    gross = int(supply.gross_dies_per_wafer(w, h))
    ad = 8.14 * 0.10
    murphy = ((1 - np.exp(-ad)) / ad) ** 2
    per_wafer = gross * murphy
    delivered = ds["accelerators_delivered"].values
    # 40 wafers started 2025-10 come out 3 months later (shorthand: fab fields directly under supply)
    assert delivered[0] == np.floor(40 * per_wafer)
    # cumulative output is the floor of the expected value: fractions carry over, nothing is lost
    assert delivered.sum() == np.floor((8 * 40 + 4 * 70) * per_wafer + 1e-9)
    assert delivered[8] in (np.floor(70 * per_wafer), np.ceil(70 * per_wafer))
    # nothing is powered before 2026-03 (energised 2025-12 + 3 months)
    assert ds["it_capacity_mw"].values[:2, 0].tolist() == [0.0, 0.0]
    assert float(ds["it_capacity_mw"].values[2, 0]) == pytest.approx(20 * USABLE / 1.2)  # the gear's usable share


def test_nothing_runs_before_energisation(result):
    _, ds = result
    assert float(ds["it_capacity_mw"].sel(site="alpha", month="2026-02")) == 0.0
    # Ashburn in March: warm afternoons lift the 99th-percentile PUE a little above 1.2; capacity is sized on it
    p99 = float(ds["pue_p99"].sel(site="alpha", month="2026-03"))
    assert 1.2 <= p99 < 1.25
    assert float(ds["it_capacity_mw"].sel(site="alpha", month="2026-03")) == pytest.approx(20 * USABLE / p99)
    assert float(ds["it_capacity_mw"].sel(site="beta", month="2027-08")) == 0.0
    # beta: 30 MW grid + 10 MW on-site, of which the usable share, within its 45 MW of land
    assert float(ds["it_capacity_mw"].sel(site="beta", month="2027-09")) == pytest.approx(40 * USABLE / 1.4)


def test_supply_limit_and_binding_vary_in_the_demo(result):
    _, ds = result
    assert set(ds["supply_limiting_step"].values) == {"wafers", "packaging", "hbm"}


def test_power_never_exceeds_site_capacity(result):
    _, ds = result
    assert bool((ds["it_power_mw"] <= ds["it_capacity_mw"] + 1e-9).all())
    connected = ds["grid_power_mw"] + ds["onsite_power_mw"]
    assert bool((ds["facility_power_mw"] <= connected * USABLE + 1e-9).all())


def test_binding_constraint_follows_backlog(result):
    _, ds = result
    b = ds["binding_constraint"].values
    assert b[0] == "construction"  # chips arrive before any site is energised
    assert {"supply", "construction"} <= set(b) <= {"supply", "power", "construction", "land", "cooling"}
    assert all((ds["accelerators_backlog"].values > 0) == (b != "supply"))


def test_energy_and_costs(result):
    sc, ds = result
    e = sc.economics
    # energy = IT power x utilisation x the month's mean hourly PUE x hours (flat load); March has 744 hours
    mar = ds.sel(month="2026-03")
    np.testing.assert_allclose(mar["energy_mwh"].values, mar["it_power_mw"].values * 0.8 * mar["pue_mean"].values * 744)
    capex_dc = float(ds["capex_datacenter_usd"].sum())
    assert capex_dc == pytest.approx((40 / 1.2 + 40 / 1.4) * USABLE * e.datacenter_capex_usd_per_mw)
    assert float(ds["capex_accelerators_usd"].sum()) == pytest.approx(
        float(ds["accelerators_delivered"].sum()) * e.accelerator_price_usd
    )


def test_summary_has_every_key(result):
    _, ds = result
    s = summarise(ds, "abc").to_dict()
    assert set(SUMMARY_KEYS) <= set(s)
    assert s["months"] == 24 and len(s["binding_constraint_by_month"]) == 24
    assert s["accelerators_installed_end"] + s["accelerators_backlog_end"] == pytest.approx(
        s["accelerators_delivered_total"]
    )


def test_hours_in_month_follow_the_calendar():
    from fab2token.scenario.models import month_number
    from fab2token.scenario.timeline import hours_in_month

    months = np.array([month_number(m) for m in ("2026-01", "2026-02", "2028-02", "2026-04")])
    np.testing.assert_array_equal(hours_in_month(months), [744, 672, 696, 720])


def test_stranded_inventory_is_the_paid_for_backlog(result):
    sc, ds = result
    s = summarise(ds).to_dict()
    stranded = ds["stranded_inventory_usd"].values
    np.testing.assert_allclose(stranded, ds["accelerators_backlog"].values * sc.economics.accelerator_price_usd)
    assert stranded.max() > 0  # the demo waits for power in some months
    assert s["stranded_inventory_usd_max"] == pytest.approx(stranded.max())
    assert s["stranded_inventory_usd_end"] == pytest.approx(stranded[-1])
    assert s["fab_capex_usd_total"] == pytest.approx(float(ds["fab_capex_usd"].sum()))
